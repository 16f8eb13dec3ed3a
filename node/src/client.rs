//! The chain client: how domain code reaches the chain. Submit a transaction, see its status,
//! wait for it to be final, run a read-only query, read indexed events, read the head, and get
//! proof material for a committed transaction.
//!
//! Two implementations with the same behaviour: [`LocalClient`] over a [`Node`] in this process,
//! and [`HttpClient`] over a node's HTTP API (`crate::api`), so a module (or the commerce layer)
//! runs beside a node or against a remote one unchanged. One test suite runs against both
//! (`tests/tests/chain_client.rs`). The interface is blocking: domain code calls it from
//! blocking threads (`api::blocking`), where the in-process node's RocksDB and wasmtime work
//! belongs anyway.
//!
//! Proof material is checked by the caller, not trusted: [`crate::proof::check_entry`] verifies
//! a [`LedgerEntry`] against the validator set whichever node served it.

use crate::hash::Hash;
use crate::proof::LedgerEntry;
use crate::receipt::{Event, Receipt};
use crate::runtime::{LocatedEvent, Node, QueryError, TransactionStatus};
use crate::storage::{EventLocation, Head};
use crate::validation::TransactionError;
use std::time::Duration;

/// Where an event sits in the chain: (height, transaction index, event index). Events are
/// read in this order; a position is a cursor for the next page.
pub type EventPosition = (u64, u32, u16);

/// Most events one [`ChainClient::events`] call returns; the HTTP API's pages are as long, so
/// one call is one request to a remote node.
pub const EVENTS_PER_CALL_MAX: usize = 1_000;

/// Why a chain client call failed. The same failure gives the same variant in process and
/// over HTTP.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    /// Admission refused the transaction; `code` is the stable code of
    /// [`TransactionError::code`].
    #[error("{code}: {message}")]
    Rejected { code: String, message: String },
    #[error("no contract '{0}'")]
    UnknownContract(String),
    #[error("contract '{contract}' has no query '{name}'")]
    UnknownQuery { contract: String, name: String },
    /// The contract answered the query with an error (e.g. `not_found`).
    #[error("{code}: {message}")]
    QueryFailed { code: String, message: String },
    /// What was asked for does not exist (a transaction that is not committed).
    #[error("not found: {0}")]
    NotFound(String),
    /// The node could not be reached or is shutting down; trying again later may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The node failed, or answered something this client cannot read.
    #[error("node failure: {0}")]
    Node(String),
}

impl From<crate::NodeError> for ClientError {
    fn from(error: crate::NodeError) -> Self {
        match error {
            crate::NodeError::ShuttingDown => ClientError::Unavailable(error.to_string()),
            other => ClientError::Node(other.to_string()),
        }
    }
}

impl From<TransactionError> for ClientError {
    fn from(error: TransactionError) -> Self {
        ClientError::Rejected {
            code: error.code().to_string(),
            message: error.to_string(),
        }
    }
}

impl From<QueryError> for ClientError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::UnknownContract(contract) => ClientError::UnknownContract(contract),
            QueryError::UnknownQuery { contract, name } => {
                ClientError::UnknownQuery { contract, name }
            }
            QueryError::Failed { code, message } => ClientError::QueryFailed { code, message },
            QueryError::Node(error) => error.into(),
        }
    }
}

/// The chain's identity, from its genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainInfo {
    pub chain_id: String,
    pub genesis_hash: Hash,
    pub validators: Vec<[u8; 32]>,
}

/// A node of the chain, as domain code sees it.
pub trait ChainClient: Send + Sync + std::fmt::Debug {
    fn chain(&self) -> Result<ChainInfo, ClientError>;

    fn head(&self) -> Result<Head, ClientError>;

    /// The sender's first nonce that is neither committed nor queued at this node.
    fn next_free_nonce(&self, sender: &[u8; 32]) -> Result<u64, ClientError>;

    /// Submits a transaction's canonical bytes; returns its id once admitted.
    fn submit(&self, transaction: &[u8]) -> Result<Hash, ClientError>;

    fn status(&self, id: &Hash) -> Result<TransactionStatus, ClientError>;

