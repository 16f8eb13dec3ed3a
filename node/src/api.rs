//! The node's HTTP API (axum), JSON in and out.
//!
//! | route | what |
//! |---|---|
//! | `GET /healthz` | liveness |
//! | `GET /metrics` | Prometheus counters |
//! | `GET /v1/chain` | chain id, genesis hash, head, validators, consensus view and primary |
//! | `POST /v1/faults/isolation` | `{"isolated": bool}`: cut the node off or heal it (only with fault injection on) |
//! | `POST /v1/faults/delay` | `{"milliseconds": n}`: handle peers' consensus messages and gossip n ms late, a one-way network latency (only with fault injection on) |
//! | `POST /v1/transactions` | submit `{"transaction": "<hex of canonical bytes>"}` → 202 `{"id"}` |
//! | `GET /v1/transactions/{id}` | status, receipt and decoded events |
//! | `GET /v1/accounts/{public_key}` | next nonce and registry membership |
//! | `GET /v1/blocks/{height or hash}` | header, transaction ids, finality certificate |
//! | `POST /v1/contracts/{contract}/queries/{name}` | read-only query; JSON arguments for system contracts, or `{"args_hex"}` |
//! | `GET /v1/events?topic=…&limit=…` | indexed events of a topic |
//! | `GET /v1/trace/packs/{gtin}/{serial}` | a pack's ledger record, product and full history |
//!
//! Every error is one [`ApiError`]: an HTTP status and a JSON body
//! `{"error": {"code": "<stable code>", "message": "<for people>"}}`. Request bodies are limited
//! to [`REQUEST_BODY_BYTES_MAX`] and every request to [`REQUEST_TIMEOUT_MS`].

use crate::hash::Hash;
use crate::receipt::{Event, Receipt, ReceiptStatus};
use crate::runtime::{LocatedEvent, Node, QueryError, TransactionStatus};
use crate::validation::{TRANSACTION_BYTES_MAX, TransactionError};
use crate::{NodeError, block::Block};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rxchain_contract_types::{PublicKeyBytes, json as contract_json, registry, trace};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// Largest request body: a hex-encoded transaction of the largest size, with room for JSON.
pub const REQUEST_BODY_BYTES_MAX: usize = TRANSACTION_BYTES_MAX * 2 + 4096;
/// Longest a request may take.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Most requests doing storage or contract work at once; more wait for a permit.
pub const BLOCKING_REQUESTS_MAX: usize = 32;
/// Most events one history or events request returns.
pub const EVENTS_PER_RESPONSE_MAX: usize = 1_000;

/// The API's one error type.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(error: NodeError) -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    }
}

impl From<TransactionError> for ApiError {
    fn from(error: TransactionError) -> Self {
        let status = match &error {
            TransactionError::MempoolFull(_) | TransactionError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            TransactionError::Duplicate | TransactionError::NonceUsed { .. } => {
                StatusCode::CONFLICT
            }
            TransactionError::Unauthorized(_) => StatusCode::FORBIDDEN,
            TransactionError::Oversized { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, error.code(), error.to_string())
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::UnknownContract(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_contract", error.to_string())
            }
            QueryError::UnknownQuery { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_method", error.to_string())
            }
            QueryError::Failed { code, message } => {
                let status = if code == rxchain_contract_types::abi::error_code::NOT_FOUND {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError::new(status, code, message)
            }
            QueryError::Node(error) => error.into(),
        }
    }
}

type ApiResult = Result<Response, ApiError>;

/// Runs storage and contract work off the async workers (RocksDB and wasmtime block).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // A request that times out leaves its blocking work running; the permit bounds how much
    // such work can pile up.
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| tokio::sync::Semaphore::new(BLOCKING_REQUESTS_MAX));
    let _permit = permits.acquire().await.map_err(|error| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            error.to_string(),
        )
    })?;
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    })?
}

fn parse_hash(text: &str, what: &str) -> Result<Hash, ApiError> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| ApiError::bad_request(format!("{what} must be 64 hex digits")))
}

