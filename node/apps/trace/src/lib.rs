//! Traceability: the host side of rxchain's first domain, serialized drug packs from
//! commissioning to dispensing.
//!
//! It is an application module ([`TraceModule`], an [`AppModule`]) on the chain core's seam:
//! - on chain, the `trace` system contract (`contracts/system/trace/contract`, its wasm embedded here
//!   as [`TRACE_WASM`]) and its types, `rxchain_trace_types` (`contracts/system/trace/types`,
//!   `no_std`, shared with the contract);
//! - [`codec`]: the contract's JSON (methods, query results, events);
//! - [`epcis`]: EPCIS 2.0 capture (validated by `rxchain-epcis`, mapped to trace calls signed with
//!   the member keys this node holds for capture, anchored) and the standard's queries;
//! - [`verification`]: the GS1 Digital Link pages and proof bundles a pack's QR code points to,
//!   built by [`ledger`] and checked offline by [`proof`];
//! - [`page`]: the verification page in Chinese or English, on the page kit (`rxchain-pages`);
//! - [`label`]: QR codes and NFC records of a pack's Digital Link; [`routes`]: a pack's history;
//! - [`commands`]: its subcommands of the `rxchain` binary (labels, capture token, offline
//!   bundle check);
//! - [`scans`]: node-local scan counts, and [`indexes`]: what the module derives from committed
//!   blocks, both in the module's own storage namespace.
//!
//! GS1 identifiers live in `rxchain-gs1` and the EPCIS model in `rxchain-epcis`, both beside
//! this crate under `node/apps/trace/`.

pub mod codec;
pub mod commands;
pub mod epcis;
pub mod indexes;
pub mod label;
pub mod ledger;
pub mod page;
pub mod proof;
pub mod routes;
pub mod scans;
pub mod verification;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use ed25519_dalek::SigningKey;
use rxchain_node::app::{AppContext, AppModule, Indexers, SystemContract};
use rxchain_node::client::ChainClient;
use rxchain_node::codec::{Codecs, ContractCodec};
use std::sync::{Arc, Mutex};

/// The traceability module's error codes (beside the core's `rxchain_node::api::Code`), and
/// the one place they map to HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceCode {
    InvalidGtin,
    InvalidSerial,
    InvalidExpiry,
    InvalidTraceCode,
    InvalidLabel,
    /// The code is not on the ledger: the pack may be counterfeit.
    UnknownPack,
    CaptureNotConfigured,
    Unauthenticated,
    UnknownCaptureToken,
    /// An EPCIS document refused (with its problems).
    InvalidDocument,
    /// The EPCIS query binding's names for a bad query parameter and an unknown resource.
    QueryParameterException,
    QueryTooComplex,
    NoSuchResource,
}

impl rxchain_node::api::ErrorCode for TraceCode {
    fn code(self) -> &'static str {
        match self {
            TraceCode::InvalidGtin => "invalid_gtin",
            TraceCode::InvalidSerial => "invalid_serial",
            TraceCode::InvalidExpiry => "invalid_expiry",
            TraceCode::InvalidTraceCode => "invalid_trace_code",
            TraceCode::InvalidLabel => "invalid_label",
            TraceCode::UnknownPack => "unknown_pack",
            TraceCode::CaptureNotConfigured => "capture_not_configured",
            TraceCode::Unauthenticated => "unauthenticated",
            TraceCode::UnknownCaptureToken => "unknown_capture_token",
            TraceCode::InvalidDocument => "invalid_document",
            TraceCode::QueryParameterException => "query_parameter_exception",
            TraceCode::QueryTooComplex => "query_too_complex",
            TraceCode::NoSuchResource => "no_such_resource",
        }
    }

    fn status(self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            TraceCode::InvalidGtin
            | TraceCode::InvalidSerial
            | TraceCode::InvalidExpiry
            | TraceCode::InvalidTraceCode
            | TraceCode::InvalidLabel
            | TraceCode::InvalidDocument
            | TraceCode::QueryParameterException
            | TraceCode::QueryTooComplex => StatusCode::BAD_REQUEST,
            TraceCode::UnknownPack | TraceCode::NoSuchResource => StatusCode::NOT_FOUND,
            TraceCode::Unauthenticated => StatusCode::UNAUTHORIZED,
            TraceCode::CaptureNotConfigured | TraceCode::UnknownCaptureToken => {
                StatusCode::FORBIDDEN
            }
        }
    }
}

/// The trace contract's wasm, built from `contracts/system/trace/contract` by
/// `contracts/build-system-contracts.sh` (a test checks the bytes match the sources' build).
pub const TRACE_WASM: &[u8] = include_bytes!("../../../../contracts/wasm/trace.wasm");

/// The module's name, also its storage namespace.
pub const MODULE_NAME: &str = "trace";

/// The traceability module, as the composition root registers it.
#[derive(Debug, Default)]
pub struct TraceModule {
    /// Member keys this node signs EPCIS captures with (each must be a registry member).
    capture_keys: Vec<SigningKey>,
}

impl TraceModule {
    pub fn new(capture_keys: Vec<SigningKey>) -> TraceModule {
        TraceModule { capture_keys }
    }

    /// The module's state on a node: what its routes share. Starts the module's indexing.
    pub fn state(&self, context: AppContext) -> Trace {
        let indexers: Indexers = Arc::new(Mutex::new(vec![Box::new(indexes::CaptureIndexer)]));
        context.spawn_indexing(&indexers);
        Trace {
            shared: Arc::new(Shared {
                indexers,
                organization_names: verification::OrganizationNames::default(),
                capture_keys: self.capture_keys.clone(),
                capture_jobs: epcis::CaptureJobs::default(),
                codecs: Codecs::new(self.codecs()),
                scans: scans::Scans::new(context.store().clone()),
                signing: Mutex::new(()),
                context,
            }),
        }
    }
}

