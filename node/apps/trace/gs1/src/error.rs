//! The crate's single error type.
//!
//! Variants are structured so that callers (the capture API, contract host code) can tell a
//! mistyped check digit from an impossible date or an unknown AI without parsing messages.
//! Positions are 0-based byte offsets into the value named by the variant.

use crate::element_string::ApplicationIdentifier;
use crate::linter::LintFailureKind;

/// Everything that can go wrong while parsing, validating or converting a GS1 identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is longer than the crate accepts for any GS1 data carrier.
    #[error("input is {found_bytes} bytes, more than the {maximum_bytes} accepted")]
    InputTooLong {
        /// The limit ([`crate::INPUT_BYTES_MAX`]).
        maximum_bytes: usize,
        /// The length of the rejected input.
        found_bytes: usize,
    },

    /// The input is empty where data is required.
    #[error("no data")]
    EmptyInput,

    /// A fixed-format identifier (GTIN, SSCC, China drug trace code, company prefix) has a
    /// length that format does not allow.
    #[error("{identifier} must be {expected}, found {found_characters} characters")]
    InvalidLength {
        /// Which identifier was being parsed.
        identifier: IdentifierKind,
        /// The permitted lengths, in words ("8, 12, 13 or 14 digits").
        expected: &'static str,
        /// The length of the rejected input, in characters.
        found_characters: usize,
    },

    /// A character outside the character set of the field.
    #[error("{}invalid character {} at position {position}: only {expected} allowed", in_ai(application_identifier), describe_byte(*found))]
    InvalidCharacter {
        /// The AI whose value holds the character, if the input was an AI value.
        application_identifier: Option<ApplicationIdentifier>,
        /// Offset of the character in the value (or identifier) being checked.
        position: usize,
        /// The offending byte (non-ASCII input is reported byte by byte).
        found: u8,
        /// The character set the field is drawn from.
        expected: CharacterSet,
    },

    /// A GS1 mod-10 check digit does not match the digits before it.
    #[error("{}check digit is {}, expected {}", in_ai(application_identifier), char::from(*found), char::from(*expected))]
    BadCheckDigit {
        /// The AI whose value holds the check digit, if the input was an AI value.
        application_identifier: Option<ApplicationIdentifier>,
        /// The check digit computed from the preceding digits (ASCII).
        expected: u8,
        /// The check digit present in the input (ASCII).
        found: u8,
    },

    /// A date or time field names a month, day, hour, minute or second that does not exist.
    #[error("AI ({application_identifier}): {problem} in {value:?}")]
    BadDate {
        /// The AI holding the date.
        application_identifier: ApplicationIdentifier,
        /// The date or time component that was checked.
        value: String,
        /// What is wrong with it.
        problem: DateProblem,
    },

    /// An AI value is longer than the AI's format allows.
    #[error(
        "AI ({application_identifier}) value has {found_characters} characters, at most {maximum_characters} allowed"
    )]
    TooLong {
        /// The AI.
        application_identifier: ApplicationIdentifier,
        /// The longest value the AI accepts.
        maximum_characters: usize,
        /// The length of the rejected value.
        found_characters: usize,
    },

    /// An AI value is shorter than the AI's format requires.
    #[error(
        "AI ({application_identifier}) value has {found_characters} characters, at least {minimum_characters} required"
    )]
    TooShort {
        /// The AI.
        application_identifier: ApplicationIdentifier,
        /// The shortest value the AI accepts.
        minimum_characters: usize,
        /// The length of the rejected value.
        found_characters: usize,
    },

    /// One component of a multi-component AI value (for example the optional second date of
    /// AI 7007) is cut short.
    #[error(
        "AI ({application_identifier}) component {component_number} has {found_characters} characters, {minimum_characters} required"
    )]
    ComponentTooShort {
        /// The AI.
        application_identifier: ApplicationIdentifier,
        /// 1-based number of the component in the AI's format.
        component_number: usize,
        /// The shortest the component may be.
        minimum_characters: usize,
        /// What was left for it.
        found_characters: usize,
    },

    /// An AI is present with no value.
    #[error("AI ({application_identifier}) has an empty value")]
    EmptyValue {
        /// The AI.
        application_identifier: ApplicationIdentifier,
    },

    /// Data where an AI is expected is not an AI defined in the GS1 syntax dictionary.
    #[error("unknown application identifier {found:?}")]
    UnknownApplicationIdentifier {
        /// The text found where an AI was expected (up to four characters of it for raw data).
        found: String,
    },

    /// The AI is defined by GS1, but its content rules rely on an external code list
    /// (country, currency, package type, IBAN, coupon format) that this crate does not embed,
    /// so the value cannot be validated and is refused rather than accepted unchecked.
    #[error(
        "AI ({application_identifier}) is not supported: its {rule} rule needs a code list this crate does not embed"
    )]
    UnsupportedApplicationIdentifier {
        /// The AI.
        application_identifier: ApplicationIdentifier,
        /// The GS1 syntax dictionary name of the unimplemented content rule.
        rule: &'static str,
    },

    /// An AI value breaks one of the content rules of the GS1 syntax dictionary other than the
    /// character set, check digit and date rules (which have their own variants).
    #[error("AI ({application_identifier}): {failure} at position {position} (length {length})")]
    InvalidComponent {
        /// The AI.
        application_identifier: ApplicationIdentifier,
        /// The rule that failed.
        failure: LintFailureKind,
        /// Offset of the offending part within the value.
        position: usize,
        /// Length of the offending part.
        length: usize,
    },

    /// Bracketed element string syntax is malformed.
    #[error("malformed bracketed element string at position {position}: {problem}")]
    MalformedBracketedSyntax {
        /// Offset in the input.
        position: usize,
        /// What was expected there.
        problem: &'static str,
    },

    /// More AIs than [`crate::ELEMENT_STRING_ELEMENTS_MAX`].
    #[error("more than {maximum_elements} AIs in one element string")]
    TooManyElements {
        /// The limit.
        maximum_elements: usize,
    },

    /// The same AI occurs twice with different values.
    #[error("AI ({application_identifier}) occurs more than once with different values")]
    ConflictingRepeat {
        /// The repeated AI.
        application_identifier: ApplicationIdentifier,
    },

    /// Two AIs that the GS1 General Specifications forbid together ("ex=" rule).
    #[error("AI ({application_identifier}) must not be used together with AI ({conflicting})")]
    MutuallyExclusive {
        /// The AI whose rule was broken.
        application_identifier: ApplicationIdentifier,
        /// The AI it may not be paired with.
        conflicting: ApplicationIdentifier,
    },

    /// An AI is present without the AIs it requires ("req=" rule), e.g. a serial number
    /// without a GTIN.
    #[error("AI ({application_identifier}) requires one of: {required}")]
    RequisiteMissing {
        /// The AI whose requirement is unmet.
        application_identifier: ApplicationIdentifier,
        /// The requirement as written in the syntax dictionary ("01,03,8006"; "+" joins AIs
        /// that are needed together).
        required: String,
    },

    /// A digital signature (AI 8030) accompanies a GDTI, GCN or GRAI without serial component.
    #[error(
        "AI ({application_identifier}) must carry a serial component when a digital signature (8030) is present"
    )]
    DigitalSignatureRequiresSerial {
        /// The unserialised key AI.
        application_identifier: ApplicationIdentifier,
    },

    /// Scan data does not start with a `]` symbology identifier.
    #[error("scan data must start with a symbology identifier such as ]d2")]
    MissingSymbologyIdentifier,

    /// The symbology identifier is not one of those GS1 data is carried in.
    #[error("unsupported symbology identifier {found:?}")]
    UnsupportedSymbologyIdentifier {
        /// The three characters found.
        found: String,
    },

    /// A GS1 symbology carried no AI data.
    #[error("symbology {symbology:?} carries no GS1 data")]
    EmptyScanData {
        /// The symbology.
        symbology: crate::scan_data::Symbology,
    },

    /// A plain-text symbol held text that is neither GS1 data nor a GS1 Digital Link URI.
    #[error("symbology {symbology:?} carried plain text, not GS1 data")]
    NotGs1Data {
        /// The symbology.
        symbology: crate::scan_data::Symbology,
    },

    /// A GS1 Digital Link URI is malformed or breaks a Digital Link rule.
    #[error("invalid GS1 Digital Link URI: {problem}")]
    InvalidDigitalLink {
        /// What is wrong.
        problem: DigitalLinkProblem,
    },

    /// An EPC URN is malformed.
    #[error("invalid EPC URN: {problem}")]
    InvalidEpcUrn {
        /// What is wrong.
        problem: EpcUrnProblem,
    },

    /// A GS1 company prefix length outside 6–12 digits.
    #[error(
        "company prefix length {found_digits} digits is outside {minimum_digits}..={maximum_digits}"
    )]
    InvalidCompanyPrefixLength {
        /// The rejected length.
        found_digits: u8,
        /// Shortest GS1 company prefix usable in an EPC.
        minimum_digits: u8,
        /// Longest GS1 company prefix usable in an EPC.
        maximum_digits: u8,
    },

    /// A conversion needs an AI that the source does not carry (e.g. an SGTIN needs 01 and 21).
    #[error("AI ({application_identifier}) is required for this conversion")]
    MissingApplicationIdentifier {
        /// The absent AI.
        application_identifier: ApplicationIdentifier,
    },
}

