//! GS1 element strings: sequences of (application identifier, value) pairs.
//!
//! Two textual forms are parsed and produced:
//!
//! * bracketed ("human readable") syntax, `(01)09506000134352(17)281231(10)ABC(21)123`, where a
//!   literal `(` inside a value is written `\(`;
//! * unbracketed raw data as a scanner transmits it after the symbology identifier, where
//!   variable-length values are terminated by the GS character (ASCII 0x1D, the transmitted
//!   form of FNC1) unless they end the data, and fixed-length AIs (00, 01, 11, 17, …) run
//!   straight into the next AI.
//!
//! Every value is checked against the GS1 Barcode Syntax Dictionary: length, character set,
//! check digits, dates (day 00 allowed where GS1 allows it, meaning the last day of the month)
//! and the other component rules. Rules that hold within one data carrier are checked too:
//! an AI repeated with a different value, mutually exclusive AIs, and the digital signature
//! serial rule. Requisite AIs (e.g. a serial number needs a GTIN) may be satisfied by another
//! barcode on the same pack, so they are checked separately by
//! [`ElementString::check_requisites`].

use std::fmt;
use std::str::FromStr;

use crate::dictionary::{Dictionary, Entry};
use crate::error::{CharacterSet, DateProblem, Error, IdentifierKind};
use crate::gtin::{Gtin, Sscc};
use crate::linter::{LintFailure, LintFailureKind};
use crate::{ELEMENT_STRING_ELEMENTS_MAX, INPUT_BYTES_MAX};

/// The group separator, ASCII 0x1D: how scanners transmit an FNC1 that ends a variable-length
/// value.
pub const GROUP_SEPARATOR: char = '\u{1D}';
const GROUP_SEPARATOR_BYTE: u8 = 0x1D;

/// A GS1 application identifier: two to four digits naming what the following value is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApplicationIdentifier {
    digits: [u8; 4],
    length: u8,
}

impl ApplicationIdentifier {
    /// (00) Serial Shipping Container Code.
    pub const SSCC: Self = Self::from_static("00");
    /// (01) Global Trade Item Number.
    pub const GTIN: Self = Self::from_static("01");
    /// (10) Batch or lot number.
    pub const BATCH_OR_LOT: Self = Self::from_static("10");
    /// (11) Production date, YYMMDD.
    pub const PRODUCTION_DATE: Self = Self::from_static("11");
    /// (15) Best before date, YYMMDD.
    pub const BEST_BEFORE_DATE: Self = Self::from_static("15");
    /// (17) Expiration date, YYMMDD.
    pub const EXPIRATION_DATE: Self = Self::from_static("17");
    /// (21) Serial number.
    pub const SERIAL_NUMBER: Self = Self::from_static("21");
    /// (22) Consumer product variant.
    pub const CONSUMER_PRODUCT_VARIANT: Self = Self::from_static("22");
    /// (710) National Healthcare Reimbursement Number, Germany (PZN).
    pub const REIMBURSEMENT_NUMBER_GERMANY: Self = Self::from_static("710");
    /// (711) National Healthcare Reimbursement Number, France (CIP).
    pub const REIMBURSEMENT_NUMBER_FRANCE: Self = Self::from_static("711");
    /// (712) National Healthcare Reimbursement Number, Spain (CN).
    pub const REIMBURSEMENT_NUMBER_SPAIN: Self = Self::from_static("712");
    /// (713) National Healthcare Reimbursement Number, Brazil (DRN).
    pub const REIMBURSEMENT_NUMBER_BRAZIL: Self = Self::from_static("713");
    /// (714) National Healthcare Reimbursement Number, Portugal (AIM).
    pub const REIMBURSEMENT_NUMBER_PORTUGAL: Self = Self::from_static("714");
    /// (8030) Digital signature.
    pub const DIGITAL_SIGNATURE: Self = Self::from_static("8030");

    /// Builds a constant; an invalid literal fails compilation.
    pub(crate) const fn from_static(text: &'static str) -> Self {
        let bytes = text.as_bytes();
        assert!(
            bytes.len() >= 2 && bytes.len() <= 4,
            "an AI has 2 to 4 digits"
        );
        let mut digits = [0u8; 4];
        let mut index = 0;
        while index < bytes.len() {
            assert!(bytes[index].is_ascii_digit(), "an AI has only digits");
            digits[index] = bytes[index];
            index += 1;
        }
        // At most 4, so the narrowing is lossless.
        ApplicationIdentifier {
            digits,
            length: bytes.len() as u8,
        }
    }