impl AppModule for TraceModule {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn system_contracts(&self) -> Vec<SystemContract> {
        vec![SystemContract {
            id: rxchain_trace_types::CONTRACT_ID,
            wasm: TRACE_WASM,
        }]
    }

    fn codecs(&self) -> Vec<Arc<dyn ContractCodec>> {
        vec![Arc::new(codec::TraceCodec)]
    }

    fn router(&self, context: AppContext) -> Router {
        let state = self.state(context);
        Router::new()
            .route("/v1/trace/packs/{gtin}/{serial}", get(routes::pack_history))
            .route("/v1/labels/{gtin}/{serial}", get(routes::label))
            .route(
                "/01/{gtin}/21/{serial}",
                get(verification::pack_without_lot),
            )
            .route(
                "/01/{gtin}/10/{lot}/21/{serial}",
                get(verification::pack_with_lot),
            )
            .route("/code/{code}", get(verification::china_trace_code))
            .route(
                "/capture",
                // The token is checked before the body is read: a client without one gets
                // nothing buffered or parsed.
                post(epcis::capture)
                    .layer(DefaultBodyLimit::max(rxchain_epcis::DOCUMENT_BYTES_MAX))
                    .layer(axum::middleware::from_fn_with_state(
                        state.clone(),
                        epcis::require_capture_token,
                    ))
                    .get(epcis::capture_jobs),
            )
            .route("/capture/{capture_id}", get(epcis::capture_job))
            .route("/events", get(epcis::events))
            .route("/events/{event_id}", get(epcis::event))
            .route("/epcs/{epc}/events", get(epcis::epc_events))
            .with_state(state)
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Shared")
            .field("context", &self.context)
            .field("capture_jobs", &self.capture_jobs)
            .finish_non_exhaustive()
    }
}

/// What the module's routes share: the chain (through the client), and this module's state.
#[derive(Clone, Debug)]
pub struct Trace {
    shared: Arc<Shared>,
}

struct Shared {
    context: AppContext,
    /// This module's indexers (see [`indexes`]).
    indexers: Indexers,
    organization_names: verification::OrganizationNames,
    capture_keys: Vec<SigningKey>,
    capture_jobs: epcis::CaptureJobs,
    codecs: Codecs,
    scans: scans::Scans,
    /// Held while picking nonces and submitting calls signed with a capture key, so two
    /// captures for one key never choose the same nonce.
    signing: Mutex<()>,
}

impl Trace {
    /// The chain, through the chain client (call from blocking threads).
    pub fn client(&self) -> &dyn ChainClient {
        self.shared.context.client()
    }

    /// The node's attestation of what this module vouches for.
    pub fn context(&self) -> &AppContext {
        &self.shared.context
    }

    /// Whether a transaction was applied by an EPCIS capture (so its trace events are shown as
    /// the captured event, not again). Reads the index caught up to the committed head.
    pub fn applied_by_capture(
        &self,
        transaction: &rxchain_node::hash::Hash,
        signer: &[u8; 32],
    ) -> Result<bool, rxchain_node::api::ApiError> {
        indexes::applied_by_capture(self.context().store(), transaction, signer)
    }

    /// Brings the module's indexes up to the committed head (readers call it first).
    pub fn catch_up_indexes(&self) -> Result<u64, rxchain_node::api::ApiError> {
        self.shared
            .context
            .catch_up(&self.shared.indexers)
            .map_err(|error| {
                rxchain_node::api::ApiError::of(
                    rxchain_node::api::Code::Internal,
                    error.to_string(),
                )
            })
    }

    /// Organizations' display names for pages (cached).
    pub fn organization_names(&self) -> &verification::OrganizationNames {
        &self.shared.organization_names
    }

    fn signing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.shared.signing.lock().expect("signing lock")
    }

    pub fn capture_keys(&self) -> &[SigningKey] {
        &self.shared.capture_keys
    }

    pub fn capture_jobs(&self) -> &epcis::CaptureJobs {
        &self.shared.capture_jobs
    }

    /// The registry's and the trace contract's codecs.
    pub fn codecs(&self) -> &Codecs {
        &self.shared.codecs
    }

    pub fn scans(&self) -> &scans::Scans {
        &self.shared.scans
    }
}

/// Blocks from the head until a capture's transactions expire. An anchoring record is committed
/// within this many blocks of the calls it names, which bounds what a record may name.
pub const CAPTURE_EXPIRY_BLOCKS: u64 = 1_000;

/// Signs calls of the trace contract with `key` and submits them with consecutive nonces after
/// what the sender has committed and queued; returns each call's tag and transaction id.
pub fn submit_signed_calls<Tag>(
    trace: &Trace,
    key: &SigningKey,
    calls: Vec<(Tag, &str, Vec<u8>)>,
) -> Result<Vec<(Tag, rxchain_node::hash::Hash)>, rxchain_node::client::ClientError> {
    let client = trace.client();
    let _signing = trace.signing();
    let chain = client.chain()?;
    let expiry_height = client.head()?.height + CAPTURE_EXPIRY_BLOCKS;
    let first_nonce = client.next_free_nonce(&key.verifying_key().to_bytes())?;
    let mut submitted = Vec::with_capacity(calls.len());
    for (nonce, (tag, method, args)) in (first_nonce..).zip(calls) {
        let transaction = rxchain_node::transaction::TransactionBody::call(
            &chain.chain_id,
            key,
            nonce,
            expiry_height,
            rxchain_trace_types::CONTRACT_ID,
            method,
            args,
        )
        .sign(key);
        submitted.push((tag, client.submit(&transaction.encode())?));
    }
    Ok(submitted)
}
