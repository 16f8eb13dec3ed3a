//! The node's EPCIS 2.0 interface, following the standard's REST binding.
//!
//! Capture (`POST /capture`): the document is validated in full by `rxchain_epcis` (types,
//! required fields, CBV vocabulary, EPC formats); one invalid event rejects the whole document
//! with per-event problems and nothing is submitted. Each event is then mapped:
//! - ObjectEvent ADD `commissioning` → `trace.commission_batch` (consecutive commissionings of a
//!   document share calls of up to 500 packs; lot and expiry from `ilmd` `cbvmda:lotNumber` /
//!   `cbvmda:itemExpirationDate`);
//! - ObjectEvent `shipping` → `trace.ship` to the organization named by the `owning_party`
//!   destination (its last path segment or URN part is the registry id), shipment id from the
//!   first business transaction;
//! - ObjectEvent `receiving` → `trace.receive` of the shipment named by the business transaction;
//! - ObjectEvent `dispensing` → `trace.dispense`; `decommissioning` / `destroying` →
//!   `trace.decommission` with the disposition as reason;
//! - AggregationEvent ADD `packing` → `trace.pack_container`; DELETE `unpacking` →
//!   `trace.unpack_container`;
//! - TransformationEvent (repackaging) → `trace.decommission` of the inputs (reason
//!   `repackaged`) and commissioning of the outputs with the ilmd's lot and expiry.
//!
//! Every event, mapped or not, is also anchored on the ledger as it was captured
//! (`trace.record_epcis_events`, up to 100 a call, indexed by event id, EPC, business step and
//! location), so
//! `GET /events`, `/events/{eventID}` and `/epcs/{epc}/events` answer with the standard JSON-LD
//! of what was captured. A mapped event whose contract call fails (an unknown product, a pack
//! held by someone else) is reported in the capture job; anchoring does not make it true.
//!
//! The node signs with a member key it holds for capture (`capture_keys` in `node.toml`); a request
//! must carry that key's capture token (`Authorization: Bearer …`, see [`capture_token`]), so
//! only whoever holds the member's key file can capture in its name.

use crate::ledger::CompanyPrefixes;
use crate::{Trace, TraceCode};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rxchain_epcis::model::{Action, Event};
use rxchain_epcis::{QueryParameters, query_document, validate_document_bytes};
use rxchain_node::api::{ApiError, Code, blocking};
use rxchain_node::client::{ChainClient, ClientError};
use rxchain_node::hash::sm3;
use rxchain_node::runtime::{LocatedEvent, TransactionStatus, now_ms};
use rxchain_node::storage::EventLocation;
use rxchain_trace_types::{
    self as trace, CommissionArgs, DecommissionArgs, DecommissionReason, EpcisRecordArgs, PackArgs,
    PackId, ShipArgs, ShipmentIdArgs, SsccArgs,
};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Capture jobs kept for polling; the oldest are forgotten first.
pub const CAPTURE_JOBS_MAX: usize = 1_000;
/// EPCs of one event that can be indexed (the rest of the 64 topics are the event id, step,
/// location and the catch-all).
pub const EPCS_PER_EVENT_MAX: usize = 60;
/// Longest a capture job waits for its transactions to commit.
const CAPTURE_COMMIT_TIMEOUT_MS: u64 = 60_000;
/// Most EPCs one query may name (each is an index lookup).
pub const QUERY_EPCS_MAX: usize = 20;
/// Index entries read per topic per round of a query.
const QUERY_BATCH_EVENTS: usize = 500;
/// Most candidate events one query examines.
pub const QUERY_CANDIDATES_MAX: usize = 10_000;

const TOPIC_ALL: &str = "epcis:all";

fn short_hash(text: &str) -> String {
    hex::encode(&sm3(text.as_bytes())[..16])
}

/// One canonical spelling per identity, so a URN and a Digital Link of the same pack meet in
/// the index: the Digital Link path (`/01/…/21/…`) for SGTIN, SSCC and LGTIN, else the text.
pub fn canonical_epc(epc: &str) -> String {
    if let Ok((identity, _)) = rxchain_gs1::Epc::from_urn(epc) {
        return path_of(&identity.to_digital_link().canonical_uri());
    }
    if (epc.starts_with("http://") || epc.starts_with("https://"))
        && let Ok(link) = rxchain_gs1::DigitalLink::parse(epc)
    {
        return path_of(&link.canonical_uri());
    }
    epc.to_string()
}

fn path_of(uri: &str) -> String {
    let without_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    without_scheme
        .find('/')
        .map_or(uri.to_string(), |index| without_scheme[index..].to_string())
}

/// The extension field of a captured event in query results that names the organization whose
/// member anchored it (a user extension keyed by an absolute IRI, so no context entry is needed).
pub const ANCHORED_BY_KEY: &str = "urn:rxchain:anchoredBy";

pub fn epc_topic(epc: &str) -> String {
    format!("epcis:epc:{}", short_hash(&canonical_epc(epc)))
}

pub fn event_topic(event_id: &str) -> String {
    format!("epcis:event:{}", short_hash(event_id))
}

fn step_topic(step: &str) -> String {
    format!("epcis:bizstep:{step}")
}

fn location_topic(location: &str) -> String {
    format!("epcis:location:{}", short_hash(location))
}

