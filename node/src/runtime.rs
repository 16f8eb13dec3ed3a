//! The node runtime: admission, the consensus driver, block building and commit.
//!
//! [`Node::open`] opens the RocksDB folder, applies genesis on first start (or checks that the
//! folder belongs to this genesis), and compiles the deployed contracts. [`Node::start`] starts
//! the driver thread: it feeds the pure consensus engine time and the mempool's backlog, builds
//! a block when the engine asks (select from the mempool, execute, sign the certificate) and
//! commits it when the engine says it is final. Block execution is CPU work and runs on this
//! dedicated thread, never on the async API's workers.

use crate::NodeError;
use crate::block::{
    Block, BlockHeader, FinalityCertificate, transactions_root, validator_set_hash,
};
use crate::executor::{DEPLOY_METHOD, Executor, SYSTEM_CONTRACT};
use crate::hash::Hash;
use crate::mempool::{Mempool, MempoolLimits, MempoolRefusal};
use crate::metrics::Metrics;
use crate::network::gossip;
use crate::receipt::{Event, Receipt, ReceiptStatus, receipts_root};
use crate::state::{Ancestors, OverlayReader, next_state_root};
use crate::storage::{BlockEffects, CommittedBlock, EventLocation, Head, Storage};
use crate::transaction::SignedTransaction;
use crate::validation::{
    EXPIRY_BLOCKS_AHEAD_MAX, NONCE_GAP_MAX, TRANSACTION_BYTES_MAX, TransactionError,
};
use ed25519_dalek::SigningKey;
use rxchain_consensus::solo::{SoloConfig, SoloEngine};
use rxchain_consensus::{ConsensusEngine, Effect, Input};
use rxchain_contract_host::{CallContext, ContractHost, Entry, HostError, HostLimits};
use rxchain_contract_types::{PublicKeyBytes, registry};
use rxchain_genesis::{Consensus, Genesis};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

mod attestations;
mod block_sync;
mod bridge;
mod driver_limits;
mod proposals;
mod raft_replica;
mod replica;
pub use replica::ReplicaNetwork;
pub use replica::simulated;

/// Transactions kept for a later gossip when no peer took them, at most (the oldest go first).
const UNSENT_GOSSIP_MAX: usize = 10_000;

/// How often the driver wakes without news, at most.
const DRIVER_TICK_MS_MAX: u64 = 20;

/// What a node needs to run.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub genesis: Genesis,
    /// The validator's signing key; its public key must be a genesis validator.
    pub validator_key: SigningKey,
    pub mempool: MempoolLimits,
    pub host: HostLimits,
}

enum DriverMessage {
    Wake,
    Stop,
    /// A consensus message from a validator (the network authenticated the peer).
    Consensus {
        from: [u8; 32],
        bytes: Vec<u8>,
    },
    /// The answer to a block sync request.
    Synced {
        from: [u8; 32],
        result: Result<Vec<u8>, String>,
    },
    /// Raft: this node applied a block (to be attested).
    Applied {
        height: u64,
        hash: Hash,
    },
    /// Raft: one of the leader's proposals in flight was committed (`true`) or dropped.
    ProposalDone {
        committed: bool,
    },
}

struct Inner {
    storage: Arc<Storage>,
    executor: Executor,
    /// Read-only queries run on a host of their own, so API load can never take the instance
    /// slots block execution needs (which would make execution depend on traffic).
    query_host: Arc<ContractHost>,
    genesis: Genesis,
    genesis_hash: Hash,
    validator_key: SigningKey,
    validators: Vec<[u8; 32]>,
    mempool: Mutex<Mempool>,
    metrics: Metrics,
    head: watch::Sender<Head>,
    wake: Mutex<Option<mpsc::Sender<DriverMessage>>>,
    /// A wake-up is queued for the driver and not yet taken: admissions in between send no
    /// other (one driver pass serves them all; a message per transaction cost a thread
    /// wake-up per transaction).
    wake_pending: std::sync::atomic::AtomicBool,
    /// With a multi-node engine: where admitted transactions are gossiped.
    gossip: Mutex<Option<(crate::network::NetworkHandle, tokio::runtime::Handle)>>,
    /// Admitted transactions waiting to be gossiped in one batch.
    gossip_outbox: Mutex<gossip::Outbox>,
    /// Gossip messages received and waiting for admission.
    gossip_inbox: Mutex<GossipInbox>,
    /// Transactions admitted while no peer could take them; gossiped when a peer subscribes.
    unsent_gossip: Mutex<VecDeque<Vec<u8>>>,
    /// Why block production stopped for good (a diverging state root, a failed write).
    halted: Mutex<Option<String>>,
    faults: Faults,
    /// What the drivers take the time from.
    clock: Clock,
}

/// Gossip messages waiting for the admission task.
#[derive(Default)]
struct GossipInbox {
    messages: Vec<Vec<u8>>,
    bytes: usize,
    worker_running: bool,
}

/// Bytes of received gossip waiting for admission, at most.
const GOSSIP_INBOX_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Fault injection for tests of a multi-node chain (off unless the node config enables it).
#[derive(Default)]
struct Faults {
    enabled: std::sync::atomic::AtomicBool,
    /// Cut off: no consensus message, block sync or gossip in or out (connections stay up).
    isolated: Arc<std::sync::atomic::AtomicBool>,
    /// Consensus messages and gossip from peers are held this long before this node handles
    /// them: a one-way network latency, as between members' data centres.
    delay_ms: std::sync::atomic::AtomicU64,
}

/// The longest inbound delay fault injection may set.
pub const FAULT_DELAY_MS_MAX: u64 = 10_000;

/// A running (or ready to run) node. Cheap to clone; clones share the node.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
    driver: Arc<Mutex<Option<std::thread::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Node")
            .field("chain_id", &self.inner.genesis.chain_id)
            .field("head", &*self.inner.head.borrow())
            .finish()
    }
}