    /// Parses the syntax of an AI (2–4 digits). Whether GS1 defines it is [`Self::is_known`].
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bytes = text.as_bytes();
        if !(2..=4).contains(&bytes.len()) {
            return Err(Error::InvalidLength {
                identifier: IdentifierKind::ApplicationIdentifier,
                expected: "2 to 4 digits",
                found_characters: text.chars().count(),
            });
        }
        if let Some(position) = bytes.iter().position(|byte| !byte.is_ascii_digit()) {
            return Err(Error::InvalidCharacter {
                application_identifier: None,
                position,
                found: bytes[position],
                expected: CharacterSet::Digits,
            });
        }
        let mut digits = [0u8; 4];
        digits[..bytes.len()].copy_from_slice(bytes);
        // 2–4, checked above.
        Ok(ApplicationIdentifier {
            digits,
            length: bytes.len() as u8,
        })
    }

    /// An AI from 2–4 ASCII digits, or `None`.
    pub(crate) fn from_ascii_digits(bytes: &[u8]) -> Option<Self> {
        if !(2..=4).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut digits = [0u8; 4];
        digits[..bytes.len()].copy_from_slice(bytes);
        // 2–4, checked above.
        Some(ApplicationIdentifier {
            digits,
            length: bytes.len() as u8,
        })
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits[..usize::from(self.length)]).unwrap_or_default()
    }

    /// Whether the GS1 syntax dictionary defines this AI.
    pub fn is_known(&self) -> bool {
        Dictionary::get().entry(self).is_some()
    }

    /// The dictionary's short title ("GTIN", "BATCH/LOT", "USE BY or EXPIRY", …).
    pub fn title(&self) -> Option<&'static str> {
        Dictionary::get()
            .entry(self)
            .map(|entry| entry.title.as_str())
    }

    /// Whether the value has a predefined length, so that no separator follows it.
    pub fn is_fixed_length(&self) -> Option<bool> {
        Dictionary::get()
            .entry(self)
            .map(|entry| !entry.fnc1_required)
    }
}

impl fmt::Debug for ApplicationIdentifier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ApplicationIdentifier({})", self.as_str())
    }
}

impl fmt::Display for ApplicationIdentifier {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for ApplicationIdentifier {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        ApplicationIdentifier::parse(text)
    }
}

/// One AI and its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Element {
    application_identifier: ApplicationIdentifier,
    value: String,
}

impl Element {
    /// The AI.
    pub fn application_identifier(&self) -> ApplicationIdentifier {
        self.application_identifier
    }

    /// The value as carried (not normalised).
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// A validated GS1 element string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ElementString {
    elements: Vec<Element>,
}

/// A date from a YYMMDD AI (11, 13, 15, 16, 17, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Gs1Date {
    year_in_century: u8,
    month: u8,
    /// 0 when the data says "00": the last day of the month.
    day: u8,
}

impl Gs1Date {
    /// A date from its parts; `day` 0 stands for the last day of the month. `None` if the
    /// month or day cannot exist (February 29 is allowed in years divisible by four).
    pub fn new(year_in_century: u8, month: u8, day: u8) -> Option<Gs1Date> {
        let text = format!("{year_in_century:02}{month:02}{day:02}");
        if year_in_century > 99
            || crate::linter::Linter::DateWithOptionalDay
                .check(text.as_bytes())
                .is_err()
        {
            return None;
        }
        Some(Gs1Date {
            year_in_century,
            month,
            day,
        })
    }