#[derive(Clone, Debug)]
pub struct CaptureJob {
    pub id: String,
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    pub event_count: usize,
    /// Transaction ids (hex) with the event each belongs to.
    pub transactions: Vec<(usize, String)>,
    /// Problems found after submission (failed contract calls).
    pub errors: Vec<Value>,
    /// Valid events that were anchored but not applied to the trace ledger, and why.
    pub not_applied: Vec<Value>,
    pub running: bool,
}

impl CaptureJob {
    fn to_json(&self) -> Value {
        json!({
            "captureID": self.id,
            "createdAt": utc(self.created_ms),
            "finishedAt": self.finished_ms.map(utc),
            "running": self.running,
            "success": !self.running && self.errors.is_empty(),
            // Each mapped call is its own transaction: a call that fails on chain does not undo
            // the ones before it (validation, by contrast, refuses a document whole).
            "captureErrorBehaviour": "proceed",
            "eventCount": self.event_count,
            "transactions": self.transactions.iter().map(|(event, id)| json!({"eventIndex": event, "transaction": id})).collect::<Vec<_>>(),
            "errors": self.errors,
            "notApplied": self.not_applied,
        })
    }
}

/// `YYYY-MM-DD HH:MM UTC`, as capture jobs report their times.
fn utc(ms: u64) -> String {
    rxchain_pages::date_time(rxchain_pages::Language::English, ms)
}

/// Capture jobs of this node (in memory: a restarted node forgets jobs, not captured events).
#[derive(Debug, Default)]
pub struct CaptureJobs {
    jobs: Mutex<VecDeque<CaptureJob>>,
}

impl CaptureJobs {
    fn insert(&self, job: CaptureJob) {
        let mut jobs = self.jobs.lock().expect("jobs lock");
        if jobs.len() >= CAPTURE_JOBS_MAX {
            jobs.pop_front();
        }
        jobs.push_back(job);
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut CaptureJob)) {
        let mut jobs = self.jobs.lock().expect("jobs lock");
        if let Some(job) = jobs.iter_mut().find(|job| job.id == id) {
            change(job);
        }
    }

    fn get(&self, id: &str) -> Option<CaptureJob> {
        self.jobs
            .lock()
            .expect("jobs lock")
            .iter()
            .find(|job| job.id == id)
            .cloned()
    }

    fn list(&self) -> Vec<CaptureJob> {
        self.jobs
            .lock()
            .expect("jobs lock")
            .iter()
            .cloned()
            .collect()
    }
}

fn problem(event_index: usize, message: impl Into<String>) -> Value {
    json!({"eventIndex": event_index, "code": "not_applicable", "message": message.into()})
}

/// The identity an EPC URN or GS1 Digital Link names.
fn identity_of(epc: &str) -> Result<rxchain_gs1::Epc, String> {
    if epc.starts_with("urn:") {
        rxchain_gs1::Epc::from_urn(epc)
            .map(|(identity, _)| identity)
            .map_err(|error| error.to_string())
    } else {
        let link = rxchain_gs1::DigitalLink::parse(epc).map_err(|error| error.to_string())?;
        rxchain_gs1::Epc::from_digital_link(&link).map_err(|error| error.to_string())
    }
}

fn pack_of(epc: &str) -> Result<PackId, String> {
    match identity_of(epc)? {
        rxchain_gs1::Epc::Sgtin(sgtin) => Ok(PackId {
            gtin: sgtin.gtin().as_str().to_string(),
            serial: sgtin.serial_number().to_string(),
        }),
        _ => Err(format!("{epc} is not a serialized pack (SGTIN)")),
    }
}

fn sscc_of(epc: &str) -> Result<String, String> {
    match identity_of(epc)? {
        rxchain_gs1::Epc::Sscc(sscc) => Ok(sscc.as_str().to_string()),
        _ => Err(format!("{epc} is not a case or pallet (SSCC)")),
    }
}

/// The last segment of a URI or URN: how a destination names a registry organization.
fn last_segment(uri: &str) -> &str {
    uri.rsplit(['/', ':']).next().unwrap_or(uri)
}

/// `YYYY-MM-DD` (ilmd itemExpirationDate) → `YYMMDD`.
fn yymmdd(date: &str) -> Option<String> {
    if !date.is_ascii() {
        return None;
    }
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let text = format!("{}{}{}", &date[2..4], &date[5..7], &date[8..10]);
    trace::is_valid_yymmdd(&text).then_some(text)
}

fn ilmd_value(ilmd: Option<&serde_json::Map<String, Value>>, local_name: &str) -> Option<String> {
    ilmd?.iter().find_map(|(key, value)| {
        (key.ends_with(&format!(":{local_name}"))
            || key.ends_with(&format!("#{local_name}"))
            || key == local_name)
            .then(|| value.as_str().map(str::to_string))
            .flatten()
    })
}