/// Where a node's drivers read the time: the system clock, or a virtual clock that a
/// deterministic simulation sets (so a seed replays the same run, and hours of timeouts pass
/// in moments).
#[derive(Clone, Debug, Default)]
pub enum Clock {
    #[default]
    System,
    /// Milliseconds since the Unix epoch, as the simulation sets them.
    Virtual(Arc<std::sync::atomic::AtomicU64>),
}

impl Clock {
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System => now_ms(),
            Clock::Virtual(milliseconds) => milliseconds.load(Ordering::SeqCst),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_millis() as u64)
        .unwrap_or(0)
}

/// The effects of genesis: the registry's founding records and the system contracts.
pub fn genesis_effects(genesis: &Genesis) -> BlockEffects {
    let mut effects = BlockEffects::default();
    let registry_id = registry::CONTRACT_ID.to_string();
    let mut put = |key: Vec<u8>, value: Vec<u8>| {
        effects
            .state_writes
            .insert((registry_id.clone(), key), Some(value));
    };
    for organization in &genesis.organizations {
        put(
            registry::keys::organization(&organization.id),
            borsh::to_vec(organization).expect("encodes"),
        );
    }
    for member in &genesis.members {
        put(
            registry::keys::member(&member.public_key),
            borsh::to_vec(member).expect("encodes"),
        );
    }
    for validator in &genesis.validators {
        put(
            registry::keys::validator(&validator.public_key),
            borsh::to_vec(validator).expect("encodes"),
        );
    }
    let admin_count = genesis
        .organizations
        .iter()
        .filter(|organization| organization.admin)
        .count() as u32;
    put(
        registry::keys::ADMIN_ORGANIZATION_COUNT.to_vec(),
        borsh::to_vec(&admin_count).expect("encodes"),
    );
    put(
        registry::keys::NEXT_PROPOSAL_ID.to_vec(),
        borsh::to_vec(&1u64).expect("encodes"),
    );
    for contract in &genesis.contracts {
        effects
            .contracts
            .insert(contract.id.clone(), contract.code_hash);
        effects
            .code
            .insert(contract.code_hash, contract.code.clone());
    }
    effects
}

fn validator_keys(genesis: &Genesis) -> Vec<[u8; 32]> {
    genesis
        .validators
        .iter()
        .map(|validator| validator.public_key.0)
        .collect()
}

/// The genesis block (height 0): no transactions, no certificate; trusted by its hash.
pub fn genesis_block(genesis: &Genesis) -> (CommittedBlock, Hash) {
    let effects = genesis_effects(genesis);
    let state_root = next_state_root(&[0; 32], &effects);
    let header = BlockHeader {
        version: crate::block::BLOCK_VERSION,
        chain_id: genesis.chain_id.clone(),
        height: 0,
        previous_hash: genesis.hash(),
        timestamp_ms: genesis.genesis_time_ms,
        proposer: [0; 32],
        transactions_root: transactions_root(&[]),
        receipts_root: receipts_root(&[]),
        state_root,
        validator_set_hash: validator_set_hash(&validator_keys(genesis)),
    };
    (
        CommittedBlock {
            block: Block {
                header,
                transactions: Vec::new(),
            },
            certificate: None,
            effects: Arc::new(effects),
        },
        state_root,
    )
}

/// Opens `storage` for `genesis`: applies it on an empty database, or checks the stored
/// genesis hash. Returns the head.
pub fn open_chain(storage: &Storage, genesis: &Genesis) -> Result<Head, NodeError> {
    let genesis_hash = genesis.hash();
    match (storage.genesis_hash()?, storage.head()?) {
        (Some(stored), Some(head)) => {
            if stored != genesis_hash {
                return Err(NodeError::GenesisMismatch {
                    stored: hex::encode(stored),
                    configured: hex::encode(genesis_hash),
                });
            }
            Ok(head)
        }
        (None, None) => {
            let (block, _) = genesis_block(genesis);
            storage.commit_block(&block, Some(&genesis_hash))
        }
        _ => Err(NodeError::Corrupt(
            "the data folder has a head without a genesis hash, or the reverse".into(),
        )),
    }
}

/// Re-executes every block of `source` from genesis into the empty `target` and checks each
/// state root against the block header. Returns the state roots by height (0 = genesis).
pub fn replay_chain(
    source: &Storage,
    genesis: &Genesis,
    executor: &Executor,
    target: &Arc<Storage>,
) -> Result<Vec<Hash>, NodeError> {
    let mut head = open_chain(target, genesis)?;
    let mut roots = vec![head.state_root];
    let source_head = source
        .head()?
        .ok_or_else(|| NodeError::Corrupt("source has no head".into()))?;
    for height in 1..=source_head.height {
        let block = source
            .block(height)?
            .ok_or_else(|| NodeError::Corrupt(format!("block {height} is missing")))?;
        let effects = executor.execute_block(
            target,
            &Ancestors::none(),
            height,
            block.header.timestamp_ms,
            &block.transactions,
        )?;
        let computed = next_state_root(&head.state_root, &effects);
        if computed != block.header.state_root {
            return Err(NodeError::StateRootMismatch {
                height,
                expected: hex::encode(block.header.state_root),
                computed: hex::encode(computed),
            });
        }
        let certificate = source.certificate(height)?;
        head = target.commit_block(
            &CommittedBlock {
                block,
                certificate,
                effects: Arc::new(effects),
            },
            None,
        )?;
        roots.push(computed);
    }
    Ok(roots)
}

/// A transaction's status as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransactionStatus {
    Pending,
    Committed {
        height: u64,
        index: u32,
        receipt: Receipt,
    },
    Unknown,
}

