//! The composition root: every application module the `rxchain` binary runs. This is the one
//! place that names them all; the chain core and each module know only themselves.

use ed25519_dalek::SigningKey;
use rxchain_node::app::{Modules, SystemContract};
use std::sync::Arc;

/// The modules of a node, with the member keys it holds for EPCIS capture.
pub fn modules(capture_keys: Vec<SigningKey>) -> Modules {
    Modules::new(vec![Arc::new(rxchain_trace::TraceModule::new(
        capture_keys,
    ))])
}

/// The system contracts every module needs, for a new genesis.
pub fn system_contracts() -> Vec<SystemContract> {
    modules(Vec::new()).system_contracts()
}
