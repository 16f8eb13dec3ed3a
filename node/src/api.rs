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
//! | `GET /v1/transactions/{id}` | status, receipt (JSON with decoded events, and its borsh) |
//! | `GET /v1/transactions/{id}/proof` | proof material: the transaction and receipt with Merkle proofs, header and finality certificate |
//! | `GET /v1/accounts/{public_key}` | next nonce (committed; `next_free_nonce` counts queued ones too) and registry membership |
//! | `GET /v1/blocks/{height or hash}` | header, transaction ids, finality certificate |
//! | `POST /v1/contracts/{contract}/queries/{name}` | read-only query; JSON arguments for system contracts, or `{"args_hex"}` |
//! | `GET /v1/events?topic=…&limit=…&after=H.T.E` | indexed events of a topic (after a position) |
//!
//! Application modules add their own routes and pages ([`crate::app::AppModule::router`]);
//! [`router`] merges them under the same limits and error shape.
//!
//! Every error is one [`ApiError`]: an HTTP status and a JSON body
//! `{"error": {"code": "<stable code>", "message": "<for people>"}}`. Request bodies are limited
//! to [`REQUEST_BODY_BYTES_MAX`] and every request to [`REQUEST_TIMEOUT_MS`].

use crate::app::{AppContext, Modules};
use crate::client::ClientError;
use crate::codec::{CodecError, Codecs};
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
use rxchain_contract_types::{PublicKeyBytes, registry};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Largest request body: a hex-encoded transaction of the largest size, with room for JSON.
pub const REQUEST_BODY_BYTES_MAX: usize = TRANSACTION_BYTES_MAX * 2 + 4096;
/// Longest a request may take.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Most requests doing storage or contract work at once; more wait for a permit.
pub const BLOCKING_REQUESTS_MAX: usize = 32;
/// Most events one history or events request returns: one chain client call's worth (the
/// client depends on nothing of the API).
pub const EVENTS_PER_RESPONSE_MAX: usize = crate::client::EVENTS_PER_CALL_MAX;

/// A stable error code and the HTTP status it is answered with. Each crate that serves routes
/// has one enum of its codes implementing this; that impl is the one place its codes map to
/// HTTP (the core's is [`Code`]; a module's sits in the module).
pub trait ErrorCode: Copy + std::fmt::Debug {
    /// The code in the JSON body, e.g. `invalid_gtin`.
    fn code(self) -> &'static str;
    fn status(self) -> StatusCode;
}

/// The core API's error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// A request the route cannot read (a path segment, a parameter).
    BadRequest,
    /// A body that is not the JSON the route takes.
    Malformed,
    /// A body over the API's limit ([`REQUEST_BODY_BYTES_MAX`]).
    Oversized,
    /// Arguments that do not fit what they are for (a contract's JSON arguments, a limit).
    InvalidArgument,
    NotFound,
    UnknownContract,
    UnknownMethod,
    FaultInjectionOff,
    Unavailable,
    Internal,
}

impl ErrorCode for Code {
    fn code(self) -> &'static str {
        match self {
            Code::BadRequest => "bad_request",
            Code::Malformed => "malformed",
            Code::Oversized => "oversized",
            Code::InvalidArgument => "invalid_argument",
            Code::NotFound => "not_found",
            Code::UnknownContract => "unknown_contract",
            Code::UnknownMethod => "unknown_method",
            Code::FaultInjectionOff => "fault_injection_off",
            Code::Unavailable => "unavailable",
            Code::Internal => "internal",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Code::BadRequest | Code::Malformed | Code::InvalidArgument => StatusCode::BAD_REQUEST,
            Code::NotFound | Code::UnknownContract | Code::UnknownMethod => StatusCode::NOT_FOUND,
            Code::Oversized => StatusCode::PAYLOAD_TOO_LARGE,
            Code::FaultInjectionOff => StatusCode::FORBIDDEN,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The error for a JSON body a route could not take: `oversized` (413) when it was over the
/// body limit, as a transaction over its own limit is, and `malformed` otherwise.
pub fn body_rejection(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::of(
            Code::Oversized,
            format!("the body is over the limit of {REQUEST_BODY_BYTES_MAX} bytes"),
        )
    } else {
        ApiError::of(Code::Malformed, rejection.body_text())
    }
}

/// The API's one error type: answered as `{"error": {"code", "message"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// A code of an [`ErrorCode`] enum, or one the chain gave: an admission refusal's
    /// (`TransactionError::code`) or a contract's own (`not_found`, `unauthorized`, …).
    code: std::borrow::Cow<'static, str>,
    message: String,
}