/// Why a read-only query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no contract '{0}'")]
    UnknownContract(String),
    #[error("contract '{contract}' has no query '{name}'")]
    UnknownQuery { contract: String, name: String },
    #[error("{code}: {message}")]
    Failed { code: String, message: String },
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// An indexed event with where it happened.
#[derive(Clone, Debug)]
pub struct LocatedEvent {
    pub location: EventLocation,
    pub event: Event,
}

impl Node {
    /// Opens the data folder and prepares the node; call [`Node::start`] to produce blocks.
    pub fn open(config: NodeConfig) -> Result<Node, NodeError> {
        Node::open_with_clock(config, Clock::System)
    }

    /// [`Node::open`] with the clock its drivers read (a simulation's virtual one).
    pub fn open_with_clock(config: NodeConfig, clock: Clock) -> Result<Node, NodeError> {
        let validators = validator_keys(&config.genesis);
        let own_key = config.validator_key.verifying_key().to_bytes();
        if !validators.contains(&own_key) {
            return Err(NodeError::Config(format!(
                "validator key {} is not a validator in genesis",
                hex::encode(own_key)
            )));
        }
        std::fs::create_dir_all(&config.data_dir)?;
        let storage = Arc::new(Storage::open(&config.data_dir.join("db"))?);
        let head = open_chain(&storage, &config.genesis)?;
        let host = Arc::new(ContractHost::new(
            config.host.clone(),
            Some(config.data_dir.join("module-cache")),
        )?);
        let executor = Executor::new(host);
        let query_host = Arc::new(ContractHost::new(
            config.host.clone(),
            Some(config.data_dir.join("module-cache")),
        )?);
        for (_, code_hash) in storage.contracts()? {
            executor.ensure_loaded(&storage, &code_hash, None)?;
            load_into(&query_host, &storage, &code_hash)?;
        }
        let metrics = Metrics::default();
        Metrics::set(&metrics.head_height, head.height);
        let (head_sender, _) = watch::channel(head);
        Ok(Node {
            inner: Arc::new(Inner {
                storage,
                executor,
                query_host,
                genesis_hash: config.genesis.hash(),
                genesis: config.genesis,
                validator_key: config.validator_key,
                validators,
                mempool: Mutex::new(Mempool::new(config.mempool)),
                metrics,
                head: head_sender,
                wake: Mutex::new(None),
                wake_pending: std::sync::atomic::AtomicBool::new(false),
                gossip: Mutex::new(None),
                gossip_outbox: Mutex::new(gossip::Outbox::default()),
                gossip_inbox: Mutex::new(GossipInbox::default()),
                unsent_gossip: Mutex::new(VecDeque::new()),
                halted: Mutex::new(None),
                faults: Faults::default(),
                clock,
            }),
            driver: Arc::new(Mutex::new(None)),
        })
    }

    /// Starts the consensus driver thread of a solo chain.
    pub fn start(&self) -> Result<(), NodeError> {
        let mut driver = self.driver.lock().expect("driver lock");
        if driver.is_some() {
            return Ok(());
        }
        let Consensus::Solo(parameters) = &self.inner.genesis.consensus else {
            return Err(NodeError::Config(format!(
                "a {} chain needs the network: start it with a listen address and peers",
                self.inner.genesis.consensus.kind()
            )));
        };
        let engine = SoloEngine::new(
            SoloConfig {
                block_interval_ms: parameters.block_interval_ms,
                block_transactions_max: parameters.block_transactions_max,
                block_bytes_max: parameters.block_bytes_max,
                empty_blocks: parameters.empty_blocks,
            },
            self.head().height + 1,
            self.inner.now_ms(),
        )?;
        let tick_ms = (parameters.block_interval_ms / 2).clamp(1, DRIVER_TICK_MS_MAX);
        let (sender, receiver) = mpsc::channel();
        *self.inner.wake.lock().expect("wake lock") = Some(sender);
        let inner = self.inner.clone();
        *driver = Some(
            std::thread::Builder::new()
                .name("rxchain-driver".into())
                .spawn(move || drive(inner, Box::new(engine), receiver, tick_ms))?,
        );
        Ok(())
    }

    /// Starts a replica of a multi-node chain: the libp2p network (listening on
    /// `network.listen`, dialing `network.peers`) and the consensus driver. Must be called
    /// inside a tokio runtime.
    pub fn start_replica(&self, network: replica::ReplicaNetwork) -> Result<(), NodeError> {
        let mut driver = self.driver.lock().expect("driver lock");
        if driver.is_some() {
            return Ok(());
        }
        *driver = Some(match &self.inner.genesis.consensus {
            Consensus::Raft(_) => raft_replica::start(self, network)?,
            _ => replica::start(self, network)?,
        });
        Ok(())
    }

