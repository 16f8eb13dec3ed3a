//! Content rules ("linters") of the GS1 Barcode Syntax Dictionary.
//!
//! Each AI component in the dictionary names a character set and a list of linters, e.g.
//! `N6,yymmd0` for an expiry date. A linter takes the component's bytes and either accepts
//! them or reports what is wrong and where (offset and length of the offending part), the way
//! the GS1 reference implementation does, so that the conformance vectors can be checked
//! position for position.
//!
//! Linters that depend on external code lists (ISO 3166 countries, ISO 4217 currencies,
//! UN/ECE package types, IBAN country formats) or on the North American coupon formats are
//! named but not implemented: [`Linter::is_implemented`] is false for them and
//! [`Linter::check`] reports [`LintFailureKind::NotImplemented`]. AIs using them are refused by
//! the element string parser instead of being accepted unchecked.

use std::fmt;

/// One content rule of the GS1 syntax dictionary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Linter {
    /// `csetnumeric`: digits only.
    NumericCharacters,
    /// `cset82`: GS1 AI encodable character set 82.
    CharacterSet82,
    /// `cset39`: GS1 AI encodable character set 39.
    CharacterSet39,
    /// `cset64`: GS1 AI encodable character set 64 (base64url), with optional `=` padding.
    CharacterSet64,
    /// `csum`: GS1 mod-10 check digit in the last position.
    CheckDigit,
    /// `csumalpha`: GS1 alphanumeric check character pair in the last two positions.
    CheckCharacterPair,
    /// `gcppos1`: a GS1 company prefix (at least four digits) starts at the first position.
    CompanyPrefixAtFirstPosition,
    /// `gcppos2`: a GS1 company prefix starts at the second position.
    CompanyPrefixAtSecondPosition,
    /// `yymmd0`: date YYMMDD where day 00 means "last day of the month".
    DateWithOptionalDay,
    /// `yymmdd`: date YYMMDD.
    Date,
    /// `yyyymmd0`: date YYYYMMDD where day 00 is allowed.
    FullYearDateWithOptionalDay,
    /// `yyyymmdd`: date YYYYMMDD.
    FullYearDate,
    /// `hh`: hour 00–23.
    Hour,
    /// `hhmi`: hour and minute HHMM.
    HourMinute,
    /// `mi`: minute 00–59.
    Minute,
    /// `ss`: second 00–59.
    Second,
    /// `nonzero`: a number that is not zero.
    NonZero,
    /// `zero`: all zeros.
    Zero,
    /// `nozeroprefix`: a number without leading zero.
    NoZeroPrefix,
    /// `hasnondigit`: at least one character that is not a digit.
    HasNonDigit,
    /// `winding`: winding direction 0, 1 or 9.
    WindingDirection,
    /// `yesno`: 0 or 1.
    YesNo,
    /// `hyphen`: hyphens only.
    Hyphen,
    /// `pieceoftotal`: piece number and total count of equal width, piece ≤ total, both > 0.
    PieceOfTotal,
    /// `posinseqslash`: "position/total" without leading zeros, position ≤ total.
    PositionInSequence,
    /// `latitude`: 10 digits, at most 1800000000.
    Latitude,
    /// `longitude`: 10 digits, at most 3600000000.
    Longitude,
    /// `iso5218`: biological sex code 0, 1, 2 or 9.
    BiologicalSex,
    /// `pcenc`: every `%` starts a two-hex-digit escape.
    PercentEncoding,
    /// `importeridx`: one character from digits, letters, `-` and `_`.
    ImporterIndex,
    /// `mediatype`: AIDC media type 01–10 or 80–99.
    MediaType,
    /// `iso3166` (code list not embedded).
    CountryCode,
    /// `iso3166999` (code list not embedded).
    CountryCodeOr999,
    /// `iso3166alpha2` (code list not embedded).
    CountryCodeAlpha2,
    /// `iso4217` (code list not embedded).
    CurrencyCode,
    /// `iban` (country formats not embedded).
    Iban,
    /// `packagetype` (code list not embedded).
    PackageType,
    /// `couponcode` (North American coupon format, not implemented).
    CouponCode,
    /// `couponposoffer` (North American coupon format, not implemented).
    CouponPositiveOffer,
}

