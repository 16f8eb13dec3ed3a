//! Shared helpers for the conformance tests: locating the vectors, a small JSON reader (the
//! crate has no dev-dependencies), TSV unescaping, and a tally that reports checked and
//! skipped cases and fails the test on any disagreement.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rxchain_gs1::linter::LintFailureKind;
use rxchain_gs1::{CharacterSet, DateProblem, Error};

/// `shared/conformance/gs1`, read in place: five folders up from `node/apps/trace/gs1`, beside the repository.
pub fn vectors_directory() -> PathBuf {
    PathBuf::from(manifest_dir()).join("../../../../../shared/conformance/gs1")
}

pub fn read_vector_file(relative: &str) -> String {
    let path = vectors_directory().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("conformance file {} is required: {error}", path.display()))
}

/// Counts checked and skipped cases; collects disagreements.
#[derive(Debug, Default)]
pub struct Tally {
    pub name: String,
    /// Vector records whose verdict was compared.
    pub checked: usize,
    /// Individual comparisons (verdict, AIs, output strings, error codes, …).
    pub assertions: usize,
    pub skipped: BTreeMap<String, usize>,
    pub failures: Vec<String>,
}

impl Tally {
    pub fn new(name: &str) -> Tally {
        Tally {
            name: name.to_owned(),
            ..Tally::default()
        }
    }

    pub fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }

    /// Starts a vector record that is checked (as opposed to skipped).
    pub fn case(&mut self) {
        self.checked += 1;
    }

    /// Records one comparison within the current case.
    pub fn check(&mut self, id: &str, agrees: bool, detail: impl FnOnce() -> String) {
        self.assertions += 1;
        if !agrees {
            self.failures.push(format!("{id}: {}", detail()));
        }
    }

    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    /// Prints the counts and fails on disagreements or on too few checked cases.
    pub fn finish(self, minimum_checked: usize) {
        println!(
            "== {}: {} cases checked ({} assertions), {} skipped",
            self.name,
            self.checked,
            self.assertions,
            self.skipped_total()
        );
        for (reason, count) in &self.skipped {
            println!("   skipped {count:5}  {reason}");
        }
        for failure in &self.failures {
            println!("   FAILED  {failure}");
        }
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} cases disagree (see output)",
            self.name,
            self.failures.len(),
            self.checked
        );
        assert!(
            self.checked >= minimum_checked,
            "{}: only {} cases checked, expected at least {minimum_checked}",
            self.name,
            self.checked
        );
    }
}

/// Decodes the TSV escaping of the vector files: `\\` is a backslash, `\xHH` a byte.
pub fn unescape_tsv(field: &str) -> Vec<u8> {
    let bytes = field.as_bytes();
    let mut output = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\' && bytes.get(index + 1) == Some(&b'\\') {
            output.push(b'\\');
            index += 2;
        } else if bytes[index] == b'\\'
            && bytes.get(index + 1) == Some(&b'x')
            && index + 3 < bytes.len()
        {
            let hex = std::str::from_utf8(&bytes[index + 2..index + 4]).expect("ASCII hex");
            output.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            index += 4;
        } else {
            output.push(bytes[index]);
            index += 1;
        }
    }
    output
}