    /// Parses six validated digits.
    fn from_validated(text: &str) -> Option<Gs1Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let pair = |index: usize| (bytes[index] - b'0') * 10 + (bytes[index + 1] - b'0');
        Some(Gs1Date {
            year_in_century: pair(0),
            month: pair(2),
            day: pair(4),
        })
    }

    /// YY.
    pub fn year_in_century(&self) -> u8 {
        self.year_in_century
    }

    /// MM (1–12).
    pub fn month(&self) -> u8 {
        self.month
    }

    /// DD, or `None` when the data gives day 00 (meaning the last day of the month).
    pub fn day(&self) -> Option<u8> {
        (self.day != 0).then_some(self.day)
    }

    /// The four-digit year, by the GS1 General Specifications rule for two-digit years: a year
    /// more than 50 years ahead of `reference_year` belongs to the previous century, one 50 or
    /// more years behind it to the next century. The reference year is an input (normally the
    /// year of the event being recorded) so that the result is reproducible.
    pub fn full_year(&self, reference_year: u16) -> u16 {
        let year_in_century = i32::from(self.year_in_century);
        let reference = i32::from(reference_year);
        let century = reference - reference % 100;
        let difference = year_in_century - reference % 100;
        let year = if difference >= 51 {
            century - 100 + year_in_century
        } else if difference <= -50 {
            century + 100 + year_in_century
        } else {
            century + year_in_century
        };
        // Within reference_year ± 100, so it fits for any realistic reference year.
        u16::try_from(year).unwrap_or(reference_year)
    }

    /// The day of the month, resolving day 00 to the last day of the month.
    pub fn resolved_day(&self, reference_year: u16) -> u8 {
        if self.day != 0 {
            return self.day;
        }
        let year = self.full_year(reference_year);
        let leap =
            (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
        match self.month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// The six-digit form.
    pub fn to_yymmdd(&self) -> String {
        format!(
            "{:02}{:02}{:02}",
            self.year_in_century, self.month, self.day
        )
    }
}

/// Converts a linter failure on `value` (starting at `offset` within it) into the crate error.
fn lint_error(
    application_identifier: ApplicationIdentifier,
    value: &[u8],
    offset: usize,
    part: &[u8],
    failure: LintFailure,
) -> Error {
    let position = offset + failure.position;
    let character = |expected| Error::InvalidCharacter {
        application_identifier: Some(application_identifier),
        position,
        found: value.get(position).copied().unwrap_or_default(),
        expected,
    };
    let bad_date = |problem| Error::BadDate {
        application_identifier,
        value: String::from_utf8_lossy(part).into_owned(),
        problem,
    };
    match failure.kind {
        LintFailureKind::NonDigitCharacter => character(CharacterSet::Digits),
        LintFailureKind::InvalidCharacterSet82Character => character(CharacterSet::CharacterSet82),
        LintFailureKind::InvalidCharacterSet39Character => character(CharacterSet::CharacterSet39),
        LintFailureKind::InvalidCharacterSet64Character => character(CharacterSet::CharacterSet64),
        LintFailureKind::IncorrectCheckDigit => {
            let (&found, body) = part.split_last().unwrap_or((&b'0', &[]));
            Error::BadCheckDigit {
                application_identifier: Some(application_identifier),
                expected: b'0' + crate::gtin::compute_check_digit(body),
                found,
            }
        }
        LintFailureKind::IllegalMonth => bad_date(DateProblem::IllegalMonth),
        LintFailureKind::IllegalDay => bad_date(DateProblem::IllegalDay),
        LintFailureKind::IllegalHour => bad_date(DateProblem::IllegalHour),
        LintFailureKind::IllegalMinute => bad_date(DateProblem::IllegalMinute),
        LintFailureKind::IllegalSecond => bad_date(DateProblem::IllegalSecond),
        kind => Error::InvalidComponent {
            application_identifier,
            failure: kind,
            position,
            length: failure.length,
        },
    }
}

/// Checks `data` (a value, or raw data up to the next separator) against the components of
/// `entry`, returning how many bytes the components consumed.
fn validate_components(entry: &Entry, data: &[u8]) -> Result<usize, Error> {
    let application_identifier = entry.application_identifier;
    if data.is_empty() {
        return Err(Error::EmptyValue {
            application_identifier,
        });
    }
    let mut offset = 0;
    for (index, component) in entry.components.iter().enumerate() {
        let length = (data.len() - offset).min(component.maximum_characters);
        if component.optional && length == 0 {
            continue;
        }
        if length < component.minimum_characters {
            return Err(if entry.components.len() == 1 {
                Error::TooShort {
                    application_identifier,
                    minimum_characters: component.minimum_characters,
                    found_characters: length,
                }
            } else {
                Error::ComponentTooShort {
                    application_identifier,
                    component_number: index + 1,
                    minimum_characters: component.minimum_characters,
                    found_characters: length,
                }
            });
        }
        let part = &data[offset..offset + length];
        for linter in std::iter::once(component.character_set.linter())
            .chain(component.linters.iter().copied())
        {
            if linter.is_implemented() {
                linter.check(part).map_err(|failure| {
                    lint_error(application_identifier, data, offset, part, failure)
                })?;
            }
        }
        offset += length;
    }
    // Every rule that can be checked has passed; one that cannot must not be waved through.
    if let Some(linter) = entry.unimplemented_linter() {
        return Err(Error::UnsupportedApplicationIdentifier {
            application_identifier,
            rule: linter.dictionary_name(),
        });
    }
    Ok(offset)
}

/// Checks a complete value (bracketed input, Digital Link, constructed elements).
fn validate_value(entry: &Entry, value: &[u8]) -> Result<(), Error> {
    let application_identifier = entry.application_identifier;
    if value.is_empty() {
        return Err(Error::EmptyValue {
            application_identifier,
        });
    }
    // Length first: a checksum complaint about a value of the wrong length would mislead.
    if value.len() < entry.minimum_characters() {
        return Err(Error::TooShort {
            application_identifier,
            minimum_characters: entry.minimum_characters(),
            found_characters: value.len(),
        });
    }
    if value.len() > entry.maximum_characters() {
        return Err(Error::TooLong {
            application_identifier,
            maximum_characters: entry.maximum_characters(),
            found_characters: value.len(),
        });
    }
    let consumed = validate_components(entry, value)?;
    debug_assert_eq!(
        consumed,
        value.len(),
        "components cover every value within the maximum length"
    );
    Ok(())
}

fn check_input_length(text: &str) -> Result<(), Error> {
    if text.len() > INPUT_BYTES_MAX {
        return Err(Error::InputTooLong {
            maximum_bytes: INPUT_BYTES_MAX,
            found_bytes: text.len(),
        });
    }
    if text.is_empty() {
        return Err(Error::EmptyInput);
    }
    Ok(())
}

/// Validates one value for an AI, as [`ElementString::from_elements`] would.
pub(crate) fn validate_element_value(
    application_identifier: ApplicationIdentifier,
    value: &str,
) -> Result<(), Error> {
    let entry = Dictionary::get()
        .entry(&application_identifier)
        .ok_or_else(|| Error::UnknownApplicationIdentifier {
            found: application_identifier.to_string(),
        })?;
    validate_value(entry, value.as_bytes())
}

/// Looks up an AI given as text, as bracketed syntax and Digital Link URIs carry it.
pub(crate) fn known_entry(text: &str) -> Result<&'static Entry, Error> {
    ApplicationIdentifier::parse(text)
        .ok()
        .and_then(|application_identifier| Dictionary::get().entry(&application_identifier))
        .ok_or_else(|| Error::UnknownApplicationIdentifier {
            found: text.to_owned(),
        })
}