/// The router with all routes, limits and the node as state.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/v1/chain", get(chain))
        .route("/v1/faults/isolation", post(isolation))
        .route("/v1/faults/delay", post(inbound_delay))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{id}", get(transaction))
        .route("/v1/accounts/{public_key}", get(account))
        .route("/v1/blocks/{id}", get(block))
        .route("/v1/contracts/{contract}/queries/{name}", post(query))
        .route("/v1/events", get(events))
        .route("/v1/trace/packs/{gtin}/{serial}", get(pack_history))
        .route("/v1/labels/{gtin}/{serial}", get(label))
        .route(
            "/01/{gtin}/21/{serial}",
            get(crate::verification::pack_without_lot),
        )
        .route("/code/{code}", get(crate::verification::china_trace_code))
        .route(
            "/capture",
            post(crate::epcis::capture)
                .get(crate::epcis::capture_jobs)
                .layer(DefaultBodyLimit::max(rxchain_epcis::DOCUMENT_BYTES_MAX)),
        )
        .route("/capture/{capture_id}", get(crate::epcis::capture_job))
        .route("/events", get(crate::epcis::events))
        .route("/events/{event_id}", get(crate::epcis::event))
        .route("/epcs/{epc}/events", get(crate::epcis::epc_events))
        .route(
            "/01/{gtin}/10/{lot}/21/{serial}",
            get(crate::verification::pack_with_lot),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(REQUEST_TIMEOUT_MS),
        ))
        .with_state(node)
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(node).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn metrics(State(node): State<Node>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        node.metrics().render(),
    )
        .into_response()
}

async fn chain(State(node): State<Node>) -> ApiResult {
    let head = node.head();
    Ok(Json(json!({
        "chain_id": node.genesis().chain_id,
        "genesis_hash": hex::encode(node.genesis_hash()),
        "consensus": node.genesis().consensus.kind(),
        "view": node.metrics().consensus_view.load(std::sync::atomic::Ordering::Relaxed),
        "peers_connected": node.metrics().peers_connected.load(std::sync::atomic::Ordering::Relaxed),
        "halted": node.halted(),
        "isolated": node.is_isolated(),
        "primary": primary(&node),
        "head": {
            "height": head.height,
            "hash": hex::encode(head.hash),
            "state_root": hex::encode(head.state_root),
            "timestamp_ms": head.timestamp_ms,
        },
        "validators": node.validators().iter().map(hex::encode).collect::<Vec<_>>(),
        "mempool_transactions": node.mempool_len(),
    }))
    .into_response())
}

/// The validator ordering blocks now: PBFT's primary of the current view (validator
/// `view mod n` in ascending key order), Raft's leader; none for solo.
fn primary(node: &Node) -> Option<String> {
    use std::sync::atomic::Ordering;
    let mut validators = node.validators().to_vec();
    validators.sort();
    match node.genesis().consensus {
        rxchain_genesis::Consensus::Pbft(_) => {
            let view = node.metrics().consensus_view.load(Ordering::Relaxed);
            Some(hex::encode(
                validators[(view % validators.len() as u64) as usize],
            ))
        }
        rxchain_genesis::Consensus::Raft(_) => {
            let leader = node.metrics().leader.load(Ordering::Relaxed);
            let index = leader.checked_sub(1)? as usize;
            validators.get(index).map(hex::encode)
        }
        rxchain_genesis::Consensus::Solo(_) => None,
    }
}

#[derive(Deserialize)]
struct IsolationBody {
    isolated: bool,
}

/// Fault injection: cut the node off from the other validators, or heal it.
async fn isolation(
    State(node): State<Node>,
    body: Result<Json<IsolationBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
    })?;
    node.set_isolated(body.isolated).map_err(|error| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "fault_injection_off",
            error.to_string(),
        )
    })?;
    Ok(Json(json!({ "isolated": body.isolated })).into_response())
}

#[derive(Deserialize)]
struct DelayBody {
    milliseconds: u64,
}