/// GS1 reference implementation linter error code for a failure kind.
pub fn gs1_code(kind: LintFailureKind) -> &'static str {
    use LintFailureKind::*;
    match kind {
        NonDigitCharacter => "GS1_LINTER_NON_DIGIT_CHARACTER",
        InvalidCharacterSet82Character => "GS1_LINTER_INVALID_CSET82_CHARACTER",
        InvalidCharacterSet39Character => "GS1_LINTER_INVALID_CSET39_CHARACTER",
        InvalidCharacterSet64Character => "GS1_LINTER_INVALID_CSET64_CHARACTER",
        InvalidCharacterSet64Padding => "GS1_LINTER_INVALID_CSET64_PADDING",
        TooShortForCheckDigit => "GS1_LINTER_TOO_SHORT_FOR_CHECK_DIGIT",
        IncorrectCheckDigit => "GS1_LINTER_INCORRECT_CHECK_DIGIT",
        TooShortForCheckPair => "GS1_LINTER_TOO_SHORT_FOR_CHECK_PAIR",
        TooLongForCheckPairImplementation => "GS1_LINTER_TOO_LONG_FOR_CHECK_PAIR_IMPLEMENTATION",
        IncorrectCheckPair => "GS1_LINTER_INCORRECT_CHECK_PAIR",
        TooShortForCompanyPrefix => "GS1_LINTER_TOO_SHORT_FOR_GCP",
        InvalidCompanyPrefix => "GS1_LINTER_INVALID_GCP_PREFIX",
        DateTooShort => "GS1_LINTER_DATE_TOO_SHORT",
        DateTooLong => "GS1_LINTER_DATE_TOO_LONG",
        IllegalMonth => "GS1_LINTER_ILLEGAL_MONTH",
        IllegalDay => "GS1_LINTER_ILLEGAL_DAY",
        HourTooShort => "GS1_LINTER_HOUR_TOO_SHORT",
        HourTooLong => "GS1_LINTER_HOUR_TOO_LONG",
        IllegalHour => "GS1_LINTER_ILLEGAL_HOUR",
        HourWithMinuteTooShort => "GS1_LINTER_HOUR_WITH_MINUTE_TOO_SHORT",
        HourWithMinuteTooLong => "GS1_LINTER_HOUR_WITH_MINUTE_TOO_LONG",
        MinuteTooShort => "GS1_LINTER_MINUTE_TOO_SHORT",
        MinuteTooLong => "GS1_LINTER_MINUTE_TOO_LONG",
        IllegalMinute => "GS1_LINTER_ILLEGAL_MINUTE",
        SecondTooShort => "GS1_LINTER_SECOND_TOO_SHORT",
        SecondTooLong => "GS1_LINTER_SECOND_TOO_LONG",
        IllegalSecond => "GS1_LINTER_ILLEGAL_SECOND",
        IllegalZeroValue => "GS1_LINTER_ILLEGAL_ZERO_VALUE",
        NotZero => "GS1_LINTER_NOT_ZERO",
        IllegalZeroPrefix => "GS1_LINTER_ILLEGAL_ZERO_PREFIX",
        RequiresNonDigitCharacter => "GS1_LINTER_REQUIRES_NON_DIGIT_CHARACTER",
        InvalidWindingDirection => "GS1_LINTER_INVALID_WINDING_DIRECTION",
        NotZeroOrOne => "GS1_LINTER_NOT_ZERO_OR_ONE",
        NotHyphen => "GS1_LINTER_NOT_HYPHEN",
        InvalidLengthForPieceOfTotal => "GS1_LINTER_INVALID_LENGTH_FOR_PIECE_OF_TOTAL",
        ZeroPieceNumber => "GS1_LINTER_ZERO_PIECE_NUMBER",
        ZeroTotalPieces => "GS1_LINTER_ZERO_TOTAL_PIECES",
        PieceNumberExceedsTotal => "GS1_LINTER_PIECE_NUMBER_EXCEEDS_TOTAL",
        PositionInSequenceMalformed => "GS1_LINTER_POSITION_IN_SEQUENCE_MALFORMED",
        PositionExceedsEnd => "GS1_LINTER_POSITION_EXCEEDS_END",
        LatitudeInvalidLength => "GS1_LINTER_LATITUDE_INVALID_LENGTH",
        InvalidLatitude => "GS1_LINTER_INVALID_LATITUDE",
        LongitudeInvalidLength => "GS1_LINTER_LONGITUDE_INVALID_LENGTH",
        InvalidLongitude => "GS1_LINTER_INVALID_LONGITUDE",
        InvalidBiologicalSexCode => "GS1_LINTER_INVALID_BIOLOGICAL_SEX_CODE",
        InvalidPercentSequence => "GS1_LINTER_INVALID_PERCENT_SEQUENCE",
        ImporterIndexMustBeOneCharacter => "GS1_LINTER_IMPORTER_IDX_MUST_BE_ONE_CHARACTER",
        InvalidImporterIndexCharacter => "GS1_LINTER_INVALID_IMPORT_IDX_CHARACTER",
        InvalidMediaType => "GS1_LINTER_INVALID_MEDIA_TYPE",
        NotImplemented => "(not implemented)",
        _ => "(unmapped)",
    }
}

