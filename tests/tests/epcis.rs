//! EPCIS 2.0 over HTTP on a real node: capture maps events to trace contract calls and anchors
//! them; an invalid document is refused whole; queries return the standard JSON-LD.

use rxchain_tests::{TestChain, assert_success};
use rxchain_trace_types::{Pack, PackId, PackStatus};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const GTIN: &str = "09506000134352";
/// The same packs as EPC URNs: company prefix 9506000, indicator 0, item reference 13435.
fn sgtin(serial: &str) -> String {
    format!("urn:epc:id:sgtin:9506000.013435.{serial}")
}

fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-26T08:00:00Z",
        "epcisBody": {"eventList": events},
    })
}

fn commissioning(serials: &[&str]) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2026-11-26T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "epcList": serials.iter().map(|serial| sgtin(serial)).collect::<Vec<_>>(),
        "bizLocation": {"id": "urn:epc:id:sgln:9506000.00001.0"},
        "ilmd": {"cbvmda:lotNumber": "L2026", "cbvmda:itemExpirationDate": "2028-12-31"},
    })
}

fn shipping(serials: &[&str], shipment: &str, to: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2026-11-26T09:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "epcList": serials.iter().map(|serial| sgtin(serial)).collect::<Vec<_>>(),
        "bizTransactionList": [{"type": "desadv", "bizTransaction": format!("urn:rxchain:shipment:{shipment}")}],
        "destinationList": [{"type": "owning_party", "destination": format!("urn:rxchain:organization:{to}")}],
    })
}

struct Api {
    base: String,
    keystore: std::path::PathBuf,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    fn start(chain: &TestChain) -> Api {
        let (runtime, base) = chain.serve_api();
        Api {
            base,
            keystore: chain.consortium.keystore.clone(),
            client: reqwest::Client::new(),
            runtime,
        }
    }

    /// Posts as `organization`, authorized with its capture token (or a bogus one for
    /// `someone-else`).
    fn post(&self, path: &str, organization: &str, body: &Value) -> (u16, Value) {
        let token = match organization {
            "someone-else" => "0".repeat(64),
            organization => {
                let key = rxchain_genesis::keystore::read_key(
                    &self.keystore.join(format!("{organization}.key")),
                )
                .unwrap()
                .signing_key;
                rxchain_trace::epcis::capture_token(&key)
            }
        };
        self.runtime.block_on(async {
            let response = self
                .client
                .post(format!("{}{path}", self.base))
                .header("authorization", format!("Bearer {token}"))
                .json(body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.json().await.unwrap_or(Value::Null),
            )
        })
    }

    fn get(&self, path: &str) -> (u16, Value, Option<String>) {
        self.runtime.block_on(async {
            let response = self
                .client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap();
            let link = response
                .headers()
                .get("link")
                .map(|value| value.to_str().unwrap().to_string());
            (
                response.status().as_u16(),
                response.json().await.unwrap_or(Value::Null),
                link,
            )
        })
    }