    fn require_fault_injection(&self) -> Result<(), NodeError> {
        if !self
            .inner
            .faults
            .enabled
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(NodeError::Config(
                "fault injection is off; enable it with fault_injection = true in the node config"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Cuts this node off from the other validators (or heals it). Refused unless the node
    /// was started with fault injection enabled.
    pub fn set_isolated(&self, isolated: bool) -> Result<(), NodeError> {
        use std::sync::atomic::Ordering;
        self.require_fault_injection()?;
        self.inner
            .faults
            .isolated
            .store(isolated, Ordering::Relaxed);
        tracing::warn!(isolated, "fault injection: isolation changed");
        Ok(())
    }

    /// Holds inbound consensus messages and gossip for `milliseconds` before handling them
    /// (0 turns it off). Refused unless the node was started with fault injection enabled.
    pub fn set_inbound_delay(&self, milliseconds: u64) -> Result<(), NodeError> {
        use std::sync::atomic::Ordering;
        self.require_fault_injection()?;
        if milliseconds > FAULT_DELAY_MS_MAX {
            return Err(NodeError::Config(format!(
                "an inbound delay is at most {FAULT_DELAY_MS_MAX} ms"
            )));
        }
        self.inner
            .faults
            .delay_ms
            .store(milliseconds, Ordering::Relaxed);
        tracing::warn!(milliseconds, "fault injection: inbound delay changed");
        Ok(())
    }

    /// The inbound delay fault injection set (0: none).
    pub fn inbound_delay_ms(&self) -> u64 {
        self.inner
            .faults
            .delay_ms
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether fault injection has cut this node off.
    pub fn is_isolated(&self) -> bool {
        self.inner
            .faults
            .isolated
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Why the node stopped producing blocks, if it did (it keeps serving reads).
    pub fn halted(&self) -> Option<String> {
        self.inner.halted.lock().expect("halted lock").clone()
    }

    /// Stops the driver after the block in progress (if any) is committed.
    pub fn shutdown(&self) {
        if let Some(sender) = self.inner.wake.lock().expect("wake lock").take() {
            let _ = sender.send(DriverMessage::Stop);
        }
        if let Some(handle) = self.driver.lock().expect("driver lock").take() {
            let _ = handle.join();
        }
    }

    pub fn genesis(&self) -> &Genesis {
        &self.inner.genesis
    }

    pub fn genesis_hash(&self) -> Hash {
        self.inner.genesis_hash
    }

    pub fn storage(&self) -> &Arc<Storage> {
        &self.inner.storage
    }

    pub fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn head(&self) -> Head {
        self.inner.head.borrow().clone()
    }

    /// A receiver that sees every new head.
    pub fn subscribe_head(&self) -> watch::Receiver<Head> {
        self.inner.head.subscribe()
    }

    pub fn mempool_len(&self) -> usize {
        self.inner.mempool.lock().expect("mempool lock").len()
    }

    /// The validator public keys of the chain.
    pub fn validators(&self) -> &[[u8; 32]] {
        &self.inner.validators
    }

    /// This node's validator signature over `domain ‖ body`, for answers a module vouches for
    /// (e.g. a proof bundle). `domain` must name an attestation, so the key can never be made
    /// to sign something that reads as a consensus vote, a certificate or a transaction.
    pub fn attest(&self, domain: &'static [u8], body: &[u8]) -> ([u8; 32], [u8; 64]) {
        assert!(
            domain.starts_with(b"rxchain/")
                && domain.windows(12).any(|part| part == b"-attestation"),
            "an attestation domain is rxchain/<what>-attestation/<version>"
        );
        use ed25519_dalek::Signer;
        let mut message = Vec::with_capacity(domain.len() + body.len());
        message.extend_from_slice(domain);
        message.extend_from_slice(body);
        let key = &self.inner.validator_key;
        (
            key.verifying_key().to_bytes(),
            key.sign(&message).to_bytes(),
        )
    }

    /// The node-local storage namespace of the application module `name`.
    pub fn module_store(&self, name: &str) -> crate::storage::ModuleStore {
        crate::storage::ModuleStore::new(self.inner.storage.clone(), name)
    }

    /// Checks and queues a transaction's canonical bytes; returns its id. On a multi-node
    /// chain an admitted transaction is also gossiped to the other nodes.
    pub fn submit(&self, bytes: &[u8]) -> Result<Hash, TransactionError> {
        let result = self.submit_from_peer(bytes);
        if result.is_ok() {
            self.gossip(bytes.to_vec());
        }
        result
    }

    /// Queues an admitted transaction for the next gossip batch (see [`gossip`]).
    fn gossip(&self, bytes: Vec<u8>) {
        let Some((network, runtime)) = self.inner.gossip.lock().expect("gossip lock").clone()
        else {
            return;
        };
        if self.is_isolated() {
            return;
        }
        let push = self
            .inner
            .gossip_outbox
            .lock()
            .expect("gossip lock")
            .push(bytes);
        let node = self.clone();
        match push {
            gossip::Push::PublishNow(batch) => {
                runtime.spawn(async move { node.publish_batch(&network, batch).await });
            }
            gossip::Push::ScheduleFlush => {
                runtime.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(gossip::GOSSIP_BATCH_DELAY_MS)).await;
                    let batch = node.inner.gossip_outbox.lock().expect("gossip lock").take();
                    node.publish_batch(&network, batch).await;
                });
            }
            gossip::Push::Wait => {}
        }
    }

    /// Publishes a batch to the other nodes; transactions no peer took are kept and published
    /// again when a peer subscribes.
    async fn publish_batch(&self, network: &crate::network::NetworkHandle, batch: Vec<Vec<u8>>) {
        if batch.is_empty() {
            return;
        }
        if let Err(error) = network
            .publish_transactions(gossip::encode_batch(&batch))
            .await
        {
            tracing::debug!(%error, count = batch.len(), "gossiping transactions failed; kept for later");
            let mut unsent = self.inner.unsent_gossip.lock().expect("gossip lock");
            for transaction in batch {
                if unsent.len() >= UNSENT_GOSSIP_MAX {
                    unsent.pop_front();
                }
                unsent.push_back(transaction);
            }
        }
    }

    /// Publishes again what no peer took (called when a peer subscribes).
    fn gossip_unsent(&self) {
        let unsent: Vec<Vec<u8>> = self
            .inner
            .unsent_gossip
            .lock()
            .expect("gossip lock")
            .drain(..)
            .collect();
        for bytes in unsent {
            self.gossip(bytes);
        }
    }

    /// Queues a gossip message for admission. One admission task at a time drains the queue,
    /// so under load the messages that arrived while it worked are verified together in one
    /// batch, and at low load a message waits for nothing.
    fn receive_gossip(&self, bytes: Vec<u8>) {
        let start_worker = {
            let mut queue = self.inner.gossip_inbox.lock().expect("gossip lock");
            if queue.bytes + bytes.len() > GOSSIP_INBOX_BYTES_MAX {
                // Admission is this far behind: drop rather than grow without bound. The
                // transactions still reach the primary by forwarding.
                tracing::warn!(bytes = bytes.len(), "gossip inbox full; a batch is dropped");
                return;
            }
            queue.bytes += bytes.len();
            queue.messages.push(bytes);
            !std::mem::replace(&mut queue.worker_running, true)
        };
        if start_worker {
            let node = self.clone();
            tokio::task::spawn_blocking(move || {
                loop {
                    let messages = {
                        let mut queue = node.inner.gossip_inbox.lock().expect("gossip lock");
                        if queue.messages.is_empty() {
                            queue.worker_running = false;
                            return;
                        }
                        queue.bytes = 0;
                        std::mem::take(&mut queue.messages)
                    };
                    node.admit_gossip(&messages);
                }
            });
        }
    }

    /// Admits the transactions of gossip messages as a peer sent them (the network bridge's
    /// path; public for tests and tools). Refusals, duplicates above all, are normal: gossipsub
    /// forwards the messages itself. They are counted in the metrics by reason.
    pub fn admit_gossip(&self, messages: &[Vec<u8>]) {
        let mut batch = Vec::new();
        for bytes in messages {
            match gossip::decode_batch(bytes) {
                Some(transactions) => batch.extend(transactions),
                None => tracing::warn!(bytes = bytes.len(), "undecodable gossip batch"),
            }
        }
        // Cheap checks one by one, then the survivors' signatures in one batch verification.
        let mut candidates = Vec::with_capacity(batch.len());
        for transaction_bytes in &batch {
            match self.precheck(transaction_bytes) {
                Ok((transaction, id)) => {
                    candidates.push((transaction, id, transaction_bytes.len()))
                }
                Err(error) => self.inner.metrics.reject(error.code()),
            }
        }
        let verdicts = crate::transaction::verify_each(
            &candidates
                .iter()
                .map(|(transaction, _, _)| transaction)
                .collect::<Vec<_>>(),
        );
        let mut admitted = 0;
        for ((transaction, id, size), verified) in candidates.into_iter().zip(verdicts) {
            let result = if verified {
                self.queue_verified(transaction, id, size)
            } else {
                Err(TransactionError::BadSignature)
            };
            match result {
                Ok(_) => admitted += 1,
                Err(error) => self.inner.metrics.reject(error.code()),
            }
        }
        if admitted > 0 {
            Metrics::add(&self.inner.metrics.transactions_admitted, admitted);
            self.wake_driver();
        }
    }

    /// Checks and queues a transaction that arrived by gossip (gossipsub forwards it itself).
    pub fn submit_from_peer(&self, bytes: &[u8]) -> Result<Hash, TransactionError> {
        let result = self.admit(bytes);
        match &result {
            Ok(_) => {
                Metrics::add(&self.inner.metrics.transactions_admitted, 1);
                self.wake_driver();
            }
            Err(error) => self.inner.metrics.reject(error.code()),
        }
        result
    }

    /// Tells the driver that transactions arrived, unless a wake-up is already queued.
    fn wake_driver(&self) {
        if self.inner.wake_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(sender) = self.inner.wake.lock().expect("wake lock").as_ref() {
            let _ = sender.send(DriverMessage::Wake);
        }
    }

    fn storage_failure(error: NodeError) -> TransactionError {
        // Admission cannot judge a transaction without state; say so rather than guess.
        TransactionError::Unavailable(format!("storage: {error}"))
    }

    fn admit(&self, bytes: &[u8]) -> Result<Hash, TransactionError> {
        let (transaction, id) = self.precheck(bytes)?;
        if !transaction.verify_signature() {
            return Err(TransactionError::BadSignature);
        }
        self.queue_verified(transaction, id, bytes.len())
    }

    /// Every admission check but the signature, cheapest first: gossip and forwarding bring
    /// the same transaction many times, and late copies of committed ones, which are refused
    /// here without a signature verification.
    fn precheck(&self, bytes: &[u8]) -> Result<(SignedTransaction, Hash), TransactionError> {
        if bytes.len() > TRANSACTION_BYTES_MAX {
            return Err(TransactionError::Oversized {
                bytes: bytes.len(),
                limit: TRANSACTION_BYTES_MAX,
            });
        }
        let transaction = SignedTransaction::decode(bytes)?;
        // Borsh decoding accepts canonical bytes only, so these bytes are the encoding the id
        // hashes (`transaction::tests::encoding_round_trips_and_is_canonical`; checked again
        // in debug builds).
        let id = crate::hash::sm3(bytes);
        debug_assert_eq!(
            id,
            transaction.id(),
            "decoding accepts canonical bytes only"
        );
        if self
            .inner
            .mempool
            .lock()
            .expect("mempool lock")
            .contains(&id)
        {
            return Err(TransactionError::Duplicate);
        }
        let body = &transaction.body;
        if body.chain_id != self.inner.genesis.chain_id {
            return Err(TransactionError::WrongChain {
                expected: self.inner.genesis.chain_id.clone(),
                found: body.chain_id.clone(),
            });
        }
        let storage = &self.inner.storage;
        let sender = PublicKeyBytes(body.sender);
        let is_member = storage
            .state(registry::CONTRACT_ID, &registry::keys::member(&sender))
            .map_err(Self::storage_failure)?
            .is_some();
        if !is_member {
            return Err(TransactionError::Unauthorized(sender.to_hex()));
        }
        let next = storage
            .next_nonce(&body.sender)
            .map_err(Self::storage_failure)?;
        if body.nonce < next {
            return Err(TransactionError::NonceUsed {
                nonce: body.nonce,
                next,
            });
        }
        if body.nonce > next + NONCE_GAP_MAX {
            return Err(TransactionError::NonceGap {
                nonce: body.nonce,
                next,
                limit: NONCE_GAP_MAX,
            });
        }
        let next_height = self.head().height + 1;
        if body.expiry_height < next_height {
            return Err(TransactionError::Expired {
                expiry_height: body.expiry_height,
                next_height,
            });
        }
        if body.expiry_height > next_height + EXPIRY_BLOCKS_AHEAD_MAX {
            return Err(TransactionError::ExpiryTooFar {
                expiry_height: body.expiry_height,
                limit: EXPIRY_BLOCKS_AHEAD_MAX,
            });
        }
        self.check_target(&body.contract, &body.method)?;
        Ok((transaction, id))
    }

    /// Queues a prechecked transaction whose signature verified.
    fn queue_verified(
        &self,
        transaction: SignedTransaction,
        id: Hash,
        bytes: usize,
    ) -> Result<Hash, TransactionError> {
        let nonce = transaction.body.nonce;
        let storage = &self.inner.storage;
        let mut mempool = self.inner.mempool.lock().expect("mempool lock");
        let evicted = mempool
            .insert(transaction, id, bytes, |sender| {
                committed_nonce(storage, sender)
            })
            .map_err(|refusal| match refusal {
                MempoolRefusal::Duplicate => TransactionError::Duplicate,
                MempoolRefusal::Full(message) => TransactionError::MempoolFull(message),
                MempoolRefusal::ParkedFull { next_free } => TransactionError::MempoolFull(format!(
                    "nonce {nonce} waits for the sender's nonce {next_free}, and the sender's waiting transactions hold {} bytes, the limit",
                    crate::mempool::PARKED_BYTES_PER_SENDER_MAX
                )),
            })?;
        Metrics::add(&self.inner.metrics.mempool_evicted, evicted.len() as u64);
        Metrics::set(
            &self.inner.metrics.mempool_transactions,
            mempool.len() as u64,
        );
        Ok(id)
    }

    fn check_target(&self, contract: &str, method: &str) -> Result<(), TransactionError> {
        if contract == SYSTEM_CONTRACT {
            return if method == DEPLOY_METHOD {
                Ok(())
            } else {
                Err(TransactionError::UnknownMethod {
                    contract: contract.into(),
                    method: method.into(),
                })
            };
        }
        let hash = self
            .inner
            .storage
            .contract_code_hash(contract)
            .map_err(Self::storage_failure)?
            .ok_or_else(|| TransactionError::UnknownContract(contract.into()))?;
        let methods = self
            .inner
            .executor
            .host()
            .methods(&hash)
            .map_err(|error| TransactionError::UnknownContract(error.to_string()))?;
        if methods.iter().any(|known| known == method) {
            Ok(())
        } else {
            Err(TransactionError::UnknownMethod {
                contract: contract.into(),
                method: method.into(),
            })
        }
    }

    pub fn transaction_status(&self, id: &Hash) -> Result<TransactionStatus, NodeError> {
        let storage = &self.inner.storage;
        if let Some(location) = storage.transaction_location(id)? {
            let receipt = storage
                .receipt(id)?
                .ok_or_else(|| NodeError::Corrupt("receipt missing".into()))?;
            return Ok(TransactionStatus::Committed {
                height: location.height,
                index: location.index,
                receipt,
            });
        }
        if self
            .inner
            .mempool
            .lock()
            .expect("mempool lock")
            .contains(id)
        {
            return Ok(TransactionStatus::Pending);
        }
        Ok(TransactionStatus::Unknown)
    }

    /// Waits until the transaction is in a committed block or `timeout` passes.
    pub async fn wait_for_commit(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<Option<(u64, Receipt)>, NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut heads = self.subscribe_head();
        loop {
            if let TransactionStatus::Committed {
                height, receipt, ..
            } = self.transaction_status(id)?
            {
                return Ok(Some((height, receipt)));
            }
            match tokio::time::timeout_at(deadline, heads.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(NodeError::ShuttingDown),
                Err(_) => return Ok(None),
            }
        }
    }

    /// [`Node::wait_for_commit`] for a blocking thread (not from async code: it runs the wait on
    /// a runtime of its own).
    pub fn wait_for_commit_blocking(
        &self,
        id: &Hash,
        timeout: Duration,
    ) -> Result<Option<(u64, Receipt)>, NodeError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()?;
        runtime.block_on(self.wait_for_commit(id, timeout))
    }

    /// The sender's first nonce that is neither committed nor queued here.
    pub fn next_free_nonce(&self, sender: &[u8; 32]) -> Result<u64, NodeError> {
        let committed = self.inner.storage.next_nonce(sender)?;
        Ok(self
            .inner
            .mempool
            .lock()
            .expect("mempool lock")
            .next_free_nonce(sender, committed))
    }

    /// Runs a read-only query against the committed state.
    pub fn query(&self, contract: &str, name: &str, args: Vec<u8>) -> Result<Vec<u8>, QueryError> {
        let storage = &self.inner.storage;
        let hash = storage
            .contract_code_hash(contract)?
            .ok_or_else(|| QueryError::UnknownContract(contract.into()))?;
        let head = self.head();
        let host = &self.inner.query_host;
        // A contract deployed after start is compiled for queries on first use.
        load_into(host, storage, &hash)?;
        let context = CallContext {
            contract_id: contract.into(),
            caller: [0; 32],
            block_height: head.height,
            block_time_ms: head.timestamp_ms,
            fuel_limit: host.limits().fuel_per_call_max,
        };
        let reader = Arc::new(OverlayReader::new(storage.clone()));
        let outcome = host
            .call(&hash, Entry::Query(name), &context, args, reader)
            .map_err(|error| match error {
                HostError::UnknownEntry { .. } => QueryError::UnknownQuery {
                    contract: contract.into(),
                    name: name.into(),
                },
                other => QueryError::Node(other.into()),
            })?;
        match outcome.result {
            Ok(()) => Ok(outcome.return_data),
            Err(failure) => Err(QueryError::Failed {
                code: failure.code,
                message: failure.message,
            }),
        }
    }

    /// Events indexed under `topic`, in chain order.
    pub fn events(&self, topic: &str, limit: usize) -> Result<Vec<LocatedEvent>, NodeError> {
        self.events_after(topic, None, limit)
    }

    /// Events indexed under `topic` strictly after a position (height, transaction index, event
    /// index), in chain order.
    pub fn events_after(
        &self,
        topic: &str,
        after: Option<(u64, u32, u16)>,
        limit: usize,
    ) -> Result<Vec<LocatedEvent>, NodeError> {
        let storage = &self.inner.storage;
        let mut found = Vec::new();
        for location in storage.events_by_topic_after(topic, after, limit)? {
            let receipt = storage
                .receipt(&location.transaction_id)?
                .ok_or_else(|| NodeError::Corrupt("indexed receipt missing".into()))?;
            let event = receipt
                .events
                .get(location.event_index as usize)
                .cloned()
                .ok_or_else(|| NodeError::Corrupt("indexed event missing".into()))?;
            found.push(LocatedEvent { location, event });
        }
        Ok(found)
    }
}

/// Compiles the stored code with `hash` into `host` unless it is there already.
fn load_into(host: &ContractHost, storage: &Storage, hash: &Hash) -> Result<(), NodeError> {
    if host.is_loaded(hash) {
        return Ok(());
    }
    let code = storage
        .code(hash)?
        .ok_or_else(|| NodeError::Corrupt(format!("code {} is missing", hex::encode(hash))))?;
    host.load(&code)?;
    Ok(())
}

/// A block built and certified, waiting for the engine's commit.
struct Prepared {
    committed: CommittedBlock,
    execution: Duration,
}

impl Inner {
    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// Marks queued wake-ups as served; a driver calls it before a pass looks at the mempool.
    /// The swap acquires what admissions that skipped their wake-up released, so the pass
    /// sees their transactions.
    fn take_wake(&self) {
        self.wake_pending.swap(false, Ordering::AcqRel);
    }
}

fn committed_nonce(storage: &Storage, sender: &[u8; 32]) -> u64 {
    // The driver cannot order blocks without reading state; halting beats guessing.
    storage
        .next_nonce(sender)
        .expect("reading a nonce failed; the node halts rather than build a wrong block")
}

/// The block a new one builds on: the stored head, or a block executed on top of it that is
/// not stored yet (while consensus still agrees on it: pipelining).
#[derive(Clone, Debug)]
struct Parent {
    height: u64,
    hash: Hash,
    state_root: Hash,
    timestamp_ms: u64,
    /// The unstored blocks from the head up to and including this parent, oldest first.
    ancestors: Ancestors,
}

impl Parent {
    fn head(head: &Head) -> Parent {
        Parent {
            height: head.height,
            hash: head.hash,
            state_root: head.state_root,
            timestamp_ms: head.timestamp_ms,
            ancestors: Ancestors::none(),
        }
    }

