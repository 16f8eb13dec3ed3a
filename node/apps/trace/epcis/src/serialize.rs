//! Serialisation back to EPCIS 2.0 JSON-LD, and the query result document of the REST
//! binding.
//!
//! Standard vocabulary values are written as bare words (the form the REST binding asks
//! for); identifiers, timestamps and extensions as captured. Keys come out in alphabetical
//! order (JSON-LD does not care about order, and the workspace's `serde_json` keeps maps
//! sorted).
//!
//! Paging (REST binding, `GET /events` and friends): the page size is the `perPage` query
//! parameter (default 30); when there are more results the response carries a
//! `Link: <…?perPage=30&nextPageToken=…>; rel="next"` header, and optionally
//! `GS1-Next-Page-Token-Expires` with the token's expiry. The token is not in the body.

use serde_json::{Map, Value, json};

use crate::context::{EPCIS_CONTEXT_URL_VERSIONED, Namespaces};
use crate::model::{
    AggregationEvent, BusinessTransaction, DocumentKind, EpcisDocument, Event, EventCommon,
    Location, ObjectEvent, PersistentDisposition, QuantityElement, SensorElement,
    SourceOrDestination, TransactionEvent, TransformationEvent,
};

/// Response header carrying the next page's URL (`rel="next"`).
pub const LINK_HEADER: &str = "Link";
/// Response header carrying the expiry time of the `nextPageToken`.
pub const NEXT_PAGE_TOKEN_EXPIRES_HEADER: &str = "GS1-Next-Page-Token-Expires";
/// Query parameter holding the page size.
pub const PER_PAGE_PARAMETER: &str = "perPage";
/// Query parameter holding the paging token.
pub const NEXT_PAGE_TOKEN_PARAMETER: &str = "nextPageToken";
/// `queryName` of results of `GET /events` (the standard's one predefined query).
pub const SIMPLE_EVENT_QUERY: &str = "SimpleEventQuery";

fn strings(values: &[String]) -> Value {
    Value::Array(values.iter().cloned().map(Value::String).collect())
}

fn quantity_list(elements: &[QuantityElement]) -> Value {
    Value::Array(
        elements
            .iter()
            .map(|element| {
                let mut object = Map::new();
                object.insert("epcClass".into(), Value::String(element.epc_class.clone()));
                if let Some(quantity) = &element.quantity {
                    object.insert("quantity".into(), Value::Number(quantity.clone()));
                }
                if let Some(unit) = &element.unit_of_measure {
                    object.insert("uom".into(), Value::String(unit.clone()));
                }
                Value::Object(object)
            })
            .collect(),
    )
}

fn location(location: &Location) -> Value {
    let mut object = location.extensions.clone();
    object.insert("id".into(), Value::String(location.id.clone()));
    Value::Object(object)
}

fn business_transactions(transactions: &[BusinessTransaction]) -> Value {
    Value::Array(
        transactions
            .iter()
            .map(|transaction| {
                let mut object = Map::new();
                if let Some(kind) = &transaction.transaction_type {
                    object.insert("type".into(), Value::String(kind.as_str().to_owned()));
                }
                object.insert(
                    "bizTransaction".into(),
                    Value::String(transaction.id.clone()),
                );
                Value::Object(object)
            })
            .collect(),
    )
}

fn sources_or_destinations(entries: &[SourceOrDestination], value_key: &str) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|entry| json!({"type": entry.kind.as_str(), value_key: entry.id}))
            .collect(),
    )
}

fn sensor_elements(elements: &[SensorElement]) -> Value {
    Value::Array(
        elements
            .iter()
            .map(|element| {
                let mut object = element.extensions.clone();
                if let Some(metadata) = &element.metadata {
                    object.insert("sensorMetadata".into(), Value::Object(metadata.clone()));
                }
                object.insert(
                    "sensorReport".into(),
                    Value::Array(element.reports.iter().cloned().map(Value::Object).collect()),
                );
                Value::Object(object)
            })
            .collect(),
    )
}

fn persistent_disposition(disposition: &PersistentDisposition) -> Value {
    let mut object = Map::new();
    for (key, list) in [("set", &disposition.set), ("unset", &disposition.unset)] {
        if !list.is_empty() {
            object.insert(
                key.into(),
                Value::Array(
                    list.iter()
                        .map(|value| Value::String(value.as_str().to_owned()))
                        .collect(),
                ),
            );
        }
    }
    Value::Object(object)
}