/// Every linter with its dictionary name.
const NAMES: &[(Linter, &str)] = &[
    (Linter::NumericCharacters, "csetnumeric"),
    (Linter::CharacterSet82, "cset82"),
    (Linter::CharacterSet39, "cset39"),
    (Linter::CharacterSet64, "cset64"),
    (Linter::CheckDigit, "csum"),
    (Linter::CheckCharacterPair, "csumalpha"),
    (Linter::CompanyPrefixAtFirstPosition, "gcppos1"),
    (Linter::CompanyPrefixAtSecondPosition, "gcppos2"),
    (Linter::DateWithOptionalDay, "yymmd0"),
    (Linter::Date, "yymmdd"),
    (Linter::FullYearDateWithOptionalDay, "yyyymmd0"),
    (Linter::FullYearDate, "yyyymmdd"),
    (Linter::Hour, "hh"),
    (Linter::HourMinute, "hhmi"),
    (Linter::Minute, "mi"),
    (Linter::Second, "ss"),
    (Linter::NonZero, "nonzero"),
    (Linter::Zero, "zero"),
    (Linter::NoZeroPrefix, "nozeroprefix"),
    (Linter::HasNonDigit, "hasnondigit"),
    (Linter::WindingDirection, "winding"),
    (Linter::YesNo, "yesno"),
    (Linter::Hyphen, "hyphen"),
    (Linter::PieceOfTotal, "pieceoftotal"),
    (Linter::PositionInSequence, "posinseqslash"),
    (Linter::Latitude, "latitude"),
    (Linter::Longitude, "longitude"),
    (Linter::BiologicalSex, "iso5218"),
    (Linter::PercentEncoding, "pcenc"),
    (Linter::ImporterIndex, "importeridx"),
    (Linter::MediaType, "mediatype"),
    (Linter::CountryCode, "iso3166"),
    (Linter::CountryCodeOr999, "iso3166999"),
    (Linter::CountryCodeAlpha2, "iso3166alpha2"),
    (Linter::CurrencyCode, "iso4217"),
    (Linter::Iban, "iban"),
    (Linter::PackageType, "packagetype"),
    (Linter::CouponCode, "couponcode"),
    (Linter::CouponPositiveOffer, "couponposoffer"),
];

/// A failed content rule: what is wrong and which bytes of the component are at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LintFailure {
    /// What is wrong.
    pub kind: LintFailureKind,
    /// Offset of the offending part within the component.
    pub position: usize,
    /// Length of the offending part (0 when something is missing).
    pub length: usize,
}

/// The reasons a linter rejects data; they mirror the GS1 reference implementation's error
/// codes so that conformance vectors can be compared one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LintFailureKind {
    NonDigitCharacter,
    InvalidCharacterSet82Character,
    InvalidCharacterSet39Character,
    InvalidCharacterSet64Character,
    InvalidCharacterSet64Padding,
    TooShortForCheckDigit,
    IncorrectCheckDigit,
    TooShortForCheckPair,
    TooLongForCheckPairImplementation,
    IncorrectCheckPair,
    TooShortForCompanyPrefix,
    InvalidCompanyPrefix,
    DateTooShort,
    DateTooLong,
    IllegalMonth,
    IllegalDay,
    HourTooShort,
    HourTooLong,
    IllegalHour,
    HourWithMinuteTooShort,
    HourWithMinuteTooLong,
    MinuteTooShort,
    MinuteTooLong,
    IllegalMinute,
    SecondTooShort,
    SecondTooLong,
    IllegalSecond,
    IllegalZeroValue,
    NotZero,
    IllegalZeroPrefix,
    RequiresNonDigitCharacter,
    InvalidWindingDirection,
    NotZeroOrOne,
    NotHyphen,
    InvalidLengthForPieceOfTotal,
    ZeroPieceNumber,
    ZeroTotalPieces,
    PieceNumberExceedsTotal,
    PositionInSequenceMalformed,
    PositionExceedsEnd,
    LatitudeInvalidLength,
    InvalidLatitude,
    LongitudeInvalidLength,
    InvalidLongitude,
    InvalidBiologicalSexCode,
    InvalidPercentSequence,
    ImporterIndexMustBeOneCharacter,
    InvalidImporterIndexCharacter,
    InvalidMediaType,
    /// The linter needs a code list or format this crate does not implement.
    NotImplemented,
}