impl ElementString {
    /// Parses bracketed syntax, `(01)09506000134352(10)ABC123`.
    pub fn parse_bracketed(text: &str) -> Result<ElementString, Error> {
        check_input_length(text)?;
        let bytes = text.as_bytes();
        let mut elements = Vec::new();
        let mut position = 0;
        while position < bytes.len() {
            if bytes[position] != b'(' {
                return Err(Error::MalformedBracketedSyntax {
                    position,
                    problem: "expected '(' to start an AI",
                });
            }
            let Some(close) = bytes[position..]
                .iter()
                .position(|&byte| byte == b')')
                .map(|offset| position + offset)
            else {
                return Err(Error::MalformedBracketedSyntax {
                    position,
                    problem: "AI not closed by ')'",
                });
            };
            let entry = known_entry(&text[position + 1..close])?;
            let mut value = Vec::new();
            let mut cursor = close + 1;
            loop {
                match bytes[cursor..]
                    .iter()
                    .position(|&byte| byte == b'(')
                    .map(|offset| cursor + offset)
                {
                    None => {
                        value.extend_from_slice(&bytes[cursor..]);
                        cursor = bytes.len();
                        break;
                    }
                    // "\(" is a bracket inside the value.
                    Some(open) if open > cursor && bytes[open - 1] == b'\\' => {
                        value.extend_from_slice(&bytes[cursor..open - 1]);
                        value.push(b'(');
                        cursor = open + 1;
                    }
                    Some(open) => {
                        value.extend_from_slice(&bytes[cursor..open]);
                        cursor = open;
                        break;
                    }
                }
            }
            validate_value(entry, &value)?;
            push_element(&mut elements, entry.application_identifier, value)?;
            position = cursor;
        }
        let element_string = ElementString { elements };
        element_string.check_carrier_rules()?;
        Ok(element_string)
    }

