//! Query parameters of the REST binding's `GET /events` (a subset of the EPCIS Simple Event
//! Query), parsed from a URL query string, and matching against events.
//!
//! List-valued parameters are pipe-delimited (`EQ_bizStep=shipping|receiving`), as the
//! binding's `style: pipeDelimited` says; a parameter given twice is an error rather than
//! silently one or the other. Parameters the binding defines but rxchain does not implement
//! are refused (`unsupported_parameter`): ignoring them would return events the client asked
//! to exclude. Pure: the node owns storage and applies [`QueryParameters::matches`] (or an
//! index doing the same) and paging.

use crate::context::Namespaces;
use crate::error::{Error, Problem, ProblemCode};
use crate::identifier::{canonical_identifier, identifier_matches};
use crate::model::{Event, EventType};
use crate::time::Timestamp;
use crate::vocabulary::{BusinessStep, Disposition};

/// Default page size (the binding's `perPage` default).
pub const PER_PAGE_DEFAULT: usize = 30;
/// Largest page size a client may ask for.
pub const PER_PAGE_MAX: usize = 1000;
/// Longest query string accepted, in bytes.
pub const QUERY_STRING_BYTES_MAX: usize = 16 * 1024;
/// Most values in one pipe-delimited parameter.
pub const VALUES_PER_PARAMETER_MAX: usize = 1000;
/// Longest `nextPageToken`, in bytes (tokens are the node's own, short, opaque strings).
pub const NEXT_PAGE_TOKEN_BYTES_MAX: usize = 512;

/// Parsed, validated query parameters. Empty lists mean "no constraint".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueryParameters {
    /// `eventType`.
    pub event_types: Vec<EventType>,
    /// `EQ_bizStep`, normalised to bare words for standard values.
    pub business_steps: Vec<BusinessStep>,
    /// `EQ_disposition`.
    pub dispositions: Vec<Disposition>,
    /// `MATCH_epc`: `epcList` / `childEPCs` (URNs, Digital Links or `urn:epc:idpat:`).
    pub match_epc: Vec<String>,
    /// `MATCH_anyEPC`: also `parentID`, `inputEPCList`, `outputEPCList`.
    pub match_any_epc: Vec<String>,
    /// `GE_eventTime` (inclusive).
    pub event_time_from: Option<Timestamp>,
    /// `LT_eventTime` (exclusive).
    pub event_time_before: Option<Timestamp>,
    /// `EQ_bizLocation`.
    pub business_locations: Vec<String>,
    /// `perPage`.
    pub per_page: usize,
    /// `nextPageToken`, opaque to this crate.
    pub next_page_token: Option<String>,
}

/// Parameters the binding defines that rxchain does not implement.
const UNSUPPORTED_STANDARD_PARAMETERS: [&str; 12] = [
    "GE_recordTime",
    "LT_recordTime",
    "EQ_action",
    "EQ_readPoint",
    "WD_readPoint",
    "WD_bizLocation",
    "MATCH_parentID",
    "MATCH_inputEPC",
    "MATCH_outputEPC",
    "MATCH_epcClass",
    "EQ_eventID",
    "orderBy",
];

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text
                    .get(index + 1..index + 3)
                    .ok_or_else(|| format!("{text:?} has a truncated %-escape"))?;
                let byte = u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("{text:?} has an invalid %-escape"))?;
                decoded.push(byte);
                index += 3;
            }
            b'+' => {
                decoded.push(b' ');
                index += 1;
            }
            byte => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