/// Fault injection: a one-way latency on what this node receives from the other validators.
async fn inbound_delay(
    State(node): State<Node>,
    body: Result<Json<DelayBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
    })?;
    node.set_inbound_delay(body.milliseconds).map_err(|error| {
        let (status, code) = if body.milliseconds > crate::runtime::FAULT_DELAY_MS_MAX {
            (StatusCode::BAD_REQUEST, "invalid_argument")
        } else {
            (StatusCode::FORBIDDEN, "fault_injection_off")
        };
        ApiError::new(status, code, error.to_string())
    })?;
    Ok(Json(json!({ "milliseconds": body.milliseconds })).into_response())
}

#[derive(Deserialize)]
struct SubmitBody {
    /// Hex of the canonical transaction bytes.
    transaction: String,
}

async fn submit(
    State(node): State<Node>,
    body: Result<Json<SubmitBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(|rejection| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", rejection.body_text())
    })?;
    let bytes = hex::decode(body.transaction.trim()).map_err(|error| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("transaction is not hex: {error}"),
        )
    })?;
    let id = crate::api::blocking(move || node.submit(&bytes).map_err(ApiError::from)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": hex::encode(id)}))).into_response())
}

/// JSON of an event, with its payload decoded when the contract is a system contract.
pub fn event_json(event: &Event) -> Value {
    json!({
        "contract": event.contract,
        "topics": event.topics,
        "data_hex": hex::encode(&event.data),
        "decoded": contract_json::decode_event(&event.contract, &event.topics, &event.data),
    })
}

pub fn receipt_json(receipt: &Receipt) -> Value {
    let (status, code, message) = match &receipt.status {
        ReceiptStatus::Success => ("success", None, None),
        ReceiptStatus::Failed { code, message } => {
            ("failed", Some(code.clone()), Some(message.clone()))
        }
        ReceiptStatus::Refused { code, message } => {
            ("refused", Some(code.clone()), Some(message.clone()))
        }
    };
    json!({
        "status": status,
        "error_code": code,
        "error_message": message,
        "fuel_used": receipt.fuel_used,
        "events": receipt.events.iter().map(event_json).collect::<Vec<_>>(),
        "return_hex": hex::encode(&receipt.return_data),
    })
}

async fn transaction(State(node): State<Node>, Path(id): Path<String>) -> ApiResult {
    let id = parse_hash(&id, "transaction id")?;
    let body = match node.transaction_status(&id)? {
        TransactionStatus::Committed {
            height,
            index,
            receipt,
        } => json!({
            "id": hex::encode(id),
            "status": "committed",
            "height": height,
            "index": index,
            "receipt": receipt_json(&receipt),
        }),
        TransactionStatus::Pending => json!({"id": hex::encode(id), "status": "pending"}),
        TransactionStatus::Unknown => {
            return Err(ApiError::not_found(format!(
                "no transaction {}",
                hex::encode(id)
            )));
        }
    };
    Ok(Json(body).into_response())
}

async fn account(State(node): State<Node>, Path(public_key): Path<String>) -> ApiResult {
    let key = PublicKeyBytes::from_hex(&public_key).map_err(ApiError::bad_request)?;
    let storage = node.storage();
    let next_nonce = storage.next_nonce(&key.0)?;
    let member = storage
        .state(registry::CONTRACT_ID, &registry::keys::member(&key))?
        .and_then(|bytes| {
            contract_json::decode_query_result(registry::CONTRACT_ID, "member", &bytes).ok()
        });
    Ok(Json(json!({
        "public_key": key.to_hex(),
        "next_nonce": next_nonce,
        "member": member,
    }))
    .into_response())
}

