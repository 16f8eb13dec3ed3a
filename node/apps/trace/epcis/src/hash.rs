//! EPCIS event hash IDs (CBV 2.0 §8.9): `ni:///sha-256;{hex}?ver=CBV2.0`.
//!
//! When a capture arrives without `eventID`, the standard way to give the event a stable,
//! syntax-independent ID is to hash a canonical "pre-hash string" of its contents: the same
//! event captured as XML or JSON, with its fields in any order, URNs or Digital Links, CBV
//! URNs or bare words, gets the same ID.
//!
//! The pre-hash string follows the CBV 2.0 algorithm as implemented by GS1's reference
//! (RalphTro/epcis-event-hash-generator): `eventType=…`, then the standard fields in the
//! canonical order (`eventTime` in UTC at millisecond precision, `eventTimeZoneOffset`,
//! `epcList`, `parentID`, `inputEPCList`, `childEPCs`, the quantity lists, `outputEPCList`,
//! `action`, `transformationID`, `bizStep`, `disposition`, `persistentDisposition`,
//! `readPoint`, `bizLocation`, business transactions, sources, destinations, sensor data),
//! children of lists sorted, then every other field (`ilmd`, `errorDeclaration`,
//! `certificationInfo`, user extensions) with expanded IRIs as keys, sorted. `eventID` and
//! `recordTime` are left out.
//!
//! Known approximations (the IDs are stable within rxchain, but may differ from the
//! reference generator's for some events): EPC URNs are converted to canonical Digital Link
//! URIs only for SGTIN, SSCC and LGTIN (what `rxchain-gs1` converts), other schemes stay
//! URNs; Digital Link URIs keep their data attributes; and the reference's exact layout of
//! business transaction, source and destination entries is reproduced as `type=…` then the
//! value. The result has not been checked against the reference's published hashes.

use serde_json::{Map, Number, Value};

use crate::context::Namespaces;
use crate::identifier::canonical_identifier;
use crate::model::{Event, PersistentDisposition, QuantityElement, SensorElement};
use crate::sha256::{sha256, to_hex};

const SENSOR_METADATA_ORDER: [&str; 8] = [
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
];

const SENSOR_REPORT_ORDER: [&str; 23] = [
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "time",
    "microorganism",
    "chemicalSubstance",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
    "coordinateReferenceSystem",
];

/// Numbers without trailing zeros or a trailing `.0`, as the reference writes them.
fn canonical_number(number: &Number) -> String {
    if number.is_i64() || number.is_u64() {
        return number.to_string();
    }
    match number.as_f64() {
        Some(value) if value.fract() == 0.0 && value.abs() < 1e15 => format!("{}", value as i64),
        Some(value) => format!("{value}"),
        None => number.to_string(),
    }
}

/// A string value in canonical form: timestamps to UTC milliseconds (for keys naming a
/// time), identifiers to canonical Digital Link, compact IRIs expanded.
fn canonical_string(key: &str, text: &str, namespaces: &Namespaces) -> String {
    let text = text.trim();
    let lowercase_key = key.to_ascii_lowercase();
    if lowercase_key.contains("time")
        && !lowercase_key.contains("offset")
        && let Ok(timestamp) = crate::time::Timestamp::parse(text)
    {
        return timestamp.to_utc_milliseconds_string();
    }
    let canonical = canonical_identifier(text);
    if canonical != text {
        return canonical;
    }
    namespaces.expand(text)
}

fn sorted_concatenation(mut parts: Vec<String>) -> String {
    parts.sort();
    parts.concat()
}

/// Generic rendering for fields outside the canonical order: `key=value`, objects as the
/// key followed by their sorted children, arrays as the sorted renderings of their items.
fn generic(key: &str, value: &Value, namespaces: &Namespaces) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(flag) => format!("{key}={flag}"),
        Value::Number(number) => format!("{key}={}", canonical_number(number)),
        Value::String(text) => format!("{key}={}", canonical_string(key, text, namespaces)),
        Value::Array(items) => sorted_concatenation(
            items
                .iter()
                .map(|item| generic(key, item, namespaces))
                .collect(),
        ),
        Value::Object(object) => {
            let children = generic_object(object, namespaces);
            if children.is_empty() {
                String::new()
            } else {
                format!("{key}{children}")
            }
        }
    }
}

fn generic_object(object: &Map<String, Value>, namespaces: &Namespaces) -> String {
    sorted_concatenation(
        object
            .iter()
            .map(|(key, value)| generic(&namespaces.expand(key), value, namespaces))
            .collect(),
    )
}

fn identifier_list(name: &str, identifiers: &[String]) -> String {
    if identifiers.is_empty() {
        return String::new();
    }
    let parts = identifiers
        .iter()
        .map(|epc| format!("epc={}", canonical_identifier(epc)))
        .collect();
    format!("{name}{}", sorted_concatenation(parts))
}