fn common_fields(common: &EventCommon, object: &mut Map<String, Value>) {
    // Extensions first so that no extension can shadow a standard field.
    for (key, value) in &common.extensions {
        object.insert(key.clone(), value.clone());
    }
    if let Some(context) = &common.context {
        object.insert("@context".into(), context.clone());
    }
    object.insert(
        "eventTime".into(),
        Value::String(common.event_time.as_str().to_owned()),
    );
    object.insert(
        "eventTimeZoneOffset".into(),
        Value::String(common.event_time_zone_offset.as_str().to_owned()),
    );
    if let Some(record_time) = &common.record_time {
        object.insert(
            "recordTime".into(),
            Value::String(record_time.as_str().to_owned()),
        );
    }
    if let Some(event_id) = &common.event_id {
        object.insert("eventID".into(), Value::String(event_id.clone()));
    }
    match common.certification_info.as_slice() {
        [] => {}
        [only] => {
            object.insert("certificationInfo".into(), Value::String(only.clone()));
        }
        many => {
            object.insert("certificationInfo".into(), strings(many));
        }
    }
    if let Some(declaration) = &common.error_declaration {
        let mut value = declaration.extensions.clone();
        value.insert(
            "declarationTime".into(),
            Value::String(declaration.declaration_time.as_str().to_owned()),
        );
        if let Some(reason) = &declaration.reason {
            value.insert("reason".into(), Value::String(reason.as_str().to_owned()));
        }
        if !declaration.corrective_event_ids.is_empty() {
            value.insert(
                "correctiveEventIDs".into(),
                strings(&declaration.corrective_event_ids),
            );
        }
        object.insert("errorDeclaration".into(), Value::Object(value));
    }
    if let Some(step) = &common.business_step {
        object.insert("bizStep".into(), Value::String(step.as_str().to_owned()));
    }
    if let Some(disposition) = &common.disposition {
        object.insert(
            "disposition".into(),
            Value::String(disposition.as_str().to_owned()),
        );
    }
    if let Some(read_point) = &common.read_point {
        object.insert("readPoint".into(), location(read_point));
    }
    if let Some(business_location) = &common.business_location {
        object.insert("bizLocation".into(), location(business_location));
    }
    if !common.business_transactions.is_empty() {
        object.insert(
            "bizTransactionList".into(),
            business_transactions(&common.business_transactions),
        );
    }
    if !common.sources.is_empty() {
        object.insert(
            "sourceList".into(),
            sources_or_destinations(&common.sources, "source"),
        );
    }
    if !common.destinations.is_empty() {
        object.insert(
            "destinationList".into(),
            sources_or_destinations(&common.destinations, "destination"),
        );
    }
    if !common.sensor_elements.is_empty() {
        object.insert(
            "sensorElementList".into(),
            sensor_elements(&common.sensor_elements),
        );
    }
}

fn insert_list(object: &mut Map<String, Value>, key: &str, values: &[String]) {
    if !values.is_empty() {
        object.insert(key.into(), strings(values));
    }
}

fn insert_quantities(object: &mut Map<String, Value>, key: &str, elements: &[QuantityElement]) {
    if !elements.is_empty() {
        object.insert(key.into(), quantity_list(elements));
    }
}

fn object_event(event: &ObjectEvent, object: &mut Map<String, Value>) {
    object.insert("action".into(), Value::String(event.action.as_str().into()));
    // Always written, even empty: an ObjectEvent identified by an empty epcList (with
    // quantities or sensor data) is valid, and dropping the key could make it invalid.
    object.insert("epcList".into(), strings(&event.epc_list));
    insert_quantities(object, "quantityList", &event.quantity_list);
    if let Some(disposition) = &event.persistent_disposition {
        object.insert(
            "persistentDisposition".into(),
            persistent_disposition(disposition),
        );
    }
    if let Some(ilmd) = &event.ilmd {
        object.insert("ilmd".into(), Value::Object(ilmd.clone()));
    }
}