fn block_json(block: &Block, certificate: Option<&crate::block::FinalityCertificate>) -> Value {
    let header = &block.header;
    json!({
        "hash": hex::encode(header.hash()),
        "header": {
            "version": header.version,
            "chain_id": header.chain_id,
            "height": header.height,
            "previous_hash": hex::encode(header.previous_hash),
            "timestamp_ms": header.timestamp_ms,
            "proposer": hex::encode(header.proposer),
            "transactions_root": hex::encode(header.transactions_root),
            "receipts_root": hex::encode(header.receipts_root),
            "state_root": hex::encode(header.state_root),
            "validator_set_hash": hex::encode(header.validator_set_hash),
        },
        "transactions": block.transactions.iter().map(|t| hex::encode(t.id())).collect::<Vec<_>>(),
        "certificate": certificate.map(|certificate| json!({
            "height": certificate.height,
            "block_hash": hex::encode(certificate.block_hash),
            "signatures": certificate.signatures.iter().map(|entry| json!({
                "validator": hex::encode(entry.validator),
                "signature": hex::encode(entry.signature),
            })).collect::<Vec<_>>(),
        })),
    })
}

async fn block(State(node): State<Node>, Path(id): Path<String>) -> ApiResult {
    let storage = node.storage();
    let height = if id.len() == 64 {
        let hash = parse_hash(&id, "block hash")?;
        storage
            .height_of_block(&hash)?
            .ok_or_else(|| ApiError::not_found(format!("no block {id}")))?
    } else {
        id.parse::<u64>()
            .map_err(|_| ApiError::bad_request("a block is named by its height or 64-hex hash"))?
    };
    let block = storage
        .block(height)?
        .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
    let certificate = storage.certificate(height)?;
    Ok(Json(block_json(&block, certificate.as_ref())).into_response())
}

async fn query(
    State(node): State<Node>,
    Path((contract, name)): Path<(String, String)>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let arguments = match body {
        Ok(Json(value)) => value,
        Err(rejection) => return Err(ApiError::bad_request(rejection.body_text())),
    };
    let raw = arguments
        .get("args_hex")
        .and_then(Value::as_str)
        .map(str::to_string);
    let args = match raw {
        Some(text) => hex::decode(text)
            .map_err(|error| ApiError::bad_request(format!("args_hex: {error}")))?,
        None => {
            contract_json::encode_arguments(&contract, &name, arguments).map_err(|message| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
            })?
        }
    };
    let result = {
        let node = node.clone();
        let (contract, name) = (contract.clone(), name.clone());
        crate::api::blocking(move || node.query(&contract, &name, args).map_err(ApiError::from))
            .await?
    };
    let decoded = contract_json::decode_query_result(&contract, &name, &result).ok();
    Ok(Json(json!({"result": decoded, "result_hex": hex::encode(&result)})).into_response())
}

#[derive(Deserialize)]
struct EventsParameters {
    topic: String,
    limit: Option<usize>,
}

fn located_event_json(located: &LocatedEvent) -> Value {
    json!({
        "height": located.location.height,
        "transaction_id": hex::encode(located.location.transaction_id),
        "transaction_index": located.location.transaction_index,
        "event_index": located.location.event_index,
        "event": event_json(&located.event),
    })
}

