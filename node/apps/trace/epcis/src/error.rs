//! The crate's single error type, and the per-problem reports a rejected document carries.
//!
//! A capture is all or nothing: one bad event rejects the whole document. So validation does
//! not stop at the first problem; it reports every one it finds (up to
//! [`crate::PROBLEMS_MAX`]), each with the event it belongs to, a field path in the
//! document's own terms and a stable code the HTTP layer can pass through.

use std::fmt;

use crate::vocabulary::VocabularyProblem;

/// Stable machine-readable codes for validation problems (snake_case in JSON and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemCode {
    /// The input is not JSON or not a JSON object where one is required.
    InvalidJson,
    /// The document is larger than [`crate::DOCUMENT_BYTES_MAX`].
    DocumentTooLarge,
    /// More events than [`crate::EVENTS_PER_DOCUMENT_MAX`].
    TooManyEvents,
    /// A list longer than [`crate::LIST_ITEMS_MAX`].
    ListTooLong,
    /// A string longer than [`crate::STRING_BYTES_MAX`].
    StringTooLong,
    /// JSON nested deeper than [`crate::JSON_DEPTH_MAX`].
    NestingTooDeep,
    /// More problems than [`crate::PROBLEMS_MAX`]; the rest were not reported.
    TooManyProblems,
    /// `@context` is absent.
    MissingContext,
    /// `@context` does not name the EPCIS context, or names another remote context.
    UnknownContext,
    /// The top-level `type` is not one this crate captures.
    UnsupportedDocumentType,
    /// An event `type` that is not one of the five EPCIS 2.0 event types.
    UnsupportedEventType,
    /// `schemaVersion` is not an EPCIS 2.x version.
    UnsupportedSchemaVersion,
    /// A required field is absent.
    MissingField,
    /// A field the object does not define and that is not a namespaced extension.
    UnknownField,
    /// A field holds the wrong JSON type.
    WrongType,
    /// A date-time is not RFC 3339 with offset.
    InvalidDateTime,
    /// `eventTimeZoneOffset` is not `±hh:mm` within ±14:00.
    InvalidTimeZoneOffset,
    /// `action` is not ADD, OBSERVE or DELETE.
    InvalidAction,
    /// A field is not allowed with this action (`ilmd` outside ADD).
    FieldNotAllowedForAction,
    /// None of the identifier lists the event type needs is present and non-empty.
    MissingIdentifiers,
    /// A bare word, or a CBV-namespace value, that CBV 2.0 does not define.
    NonStandardVocabularyValue,
    /// An extension vocabulary value that is not a usable IRI.
    InvalidExtensionValue,
    /// An EPC or EPC class that is not a well-formed EPC URN or GS1 Digital Link URI.
    InvalidEpc,
    /// A URI field that is not an absolute URI.
    InvalidUri,
    /// A key in an open object (`ilmd`, extensions) without a declared namespace.
    MissingNamespace,
    /// A quantity that is not a non-negative number.
    InvalidQuantity,
    /// A unit of measure that is not a 2–3 character UN/ECE code.
    InvalidUnitOfMeasure,
    /// A value listed twice where the standard requires unique values.
    DuplicateValue,
    /// A list that must not be empty is.
    EmptyList,
    /// A value of the right type with a wrong format (hex binary, version).
    InvalidValue,
    /// A query parameter this implementation does not support.
    UnsupportedParameter,
    /// A query parameter given twice.
    DuplicateParameter,
}

