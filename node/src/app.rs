//! The application seam: what a domain module (traceability, prescriptions, cold chain) adds to
//! a node, implemented once per domain.
//!
//! The chain core orders, executes and proves calls of contracts and knows no domain. A domain
//! is an [`AppModule`]: its name (also its storage namespace, [`crate::storage::ModuleStore`]),
//! the system contracts it brings into genesis, the JSON codecs of those contracts, and its HTTP
//! routes and pages, and its [`Indexer`]s (node-local data derived from committed blocks, kept
//! in its namespace). The composition root (the `rxchain` binary's crate) is the only place that
//! knows every module: it builds the list, hands it to [`crate::api::router`] and checks a
//! genesis against it ([`Modules::check_genesis`]). Modules depend on the core, never the other
//! way round (a test over `cargo metadata` keeps it so).

use crate::block::Block;
use crate::client::{ChainClient, LocalClient};
use crate::codec::{Codecs, ContractCodec};
use crate::receipt::Receipt;
use crate::runtime::Node;
use crate::storage::{ModuleBatch, ModuleStore};
use rxchain_genesis::{Genesis, GenesisError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    /// The node this context is on: for attestations, and for feeding indexers committed
    /// blocks (the module itself never sees the node).
    node: Node,
}

impl AppContext {
    /// The context of module `name` on a node in this process.
    pub fn local(node: &Node, name: &str) -> AppContext {
        AppContext {
            client: Arc::new(LocalClient::new(node.clone())),
            store: node.module_store(name),
            node: node.clone(),
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
        self.node.attest(domain, body)
    }

    /// Brings every indexer of `indexers` up to the committed head, a block at a time, each
    /// block's index writes stored with the indexer's cursor in one batch (so a crash redoes
    /// at most the blocks not yet written, never half of one). A reader calls it before using
    /// an index, so it sees what is committed; [`AppContext::spawn_indexing`] keeps indexes
    /// warm between readers. Returns the height indexed to.
    pub fn catch_up(&self, indexers: &Mutex<Vec<Box<dyn Indexer>>>) -> Result<u64, IndexerError> {
        let mut indexers = indexers.lock().expect("indexers lock");
        let head = self.node.head().height;
        let storage = self.node.storage();
        for indexer in indexers.iter_mut() {
            let cursor_key = [INDEXER_CURSOR_PREFIX, indexer.name().as_bytes()].concat();
            let mut indexed = match self.store.get(&cursor_key)? {
                Some(bytes) => u64::from_be_bytes(bytes.try_into().map_err(|_| {
                    IndexerError::Corrupt(format!("cursor of indexer '{}'", indexer.name()))
                })?),
                None => 0,
            };
            while indexed < head {
                let height = indexed + 1;
                let block = storage.block(height)?.ok_or_else(|| {
                    IndexerError::Corrupt(format!("committed block {height} is missing"))
                })?;
                let mut batch = self.store.batch();
                indexer.index_block(
                    &IndexedBlock {
                        block: &block,
                        storage,
                    },
                    &mut batch,
                )?;
                batch.put(&cursor_key, &height.to_be_bytes());
                self.store.write(batch)?;
                indexed = height;
            }
        }
        Ok(head)
    }

    /// Keeps `indexers` caught up in a thread of their own while `indexers` is alive elsewhere
    /// (the thread holds it weakly and ends with it). A failing indexer is logged and retried at
    /// the next block; readers get its error from [`AppContext::catch_up`].
    pub fn spawn_indexing(&self, indexers: &Indexers) {
        let context = self.clone();
        let indexers = Arc::downgrade(indexers);
        let mut heads = self.node.subscribe_head();
        std::thread::Builder::new()
            .name("rxchain-indexer".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                else {
                    tracing::error!("indexing thread has no timer; indexes follow readers only");
                    return;
                };
                loop {
                    let Some(indexers) = indexers.upgrade() else {
                        return;
                    };
                    if let Err(error) = context.catch_up(&indexers) {
                        tracing::error!(%error, "indexing failed");
                    }
                    drop(indexers);
                    // Wake on the next block, or now and then to notice the module is gone.
                    let woke = runtime.block_on(async {
                        tokio::time::timeout(
                            Duration::from_millis(INDEXING_IDLE_WAKE_MS),
                            heads.changed(),
                        )
                        .await
                    });
                    if matches!(woke, Ok(Err(_))) {
                        return;
                    }
                }
            })
            .expect("an indexing thread starts");
    }
}

/// A module's indexers, shared by its readers and its indexing thread.
pub type Indexers = Arc<Mutex<Vec<Box<dyn Indexer>>>>;

/// Key prefix (inside a module's namespace) of each indexer's cursor: the last height indexed.
const INDEXER_CURSOR_PREFIX: &[u8] = b"indexer-cursor/";
/// How often an idle indexing thread wakes without a new block, at most.
const INDEXING_IDLE_WAKE_MS: u64 = 1_000;

/// A committed block as an indexer sees it: the block, and its receipts on demand. Indexing
/// runs beside the node's own work on every block; an indexer that needs the receipts of a few
/// calls (as the trace module's needs those of EPCIS anchoring calls) reads only those, instead
/// of every receipt of every block.
#[derive(Debug)]
pub struct IndexedBlock<'a> {
    pub block: &'a Block,
    storage: &'a crate::storage::Storage,
}

impl IndexedBlock<'_> {
    /// The height of the block that committed transaction `id`, if one did (up to this block).
    pub fn transaction_height(&self, id: &crate::hash::Hash) -> Result<Option<u64>, IndexerError> {
        Ok(self
            .storage
            .transaction_location(id)?
            .map(|location| location.height))
    }

    /// The receipt of the block's transaction at `index`.
    pub fn receipt(&self, index: usize) -> Result<Receipt, IndexerError> {
        let height = self.block.header.height;
        let transaction = self
            .block
            .transactions
            .get(index)
            .ok_or(IndexerError::NoSuchTransaction { height, index })?;
        self.storage
            .receipt(&transaction.id())?
            .ok_or_else(|| IndexerError::Corrupt(format!("a receipt of block {height} is missing")))
    }
}

/// Node-local data a module derives from committed blocks (reth's execution extensions are
/// the model): fed every committed block in order, exactly once, writing into the module's
/// namespace.
pub trait Indexer: Send {
    /// Unique within the module: its cursor is stored under this name.
    fn name(&self) -> &'static str;

    /// Indexes one block: its writes go into `batch`, stored with the cursor.
    fn index_block(
        &mut self,
        block: &IndexedBlock<'_>,
        batch: &mut ModuleBatch,
    ) -> Result<(), IndexerError>;
}

/// Why indexing stopped.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Node(#[from] crate::NodeError),
    #[error("index data is corrupt: {0}")]
    Corrupt(String),
    #[error("block {height} has no transaction {index}")]
    NoSuchTransaction { height: u64, index: usize },
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