/// Which fixed-format identifier an [`Error::InvalidLength`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdentifierKind {
    /// Global Trade Item Number.
    Gtin,
    /// Serial Shipping Container Code.
    Sscc,
    /// China's 20-digit drug trace code.
    ChinaDrugTraceCode,
    /// An application identifier.
    ApplicationIdentifier,
}

impl std::fmt::Display for IdentifierKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            IdentifierKind::Gtin => "GTIN",
            IdentifierKind::Sscc => "SSCC",
            IdentifierKind::ChinaDrugTraceCode => "China drug trace code",
            IdentifierKind::ApplicationIdentifier => "application identifier",
        })
    }
}

/// The character sets named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CharacterSet {
    /// Digits 0–9.
    Digits,
    /// GS1 AI encodable character set 82 (the printable ASCII subset allowed in AI values).
    CharacterSet82,
    /// GS1 AI encodable character set 39 (upper case, digits, `#`, `-`, `/`).
    CharacterSet39,
    /// GS1 AI encodable character set 64 (file-safe / URI-safe base64).
    CharacterSet64,
}

impl std::fmt::Display for CharacterSet {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            CharacterSet::Digits => "digits",
            CharacterSet::CharacterSet82 => "GS1 character set 82",
            CharacterSet::CharacterSet39 => "GS1 character set 39",
            CharacterSet::CharacterSet64 => "GS1 character set 64",
        })
    }
}

