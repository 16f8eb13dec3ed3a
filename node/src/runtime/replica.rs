//! The PBFT driver: runs the pure [`PbftEngine`] against libp2p, RocksDB and the executor.
//!
//! What the engine leaves to its driver, and how this one does it:
//! - **Signing.** Every consensus message travels in an [`Envelope`] signed by its sender over
//!   the genesis hash and the message; the receiver checks the signature against the peer the
//!   network authenticated (Noise, allow-listed to the validators' keys). Votes embedded in
//!   certificates that a validator forwards (prepared certificates in view changes, commit and
//!   checkpoint proofs) are covered by the forwarder's signature only; what makes a block
//!   final here is the finality certificate below, which is checked signature by signature.
//! - **Bodies.** The engine orders block hashes. The primary builds and executes a block, and
//!   sends the block with its pre-prepare; a backup checks the block (hash, chain, validator
//!   set, transaction root and signatures, parent, timestamp) and executes it on its parent,
//!   comparing receipts and state root, before the engine may prepare it. An invalid block
//!   makes the engine start a view change.
//! - **Pipelining.** The primary does not wait for a block to be final before proposing the next:
//!   up to [`PROPOSALS_IN_FLIGHT_DEFAULT`] blocks (or as configured) are in flight, each built and
//!   executed on the one before (the executor reads through the unstored blocks' effects). A backup
//!   executes such a block on its executed parent as soon as both arrived, but hands its
//!   pre-prepare to the engine — and so prepares it — only once the parent is final in the engine
//!   and the pre-prepare's sequence is the next to execute, with the block at the height that
//!   sequence will get (a block whose height does not follow its sequence is an invalid proposal).
//!   That rule is what keeps the chain whole across view changes: if block h+1 is prepared, at
//!   least one honest backup prepared it, so h was committed at an honest replica and every later
//!   view keeps h. Without it, a new view could null h and keep h+1, whose parent would then never
//!   be on the chain. So the overlap is of building, sending and executing h+1 with agreeing on h;
//!   the votes on h+1 follow h's commit.
//! - **Finality certificates.** With its commit a validator sends its Ed25519 signature over the
//!   block's height and hash. A block final in the engine is stored (executed effects, block and
//!   certificate in one synced batch) once a quorum of those signatures is at hand; if they do
//!   not arrive, the block and its certificate are fetched from peers.
//! - **Durability.** `Persist` is written with a synced write before any message after it is
//!   sent, so a restarted replica never contradicts a vote it sent.
//! - **Block sync.** A replica behind (after downtime, a partition, or a state transfer the
//!   engine asked for) fetches blocks with certificates from peers, checks each certificate
//!   against the validator set, re-executes the block and compares the state root. A certified
//!   block whose state root this node cannot reproduce halts block production with an error
//!   naming the height and both roots, instead of diverging.

use super::attestations::AttestationPool;
use super::block_sync::{SyncRequest, SyncResponse};
use super::driver_limits::{CERTIFICATE_WAIT_MS, SYNC_REQUEST_TIMEOUT_MS, TICK_MS_MAX};
use super::proposals::{Pacing, SyncFailure, certified_block, check_block_shape, proposal_if_due};
use super::{DriverMessage, Inner, Node, Parent, Prepared, commit, halt};
use crate::NodeError;
use crate::block::{Block, FinalityCertificate, ValidatorSignature, quorum};
use crate::hash::Hash;
use crate::metrics::Metrics;
use crate::network::{Channel, ConsensusTag, NetworkConfig, NetworkHandle, peer_id};
use crate::receipt::receipts_root;
use crate::state::next_state_root;
use crate::storage::CommittedBlock;
use bodies::Bodies;
use borsh::{BorshDeserialize, BorshSerialize};
use censorship::{BlockRoom, CensorshipWatch};
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use libp2p::{Multiaddr, PeerId};
use rxchain_consensus::pbft::{
    ChainStart, Message, NULL_PAYLOAD_HASH, PbftConfig, PbftEffect, PbftEngine, PbftInput,
    PersistedState, ValidatorId, Vote,
};
use rxchain_genesis::{Consensus, PbftParameters};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use votes::{VoteSignatures, items_of_message, items_of_state};

mod bodies;
mod byzantine;
mod censorship;
pub mod simulated;
mod votes;

