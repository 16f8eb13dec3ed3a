//! Event hash IDs, query parameters and matching, query documents and single-event capture.

use rxchain_epcis::{
    Event, EventType, ProblemCode, QueryParameters, query_document, validate_document,
};
use serde_json::{Value, json};

fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"example": "http://ns.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-01-01T00:00:00Z",
        "epcisBody": {"eventList": events}
    })
}

fn events(values: Vec<Value>) -> Vec<Event> {
    validate_document(&document(values)).unwrap().events
}

fn shipping(epc: &str, time: &str, offset: &str, step: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": offset,
        "action": "OBSERVE",
        "epcList": [epc],
        "bizStep": step,
        "disposition": "in_transit",
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00777.0"},
        "example:note": "fragile"
    })
}

#[test]
fn hash_id_is_the_same_for_equivalent_spellings() {
    let parsed = events(vec![
        shipping(
            "urn:epc:id:sgtin:0614141.107346.2017",
            "2025-03-01T10:00:00+01:00",
            "+01:00",
            "shipping",
        ),
        shipping(
            "https://id.gs1.org/01/10614141073464/21/2017",
            "2025-03-01T09:00:00.000Z",
            "+01:00",
            "urn:epcglobal:cbv:bizstep:shipping",
        ),
        shipping(
            "urn:epc:id:sgtin:0614141.107346.2018",
            "2025-03-01T10:00:00+01:00",
            "+01:00",
            "shipping",
        ),
    ]);
    let ids: Vec<String> = parsed.iter().map(Event::hash_id).collect();
    assert_eq!(
        ids[0],
        ids[1],
        "{}\n{}",
        parsed[0].pre_hash_string(),
        parsed[1].pre_hash_string()
    );
    assert_ne!(ids[0], ids[2]);
    assert!(ids[0].starts_with("ni:///sha-256;") && ids[0].ends_with("?ver=CBV2.0"));
    assert_eq!(
        ids[0].len(),
        "ni:///sha-256;".len() + 64 + "?ver=CBV2.0".len()
    );
    let pre_hash = parsed[0].pre_hash_string();
    assert!(pre_hash.starts_with("eventType=ObjectEventeventTime=2025-03-01T09:00:00.000ZeventTimeZoneOffset=+01:00epcListepc=https://id.gs1.org/01/10614141073464/21/2017"), "{pre_hash}");
    assert!(
        pre_hash.contains("bizStep=https://ref.gs1.org/cbv/BizStep-shipping"),
        "{pre_hash}"
    );
    assert!(
        pre_hash.ends_with("http://ns.example.com/epcis/note=fragile"),
        "{pre_hash}"
    );
    // A captured eventID wins over the hash.
    let mut with_id = parsed[0].clone();
    with_id.common_mut().event_id = Some("urn:uuid:6f2b1f3e-0000-4000-8000-000000000001".into());
    assert_eq!(
        with_id.event_id_or_hash_id(),
        "urn:uuid:6f2b1f3e-0000-4000-8000-000000000001"
    );
    assert_eq!(parsed[0].event_id_or_hash_id(), ids[0]);
}

