//! Validation of EPCIS 2.0 JSON-LD capture payloads into the typed model.
//!
//! The rules are those of the EPCIS 2.0 JSON schema (required fields per event type and
//! action, closed objects, value types, `±hh:mm` offsets), with the `uri` and `date-time`
//! formats asserted, plus what the schema leaves to the standard's text and the CBV:
//! standard vocabulary values, EPC formats, `parentID` required for aggregation ADD/DELETE,
//! namespaced `ilmd` and extension keys. Every problem is reported, not just the first.

use serde_json::{Map, Value};

use crate::context::{Namespaces, is_standard_context_url};
use crate::error::{Error, Problem, ProblemCode};
use crate::identifier::{
    check_absolute_uri, check_class_identifier, check_general_identifier, check_instance_identifier,
};
use crate::model::{
    Action, AggregationEvent, BusinessTransaction, DocumentKind, EpcisDocument, ErrorDeclaration,
    Event, EventCommon, EventType, Location, ObjectEvent, PersistentDisposition, QuantityElement,
    SensorElement, SourceOrDestination, TransactionEvent, TransformationEvent,
};
use crate::time::{TimeZoneOffset, Timestamp};
use crate::vocabulary::{
    BusinessStep, BusinessTransactionType, COMPONENTS, Disposition, ErrorReason, MEASUREMENT_TYPES,
    SENSOR_ALERT_TYPES, SourceDestinationType, Vocabulary, VocabularyValue,
};
use crate::{
    DOCUMENT_BYTES_MAX, EVENTS_PER_DOCUMENT_MAX, JSON_DEPTH_MAX, LIST_ITEMS_MAX,
    MESSAGE_CHARACTERS_MAX, PROBLEMS_MAX, STRING_BYTES_MAX,
};

/// Fields every event type defines.
const COMMON_EVENT_FIELDS: [&str; 16] = [
    "@context",
    "type",
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "certificationInfo",
    "errorDeclaration",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
];

fn type_specific_fields(event_type: EventType) -> &'static [&'static str] {
    match event_type {
        EventType::Object => &[
            "action",
            "epcList",
            "quantityList",
            "persistentDisposition",
            "ilmd",
        ],
        EventType::Aggregation | EventType::Association => {
            &["action", "parentID", "childEPCs", "childQuantityList"]
        }
        EventType::Transaction => &["action", "parentID", "epcList", "quantityList"],
        EventType::Transformation => &[
            "transformationID",
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "persistentDisposition",
            "ilmd",
        ],
    }
}

const DOCUMENT_FIELDS: [&str; 10] = [
    "@context",
    "id",
    "type",
    "schemaVersion",
    "creationDate",
    "instanceIdentifier",
    "sender",
    "receiver",
    "epcisHeader",
    "epcisBody",
];
const QUERY_DOCUMENT_FIELDS: [&str; 6] = [
    "@context",
    "id",
    "type",
    "schemaVersion",
    "creationDate",
    "epcisBody",
];

const SENSOR_METADATA_TIME_FIELDS: [&str; 3] = ["time", "startTime", "endTime"];
const SENSOR_METADATA_URI_FIELDS: [&str; 5] = [
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];
const SENSOR_REPORT_URI_FIELDS: [&str; 9] = [
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
    "microorganism",
    "chemicalSubstance",
    "coordinateReferenceSystem",
    "uriValue",
];
const SENSOR_REPORT_NUMBER_FIELDS: [&str; 7] = [
    "value",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
];

/// Which identifier rule a list or field follows.
#[derive(Debug, Clone, Copy)]
enum IdentifierRule {
    Instance,
    General,
    Uri,
}