/// What is wrong with a date or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DateProblem {
    /// Month outside 01–12.
    IllegalMonth,
    /// Day outside the month (day 00 is only allowed where the AI permits it).
    IllegalDay,
    /// Hour outside 00–23.
    IllegalHour,
    /// Minute outside 00–59.
    IllegalMinute,
    /// Second outside 00–59.
    IllegalSecond,
}

impl std::fmt::Display for DateProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            DateProblem::IllegalMonth => "month out of range",
            DateProblem::IllegalDay => "day out of range for the month",
            DateProblem::IllegalHour => "hour out of range",
            DateProblem::IllegalMinute => "minute out of range",
            DateProblem::IllegalSecond => "second out of range",
        })
    }
}

/// What is wrong with a GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigitalLinkProblem {
    /// A character that may not appear in a URI.
    IllegalCharacter {
        /// Offset in the URI.
        position: usize,
        /// The byte found.
        found: u8,
    },
    /// The scheme is not `http://` or `https://` (all lower or all upper case).
    UnsupportedScheme,
    /// No domain, or no path after it.
    MissingDomainOrPath,
    /// A character that may not appear in a domain name.
    IllegalDomainCharacter {
        /// Offset in the URI.
        position: usize,
        /// The byte found.
        found: u8,
    },
    /// The path holds no `/AI/value` pair whose AI is a Digital Link primary key.
    NoPrimaryKey,
    /// A percent-escape decodes to NUL.
    DecodedNullCharacter,
    /// The AIs in the path are not the primary key followed by qualifiers in their order.
    InvalidKeyQualifierSequence {
        /// The AIs of the path, space separated.
        path: String,
    },
    /// An AI appears more than once.
    DuplicateApplicationIdentifier {
        /// The AI.
        application_identifier: ApplicationIdentifier,
    },
    /// The AI may not be used as a query-string data attribute.
    NotDataAttribute {
        /// The AI.
        application_identifier: ApplicationIdentifier,
    },
    /// The AI is a key qualifier of the primary key and belongs in the path.
    AttributeBelongsInPath {
        /// The AI.
        application_identifier: ApplicationIdentifier,
    },
    /// A URI stem given for output is not `http(s)://domain[/path]`.
    InvalidStem,
}