    /// `prepared` (a block executed on `self`) as the parent of the next block.
    fn then(&self, prepared: &Prepared) -> Parent {
        let header = &prepared.committed.block.header;
        debug_assert_eq!(
            header.previous_hash, self.hash,
            "a parent's child builds on it"
        );
        Parent {
            height: header.height,
            hash: header.hash(),
            state_root: header.state_root,
            timestamp_ms: header.timestamp_ms,
            ancestors: self.ancestors.then(prepared.committed.effects.clone()),
        }
    }

    /// The block with hash `tip` as a parent: the head itself, or an unstored block whose
    /// chain of unstored blocks (`unstored` finds them by hash) goes down one height at a time
    /// to the head. `None` when that chain is broken or does not end at the head.
    fn at<'a>(
        head: &Head,
        tip: &Hash,
        unstored: impl Fn(&Hash) -> Option<&'a Prepared>,
    ) -> Option<Parent> {
        let mut chain: Vec<&Prepared> = Vec::new();
        let mut hash = *tip;
        while hash != head.hash {
            let prepared = unstored(&hash)?;
            let header = &prepared.committed.block.header;
            let expected = chain
                .last()
                .map(|child| child.committed.block.header.height - 1);
            if header.height <= head.height
                || expected.is_some_and(|height| height != header.height)
            {
                return None;
            }
            hash = header.previous_hash;
            chain.push(prepared);
        }
        if chain
            .last()
            .is_some_and(|oldest| oldest.committed.block.header.height != head.height + 1)
        {
            return None;
        }
        let mut parent = Parent::head(head);
        for prepared in chain.into_iter().rev() {
            parent = parent.then(prepared);
        }
        Some(parent)
    }