impl ApiError {
    pub fn of(code: impl ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status: code.status(),
            code: code.code().into(),
            message: message.into(),
        }
    }

    /// A code the chain gave, with the status decided for it where it is converted.
    fn from_chain(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: std::borrow::Cow::Owned(code.into()),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::of(Code::NotFound, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::of(Code::BadRequest, message)
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
        ApiError::of(Code::Internal, error.to_string())
    }
}

/// The HTTP status of an admission refusal, by its stable code: the one place that decides it,
/// for refusals met here and those a chain client reports.
fn rejection_status(code: &str) -> StatusCode {
    match code {
        "mempool_full" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "duplicate" | "nonce_used" => StatusCode::CONFLICT,
        "unauthorized" => StatusCode::FORBIDDEN,
        "oversized" => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<TransactionError> for ApiError {
    fn from(error: TransactionError) -> Self {
        ApiError::from_chain(
            rejection_status(error.code()),
            error.code(),
            error.to_string(),
        )
    }
}

impl From<ClientError> for ApiError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Rejected { code, message } => {
                ApiError::from_chain(rejection_status(&code), code, message)
            }
            ClientError::UnknownContract(_) => {
                ApiError::of(Code::UnknownContract, error.to_string())
            }
            ClientError::UnknownQuery { .. } => {
                ApiError::of(Code::UnknownMethod, error.to_string())
            }
            ClientError::QueryFailed { code, message } => {
                QueryError::Failed { code, message }.into()
            }
            ClientError::NotFound(message) => ApiError::not_found(message),
            ClientError::Unavailable(message) => ApiError::of(Code::Unavailable, message),
            ClientError::Node(message) => ApiError::of(Code::Internal, message),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::UnknownContract(_) => {
                ApiError::of(Code::UnknownContract, error.to_string())
            }
            QueryError::UnknownQuery { .. } => ApiError::of(Code::UnknownMethod, error.to_string()),
            // A contract's own error: its code as it gave it; "not found" is a 404, any other
            // refusal of the query a 422.
            QueryError::Failed { code, message } => {
                let status = if code == rxchain_contract_types::abi::error_code::NOT_FOUND {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError::from_chain(status, code, message)
            }
            QueryError::Node(error) => error.into(),
        }
    }
}

impl From<CodecError> for ApiError {
    fn from(error: CodecError) -> Self {
        ApiError::of(Code::InvalidArgument, error.to_string())
    }
}

type ApiResult = Result<Response, ApiError>;

/// What the core routes share: the node and the JSON codecs of every module's contracts.
#[derive(Clone, Debug)]
pub struct ApiState {
    pub node: Node,
    pub codecs: Arc<Codecs>,
}

/// Runs storage and contract work off the async workers (RocksDB and wasmtime block).
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // A request that times out leaves its blocking work running; the permit bounds how much
    // such work can pile up.
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    let permits = PERMITS.get_or_init(|| tokio::sync::Semaphore::new(BLOCKING_REQUESTS_MAX));
    let _permit = permits
        .acquire()
        .await
        .map_err(|error| ApiError::of(Code::Unavailable, error.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ApiError::of(Code::Internal, error.to_string()))?
}

fn parse_hash(text: &str, what: &str) -> Result<Hash, ApiError> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| ApiError::bad_request(format!("{what} must be 64 hex digits")))
}