fn quantity_list(name: &str, elements: &[QuantityElement]) -> String {
    if elements.is_empty() {
        return String::new();
    }
    let parts = elements
        .iter()
        .map(|element| {
            let mut text = format!(
                "quantityElementepcClass={}",
                canonical_identifier(&element.epc_class)
            );
            if let Some(quantity) = &element.quantity {
                text.push_str(&format!("quantity={}", canonical_number(quantity)));
            }
            if let Some(unit) = &element.unit_of_measure {
                text.push_str(&format!("uom={unit}"));
            }
            text
        })
        .collect();
    format!("{name}{}", sorted_concatenation(parts))
}

fn ordered_fields(object: &Map<String, Value>, order: &[&str], namespaces: &Namespaces) -> String {
    let mut text = String::new();
    for key in order {
        if let Some(value) = object.get(*key) {
            text.push_str(&generic(key, value, namespaces));
        }
    }
    let rest: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| !order.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    text + &generic_object(&rest, namespaces)
}

fn sensor_elements(elements: &[SensorElement], namespaces: &Namespaces) -> String {
    if elements.is_empty() {
        return String::new();
    }
    let parts = elements
        .iter()
        .map(|element| {
            let mut text = "sensorElement".to_owned();
            if let Some(metadata) = &element.metadata {
                let fields = ordered_fields(metadata, &SENSOR_METADATA_ORDER, namespaces);
                if !fields.is_empty() {
                    text.push_str("sensorMetadata");
                    text.push_str(&fields);
                }
            }
            let reports = element
                .reports
                .iter()
                .map(|report| {
                    format!(
                        "sensorReport{}",
                        ordered_fields(report, &SENSOR_REPORT_ORDER, namespaces)
                    )
                })
                .collect();
            text.push_str(&sorted_concatenation(reports));
            text.push_str(&generic_object(&element.extensions, namespaces));
            text
        })
        .collect();
    format!("sensorElementList{}", sorted_concatenation(parts))
}

fn persistent_disposition(disposition: &PersistentDisposition, namespaces: &Namespaces) -> String {
    let render = |key: &str, list: &[crate::vocabulary::Disposition]| {
        sorted_concatenation(
            list.iter()
                .map(|value| format!("{key}={}", value.to_iri(namespaces)))
                .collect(),
        )
    };
    let text = render("set", &disposition.set) + &render("unset", &disposition.unset);
    if text.is_empty() {
        text
    } else {
        format!("persistentDisposition{text}")
    }
}