#[test]
fn query_parameters_match_events() {
    let parsed = events(vec![
        shipping(
            "urn:epc:id:sgtin:0614141.107346.2017",
            "2025-03-01T10:00:00+01:00",
            "+01:00",
            "shipping",
        ),
        json!({
            "type": "AggregationEvent",
            "eventTime": "2025-03-02T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "parentID": "urn:epc:id:sscc:0614141.1234567890",
            "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2018"],
            "bizStep": "packing"
        }),
    ]);
    let query = |text: &str| QueryParameters::from_query_string(text).unwrap();
    let matching = |parameters: &QueryParameters| -> Vec<usize> {
        parsed
            .iter()
            .enumerate()
            .filter(|(_, event)| parameters.matches(event))
            .map(|(index, _)| index)
            .collect()
    };
    assert_eq!(matching(&query("")), vec![0, 1]);
    assert_eq!(matching(&query("EQ_bizStep=shipping")), vec![0]);
    assert_eq!(
        matching(&query(
            "EQ_bizStep=urn%3Aepcglobal%3Acbv%3Abizstep%3Apacking"
        )),
        vec![1]
    );
    assert_eq!(matching(&query("EQ_bizStep=shipping|packing")), vec![0, 1]);
    assert_eq!(matching(&query("EQ_disposition=in_transit")), vec![0]);
    assert_eq!(matching(&query("eventType=AggregationEvent")), vec![1]);
    // MATCH_epc looks at epcList/childEPCs; MATCH_anyEPC also at parentID.
    assert_eq!(
        matching(&query("MATCH_epc=urn:epc:id:sscc:0614141.1234567890")),
        Vec::<usize>::new()
    );
    assert_eq!(
        matching(&query("MATCH_anyEPC=urn:epc:id:sscc:0614141.1234567890")),
        vec![1]
    );
    // A Digital Link query finds the URN capture; a pattern finds both packs.
    assert_eq!(
        matching(&query(
            "MATCH_epc=https://id.gs1.org/01/10614141073464/21/2017"
        )),
        vec![0]
    );
    assert_eq!(
        matching(&query("MATCH_anyEPC=urn:epc:idpat:sgtin:0614141.107346.*")),
        vec![0, 1]
    );
    // Time window: GE inclusive, LT exclusive, across offsets.
    assert_eq!(
        matching(&query("GE_eventTime=2025-03-01T09:00:00Z")),
        vec![0, 1]
    );
    assert_eq!(
        matching(&query("GE_eventTime=2025-03-01T09:00:00.001Z")),
        vec![1]
    );
    assert_eq!(
        matching(&query("LT_eventTime=2025-03-01T09:00:00Z")),
        Vec::<usize>::new()
    );
    assert_eq!(
        matching(&query("LT_eventTime=2025-03-02T11:00:00%2B01:00")),
        vec![0]
    );
    assert_eq!(
        matching(&query("EQ_bizLocation=urn:epc:id:sgln:0614141.00777.0")),
        vec![0]
    );
    let paged = query("perPage=5&nextPageToken=abc123");
    assert_eq!(
        (paged.per_page, paged.next_page_token.as_deref()),
        (5, Some("abc123"))
    );
    assert_eq!(query("").per_page, 30);
    assert_eq!(
        query("eventType=ObjectEvent").event_types,
        vec![EventType::Object]
    );
}

#[test]
fn bad_query_parameters_are_all_reported() {
    let error = QueryParameters::from_query_string(
        "EQ_bizStep=transforming&perPage=0&GE_eventTime=yesterday&EQ_action=ADD&color=red&eventType=ObjectEvent&eventType=AggregationEvent",
    )
    .unwrap_err();
    let found: Vec<(&str, ProblemCode)> = error
        .problems()
        .iter()
        .map(|problem| (problem.path.as_str(), problem.code))
        .collect();
    assert_eq!(
        found,
        vec![
            ("EQ_bizStep", ProblemCode::NonStandardVocabularyValue),
            ("perPage", ProblemCode::InvalidValue),
            ("GE_eventTime", ProblemCode::InvalidDateTime),
            ("EQ_action", ProblemCode::UnsupportedParameter),
            ("color", ProblemCode::UnsupportedParameter),
            ("eventType", ProblemCode::DuplicateParameter),
        ]
    );
}