/// Domain separation tag of consensus message signatures.
const ENVELOPE_DOMAIN: &[u8] = b"rxchain/consensus-message/v1";
/// Bytes of block bodies a `NewView` carries, at most.
const NEW_VIEW_BODIES_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Block bodies received ahead of the head that are kept per validator, at most (a new view
/// re-proposes at most a window's worth, within `NEW_VIEW_BODIES_BYTES_MAX`).
const BODIES_PER_VALIDATOR_MAX: usize = 64;
/// Bodies further above the head than this are not kept (a window's worth of blocks).
const BODIES_AHEAD_BLOCKS_MAX: u64 = 128;
/// Pre-prepares waiting for the head to reach their parent, at most.
const WAITING_PRE_PREPARES_MAX: usize = 64;
/// A block may be stamped at most this far ahead of this node's clock.
const TIMESTAMP_AHEAD_MS_MAX: u64 = 10_000;
/// The watermark window, in checkpoint intervals.
const WATERMARK_WINDOW_INTERVALS: u64 = 4;
/// Blocks the primary proposes before the first of them is final, unless configured. Two keep
/// the next block built, sent and executed while the current one is voted on; more only queue
/// behind it, since a backup votes on a block once its parent is final.
const PROPOSALS_IN_FLIGHT_DEFAULT: u64 = 2;
/// The view-change timeout doubles per consecutive view change up to this factor.
const VIEW_CHANGE_TIMEOUT_GROWTH_MAX: u64 = 16;
/// View changes further ahead than this many views are ignored.
const VIEWS_AHEAD_MAX: u64 = 16;
/// How often the driver logs its state at debug level.
const STATUS_LOG_INTERVAL_MS: u64 = 1_000;
/// Messages drained from the driver's queue per pass, at most (then the engine gets time).
const MESSAGES_PER_PASS_MAX: usize = 1_024;

/// Where a replica listens and whom it dials.
#[derive(Clone, Debug)]
pub struct ReplicaNetwork {
    pub listen: Multiaddr,
    /// The other validators' addresses, dialed until connected (and again after a drop).
    pub peers: Vec<Multiaddr>,
    /// Allow cutting this node off through the API (`POST /v1/faults/isolation`), for tests
    /// of partitions with real processes.
    pub fault_injection: bool,
    /// Blocks this node proposes as primary (leader) before the first is final, from 1 (no
    /// pipelining) to [`PROPOSALS_IN_FLIGHT_LIMIT`]; the driver's default when `None`.
    pub proposals_in_flight_max: Option<u64>,
    /// Raft: a snapshot (and purge of the log below it, keeping `raft_log_entries_kept`) every
    /// this many applied entries; the driver's defaults when `None`.
    pub raft_snapshot_interval_entries: Option<u64>,
    pub raft_log_entries_kept: Option<u64>,
    /// PBFT only, and only with `fault_injection`: this validator attacks the others as the
    /// mode says (the four-process tests of a Byzantine validator on real sockets).
    pub byzantine: Option<simulated::ByzantineMode>,
}

/// The most blocks a node may be configured to have in flight. A backup keeps a window of
/// pre-prepares waiting for their parents, and a Raft leader's dropped pipeline is lost work;
/// a handful already hides the round trips.
pub const PROPOSALS_IN_FLIGHT_LIMIT: u64 = 8;

impl ReplicaNetwork {
    /// The configured pipelining depth, or `default`; a clear error outside its range.
    pub(super) fn proposals_in_flight(&self, default: u64) -> Result<u64, NodeError> {
        let depth = self.proposals_in_flight_max.unwrap_or(default);
        if !(1..=PROPOSALS_IN_FLIGHT_LIMIT).contains(&depth) {
            return Err(NodeError::Config(format!(
                "proposals_in_flight must be 1 to {PROPOSALS_IN_FLIGHT_LIMIT}, not {depth}"
            )));
        }
        Ok(depth)
    }
}

/// A consensus message on the wire, with what the receiver needs besides the engine's votes.
#[derive(BorshSerialize, BorshDeserialize)]
struct Envelope {
    message: Message,
    /// The block bodies of a `PrePrepare` or of a `NewView`'s pre-prepares.
    blocks: Vec<Block>,
    /// With a `Commit`: the sender's finality signature over (height, block hash).
    finality: Option<(u64, [u8; 64])>,
    /// With a `CommitProof`: the block's finality certificate.
    certificate: Option<FinalityCertificate>,
    /// The signature of every vote in `message`, by the validator that made it (see `votes`).
    vote_signatures: Vec<[u8; 64]>,
    /// The sender's signature over [`ENVELOPE_DOMAIN`], the genesis hash and `message`.
    signature: [u8; 64],
}

fn message_signing_bytes(genesis_hash: &Hash, message: &Message) -> Vec<u8> {
    let mut bytes = ENVELOPE_DOMAIN.to_vec();
    bytes.extend_from_slice(genesis_hash);
    borsh::to_writer(&mut bytes, message).expect("writing to a Vec cannot fail");
    bytes
}

/// What `Persist` writes: the engine's state and the signatures of the votes in it.
#[derive(BorshSerialize, BorshDeserialize)]
struct SavedConsensusState {
    version: u8,
    state: PersistedState,
    vote_signatures: Vec<(Hash, [u8; 64])>,
}

/// 2: the engine's state keeps its recent views' own view changes and new views.
const SAVED_STATE_VERSION: u8 = 2;

/// A block checked and executed on the parent it builds on, waiting to become final.
struct Executed {
    prepared: Prepared,
}

/// A state transfer the engine asked for.
#[derive(Clone, Copy)]
struct Transfer {
    sequence: u64,
    height: u64,
    payload_hash: Hash,
}

struct Replica {
    inner: Arc<Inner>,
    engine: PbftEngine,
    parameters: PbftParameters,
    outbound: Outbound,
    own_id: ValidatorId,
    votes: VoteSignatures,
    /// Every validator, ascending.
    validators: Vec<ValidatorId>,
    /// The other validators' network identities.
    peers: BTreeMap<ValidatorId, PeerId>,
    executed: HashMap<Hash, Executed>,
    bodies: Bodies,
    /// Pre-prepares whose block waits for its parent to arrive, execute or become final.
    waiting: Vec<(ValidatorId, Vote)>,
    /// Something a waiting pre-prepare may wait for happened: look at them again.
    recheck_waiting: bool,
    /// As primary, the newest block this replica proposed in the current view: the next
    /// proposal builds on it.
    proposal_tip: Option<Hash>,
    /// Each sender's next transaction and how many roomy blocks left it out (request timer).
    censorship: CensorshipWatch,
    /// The view the censorship watch counts in; a new view starts it again.
    censorship_view: u64,
    /// Finality signatures of blocks above the head: one per validator per height (a second
    /// block is equivocation), heights up to `BODIES_AHEAD_BLOCKS_MAX` ahead.
    finality: AttestationPool,
    /// Final in the engine, not yet stored: height → (hash, when the engine said so).
    commits: BTreeMap<u64, (Hash, u64)>,
    transfer: Option<Transfer>,
    /// When the sync request in flight gives up.
    sync_deadline_ms: Option<u64>,
    sync_round: usize,
    pacing: Pacing,
    halted: bool,
    next_status_log_ms: u64,
    /// How this replica misbehaves: in a simulation, or with fault injection (`byzantine`).
    byzantine: Option<byzantine::Byzantine>,
}

fn engine_config(
    parameters: &PbftParameters,
    validators: &[ValidatorId],
    own_id: ValidatorId,
    proposals_in_flight_max: u64,
) -> PbftConfig {
    PbftConfig {
        validators: validators.to_vec(),
        own_id,
        checkpoint_interval_sequences: parameters.checkpoint_interval_sequences,
        watermark_window_sequences: parameters.checkpoint_interval_sequences
            * WATERMARK_WINDOW_INTERVALS,
        proposals_in_flight_max,
        view_change_timeout_ms: parameters.view_change_timeout_ms,
        view_change_timeout_max_ms: parameters.view_change_timeout_ms
            * VIEW_CHANGE_TIMEOUT_GROWTH_MAX,
        retransmit_interval_ms: parameters.retransmit_interval_ms,
        views_ahead_max: VIEWS_AHEAD_MAX,
    }
}

/// Where a replica's messages go.
enum Outbound {
    /// The libp2p network; sync answers come back through the driver's queue.
    Network {
        network: NetworkHandle,
        runtime: tokio::runtime::Handle,
        queue: mpsc::Sender<DriverMessage>,
    },
    /// A simulation's outbox, which it delivers (see [`simulated`]).
    Simulated(Vec<simulated::Outgoing>),
}

/// Starts the network, the bridge task and the driver thread.
pub(super) fn start(
    node: &Node,
    network: ReplicaNetwork,
) -> Result<std::thread::JoinHandle<()>, NodeError> {
    let inner = node.inner.clone();
    let Consensus::Pbft(parameters) = &inner.genesis.consensus else {
        return Err(NodeError::Config(format!(
            "a {} chain runs without the network; start it with `start`",
            inner.genesis.consensus.kind()
        )));
    };
    let tick_ms = (parameters.block_interval_ms / 2)
        .min(parameters.retransmit_interval_ms / 2)
        .clamp(1, TICK_MS_MAX);
    let proposals_in_flight_max = network.proposals_in_flight(PROPOSALS_IN_FLIGHT_DEFAULT)?;
    if network.byzantine.is_some() && !network.fault_injection {
        return Err(NodeError::Config(
            "a Byzantine mode needs fault_injection = true: it is for tests only".into(),
        ));
    }
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| NodeError::Config("a replica starts inside a tokio runtime".into()))?;
    let mut validators = inner.validators.clone();
    validators.sort();
    let (handle, events) = crate::network::start(NetworkConfig {
        node_secret_key: inner.validator_key.to_bytes(),
        listen: network.listen,
        allowed_node_keys: validators.clone(),
    })?;
    let own_id = inner.validator_key.verifying_key().to_bytes();
    let mut validators_by_peer = HashMap::new();
    for validator in validators.iter().filter(|validator| **validator != own_id) {
        validators_by_peer.insert(peer_id(validator)?, *validator);
    }
    inner.faults.enabled.store(
        network.fault_injection,
        std::sync::atomic::Ordering::Relaxed,
    );
    let (queue, receiver) = mpsc::channel();
    let outbound = Outbound::Network {
        network: handle.clone(),
        runtime: runtime.clone(),
        queue: queue.clone(),
    };
    if let Some(mode) = network.byzantine {
        tracing::warn!(?mode, "this validator is Byzantine (fault injection)");
    }
    let replica = Replica::new(node, outbound, proposals_in_flight_max, network.byzantine)?;
    *inner.wake.lock().expect("wake lock") = Some(queue.clone());
    *inner.gossip.lock().expect("gossip lock") = Some((handle.clone(), runtime.clone()));
    runtime.spawn(super::bridge::run(
        node.clone(),
        handle,
        events,
        super::bridge::ConsensusRoute::Driver(queue),
        validators_by_peer,
        network.peers,
        None,
    ));
    Ok(std::thread::Builder::new()
        .name("rxchain-replica".into())
        .spawn(move || run(replica, receiver, tick_ms))?)
}