    /// Waits until the transaction is final (height and receipt), or `None` after `timeout`.
    fn wait_for_commit(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<Option<(u64, Receipt)>, ClientError>;

    /// Runs a read-only contract query against the committed state.
    fn query(&self, contract: &str, name: &str, args: &[u8]) -> Result<Vec<u8>, ClientError>;

    /// Events indexed under `topic`, in chain order, strictly after `after`, at most `limit`
    /// (and at most [`EVENTS_PER_CALL_MAX`]).
    fn events(
        &self,
        topic: &str,
        after: Option<EventPosition>,
        limit: usize,
    ) -> Result<Vec<LocatedEvent>, ClientError>;

    /// Proof material for a committed transaction: check it with
    /// [`crate::proof::check_entry`] before believing it.
    fn ledger_entry(&self, id: &Hash) -> Result<LedgerEntry, ClientError>;

    /// [`ChainClient::ledger_entry`] with its parts decoded (not checked), for a caller that
    /// reads them as well as passing the material on. A client that has the parts at hand
    /// (the local one) skips encoding them only to decode them again.
    fn decoded_ledger_entry(
        &self,
        id: &Hash,
    ) -> Result<(LedgerEntry, crate::proof::ProvenEntry), ClientError> {
        let entry = self.ledger_entry(id)?;
        let decoded = crate::proof::decode_entry(&entry)
            .map_err(|error| ClientError::Node(format!("proof material: {error}")))?;
        Ok((entry, decoded))
    }
}

/// The chain client of a node in this process.
#[derive(Clone, Debug)]
pub struct LocalClient {
    node: Node,
}

impl LocalClient {
    pub fn new(node: Node) -> LocalClient {
        LocalClient { node }
    }
}

impl ChainClient for LocalClient {
    fn chain(&self) -> Result<ChainInfo, ClientError> {
        Ok(ChainInfo {
            chain_id: self.node.genesis().chain_id.clone(),
            genesis_hash: self.node.genesis_hash(),
            validators: self.node.validators().to_vec(),
        })
    }

    fn head(&self) -> Result<Head, ClientError> {
        Ok(self.node.head())
    }

    fn next_free_nonce(&self, sender: &[u8; 32]) -> Result<u64, ClientError> {
        Ok(self.node.next_free_nonce(sender)?)
    }

    fn submit(&self, transaction: &[u8]) -> Result<Hash, ClientError> {
        Ok(self.node.submit(transaction)?)
    }

    fn status(&self, id: &Hash) -> Result<TransactionStatus, ClientError> {
        Ok(self.node.transaction_status(id)?)
    }