/// Validates a capture payload given as bytes: checks [`DOCUMENT_BYTES_MAX`] before parsing.
pub fn validate_document_bytes(bytes: &[u8]) -> Result<EpcisDocument, Error> {
    let problem = |code, message: String| Error::InvalidDocument {
        problems: vec![Problem {
            event_index: None,
            event_id: None,
            path: String::new(),
            code,
            message,
        }],
    };
    if bytes.len() > DOCUMENT_BYTES_MAX {
        return Err(problem(
            ProblemCode::DocumentTooLarge,
            format!(
                "document is {} bytes, more than the {DOCUMENT_BYTES_MAX} accepted",
                bytes.len()
            ),
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|error| problem(ProblemCode::InvalidJson, format!("not JSON: {error}")))?;
    validate_document(&value)
}

/// Validates an `EPCISDocument`, an `EPCISQueryDocument` or a single event with its own
/// `@context`. On failure the error lists every problem found.
pub fn validate_document(value: &Value) -> Result<EpcisDocument, Error> {
    let mut checker = Checker::default();
    checker.check_limits(value, "", 0);
    let document = checker.document(value);
    match document {
        Some(document) if checker.problems.is_empty() => Ok(document),
        _ => {
            if checker.problems.is_empty() {
                // Defensive: a rejected document always says why.
                checker.report(
                    "",
                    ProblemCode::InvalidJson,
                    "document could not be read".to_owned(),
                );
            }
            Err(Error::InvalidDocument {
                problems: checker.problems,
            })
        }
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn element(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    overflowed: bool,
    event_index: Option<usize>,
    event_id: Option<String>,
}

impl Checker {
    fn report(&mut self, path: &str, code: ProblemCode, mut message: String) {
        if self.problems.len() >= PROBLEMS_MAX {
            if !self.overflowed {
                self.overflowed = true;
                self.problems.push(Problem {
                    event_index: None,
                    event_id: None,
                    path: String::new(),
                    code: ProblemCode::TooManyProblems,
                    message: format!("more than {PROBLEMS_MAX} problems; the rest are not listed"),
                });
            }
            return;
        }
        if message.chars().count() > MESSAGE_CHARACTERS_MAX {
            message = message
                .chars()
                .take(MESSAGE_CHARACTERS_MAX)
                .collect::<String>()
                + "…";
        }
        self.problems.push(Problem {
            event_index: self.event_index,
            event_id: self.event_id.clone(),
            path: path.to_owned(),
            code,
            message,
        });
    }

    /// Size limits over the whole JSON tree, before any typed reading.
    fn check_limits(&mut self, value: &Value, path: &str, depth: usize) {
        if depth > JSON_DEPTH_MAX {
            self.report(
                path,
                ProblemCode::NestingTooDeep,
                format!("nested more than {JSON_DEPTH_MAX} levels deep"),
            );
            return;
        }
        match value {
            Value::String(text) if text.len() > STRING_BYTES_MAX => self.report(
                path,
                ProblemCode::StringTooLong,
                format!(
                    "string of {} bytes, more than the {STRING_BYTES_MAX} accepted",
                    text.len()
                ),
            ),
            Value::Array(items) => {
                if items.len() > LIST_ITEMS_MAX {
                    self.report(
                        path,
                        ProblemCode::ListTooLong,
                        format!(
                            "list of {} items, more than the {LIST_ITEMS_MAX} accepted",
                            items.len()
                        ),
                    );
                    return;
                }
                for (index, item) in items.iter().enumerate() {
                    self.check_limits(item, &element(path, index), depth + 1);
                }
            }
            Value::Object(object) => {
                for (key, item) in object {
                    if key.len() > STRING_BYTES_MAX {
                        self.report(
                            path,
                            ProblemCode::StringTooLong,
                            "object key too long".to_owned(),
                        );
                        continue;
                    }
                    self.check_limits(item, &child(path, key), depth + 1);
                }
            }
            _ => {}
        }
    }

    // ----- generic field readers -----

    fn object<'a>(&mut self, value: &'a Value, path: &str) -> Option<&'a Map<String, Value>> {
        match value {
            Value::Object(object) => Some(object),
            other => {
                self.report(
                    path,
                    ProblemCode::WrongType,
                    format!("must be an object, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn string<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        match object.get(key)? {
            Value::String(text) => Some(text),
            other => {
                self.report(
                    &child(path, key),
                    ProblemCode::WrongType,
                    format!("must be a string, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn require(&mut self, object: &Map<String, Value>, key: &str, path: &str, why: &str) -> bool {
        if object.contains_key(key) {
            true
        } else {
            self.report(
                &child(path, key),
                ProblemCode::MissingField,
                format!("{key} is required{why}"),
            );
            false
        }
    }

    fn array<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a [Value]> {
        match object.get(key)? {
            Value::Array(items) => Some(items),
            other => {
                self.report(
                    &child(path, key),
                    ProblemCode::WrongType,
                    format!("must be an array, found {}", json_type(other)),
                );
                None
            }
        }
    }

    fn timestamp(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<Timestamp> {
        let text = self.string(object, key, path)?;
        match Timestamp::parse(text) {
            Ok(timestamp) => Some(timestamp),
            Err(message) => {
                self.report(&child(path, key), ProblemCode::InvalidDateTime, message);
                None
            }
        }
    }

    fn identifier(
        &mut self,
        text: &str,
        path: &str,
        rule: IdentifierRule,
        namespaces: &Namespaces,
    ) -> Option<String> {
        let result = match rule {
            IdentifierRule::Instance => check_instance_identifier(text)
                .map_err(|message| (ProblemCode::InvalidEpc, message)),
            IdentifierRule::General => check_general_identifier(text, namespaces)
                .map_err(|message| (ProblemCode::InvalidUri, message)),
            IdentifierRule::Uri => check_absolute_uri(text, namespaces)
                .map_err(|message| (ProblemCode::InvalidUri, message)),
        };
        match result {
            Ok(()) => Some(text.to_owned()),
            Err((code, message)) => {
                self.report(path, code, message);
                None
            }
        }
    }

    fn identifier_field(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        rule: IdentifierRule,
        namespaces: &Namespaces,
    ) -> Option<String> {
        let text = self.string(object, key, path)?;
        self.identifier(text, &child(path, key), rule, namespaces)
    }

    /// A list of identifiers; `None` when absent. Duplicates are refused (the schema's
    /// `uniqueItems`): the same object twice in one event is a capture error.
    fn identifier_list(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
        rule: IdentifierRule,
        namespaces: &Namespaces,
    ) -> Option<Vec<String>> {
        let items = self.array(object, key, path)?;
        let list_path = child(path, key);
        let mut identifiers = Vec::with_capacity(items.len());
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = element(&list_path, index);
            let Value::String(text) = item else {
                self.report(
                    &item_path,
                    ProblemCode::WrongType,
                    format!("must be a string, found {}", json_type(item)),
                );
                continue;
            };
            if !seen.insert(text.as_str()) {
                self.report(
                    &item_path,
                    ProblemCode::DuplicateValue,
                    format!("{text:?} is listed twice"),
                );
                continue;
            }
            if let Some(identifier) = self.identifier(text, &item_path, rule, namespaces) {
                identifiers.push(identifier);
            }
        }
        Some(identifiers)
    }

    fn vocabulary(
        &mut self,
        vocabulary: &Vocabulary,
        value: &Value,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<VocabularyValue> {
        let Value::String(text) = value else {
            self.report(
                path,
                ProblemCode::WrongType,
                format!("must be a string, found {}", json_type(value)),
            );
            return None;
        };
        match VocabularyValue::parse(vocabulary, text, namespaces) {
            Ok(parsed) => Some(parsed),
            Err((problem, message)) => {
                self.report(path, problem.into(), message);
                None
            }
        }
    }

    /// Keys of an open object that are not among `known` must be namespaced; they are
    /// returned as extensions. A bare unknown key is `unknown_field`, a prefixed one whose
    /// prefix is undeclared `missing_namespace`.
    fn extensions(
        &mut self,
        object: &Map<String, Value>,
        known: &[&str],
        path: &str,
        namespaces: &Namespaces,
        what: &str,
    ) -> Map<String, Value> {
        let mut extensions = Map::new();
        for (key, value) in object {
            if known.contains(&key.as_str()) {
                continue;
            }
            match namespaces.check_iri(key) {
                Ok(()) => {
                    extensions.insert(key.clone(), value.clone());
                }
                Err(reason) => {
                    let code = if key.contains(':') {
                        ProblemCode::MissingNamespace
                    } else {
                        ProblemCode::UnknownField
                    };
                    self.report(&child(path, key), code, format!("{key:?} is not a field of {what} and not a namespaced extension ({reason})"));
                }
            }
        }
        extensions
    }

    /// An object whose keys are exactly among `allowed` (the schema's
    /// `additionalProperties: false`).
    fn closed_object<'a>(
        &mut self,
        value: &'a Value,
        allowed: &[&str],
        path: &str,
        what: &str,
    ) -> Option<&'a Map<String, Value>> {
        let object = self.object(value, path)?;
        for key in object.keys() {
            if !allowed.contains(&key.as_str()) {
                self.report(
                    &child(path, key),
                    ProblemCode::UnknownField,
                    format!(
                        "{key:?} is not a field of {what} (allowed: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Some(object)
    }

    // ----- document level -----

    fn context(&mut self, object: &Map<String, Value>) -> Option<Vec<Value>> {
        let Some(context) = object.get("@context") else {
            self.report(
                "@context",
                ProblemCode::MissingContext,
                "@context is required and must name the EPCIS 2.0 context".to_owned(),
            );
            return None;
        };
        let entries = match context {
            Value::Array(entries) => entries.clone(),
            Value::String(_) | Value::Object(_) => vec![context.clone()],
            other => {
                self.report(
                    "@context",
                    ProblemCode::WrongType,
                    format!(
                        "must be a URL, an object or an array of them, found {}",
                        json_type(other)
                    ),
                );
                return None;
            }
        };
        let mut has_standard = false;
        let before = self.problems.len();
        for (index, entry) in entries.iter().enumerate() {
            match entry {
                Value::String(url) if is_standard_context_url(url) => has_standard = true,
                Value::String(url) => self.report(
                    &element("@context", index),
                    ProblemCode::UnknownContext,
                    format!("{url:?} is not the EPCIS 2.0 context; other remote contexts are not fetched, declare prefixes inline"),
                ),
                Value::Object(_) => {}
                other => self.report(&element("@context", index), ProblemCode::WrongType, format!("must be a URL or an object, found {}", json_type(other))),
            }
        }
        if !has_standard {
            self.report("@context", ProblemCode::UnknownContext, "@context must include https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld (or the unversioned URL)".to_owned());
        }
        (self.problems.len() == before).then_some(entries)
    }

    /// The document envelope: context, type, schema version, creation date, header and body,
    /// each with its problem path. Long because it follows the schema's fields in order.
    fn document(&mut self, value: &Value) -> Option<EpcisDocument> {
        let Value::Object(object) = value else {
            self.report(
                "",
                ProblemCode::InvalidJson,
                format!(
                    "an EPCIS document must be a JSON object, found {}",
                    json_type(value)
                ),
            );
            return None;
        };
        let context = self.context(object);
        let document_type = match object.get("type") {
            Some(Value::String(name)) => name.as_str(),
            Some(other) => {
                self.report(
                    "type",
                    ProblemCode::WrongType,
                    format!("must be a string, found {}", json_type(other)),
                );
                return None;
            }
            None => {
                self.report(
                    "type",
                    ProblemCode::MissingField,
                    "type is required (EPCISDocument, or an event type for single-event capture)"
                        .to_owned(),
                );
                return None;
            }
        };
        let kind = match document_type {
            "EPCISDocument" => DocumentKind::Document,
            "EPCISQueryDocument" => DocumentKind::QueryDocument,
            name if EventType::from_name(name).is_some() => DocumentKind::SingleEvent,
            name => {
                self.report("type", ProblemCode::UnsupportedDocumentType, format!("{name:?} is not EPCISDocument, EPCISQueryDocument or one of the five EPCIS 2.0 event types"));
                return None;
            }
        };
        let namespaces = Namespaces::from_context(context.as_deref().unwrap_or_default());

        if kind == DocumentKind::SingleEvent {
            let event = self.event(value, "", 0, &namespaces, true);
            return Some(EpcisDocument {
                kind,
                context: context?,
                namespaces,
                id: None,
                schema_version: None,
                creation_date: None,
                instance_identifier: None,
                sender: None,
                receiver: None,
                header: None,
                query_name: None,
                subscription_id: None,
                extensions: Map::new(),
                events: vec![event?],
            });
        }

        let known: &[&str] = if kind == DocumentKind::Document {
            &DOCUMENT_FIELDS
        } else {
            &QUERY_DOCUMENT_FIELDS
        };
        let extensions = self.extensions(object, known, "", &namespaces, document_type);
        let id = self.identifier_field(object, "id", "", IdentifierRule::Uri, &namespaces);
        if kind == DocumentKind::Document {
            self.require(object, "schemaVersion", "", "");
            self.require(object, "creationDate", "", "");
        }
        let schema_version = self.string(object, "schemaVersion", "").map(str::to_owned);
        if let Some(version) = &schema_version {
            let well_formed = version
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
            if !well_formed {
                self.report(
                    "schemaVersion",
                    ProblemCode::InvalidValue,
                    format!("{version:?} is not a version number"),
                );
            } else if version.split('.').next() != Some("2") {
                self.report(
                    "schemaVersion",
                    ProblemCode::UnsupportedSchemaVersion,
                    format!("{version:?} is not an EPCIS 2.x schema version"),
                );
            }
        }
        let creation_date = self.timestamp(object, "creationDate", "");
        let instance_identifier = self
            .string(object, "instanceIdentifier", "")
            .map(str::to_owned);
        let sender = self.string(object, "sender", "").map(str::to_owned);
        let receiver = self.string(object, "receiver", "").map(str::to_owned);
        let header = match object.get("epcisHeader") {
            Some(header) => self.object(header, "epcisHeader").map(|_| header.clone()),
            None => None,
        };

        let mut query_name = None;
        let mut subscription_id = None;
        let mut event_list = None;
        let mut event_list_path = String::new();
        if self.require(object, "epcisBody", "", "")
            && let Some(body) = self.object(&object["epcisBody"], "epcisBody")
        {
            if kind == DocumentKind::Document {
                self.extensions(body, &["eventList"], "epcisBody", &namespaces, "epcisBody");
                if self.require(body, "eventList", "epcisBody", "") {
                    event_list = self.array(body, "eventList", "epcisBody");
                    event_list_path = "epcisBody.eventList".to_owned();
                }
            } else {
                self.extensions(
                    body,
                    &["queryResults"],
                    "epcisBody",
                    &namespaces,
                    "epcisBody",
                );
                if self.require(body, "queryResults", "epcisBody", "")
                    && let Some(results) =
                        self.object(&body["queryResults"], "epcisBody.queryResults")
                {
                    let results_path = "epcisBody.queryResults";
                    self.extensions(
                        results,
                        &["queryName", "subscriptionID", "resultsBody"],
                        results_path,
                        &namespaces,
                        "queryResults",
                    );
                    self.require(results, "queryName", results_path, "");
                    query_name = self
                        .string(results, "queryName", results_path)
                        .map(str::to_owned);
                    subscription_id = self
                        .string(results, "subscriptionID", results_path)
                        .map(str::to_owned);
                    if self.require(results, "resultsBody", results_path, "")
                        && let Some(results_body) = self.object(
                            &results["resultsBody"],
                            "epcisBody.queryResults.resultsBody",
                        )
                    {
                        let body_path = "epcisBody.queryResults.resultsBody";
                        // Master data in query results is accepted and not kept: rxchain
                        // captures events only.
                        self.extensions(
                            results_body,
                            &["eventList", "vocabularyList"],
                            body_path,
                            &namespaces,
                            "resultsBody",
                        );
                        if self.require(results_body, "eventList", body_path, "") {
                            event_list = self.array(results_body, "eventList", body_path);
                            event_list_path = format!("{body_path}.eventList");
                        }
                    }
                }
            }
        }

        let mut events = Vec::new();
        if let Some(list) = event_list {
            if list.len() > EVENTS_PER_DOCUMENT_MAX {
                self.report(
                    &event_list_path,
                    ProblemCode::TooManyEvents,
                    format!(
                        "{} events, more than the {EVENTS_PER_DOCUMENT_MAX} accepted per document",
                        list.len()
                    ),
                );
            } else {
                for (index, event_value) in list.iter().enumerate() {
                    if let Some(event) = self.event(
                        event_value,
                        &element(&event_list_path, index),
                        index,
                        &namespaces,
                        false,
                    ) {
                        events.push(event);
                    }
                }
            }
        }
        Some(EpcisDocument {
            kind,
            context: context?,
            namespaces,
            id,
            schema_version,
            creation_date,
            instance_identifier,
            sender,
            receiver,
            header,
            query_name,
            subscription_id,
            extensions,
            events,
        })
    }

    // ----- events -----

    fn event(
        &mut self,
        value: &Value,
        path: &str,
        index: usize,
        document_namespaces: &Namespaces,
        context_is_document: bool,
    ) -> Option<Event> {
        self.event_index = Some(index);
        self.event_id = value
            .get("eventID")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let event = self.event_inner(value, path, document_namespaces, context_is_document);
        self.event_index = None;
        self.event_id = None;
        event
    }

    /// One event against the EPCIS 2.0 schema and CBV: every field of every event type with
    /// its problem path. Long because it follows the schema's fields in order; the checks of
    /// each value are the helpers it calls.
    fn event_inner(
        &mut self,
        value: &Value,
        path: &str,
        document_namespaces: &Namespaces,
        context_is_document: bool,
    ) -> Option<Event> {
        let before = self.problems.len();
        let object = self.object(value, path)?;
        let event_type = match object.get("type") {
            Some(Value::String(name)) => match EventType::from_name(name) {
                Some(event_type) => event_type,
                None => {
                    self.report(
                        &child(path, "type"),
                        ProblemCode::UnsupportedEventType,
                        format!("{name:?} is not one of the five EPCIS 2.0 event types"),
                    );
                    return None;
                }
            },
            Some(other) => {
                self.report(
                    &child(path, "type"),
                    ProblemCode::WrongType,
                    format!("must be a string, found {}", json_type(other)),
                );
                return None;
            }
            None => {
                self.report(
                    &child(path, "type"),
                    ProblemCode::MissingField,
                    "type is required".to_owned(),
                );
                return None;
            }
        };
        let (event_context, namespaces) = match object.get("@context") {
            Some(context) if !context_is_document => {
                let entries = match context {
                    Value::Array(entries) => entries.clone(),
                    other => vec![other.clone()],
                };
                (
                    Some(context.clone()),
                    document_namespaces.extended(&entries),
                )
            }
            _ => (None, document_namespaces.clone()),
        };
        let type_name = event_type.as_str();
        let mut known: Vec<&str> = COMMON_EVENT_FIELDS.to_vec();
        known.extend_from_slice(type_specific_fields(event_type));
        let extensions = self.extensions(object, &known, path, &namespaces, type_name);

        // Fields every type has.
        self.require(object, "eventTime", path, "");
        self.require(object, "eventTimeZoneOffset", path, "");
        let event_time = self.timestamp(object, "eventTime", path);
        let event_time_zone_offset =
            self.string(object, "eventTimeZoneOffset", path)
                .and_then(|text| {
                    TimeZoneOffset::parse(text)
                        .map_err(|message| {
                            self.report(
                                &child(path, "eventTimeZoneOffset"),
                                ProblemCode::InvalidTimeZoneOffset,
                                message,
                            )
                        })
                        .ok()
                });
        let record_time = self.timestamp(object, "recordTime", path);
        let event_id =
            self.identifier_field(object, "eventID", path, IdentifierRule::Uri, &namespaces);
        let certification_info = self.certification_info(object, path, &namespaces);
        let error_declaration = object.get("errorDeclaration").and_then(|value| {
            self.error_declaration(value, &child(path, "errorDeclaration"), &namespaces)
        });
        let business_step = object.get("bizStep").and_then(|value| {
            self.vocabulary(
                &BusinessStep::VOCABULARY,
                value,
                &child(path, "bizStep"),
                &namespaces,
            )
            .map(BusinessStep)
        });
        let disposition = object.get("disposition").and_then(|value| {
            self.vocabulary(
                &Disposition::VOCABULARY,
                value,
                &child(path, "disposition"),
                &namespaces,
            )
            .map(Disposition)
        });
        let read_point = object
            .get("readPoint")
            .and_then(|value| self.location(value, &child(path, "readPoint"), &namespaces));
        let business_location = object
            .get("bizLocation")
            .and_then(|value| self.location(value, &child(path, "bizLocation"), &namespaces));
        let business_transactions = self.business_transactions(object, path, &namespaces);
        let sources =
            self.sources_or_destinations(object, "sourceList", "source", path, &namespaces);
        let destinations = self.sources_or_destinations(
            object,
            "destinationList",
            "destination",
            path,
            &namespaces,
        );
        let sensor_elements = self.sensor_elements(object, path, &namespaces);

        let action = if event_type == EventType::Transformation {
            None
        } else if self.require(object, "action", path, "") {
            self.string(object, "action", path)
                .and_then(|text| match Action::from_name(text) {
                    Some(action) => Some(action),
                    None => {
                        self.report(
                            &child(path, "action"),
                            ProblemCode::InvalidAction,
                            format!("{text:?} is not ADD, OBSERVE or DELETE"),
                        );
                        None
                    }
                })
        } else {
            None
        };

        let non_empty = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_array)
                .is_some_and(|items| !items.is_empty())
        };
        let sensor_elements_len = sensor_elements.as_ref().map_or(0, Vec::len);

        let specific = match event_type {
            EventType::Object => {
                let epc_list = self.identifier_list(
                    object,
                    "epcList",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let quantity_list = self.quantity_list(object, "quantityList", path);
                let (persistent_disposition, ilmd) =
                    self.disposition_and_ilmd(object, path, &namespaces);
                let has_sensor_readings =
                    sensor_elements_len > 0 && object.contains_key("readPoint");
                if !object.contains_key("epcList")
                    && !non_empty("quantityList")
                    && !has_sensor_readings
                {
                    self.report(path, ProblemCode::MissingIdentifiers, "an ObjectEvent needs epcList, a non-empty quantityList, or sensorElementList with readPoint".to_owned());
                }
                if object.contains_key("ilmd") && action.is_some_and(|action| action != Action::Add)
                {
                    self.report(
                        &child(path, "ilmd"),
                        ProblemCode::FieldNotAllowedForAction,
                        "ilmd is only allowed when action is ADD".to_owned(),
                    );
                }
                Specific::Object {
                    epc_list,
                    quantity_list,
                    persistent_disposition,
                    ilmd,
                }
            }
            EventType::Aggregation | EventType::Association => {
                let parent_id = self.identifier_field(
                    object,
                    "parentID",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let child_epcs = self.identifier_list(
                    object,
                    "childEPCs",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let child_quantity_list = self.quantity_list(object, "childQuantityList", path);
                if !non_empty("childEPCs")
                    && !non_empty("childQuantityList")
                    && action != Some(Action::Delete)
                {
                    self.report(path, ProblemCode::MissingIdentifiers, format!("a {type_name} needs a non-empty childEPCs or childQuantityList unless action is DELETE"));
                }
                // EPCIS 2.0 §7.4.3: parentID is optional only for OBSERVE in an aggregation
                // (the JSON schema does not say so); an association always names its parent.
                if event_type == EventType::Association {
                    self.require(object, "parentID", path, " in an AssociationEvent");
                } else if matches!(action, Some(Action::Add | Action::Delete)) {
                    self.require(object, "parentID", path, " when action is ADD or DELETE");
                }
                Specific::Aggregation {
                    parent_id,
                    child_epcs,
                    child_quantity_list,
                }
            }
            EventType::Transaction => {
                let parent_id = self.identifier_field(
                    object,
                    "parentID",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let epc_list = self.identifier_list(
                    object,
                    "epcList",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let quantity_list = self.quantity_list(object, "quantityList", path);
                if self.require(object, "bizTransactionList", path, " in a TransactionEvent")
                    && !non_empty("bizTransactionList")
                {
                    self.report(
                        &child(path, "bizTransactionList"),
                        ProblemCode::EmptyList,
                        "a TransactionEvent needs at least one business transaction".to_owned(),
                    );
                }
                if !object.contains_key("epcList")
                    && !non_empty("quantityList")
                    && action != Some(Action::Delete)
                {
                    self.report(path, ProblemCode::MissingIdentifiers, "a TransactionEvent needs epcList or a non-empty quantityList unless action is DELETE".to_owned());
                }
                Specific::Transaction {
                    parent_id,
                    epc_list,
                    quantity_list,
                }
            }
            EventType::Transformation => {
                let transformation_id = self.identifier_field(
                    object,
                    "transformationID",
                    path,
                    IdentifierRule::Uri,
                    &namespaces,
                );
                let input_epc_list = self.identifier_list(
                    object,
                    "inputEPCList",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let input_quantity_list = self.quantity_list(object, "inputQuantityList", path);
                let output_epc_list = self.identifier_list(
                    object,
                    "outputEPCList",
                    path,
                    IdentifierRule::Instance,
                    &namespaces,
                );
                let output_quantity_list = self.quantity_list(object, "outputQuantityList", path);
                let (persistent_disposition, ilmd) =
                    self.disposition_and_ilmd(object, path, &namespaces);
                let has_input = non_empty("inputEPCList") || non_empty("inputQuantityList");
                let has_output = non_empty("outputEPCList") || non_empty("outputQuantityList");
                let complete = has_input && has_output;
                let linked = object.contains_key("transformationID") && (has_input || has_output);
                if !complete && !linked {
                    self.report(path, ProblemCode::MissingIdentifiers, "a TransformationEvent needs inputs and outputs, or a transformationID with inputs or outputs".to_owned());
                }
                Specific::Transformation {
                    transformation_id,
                    input_epc_list,
                    input_quantity_list,
                    output_epc_list,
                    output_quantity_list,
                    persistent_disposition,
                    ilmd,
                }
            }
        };

        if self.problems.len() > before {
            return None;
        }
        let common = EventCommon {
            event_id,
            event_time: event_time?,
            event_time_zone_offset: event_time_zone_offset?,
            record_time,
            certification_info: certification_info.unwrap_or_default(),
            error_declaration,
            business_step,
            disposition,
            read_point,
            business_location,
            business_transactions: business_transactions.unwrap_or_default(),
            sources: sources.unwrap_or_default(),
            destinations: destinations.unwrap_or_default(),
            sensor_elements: sensor_elements.unwrap_or_default(),
            extensions,
            context: event_context,
            namespaces,
        };
        Some(match specific {
            Specific::Object {
                epc_list,
                quantity_list,
                persistent_disposition,
                ilmd,
            } => Event::Object(ObjectEvent {
                common,
                action: action?,
                epc_list: epc_list.unwrap_or_default(),
                quantity_list: quantity_list.unwrap_or_default(),
                persistent_disposition,
                ilmd,
            }),
            Specific::Aggregation {
                parent_id,
                child_epcs,
                child_quantity_list,
            } => {
                let aggregation = AggregationEvent {
                    common,
                    action: action?,
                    parent_id,
                    child_epcs: child_epcs.unwrap_or_default(),
                    child_quantity_list: child_quantity_list.unwrap_or_default(),
                };
                if event_type == EventType::Association {
                    Event::Association(aggregation)
                } else {
                    Event::Aggregation(aggregation)
                }
            }
            Specific::Transaction {
                parent_id,
                epc_list,
                quantity_list,
            } => Event::Transaction(TransactionEvent {
                common,
                action: action?,
                parent_id,
                epc_list: epc_list.unwrap_or_default(),
                quantity_list: quantity_list.unwrap_or_default(),
            }),
            Specific::Transformation {
                transformation_id,
                input_epc_list,
                input_quantity_list,
                output_epc_list,
                output_quantity_list,
                persistent_disposition,
                ilmd,
            } => Event::Transformation(TransformationEvent {
                common,
                transformation_id,
                input_epc_list: input_epc_list.unwrap_or_default(),
                input_quantity_list: input_quantity_list.unwrap_or_default(),
                output_epc_list: output_epc_list.unwrap_or_default(),
                output_quantity_list: output_quantity_list.unwrap_or_default(),
                persistent_disposition,
                ilmd,
            }),
        })
    }

    fn certification_info(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Vec<String>> {
        let field_path = child(path, "certificationInfo");
        match object.get("certificationInfo")? {
            Value::String(text) => self
                .identifier(text, &field_path, IdentifierRule::Uri, namespaces)
                .map(|uri| vec![uri]),
            Value::Array(items) => {
                let mut uris = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let item_path = element(&field_path, index);
                    match item {
                        Value::String(text) => uris.extend(self.identifier(
                            text,
                            &item_path,
                            IdentifierRule::Uri,
                            namespaces,
                        )),
                        other => self.report(
                            &item_path,
                            ProblemCode::WrongType,
                            format!(
                                "certificationInfo entries must be URI strings, found {}",
                                json_type(other)
                            ),
                        ),
                    }
                }
                Some(uris)
            }
            other => {
                self.report(
                    &field_path,
                    ProblemCode::WrongType,
                    format!(
                        "must be a URI or an array of URIs, found {}",
                        json_type(other)
                    ),
                );
                None
            }
        }
    }

    fn error_declaration(
        &mut self,
        value: &Value,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<ErrorDeclaration> {
        let object = self.object(value, path)?;
        let extensions = self.extensions(
            object,
            &["declarationTime", "reason", "correctiveEventIDs"],
            path,
            namespaces,
            "errorDeclaration",
        );
        self.require(object, "declarationTime", path, "");
        let declaration_time = self.timestamp(object, "declarationTime", path);
        let reason = object.get("reason").and_then(|value| {
            self.vocabulary(
                &ErrorReason::VOCABULARY,
                value,
                &child(path, "reason"),
                namespaces,
            )
            .map(ErrorReason)
        });
        let corrective_event_ids = self.identifier_list(
            object,
            "correctiveEventIDs",
            path,
            IdentifierRule::Uri,
            namespaces,
        );
        Some(ErrorDeclaration {
            declaration_time: declaration_time?,
            reason,
            corrective_event_ids: corrective_event_ids.unwrap_or_default(),
            extensions,
        })
    }

    fn location(&mut self, value: &Value, path: &str, namespaces: &Namespaces) -> Option<Location> {
        let object = self.object(value, path)?;
        let extensions = self.extensions(object, &["id"], path, namespaces, "a location");
        if !self.require(object, "id", path, "") {
            return None;
        }
        let id = self.identifier_field(object, "id", path, IdentifierRule::General, namespaces)?;
        Some(Location { id, extensions })
    }

    fn business_transactions(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Vec<BusinessTransaction>> {
        let items = self.array(object, "bizTransactionList", path)?;
        let list_path = child(path, "bizTransactionList");
        let mut transactions = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = element(&list_path, index);
            let Some(entry) = self.closed_object(
                item,
                &["type", "bizTransaction"],
                &item_path,
                "a business transaction",
            ) else {
                continue;
            };
            let transaction_type = entry.get("type").and_then(|value| {
                self.vocabulary(
                    &BusinessTransactionType::VOCABULARY,
                    value,
                    &child(&item_path, "type"),
                    namespaces,
                )
                .map(BusinessTransactionType)
            });
            if !self.require(entry, "bizTransaction", &item_path, "") {
                continue;
            }
            if let Some(id) = self.identifier_field(
                entry,
                "bizTransaction",
                &item_path,
                IdentifierRule::General,
                namespaces,
            ) {
                transactions.push(BusinessTransaction {
                    transaction_type,
                    id,
                });
            }
        }
        Some(transactions)
    }

    fn sources_or_destinations(
        &mut self,
        object: &Map<String, Value>,
        list_key: &str,
        value_key: &str,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Vec<SourceOrDestination>> {
        let items = self.array(object, list_key, path)?;
        let list_path = child(path, list_key);
        let mut entries = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = element(&list_path, index);
            let Some(entry) = self.closed_object(item, &["type", value_key], &item_path, list_key)
            else {
                continue;
            };
            let has_type = self.require(entry, "type", &item_path, "");
            let has_value = self.require(entry, value_key, &item_path, "");
            let kind = if has_type {
                self.vocabulary(
                    &SourceDestinationType::VOCABULARY,
                    &entry["type"],
                    &child(&item_path, "type"),
                    namespaces,
                )
                .map(SourceDestinationType)
            } else {
                None
            };
            let id = if has_value {
                self.identifier_field(
                    entry,
                    value_key,
                    &item_path,
                    IdentifierRule::General,
                    namespaces,
                )
            } else {
                None
            };
            if let (Some(kind), Some(id)) = (kind, id) {
                entries.push(SourceOrDestination { kind, id });
            }
        }
        Some(entries)
    }

    fn quantity_list(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<Vec<QuantityElement>> {
        let items = self.array(object, key, path)?;
        let list_path = child(path, key);
        let mut elements = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = element(&list_path, index);
            let Some(entry) = self.closed_object(
                item,
                &["epcClass", "quantity", "uom"],
                &item_path,
                "a quantity element",
            ) else {
                continue;
            };
            let epc_class = if self.require(entry, "epcClass", &item_path, "") {
                self.string(entry, "epcClass", &item_path).and_then(|text| {
                    match check_class_identifier(text) {
                        Ok(()) => Some(text.to_owned()),
                        Err(message) => {
                            self.report(
                                &child(&item_path, "epcClass"),
                                ProblemCode::InvalidEpc,
                                message,
                            );
                            None
                        }
                    }
                })
            } else {
                None
            };
            let quantity = match entry.get("quantity") {
                None => None,
                Some(Value::Number(number)) => match number.as_f64() {
                    Some(amount) if amount.is_finite() && amount >= 0.0 => Some(number.clone()),
                    _ => {
                        self.report(
                            &child(&item_path, "quantity"),
                            ProblemCode::InvalidQuantity,
                            format!("{number} is not a non-negative quantity"),
                        );
                        None
                    }
                },
                Some(other) => {
                    self.report(
                        &child(&item_path, "quantity"),
                        ProblemCode::InvalidQuantity,
                        format!("quantity must be a number, found {other}"),
                    );
                    None
                }
            };
            let unit_of_measure = self.string(entry, "uom", &item_path).and_then(|unit| {
                let well_formed = (2..=3).contains(&unit.len()) && unit.bytes().all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit());
                if !well_formed {
                    self.report(&child(&item_path, "uom"), ProblemCode::InvalidUnitOfMeasure, format!("{unit:?} is not a UN/ECE Recommendation 20 code (2-3 upper-case letters or digits)"));
                    return None;
                }
                if !entry.contains_key("quantity") {
                    self.report(&child(&item_path, "uom"), ProblemCode::InvalidUnitOfMeasure, "uom is only meaningful with a quantity".to_owned());
                    return None;
                }
                Some(unit.to_owned())
            });
            if let Some(epc_class) = epc_class {
                elements.push(QuantityElement {
                    epc_class,
                    quantity,
                    unit_of_measure,
                });
            }
        }
        Some(elements)
    }

    fn persistent_disposition(
        &mut self,
        value: &Value,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<PersistentDisposition> {
        let object = self.closed_object(value, &["set", "unset"], path, "persistentDisposition")?;
        if !object.contains_key("set") && !object.contains_key("unset") {
            self.report(
                path,
                ProblemCode::MissingField,
                "persistentDisposition needs set or unset".to_owned(),
            );
        }
        let mut lists = [Vec::new(), Vec::new()];
        for (slot, key) in lists.iter_mut().zip(["set", "unset"]) {
            let Some(items) = self.array(object, key, path) else {
                continue;
            };
            let list_path = child(path, key);
            if items.is_empty() {
                self.report(
                    &list_path,
                    ProblemCode::EmptyList,
                    format!("{key} must not be empty"),
                );
            }
            for (index, item) in items.iter().enumerate() {
                if let Some(disposition) = self.vocabulary(
                    &Disposition::VOCABULARY,
                    item,
                    &element(&list_path, index),
                    namespaces,
                ) {
                    let disposition = Disposition(disposition);
                    if slot.contains(&disposition) {
                        self.report(
                            &element(&list_path, index),
                            ProblemCode::DuplicateValue,
                            format!("{disposition} is listed twice"),
                        );
                    } else {
                        slot.push(disposition);
                    }
                }
            }
        }
        let [set, unset] = lists;
        Some(PersistentDisposition { set, unset })
    }

    /// `persistentDisposition` and `ilmd`, which object and transformation events share.
    fn disposition_and_ilmd(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        namespaces: &Namespaces,
    ) -> (Option<PersistentDisposition>, Option<Map<String, Value>>) {
        let persistent_disposition = object.get("persistentDisposition").and_then(|value| {
            self.persistent_disposition(value, &child(path, "persistentDisposition"), namespaces)
        });
        let ilmd = object
            .get("ilmd")
            .and_then(|value| self.ilmd(value, &child(path, "ilmd"), namespaces));
        (persistent_disposition, ilmd)
    }

    fn ilmd(
        &mut self,
        value: &Value,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Map<String, Value>> {
        let object = self.object(value, path)?;
        for key in object.keys() {
            if let Err(reason) = namespaces.check_iri(key) {
                self.report(
                    &child(path, key),
                    ProblemCode::MissingNamespace,
                    format!("ilmd field {key:?} needs a namespace ({reason})"),
                );
            }
        }
        Some(object.clone())
    }

    fn sensor_elements(
        &mut self,
        object: &Map<String, Value>,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Vec<SensorElement>> {
        let items = self.array(object, "sensorElementList", path)?;
        let list_path = child(path, "sensorElementList");
        let mut elements = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_path = element(&list_path, index);
            let Some(entry) = self.object(item, &item_path) else {
                continue;
            };
            let extensions = self.extensions(
                entry,
                &["sensorMetadata", "sensorReport"],
                &item_path,
                namespaces,
                "a sensor element",
            );
            let metadata = entry.get("sensorMetadata").and_then(|value| {
                self.sensor_metadata(value, &child(&item_path, "sensorMetadata"), namespaces)
            });
            let mut reports = Vec::new();
            if self.require(entry, "sensorReport", &item_path, "")
                && let Some(report_values) = self.array(entry, "sensorReport", &item_path)
            {
                let reports_path = child(&item_path, "sensorReport");
                if report_values.is_empty() {
                    self.report(
                        &reports_path,
                        ProblemCode::EmptyList,
                        "sensorReport needs at least one report".to_owned(),
                    );
                }
                for (report_index, report) in report_values.iter().enumerate() {
                    if let Some(report) = self.sensor_report(
                        report,
                        &element(&reports_path, report_index),
                        namespaces,
                    ) {
                        reports.push(report);
                    }
                }
            }
            elements.push(SensorElement {
                metadata,
                reports,
                extensions,
            });
        }
        Some(elements)
    }

    fn sensor_metadata(
        &mut self,
        value: &Value,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Map<String, Value>> {
        let object = self.object(value, path)?;
        let mut known = SENSOR_METADATA_TIME_FIELDS.to_vec();
        known.extend_from_slice(&SENSOR_METADATA_URI_FIELDS);
        self.extensions(object, &known, path, namespaces, "sensorMetadata");
        for key in SENSOR_METADATA_TIME_FIELDS {
            self.timestamp(object, key, path);
        }
        for key in SENSOR_METADATA_URI_FIELDS {
            self.identifier_field(object, key, path, IdentifierRule::Uri, namespaces);
        }
        Some(object.clone())
    }

    /// A sensor report. `type` is required by the JSON schema but optional in the XSD and
    /// the standard's UML; rxchain requires it unless the report carries an `exception`
    /// (an alarm or error condition has no measurement type of its own). This accepts
    /// `SensorData_with_combined_events.json` and still refuses a report that says nothing.
    fn sensor_report(
        &mut self,
        value: &Value,
        path: &str,
        namespaces: &Namespaces,
    ) -> Option<Map<String, Value>> {
        let object = self.object(value, path)?;
        let mut known = vec![
            "type",
            "exception",
            "time",
            "component",
            "stringValue",
            "booleanValue",
            "hexBinaryValue",
            "uom",
        ];
        known.extend_from_slice(&SENSOR_REPORT_URI_FIELDS);
        known.extend_from_slice(&SENSOR_REPORT_NUMBER_FIELDS);
        self.extensions(object, &known, path, namespaces, "sensorReport");
        if !object.contains_key("type") && !object.contains_key("exception") {
            self.report(
                &child(path, "type"),
                ProblemCode::MissingField,
                "a sensor report needs a type (or an exception)".to_owned(),
            );
        }
        // Measurement types: the GS1 Web Vocabulary list grows, and openepcis examples listed
        // as valid use words outside the schema's enumeration (`Molar_concentration`,
        // `EffectiveDoseRate`). Sensor readings are informative to rxchain, so any bare word
        // is accepted here; URIs are checked as for other vocabularies.
        if let Some(value) = object.get("type") {
            let is_word = value.as_str().is_some_and(|text| {
                text.chars()
                    .next()
                    .is_some_and(|first| first.is_ascii_alphabetic())
                    && text
                        .chars()
                        .all(|character| character.is_ascii_alphanumeric() || character == '_')
            });
            if !is_word {
                self.vocabulary(&MEASUREMENT_TYPES, value, &child(path, "type"), namespaces);
            }
        }
        if let Some(value) = object.get("exception") {
            self.vocabulary(
                &SENSOR_ALERT_TYPES,
                value,
                &child(path, "exception"),
                namespaces,
            );
        }
        if let Some(value) = object.get("component") {
            self.vocabulary(&COMPONENTS, value, &child(path, "component"), namespaces);
        }
        self.timestamp(object, "time", path);
        for key in SENSOR_REPORT_URI_FIELDS {
            self.identifier_field(object, key, path, IdentifierRule::Uri, namespaces);
        }
        for key in SENSOR_REPORT_NUMBER_FIELDS {
            if let Some(value) = object.get(key)
                && !value.is_number()
            {
                self.report(
                    &child(path, key),
                    ProblemCode::WrongType,
                    format!("must be a number, found {}", json_type(value)),
                );
            }
        }
        self.string(object, "stringValue", path);
        self.string(object, "uom", path);
        if let Some(value) = object.get("booleanValue")
            && !value.is_boolean()
        {
            self.report(
                &child(path, "booleanValue"),
                ProblemCode::WrongType,
                format!("must be a boolean, found {}", json_type(value)),
            );
        }
        if let Some(text) = self.string(object, "hexBinaryValue", path)
            && (text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_hexdigit()))
        {
            self.report(
                &child(path, "hexBinaryValue"),
                ProblemCode::InvalidValue,
                format!("{text:?} is not hexadecimal"),
            );
        }
        Some(object.clone())
    }
}

/// Type-specific fields gathered before the event is assembled.
enum Specific {
    Object {
        epc_list: Option<Vec<String>>,
        quantity_list: Option<Vec<QuantityElement>>,
        persistent_disposition: Option<PersistentDisposition>,
        ilmd: Option<Map<String, Value>>,
    },
    Aggregation {
        parent_id: Option<String>,
        child_epcs: Option<Vec<String>>,
        child_quantity_list: Option<Vec<QuantityElement>>,
    },
    Transaction {
        parent_id: Option<String>,
        epc_list: Option<Vec<String>>,
        quantity_list: Option<Vec<QuantityElement>>,
    },
    Transformation {
        transformation_id: Option<String>,
        input_epc_list: Option<Vec<String>>,
        input_quantity_list: Option<Vec<QuantityElement>>,
        output_epc_list: Option<Vec<String>>,
        output_quantity_list: Option<Vec<QuantityElement>>,
        persistent_disposition: Option<PersistentDisposition>,
        ilmd: Option<Map<String, Value>>,
    },
}