impl fmt::Display for LintFailureKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LintFailureKind::*;
        formatter.write_str(match self {
            NonDigitCharacter => "non-digit character",
            InvalidCharacterSet82Character => "character outside GS1 character set 82",
            InvalidCharacterSet39Character => "character outside GS1 character set 39",
            InvalidCharacterSet64Character => "character outside GS1 character set 64",
            InvalidCharacterSet64Padding => "invalid base64 padding",
            TooShortForCheckDigit => "too short to hold a check digit",
            IncorrectCheckDigit => "incorrect check digit",
            TooShortForCheckPair => "too short to hold a check character pair",
            TooLongForCheckPairImplementation => "too long for the check character pair algorithm",
            IncorrectCheckPair => "incorrect check character pair",
            TooShortForCompanyPrefix => "too short to start with a GS1 company prefix",
            InvalidCompanyPrefix => "does not start with a GS1 company prefix",
            DateTooShort => "date too short",
            DateTooLong => "date too long",
            IllegalMonth => "month out of range",
            IllegalDay => "day out of range",
            HourTooShort => "hour too short",
            HourTooLong => "hour too long",
            IllegalHour => "hour out of range",
            HourWithMinuteTooShort => "time too short",
            HourWithMinuteTooLong => "time too long",
            MinuteTooShort => "minute too short",
            MinuteTooLong => "minute too long",
            IllegalMinute => "minute out of range",
            SecondTooShort => "second too short",
            SecondTooLong => "second too long",
            IllegalSecond => "second out of range",
            IllegalZeroValue => "zero is not allowed",
            NotZero => "must be zero",
            IllegalZeroPrefix => "leading zero is not allowed",
            RequiresNonDigitCharacter => "must contain a non-digit character",
            InvalidWindingDirection => "winding direction must be 0, 1 or 9",
            NotZeroOrOne => "must be 0 or 1",
            NotHyphen => "must be hyphens",
            InvalidLengthForPieceOfTotal => "piece and total must have the same number of digits",
            ZeroPieceNumber => "piece number is zero",
            ZeroTotalPieces => "total number of pieces is zero",
            PieceNumberExceedsTotal => "piece number exceeds the total",
            PositionInSequenceMalformed => "must be position/total",
            PositionExceedsEnd => "position exceeds the total",
            LatitudeInvalidLength => "latitude must be 10 digits",
            InvalidLatitude => "latitude out of range",
            LongitudeInvalidLength => "longitude must be 10 digits",
            InvalidLongitude => "longitude out of range",
            InvalidBiologicalSexCode => "biological sex code must be 0, 1, 2 or 9",
            InvalidPercentSequence => "% must be followed by two hexadecimal digits",
            ImporterIndexMustBeOneCharacter => "importer index must be one character",
            InvalidImporterIndexCharacter => "invalid importer index character",
            InvalidMediaType => "media type must be 01-10 or 80-99",
            NotImplemented => "rule not implemented",
        })
    }
}

/// GS1 AI encodable character set 82, in the order that gives each character its value in the
/// check character pair algorithm.
const CHARACTER_SET_82: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// GS1 AI encodable character set 32, in value order (check character pair alphabet).
const CHARACTER_SET_32: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Prime weights of the check character pair algorithm; their count bounds the data length.
const CHECK_PAIR_PRIMES: [u32; 97] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307,
    311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421,
    431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509,
];
/// Shortest GS1 company prefix, in digits.
const COMPANY_PREFIX_DIGITS_MIN: usize = 4;

/// Whether `byte` belongs to GS1 AI encodable character set 82.
pub fn is_character_set_82(byte: u8) -> bool {
    CHARACTER_SET_82.contains(&byte)
}

/// Whether `byte` belongs to GS1 AI encodable character set 39.
pub fn is_character_set_39(byte: u8) -> bool {
    byte.is_ascii_uppercase() || byte.is_ascii_digit() || matches!(byte, b'#' | b'-' | b'/')
}

/// Whether `byte` belongs to GS1 AI encodable character set 64 (without the `=` pad).
pub fn is_character_set_64(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_')
}

fn failure(kind: LintFailureKind, position: usize, length: usize) -> Result<(), LintFailure> {
    Err(LintFailure {
        kind,
        position,
        length,
    })
}