impl ProblemCode {
    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemCode::InvalidJson => "invalid_json",
            ProblemCode::DocumentTooLarge => "document_too_large",
            ProblemCode::TooManyEvents => "too_many_events",
            ProblemCode::ListTooLong => "list_too_long",
            ProblemCode::StringTooLong => "string_too_long",
            ProblemCode::NestingTooDeep => "nesting_too_deep",
            ProblemCode::TooManyProblems => "too_many_problems",
            ProblemCode::MissingContext => "missing_context",
            ProblemCode::UnknownContext => "unknown_context",
            ProblemCode::UnsupportedDocumentType => "unsupported_document_type",
            ProblemCode::UnsupportedEventType => "unsupported_event_type",
            ProblemCode::UnsupportedSchemaVersion => "unsupported_schema_version",
            ProblemCode::MissingField => "missing_field",
            ProblemCode::UnknownField => "unknown_field",
            ProblemCode::WrongType => "wrong_type",
            ProblemCode::InvalidDateTime => "invalid_date_time",
            ProblemCode::InvalidTimeZoneOffset => "invalid_time_zone_offset",
            ProblemCode::InvalidAction => "invalid_action",
            ProblemCode::FieldNotAllowedForAction => "field_not_allowed_for_action",
            ProblemCode::MissingIdentifiers => "missing_identifiers",
            ProblemCode::NonStandardVocabularyValue => "non_standard_vocabulary_value",
            ProblemCode::InvalidExtensionValue => "invalid_extension_value",
            ProblemCode::InvalidEpc => "invalid_epc",
            ProblemCode::InvalidUri => "invalid_uri",
            ProblemCode::MissingNamespace => "missing_namespace",
            ProblemCode::InvalidQuantity => "invalid_quantity",
            ProblemCode::InvalidUnitOfMeasure => "invalid_unit_of_measure",
            ProblemCode::DuplicateValue => "duplicate_value",
            ProblemCode::EmptyList => "empty_list",
            ProblemCode::InvalidValue => "invalid_value",
            ProblemCode::UnsupportedParameter => "unsupported_parameter",
            ProblemCode::DuplicateParameter => "duplicate_parameter",
        }
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl From<VocabularyProblem> for ProblemCode {
    fn from(problem: VocabularyProblem) -> ProblemCode {
        match problem {
            VocabularyProblem::NotStandard => ProblemCode::NonStandardVocabularyValue,
            VocabularyProblem::InvalidExtension => ProblemCode::InvalidExtensionValue,
        }
    }
}

/// One problem found in a document or query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Index of the event in the event list, for problems inside an event.
    pub event_index: Option<usize>,
    /// The event's `eventID`, when it has a readable one.
    pub event_id: Option<String>,
    /// Where: a path in the document (`epcisBody.eventList[2].bizStep`), or the query
    /// parameter name. Empty for the document as a whole.
    pub path: String,
    /// What kind of problem.
    pub code: ProblemCode,
    /// A human-readable explanation, naming the offending value (shortened if long).
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(document)"
        } else {
            &self.path
        };
        write!(formatter, "{path}: {} ({})", self.message, self.code)
    }
}

fn summary(problems: &[Problem]) -> String {
    match problems {
        [] => "no problems recorded".to_owned(),
        [only] => only.to_string(),
        [first, rest @ ..] => format!("{first}; and {} more", rest.len()),
    }
}

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A capture document (or single event) was rejected; every problem found is listed.
    #[error("EPCIS document rejected: {}", summary(problems))]
    InvalidDocument {
        /// All problems, in document order (document-level first).
        problems: Vec<Problem>,
    },

    /// Query parameters were rejected; every problem found is listed.
    #[error("EPCIS query rejected: {}", summary(problems))]
    InvalidQuery {
        /// All problems, one or more per parameter.
        problems: Vec<Problem>,
    },

    /// A vocabulary value parsed on its own (not inside a document) was refused.
    #[error("invalid {vocabulary}: {message}")]
    InvalidVocabularyValue {
        /// Which vocabulary (`bizStep`, `disposition`, …).
        vocabulary: &'static str,
        /// Not a standard word, or not a usable extension IRI.
        problem: VocabularyProblem,
        /// Explanation naming the value.
        message: String,
    },
}

impl Error {
    /// The problems of a rejected document or query (empty for other variants).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::InvalidDocument { problems } | Error::InvalidQuery { problems } => problems,
            Error::InvalidVocabularyValue { .. } => &[],
        }
    }
}