    /// Polls the capture job until it finishes (deadline 30 s) and returns it.
    fn finished_job(&self, capture_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, job, _) = self.get(&format!("/capture/{capture_id}"));
            assert_eq!(status, 200);
            if job["running"] == false {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "capture job did not finish: {job}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn register_product(chain: &TestChain) {
    let product = rxchain_tests::sample_product(GTIN);
    assert_success(&chain.call("huaxin-pharma", "trace", "register_product", &product));
}

fn pack_record(chain: &TestChain, serial: &str) -> Pack {
    let id = PackId {
        gtin: GTIN.into(),
        serial: serial.into(),
    };
    borsh::from_slice(
        &chain
            .node
            .query("trace", "pack", borsh::to_vec(&id).unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn capture_maps_events_to_the_ledger_and_queries_return_them() {
    let chain = TestChain::start();
    register_product(&chain);
    let api = Api::start(&chain);

    let (status, answer) = api.post(
        "/capture",
        "huaxin-pharma",
        &document(vec![commissioning(&["S1", "S2", "S3"])]),
    );
    assert_eq!(status, 202, "{answer}");
    let job = api.finished_job(answer["captureID"].as_str().unwrap());
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(pack_record(&chain, "S2").lot, "L2026");
    assert_eq!(pack_record(&chain, "S2").expiry, "281231");

    let (status, answer) = api.post(
        "/capture",
        "huaxin-pharma",
        &document(vec![shipping(
            &["S1", "S2"],
            "SHP-9",
            "kangda-distribution",
        )]),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        api.finished_job(answer["captureID"].as_str().unwrap())["success"],
        true
    );
    assert!(matches!(
        pack_record(&chain, "S1").status,
        PackStatus::InTransit { .. }
    ));

    // Queries: by EPC (URN and Digital Link name the same pack), by step, by event id.
    let (status, found, _) = api.get(&format!("/events?MATCH_anyEPC={}", sgtin("S1")));
    assert_eq!(status, 200);
    assert_eq!(found["type"], "EPCISQueryDocument");
    let events = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 2, "{found}");
    let (_, by_link, _) = api.get(&format!(
        "/epcs/{}/events",
        urlencoding(&format!("https://id.gs1.org/01/{GTIN}/21/S1"))
    ));
    assert_eq!(
        by_link["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let (_, shipping_only, _) = api.get("/events?EQ_bizStep=shipping");
    assert_eq!(
        shipping_only["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, none, _) = api.get(&format!(
        "/events?MATCH_anyEPC={}&EQ_bizStep=receiving",
        sgtin("S3")
    ));
    assert!(
        none["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let event_id = events[0]["eventID"].as_str().unwrap().to_string();
    let (status, one, _) = api.get(&format!("/events/{}", urlencoding(&event_id)));
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["bizStep"], events[0]["bizStep"]);

    // Paging: one event a page; following the Link header's token walks every event once, in
    // chain order, and the last page has no Link.
    let all_ids: Vec<String> = {
        let (_, everything, _) = api.get("/events");
        everything["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["eventID"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(all_ids.len(), 2);
    let mut paged_ids = Vec::new();
    let mut path = "/events?perPage=1".to_string();
    loop {
        let (status, page, link) = api.get(&path);
        assert_eq!(status, 200, "{page}");
        let events = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .clone();
        assert!(events.len() <= 1);
        paged_ids.extend(
            events
                .iter()
                .map(|event| event["eventID"].as_str().unwrap().to_string()),
        );
        let Some(link) = link else { break };
        let token = link
            .split("nextPageToken=")
            .nth(1)
            .unwrap()
            .split(['&', '>'])
            .next()
            .unwrap()
            .to_string();
        path = format!("/events?perPage=1&nextPageToken={token}");
        assert!(paged_ids.len() <= all_ids.len(), "paging does not end");
    }
    assert_eq!(paged_ids, all_ids);
    let (status, _, _) = api.get("/events?perPage=1&nextPageToken=not-a-token");
    assert_eq!(status, 400);

    // A pack moved by a native call (not through EPCIS) shows in EPC queries as well, rendered
    // from its trace events; captured packs are not shown twice.
    let native = rxchain_trace_types::CommissionArgs {
        gtin: GTIN.into(),
        serial: "N1".into(),
        lot: "L9".into(),
        expiry: "290101".into(),
    };
    assert_success(&chain.call("huaxin-pharma", "trace", "commission", &native));
    let (_, native_events, _) = api.get(&format!("/events?MATCH_anyEPC={}", sgtin("N1")));
    let listed = native_events["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 1, "{native_events}");
    assert_eq!(listed[0]["bizStep"], "commissioning");
    assert_eq!(listed[0]["epcList"][0], sgtin("N1"));
    rxchain_epcis::validate_document(&native_events).expect("rendered events are valid EPCIS");
    let native_id = listed[0]["eventID"].as_str().unwrap().to_string();
    let (status, one_native, _) = api.get(&format!("/events/{}", urlencoding(&native_id)));
    assert_eq!(status, 200, "{one_native}");
    assert_eq!(one_native["bizStep"], "commissioning");
    let (_, again, _) = api.get(&format!("/events?MATCH_anyEPC={}", sgtin("S1")));
    assert_eq!(
        again["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // The ledger names the pack by the same EPC URN, split with the manufacturer's registered
    // GS1 company prefix (9506000, seven digits).
    let (_, history, _) = api.get(&format!("/v1/trace/packs/{GTIN}/S1"));
    assert_eq!(history["epc"], sgtin("S1"));

    // Returned documents are valid EPCIS 2.0.
    rxchain_epcis::validate_document(&found).expect("query results validate");
}

#[test]
fn one_invalid_event_rejects_the_whole_document() {
    let chain = TestChain::start();
    register_product(&chain);
    let api = Api::start(&chain);
    let height = chain.node.head().height;
    let mut bad = commissioning(&["S9"]);
    bad["bizStep"] = json!("transforming");
    let (status, answer) = api.post(
        "/capture",
        "huaxin-pharma",
        &document(vec![commissioning(&["S8"]), bad]),
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_document");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bizStep")
    );
    // Nothing was submitted: no pack, no block.
    assert!(
        chain
            .node
            .query(
                "trace",
                "pack",
                borsh::to_vec(&PackId {
                    gtin: GTIN.into(),
                    serial: "S8".into()
                })
                .unwrap()
            )
            .is_err()
    );
    assert_eq!(chain.node.head().height, height);
    assert_eq!(chain.node.mempool_len(), 0);
    // Every invalid conformance file is refused by the capture interface too.
    let invalid = std::path::Path::new(&rxchain_tests::manifest_dir())
        .join("../../shared/conformance/epcis/invalid/openepcis/Capture/Invalid");
    let mut refused = 0;
    for entry in std::fs::read_dir(&invalid).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        let (status, _) = api.post("/capture", "huaxin-pharma", &body);
        assert_eq!(status, 400);
        refused += 1;
    }
    assert_eq!(refused, 15);
}

#[test]
fn an_anchoring_record_cannot_hide_another_members_events() {
    let chain = TestChain::start();
    register_product(&chain);
    let api = Api::start(&chain);
    // The manufacturer commissions S1 on the ledger, natively.
    let receipt = chain.call(
        "huaxin-pharma",
        "trace",
        "commission",
        &rxchain_trace_types::CommissionArgs {
            gtin: GTIN.into(),
            serial: "S1".into(),
            lot: "L1".into(),
            expiry: "281231".into(),
        },
    );
    assert_success(&receipt);
    // Another member anchors an event of its own about S1 and names that transaction as its
    // application, to make the manufacturer's event disappear from EPCIS queries.
    let mut forged = commissioning(&["S1"]);
    forged["@context"] = json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]);
    forged["eventID"] = json!("urn:uuid:6f1c5b7e-2a7e-4c57-9f0e-2d1f1f0b9a01");
    let record = rxchain_trace_types::EpcisRecordArgs {
        topics: vec![
            rxchain_trace::epcis::epc_topic(&sgtin("S1")),
            rxchain_trace::epcis::event_topic("urn:uuid:6f1c5b7e-2a7e-4c57-9f0e-2d1f1f0b9a01"),
        ],
        event_json: forged.to_string(),
        applied_transactions: vec![receipt.transaction_id],
    };
    assert_success(&chain.call(
        "kangda-distribution",
        "trace",
        "record_epcis_event",
        &record,
    ));
    let (status, found, _) = api.get(&format!("/events?MATCH_anyEPC={}", sgtin("S1")));
    assert_eq!(status, 200, "{found}");
    let events = found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    // Both: the manufacturer's own event stays, and the other member's shows who anchored it.
    assert_eq!(events.len(), 2, "{found}");
    let native = events
        .iter()
        .find(|event| {
            event["eventID"]
                .as_str()
                .is_some_and(|id| id.starts_with("urn:rxchain:event:"))
        })
        .expect("the native event is still there");
    assert_eq!(native["bizStep"], "commissioning");
    let anchored = events
        .iter()
        .find(|event| event["eventID"] == "urn:uuid:6f1c5b7e-2a7e-4c57-9f0e-2d1f1f0b9a01")
        .expect("the anchored event");
    assert_eq!(
        anchored[rxchain_trace::epcis::ANCHORED_BY_KEY],
        "kangda-distribution",
        "{anchored}"
    );
}

#[test]
fn capture_checks_the_token_before_it_reads_the_document() {
    let chain = TestChain::start();
    let api = Api::start(&chain);
    // An invalid document with a wrong token: refused for the token, the document unread.
    let mut bad = commissioning(&["S9"]);
    bad["bizStep"] = json!("transforming");
    let (status, answer) = api.post("/capture", "someone-else", &document(vec![bad.clone()]));
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"]["code"], "unknown_capture_token");
    // No token, announcing a body over the document limit and sending none of it: the answer
    // comes at once from the headers (a server waiting for the body would time out here).
    let address = api.base.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!(
        "POST /capture HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        rxchain_epcis::DOCUMENT_BYTES_MAX * 2
    );
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    let mut answer = vec![0u8; 4096];
    let read = std::io::Read::read(&mut stream, &mut answer).expect("answered without the body");
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("unauthenticated"), "{answer}");
    let oversized = "x".repeat(rxchain_epcis::DOCUMENT_BYTES_MAX + 1);
    // With the token, the same bodies get their own answers.
    let (status, answer) = api.post("/capture", "huaxin-pharma", &document(vec![bad]));
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_document");
    let (status, answer) = api.post("/capture", "huaxin-pharma", &Value::String(oversized));
    assert_eq!(status, 413, "{answer}");
}

#[test]
fn valid_events_the_ledger_cannot_apply_are_anchored_and_reported() {
    let chain = TestChain::start();
    register_product(&chain);
    let api = Api::start(&chain);
    let mut no_lot = commissioning(&["S7"]);
    no_lot["ilmd"] = json!({"cbvmda:itemExpirationDate": "2028-12-31"});
    let (status, answer) = api.post(
        "/capture",
        "huaxin-pharma",
        &document(vec![commissioning(&["S6"]), no_lot]),
    );
    assert_eq!(status, 202, "{answer}");
    let job = api.finished_job(answer["captureID"].as_str().unwrap());
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["notApplied"][0]["eventIndex"], 1, "{job}");
    assert!(
        job["notApplied"][0]["message"]
            .as_str()
            .unwrap()
            .contains("lotNumber")
    );
    assert_eq!(pack_record(&chain, "S6").lot, "L2026");
    assert!(
        chain
            .node
            .query(
                "trace",
                "pack",
                borsh::to_vec(&PackId {
                    gtin: GTIN.into(),
                    serial: "S7".into()
                })
                .unwrap()
            )
            .is_err()
    );
    // Both events are on the ledger as captured.
    let (_, found, _) = api.get("/events?EQ_bizStep=commissioning");
    assert_eq!(
        found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn every_valid_conformance_document_is_accepted_by_capture() {
    let chain = TestChain::start();
    let api = Api::start(&chain);
    let manifest = std::fs::read_to_string(
        std::path::Path::new(&rxchain_tests::manifest_dir())
            .join("../../shared/conformance/epcis/MANIFEST.tsv"),
    )
    .unwrap();
    let mut accepted = 0;
    for row in manifest.lines().skip(1) {
        let columns: Vec<&str> = row.split('\t').collect();
        if columns.get(1) != Some(&"valid") {
            continue;
        }
        let path = std::path::Path::new(&rxchain_tests::manifest_dir())
            .join("../../shared/conformance")
            .join(columns[0]);
        let body: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (status, answer) = api.post("/capture", "huaxin-pharma", &body);
        assert_eq!(status, 202, "{}: {answer}", columns[0]);
        let job = api.finished_job(answer["captureID"].as_str().unwrap());
        assert_eq!(job["running"], false);
        accepted += 1;
    }
    assert_eq!(accepted, 40);
}

#[test]
fn repackaging_uses_up_inputs_and_commissions_outputs() {
    let chain = TestChain::start();
    register_product(&chain);
    let api = Api::start(&chain);
    let (_, answer) = api.post(
        "/capture",
        "huaxin-pharma",
        &document(vec![commissioning(&["BULK1", "BULK2"])]),
    );
    assert_eq!(
        api.finished_job(answer["captureID"].as_str().unwrap())["success"],
        true
    );
    let transformation = json!({
        "type": "TransformationEvent",
        "eventTime": "2026-11-26T10:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "bizStep": "repackaging",
        "inputEPCList": [sgtin("BULK1"), sgtin("BULK2")],
        "outputEPCList": [sgtin("UNIT1"), sgtin("UNIT2"), sgtin("UNIT3")],
        "ilmd": {"cbvmda:lotNumber": "R1", "cbvmda:itemExpirationDate": "2027-06-30"},
    });
    let (status, answer) = api.post("/capture", "huaxin-pharma", &document(vec![transformation]));
    assert_eq!(status, 202, "{answer}");
    let job = api.finished_job(answer["captureID"].as_str().unwrap());
    assert_eq!(job["success"], true, "{job}");
    assert!(matches!(
        pack_record(&chain, "BULK2").status,
        PackStatus::Decommissioned { .. }
    ));
    assert_eq!(pack_record(&chain, "UNIT3").lot, "R1");
    assert_eq!(pack_record(&chain, "UNIT3").expiry, "270630");
}

#[test]
fn a_failed_contract_call_fails_the_capture_job() {
    let chain = TestChain::start();
    let api = Api::start(&chain);
    // No product registered: commissioning cannot apply on the ledger.
    let (status, answer) = api.post(
        "/capture",
        "huaxin-pharma",
        &document(vec![commissioning(&["S1"])]),
    );
    assert_eq!(status, 202);
    let job = api.finished_job(answer["captureID"].as_str().unwrap());
    assert_eq!(job["success"], false);
    assert_eq!(job["errors"][0]["code"], "not_found", "{job}");
    // Capturing for an organization this node holds no key of is refused.
    let (status, _) = api.post(
        "/capture",
        "someone-else",
        &document(vec![commissioning(&["S1"])]),
    );
    assert_eq!(status, 403);
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