    /// Parses unbracketed data as transmitted after a GS1 symbology identifier: AIs and
    /// values run together, and the GS character (0x1D) ends a variable-length value that is
    /// followed by another AI. A superfluous GS after a fixed-length value, or at the end, is
    /// tolerated.
    pub fn parse_unbracketed(data: &str) -> Result<ElementString, Error> {
        check_input_length(data)?;
        let bytes = data.as_bytes();
        let dictionary = Dictionary::get();
        let mut elements = Vec::new();
        let mut position = 0;
        while position < bytes.len() {
            let rest = &bytes[position..];
            let entry = dictionary
                .application_identifier_length(rest)
                .filter(|&length| length <= rest.len())
                .and_then(|length| ApplicationIdentifier::from_ascii_digits(&rest[..length]))
                .and_then(|application_identifier| dictionary.entry(&application_identifier))
                .ok_or_else(|| Error::UnknownApplicationIdentifier {
                    found: String::from_utf8_lossy(&rest[..rest.len().min(4)]).into_owned(),
                })?;
            let value_start = position + usize::from(entry.application_identifier.length);
            let value_end = bytes[value_start..]
                .iter()
                .position(|&byte| byte == GROUP_SEPARATOR_BYTE)
                .map_or(bytes.len(), |offset| value_start + offset);
            let consumed = validate_components(entry, &bytes[value_start..value_end])?;
            let next = value_start + consumed;
            if entry.fnc1_required && next != value_end {
                return Err(Error::TooLong {
                    application_identifier: entry.application_identifier,
                    maximum_characters: entry.maximum_characters(),
                    found_characters: value_end - value_start,
                });
            }
            push_element(
                &mut elements,
                entry.application_identifier,
                bytes[value_start..next].to_vec(),
            )?;
            position = next;
            if bytes.get(position) == Some(&GROUP_SEPARATOR_BYTE) {
                position += 1;
            }
        }
        let element_string = ElementString { elements };
        element_string.check_carrier_rules()?;
        Ok(element_string)
    }

    /// Parses scanner output (symbology identifier and data) and returns the GS1 data it
    /// carries: the element string of a GS1 symbol (`]d2`, `]Q3`, `]J1`, `]C1`, `]e0`), the
    /// GTIN of an EAN/UPC symbol (`]E0`, `]E4`) as AI (01), or the data of a GS1 Digital Link
    /// URI in a plain-text symbol (`]Q1`, `]d1`, `]J0`). Other plain text is an error.
    pub fn parse_scan_data(scan: &str) -> Result<ElementString, Error> {
        crate::scan_data::ScanData::parse(scan)?.into_element_string()
    }

    /// Builds an element string from AI/value pairs, validating each value and the rules
    /// that hold within one data carrier.
    pub fn from_elements<I, V>(elements: I) -> Result<ElementString, Error>
    where
        I: IntoIterator<Item = (ApplicationIdentifier, V)>,
        V: AsRef<str>,
    {
        let dictionary = Dictionary::get();
        let mut validated = Vec::new();
        for (application_identifier, value) in elements {
            let entry = dictionary.entry(&application_identifier).ok_or_else(|| {
                Error::UnknownApplicationIdentifier {
                    found: application_identifier.to_string(),
                }
            })?;
            let value = value.as_ref().as_bytes();
            if value.len() > INPUT_BYTES_MAX {
                return Err(Error::InputTooLong {
                    maximum_bytes: INPUT_BYTES_MAX,
                    found_bytes: value.len(),
                });
            }
            validate_value(entry, value)?;
            push_element(&mut validated, application_identifier, value.to_vec())?;
        }
        if validated.is_empty() {
            return Err(Error::EmptyInput);
        }
        let element_string = ElementString {
            elements: validated,
        };
        element_string.check_carrier_rules()?;
        Ok(element_string)
    }

    /// The elements in the order they were given.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// The value of the first occurrence of an AI.
    pub fn get(&self, application_identifier: ApplicationIdentifier) -> Option<&str> {
        self.elements
            .iter()
            .find(|element| element.application_identifier == application_identifier)
            .map(|element| element.value.as_str())
    }

    /// AI (01).
    pub fn gtin(&self) -> Option<Gtin> {
        self.get(ApplicationIdentifier::GTIN)
            .and_then(|value| Gtin::parse(value).ok())
    }