fn first_non_digit(data: &[u8]) -> Option<usize> {
    data.iter().position(|byte| !byte.is_ascii_digit())
}

fn require_digits(data: &[u8]) -> Result<(), LintFailure> {
    match first_non_digit(data) {
        Some(position) => failure(LintFailureKind::NonDigitCharacter, position, 1),
        None => Ok(()),
    }
}

/// Value of ASCII digits (callers have checked they are digits).
fn number(digits: &[u8]) -> u64 {
    digits
        .iter()
        .fold(0, |value, digit| value * 10 + u64::from(digit - b'0'))
}

fn is_leap_year(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(month: u64, leap_year: bool) -> u64 {
    match month {
        2 if leap_year => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Linter {
    /// The linter's name in the GS1 syntax dictionary (`csum`, `yymmd0`, …).
    pub fn dictionary_name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(linter, _)| *linter == self)
            .map_or("", |(_, name)| name)
    }

    /// Looks a linter up by its GS1 syntax dictionary name.
    pub fn from_dictionary_name(name: &str) -> Option<Linter> {
        NAMES
            .iter()
            .find(|(_, candidate)| *candidate == name)
            .map(|(linter, _)| *linter)
    }

    /// False for the linters that need code lists or coupon formats this crate does not embed.
    pub fn is_implemented(self) -> bool {
        !matches!(
            self,
            Linter::CountryCode
                | Linter::CountryCodeOr999
                | Linter::CountryCodeAlpha2
                | Linter::CurrencyCode
                | Linter::Iban
                | Linter::PackageType
                | Linter::CouponCode
                | Linter::CouponPositiveOffer
        )
    }

    /// Applies the rule to one component's bytes.
    ///
    /// Long because it is one `match` over every linter of the syntax dictionary.
    pub fn check(self, data: &[u8]) -> Result<(), LintFailure> {
        use LintFailureKind as Kind;
        match self {
            Linter::NumericCharacters => require_digits(data),
            Linter::CharacterSet82 => character_set(
                data,
                is_character_set_82,
                Kind::InvalidCharacterSet82Character,
            ),
            Linter::CharacterSet39 => character_set(
                data,
                is_character_set_39,
                Kind::InvalidCharacterSet39Character,
            ),
            Linter::CharacterSet64 => character_set_64(data),
            Linter::CheckDigit => check_digit(data),
            Linter::CheckCharacterPair => check_character_pair(data),
            Linter::CompanyPrefixAtFirstPosition => company_prefix(data),
            Linter::CompanyPrefixAtSecondPosition => {
                if data.len() < 2 {
                    return failure(Kind::TooShortForCompanyPrefix, 0, data.len());
                }
                company_prefix(&data[1..]).map_err(|inner| LintFailure {
                    position: inner.position + 1,
                    ..inner
                })
            }
            Linter::DateWithOptionalDay => date(data, 2, true),
            Linter::Date => date(data, 2, false),
            Linter::FullYearDateWithOptionalDay => date(data, 4, true),
            Linter::FullYearDate => date(data, 4, false),
            Linter::Hour => two_digit_field(
                data,
                23,
                Kind::HourTooShort,
                Kind::HourTooLong,
                Kind::IllegalHour,
            ),
            Linter::Minute => two_digit_field(
                data,
                59,
                Kind::MinuteTooShort,
                Kind::MinuteTooLong,
                Kind::IllegalMinute,
            ),
            Linter::Second => two_digit_field(
                data,
                59,
                Kind::SecondTooShort,
                Kind::SecondTooLong,
                Kind::IllegalSecond,
            ),
            Linter::HourMinute => hour_minute(data),
            Linter::NonZero => {
                require_digits(data)?;
                if data.iter().all(|&byte| byte == b'0') {
                    return failure(Kind::IllegalZeroValue, 0, data.len());
                }
                Ok(())
            }
            Linter::Zero => {
                if data.is_empty() || data.iter().any(|&byte| byte != b'0') {
                    return failure(Kind::NotZero, 0, data.len());
                }
                Ok(())
            }
            Linter::NoZeroPrefix => {
                require_digits(data)?;
                if data.first() == Some(&b'0') {
                    return failure(Kind::IllegalZeroPrefix, 0, 1);
                }
                Ok(())
            }
            Linter::HasNonDigit => {
                if first_non_digit(data).is_none() {
                    return failure(Kind::RequiresNonDigitCharacter, 0, data.len());
                }
                Ok(())
            }
            Linter::WindingDirection => {
                one_of(data, &[b"0", b"1", b"9"], Kind::InvalidWindingDirection)
            }
            Linter::YesNo => one_of(data, &[b"0", b"1"], Kind::NotZeroOrOne),
            Linter::BiologicalSex => one_of(
                data,
                &[b"0", b"1", b"2", b"9"],
                Kind::InvalidBiologicalSexCode,
            ),
            Linter::Hyphen => {
                if data.is_empty() || data.iter().any(|&byte| byte != b'-') {
                    return failure(Kind::NotHyphen, 0, data.len());
                }
                Ok(())
            }
            Linter::PieceOfTotal => piece_of_total(data),
            Linter::PositionInSequence => position_in_sequence(data),
            Linter::Latitude => coordinate(
                data,
                1_800_000_000,
                Kind::LatitudeInvalidLength,
                Kind::InvalidLatitude,
            ),
            Linter::Longitude => coordinate(
                data,
                3_600_000_000,
                Kind::LongitudeInvalidLength,
                Kind::InvalidLongitude,
            ),
            Linter::PercentEncoding => percent_encoding(data),
            Linter::ImporterIndex => {
                if data.len() != 1 {
                    return failure(Kind::ImporterIndexMustBeOneCharacter, 0, data.len());
                }
                if !(data[0].is_ascii_alphanumeric() || matches!(data[0], b'-' | b'_')) {
                    return failure(Kind::InvalidImporterIndexCharacter, 0, 1);
                }
                Ok(())
            }
            Linter::MediaType => {
                let valid = data.len() == 2 && first_non_digit(data).is_none() && {
                    let value = number(data);
                    (1..=10).contains(&value) || (80..=99).contains(&value)
                };
                if !valid {
                    return failure(Kind::InvalidMediaType, 0, data.len());
                }
                Ok(())
            }
            Linter::CountryCode
            | Linter::CountryCodeOr999
            | Linter::CountryCodeAlpha2
            | Linter::CurrencyCode
            | Linter::Iban
            | Linter::PackageType
            | Linter::CouponCode
            | Linter::CouponPositiveOffer => failure(Kind::NotImplemented, 0, data.len()),
        }
    }
}

fn character_set(
    data: &[u8],
    member: fn(u8) -> bool,
    kind: LintFailureKind,
) -> Result<(), LintFailure> {
    match data.iter().position(|&byte| !member(byte)) {
        Some(position) => failure(kind, position, 1),
        None => Ok(()),
    }
}

fn character_set_64(data: &[u8]) -> Result<(), LintFailure> {
    let padding = data.iter().rev().take_while(|&&byte| byte == b'=').count();
    let content = data.len() - padding;
    // Padding is optional, but when present it must complete a 3-character group.
    if padding > 2 || (padding > 0 && !data.len().is_multiple_of(3)) {
        return failure(
            LintFailureKind::InvalidCharacterSet64Padding,
            content,
            padding,
        );
    }
    character_set(
        &data[..content],
        is_character_set_64,
        LintFailureKind::InvalidCharacterSet64Character,
    )
}

fn check_digit(data: &[u8]) -> Result<(), LintFailure> {
    require_digits(data)?;
    let Some((&found, body)) = data.split_last() else {
        return failure(LintFailureKind::TooShortForCheckDigit, 0, 0);
    };
    if found != b'0' + crate::gtin::compute_check_digit(body) {
        return failure(LintFailureKind::IncorrectCheckDigit, data.len() - 1, 1);
    }
    Ok(())
}

fn check_character_pair(data: &[u8]) -> Result<(), LintFailure> {
    let length = data.len();
    if length < 2 {
        return failure(LintFailureKind::TooShortForCheckPair, 0, length);
    }
    let body = &data[..length - 2];
    if body.len() > CHECK_PAIR_PRIMES.len() {
        return failure(
            LintFailureKind::TooLongForCheckPairImplementation,
            0,
            length,
        );
    }
    let mut sum: u32 = 0;
    for (index, byte) in body.iter().enumerate() {
        let Some(value) = CHARACTER_SET_82
            .iter()
            .position(|candidate| candidate == byte)
        else {
            return failure(LintFailureKind::InvalidCharacterSet82Character, index, 1);
        };
        // Weights are the primes taken from the right: the last data character gets 2.
        let weight = CHECK_PAIR_PRIMES[body.len() - 1 - index];
        // Values are below 82, so the conversion is lossless.
        sum += value as u32 * weight;
    }
    let sum = (sum % 1021) as usize;
    if data[length - 2] != CHARACTER_SET_32[sum >> 5]
        || data[length - 1] != CHARACTER_SET_32[sum & 31]
    {
        return failure(LintFailureKind::IncorrectCheckPair, length - 2, 2);
    }
    Ok(())
}

fn company_prefix(data: &[u8]) -> Result<(), LintFailure> {
    if data.len() < COMPANY_PREFIX_DIGITS_MIN {
        return failure(LintFailureKind::TooShortForCompanyPrefix, 0, data.len());
    }
    // Without a registry of allocated prefixes only the shape can be checked.
    match first_non_digit(&data[..COMPANY_PREFIX_DIGITS_MIN]) {
        Some(position) => failure(LintFailureKind::InvalidCompanyPrefix, position, 1),
        None => Ok(()),
    }
}

fn date(data: &[u8], year_digits: usize, zero_day_allowed: bool) -> Result<(), LintFailure> {
    let expected_length = year_digits + 4;
    if data.len() < expected_length {
        return failure(LintFailureKind::DateTooShort, 0, data.len());
    }
    if data.len() > expected_length {
        return failure(LintFailureKind::DateTooLong, 0, data.len());
    }
    require_digits(data)?;
    let year = number(&data[..year_digits]);
    let month = number(&data[year_digits..year_digits + 2]);
    let day = number(&data[year_digits + 2..]);
    if !(1..=12).contains(&month) {
        return failure(LintFailureKind::IllegalMonth, year_digits, 2);
    }
    // With a two-digit year the century is unknown; every fourth year is taken as leap, which
    // holds for 2000–2099.
    let leap_year = if year_digits == 2 {
        year.is_multiple_of(4)
    } else {
        is_leap_year(year)
    };
    let day_valid =
        (day == 0 && zero_day_allowed) || (1..=days_in_month(month, leap_year)).contains(&day);
    if !day_valid {
        return failure(LintFailureKind::IllegalDay, year_digits + 2, 2);
    }
    Ok(())
}

fn two_digit_field(
    data: &[u8],
    maximum: u64,
    too_short: LintFailureKind,
    too_long: LintFailureKind,
    out_of_range: LintFailureKind,
) -> Result<(), LintFailure> {
    if data.len() < 2 {
        return failure(too_short, 0, data.len());
    }
    if data.len() > 2 {
        return failure(too_long, 0, data.len());
    }
    require_digits(data)?;
    if number(data) > maximum {
        return failure(out_of_range, 0, 2);
    }
    Ok(())
}

fn hour_minute(data: &[u8]) -> Result<(), LintFailure> {
    if data.len() < 4 {
        return failure(LintFailureKind::HourWithMinuteTooShort, 0, data.len());
    }
    if data.len() > 4 {
        return failure(LintFailureKind::HourWithMinuteTooLong, 0, data.len());
    }
    require_digits(data)?;
    if number(&data[..2]) > 23 {
        return failure(LintFailureKind::IllegalHour, 0, 2);
    }
    if number(&data[2..]) > 59 {
        return failure(LintFailureKind::IllegalMinute, 2, 2);
    }
    Ok(())
}

fn one_of(data: &[u8], allowed: &[&[u8]], kind: LintFailureKind) -> Result<(), LintFailure> {
    if allowed.contains(&data) {
        Ok(())
    } else {
        failure(kind, 0, data.len())
    }
}

fn piece_of_total(data: &[u8]) -> Result<(), LintFailure> {
    if data.is_empty() || !data.len().is_multiple_of(2) {
        return failure(LintFailureKind::InvalidLengthForPieceOfTotal, 0, data.len());
    }
    require_digits(data)?;
    let half = data.len() / 2;
    let piece = number(&data[..half]);
    let total = number(&data[half..]);
    if piece == 0 {
        return failure(LintFailureKind::ZeroPieceNumber, 0, half);
    }
    if total == 0 {
        return failure(LintFailureKind::ZeroTotalPieces, half, half);
    }
    if piece > total {
        return failure(LintFailureKind::PieceNumberExceedsTotal, 0, data.len());
    }
    Ok(())
}

fn position_in_sequence(data: &[u8]) -> Result<(), LintFailure> {
    let malformed = || failure(LintFailureKind::PositionInSequenceMalformed, 0, data.len());
    let Some(slash) = data.iter().position(|&byte| byte == b'/') else {
        return malformed();
    };
    let (position, total) = (&data[..slash], &data[slash + 1..]);
    let well_formed = |part: &[u8]| !part.is_empty() && first_non_digit(part).is_none();
    if !well_formed(position) || !well_formed(total) {
        return malformed();
    }
    if position[0] == b'0' {
        return failure(LintFailureKind::IllegalZeroPrefix, 0, position.len());
    }
    if total[0] == b'0' {
        return failure(LintFailureKind::IllegalZeroPrefix, slash + 1, total.len());
    }
    if number(position) > number(total) {
        return failure(LintFailureKind::PositionExceedsEnd, 0, data.len());
    }
    Ok(())
}

fn coordinate(
    data: &[u8],
    maximum: u64,
    invalid_length: LintFailureKind,
    out_of_range: LintFailureKind,
) -> Result<(), LintFailure> {
    if data.len() != 10 {
        return failure(invalid_length, 0, data.len());
    }
    require_digits(data)?;
    if number(data) > maximum {
        return failure(out_of_range, 0, data.len());
    }
    Ok(())
}

fn percent_encoding(data: &[u8]) -> Result<(), LintFailure> {
    let mut index = 0;
    while index < data.len() {
        if data[index] == b'%' {
            let escape = &data[index + 1..data.len().min(index + 3)];
            if escape.len() != 2 || !escape.iter().all(u8::is_ascii_hexdigit) {
                return failure(
                    LintFailureKind::InvalidPercentSequence,
                    index,
                    1 + escape.len(),
                );
            }
            index += 3;
        } else {
            index += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(linter: Linter, data: &str) -> Option<LintFailureKind> {
        linter
            .check(data.as_bytes())
            .err()
            .map(|failure| failure.kind)
    }

    #[test]
    fn names_round_trip() {
        for (linter, name) in NAMES {
            assert_eq!(Linter::from_dictionary_name(name), Some(*linter));
            assert_eq!(linter.dictionary_name(), *name);
        }
        assert_eq!(Linter::from_dictionary_name("nosuch"), None);
    }

    #[test]
    fn expiry_date_day_zero_means_end_of_month() {
        assert_eq!(kind(Linter::DateWithOptionalDay, "281200"), None);
        assert_eq!(
            kind(Linter::Date, "281200"),
            Some(LintFailureKind::IllegalDay)
        );
        assert_eq!(kind(Linter::DateWithOptionalDay, "280229"), None);
        assert_eq!(
            kind(Linter::DateWithOptionalDay, "270229"),
            Some(LintFailureKind::IllegalDay)
        );
        assert_eq!(
            kind(Linter::DateWithOptionalDay, "281301"),
            Some(LintFailureKind::IllegalMonth)
        );
    }

    #[test]
    fn check_character_pair_matches_published_example() {
        assert_eq!(
            kind(Linter::CheckCharacterPair, "1987654Ad4X4bL5ttr2310c2K"),
            None
        );
        assert_eq!(
            Linter::CheckCharacterPair.check(b"1987654Ad4X4bL5ttr2310cXK"),
            Err(LintFailure {
                kind: LintFailureKind::IncorrectCheckPair,
                position: 23,
                length: 2
            })
        );
    }

    #[test]
    fn percent_escape_highlights_the_bad_sequence() {
        assert_eq!(
            Linter::PercentEncoding.check(b"ABC%gXYZ"),
            Err(LintFailure {
                kind: LintFailureKind::InvalidPercentSequence,
                position: 3,
                length: 3
            })
        );
        assert_eq!(kind(Linter::PercentEncoding, "A%20B"), None);
    }

    #[test]
    fn unimplemented_linters_say_so() {
        assert!(!Linter::CountryCode.is_implemented());
        assert_eq!(
            kind(Linter::CountryCode, "528"),
            Some(LintFailureKind::NotImplemented)
        );
        assert!(Linter::CheckDigit.is_implemented());
    }
}