fn aggregation_event(event: &AggregationEvent, object: &mut Map<String, Value>) {
    object.insert("action".into(), Value::String(event.action.as_str().into()));
    if let Some(parent) = &event.parent_id {
        object.insert("parentID".into(), Value::String(parent.clone()));
    }
    insert_list(object, "childEPCs", &event.child_epcs);
    insert_quantities(object, "childQuantityList", &event.child_quantity_list);
}

fn transaction_event(event: &TransactionEvent, object: &mut Map<String, Value>) {
    object.insert("action".into(), Value::String(event.action.as_str().into()));
    if let Some(parent) = &event.parent_id {
        object.insert("parentID".into(), Value::String(parent.clone()));
    }
    // Always written, for the same reason as an ObjectEvent's.
    object.insert("epcList".into(), strings(&event.epc_list));
    insert_quantities(object, "quantityList", &event.quantity_list);
}

fn transformation_event(event: &TransformationEvent, object: &mut Map<String, Value>) {
    if let Some(id) = &event.transformation_id {
        object.insert("transformationID".into(), Value::String(id.clone()));
    }
    insert_list(object, "inputEPCList", &event.input_epc_list);
    insert_quantities(object, "inputQuantityList", &event.input_quantity_list);
    insert_list(object, "outputEPCList", &event.output_epc_list);
    insert_quantities(object, "outputQuantityList", &event.output_quantity_list);
    if let Some(disposition) = &event.persistent_disposition {
        object.insert(
            "persistentDisposition".into(),
            persistent_disposition(disposition),
        );
    }
    if let Some(ilmd) = &event.ilmd {
        object.insert("ilmd".into(), Value::Object(ilmd.clone()));
    }
}

/// The `@context` for the given declared prefixes: the EPCIS context, then one object with
/// the prefixes if there are any.
fn context_with(declared: &Map<String, Value>) -> Value {
    let mut context = vec![Value::String(EPCIS_CONTEXT_URL_VERSIONED.to_owned())];
    if !declared.is_empty() {
        context.push(Value::Object(declared.clone()));
    }
    Value::Array(context)
}

fn declared_prefixes(namespaces: &Namespaces) -> Map<String, Value> {
    namespaces
        .declared()
        .iter()
        .map(|(prefix, iri)| (prefix.clone(), Value::String(iri.clone())))
        .collect()
}

impl Event {
    /// The event as a JSON-LD object, for embedding in a document whose `@context` declares
    /// the prefixes the event uses (an event-level `@context` captured with it is kept).
    pub fn to_json_ld(&self) -> Value {
        let mut object = Map::new();
        common_fields(self.common(), &mut object);
        match self {
            Event::Object(event) => object_event(event, &mut object),
            Event::Aggregation(event) | Event::Association(event) => {
                aggregation_event(event, &mut object)
            }
            Event::Transaction(event) => transaction_event(event, &mut object),
            Event::Transformation(event) => transformation_event(event, &mut object),
        }
        object.insert(
            "type".into(),
            Value::String(self.event_type().as_str().into()),
        );
        Value::Object(object)
    }

    /// The event on its own, with an `@context` naming the EPCIS context and the prefixes
    /// the event was captured with: valid single-event JSON-LD.
    pub fn to_json_ld_standalone(&self) -> Value {
        let mut value = self.to_json_ld();
        if let Value::Object(object) = &mut value
            && !object.contains_key("@context")
        {
            object.insert(
                "@context".into(),
                context_with(&declared_prefixes(&self.common().namespaces)),
            );
        }
        value
    }
}