    /// Whether this parent is a block not stored yet.
    fn is_pending(&self) -> bool {
        !self.ancestors.is_empty()
    }

    /// The sender's next nonce after this parent.
    fn next_nonce(&self, storage: &Storage, sender: &[u8; 32]) -> u64 {
        self.ancestors
            .next_nonce(sender)
            .unwrap_or_else(|| committed_nonce(storage, sender))
    }
}

/// Solo builds every block on the stored head (its engine has one proposal at a time).
fn solo_parent(inner: &Inner, height: u64) -> Parent {
    let parent = Parent::head(&inner.head.borrow());
    assert_eq!(parent.height + 1, height, "blocks are built on the head");
    parent
}

fn build_block(
    inner: &Inner,
    parent: &Parent,
    transactions_max: u32,
    bytes_max: u64,
    certify_alone: bool,
) -> Result<Prepared, NodeError> {
    let storage = &inner.storage;
    let height = parent.height + 1;
    let transactions = inner.mempool.lock().expect("mempool lock").select(
        transactions_max as usize,
        bytes_max,
        height,
        |sender| parent.next_nonce(storage, sender),
    );
    let timestamp_ms = inner.now_ms().max(parent.timestamp_ms);
    let started = Instant::now();
    let effects = inner.executor.execute_block(
        storage,
        &parent.ancestors,
        height,
        timestamp_ms,
        &transactions,
    )?;
    let execution = started.elapsed();
    let state_root = next_state_root(&parent.state_root, &effects);
    let header = BlockHeader {
        version: crate::block::BLOCK_VERSION,
        chain_id: inner.genesis.chain_id.clone(),
        height,
        previous_hash: parent.hash,
        timestamp_ms,
        proposer: inner.validator_key.verifying_key().to_bytes(),
        transactions_root: transactions_root(&transactions),
        receipts_root: receipts_root(&effects.receipts),
        state_root,
        validator_set_hash: validator_set_hash(&inner.validators),
    };
    let block_hash = header.hash();
    // Solo: this validator is the whole quorum. Otherwise the certificate is assembled from
    // the validators' signatures once the block is final.
    let certificate = certify_alone.then(|| FinalityCertificate {
        height,
        block_hash,
        signatures: vec![FinalityCertificate::sign(
            height,
            block_hash,
            &inner.validator_key,
        )],
    });
    Ok(Prepared {
        committed: CommittedBlock {
            block: Block {
                header,
                transactions,
            },
            certificate,
            effects: Arc::new(effects),
        },
        execution,
    })
}