/// The router with the core routes and every module's, under one body limit, timeout and
/// fallback.
pub fn router(node: Node, modules: &Modules) -> Router {
    let state = ApiState {
        node: node.clone(),
        codecs: Arc::new(modules.codecs()),
    };
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/v1/chain", get(chain))
        .route("/v1/faults/isolation", post(isolation))
        .route("/v1/faults/delay", post(inbound_delay))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{id}", get(transaction))
        .route("/v1/transactions/{id}/proof", get(transaction_proof))
        .route("/v1/accounts/{public_key}", get(account))
        .route("/v1/blocks/{id}", get(block))
        .route("/v1/contracts/{contract}/queries/{name}", post(query))
        .route("/v1/events", get(events))
        .with_state(state);
    for module in modules.iter() {
        router = router.merge(module.router(AppContext::local(&node, module.name())));
    }
    router
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES_MAX))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(REQUEST_TIMEOUT_MS),
        ))
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    node: Node,
    modules: &Modules,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(node, modules).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn metrics(State(ApiState { node, .. }): State<ApiState>) -> Response {
    (
        [("content-type", "text/plain; version=0.0.4")],
        node.metrics().render(),
    )
        .into_response()
}

async fn chain(State(ApiState { node, .. }): State<ApiState>) -> ApiResult {
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
    State(ApiState { node, .. }): State<ApiState>,
    body: Result<Json<IsolationBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(body_rejection)?;
    node.set_isolated(body.isolated)
        .map_err(|error| ApiError::of(Code::FaultInjectionOff, error.to_string()))?;
    Ok(Json(json!({ "isolated": body.isolated })).into_response())
}

#[derive(Deserialize)]
struct DelayBody {
    milliseconds: u64,
}

/// Fault injection: a one-way latency on what this node receives from the other validators.
async fn inbound_delay(
    State(ApiState { node, .. }): State<ApiState>,
    body: Result<Json<DelayBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(body_rejection)?;
    node.set_inbound_delay(body.milliseconds).map_err(|error| {
        let code = if body.milliseconds > crate::runtime::FAULT_DELAY_MS_MAX {
            Code::InvalidArgument
        } else {
            Code::FaultInjectionOff
        };
        ApiError::of(code, error.to_string())
    })?;
    Ok(Json(json!({ "milliseconds": body.milliseconds })).into_response())
}

#[derive(Deserialize)]
struct SubmitBody {
    /// Hex of the canonical transaction bytes.
    transaction: String,
}

async fn submit(
    State(ApiState { node, .. }): State<ApiState>,
    body: Result<Json<SubmitBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) = body.map_err(body_rejection)?;
    let bytes = hex::decode(body.transaction.trim()).map_err(|error| {
        ApiError::of(Code::Malformed, format!("transaction is not hex: {error}"))
    })?;
    let id = blocking(move || node.submit(&bytes).map_err(ApiError::from)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": hex::encode(id)}))).into_response())
}

/// JSON of an event, with its payload decoded when its contract has a codec.
pub fn event_json(codecs: &Codecs, event: &Event) -> Value {
    json!({
        "contract": event.contract,
        "topics": event.topics,
        "data_hex": hex::encode(&event.data),
        "decoded": codecs.decode_event(event),
    })
}

pub fn receipt_json(codecs: &Codecs, receipt: &Receipt) -> Value {
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
        "events": receipt.events.iter().map(|event| event_json(codecs, event)).collect::<Vec<_>>(),
        "return_hex": hex::encode(&receipt.return_data),
    })
}