async fn events(State(node): State<Node>, Query(parameters): Query<EventsParameters>) -> ApiResult {
    let limit = parameters.limit.unwrap_or(100).min(EVENTS_PER_RESPONSE_MAX);
    let found = node.events(&parameters.topic, limit)?;
    Ok(Json(json!({
        "topic": parameters.topic,
        "events": found.iter().map(located_event_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

fn query_json(
    node: &Node,
    contract: &str,
    name: &str,
    args: Value,
) -> Result<Option<Value>, ApiError> {
    let bytes =
        contract_json::encode_arguments(contract, name, args).map_err(ApiError::bad_request)?;
    match node.query(contract, name, bytes) {
        Ok(result) => Ok(contract_json::decode_query_result(contract, name, &result).ok()),
        Err(QueryError::Failed { code, .. })
            if code == rxchain_contract_types::abi::error_code::NOT_FOUND =>
        {
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
struct LabelParameters {
    lot: Option<String>,
    /// YYMMDD.
    expiry: Option<String>,
    /// `svg` (default), `png` or `ndef`.
    format: Option<String>,
    /// Base of the Digital Link URI; default `http://{Host}` of this request.
    base: Option<String>,
    module_pixels: Option<usize>,
}

/// The QR code (SVG or PNG) or NFC NDEF record of a pack's Digital Link.
async fn label(
    Path((gtin, serial)): Path<(String, String)>,
    Query(parameters): Query<LabelParameters>,
    headers: axum::http::HeaderMap,
) -> ApiResult {
    if !trace::is_valid_gtin14(&gtin) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_gtin",
            format!("'{gtin}' is not a GTIN-14 with a valid check digit"),
        ));
    }
    if !trace::is_valid_gs1_text(&serial, trace::SERIAL_CHARACTERS_MAX)
        || parameters
            .lot
            .as_ref()
            .is_some_and(|lot| !trace::is_valid_gs1_text(lot, trace::LOT_CHARACTERS_MAX))
        || parameters
            .expiry
            .as_ref()
            .is_some_and(|expiry| !trace::is_valid_yymmdd(expiry))
    {
        return Err(ApiError::bad_request(
            "serial and lot must be GS1 text of at most 20 characters, expiry YYMMDD",
        ));
    }
    let base = match parameters.base {
        Some(base) => base,
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let uri = crate::label::digital_link_uri(
        &base,
        &gtin,
        parameters.lot.as_deref(),
        &serial,
        parameters.expiry.as_deref(),
    );
    let module_pixels = parameters.module_pixels.unwrap_or(8);
    let label_error = |error: crate::label::LabelError| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_label", error.to_string())
    };
    let response = match parameters.format.as_deref().unwrap_or("svg") {
        "svg" => (
            [("content-type", "image/svg+xml")],
            crate::label::qr_svg(&uri, module_pixels).map_err(label_error)?,
        )
            .into_response(),
        "png" => (
            [("content-type", "image/png")],
            crate::label::qr_png(&uri, module_pixels).map_err(label_error)?,
        )
            .into_response(),
        "ndef" => (
            [("content-type", "application/vnd.nfc.ndef")],
            crate::label::ndef_uri_record(&uri).map_err(label_error)?,
        )
            .into_response(),
        other => {
            return Err(ApiError::bad_request(format!(
                "format '{other}': svg, png or ndef"
            )));
        }
    };
    Ok(response)
}

async fn pack_history(
    State(node): State<Node>,
    Path((gtin, serial)): Path<(String, String)>,
) -> ApiResult {
    if !trace::is_valid_gtin14(&gtin) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_gtin",
            format!("'{gtin}' is not a GTIN-14 with a valid check digit"),
        ));
    }
    let pack_id = trace::PackId {
        gtin: gtin.clone(),
        serial: serial.clone(),
    };
    let node_for_query = node.clone();
    let (pack, product, history) = crate::api::blocking(move || -> Result<_, ApiError> {
        let pack = query_json(
            &node_for_query,
            trace::CONTRACT_ID,
            "pack",
            json!({"gtin": gtin, "serial": serial}),
        )?;
        let product = query_json(
            &node_for_query,
            trace::CONTRACT_ID,
            "product",
            json!({"gtin": gtin}),
        )?;
        let history =
            node_for_query.events(&trace::topics::pack(&pack_id), EVENTS_PER_RESPONSE_MAX)?;
        Ok((pack, product, history))
    })
    .await?;
    let Some(pack) = pack else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_pack",
            "this code is not on the ledger: the pack may be counterfeit",
        ));
    };
    let epc = {
        let node = node.clone();
        let pack_id = trace::PackId {
            gtin: pack["id"]["gtin"].as_str().unwrap_or_default().to_string(),
            serial: pack["id"]["serial"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        crate::api::blocking(move || Ok(node.sgtin_urn(&pack_id))).await?
    };
    Ok(Json(json!({
        "pack": pack,
        "epc": epc,
        "product": product,
        "history": history.iter().map(located_event_json).collect::<Vec<_>>(),
    }))
    .into_response())
}
