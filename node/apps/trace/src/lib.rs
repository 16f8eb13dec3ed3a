//! Traceability: the host side of rxchain's first domain, serialized drug packs from
//! commissioning to dispensing.
//!
//! It is an application module ([`TraceModule`], an [`AppModule`]) on the chain core's seam:
//! - on chain, the `trace` system contract (`contracts/system/trace`, its wasm embedded here as
//!   [`TRACE_WASM`]) with its types in `rxchain_contract_types::trace`;
//! - [`codec`]: the contract's JSON (methods, query results, events);
//! - [`epcis`]: EPCIS 2.0 capture (validated by `rxchain-epcis`, mapped to trace calls signed with
//!   the member keys this node holds for capture, anchored) and the standard's queries;
//! - [`verification`]: the GS1 Digital Link pages and proof bundles a pack's QR code points to,
//!   built by [`ledger`] and checked offline by [`proof`];
//! - [`label`]: QR codes and NFC records of a pack's Digital Link; [`routes`]: a pack's history;
//! - [`scans`]: node-local scan counts, in the module's own storage namespace.
//!
//! GS1 identifiers live in `rxchain-gs1` and the EPCIS model in `rxchain-epcis`, both beside
//! this crate under `node/apps/trace/`.

pub mod codec;
pub mod epcis;
pub mod label;
pub mod ledger;
pub mod proof;
pub mod routes;
pub mod scans;
pub mod verification;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::FromRef;
use axum::routing::{get, post};
use ed25519_dalek::SigningKey;
use rxchain_node::app::{AppModule, SystemContract};
use rxchain_node::codec::{Codecs, ContractCodec};
use rxchain_node::runtime::Node;
use std::sync::Arc;

/// The trace contract's wasm, built from `contracts/system/trace` by
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
}

impl AppModule for TraceModule {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn system_contracts(&self) -> Vec<SystemContract> {
        vec![SystemContract {
            id: rxchain_contract_types::trace::CONTRACT_ID,
            wasm: TRACE_WASM,
        }]
    }

    fn codecs(&self) -> Vec<Arc<dyn ContractCodec>> {
        vec![Arc::new(codec::TraceCodec)]
    }

    fn router(&self, node: &Node) -> Router {
        let state = Trace {
            node: node.clone(),
            shared: Arc::new(Shared {
                capture_keys: self.capture_keys.clone(),
                capture_jobs: epcis::CaptureJobs::default(),
                codecs: Codecs::new(self.codecs()),
                scans: scans::Scans::new(node.module_store(MODULE_NAME)),
            }),
        };
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
                post(epcis::capture)
                    .get(epcis::capture_jobs)
                    .layer(DefaultBodyLimit::max(rxchain_epcis::DOCUMENT_BYTES_MAX)),
            )
            .route("/capture/{capture_id}", get(epcis::capture_job))
            .route("/events", get(epcis::events))
            .route("/events/{event_id}", get(epcis::event))
            .route("/epcs/{epc}/events", get(epcis::epc_events))
            .with_state(state)
    }
}

/// What the module's routes share: the node, and this module's state on it.
#[derive(Clone, Debug)]
pub struct Trace {
    node: Node,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    capture_keys: Vec<SigningKey>,
    capture_jobs: epcis::CaptureJobs,
    codecs: Codecs,
    scans: scans::Scans,
}

impl Trace {
    pub fn node(&self) -> &Node {
        &self.node
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

/// Routes that need only the node take it as their state.
impl FromRef<Trace> for Node {
    fn from_ref(trace: &Trace) -> Node {
        trace.node.clone()
    }
}