/// The GS1 linter code an element string error corresponds to, for errors raised by a
/// content rule; `None` for structural errors (length, unknown AI, …).
pub fn gs1_code_of_error(error: &Error) -> Option<&'static str> {
    Some(match error {
        Error::InvalidCharacter {
            expected: CharacterSet::Digits,
            ..
        } => "GS1_LINTER_NON_DIGIT_CHARACTER",
        Error::InvalidCharacter {
            expected: CharacterSet::CharacterSet82,
            ..
        } => "GS1_LINTER_INVALID_CSET82_CHARACTER",
        Error::InvalidCharacter {
            expected: CharacterSet::CharacterSet39,
            ..
        } => "GS1_LINTER_INVALID_CSET39_CHARACTER",
        Error::InvalidCharacter {
            expected: CharacterSet::CharacterSet64,
            ..
        } => "GS1_LINTER_INVALID_CSET64_CHARACTER",
        Error::BadCheckDigit { .. } => "GS1_LINTER_INCORRECT_CHECK_DIGIT",
        Error::BadDate {
            problem: DateProblem::IllegalMonth,
            ..
        } => "GS1_LINTER_ILLEGAL_MONTH",
        Error::BadDate {
            problem: DateProblem::IllegalDay,
            ..
        } => "GS1_LINTER_ILLEGAL_DAY",
        Error::BadDate {
            problem: DateProblem::IllegalHour,
            ..
        } => "GS1_LINTER_ILLEGAL_HOUR",
        Error::BadDate {
            problem: DateProblem::IllegalMinute,
            ..
        } => "GS1_LINTER_ILLEGAL_MINUTE",
        Error::BadDate {
            problem: DateProblem::IllegalSecond,
            ..
        } => "GS1_LINTER_ILLEGAL_SECOND",
        Error::InvalidComponent { failure, .. } => gs1_code(*failure),
        _ => return None,
    })
}