    /// AI (00).
    pub fn sscc(&self) -> Option<Sscc> {
        self.get(ApplicationIdentifier::SSCC)
            .and_then(|value| Sscc::parse(value).ok())
    }

    /// AI (10).
    pub fn batch_or_lot(&self) -> Option<&str> {
        self.get(ApplicationIdentifier::BATCH_OR_LOT)
    }

    /// AI (21).
    pub fn serial_number(&self) -> Option<&str> {
        self.get(ApplicationIdentifier::SERIAL_NUMBER)
    }

    /// AI (17).
    pub fn expiration_date(&self) -> Option<Gs1Date> {
        self.get(ApplicationIdentifier::EXPIRATION_DATE)
            .and_then(Gs1Date::from_validated)
    }

    /// AI (11).
    pub fn production_date(&self) -> Option<Gs1Date> {
        self.get(ApplicationIdentifier::PRODUCTION_DATE)
            .and_then(Gs1Date::from_validated)
    }

    /// AI (15).
    pub fn best_before_date(&self) -> Option<Gs1Date> {
        self.get(ApplicationIdentifier::BEST_BEFORE_DATE)
            .and_then(Gs1Date::from_validated)
    }

    /// National Healthcare Reimbursement Numbers, AIs (710)–(717), with the AI that says which
    /// national scheme each belongs to.
    pub fn reimbursement_numbers(&self) -> impl Iterator<Item = (ApplicationIdentifier, &str)> {
        self.elements
            .iter()
            .filter(|element| {
                matches!(
                    element.application_identifier.as_str(),
                    "710" | "711" | "712" | "713" | "714" | "715" | "716" | "717"
                )
            })
            .map(|element| (element.application_identifier, element.value.as_str()))
    }