fn commit(inner: &Inner, prepared: Prepared) -> Result<(), NodeError> {
    commit_with_meta(inner, prepared, &[])
}

/// [`commit`], with engine metadata in the same write batch.
fn commit_with_meta(
    inner: &Inner,
    prepared: Prepared,
    meta: &[(&[u8], Vec<u8>)],
) -> Result<(), NodeError> {
    let committed = &prepared.committed;
    let head = inner
        .storage
        .commit_block_with_meta(committed, None, meta)?;
    let receipts = &committed.effects.receipts;
    let metrics = &inner.metrics;
    Metrics::add(&metrics.blocks_committed, 1);
    Metrics::add(&metrics.transactions_committed, receipts.len() as u64);
    Metrics::add(
        &metrics.transactions_failed,
        receipts
            .iter()
            .filter(|receipt| receipt.status != ReceiptStatus::Success)
            .count() as u64,
    );
    Metrics::add(
        &metrics.fuel_used_total,
        receipts.iter().map(|receipt| receipt.fuel_used).sum(),
    );
    Metrics::add(
        &metrics.block_execution_microseconds_total,
        prepared.execution.as_micros() as u64,
    );
    Metrics::set(&metrics.head_height, head.height);
    {
        let mut mempool = inner.mempool.lock().expect("mempool lock");
        mempool.prune(
            |sender| committed_nonce(&inner.storage, sender),
            head.height + 1,
        );
        Metrics::set(&metrics.mempool_transactions, mempool.len() as u64);
    }
    inner.head.send_replace(head);
    Ok(())
}