impl QueryParameters {
    /// Parses a URL query string (without the `?`).
    pub fn from_query_string(query: &str) -> Result<QueryParameters, Error> {
        if query.len() > QUERY_STRING_BYTES_MAX {
            return Err(Error::InvalidQuery {
                problems: vec![problem(
                    "",
                    ProblemCode::StringTooLong,
                    format!(
                        "query string of {} bytes, more than the {QUERY_STRING_BYTES_MAX} accepted",
                        query.len()
                    ),
                )],
            });
        }
        let mut pairs = Vec::new();
        let mut problems = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (percent_decode(name), percent_decode(value)) {
                (Ok(name), Ok(value)) => pairs.push((name, value)),
                (Err(message), _) | (_, Err(message)) => {
                    problems.push(problem(name, ProblemCode::InvalidValue, message))
                }
            }
        }
        match QueryParameters::from_pairs(pairs) {
            Ok(parameters) if problems.is_empty() => Ok(parameters),
            Ok(_) => Err(Error::InvalidQuery { problems }),
            Err(error) => {
                problems.extend(error.problems().iter().cloned());
                Err(Error::InvalidQuery { problems })
            }
        }
    }

    /// Builds from decoded name/value pairs (as a web framework's query extractor gives).
    ///
    /// Long because it is one `match` over every query parameter of the EPCIS 2.0 REST binding.
    pub fn from_pairs<I>(pairs: I) -> Result<QueryParameters, Error>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut parameters = QueryParameters {
            per_page: PER_PAGE_DEFAULT,
            ..QueryParameters::default()
        };
        let mut problems = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let namespaces = Namespaces::default();
        for (name, value) in pairs {
            if seen.contains(&name) {
                problems.push(problem(
                    &name,
                    ProblemCode::DuplicateParameter,
                    format!("{name} given more than once; use | to list values"),
                ));
                continue;
            }
            seen.push(name.clone());
            let values: Vec<&str> = value.split('|').collect();
            if values.len() > VALUES_PER_PARAMETER_MAX {
                problems.push(problem(
                    &name,
                    ProblemCode::ListTooLong,
                    format!("more than {VALUES_PER_PARAMETER_MAX} values"),
                ));
                continue;
            }
            if values.iter().any(|value| value.is_empty())
                && !matches!(name.as_str(), "nextPageToken")
            {
                problems.push(problem(
                    &name,
                    ProblemCode::InvalidValue,
                    format!("{name} has an empty value"),
                ));
                continue;
            }
            let mut report = |code, message: String| problems.push(problem(&name, code, message));
            match name.as_str() {
                "eventType" => {
                    for value in values {
                        match EventType::from_name(value) {
                            Some(event_type) => parameters.event_types.push(event_type),
                            None => report(
                                ProblemCode::UnsupportedEventType,
                                format!("{value:?} is not an EPCIS 2.0 event type"),
                            ),
                        }
                    }
                }
                "EQ_bizStep" => {
                    for value in values {
                        match BusinessStep::parse_with_namespaces(value, &namespaces) {
                            Ok(step) => parameters.business_steps.push(step),
                            Err(error) => {
                                report(ProblemCode::NonStandardVocabularyValue, error.to_string())
                            }
                        }
                    }
                }
                "EQ_disposition" => {
                    for value in values {
                        match Disposition::parse_with_namespaces(value, &namespaces) {
                            Ok(disposition) => parameters.dispositions.push(disposition),
                            Err(error) => {
                                report(ProblemCode::NonStandardVocabularyValue, error.to_string())
                            }
                        }
                    }
                }
                "MATCH_epc" | "MATCH_anyEPC" | "EQ_bizLocation" => {
                    let mut uris = Vec::with_capacity(values.len());
                    for value in values {
                        match namespaces.check_uri_value(value) {
                            Ok(()) => uris.push(value.to_owned()),
                            Err(message) => report(ProblemCode::InvalidUri, message),
                        }
                    }
                    match name.as_str() {
                        "MATCH_epc" => parameters.match_epc = uris,
                        "MATCH_anyEPC" => parameters.match_any_epc = uris,
                        _ => parameters.business_locations = uris,
                    }
                }
                "GE_eventTime" | "LT_eventTime" => match Timestamp::parse(&value) {
                    Ok(time) if name == "GE_eventTime" => parameters.event_time_from = Some(time),
                    Ok(time) => parameters.event_time_before = Some(time),
                    Err(message) => report(ProblemCode::InvalidDateTime, message),
                },
                "perPage" => match value.parse::<usize>() {
                    Ok(count) if (1..=PER_PAGE_MAX).contains(&count) => parameters.per_page = count,
                    _ => report(
                        ProblemCode::InvalidValue,
                        format!(
                            "perPage must be a whole number from 1 to {PER_PAGE_MAX}, found {value:?}"
                        ),
                    ),
                },
                "nextPageToken" => {
                    let well_formed = !value.is_empty()
                        && value.len() <= NEXT_PAGE_TOKEN_BYTES_MAX
                        && value.bytes().all(|byte| byte.is_ascii_graphic());
                    if well_formed {
                        parameters.next_page_token = Some(value);
                    } else {
                        report(
                            ProblemCode::InvalidValue,
                            format!(
                                "nextPageToken must be 1 to {NEXT_PAGE_TOKEN_BYTES_MAX} printable ASCII characters"
                            ),
                        );
                    }
                }
                other
                    if UNSUPPORTED_STANDARD_PARAMETERS.contains(&other)
                        || other.starts_with("EQ_")
                        || other.starts_with("MATCH_")
                        || other.starts_with("GE_")
                        || other.starts_with("LT_")
                        || other.starts_with("GT_")
                        || other.starts_with("LE_")
                        || other.starts_with("EXISTS_")
                        || other.starts_with("HASATTR_")
                        || other.starts_with("WD_") =>
                {
                    report(
                        ProblemCode::UnsupportedParameter,
                        format!("{other} is an EPCIS query parameter rxchain does not support"),
                    );
                }
                other => report(
                    ProblemCode::UnsupportedParameter,
                    format!("{other:?} is not a supported query parameter"),
                ),
            }
        }
        if let (Some(from), Some(before)) =
            (&parameters.event_time_from, &parameters.event_time_before)
            && from.cmp_instant(before).is_ge()
        {
            problems.push(problem(
                "GE_eventTime",
                ProblemCode::InvalidValue,
                "GE_eventTime is not before LT_eventTime".to_owned(),
            ));
        }
        if problems.is_empty() {
            Ok(parameters)
        } else {
            Err(Error::InvalidQuery { problems })
        }
    }

    /// Whether `event` satisfies every constraint (paging aside).
    pub fn matches(&self, event: &Event) -> bool {
        if !self.event_types.is_empty() && !self.event_types.contains(&event.event_type()) {
            return false;
        }
        if !self.business_steps.is_empty()
            && !event
                .business_step()
                .is_some_and(|step| self.business_steps.contains(step))
        {
            return false;
        }
        if !self.dispositions.is_empty()
            && !event
                .disposition()
                .is_some_and(|disposition| self.dispositions.contains(disposition))
        {
            return false;
        }
        let any_matches = |candidates: &[&str], queries: &[String]| {
            candidates.iter().any(|candidate| {
                queries
                    .iter()
                    .any(|query| identifier_matches(candidate, query))
            })
        };
        if !self.match_epc.is_empty() {
            let primary: Vec<&str> = event.primary_epcs().iter().map(String::as_str).collect();
            if !any_matches(&primary, &self.match_epc) {
                return false;
            }
        }
        if !self.match_any_epc.is_empty() && !any_matches(&event.epcs(), &self.match_any_epc) {
            return false;
        }
        let time = event.event_time();
        if self
            .event_time_from
            .as_ref()
            .is_some_and(|from| time.cmp_instant(from).is_lt())
        {
            return false;
        }
        if self
            .event_time_before
            .as_ref()
            .is_some_and(|before| time.cmp_instant(before).is_ge())
        {
            return false;
        }
        if !self.business_locations.is_empty() {
            let Some(location) = &event.common().business_location else {
                return false;
            };
            let canonical = canonical_identifier(&location.id);
            if !self
                .business_locations
                .iter()
                .any(|query| *query == location.id || canonical_identifier(query) == canonical)
            {
                return false;
            }
        }
        true
    }
}

fn problem(parameter: &str, code: ProblemCode, message: String) -> Problem {
    Problem {
        event_index: None,
        event_id: None,
        path: parameter.to_owned(),
        code,
        message,
    }
}
