//! The application seam: what a domain module (traceability, prescriptions, cold chain) adds to
//! a node, implemented once per domain.
//!
//! The chain core orders, executes and proves calls of contracts and knows no domain. A domain
//! is an [`AppModule`]: its name (also its storage namespace, [`crate::storage::ModuleStore`]),
//! the system contracts it brings into genesis, the JSON codecs of those contracts, and its HTTP
//! routes and pages. The composition root (the `rxchain` binary's crate) is the only place that
//! knows every module: it builds the list, hands it to [`crate::api::router`] and checks a
//! genesis against it ([`Modules::check_genesis`]). Modules depend on the core, never the other
//! way round (a test over `cargo metadata` keeps it so).

use crate::client::{ChainClient, LocalClient};
use crate::codec::{Codecs, ContractCodec};
use crate::runtime::Node;
use crate::storage::ModuleStore;
use rxchain_genesis::{Genesis, GenesisError};
use std::sync::Arc;

pub use rxchain_genesis::SystemContract;

/// One domain's host side.
pub trait AppModule: Send + Sync {
    /// Short unique name: `[a-z0-9-]`, also the module's storage namespace.
    fn name(&self) -> &'static str;

    /// The system contracts this module needs in genesis.
    fn system_contracts(&self) -> Vec<SystemContract> {
        Vec::new()
    }

    /// JSON codecs of this module's contracts (for the API's queries, receipts and events, and
    /// the CLI's `tx`).
    fn codecs(&self) -> Vec<Arc<dyn ContractCodec>> {
        Vec::new()
    }

    /// This module's HTTP routes and pages, with whatever state they need. The node API merges
    /// them; two modules claiming one route is a composition error found at start.
    fn router(&self, context: AppContext) -> axum::Router {
        let _ = context;
        axum::Router::new()
    }
}

/// What a module gets from the node it runs on: the chain client (its only way to the chain),
/// its own storage namespace, and the node's attestation. No module reaches the node's storage
/// or raw contract state.
#[derive(Clone, Debug)]
pub struct AppContext {
    client: Arc<dyn ChainClient>,
    store: ModuleStore,
    attester: Node,
}

impl AppContext {
    /// The context of module `name` on a node in this process.
    pub fn local(node: &Node, name: &str) -> AppContext {
        AppContext {
            client: Arc::new(LocalClient::new(node.clone())),
            store: node.module_store(name),
            attester: node.clone(),
        }
    }

    pub fn client(&self) -> &dyn ChainClient {
        self.client.as_ref()
    }

    /// The module's node-local storage namespace.
    pub fn store(&self) -> &ModuleStore {
        &self.store
    }

    /// This node's validator signature over `domain ‖ body` (see [`Node::attest`]).
    pub fn attest(&self, domain: &'static [u8], body: &[u8]) -> ([u8; 32], [u8; 64]) {
        self.attester.attest(domain, body)
    }
}

/// The modules a node runs, in the order the composition root listed them.
#[derive(Clone, Default)]
pub struct Modules {
    modules: Vec<Arc<dyn AppModule>>,
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_list()
            .entries(self.modules.iter().map(|module| module.name()))
            .finish()
    }
}

impl Modules {
    /// Panics when two modules share a name (a composition error, not an input).
    pub fn new(modules: Vec<Arc<dyn AppModule>>) -> Modules {
        for (index, module) in modules.iter().enumerate() {
            assert!(
                modules[..index]
                    .iter()
                    .all(|earlier| earlier.name() != module.name()),
                "two modules named '{}'",
                module.name()
            );
        }
        Modules { modules }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn AppModule>> {
        self.modules.iter()
    }

    /// The registry's codec and every module's.
    pub fn codecs(&self) -> Codecs {
        Codecs::new(self.modules.iter().flat_map(|module| module.codecs()))
    }

    /// Every module's system contracts, in module order.
    pub fn system_contracts(&self) -> Vec<SystemContract> {
        self.modules
            .iter()
            .flat_map(|module| module.system_contracts())
            .collect()
    }

    /// Checks that `genesis` deploys every system contract the modules need (the registry is
    /// the core's and [`Genesis::load`] checks it).
    pub fn check_genesis(&self, genesis: &Genesis) -> Result<(), GenesisError> {
        for contract in self.system_contracts() {
            if !genesis
                .contracts
                .iter()
                .any(|deployed| deployed.id == contract.id)
            {
                return Err(GenesisError::Invalid {
                    field: "contracts".into(),
                    message: format!("the system contract '{}' is missing", contract.id),
                });
            }
        }
        Ok(())
    }
}