impl std::fmt::Display for DigitalLinkProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DigitalLinkProblem::IllegalCharacter { position, found } => {
                write!(
                    formatter,
                    "character {} at position {position} is not allowed in a URI",
                    describe_byte(*found)
                )
            }
            DigitalLinkProblem::UnsupportedScheme => {
                formatter.write_str("scheme must be http:// or https://")
            }
            DigitalLinkProblem::MissingDomainOrPath => {
                formatter.write_str("URI must have a domain and a path")
            }
            DigitalLinkProblem::IllegalDomainCharacter { position, found } => {
                write!(
                    formatter,
                    "character {} at position {position} is not allowed in a domain",
                    describe_byte(*found)
                )
            }
            DigitalLinkProblem::NoPrimaryKey => {
                formatter.write_str("no GS1 Digital Link primary key in the path")
            }
            DigitalLinkProblem::DecodedNullCharacter => {
                formatter.write_str("a percent-escape decodes to NUL")
            }
            DigitalLinkProblem::InvalidKeyQualifierSequence { path } => {
                write!(
                    formatter,
                    "path AIs ({path}) are not a primary key followed by its qualifiers in order"
                )
            }
            DigitalLinkProblem::DuplicateApplicationIdentifier {
                application_identifier,
            } => {
                write!(
                    formatter,
                    "AI ({application_identifier}) appears more than once"
                )
            }
            DigitalLinkProblem::NotDataAttribute {
                application_identifier,
            } => {
                write!(
                    formatter,
                    "AI ({application_identifier}) is not permitted as a data attribute"
                )
            }
            DigitalLinkProblem::AttributeBelongsInPath {
                application_identifier,
            } => {
                write!(
                    formatter,
                    "AI ({application_identifier}) is a key qualifier and belongs in the path"
                )
            }
            DigitalLinkProblem::InvalidStem => {
                formatter.write_str("stem must be http(s)://domain with an optional path")
            }
        }
    }
}

/// What is wrong with an EPC URN.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EpcUrnProblem {
    /// The URN does not start with a supported scheme (`urn:epc:id:sgtin:`, `urn:epc:id:sscc:`,
    /// `urn:epc:class:lgtin:`).
    UnsupportedScheme,
    /// Wrong number of `.`-separated fields.
    FieldCount {
        /// Fields the scheme has.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A numeric field holds a non-digit.
    NonDigit {
        /// 1-based field number.
        field_number: usize,
    },
    /// The digit fields do not add up to the identifier's length.
    DigitCount {
        /// Digits the fields must hold together.
        expected_digits: usize,
        /// Digits found.
        found_digits: usize,
    },
    /// A `%` escape that the EPC Tag Data Standard does not define.
    InvalidEscape {
        /// Offset within the field.
        position: usize,
    },
    /// A character that may not appear in the serial or lot field.
    IllegalCharacter {
        /// Offset within the field.
        position: usize,
        /// The byte found.
        found: u8,
    },
}

impl std::fmt::Display for EpcUrnProblem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EpcUrnProblem::UnsupportedScheme => formatter
                .write_str("expected urn:epc:id:sgtin:, urn:epc:id:sscc: or urn:epc:class:lgtin:"),
            EpcUrnProblem::FieldCount { expected, found } => {
                write!(formatter, "expected {expected} fields, found {found}")
            }
            EpcUrnProblem::NonDigit { field_number } => {
                write!(formatter, "field {field_number} must be digits")
            }
            EpcUrnProblem::DigitCount {
                expected_digits,
                found_digits,
            } => {
                write!(
                    formatter,
                    "company prefix and reference must hold {expected_digits} digits, found {found_digits}"
                )
            }
            EpcUrnProblem::InvalidEscape { position } => {
                write!(formatter, "invalid %-escape at position {position}")
            }
            EpcUrnProblem::IllegalCharacter { position, found } => {
                write!(
                    formatter,
                    "character {} at position {position} is not allowed",
                    describe_byte(*found)
                )
            }
        }
    }
}

fn in_ai(application_identifier: &Option<ApplicationIdentifier>) -> String {
    match application_identifier {
        Some(application_identifier) => format!("AI ({application_identifier}): "),
        None => String::new(),
    }
}

fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("'{}'", char::from(byte))
    } else {
        format!("0x{byte:02X}")
    }
}