fn run(mut replica: Replica, receiver: mpsc::Receiver<DriverMessage>, tick_ms: u64) {
    loop {
        let mut messages = Vec::new();
        match receiver.recv_timeout(Duration::from_millis(tick_ms)) {
            Ok(message) => messages.push(message),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        while messages.len() < MESSAGES_PER_PASS_MAX {
            match receiver.try_recv() {
                Ok(message) => messages.push(message),
                Err(_) => break,
            }
        }
        replica.inner.take_wake();
        for message in messages {
            match message {
                DriverMessage::Stop => return,
                DriverMessage::Wake => {}
                DriverMessage::Consensus { from, bytes } => replica.receive(from, &bytes),
                DriverMessage::Synced { from, result } => replica.synced(from, result),
                DriverMessage::Applied { .. } | DriverMessage::ProposalDone { .. } => {}
            }
            if replica.halted {
                return;
            }
        }
        replica.step();
        if replica.halted {
            return;
        }
    }
}

impl Replica {
    /// A replica of `node` (a PBFT chain) with its engine restored from the saved state,
    /// honest unless `byzantine` says how it misbehaves.
    fn new(
        node: &Node,
        outbound: Outbound,
        proposals_in_flight_max: u64,
        byzantine: Option<simulated::ByzantineMode>,
    ) -> Result<Replica, NodeError> {
        let inner = node.inner.clone();
        let Consensus::Pbft(parameters) = &inner.genesis.consensus else {
            return Err(NodeError::Config(
                "a PBFT replica needs a PBFT chain".into(),
            ));
        };
        let parameters = parameters.clone();
        let mut validators = inner.validators.clone();
        validators.sort();
        let own_id = inner.validator_key.verifying_key().to_bytes();
        let mut peers = BTreeMap::new();
        for validator in validators.iter().filter(|validator| **validator != own_id) {
            peers.insert(*validator, peer_id(validator)?);
        }
        let config = engine_config(&parameters, &validators, own_id, proposals_in_flight_max);
        let genesis_block = inner
            .storage
            .block(0)?
            .ok_or_else(|| NodeError::Corrupt("the genesis block is missing".into()))?;
        // Sequence numbers count from genesis on every replica, so the chain start is genesis
        // even for a replica that restarts with blocks (it skips commits it has stored).
        let chain_start = ChainStart {
            height: 0,
            payload_hash: genesis_block.header.hash(),
        };
        let now = inner.now_ms();
        let mut votes = VoteSignatures::new(inner.validator_key.clone(), &validators);
        let engine = match inner.storage.consensus_state()? {
            Some(bytes) => {
                let saved: SavedConsensusState = borsh::from_slice(&bytes)
                    .ok()
                    .filter(|saved: &SavedConsensusState| saved.version == SAVED_STATE_VERSION)
                    .ok_or_else(|| {
                        NodeError::Corrupt("the saved consensus state does not decode".into())
                    })?;
                votes.restore(saved.vote_signatures, now);
                PbftEngine::restore(config, chain_start, saved.state, now)?
            }
            None => PbftEngine::new(config, chain_start, now)?,
        };
        let view_change_timeout_ms = parameters.view_change_timeout_ms;
        Ok(Replica {
            inner,
            engine,
            parameters,
            outbound,
            own_id,
            votes,
            validators,
            peers,
            executed: HashMap::new(),
            bodies: Bodies::new(BODIES_PER_VALIDATOR_MAX),
            waiting: Vec::new(),
            recheck_waiting: false,
            proposal_tip: None,
            censorship: CensorshipWatch::new(view_change_timeout_ms),
            censorship_view: 0,
            finality: AttestationPool::new(0, BODIES_AHEAD_BLOCKS_MAX),
            commits: BTreeMap::new(),
            transfer: None,
            sync_deadline_ms: None,
            sync_round: 0,
            pacing: Pacing::new(now),
            halted: false,
            next_status_log_ms: 0,
            byzantine: byzantine.map(byzantine::Byzantine::new),
        })
    }

    fn head(&self) -> crate::storage::Head {
        self.inner.head.borrow().clone()
    }

    fn halt(&mut self, reason: String) {
        halt(&self.inner, reason);
        self.halted = true;
    }

    /// Time, backlog, stored commits, sync and proposing: one pass.
    fn step(&mut self) {
        if self.byzantine.is_some() {
            self.misbehave();
        }
        let now = self.inner.now_ms();
        let backlog = self.pacing.observe(&self.inner, now);
        self.feed(PbftInput::Tick { now_ms: now });
        self.feed(PbftInput::Pending {
            payloads: backlog,
            now_ms: now,
        });
        self.apply_commits();
        self.retry_waiting();
        self.request_sync_if_behind(now);
        self.propose_if_due(now, backlog);
        self.forward_if_stuck(now, backlog);
        if now >= self.next_status_log_ms {
            self.next_status_log_ms = now + STATUS_LOG_INTERVAL_MS;
            tracing::debug!(
                view = self.engine.view(),
                view_active = self.engine.view_active(),
                can_propose = self.engine.can_propose(),
                engine_height = self.engine.height(),
                head = self.head().height,
                backlog,
                commits = self.commits.len(),
                waiting = self.waiting.len(),
                bodies = self.bodies.len(),
                executed = self.executed.len(),
                "replica status"
            );
        }
    }

    fn feed(&mut self, input: PbftInput) {
        if self.halted {
            return;
        }
        let view = self.engine.view();
        let last_executed_sequence = self.engine.last_executed_sequence();
        let effects = self.engine.handle(input);
        if self.engine.last_executed_sequence() != last_executed_sequence {
            // A waiting pre-prepare may be for the next sequence now (a null sequence
            // executes without a Commit effect).
            self.recheck_waiting = true;
        }
        if self.engine.view() != view {
            // A new view re-proposes what prepared; a new primary builds on what is final.
            self.proposal_tip = None;
            let metrics = &self.inner.metrics;
            Metrics::set(&metrics.consensus_view, self.engine.view());
            Metrics::add(&metrics.view_changes, 1);
            tracing::info!(
                view = self.engine.view(),
                primary = %hex::encode(self.engine.primary()),
                "view change"
            );
        }
        for effect in effects {
            self.carry_out(effect);
            if self.halted {
                return;
            }
        }
    }

    fn carry_out(&mut self, effect: PbftEffect) {
        match effect {
            PbftEffect::Commit {
                height,
                payload_hash,
                ..
            } => {
                let head = self.head();
                tracing::debug!(height, block = %hex::encode(payload_hash), "final in consensus");
                if height <= head.height {
                    // A restarted engine repeats commits the node stored before the crash.
                    self.check_stored(height, &payload_hash);
                } else {
                    self.commits
                        .insert(height, (payload_hash, self.inner.now_ms()));
                    // A child of this block may be waiting for it to be final. Not handled
                    // here: feeding the engine amid its effects would persist out of order.
                    self.recheck_waiting = true;
                }
            }
            PbftEffect::Persist(state) => {
                let now = self.inner.now_ms();
                let items = items_of_state(&self.inner.genesis_hash, &state);
                let vote_signatures = self.votes.saved(&items, now);
                self.votes.collect_garbage(&items, now);
                let bytes = borsh::to_vec(&SavedConsensusState {
                    version: SAVED_STATE_VERSION,
                    state: *state,
                    vote_signatures,
                })
                .expect("encodes");
                if let Err(error) = self.inner.storage.save_consensus_state(&bytes) {
                    // Sending votes that a restart could contradict is how forks happen.
                    self.halt(format!("saving the consensus state failed: {error}"));
                }
            }
            PbftEffect::Broadcast(message) => {
                if let Some(bytes) = self.envelope(message) {
                    let peers: Vec<ValidatorId> = self.peers.keys().copied().collect();
                    for peer in peers {
                        self.send(peer, bytes.clone());
                    }
                }
            }
            PbftEffect::Send { to, message } => {
                if let Some(bytes) = self.envelope(message) {
                    self.send(to, bytes);
                }
            }
            PbftEffect::StateTransfer {
                sequence,
                height,
                payload_hash,
                ..
            } => {
                self.transfer = Some(Transfer {
                    sequence,
                    height,
                    payload_hash,
                });
                self.finish_transfer_if_reached();
            }
            PbftEffect::ProposalRefused {
                payload_hash,
                reason,
            } => {
                tracing::debug!(?reason, block = %hex::encode(payload_hash), "proposal refused");
                self.executed.remove(&payload_hash);
            }
        }
    }

    /// Halts unless the stored block at `height` has `hash`.
    fn check_stored(&mut self, height: u64, hash: &Hash) {
        match self.inner.storage.block(height) {
            Ok(Some(block)) if block.header.hash() == *hash => {}
            Ok(Some(block)) => self.halt(format!(
                "consensus made block {} final at height {height}, but this node stored {}",
                hex::encode(hash),
                hex::encode(block.header.hash())
            )),
            Ok(None) => self.halt(format!("block {height} is missing below the head")),
            Err(error) => self.halt(format!("reading block {height} failed: {error}")),
        }
    }

    /// The body of a block this node knows by hash (executed, received, or stored).
    fn body(&self, hash: &Hash) -> Option<Block> {
        if let Some(executed) = self.executed.get(hash) {
            return Some(executed.prepared.committed.block.clone());
        }
        if let Some(block) = self.bodies.get(hash) {
            return Some(block.clone());
        }
        let height = self.inner.storage.height_of_block(hash).ok()??;
        self.inner.storage.block(height).ok()?
    }

    fn height_of(&self, hash: &Hash) -> Option<u64> {
        if let Some(executed) = self.executed.get(hash) {
            return Some(executed.prepared.committed.block.header.height);
        }
        if let Some(block) = self.bodies.get(hash) {
            return Some(block.header.height);
        }
        self.inner.storage.height_of_block(hash).ok()?
    }

    /// A certificate for the block with `hash`: the stored one, or one from gathered signatures.
    fn certificate_for(&self, hash: &Hash) -> Option<FinalityCertificate> {
        let height = self.height_of(hash)?;
        if let Ok(Some(certificate)) = self.inner.storage.certificate(height)
            && certificate.block_hash == *hash
        {
            return Some(certificate);
        }
        self.finality
            .certificate(height, hash, quorum(self.validators.len()))
    }

    /// Keeps a checked finality signature (refused ones are out of the window or equivocate).
    fn add_finality(&mut self, height: u64, hash: Hash, signature: ValidatorSignature) {
        let head = self.head().height;
        let quorum = quorum(self.validators.len());
        if let Err(refusal) = self.finality.add(head, height, hash, signature, quorum) {
            tracing::debug!(?refusal, height, "finality signature not kept");
        }
    }

    /// Signs `message` and encodes it with what the receiver needs; `None` when a vote in it
    /// lacks its signature (nothing unverifiable is sent).
    fn envelope(&mut self, message: Message) -> Option<Vec<u8>> {
        let mut blocks = Vec::new();
        let mut finality = None;
        let mut certificate = None;
        match &message {
            Message::PrePrepare(vote) => blocks.extend(self.body(&vote.payload_hash)),
            Message::NewView(new_view) => {
                // Only bodies not final yet: a stored block is fetched by block sync if a
                // replica lacks it, and attaching a window's worth would overflow the message.
                let mut bytes = 0;
                for vote in &new_view.pre_prepares {
                    let pending = self
                        .executed
                        .get(&vote.payload_hash)
                        .map(|executed| &executed.prepared.committed.block)
                        .or_else(|| self.bodies.get(&vote.payload_hash));
                    if let Some(block) = pending {
                        bytes += block.encode().len();
                        if bytes > NEW_VIEW_BODIES_BYTES_MAX {
                            break;
                        }
                        blocks.push(block.clone());
                    }
                }
            }
            Message::Commit(vote) => {
                if let Some(height) = self.height_of(&vote.payload_hash) {
                    let signature = FinalityCertificate::sign(
                        height,
                        vote.payload_hash,
                        &self.inner.validator_key,
                    );
                    let own = signature.signature;
                    self.add_finality(height, vote.payload_hash, signature);
                    finality = Some((height, own));
                }
            }
            Message::CommitProof { commits, .. } => {
                certificate = commits
                    .first()
                    .and_then(|vote| self.certificate_for(&vote.payload_hash));
            }
            _ => {}
        }
        if self.byzantine.is_some() {
            self.tamper_with_bodies(&mut blocks);
        }
        self.seal(message, blocks, finality, certificate)
    }

    /// Signs `message` (and each vote in it) and encodes it with its attachments; `None` when
    /// a vote in it lacks its signature.
    fn seal(
        &mut self,
        message: Message,
        blocks: Vec<Block>,
        finality: Option<(u64, [u8; 64])>,
        certificate: Option<FinalityCertificate>,
    ) -> Option<Vec<u8>> {
        let items = items_of_message(&self.inner.genesis_hash, &message);
        let vote_signatures = match self.votes.sign_items(&items, self.inner.now_ms()) {
            Ok(signatures) => signatures,
            Err(error) => {
                tracing::warn!(%error, "not sending a consensus message");
                return None;
            }
        };
        let signature = self
            .inner
            .validator_key
            .sign(&message_signing_bytes(&self.inner.genesis_hash, &message))
            .to_bytes();
        let envelope = Envelope {
            message,
            blocks,
            finality,
            certificate,
            vote_signatures,
            signature,
        };
        let mut bytes = ConsensusTag::PbftEnvelope.start();
        borsh::to_writer(&mut bytes, &envelope).expect("writing to a Vec cannot fail");
        Some(bytes)
    }

    fn send(&mut self, to: ValidatorId, bytes: Vec<u8>) {
        let Some(peer) = self.peers.get(&to).copied() else {
            return;
        };
        if self
            .inner
            .faults
            .isolated
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        match &mut self.outbound {
            Outbound::Network {
                network, runtime, ..
            } => {
                let network = network.clone();
                runtime.spawn(async move {
                    // A lost message is the engine's business: it re-sends what matters.
                    if let Err(error) = network.request(Channel::Consensus, peer, bytes).await {
                        tracing::trace!(%error, "sending a consensus message failed");
                    }
                });
            }
            Outbound::Simulated(outbox) => outbox.push(simulated::Outgoing {
                to,
                message: simulated::OutgoingMessage::Consensus(bytes),
            }),
        }
    }

    /// A message from validator `from` (the network authenticated the peer).
    fn receive(&mut self, from: ValidatorId, bytes: &[u8]) {
        let envelope = match (ConsensusTag::of(bytes), bytes.split_first()) {
            (Some(ConsensusTag::PbftEnvelope), Some((_, rest))) => {
                match borsh::from_slice::<Envelope>(rest) {
                    Ok(envelope) => envelope,
                    Err(error) => {
                        tracing::warn!(%error, from = %hex::encode(from), "undecodable consensus message");
                        return;
                    }
                }
            }
            _ => {
                tracing::warn!(from = %hex::encode(from), "consensus message of unknown version");
                return;
            }
        };
        let sender = envelope.message.sender();
        let signed = sender == from
            && VerifyingKey::from_bytes(&from).is_ok_and(|key| {
                key.verify_strict(
                    &message_signing_bytes(&self.inner.genesis_hash, &envelope.message),
                    &Signature::from_bytes(&envelope.signature),
                )
                .is_ok()
            });
        if !signed {
            tracing::warn!(from = %hex::encode(from), "consensus message with a bad signature or sender");
            return;
        }
        let items = items_of_message(&self.inner.genesis_hash, &envelope.message);
        if let Err(error) =
            self.votes
                .verify_items(&items, &envelope.vote_signatures, self.inner.now_ms())
        {
            tracing::warn!(%error, from = %hex::encode(from), "consensus message refused");
            return;
        }
        let head_height = self.head().height;
        let ahead =
            |height: u64| height > head_height && height <= head_height + BODIES_AHEAD_BLOCKS_MAX;
        if let (Message::Commit(vote), Some((height, signature))) =
            (&envelope.message, envelope.finality)
        {
            let entry = ValidatorSignature {
                validator: from,
                signature,
            };
            if ahead(height) && entry.verifies(height, &vote.payload_hash) {
                self.add_finality(height, vote.payload_hash, entry);
            }
        }
        if let Some(certificate) = envelope.certificate
            && ahead(certificate.height)
            && certificate.verify_signatures(&self.validators).is_ok()
        {
            for entry in certificate.signatures {
                self.add_finality(certificate.height, certificate.block_hash, entry);
            }
        }
        // Bodies only as the protocol sends them: with the current view's primary's
        // pre-prepare, or with a new view from that view's primary, each the block of one of
        // the message's pre-prepares. Anything else is dropped unread.
        let proposed: Vec<Hash> = match &envelope.message {
            Message::PrePrepare(vote)
                if vote.view == self.engine.view() && from == self.engine.primary() =>
            {
                vec![vote.payload_hash]
            }
            Message::NewView(new_view) if from == self.engine.primary_of(new_view.view) => new_view
                .pre_prepares
                .iter()
                .map(|vote| vote.payload_hash)
                .collect(),
            _ => Vec::new(),
        };
        for block in envelope.blocks {
            if ahead(block.header.height) && proposed.contains(&block.header.hash()) {
                self.bodies.insert(from, block);
            }
        }
        match envelope.message {
            Message::PrePrepare(vote) => self.pre_prepare(from, vote),
            message => self.feed(PbftInput::Message { from, message }),
        }
        self.apply_commits();
        self.retry_waiting();
    }

    /// Checks the block of a pre-prepare and executes it on its parent; hands the pre-prepare
    /// to the engine once the block executed and its parent is final (see the module docs).
    fn pre_prepare(&mut self, from: ValidatorId, vote: Vote) {
        let hash = vote.payload_hash;
        if hash == NULL_PAYLOAD_HASH {
            self.feed(PbftInput::Message {
                from,
                message: Message::PrePrepare(vote),
            });
            return;
        }
        if vote.sender != from || vote.view != self.engine.view() || from != self.engine.primary() {
            // Only the primary of this replica's view pre-prepares in it. Nothing is executed
            // for a view this replica has not entered: its new view brings the pre-prepares
            // it keeps, and a primary re-sends the rest. Anything else would only fill this
            // node's bounded queues (the engine drops it too).
            return;
        }
        if let Some(executed) = self.executed.get(&hash) {
            let header = &executed.prepared.committed.block.header;
            let (height, previous_hash) = (header.height, header.previous_hash);
            // The engine gives the next executed sequence the next height; a block at another
            // height than its sequence will get cannot be stored, so it is refused here.
            let next_sequence = self.engine.last_executed_sequence() + 1;
            if vote.sequence > next_sequence || !self.parent_final(height, &previous_hash) {
                self.wait(from, vote);
            } else if vote.sequence == next_sequence && height != self.engine.height() + 1 {
                self.refuse_proposal(from, vote, "its height does not follow its sequence");
            } else {
                self.feed(PbftInput::Message {
                    from,
                    message: Message::PrePrepare(vote),
                });
            }
            return;
        }
        let Some(block) = self.bodies.get(&hash).cloned() else {
            // No body: the primary sends it with every retransmission.
            return;
        };
        if let Err(reason) = self.check_block(&block, &hash, Some(&from)) {
            self.refuse_proposal(from, vote, &reason);
            return;
        }
        let head = self.head();
        let height = block.header.height;
        if height <= head.height {
            return;
        }
        let Some(parent) = self.parent_for(height, &block.header.previous_hash) else {
            if height == head.height + 1 {
                // The head is final: a block at the next height builds on it or is wrong.
                self.refuse_proposal(from, vote, "does not build on the head");
            } else {
                self.wait(from, vote);
            }
            return;
        };
        let by_proposer = self
            .executed
            .values()
            .filter(|executed| executed.prepared.committed.block.header.proposer == from)
            .count();
        if by_proposer >= BODIES_PER_VALIDATOR_MAX {
            // A primary forking many blocks in its view gets no more executed than its bodies'
            // bound; what it made stale goes when a block at that height is stored.
            tracing::warn!(from = %hex::encode(from), "too many executed proposals of one primary");
            return;
        }
        match self.execute(block, &parent) {
            Ok(()) => self.pre_prepare(from, vote),
            Err(Rejection::Invalid(reason)) => self.refuse_proposal(from, vote, &reason),
            Err(Rejection::Local(error)) => {
                tracing::error!(%error, "executing a proposal failed here");
            }
        }
    }

    fn refuse_proposal(&mut self, from: ValidatorId, vote: Vote, reason: &str) {
        tracing::warn!(%reason, from = %hex::encode(from), "invalid proposal");
        self.bodies.remove(&vote.payload_hash);
        self.feed(PbftInput::InvalidProposal {
            from,
            pre_prepare: vote,
        });
    }

    /// Keeps a pre-prepare until what it waits for happens (once; bounded).
    fn wait(&mut self, from: ValidatorId, vote: Vote) {
        if self.waiting.len() < WAITING_PRE_PREPARES_MAX
            && !self
                .waiting
                .iter()
                .any(|(sender, waiting)| *sender == from && *waiting == vote)
        {
            self.waiting.push((from, vote));
        }
    }

    /// Looks at waiting pre-prepares again while something they may wait for happened.
    fn retry_waiting(&mut self) {
        while std::mem::take(&mut self.recheck_waiting) && !self.halted {
            for (from, vote) in std::mem::take(&mut self.waiting) {
                self.pre_prepare(from, vote);
            }
        }
    }

    /// Whether the parent of a block at `height` is final: the stored head, or final in the
    /// engine and waiting to be stored.
    fn parent_final(&self, height: u64, previous_hash: &Hash) -> bool {
        let head = self.head();
        (height == head.height + 1 && *previous_hash == head.hash)
            || self
                .commits
                .get(&(height - 1))
                .is_some_and(|(hash, _)| hash == previous_hash)
    }

    /// What a block at `height` building on `previous_hash` executes on: the head, or an
    /// executed block whose chain of executed blocks reaches the head. `None` when the chain
    /// is not (yet) known here.
    fn parent_for(&self, height: u64, previous_hash: &Hash) -> Option<Parent> {
        Parent::at(&self.head(), previous_hash, |hash| {
            self.executed.get(hash).map(|executed| &executed.prepared)
        })
        .filter(|parent| parent.height + 1 == height)
    }

    /// What can be checked without executing: the block is what its hash says, for this chain
    /// and validator set, with the transactions its header commits to, all validly signed.
    fn check_block(
        &self,
        block: &Block,
        hash: &Hash,
        proposer: Option<&ValidatorId>,
    ) -> Result<(), String> {
        let header = &block.header;
        if header.hash() != *hash {
            return Err("the header does not hash to the proposed hash".into());
        }
        if let Some(proposer) = proposer
            && header.proposer != *proposer
        {
            return Err("the proposer is not the primary that sent it".into());
        }
        check_block_shape(
            &self.inner,
            &self.validators,
            block,
            self.parameters.block_transactions_max,
            self.parameters.block_bytes_max,
        )
    }

    /// Executes a checked block on its parent and keeps the result for its commit.
    fn execute(&mut self, block: Block, parent: &Parent) -> Result<(), Rejection> {
        let header = &block.header;
        if header.height != parent.height + 1 || header.previous_hash != parent.hash {
            return Err(Rejection::Invalid("does not build on its parent".into()));
        }
        if header.timestamp_ms < parent.timestamp_ms
            || header.timestamp_ms > self.inner.now_ms() + TIMESTAMP_AHEAD_MS_MAX
        {
            return Err(Rejection::Invalid("timestamp out of range".into()));
        }
        let started = Instant::now();
        let effects = self
            .inner
            .executor
            .execute_block(
                &self.inner.storage,
                &parent.ancestors,
                header.height,
                header.timestamp_ms,
                &block.transactions,
            )
            .map_err(|error| match error {
                NodeError::InvalidBlock(reason) => Rejection::Invalid(reason),
                error => Rejection::Local(error),
            })?;
        let execution = started.elapsed();
        if receipts_root(&effects.receipts) != header.receipts_root {
            return Err(Rejection::Invalid(
                "receipts differ from the header's".into(),
            ));
        }
        let state_root = next_state_root(&parent.state_root, &effects);
        if state_root != header.state_root {
            return Err(Rejection::Invalid(format!(
                "state root {} differs from the header's {}",
                hex::encode(state_root),
                hex::encode(header.state_root)
            )));
        }
        let hash = header.hash();
        self.bodies.remove(&hash);
        // A child of this block may be waiting for it to execute.
        self.recheck_waiting = true;
        self.executed.insert(
            hash,
            Executed {
                prepared: Prepared {
                    committed: CommittedBlock {
                        block,
                        certificate: None,
                        effects: Arc::new(effects),
                    },
                    execution,
                },
            },
        );
        Ok(())
    }

    /// Stores blocks final in the engine, in height order, once each has its certificate.
    fn apply_commits(&mut self) {
        while !self.halted {
            let head = self.head();
            let Some((&height, &(hash, _))) = self.commits.first_key_value() else {
                break;
            };
            if height <= head.height {
                self.commits.remove(&height);
                self.check_stored(height, &hash);
                continue;
            }
            if height != head.height + 1 {
                break;
            }
            if !self.executed.contains_key(&hash) {
                // The body came without (or before) its pre-prepare, e.g. in a new view.
                let Some(block) = self.bodies.get(&hash).cloned() else {
                    break;
                };
                if let Err(reason) = self.check_block(&block, &hash, None) {
                    self.halt(format!("a final block is invalid here: {reason}"));
                    break;
                }
                match self.execute(block, &Parent::head(&head)) {
                    Ok(()) => {}
                    Err(Rejection::Invalid(reason)) => {
                        self.halt(format!(
                            "final block {height} does not execute here: {reason}"
                        ));
                        break;
                    }
                    Err(Rejection::Local(error)) => {
                        self.halt(format!("executing final block {height} failed: {error}"));
                        break;
                    }
                }
            }
            let previous_hash = self.executed[&hash]
                .prepared
                .committed
                .block
                .header
                .previous_hash;
            if previous_hash != head.hash {
                // Executed on another parent than the one that became final: a quorum made
                // a chain that does not hold together, which this node cannot store.
                self.halt(format!(
                    "final block {height} builds on {}, but the final block {} is {}",
                    hex::encode(previous_hash),
                    head.height,
                    hex::encode(head.hash)
                ));
                break;
            }
            let Some(certificate) = self.certificate_for(&hash) else {
                break;
            };
            let mut executed = self.executed.remove(&hash).expect("executed above");
            executed.prepared.committed.certificate = Some(certificate);
            self.store(executed.prepared);
        }
    }

    /// Stores a final, certified, executed block and drops what it made stale.
    fn store(&mut self, prepared: Prepared) {
        let height = prepared.committed.block.header.height;
        let hash = prepared.committed.block.header.hash();
        let room = BlockRoom {
            transactions: prepared.committed.block.transactions.len(),
            bytes: prepared
                .committed
                .block
                .transactions
                .iter()
                .map(|transaction| transaction.encode().len() as u64)
                .sum(),
            transactions_max: self.parameters.block_transactions_max as usize,
            bytes_max: self.parameters.block_bytes_max,
        };
        if let Err(error) = commit(&self.inner, prepared) {
            self.halt(format!("storing block {height} failed: {error}"));
            return;
        }
        tracing::debug!(height, "stored");
        if let Some((final_hash, _)) = self.commits.remove(&height)
            && final_hash != hash
        {
            self.halt(format!(
                "stored block {height} {} but consensus made {} final",
                hex::encode(hash),
                hex::encode(final_hash)
            ));
            return;
        }
        self.executed
            .retain(|_, executed| executed.prepared.committed.block.header.height > height);
        self.bodies.retain_above(height);
        self.finality.forget_through(height);
        self.finish_transfer_if_reached();
        // Waiting pre-prepares may build on this block; `retry_waiting` looks at them.
        self.recheck_waiting = true;
        self.watch_for_censorship(room);
    }

    /// The request timer (see `censorship`): after each stored block, as a backup in an active
    /// view, forwards transactions the block left out to the primary and asks for a view change
    /// when one was left out too often.
    fn watch_for_censorship(&mut self, room: BlockRoom) {
        if self.engine.view() != self.censorship_view {
            self.censorship_view = self.engine.view();
            self.censorship.reset();
        }
        if !self.engine.view_active() || self.engine.primary() == self.own_id {
            self.censorship.reset();
            return;
        }
        let now = self.inner.now_ms();
        let storage = &self.inner.storage;
        let next_height = self.head().height + 1;
        let heads = self
            .inner
            .mempool
            .lock()
            .expect("mempool lock")
            .heads(next_height, |sender| {
                super::committed_nonce(storage, sender)
            });
        let findings = self.censorship.block_stored(now, &heads, room);
        if !findings.forward.is_empty() {
            let transactions: Vec<Vec<u8>> = {
                let mempool = self.inner.mempool.lock().expect("mempool lock");
                findings
                    .forward
                    .iter()
                    .filter_map(|id| mempool.get(id))
                    .map(|transaction| transaction.encode())
                    .collect()
            };
            let mut bytes = crate::network::ConsensusTag::ForwardedTransactions.start();
            borsh::to_writer(&mut bytes, &transactions).expect("writing to a Vec cannot fail");
            self.send(self.engine.primary(), bytes);
        }
        if findings.censored {
            tracing::warn!(
                view = self.engine.view(),
                primary = %hex::encode(self.engine.primary()),
                "transactions were left out of blocks with room for them; asking for a view change"
            );
            Metrics::add(&self.inner.metrics.censorship_view_changes, 1);
            self.censorship.reset();
            self.feed(PbftInput::RequestTimedOut { now_ms: now });
        }
    }

    fn finish_transfer_if_reached(&mut self) {
        let Some(transfer) = self.transfer else {
            return;
        };
        if transfer.height > self.head().height {
            return;
        }
        self.transfer = None;
        self.check_stored(transfer.height, &transfer.payload_hash);
        self.feed(PbftInput::StateTransferred {
            sequence: transfer.sequence,
            height: transfer.height,
            payload_hash: transfer.payload_hash,
        });
    }

    /// Asks a peer for blocks when the node is behind what the engine or its peers know.
    fn request_sync_if_behind(&mut self, now: u64) {
        if self.sync_deadline_ms.is_some_and(|deadline| now < deadline)
            || self.peers.is_empty()
            || self
                .inner
                .faults
                .isolated
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        self.sync_deadline_ms = None;
        let head = self.head().height;
        let mut target = 0;
        if let Some(transfer) = self.transfer {
            target = target.max(transfer.height);
        }
        if let Some((&first, &(_, since))) = self.commits.first_key_value()
            && (first > head + 1 || now.saturating_sub(since) >= CERTIFICATE_WAIT_MS)
        {
            target = target.max(*self.commits.keys().last().expect("not empty"));
        }
        if self.engine.height() > head && !self.commits.contains_key(&(head + 1)) {
            target = target.max(self.engine.height());
        }
        if target <= head {
            return;
        }
        let peers: Vec<ValidatorId> = self.peers.keys().copied().collect();
        let peer = peers[self.sync_round % peers.len()];
        self.sync_round += 1;
        self.sync_deadline_ms = Some(now + SYNC_REQUEST_TIMEOUT_MS);
        tracing::debug!(from_height = head + 1, target, peer = %hex::encode(peer), "block sync");
        let request = SyncRequest::encode(head + 1, target);
        let peer_id = self.peers[&peer];
        match &mut self.outbound {
            Outbound::Network {
                network,
                runtime,
                queue,
            } => {
                let (network, queue) = (network.clone(), queue.clone());
                runtime.spawn(async move {
                    let result = network
                        .request(Channel::BlockSync, peer_id, request)
                        .await
                        .map_err(|error| error.to_string());
                    let _ = queue.send(DriverMessage::Synced { from: peer, result });
                });
            }
            Outbound::Simulated(outbox) => outbox.push(simulated::Outgoing {
                to: peer,
                message: simulated::OutgoingMessage::SyncRequest(request),
            }),
        }
    }

    /// Checks, re-executes and stores synced blocks.
    fn synced(&mut self, from: ValidatorId, result: Result<Vec<u8>, String>) {
        self.sync_deadline_ms = None;
        let response = match result.and_then(|bytes| SyncResponse::decode(&bytes)) {
            Ok(response) => response,
            Err(error) => {
                tracing::debug!(%error, from = %hex::encode(from), "block sync failed");
                return;
            }
        };
        for (block, certificate) in response.blocks {
            let head = self.head();
            let height = block.header.height;
            let limits = (
                self.parameters.block_transactions_max,
                self.parameters.block_bytes_max,
            );
            match certified_block(
                &self.inner,
                &self.validators,
                limits,
                &head,
                block,
                certificate,
            ) {
                Ok(prepared) => self.store(prepared),
                Err(SyncFailure::Refused(reason)) => {
                    tracing::warn!(%reason, height, from = %hex::encode(from), "synced block refused");
                    break;
                }
                Err(SyncFailure::Halt(reason)) => {
                    self.halt(reason);
                    return;
                }
            }
            Metrics::add(&self.inner.metrics.blocks_synced, 1);
            if self.halted {
                return;
            }
        }
        self.apply_commits();
        self.retry_waiting();
    }

    /// A backup whose transactions wait while no block comes sends them to the primary: gossip
    /// is best effort (a node behind refuses nonces too far ahead, queues overflow, a peer cut
    /// off or restarting misses it), and a primary missing one nonce of a sender cannot propose
    /// that sender's later ones. This runs well before the view-change timeout, so a live
    /// primary is not replaced for what it never received.
    ///
    /// A replica in a view change, or the primary of a view not yet installed, sends them to
    /// every validator instead: a replica that knows of no waiting work has no progress timer,
    /// so it would sit in a silent primary's view for good while the only replica holding the
    /// work waits in a view change for a quorum (the four-process test of a stopped primary).
    fn forward_if_stuck(&mut self, now: u64, backlog: u64) {
        let to_primary = self.engine.view_active() && self.engine.primary() != self.own_id;
        let stuck_in_view_change = !self.engine.view_active();
        if !(to_primary || stuck_in_view_change)
            || !self
                .pacing
                .forward_due(now, backlog, self.parameters.view_change_timeout_ms / 4)
        {
            return;
        }
        let bytes = super::bridge::forwarded_transactions(
            &self.inner,
            self.parameters.block_transactions_max,
            self.parameters.block_bytes_max,
        );
        if to_primary {
            self.send(self.engine.primary(), bytes);
        } else {
            let peers: Vec<ValidatorId> = self.peers.keys().copied().collect();
            for peer in peers {
                self.send(peer, bytes.clone());
            }
        }
    }

    /// The primary cuts a block when enough transactions wait or the first waited long enough,
    /// on its newest proposal (pipelining) or, with none in flight, on the head.
    fn propose_if_due(&mut self, now: u64, backlog: u64) {
        if !self.engine.can_propose() {
            return;
        }
        let parent = match self.proposal_tip {
            Some(tip) => match self.tip_parent(tip) {
                Some(parent) => parent,
                None => return,
            },
            None => {
                let head = self.head();
                if self.engine.proposals_in_flight() > 0
                    || head.height != self.engine.height()
                    || !self.commits.is_empty()
                {
                    return;
                }
                Parent::head(&head)
            }
        };
        let Some(prepared) = proposal_if_due(
            &self.inner,
            &self.pacing,
            &parent,
            backlog,
            now,
            (
                self.parameters.block_transactions_max,
                self.parameters.block_bytes_max,
                self.parameters.block_interval_ms,
            ),
        ) else {
            return;
        };
        let mut prepared = prepared;
        if self.byzantine.is_some() {
            self.tamper_with_proposal(&mut prepared);
        }
        let hash = prepared.committed.block.header.hash();
        self.executed.insert(hash, Executed { prepared });
        self.feed(PbftInput::Propose { payload_hash: hash });
        if self.engine.is_in_flight(&hash) {
            self.proposal_tip = Some(hash);
        }
    }

    /// The parent for the proposal after `tip`: `tip` itself, executed here and not stored yet,
    /// or the head once `tip` is stored. `None` (and the tip is forgotten) when `tip` is
    /// neither, e.g. a view change replaced it.
    fn tip_parent(&mut self, tip: Hash) -> Option<Parent> {
        let parent = Parent::at(&self.head(), &tip, |hash| {
            self.executed.get(hash).map(|executed| &executed.prepared)
        });
        if parent.is_none() {
            self.proposal_tip = None;
        }
        parent
    }
}

enum Rejection {
    /// The block is wrong: the proposer is to blame.
    Invalid(String),
    /// This node could not execute it (storage, host): nobody is to blame yet.
    Local(NodeError),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Invalid(reason) => formatter.write_str(reason),
            Rejection::Local(error) => write!(formatter, "{error}"),
        }
    }
}