/// A contract call an event maps to. Commissionings are kept apart so that a document's
/// consecutive commissionings become a few `commission_batch` calls instead of one call each.
enum MappedCall {
    Commission(CommissionArgs),
    Call(&'static str, Vec<u8>),
}

/// The contract calls one event maps to (empty when it only gets anchored).
///
/// Long because it is one `match` over the business steps and event types capture maps.
fn map_event(event: &Event) -> Result<Vec<MappedCall>, String> {
    let step = event
        .business_step()
        .map(|step| step.as_str().to_string())
        .unwrap_or_default();
    let encode =
        |method: &'static str, value: &dyn erased::Encode| MappedCall::Call(method, value.encode());
    let mut calls = Vec::new();
    match event {
        Event::Object(object) => {
            let packs = || {
                object
                    .epc_list
                    .iter()
                    .map(|epc| pack_of(epc))
                    .collect::<Result<Vec<_>, _>>()
            };
            match (step.as_str(), object.action) {
                ("commissioning", Action::Add) => {
                    let lot = ilmd_value(object.ilmd.as_ref(), "lotNumber")
                        .ok_or("commissioning needs ilmd cbvmda:lotNumber")?;
                    let expiry = ilmd_value(object.ilmd.as_ref(), "itemExpirationDate")
                        .and_then(|date| yymmdd(&date))
                        .ok_or(
                            "commissioning needs ilmd cbvmda:itemExpirationDate as YYYY-MM-DD",
                        )?;
                    for pack in packs()? {
                        let args = CommissionArgs {
                            gtin: pack.gtin,
                            serial: pack.serial,
                            lot: lot.clone(),
                            expiry: expiry.clone(),
                        };
                        calls.push(MappedCall::Commission(args));
                    }
                }
                ("shipping", _) => {
                    let destination = object
                        .common
                        .destinations
                        .iter()
                        .find(|destination| destination.kind.as_str().contains("owning_party"))
                        .ok_or("shipping needs an owning_party destination naming the consignee")?;
                    let shipment = object
                        .common
                        .business_transactions
                        .first()
                        .ok_or("shipping needs a business transaction naming the shipment")?;
                    let args = ShipArgs {
                        shipment_id: last_segment(&shipment.id).to_string(),
                        to: last_segment(&destination.id).to_string(),
                        packs: packs()?,
                        containers: Vec::new(),
                    };
                    calls.push(encode("ship", &args));
                }
                ("receiving", _) => {
                    let shipment = object
                        .common
                        .business_transactions
                        .first()
                        .ok_or("receiving needs a business transaction naming the shipment")?;
                    calls.push(encode(
                        "receive",
                        &ShipmentIdArgs {
                            shipment_id: last_segment(&shipment.id).to_string(),
                        },
                    ));
                }
                ("dispensing", _) => {
                    for pack in packs()? {
                        calls.push(encode("dispense", &pack));
                    }
                }
                ("decommissioning" | "destroying", _) => {
                    let reason = match event.disposition().map(|disposition| disposition.as_str()) {
                        Some("damaged") => DecommissionReason::Damaged,
                        Some("expired") => DecommissionReason::Expired,
                        Some("destroyed") | None => DecommissionReason::Destroyed,
                        Some(_) => DecommissionReason::Destroyed,
                    };
                    for pack in packs()? {
                        calls.push(encode("decommission", &DecommissionArgs { pack, reason }));
                    }
                }
                _ => {}
            }
        }
        Event::Transformation(transformation) => {
            // Repackaging: the input packs are used up, the output packs are commissioned with
            // the lot and expiry of the transformation's ilmd.
            let inputs = transformation
                .input_epc_list
                .iter()
                .map(|epc| pack_of(epc))
                .collect::<Result<Vec<_>, _>>()?;
            for pack in inputs {
                calls.push(encode(
                    "decommission",
                    &DecommissionArgs {
                        pack,
                        reason: DecommissionReason::Repackaged,
                    },
                ));
            }
            if !transformation.output_epc_list.is_empty() {
                let lot = ilmd_value(transformation.ilmd.as_ref(), "lotNumber")
                    .ok_or("repackaging outputs need ilmd cbvmda:lotNumber")?;
                let expiry = ilmd_value(transformation.ilmd.as_ref(), "itemExpirationDate")
                    .and_then(|date| yymmdd(&date))
                    .ok_or(
                        "repackaging outputs need ilmd cbvmda:itemExpirationDate as YYYY-MM-DD",
                    )?;
                for epc in &transformation.output_epc_list {
                    let pack = pack_of(epc)?;
                    calls.push(MappedCall::Commission(CommissionArgs {
                        gtin: pack.gtin,
                        serial: pack.serial,
                        lot: lot.clone(),
                        expiry: expiry.clone(),
                    }));
                }
            }
        }
        Event::Aggregation(aggregation) => {
            let parent = aggregation.parent_id.as_deref();
            match (step.as_str(), aggregation.action, parent) {
                ("packing", Action::Add, Some(parent)) => {
                    let sscc = sscc_of(parent)?;
                    let mut packs = Vec::new();
                    let mut containers = Vec::new();
                    for child in &aggregation.child_epcs {
                        match pack_of(child) {
                            Ok(pack) => packs.push(pack),
                            Err(_) => containers.push(sscc_of(child)?),
                        }
                    }
                    calls.push(encode(
                        "pack_container",
                        &PackArgs {
                            sscc,
                            packs,
                            containers,
                        },
                    ));
                }
                ("unpacking", Action::Delete, Some(parent)) => {
                    calls.push(encode(
                        "unpack_container",
                        &SsccArgs {
                            sscc: sscc_of(parent)?,
                        },
                    ));
                }
                _ => {}
            }
        }
        _ => {}
    }
    Ok(calls)
}

/// Borsh encoding behind a trait object, so `map_event` can encode its argument types alike.
mod erased {
    pub trait Encode {
        fn encode(&self) -> Vec<u8>;
    }
    impl<T: borsh::BorshSerialize> Encode for T {
        fn encode(&self) -> Vec<u8> {
            borsh::to_vec(self).expect("arguments encode")
        }
    }
}

/// Anchoring calls for a document's records: up to `EPCIS_RECORDS_PER_CALL_MAX` a call, well
/// inside the transaction size limit.
fn record_batches(
    records: Vec<(usize, EpcisRecordArgs)>,
) -> Vec<(Vec<usize>, &'static str, Vec<u8>)> {
    const RECORD_BATCH_BYTES_MAX: usize = rxchain_node::validation::TRANSACTION_BYTES_MAX / 2;
    let mut calls = Vec::new();
    let mut batch: Vec<EpcisRecordArgs> = Vec::new();
    let mut indexes: Vec<usize> = Vec::new();
    let mut batch_bytes = 0;
    let mut flush = |batch: &mut Vec<EpcisRecordArgs>, indexes: &mut Vec<usize>| {
        let args = trace::EpcisBatchArgs {
            records: std::mem::take(batch),
        };
        calls.push((
            std::mem::take(indexes),
            "record_epcis_events",
            borsh::to_vec(&args).expect("encodes"),
        ));
    };
    for (index, record) in records {
        let bytes = record.event_json.len()
            + record.topics.iter().map(String::len).sum::<usize>()
            + 32 * record.applied_transactions.len();
        if !batch.is_empty()
            && (batch.len() == trace::EPCIS_RECORDS_PER_CALL_MAX
                || batch_bytes + bytes > RECORD_BATCH_BYTES_MAX)
        {
            flush(&mut batch, &mut indexes);
            batch_bytes = 0;
        }
        batch_bytes += bytes;
        batch.push(record);
        indexes.push(index);
    }
    if !batch.is_empty() {
        flush(&mut batch, &mut indexes);
    }
    calls
}

/// The `epcis:` topics an event is indexed under.
fn topics_of(event: &Event, event_id: &str) -> Vec<String> {
    let mut topics = vec![TOPIC_ALL.to_string(), event_topic(event_id)];
    if let Some(step) = event.business_step() {
        topics.push(step_topic(step.as_str()));
    }
    if let Some(location) = &event.common().business_location {
        topics.push(location_topic(&location.id));
    }
    let mut epcs: Vec<String> = event.epcs().iter().map(|epc| epc_topic(epc)).collect();
    epcs.sort();
    epcs.dedup();
    topics.extend(epcs);
    topics
}

/// Domain tag of capture tokens.
const CAPTURE_TOKEN_DOMAIN: &[u8] = b"rxchain/capture-token/v1";

/// The bearer token that lets a client capture EPCIS documents signed with `key`: SM3 of a
/// domain tag and the secret key. Whoever holds the key file can compute it
/// (`rxchain capture-token --key FILE`); the token does not reveal the key, and it only works
/// on a node that holds that key for capture.
pub fn capture_token(key: &ed25519_dalek::SigningKey) -> String {
    hex::encode(rxchain_node::hash::sm3_parts(&[
        CAPTURE_TOKEN_DOMAIN,
        &key.to_bytes(),
    ]))
}

/// Equal-length comparison that does not stop at the first difference.
fn same_token(left: &str, right: &str) -> bool {
    left.len() == right.len()
        && left
            .bytes()
            .zip(right.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// The capture key a request is authorized for: `Authorization: Bearer <capture token>`.
fn capture_key(trace: &Trace, headers: &HeaderMap) -> Result<ed25519_dalek::SigningKey, ApiError> {
    if trace.capture_keys().is_empty() {
        return Err(ApiError::of(
            TraceCode::CaptureNotConfigured,
            "this node holds no member key for EPCIS capture",
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::of(TraceCode::Unauthenticated,
                "capture needs 'Authorization: Bearer <capture token>' (rxchain capture-token --key FILE)",
            )
        })?;
    trace
        .capture_keys()
        .iter()
        .find(|key| same_token(&capture_token(key), token.trim()))
        .cloned()
        .ok_or_else(|| {
            ApiError::of(
                TraceCode::UnknownCaptureToken,
                "the token does not belong to a capture key of this node",
            )
        })
}

/// The answer to a document that fails validation, naming each problem.
fn invalid_document(error: rxchain_epcis::Error) -> ApiError {
    match error {
        rxchain_epcis::Error::InvalidDocument { problems } => {
            let problems: Vec<Value> = problems
                .iter()
                .map(|problem| {
                    json!({
                        "eventIndex": problem.event_index,
                        "eventID": problem.event_id,
                        "path": problem.path,
                        "code": problem.code.as_str(),
                        "message": problem.message,
                    })
                })
                .collect();
            ApiError::of(
                TraceCode::InvalidDocument,
                serde_json::to_string(&problems).unwrap_or_default(),
            )
        }
        other => ApiError::of(TraceCode::InvalidDocument, other.to_string()),
    }
}

/// The member key a capture request was authorized for, found by [`require_capture_token`].
#[derive(Clone)]
pub struct CaptureKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for CaptureKey {
    // The public half only: a request's extensions may be logged.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let public = hex::encode(self.0.verifying_key().to_bytes());
        formatter.debug_tuple("CaptureKey").field(&public).finish()
    }
}

/// Middleware of `POST /capture`: checks the capture token before anything reads the body, so
/// that an unauthenticated client gets no document buffered, parsed or validated.
pub async fn require_capture_token(
    State(trace): State<Trace>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<Response, ApiError> {
    let key = capture_key(&trace, request.headers())?;
    request.extensions_mut().insert(CaptureKey(key));
    Ok(next.run(request).await)
}

/// `POST /capture`, after [`require_capture_token`].
///
/// Long because capture is one transaction-like sequence: validate the whole document, map
/// every event, refuse on any problem, submit the calls, then the anchoring records naming
/// them, then start the job that waits for their receipts.
pub async fn capture(
    State(trace): State<Trace>,
    axum::Extension(CaptureKey(key)): axum::Extension<CaptureKey>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Parsing and validating up to 8 MiB of JSON is seconds of CPU at worst: on the bounded
    // blocking pool, not on the async workers the API and the network bridge share.
    let shared = body.clone();
    let document = rxchain_node::api::blocking(move || {
        validate_document_bytes(&shared).map_err(invalid_document)
    })
    .await?;

    let mut events = document.events;
    for event in &mut events {
        // Events without an id get their EPCIS 2.0 event hash id, so every anchored event can
        // be fetched by id and a re-capture of the same event is recognisable.
        if event.event_id().is_none() {
            let hash_id = event.hash_id();
            event.common_mut().event_id = Some(hash_id);
        }
    }
    // Map everything before submitting anything: one event that cannot apply rejects all.
    // Consecutive commissionings are batched (order with other calls is kept). Each planned
    // call carries the indexes of the events it applies.
    type Planned = Vec<(Vec<usize>, &'static str, Vec<u8>)>;
    let mut planned: Planned = Vec::new();
    let mut commissions: Vec<(usize, CommissionArgs)> = Vec::new();
    let mut records: Vec<(usize, EpcisRecordArgs)> = Vec::new();
    let mut problems = Vec::new();
    let mut not_applied = Vec::new();
    let flush_commissions =
        |planned: &mut Planned, commissions: &mut Vec<(usize, CommissionArgs)>| {
            for chunk in commissions.chunks(trace::COMMISSION_BATCH_PACKS_MAX) {
                let mut indexes: Vec<usize> = chunk.iter().map(|(index, _)| *index).collect();
                indexes.dedup();
                let args = trace::CommissionBatchArgs {
                    packs: chunk.iter().map(|(_, args)| args.clone()).collect(),
                };
                planned.push((
                    indexes,
                    "commission_batch",
                    borsh::to_vec(&args).expect("encodes"),
                ));
            }
            commissions.clear();
        };
    for (index, event) in events.iter().enumerate() {
        if event.epcs().len() > EPCS_PER_EVENT_MAX {
            problems.push(problem(
                index,
                format!("an event may name at most {EPCS_PER_EVENT_MAX} EPCs here; split it"),
            ));
            continue;
        }
        match map_event(event) {
            Ok(calls) => {
                for call in calls {
                    match call {
                        MappedCall::Commission(args) => commissions.push((index, args)),
                        MappedCall::Call(method, args) => {
                            flush_commissions(&mut planned, &mut commissions);
                            planned.push((vec![index], method, args));
                        }
                    }
                }
            }
            // Valid EPCIS that the trace ledger cannot apply (a shipping event without a
            // consignee, commissioning without a lot): anchored as captured, reported in the job.
            Err(message) => not_applied.push(problem(index, message)),
        }
        let event_id = event.event_id_or_hash_id();
        let event_json = serde_json::to_string(&event.to_json_ld_standalone()).unwrap_or_default();
        if event_json.len() > trace::EPCIS_EVENT_BYTES_MAX {
            problems.push(problem(
                index,
                format!(
                    "the event is larger than {} bytes",
                    trace::EPCIS_EVENT_BYTES_MAX
                ),
            ));
            continue;
        }
        records.push((
            index,
            EpcisRecordArgs {
                topics: topics_of(event, &event_id),
                event_json,
                applied_transactions: Vec::new(),
            },
        ));
    }
    flush_commissions(&mut planned, &mut commissions);
    if !problems.is_empty() {
        return Err(ApiError::of(
            TraceCode::InvalidDocument,
            serde_json::to_string(&problems).unwrap_or_default(),
        ));
    }

    let job_id = format!(
        "{:016x}",
        u64::from_be_bytes(
            sm3(&[body.as_ref(), &now_ms().to_be_bytes()].concat())[..8]
                .try_into()
                .expect("8 bytes")
        )
    );
    // First the calls that apply events, then the anchoring records naming those calls' ids.
    let submitter = trace.clone();
    let transactions = blocking(move || {
        let applied = crate::submit_signed_calls(&submitter, &key, planned)?;
        for (index, record) in records.iter_mut() {
            record.applied_transactions = applied
                .iter()
                .filter(|(indexes, _)| indexes.contains(index))
                .map(|(_, id)| *id)
                .take(trace::EPCIS_APPLIED_TRANSACTIONS_MAX)
                .collect();
        }
        let anchoring = record_batches(records);
        let anchored = crate::submit_signed_calls(&submitter, &key, anchoring)?;
        Ok(applied
            .into_iter()
            .chain(anchored)
            .map(|(indexes, id)| (indexes.first().copied().unwrap_or(0), id))
            .collect::<Vec<_>>())
    })
    .await?;
    let job = CaptureJob {
        id: job_id.clone(),
        created_ms: now_ms(),
        finished_ms: None,
        event_count: events.len(),
        transactions: transactions
            .iter()
            .map(|(index, id)| (*index, hex::encode(id)))
            .collect(),
        errors: Vec::new(),
        not_applied,
        running: true,
    };
    trace.capture_jobs().insert(job);
    let watcher = trace.clone();
    let watched_id = job_id.clone();
    tokio::spawn(async move {
        let mut errors = Vec::new();
        for (index, id) in transactions {
            let waiting = watcher.clone();
            let waited = tokio::task::spawn_blocking(move || {
                waiting
                    .client()
                    .wait_for_commit(&id, Duration::from_millis(CAPTURE_COMMIT_TIMEOUT_MS))
            })
            .await
            .unwrap_or_else(|error| Err(ClientError::Node(error.to_string())));
            match waited {
                Ok(Some((_, receipt))) => {
                    if let rxchain_node::receipt::ReceiptStatus::Failed { code, message } | rxchain_node::receipt::ReceiptStatus::Refused { code, message } = receipt.status {
                        errors.push(json!({"eventIndex": index, "transaction": hex::encode(id), "code": code, "message": message}));
                    }
                }
                Ok(None) => errors.push(json!({"eventIndex": index, "transaction": hex::encode(id), "code": "timeout", "message": "not committed in time"})),
                Err(error) => errors.push(json!({"eventIndex": index, "code": "internal", "message": error.to_string()})),
            }
        }
        watcher.capture_jobs().update(&watched_id, |job| {
            job.errors = errors;
            job.running = false;
            job.finished_ms = Some(now_ms());
        });
    });
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/capture/{job_id}"))],
        Json(json!({"captureID": job_id})),
    )
        .into_response())
}

pub async fn capture_job(
    State(trace): State<Trace>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = trace
        .capture_jobs()
        .get(&id)
        .ok_or_else(|| ApiError::of(Code::NotFound, format!("no capture job {id}")))?;
    Ok(Json(job.to_json()).into_response())
}

pub async fn capture_jobs(State(trace): State<Trace>) -> Result<Response, ApiError> {
    let jobs: Vec<Value> = trace
        .capture_jobs()
        .list()
        .iter()
        .map(CaptureJob::to_json)
        .collect();
    Ok(Json(json!({"captureJobs": jobs})).into_response())
}

fn query_error(error: rxchain_epcis::Error) -> ApiError {
    ApiError::of(TraceCode::QueryParameterException, error.to_string())
}

/// A page token: the position of the last event of the previous page.
fn format_cursor((height, transaction_index, event_index): (u64, u32, u16)) -> String {
    format!("{height}-{transaction_index}-{event_index}")
}

fn parse_cursor(token: &str) -> Result<(u64, u32, u16), ApiError> {
    let invalid = || {
        ApiError::of(
            TraceCode::QueryParameterException,
            "nextPageToken is not one this node issued",
        )
    };
    let mut parts = token.split('-');
    let height = parts
        .next()
        .and_then(|part| part.parse().ok())
        .ok_or_else(invalid)?;
    let transaction_index = parts
        .next()
        .and_then(|part| part.parse().ok())
        .ok_or_else(invalid)?;
    let event_index = parts
        .next()
        .and_then(|part| part.parse().ok())
        .ok_or_else(invalid)?;
    if parts.next().is_some() {
        return Err(invalid());
    }
    Ok((height, transaction_index, event_index))
}

fn sort_key(location: &EventLocation) -> (u64, u32, u16) {
    (
        location.height,
        location.transaction_index,
        location.event_index,
    )
}

/// Milliseconds since the epoch as an RFC 3339 UTC timestamp.
fn rfc3339(ms: u64) -> String {
    let text = utc(ms);
    let (date, rest) = text.split_once(' ').unwrap_or((&text, "00:00 UTC"));
    let minutes = rest.trim_end_matches(" UTC");
    format!("{date}T{minutes}:{:02}.{:03}Z", (ms / 1000) % 60, ms % 1000)
}

/// The EPCIS 2.0 ObjectEvent a trace event stands for, so packs moved by native calls show in
/// EPC queries too. Its id names the ledger event: `urn:rxchain:event:<transaction>:<index>`.
fn trace_event_json(
    client: &dyn ChainClient,
    prefixes: &mut CompanyPrefixes,
    location: &EventLocation,
    event: &trace::TraceEvent,
) -> Value {
    let epc = prefixes.sgtin_urn(client, &event.pack).unwrap_or_else(|| {
        format!(
            "https://id.gs1.org/01/{}/21/{}",
            event.pack.gtin, event.pack.serial
        )
    });
    let organization = |id: &str| format!("urn:rxchain:organization:{id}");
    let shipment = |id: &str| json!([{"type": "desadv", "bizTransaction": format!("urn:rxchain:shipment:{id}")}]);
    let mut value = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventID": format!("urn:rxchain:event:{}:{}", hex::encode(location.transaction_id), location.event_index),
        "eventTime": rfc3339(event.time_ms),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": match event.step {
            trace::TraceStep::Commissioning { .. } => "ADD",
            trace::TraceStep::Decommissioning { .. } => "DELETE",
            _ => "OBSERVE",
        },
        "bizStep": event.step.cbv_business_step_name(),
        "disposition": event.step.cbv_disposition_name(),
    });
    match &event.step {
        trace::TraceStep::Commissioning { lot, expiry } if trace::is_valid_yymmdd(expiry) => {
            value["ilmd"] = json!({
                "cbvmda:lotNumber": lot,
                "cbvmda:itemExpirationDate": format!("20{}-{}-{}", &expiry[0..2], &expiry[2..4], &expiry[4..6]),
            });
        }
        trace::TraceStep::Shipping { shipment_id, to }
        | trace::TraceStep::Returning { shipment_id, to } => {
            value["bizTransactionList"] = shipment(shipment_id);
            value["sourceList"] =
                json!([{"type": "owning_party", "source": organization(&event.organization)}]);
            value["destinationList"] =
                json!([{"type": "owning_party", "destination": organization(to)}]);
        }
        trace::TraceStep::MissingInTransit { shipment_id, from } => {
            value["bizTransactionList"] = shipment(shipment_id);
            value["sourceList"] = json!([{"type": "owning_party", "source": organization(from)}]);
        }
        trace::TraceStep::Receiving { shipment_id, .. } => {
            value["bizTransactionList"] = shipment(shipment_id);
            value["destinationList"] =
                json!([{"type": "owning_party", "destination": organization(&event.organization)}]);
        }
        _ => {}
    }
    value
}