    fn wait_for_commit(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<Option<(u64, Receipt)>, ClientError> {
        Ok(self.node.wait_for_commit_blocking(id, timeout)?)
    }

    fn query(&self, contract: &str, name: &str, args: &[u8]) -> Result<Vec<u8>, ClientError> {
        Ok(self.node.query(contract, name, args.to_vec())?)
    }

    fn events(
        &self,
        topic: &str,
        after: Option<EventPosition>,
        limit: usize,
    ) -> Result<Vec<LocatedEvent>, ClientError> {
        Ok(self
            .node
            .events_after(topic, after, limit.min(EVENTS_PER_CALL_MAX))?)
    }

    fn ledger_entry(&self, id: &Hash) -> Result<LedgerEntry, ClientError> {
        Ok(self.decoded_ledger_entry(id)?.0)
    }

    fn decoded_ledger_entry(
        &self,
        id: &Hash,
    ) -> Result<(LedgerEntry, crate::proof::ProvenEntry), ClientError> {
        let storage = self.node.storage();
        if storage.transaction_location(id)?.is_none() {
            return Err(ClientError::NotFound(format!(
                "transaction {} is not committed",
                hex::encode(id)
            )));
        }
        Ok(crate::proof::ledger_entry(storage, id)?)
    }
}

/// Longest an HTTP request of the client may take (the node API's own limit is 10 s).
pub const HTTP_REQUEST_TIMEOUT_MS: u64 = 15_000;
/// How long [`HttpClient::wait_for_commit`] sleeps between looks at the transaction.
const HTTP_POLL_INTERVAL_MS: u64 = 20;

/// The chain client of a node reached over its HTTP API.
#[derive(Clone, Debug)]
pub struct HttpClient {
    base: String,
    http: reqwest::blocking::Client,
}

impl HttpClient {
    /// A client of the node API at `base` (e.g. `http://127.0.0.1:8640`). Call it from a
    /// blocking thread, not from async code.
    pub fn new(base: &str) -> Result<HttpClient, ClientError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_millis(HTTP_REQUEST_TIMEOUT_MS))
            .build()
            .map_err(|error| ClientError::Node(error.to_string()))?;
        Ok(HttpClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// Sends a request; returns the status and the JSON body (`Null` when it is not JSON).
    fn send(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> Result<(u16, serde_json::Value), ClientError> {
        let response = request
            .send()
            .map_err(|error| ClientError::Unavailable(error.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .json::<serde_json::Value>()
            .unwrap_or(serde_json::Value::Null);
        Ok((status, body))
    }

    fn get(&self, path: &str) -> Result<(u16, serde_json::Value), ClientError> {
        self.send(self.http.get(format!("{}{path}", self.base)))
    }

    fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), ClientError> {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
    }
}

/// The `{"error": {"code", "message"}}` of an API answer.
fn error_of(body: &serde_json::Value) -> (String, String) {
    (
        body["error"]["code"].as_str().unwrap_or("").to_string(),
        body["error"]["message"].as_str().unwrap_or("").to_string(),
    )
}

/// An answer that is not what the API promises.
fn unexpected(what: &str, status: u16, body: &serde_json::Value) -> ClientError {
    let (code, message) = error_of(body);
    if status == 503 {
        return ClientError::Unavailable(format!("{code}: {message}"));
    }
    ClientError::Node(format!("{what}: HTTP {status} {code} {message}"))
}

fn hex_field(body: &serde_json::Value, field: &str) -> Result<Vec<u8>, ClientError> {
    hex::decode(body[field].as_str().unwrap_or_default())
        .map_err(|error| ClientError::Node(format!("{field} is not hex: {error}")))
}

fn hash_field(body: &serde_json::Value, field: &str) -> Result<Hash, ClientError> {
    hex_field(body, field)?
        .try_into()
        .map_err(|_| ClientError::Node(format!("{field} is not 32 bytes")))
}

fn borsh_field<T: borsh::BorshDeserialize>(
    body: &serde_json::Value,
    field: &str,
) -> Result<T, ClientError> {
    borsh::from_slice(&hex_field(body, field)?)
        .map_err(|error| ClientError::Node(format!("{field} does not decode: {error}")))
}

impl ChainClient for HttpClient {
    fn chain(&self) -> Result<ChainInfo, ClientError> {
        let (status, body) = self.get("/v1/chain")?;
        if status != 200 {
            return Err(unexpected("chain", status, &body));
        }
        let validators = body["validators"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|key| {
                        hex::decode(key.as_str()?)
                            .ok()
                            .and_then(|bytes| bytes.try_into().ok())
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ChainInfo {
            chain_id: body["chain_id"].as_str().unwrap_or_default().to_string(),
            genesis_hash: hash_field(&body, "genesis_hash")?,
            validators,
        })
    }

    fn head(&self) -> Result<Head, ClientError> {
        let (status, body) = self.get("/v1/chain")?;
        if status != 200 {
            return Err(unexpected("head", status, &body));
        }
        let head = &body["head"];
        Ok(Head {
            height: head["height"].as_u64().unwrap_or(0),
            hash: hash_field(head, "hash")?,
            state_root: hash_field(head, "state_root")?,
            timestamp_ms: head["timestamp_ms"].as_u64().unwrap_or(0),
        })
    }

    fn next_free_nonce(&self, sender: &[u8; 32]) -> Result<u64, ClientError> {
        let (status, body) = self.get(&format!("/v1/accounts/{}", hex::encode(sender)))?;
        if status != 200 {
            return Err(unexpected("account", status, &body));
        }
        body["next_free_nonce"]
            .as_u64()
            .ok_or_else(|| ClientError::Node("the account has no next_free_nonce".into()))
    }

    fn submit(&self, transaction: &[u8]) -> Result<Hash, ClientError> {
        let (status, body) = self.post(
            "/v1/transactions",
            &serde_json::json!({"transaction": hex::encode(transaction)}),
        )?;
        match status {
            202 => hash_field(&body, "id"),
            400 | 403 | 409 | 413 | 503 if body["error"]["code"].is_string() => {
                let (code, message) = error_of(&body);
                Err(ClientError::Rejected { code, message })
            }
            _ => Err(unexpected("submit", status, &body)),
        }
    }

    fn status(&self, id: &Hash) -> Result<TransactionStatus, ClientError> {
        let (status, body) = self.get(&format!("/v1/transactions/{}", hex::encode(id)))?;
        match (status, body["status"].as_str()) {
            (404, _) => Ok(TransactionStatus::Unknown),
            (200, Some("pending")) => Ok(TransactionStatus::Pending),
            (200, Some("committed")) => Ok(TransactionStatus::Committed {
                height: body["height"].as_u64().unwrap_or(0),
                index: body["index"].as_u64().unwrap_or(0) as u32,
                receipt: borsh_field(&body, "receipt_borsh_hex")?,
            }),
            _ => Err(unexpected("transaction status", status, &body)),
        }
    }

    fn wait_for_commit(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<Option<(u64, Receipt)>, ClientError> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let TransactionStatus::Committed {
                height, receipt, ..
            } = self.status(id)?
            {
                return Ok(Some((height, receipt)));
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            // Polling is what the HTTP API offers; the interval bounds the added latency.
            std::thread::sleep(Duration::from_millis(HTTP_POLL_INTERVAL_MS).min(deadline - now));
        }
    }

    fn query(&self, contract: &str, name: &str, args: &[u8]) -> Result<Vec<u8>, ClientError> {
        let (status, body) = self.post(
            &format!("/v1/contracts/{contract}/queries/{name}"),
            &serde_json::json!({"args_hex": hex::encode(args)}),
        )?;
        let (code, message) = error_of(&body);
        match (status, code.as_str()) {
            (200, _) => hex_field(&body, "result_hex"),
            (404, "unknown_contract") => Err(ClientError::UnknownContract(contract.into())),
            (404, "unknown_method") => Err(ClientError::UnknownQuery {
                contract: contract.into(),
                name: name.into(),
            }),
            (404 | 422, _) if !code.is_empty() => Err(ClientError::QueryFailed { code, message }),
            _ => Err(unexpected("query", status, &body)),
        }
    }

    fn events(
        &self,
        topic: &str,
        after: Option<EventPosition>,
        limit: usize,
    ) -> Result<Vec<LocatedEvent>, ClientError> {
        let mut url = reqwest::Url::parse(&format!("{}/v1/events", self.base))
            .map_err(|error| ClientError::Node(error.to_string()))?;
        url.query_pairs_mut()
            .append_pair("topic", topic)
            .append_pair("limit", &limit.min(EVENTS_PER_CALL_MAX).to_string());
        if let Some((height, transaction_index, event_index)) = after {
            url.query_pairs_mut().append_pair(
                "after",
                &format!("{height}.{transaction_index}.{event_index}"),
            );
        }
        let (status, body) = self.send(self.http.get(url))?;
        if status != 200 {
            return Err(unexpected("events", status, &body));
        }
        body["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|located| {
                let event = &located["event"];
                Ok(LocatedEvent {
                    location: EventLocation {
                        height: located["height"].as_u64().unwrap_or(0),
                        transaction_index: located["transaction_index"].as_u64().unwrap_or(0)
                            as u32,
                        event_index: located["event_index"].as_u64().unwrap_or(0) as u16,
                        transaction_id: hash_field(located, "transaction_id")?,
                    },
                    event: Event {
                        contract: event["contract"].as_str().unwrap_or_default().to_string(),
                        topics: serde_json::from_value(event["topics"].clone())
                            .map_err(|error| ClientError::Node(error.to_string()))?,
                        data: hex_field(event, "data_hex")?,
                    },
                })
            })
            .collect()
    }

    fn ledger_entry(&self, id: &Hash) -> Result<LedgerEntry, ClientError> {
        let (status, body) = self.get(&format!("/v1/transactions/{}/proof", hex::encode(id)))?;
        match status {
            200 => serde_json::from_value(body)
                .map_err(|error| ClientError::Node(format!("proof does not decode: {error}"))),
            404 => Err(ClientError::NotFound(error_of(&body).1)),
            _ => Err(unexpected("proof", status, &body)),
        }
    }
}