/// A parsed JSON value (only what the vector files use).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Json {
        let mut parser = JsonParser {
            bytes: text.as_bytes(),
            position: 0,
        };
        let value = parser.value();
        parser.whitespace();
        assert_eq!(
            parser.position,
            parser.bytes.len(),
            "trailing data after JSON value"
        );
        value
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Json::String(text)) => Some(text),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some(Json::Bool(value)) => Some(*value),
            _ => None,
        }
    }

    pub fn array(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn keys(&self) -> Vec<&str> {
        match self {
            Json::Object(members) => members.iter().map(|(name, _)| name.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    /// `[["01","123"], …]` as pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.array()
            .iter()
            .map(|pair| {
                let items = pair.array();
                (
                    items[0].as_str().unwrap_or_default().to_owned(),
                    items[1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl JsonParser<'_> {
    fn whitespace(&mut self) {
        while self.position < self.bytes.len() && self.bytes[self.position].is_ascii_whitespace() {
            self.position += 1;
        }
    }

    fn expect(&mut self, byte: u8) {
        self.whitespace();
        assert_eq!(
            self.bytes.get(self.position),
            Some(&byte),
            "JSON: expected {:?} at {}",
            char::from(byte),
            self.position
        );
        self.position += 1;
    }

    fn value(&mut self) -> Json {
        self.whitespace();
        match self.bytes[self.position] {
            b'{' => {
                self.position += 1;
                let mut members = Vec::new();
                self.whitespace();
                if self.bytes[self.position] == b'}' {
                    self.position += 1;
                    return Json::Object(members);
                }
                loop {
                    self.whitespace();
                    let Json::String(name) = self.value() else {
                        panic!("JSON: object key must be a string")
                    };
                    self.expect(b':');
                    let value = self.value();
                    members.push((name, value));
                    self.whitespace();
                    match self.bytes[self.position] {
                        b',' => self.position += 1,
                        b'}' => {
                            self.position += 1;
                            return Json::Object(members);
                        }
                        other => panic!("JSON: unexpected {:?} in object", char::from(other)),
                    }
                }
            }
            b'[' => {
                self.position += 1;
                let mut items = Vec::new();
                self.whitespace();
                if self.bytes[self.position] == b']' {
                    self.position += 1;
                    return Json::Array(items);
                }
                loop {
                    items.push(self.value());
                    self.whitespace();
                    match self.bytes[self.position] {
                        b',' => self.position += 1,
                        b']' => {
                            self.position += 1;
                            return Json::Array(items);
                        }
                        other => panic!("JSON: unexpected {:?} in array", char::from(other)),
                    }
                }
            }
            b'"' => Json::String(self.string()),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            _ => {
                let start = self.position;
                while self.position < self.bytes.len()
                    && matches!(
                        self.bytes[self.position],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.position += 1;
                }
                let text =
                    std::str::from_utf8(&self.bytes[start..self.position]).expect("ASCII number");
                Json::Number(
                    text.parse()
                        .unwrap_or_else(|_| panic!("JSON: bad number {text:?}")),
                )
            }
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Json {
        assert!(
            self.bytes[self.position..].starts_with(word.as_bytes()),
            "JSON: expected {word}"
        );
        self.position += word.len();
        value
    }

    fn hex4(&mut self) -> u32 {
        let text = std::str::from_utf8(&self.bytes[self.position..self.position + 4])
            .expect("ASCII escape");
        self.position += 4;
        u32::from_str_radix(text, 16).expect("hex escape")
    }

    fn string(&mut self) -> String {
        self.position += 1;
        let mut output = String::new();
        loop {
            let byte = self.bytes[self.position];
            match byte {
                b'"' => {
                    self.position += 1;
                    return output;
                }
                b'\\' => {
                    let escape = self.bytes[self.position + 1];
                    self.position += 2;
                    match escape {
                        b'"' => output.push('"'),
                        b'\\' => output.push('\\'),
                        b'/' => output.push('/'),
                        b'b' => output.push('\u{8}'),
                        b'f' => output.push('\u{c}'),
                        b'n' => output.push('\n'),
                        b'r' => output.push('\r'),
                        b't' => output.push('\t'),
                        b'u' => {
                            let mut code = self.hex4();
                            if (0xD800..0xDC00).contains(&code)
                                && self.bytes[self.position..].starts_with(b"\\u")
                            {
                                self.position += 2;
                                let low = self.hex4();
                                code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                            }
                            output.push(char::from_u32(code).expect("valid code point"));
                        }
                        other => panic!("JSON: bad escape {:?}", char::from(other)),
                    }
                }
                _ => {
                    // Copy one UTF-8 character; its length follows from the leading byte.
                    let length = match byte {
                        0x00..=0x7F => 1,
                        0xC0..=0xDF => 2,
                        0xE0..=0xEF => 3,
                        _ => 4,
                    };
                    let text =
                        std::str::from_utf8(&self.bytes[self.position..self.position + length])
                            .expect("UTF-8");
                    let character = text.chars().next().expect("character");
                    output.push(character);
                    self.position += character.len_utf8();
                }
            }
        }
    }
}

/// The bytes of a JSON string whose characters U+0000–U+00FF stand for single bytes (the
/// convention of the vector files for non-ASCII data).
pub fn latin1_bytes(text: &str) -> Vec<u8> {
    text.chars()
        .map(|character| u8::try_from(u32::from(character)).unwrap_or(b'?'))
        .collect()
}

/// The package's folder, read when the test runs: a test binary built from another checkout
/// sharing the target folder may be reused by cargo, and a path baked in at compile time would
/// then point into that checkout.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests")
}