impl Event {
    /// The canonical pre-hash string of CBV 2.0 §8.9 (see the module documentation for
    /// where it approximates the reference).
    ///
    /// Long because it follows CBV 2.0 §8.9's field order for every event type in one place.
    pub fn pre_hash_string(&self) -> String {
        let common = self.common();
        let namespaces = &common.namespaces;
        let mut text = format!(
            "eventType={}eventTime={}eventTimeZoneOffset={}",
            self.event_type().as_str(),
            common.event_time.to_utc_milliseconds_string(),
            common.event_time_zone_offset.as_str()
        );
        let empty: Vec<String> = Vec::new();
        let no_quantities: Vec<QuantityElement> = Vec::new();
        let (epc_list, child_epcs, input_epcs, output_epcs) = match self {
            Event::Object(event) => (&event.epc_list, &empty, &empty, &empty),
            Event::Transaction(event) => (&event.epc_list, &empty, &empty, &empty),
            Event::Aggregation(event) | Event::Association(event) => {
                (&empty, &event.child_epcs, &empty, &empty)
            }
            Event::Transformation(event) => (
                &empty,
                &empty,
                &event.input_epc_list,
                &event.output_epc_list,
            ),
        };
        let (quantities, child_quantities, input_quantities, output_quantities) = match self {
            Event::Object(event) => (
                &event.quantity_list,
                &no_quantities,
                &no_quantities,
                &no_quantities,
            ),
            Event::Transaction(event) => (
                &event.quantity_list,
                &no_quantities,
                &no_quantities,
                &no_quantities,
            ),
            Event::Aggregation(event) | Event::Association(event) => (
                &no_quantities,
                &event.child_quantity_list,
                &no_quantities,
                &no_quantities,
            ),
            Event::Transformation(event) => (
                &no_quantities,
                &no_quantities,
                &event.input_quantity_list,
                &event.output_quantity_list,
            ),
        };
        text.push_str(&identifier_list("epcList", epc_list));
        if let Some(parent) = self.parent_id() {
            text.push_str(&format!("parentID={}", canonical_identifier(parent)));
        }
        text.push_str(&identifier_list("inputEPCList", input_epcs));
        text.push_str(&identifier_list("childEPCs", child_epcs));
        text.push_str(&quantity_list("quantityList", quantities));
        text.push_str(&quantity_list("childQuantityList", child_quantities));
        text.push_str(&quantity_list("inputQuantityList", input_quantities));
        text.push_str(&identifier_list("outputEPCList", output_epcs));
        text.push_str(&quantity_list("outputQuantityList", output_quantities));
        if let Some(action) = self.action() {
            text.push_str(&format!("action={}", action.as_str()));
        }
        if let Event::Transformation(event) = self
            && let Some(id) = &event.transformation_id
        {
            text.push_str(&format!("transformationID={}", namespaces.expand(id)));
        }
        if let Some(step) = &common.business_step {
            text.push_str(&format!("bizStep={}", step.to_iri(namespaces)));
        }
        if let Some(disposition) = &common.disposition {
            text.push_str(&format!("disposition={}", disposition.to_iri(namespaces)));
        }
        let persistent = match self {
            Event::Object(event) => event.persistent_disposition.as_ref(),
            Event::Transformation(event) => event.persistent_disposition.as_ref(),
            _ => None,
        };
        if let Some(persistent) = persistent {
            text.push_str(&persistent_disposition(persistent, namespaces));
        }
        for (name, location) in [
            ("readPoint", &common.read_point),
            ("bizLocation", &common.business_location),
        ] {
            if let Some(location) = location {
                text.push_str(&format!(
                    "{name}id={}",
                    canonical_string("id", &location.id, namespaces)
                ));
            }
        }
        if !common.business_transactions.is_empty() {
            let parts = common
                .business_transactions
                .iter()
                .map(|transaction| {
                    let kind = transaction
                        .transaction_type
                        .as_ref()
                        .map(|kind| format!("type={}", kind.to_iri(namespaces)))
                        .unwrap_or_default();
                    format!(
                        "{kind}bizTransaction={}",
                        canonical_string("bizTransaction", &transaction.id, namespaces)
                    )
                })
                .collect();
            text.push_str(&format!(
                "bizTransactionList{}",
                sorted_concatenation(parts)
            ));
        }
        for (name, key, entries) in [
            ("sourceList", "source", &common.sources),
            ("destinationList", "destination", &common.destinations),
        ] {
            if !entries.is_empty() {
                let parts = entries
                    .iter()
                    .map(|entry| {
                        format!(
                            "type={}{key}={}",
                            entry.kind.to_iri(namespaces),
                            canonical_string(key, &entry.id, namespaces)
                        )
                    })
                    .collect();
                text.push_str(&format!("{name}{}", sorted_concatenation(parts)));
            }
        }
        text.push_str(&sensor_elements(&common.sensor_elements, namespaces));

        // Everything outside the canonical order, sorted.
        let mut rest = common.extensions.clone();
        let ilmd = match self {
            Event::Object(event) => event.ilmd.as_ref(),
            Event::Transformation(event) => event.ilmd.as_ref(),
            _ => None,
        };
        if let Some(ilmd) = ilmd {
            rest.insert("ilmd".into(), Value::Object(ilmd.clone()));
        }
        if let Some(declaration) = &common.error_declaration {
            let mut value = declaration.extensions.clone();
            value.insert(
                "declarationTime".into(),
                Value::String(declaration.declaration_time.as_str().into()),
            );
            if let Some(reason) = &declaration.reason {
                value.insert("reason".into(), Value::String(reason.to_iri(namespaces)));
            }
            if !declaration.corrective_event_ids.is_empty() {
                let ids = declaration
                    .corrective_event_ids
                    .iter()
                    .cloned()
                    .map(Value::String)
                    .collect();
                value.insert("correctiveEventIDs".into(), Value::Array(ids));
            }
            rest.insert("errorDeclaration".into(), Value::Object(value));
        }
        if !common.certification_info.is_empty() {
            let uris = common
                .certification_info
                .iter()
                .cloned()
                .map(Value::String)
                .collect();
            rest.insert("certificationInfo".into(), Value::Array(uris));
        }
        text.push_str(&generic_object(&rest, namespaces));
        text
    }

    /// The event hash ID, `ni:///sha-256;{hex}?ver=CBV2.0`.
    pub fn hash_id(&self) -> String {
        format!(
            "ni:///sha-256;{}?ver=CBV2.0",
            to_hex(&sha256(self.pre_hash_string().as_bytes()))
        )
    }

    /// `eventID` if captured, otherwise the event hash ID.
    pub fn event_id_or_hash_id(&self) -> String {
        self.event_id()
            .map_or_else(|| self.hash_id(), str::to_owned)
    }
}