    /// Checks the "requisite" rules of the GS1 General Specifications (a serial number or lot
    /// needs a GTIN, a count needs an SSCC or content, …). Kept apart from parsing because the
    /// rules apply to everything marked on one item, which may span several barcodes: combine
    /// their element strings before calling this.
    pub fn check_requisites(&self) -> Result<(), Error> {
        let dictionary = Dictionary::get();
        for element in &self.elements {
            let Some(entry) = dictionary.entry(&element.application_identifier) else {
                continue;
            };
            for requisite in &entry.requisites {
                let satisfied = requisite.groups.iter().any(|group| {
                    group.iter().all(|pattern| {
                        self.elements.iter().any(|other| {
                            other.application_identifier != element.application_identifier
                                && pattern.matches(&other.application_identifier)
                        })
                    })
                });
                if !satisfied {
                    return Err(Error::RequisiteMissing {
                        application_identifier: element.application_identifier,
                        required: requisite.text.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Rules that must hold within any single data carrier.
    fn check_carrier_rules(&self) -> Result<(), Error> {
        let dictionary = Dictionary::get();
        for (index, element) in self.elements.iter().enumerate() {
            if let Some(repeat) = self.elements[index + 1..].iter().find(|other| {
                other.application_identifier == element.application_identifier
                    && other.value != element.value
            }) {
                return Err(Error::ConflictingRepeat {
                    application_identifier: repeat.application_identifier,
                });
            }
            let Some(entry) = dictionary.entry(&element.application_identifier) else {
                continue;
            };
            for pattern in &entry.exclusions {
                // An AI never excludes itself, even when a pattern such as "310n" covers it.
                if let Some(conflicting) = self.elements.iter().find(|other| {
                    other.application_identifier != element.application_identifier
                        && pattern.matches(&other.application_identifier)
                }) {
                    return Err(Error::MutuallyExclusive {
                        application_identifier: element.application_identifier,
                        conflicting: conflicting.application_identifier,
                    });
                }
            }
        }
        if self.get(ApplicationIdentifier::DIGITAL_SIGNATURE).is_some() {
            // A signature must bind one instance; a key without its serial part names a class.
            for key in ["253", "255", "8003"] {
                let application_identifier = ApplicationIdentifier::from_static(key);
                if let (Some(value), Some(entry)) = (
                    self.get(application_identifier),
                    dictionary.entry(&application_identifier),
                ) && value.len() == entry.minimum_characters()
                {
                    return Err(Error::DigitalSignatureRequiresSerial {
                        application_identifier,
                    });
                }
            }
        }
        Ok(())
    }

    /// Bracketed syntax; `(` inside values is escaped as `\(`.
    pub fn to_bracketed(&self) -> String {
        let mut text = String::new();
        for element in &self.elements {
            text.push('(');
            text.push_str(element.application_identifier.as_str());
            text.push(')');
            text.push_str(&element.value.replace('(', "\\("));
        }
        text
    }

    /// Unbracketed data with GS separators after variable-length values that are followed by
    /// another AI: the data a GS1 symbology carries after its symbology identifier.
    pub fn to_unbracketed(&self) -> String {
        let dictionary = Dictionary::get();
        let mut text = String::new();
        for (index, element) in self.elements.iter().enumerate() {
            text.push_str(element.application_identifier.as_str());
            text.push_str(&element.value);
            let variable_length = dictionary
                .entry(&element.application_identifier)
                .is_none_or(|entry| entry.fnc1_required);
            if variable_length && index + 1 < self.elements.len() {
                text.push(GROUP_SEPARATOR);
            }
        }
        text
    }

    /// Human readable interpretation lines, "(01) 09506000134352", as printed under a barcode.
    pub fn human_readable_interpretation(&self) -> Vec<String> {
        self.elements
            .iter()
            .map(|element| format!("({}) {}", element.application_identifier, element.value))
            .collect()
    }

    /// Human readable interpretation lines prefixed with the AI's data title,
    /// "GTIN (01) 09506000134352".
    pub fn human_readable_interpretation_with_titles(&self) -> Vec<String> {
        self.elements
            .iter()
            .map(|element| {
                let title = element.application_identifier.title().unwrap_or_default();
                format!(
                    "{title} ({}) {}",
                    element.application_identifier, element.value
                )
            })
            .collect()
    }
}

fn push_element(
    elements: &mut Vec<Element>,
    application_identifier: ApplicationIdentifier,
    value: Vec<u8>,
) -> Result<(), Error> {
    if elements.len() == ELEMENT_STRING_ELEMENTS_MAX {
        return Err(Error::TooManyElements {
            maximum_elements: ELEMENT_STRING_ELEMENTS_MAX,
        });
    }
    // Validation admitted only ASCII character sets.
    let value = String::from_utf8(value).map_err(|error| Error::InvalidCharacter {
        application_identifier: Some(application_identifier),
        position: error.utf8_error().valid_up_to(),
        found: error.as_bytes()[error.utf8_error().valid_up_to()],
        expected: CharacterSet::CharacterSet82,
    })?;
    elements.push(Element {
        application_identifier,
        value,
    });
    Ok(())
}

impl fmt::Display for ElementString {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_bracketed())
    }
}

impl FromStr for ElementString {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        ElementString::parse_bracketed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identifier(text: &'static str) -> ApplicationIdentifier {
        ApplicationIdentifier::from_static(text)
    }

    #[test]
    fn pharmaceutical_pack_bracketed_round_trip() {
        let text = "(01)09506000134352(17)281231(10)ABC123(21)1234567890";
        let element_string = ElementString::parse_bracketed(text).unwrap();
        assert_eq!(element_string.gtin().unwrap().as_str(), "09506000134352");
        assert_eq!(element_string.batch_or_lot(), Some("ABC123"));
        assert_eq!(element_string.serial_number(), Some("1234567890"));
        let expiry = element_string.expiration_date().unwrap();
        assert_eq!(
            (expiry.full_year(2025), expiry.month(), expiry.day()),
            (2028, 12, Some(31))
        );
        assert_eq!(element_string.to_bracketed(), text);
        assert_eq!(
            element_string.to_unbracketed(),
            "01095060001343521728123110ABC123\u{1D}211234567890"
        );
        assert!(element_string.check_requisites().is_ok());
    }

    #[test]
    fn unbracketed_with_group_separators() {
        let data = "0109506000134352172812001012345\u{1D}21SERIAL";
        let element_string = ElementString::parse_unbracketed(data).unwrap();
        assert_eq!(
            element_string.to_bracketed(),
            "(01)09506000134352(17)281200(10)12345(21)SERIAL"
        );
        assert_eq!(element_string.to_unbracketed(), data);
        let expiry = element_string.expiration_date().unwrap();
        assert_eq!(expiry.day(), None);
        assert_eq!(expiry.resolved_day(2025), 31);
    }

    #[test]
    fn sscc_on_a_pallet_label() {
        let element_string = ElementString::parse_bracketed("(00)106141412345678908").unwrap();
        assert_eq!(
            element_string.sscc().unwrap().as_str(),
            "106141412345678908"
        );
    }

    #[test]
    fn precise_errors() {
        assert_eq!(
            ElementString::parse_bracketed("(01)09506000134353"),
            Err(Error::BadCheckDigit {
                application_identifier: Some(identifier("01")),
                expected: b'2',
                found: b'3'
            })
        );
        assert_eq!(
            ElementString::parse_bracketed("(01)09506000134352(17)281301"),
            Err(Error::BadDate {
                application_identifier: identifier("17"),
                value: "281301".to_owned(),
                problem: DateProblem::IllegalMonth
            })
        );
        assert_eq!(
            ElementString::parse_bracketed("(21)123456789012345678901"),
            Err(Error::TooLong {
                application_identifier: identifier("21"),
                maximum_characters: 20,
                found_characters: 21
            })
        );
        assert_eq!(
            ElementString::parse_bracketed("(89)123"),
            Err(Error::UnknownApplicationIdentifier {
                found: "89".to_owned()
            })
        );
        assert_eq!(
            ElementString::parse_bracketed("(10)AB CD"),
            Err(Error::InvalidCharacter {
                application_identifier: Some(identifier("10")),
                position: 2,
                found: b' ',
                expected: CharacterSet::CharacterSet82
            })
        );
        assert!(matches!(
            ElementString::parse_bracketed("(01)09506000134352(21)A(21)B"),
            Err(Error::ConflictingRepeat { .. })
        ));
        assert!(matches!(
            ElementString::parse_bracketed("(01)09506000134352(02)09506000134352"),
            Err(Error::MutuallyExclusive { .. })
        ));
        assert!(matches!(
            ElementString::parse_bracketed("(422)528"),
            Err(Error::UnsupportedApplicationIdentifier {
                rule: "iso3166",
                ..
            })
        ));
        assert_eq!(
            ElementString::parse_unbracketed("2421234567"),
            Err(Error::TooLong {
                application_identifier: identifier("242"),
                maximum_characters: 6,
                found_characters: 7
            })
        );
    }

    #[test]
    fn requisites_are_checked_on_request() {
        let serial_only = ElementString::parse_bracketed("(21)12345").unwrap();
        assert_eq!(
            serial_only.check_requisites(),
            Err(Error::RequisiteMissing {
                application_identifier: identifier("21"),
                required: "01,03,8006".to_owned()
            })
        );
    }

    #[test]
    fn national_healthcare_reimbursement_numbers() {
        let element_string =
            ElementString::parse_bracketed("(01)09506000134352(710)1234567(714)AIM0001").unwrap();
        let numbers: Vec<_> = element_string.reimbursement_numbers().collect();
        assert_eq!(
            numbers,
            vec![
                (identifier("710"), "1234567"),
                (identifier("714"), "AIM0001")
            ]
        );
        assert_eq!(
            ApplicationIdentifier::REIMBURSEMENT_NUMBER_GERMANY.title(),
            Some("NHRN PZN")
        );
    }

    #[test]
    fn escaped_brackets_survive_formatting() {
        let element_string = ElementString::parse_bracketed("(10)AB\\(1)").unwrap();
        assert_eq!(element_string.batch_or_lot(), Some("AB(1)"));
        assert_eq!(element_string.to_bracketed(), "(10)AB\\(1)");
    }

    #[test]
    fn human_readable_interpretation() {
        let element_string = ElementString::parse_bracketed("(01)09506000134352(10)ABC").unwrap();
        assert_eq!(
            element_string.human_readable_interpretation(),
            vec!["(01) 09506000134352", "(10) ABC"]
        );
        assert_eq!(
            element_string.human_readable_interpretation_with_titles(),
            vec!["GTIN (01) 09506000134352", "BATCH/LOT (10) ABC"]
        );
    }

    #[test]
    fn two_digit_years_follow_the_gs1_sliding_window() {
        let date = Gs1Date::new(75, 1, 1).unwrap();
        assert_eq!(date.full_year(2025), 2075);
        assert_eq!(date.full_year(2024), 1975);
        assert_eq!(Gs1Date::new(99, 1, 1).unwrap().full_year(2050), 2099);
        assert_eq!(Gs1Date::new(0, 1, 1).unwrap().full_year(2099), 2100);
        assert!(Gs1Date::new(25, 2, 30).is_none());
        assert_eq!(Gs1Date::new(24, 2, 0).unwrap().resolved_day(2025), 29);
    }
}