/// Candidate events of a query from the narrowest index it allows, then matched in full.
///
/// Long because streaming candidates from several indexes in chain order, with one page
/// cursor and one bound on the work, needs the loop's state in one place.
fn run_query(
    trace_state: &Trace,
    parameters: &QueryParameters,
    forced_topics: Option<Vec<String>>,
) -> Result<(Vec<Event>, Option<String>), ApiError> {
    let client = trace_state.client();
    let mut prefixes = CompanyPrefixes::default();
    if parameters.match_epc.len() + parameters.match_any_epc.len() > QUERY_EPCS_MAX {
        return Err(ApiError::of(
            TraceCode::QueryTooComplex,
            format!("a query may name at most {QUERY_EPCS_MAX} EPCs"),
        ));
    }
    let topics = forced_topics.unwrap_or_else(|| {
        if !parameters.match_epc.is_empty() || !parameters.match_any_epc.is_empty() {
            parameters
                .match_epc
                .iter()
                .chain(&parameters.match_any_epc)
                .map(|epc| epc_topic(epc))
                .collect()
        } else if !parameters.business_steps.is_empty() {
            parameters
                .business_steps
                .iter()
                .map(|step| step_topic(step.as_str()))
                .collect()
        } else if !parameters.business_locations.is_empty() {
            parameters
                .business_locations
                .iter()
                .map(|location| location_topic(location))
                .collect()
        } else {
            vec![TOPIC_ALL.to_string()]
        }
    });
    // Candidates stream in chain order from the topics' indexes: anchored captures, and (for EPC
    // queries) the trace events of packs moved by native calls, rendered as EPCIS. The page
    // token is the position of the last event returned, so every page costs the same.
    let mut cursor = match &parameters.next_page_token {
        Some(token) => Some(parse_cursor(token)?),
        None => None,
    };
    let pack_topics: Vec<String> = parameters
        .match_epc
        .iter()
        .chain(&parameters.match_any_epc)
        .filter_map(|epc| pack_of(epc).ok())
        .map(|pack| trace::topics::pack(&pack))
        .collect();
    // Which transactions captures applied comes from the module's index: a capture's anchoring
    // record comes after the calls it names, so it cannot be learned on the way.
    if !pack_topics.is_empty() {
        trace_state.catch_up_indexes()?;
    }
    let mut matched = Vec::new();
    let mut examined = 0usize;
    loop {
        let mut batch: Vec<((u64, u32, u16), Value)> = Vec::new();
        // Entries beyond the last one of a full list may be missing from the others' lists:
        // only positions up to the smallest such last position are complete.
        let mut complete_through: Option<(u64, u32, u16)> = None;
        let mut note_list = |found: &[LocatedEvent]| {
            if found.len() == QUERY_BATCH_EVENTS
                && let Some(last) = found.last()
            {
                let last = sort_key(&last.location);
                complete_through = Some(complete_through.map_or(last, |bound| bound.min(last)));
            }
        };
        for topic in &topics {
            let found = client.events(topic, cursor, QUERY_BATCH_EVENTS)?;
            note_list(&found);
            for located in found {
                if located.event.contract != trace::CONTRACT_ID {
                    continue;
                }
                let Some(trace::ContractEvent::Epcis(record)) =
                    trace::ContractEvent::decode(&located.event.data)
                else {
                    continue;
                };
                if let Ok(mut value) = serde_json::from_str::<Value>(&record.event_json) {
                    // Who anchored it: the event's content is that member's word.
                    if let Value::Object(object) = &mut value {
                        object.insert(ANCHORED_BY_KEY.into(), json!(record.organization));
                    }
                    batch.push((sort_key(&located.location), value));
                }
            }
        }
        for topic in &pack_topics {
            let found = client.events(topic, cursor, QUERY_BATCH_EVENTS)?;
            note_list(&found);
            for located in found {
                if located.event.contract != trace::CONTRACT_ID {
                    continue;
                }
                if let Some(trace::ContractEvent::Pack(event)) =
                    trace::ContractEvent::decode(&located.event.data)
                {
                    // Shown as the captured event instead, when the same key captured it.
                    if trace_state
                        .applied_by_capture(&located.location.transaction_id, &event.actor.0)?
                    {
                        continue;
                    }
                    batch.push((
                        sort_key(&located.location),
                        trace_event_json(client, &mut prefixes, &located.location, &event),
                    ));
                }
            }
        }
        batch.sort_by_key(|(key, _)| *key);
        batch.dedup_by_key(|(key, _)| *key);
        if let Some(bound) = complete_through {
            batch.retain(|(key, _)| *key <= bound);
        }
        for (key, value) in batch {
            if examined == QUERY_CANDIDATES_MAX {
                // Enough work for one request: the client continues from here.
                return Ok((matched, cursor.map(format_cursor)));
            }
            examined += 1;
            let Ok(document) = rxchain_epcis::validate_document(&value) else {
                cursor = Some(key);
                continue;
            };
            let matching: Vec<Event> = document
                .events
                .into_iter()
                .filter(|event| parameters.matches(event))
                .collect();
            if !matching.is_empty() && matched.len() == parameters.per_page {
                return Ok((matched, cursor.map(format_cursor)));
            }
            matched.extend(matching);
            cursor = Some(key);
        }
        if complete_through.is_none() {
            return Ok((matched, None));
        }
    }
}