/// Stops block production for good and says why (the API keeps serving reads).
fn halt(inner: &Inner, reason: String) {
    tracing::error!(%reason, "the node stops producing blocks");
    *inner.halted.lock().expect("halted lock") = Some(reason);
}

fn drive(
    inner: Arc<Inner>,
    mut engine: Box<dyn ConsensusEngine>,
    receiver: mpsc::Receiver<DriverMessage>,
    tick_ms: u64,
) {
    let mut prepared: Option<Prepared> = None;
    loop {
        match receiver.recv_timeout(Duration::from_millis(tick_ms)) {
            Ok(DriverMessage::Stop) | Err(mpsc::RecvTimeoutError::Disconnected) => return,
            Ok(_) | Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        // Many wake-ups may have queued while a block was executing; one pass serves them all.
        while let Ok(message) = receiver.try_recv() {
            if let DriverMessage::Stop = message {
                return;
            }
        }
        inner.take_wake();
        let (transactions, bytes) = inner
            .mempool
            .lock()
            .expect("mempool lock")
            .ready_backlog(|sender| committed_nonce(&inner.storage, sender));
        let mut inputs = VecDeque::from([Input::Pending {
            transactions,
            bytes,
            now_ms: inner.now_ms(),
        }]);
        while let Some(input) = inputs.pop_front() {
            for effect in engine.handle(input) {
                match effect {
                    Effect::BuildProposal {
                        height,
                        transactions_max,
                        bytes_max,
                    } => match build_block(
                        &inner,
                        &solo_parent(&inner, height),
                        transactions_max,
                        bytes_max,
                        true,
                    ) {
                        Ok(block) => {
                            let payload_hash = block.committed.block.header.hash();
                            prepared = Some(block);
                            inputs.push_back(Input::Proposed {
                                height,
                                payload_hash,
                            });
                        }
                        Err(error) => {
                            tracing::error!(%error, height, "building a block failed");
                            inputs.push_back(Input::ProposalAbandoned { height });
                        }
                    },
                    Effect::Commit {
                        height,
                        payload_hash,
                    } => {
                        let block = prepared
                            .take()
                            .expect("the engine commits only what was proposed");
                        assert_eq!(block.committed.block.header.height, height);
                        assert_eq!(block.committed.block.header.hash(), payload_hash);
                        if let Err(error) = commit(&inner, block) {
                            // A block that cannot be stored must not be acknowledged; stop
                            // producing rather than continue on a head that is not on disk.
                            halt(&inner, format!("storing block {height} failed: {error}"));
                            return;
                        }
                        // A full backlog should not wait for the next tick.
                        let (transactions, bytes) = inner
                            .mempool
                            .lock()
                            .expect("mempool lock")
                            .ready_backlog(|sender| committed_nonce(&inner.storage, sender));
                        inputs.push_back(Input::Pending {
                            transactions,
                            bytes,
                            now_ms: inner.now_ms(),
                        });
                    }
                }
            }
        }
    }
}