impl EpcisDocument {
    /// The document as EPCIS 2.0 JSON-LD, in the same kind it was captured as.
    pub fn to_json_ld(&self) -> Value {
        if self.kind == DocumentKind::SingleEvent
            && let [event] = self.events.as_slice()
        {
            let mut value = event.to_json_ld();
            if let Value::Object(object) = &mut value {
                object.insert("@context".into(), Value::Array(self.context.clone()));
            }
            return value;
        }
        let mut object = self.extensions.clone();
        object.insert("@context".into(), Value::Array(self.context.clone()));
        let optional = [
            ("id", self.id.clone()),
            ("schemaVersion", self.schema_version.clone()),
            (
                "creationDate",
                self.creation_date
                    .as_ref()
                    .map(|date| date.as_str().to_owned()),
            ),
            ("instanceIdentifier", self.instance_identifier.clone()),
            ("sender", self.sender.clone()),
            ("receiver", self.receiver.clone()),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                object.insert(key.into(), Value::String(value));
            }
        }
        if let Some(header) = &self.header {
            object.insert("epcisHeader".into(), header.clone());
        }
        let events = Value::Array(self.events.iter().map(Event::to_json_ld).collect());
        if self.kind == DocumentKind::QueryDocument {
            let mut results = Map::new();
            results.insert(
                "queryName".into(),
                Value::String(
                    self.query_name
                        .clone()
                        .unwrap_or_else(|| SIMPLE_EVENT_QUERY.to_owned()),
                ),
            );
            if let Some(subscription) = &self.subscription_id {
                results.insert("subscriptionID".into(), Value::String(subscription.clone()));
            }
            results.insert("resultsBody".into(), json!({ "eventList": events }));
            object.insert("type".into(), Value::String("EPCISQueryDocument".into()));
            object.insert("epcisBody".into(), json!({ "queryResults": results }));
        } else {
            object.insert("type".into(), Value::String("EPCISDocument".into()));
            object.insert("epcisBody".into(), json!({ "eventList": events }));
        }
        Value::Object(object)
    }
}

/// The `EPCISQueryDocument` that `GET /events`, `GET /events/{eventID}` and
/// `GET /epcs/{epc}/events` return: the events of one page under
/// `epcisBody.queryResults.resultsBody.eventList`, `queryName` `SimpleEventQuery`.
///
/// The document's `@context` declares the prefixes of every event; an event whose prefix
/// clashes with another event's (same prefix, different IRI) gets its own event-level
/// `@context`. `creation_date` is an input because this crate does not read the clock.
/// Paging is not in the body: see [`next_page_link_header`].
pub fn query_document(events: &[Event], creation_date: Option<&str>) -> Value {
    let mut declared = Map::new();
    let mut clashing = vec![false; events.len()];
    for (index, event) in events.iter().enumerate() {
        for (prefix, iri) in event.common().namespaces.declared() {
            match declared.get(prefix) {
                Some(Value::String(existing)) if existing != iri => clashing[index] = true,
                Some(_) => {}
                None => {
                    declared.insert(prefix.clone(), Value::String(iri.clone()));
                }
            }
        }
    }
    let event_list: Vec<Value> = events
        .iter()
        .zip(&clashing)
        .map(|(event, clashes)| {
            if *clashes {
                event.to_json_ld_standalone()
            } else {
                event.to_json_ld()
            }
        })
        .collect();
    let mut document = json!({
        "@context": context_with(&declared),
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "epcisBody": {
            "queryResults": {
                "queryName": SIMPLE_EVENT_QUERY,
                "resultsBody": { "eventList": event_list }
            }
        }
    });
    if let (Some(date), Value::Object(object)) = (creation_date, &mut document) {
        object.insert("creationDate".into(), Value::String(date.to_owned()));
    }
    document
}

fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The value of the `Link` response header pointing at the next page:
/// `<{path}?{query}&perPage={per_page}&nextPageToken={token}>; rel="next"`. `query` is the
/// request's query string; any `perPage` and `nextPageToken` in it are replaced.
pub fn next_page_link_header(
    path: &str,
    query: &str,
    per_page: usize,
    next_page_token: &str,
) -> String {
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            !pair.is_empty() && name != PER_PAGE_PARAMETER && name != NEXT_PAGE_TOKEN_PARAMETER
        })
        .collect();
    let paging = format!(
        "{PER_PAGE_PARAMETER}={per_page}&{NEXT_PAGE_TOKEN_PARAMETER}={}",
        percent_encode(next_page_token)
    );
    pairs.push(&paging);
    format!("<{path}?{}>; rel=\"next\"", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_replaces_paging_parameters() {
        assert_eq!(
            next_page_link_header(
                "/events",
                "EQ_bizStep=shipping&perPage=10&nextPageToken=old",
                10,
                "a b"
            ),
            "</events?EQ_bizStep=shipping&perPage=10&nextPageToken=a%20b>; rel=\"next\""
        );
        assert_eq!(
            next_page_link_header("/events", "", 30, "t1"),
            "</events?perPage=30&nextPageToken=t1>; rel=\"next\""
        );
    }
}