#[test]
fn query_document_is_a_valid_epcis_query_document() {
    let parsed = events(vec![shipping(
        "urn:epc:id:sgtin:0614141.107346.2017",
        "2025-03-01T10:00:00+01:00",
        "+01:00",
        "shipping",
    )]);
    let result = query_document(&parsed, Some("2025-03-03T00:00:00Z"));
    assert_eq!(result["type"], "EPCISQueryDocument");
    assert_eq!(
        result["epcisBody"]["queryResults"]["queryName"],
        "SimpleEventQuery"
    );
    let list = &result["epcisBody"]["queryResults"]["resultsBody"]["eventList"];
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The extension's prefix travels with the event into the result's @context.
    assert_eq!(
        result["@context"][1]["example"],
        "http://ns.example.com/epcis/"
    );
    let again = validate_document(&result).unwrap();
    assert_eq!(again.events, parsed);
}

#[test]
fn single_event_capture_and_standalone_serialisation() {
    let mut event = shipping(
        "urn:epc:id:sgtin:0614141.107346.2017",
        "2025-03-01T10:00:00+01:00",
        "+01:00",
        "shipping",
    );
    event["@context"] = json!(["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"example": "http://ns.example.com/epcis/"}]);
    let captured = validate_document(&event).unwrap();
    assert_eq!(captured.events.len(), 1);
    let standalone = captured.events[0].to_json_ld_standalone();
    assert_eq!(
        validate_document(&standalone).unwrap().events,
        captured.events
    );
    assert_eq!(validate_document(&captured.to_json_ld()).unwrap(), captured);

    // Without a context, or with one that would have to be fetched, capture is refused.
    event.as_object_mut().unwrap().remove("@context");
    let error = validate_document(&event).unwrap_err();
    assert_eq!(error.problems()[0].code, ProblemCode::MissingContext);
    event["@context"] = json!(["https://example.com/my-context.jsonld"]);
    let codes: Vec<ProblemCode> = validate_document(&event)
        .unwrap_err()
        .problems()
        .iter()
        .map(|problem| problem.code)
        .collect();
    // …and the extension's prefix is then undeclared.
    assert_eq!(
        codes,
        vec![
            ProblemCode::UnknownContext,
            ProblemCode::UnknownContext,
            ProblemCode::MissingNamespace
        ]
    );
}

#[test]
fn aggregation_rules_from_the_standard_text() {
    let aggregation = |action: &str, parent: bool| {
        let mut value = json!({
            "type": "AggregationEvent",
            "eventTime": "2025-03-02T10:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": action,
            "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2018"]
        });
        if parent {
            value["parentID"] = json!("urn:epc:id:sscc:0614141.1234567890");
        }
        validate_document(&document(vec![value]))
    };
    assert!(aggregation("OBSERVE", false).is_ok());
    let error = aggregation("ADD", false).unwrap_err();
    assert_eq!(error.problems()[0].path, "epcisBody.eventList[0].parentID");
    assert!(aggregation("DELETE", false).is_err());
    assert!(aggregation("ADD", true).is_ok());
}

#[test]
fn limits_are_enforced() {
    let too_many: Vec<Value> = (0..=rxchain_epcis::EVENTS_PER_DOCUMENT_MAX)
        .map(|_| json!({}))
        .collect();
    let error = validate_document(&document(too_many)).unwrap_err();
    assert!(
        error
            .problems()
            .iter()
            .any(|problem| problem.code == ProblemCode::TooManyEvents)
    );
    let long = "x".repeat(rxchain_epcis::STRING_BYTES_MAX + 1);
    let mut event = shipping(
        "urn:epc:id:sgtin:0614141.107346.2017",
        "2025-03-01T10:00:00+01:00",
        "+01:00",
        "shipping",
    );
    event["example:note"] = json!(long);
    let error = validate_document(&document(vec![event])).unwrap_err();
    assert_eq!(error.problems()[0].code, ProblemCode::StringTooLong);
    let oversized = vec![b' '; rxchain_epcis::DOCUMENT_BYTES_MAX + 1];
    let error = rxchain_epcis::validate_document_bytes(&oversized).unwrap_err();
    assert_eq!(error.problems()[0].code, ProblemCode::DocumentTooLarge);
}