fn query_response(
    events: &[Event],
    next_page: Option<String>,
    path: &str,
    query: &str,
    per_page: usize,
) -> Response {
    let document = query_document(events, Some(&chrono_free_now()));
    let mut response = (
        [(header::CONTENT_TYPE, "application/ld+json")],
        Json(document),
    )
        .into_response();
    if let Some(token) = next_page
        && let Ok(value) =
            rxchain_epcis::next_page_link_header(path, query, per_page, &token).parse()
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// Now as an RFC 3339 timestamp in UTC.
fn chrono_free_now() -> String {
    rfc3339(now_ms())
}

/// `GET /events`.
pub async fn events(
    State(trace_state): State<Trace>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.unwrap_or_default();
    let parameters = QueryParameters::from_query_string(&query).map_err(query_error)?;
    let (events, next_page) = {
        let parameters = parameters.clone();
        blocking(move || run_query(&trace_state, &parameters, None)).await?
    };
    Ok(query_response(
        &events,
        next_page,
        "/events",
        &query,
        parameters.per_page,
    ))
}

/// `GET /events/{eventID}`.
pub async fn event(
    State(trace_state): State<Trace>,
    Path(event_id): Path<String>,
) -> Result<Response, ApiError> {
    if let Some(rest) = event_id.strip_prefix("urn:rxchain:event:") {
        return ledger_event(trace_state, &event_id, rest).await;
    }
    let parameters = QueryParameters::from_query_string("").map_err(query_error)?;
    let (events, _) = {
        let topic = event_topic(&event_id);
        blocking(move || run_query(&trace_state, &parameters, Some(vec![topic]))).await?
    };
    let event = events
        .into_iter()
        .find(|event| event.event_id_or_hash_id() == event_id)
        .ok_or_else(|| ApiError::of(TraceCode::NoSuchResource, format!("no event {event_id}")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/ld+json")],
        Json(event.to_json_ld_standalone()),
    )
        .into_response())
}

/// A trace event rendered as EPCIS, by its `urn:rxchain:event:<transaction>:<index>` id.
async fn ledger_event(
    trace_state: Trace,
    event_id: &str,
    rest: &str,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::of(TraceCode::NoSuchResource, format!("no event {event_id}"));
    let (transaction, index) = rest.split_once(':').ok_or_else(not_found)?;
    let transaction_id: [u8; 32] = hex::decode(transaction)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(not_found)?;
    let event_index: u16 = index.parse().map_err(|_| not_found())?;
    let value = blocking(move || {
        let client = trace_state.client();
        let TransactionStatus::Committed {
            height,
            index,
            receipt,
        } = client.status(&transaction_id)?
        else {
            return Ok(None);
        };
        let Some(event) = receipt.events.get(event_index as usize) else {
            return Ok(None);
        };
        if event.contract != trace::CONTRACT_ID {
            return Ok(None);
        }
        let Some(trace::ContractEvent::Pack(trace_event)) =
            trace::ContractEvent::decode(&event.data)
        else {
            return Ok(None);
        };
        let place = EventLocation {
            height,
            transaction_index: index,
            event_index,
            transaction_id,
        };
        Ok(Some(trace_event_json(
            client,
            &mut CompanyPrefixes::default(),
            &place,
            &trace_event,
        )))
    })
    .await?
    .ok_or_else(not_found)?;
    Ok(([(header::CONTENT_TYPE, "application/ld+json")], Json(value)).into_response())
}

/// `GET /epcs/{epc}/events`.
pub async fn epc_events(
    State(trace_state): State<Trace>,
    Path(epc): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.unwrap_or_default();
    let parameters = QueryParameters::from_query_string(&query).map_err(query_error)?;
    let topic = epc_topic(&epc);
    let (events, next_page) = {
        let parameters = parameters.clone();
        blocking(move || run_query(&trace_state, &parameters, Some(vec![topic]))).await?
    };
    // The topic is a hash: keep only events that really name this EPC.
    let canonical = canonical_epc(&epc);
    let events: Vec<Event> = events
        .into_iter()
        .filter(|event| {
            event
                .epcs()
                .iter()
                .any(|named| canonical_epc(named) == canonical)
        })
        .collect();
    Ok(query_response(
        &events,
        next_page,
        &format!("/epcs/{epc}/events"),
        &query,
        parameters.per_page,
    ))
}