async fn transaction(
    State(ApiState { node, codecs }): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult {
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
            "receipt": receipt_json(&codecs, &receipt),
            "receipt_borsh_hex": hex::encode(borsh::to_vec(&receipt).expect("encodes")),
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

async fn transaction_proof(
    State(ApiState { node, .. }): State<ApiState>,
    Path(id): Path<String>,
) -> ApiResult {
    let id = parse_hash(&id, "transaction id")?;
    let entry = blocking(move || {
        let storage = node.storage();
        if storage.transaction_location(&id)?.is_none() {
            return Err(ApiError::not_found(format!(
                "no committed transaction {}",
                hex::encode(id)
            )));
        }
        Ok(crate::proof::ledger_entry(storage, &id)?.0)
    })
    .await?;
    Ok(Json(entry).into_response())
}

async fn account(
    State(ApiState { node, codecs }): State<ApiState>,
    Path(public_key): Path<String>,
) -> ApiResult {
    let key = PublicKeyBytes::from_hex(&public_key).map_err(ApiError::bad_request)?;
    let storage = node.storage();
    let next_nonce = storage.next_nonce(&key.0)?;
    let next_free_nonce = node.next_free_nonce(&key.0)?;
    let member = storage
        .state(registry::CONTRACT_ID, &registry::keys::member(&key))?
        .and_then(|bytes| {
            codecs
                .decode_result(registry::CONTRACT_ID, "member", &bytes)
                .ok()
        });
    Ok(Json(json!({
        "public_key": key.to_hex(),
        "next_nonce": next_nonce,
        "next_free_nonce": next_free_nonce,
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

/// `GET /v1/blocks/{id}`: RocksDB reads and the decoding of a block of up to its byte limit run
/// on the blocking pool, not on the async workers the network bridge shares.
async fn block(State(ApiState { node, .. }): State<ApiState>, Path(id): Path<String>) -> ApiResult {
    blocking(move || {
        let storage = node.storage();
        let height = if id.len() == 64 {
            let hash = parse_hash(&id, "block hash")?;
            storage
                .height_of_block(&hash)?
                .ok_or_else(|| ApiError::not_found(format!("no block {id}")))?
        } else {
            id.parse::<u64>().map_err(|_| {
                ApiError::bad_request("a block is named by its height or 64-hex hash")
            })?
        };
        let block = storage
            .block(height)?
            .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?;
        let certificate = storage.certificate(height)?;
        Ok(Json(block_json(&block, certificate.as_ref())).into_response())
    })
    .await
}

async fn query(
    State(ApiState { node, codecs }): State<ApiState>,
    Path((contract, name)): Path<(String, String)>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let arguments = match body {
        Ok(Json(value)) => value,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(body_rejection(rejection));
        }
        Err(rejection) => return Err(ApiError::bad_request(rejection.body_text())),
    };
    let raw = arguments
        .get("args_hex")
        .and_then(Value::as_str)
        .map(str::to_string);
    let args = match raw {
        Some(text) => hex::decode(text)
            .map_err(|error| ApiError::bad_request(format!("args_hex: {error}")))?,
        None => codecs.encode_arguments(&contract, &name, arguments)?,
    };
    let result = {
        let node = node.clone();
        let (contract, name) = (contract.clone(), name.clone());
        blocking(move || node.query(&contract, &name, args).map_err(ApiError::from)).await?
    };
    let decoded = codecs.decode_result(&contract, &name, &result).ok();
    Ok(Json(json!({"result": decoded, "result_hex": hex::encode(&result)})).into_response())
}

#[derive(Deserialize)]
struct EventsParameters {
    topic: String,
    limit: Option<usize>,
    /// `height.transaction_index.event_index`: only events after this position.
    after: Option<String>,
}

/// `H.T.E` as an event position.
fn parse_position(text: &str) -> Result<(u64, u32, u16), ApiError> {
    let mut parts = text.split('.');
    let position = (|| {
        let height = parts.next()?.parse().ok()?;
        let transaction_index = parts.next()?.parse().ok()?;
        let event_index = parts.next()?.parse().ok()?;
        parts
            .next()
            .is_none()
            .then_some((height, transaction_index, event_index))
    })();
    position.ok_or_else(|| {
        ApiError::bad_request("after is height.transaction_index.event_index, e.g. 12.0.3")
    })
}

/// JSON of an indexed event with where it happened.
pub fn located_event_json(codecs: &Codecs, located: &LocatedEvent) -> Value {
    json!({
        "height": located.location.height,
        "transaction_id": hex::encode(located.location.transaction_id),
        "transaction_index": located.location.transaction_index,
        "event_index": located.location.event_index,
        "event": event_json(codecs, &located.event),
    })
}

/// `GET /v1/events`: index reads and decoding on the blocking pool, as for blocks.
async fn events(
    State(ApiState { node, codecs }): State<ApiState>,
    Query(parameters): Query<EventsParameters>,
) -> ApiResult {
    blocking(move || {
        let limit = parameters.limit.unwrap_or(100).min(EVENTS_PER_RESPONSE_MAX);
        let after = parameters
            .after
            .as_deref()
            .map(parse_position)
            .transpose()?;
        let found = node.events_after(&parameters.topic, after, limit)?;
        Ok(Json(json!({
            "topic": parameters.topic,
            "events": found
                .iter()
                .map(|located| located_event_json(&codecs, located))
                .collect::<Vec<_>>(),
        }))
        .into_response())
    })
    .await
}
