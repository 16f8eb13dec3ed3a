//! The Raft driver: openraft orders blocks the leader builds; every node applies them.
//!
//! - The leader (openraft's) cuts a block from its mempool, executes it, and proposes its
//!   bytes as a log entry. Proposals can be pipelined (`proposals_in_flight` in the node
//!   config): each block is then built and executed on the one before it (the executor reads
//!   through the unstored blocks' effects) and openraft replicates them back to back. When a
//!   proposal is dropped (leadership lost) the leader stops building on it and, once nothing is
//!   in flight, starts again from the head. The default is one block in flight: openraft
//!   already batches whatever the log holds into each replication round trip, so more blocks
//!   in flight only made smaller blocks — measured, no more throughput and a higher latency
//!   (`docs/ARCHITECTURE.md`). Once a majority has an entry it is committed and every node's
//!   state machine ([`crate::raft::RaftStateMachineStore`]) applies it through
//!   [`ChainApplier`]: a
//!   block that does not build on the head (a deposed leader's late proposal) or is malformed is
//!   skipped, the same way on every node; otherwise it is executed (the leader reuses its own
//!   execution), its receipts and state root are compared with the header — a node that
//!   computes another state halts rather than diverges — and it is stored with the applied log
//!   id in one batch.
//! - Finality certificates: after applying a block each node signs (height, block hash) and
//!   sends the attestation to the others; a quorum of them (more than two thirds of the
//!   validators, as the certificate format requires) is stored as the block's certificate.
//!   Blocks still without one after a while (e.g. applied while the node was down) get theirs
//!   by block sync from a peer. In Raft mode a block is final when applied — a majority
//!   durably has it — and its certificate follows.
//! - Transactions are gossiped as with PBFT; a follower whose ready transactions wait without
//!   a new block forwards them to the leader.
//! - Log compaction: every [`SNAPSHOT_INTERVAL_ENTRIES_DEFAULT`] applied entries (node
//!   config) openraft takes a snapshot — the applied log id, the membership and the chain head;
//!   the blocks themselves are already in storage — and purges the log below it but for the
//!   last [`LOG_ENTRIES_KEPT_DEFAULT`] (by default only with validator sets where a
//!   certificate's quorum is a Raft majority, see [`snapshot_policy`]). A follower further
//!   behind receives the snapshot; it
//!   fetches the blocks up to the snapshot's head by block sync, each checked against its
//!   finality certificate and re-executed (`ChainApplier::catch_up`), then goes on from the
//!   log. It takes certified blocks only, so a lagging node catches up once more than two
//!   thirds of the validators attested the blocks.

// openraft's constructor and errors are what they are (see `crate::raft`).
#![allow(clippy::result_large_err)]

use super::attestations::AttestationPool;
use super::block_sync::{SyncRequest, SyncResponse};
use super::driver_limits::{
    CERTIFICATE_WAIT_MS, SYNC_BLOCKS_PER_REQUEST_MAX, SYNC_REQUEST_TIMEOUT_MS, TICK_MS_MAX,
};
use super::proposals::{Pacing, SyncFailure, certified_block, check_block_shape, proposal_if_due};
use super::replica::ReplicaNetwork;
use super::{DriverMessage, Inner, Node, Parent, Prepared, commit, commit_with_meta, halt};
use crate::NodeError;
use crate::block::{Block, FinalityCertificate, ValidatorSignature, quorum};
use crate::hash::Hash;
use crate::metrics::Metrics;
use crate::network::ConsensusTag;
use crate::network::{Channel, NetworkConfig, NetworkHandle, peer_id};
use crate::raft::network::RaftPeers;
use crate::raft::{
    APPLIED_KEY, BlockApplier, RaftLogStore, RaftRequest, RaftStateMachineStore, TypeConfig,
};
use crate::receipt::receipts_root;
use crate::state::next_state_root;
use crate::storage::CommittedBlock;
use borsh::{BorshDeserialize, BorshSerialize};
use libp2p::PeerId;
use openraft::{BasicNode, Raft, ServerState, SnapshotPolicy};
use rxchain_genesis::{Consensus, RaftParameters};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// Blocks the leader proposes before the first of them is applied, unless configured (see the
/// module docs for why one).
const PROPOSALS_IN_FLIGHT_DEFAULT: u64 = 1;
/// A snapshot every this many applied log entries, unless configured.
const SNAPSHOT_INTERVAL_ENTRIES_DEFAULT: u64 = 5_000;
/// Log entries kept below a snapshot, unless configured: a follower this far behind still
/// gets entries rather than the snapshot and a block sync.
const LOG_ENTRIES_KEPT_DEFAULT: u64 = 1_000;
/// The most either may be configured to.
const LOG_ENTRIES_CONFIGURED_MAX: u64 = 1_000_000;
/// A snapshot install gives up fetching the blocks up to its head after this long without
/// getting one (the node then stops with an error naming the height).
const CATCH_UP_TIMEOUT_MS: u64 = 120_000;
/// A catch-up round that got no block waits this long before asking the next peer.
const CATCH_UP_RETRY_MS: u64 = 100;
/// At start, openraft waits for every other validator's connection for at most this many
/// maximum election timeouts.
const PEERS_WAIT_ELECTIONS: u64 = 10;
/// Heights below the head whose attestations are kept (older ones are left to block sync).
const ATTESTATION_HEIGHTS_BEHIND_MAX: u64 = 1_024;
/// Heights above the head whose attestations are kept: others may have applied blocks this node
/// has not yet; further ahead, this node catches up by block sync.
const ATTESTATION_HEIGHTS_AHEAD_MAX: u64 = 256;
/// Blocks below the head checked for a missing certificate at start.
const RECENT_BLOCKS_CHECKED: u64 = 256;

/// One validator's signature over an applied block.
#[derive(BorshSerialize, BorshDeserialize)]
struct Attestation {
    height: u64,
    block_hash: Hash,
    signature: ValidatorSignature,
}

/// Applies committed log entries to the chain.
struct ChainApplier {
    inner: Arc<Inner>,
    validators: Vec<[u8; 32]>,
    parameters: RaftParameters,
    /// Blocks this node built as leader, already executed, by hash.
    prepared: Arc<Mutex<HashMap<Hash, Prepared>>>,
    queue: mpsc::Sender<DriverMessage>,
    /// For fetching blocks when a snapshot is ahead of the chain.
    network: NetworkHandle,
    runtime: tokio::runtime::Handle,
    /// The other validators' network identities.
    others: Vec<PeerId>,
}

impl ChainApplier {
    /// Whether every node would take this block: built for this chain and validator set by a
    /// validator, with the transactions its header names, all validly signed, within limits.
    fn well_formed(&self, block: &Block) -> Result<(), String> {
        check_block_shape(
            &self.inner,
            &self.validators,
            block,
            self.parameters.block_transactions_max,
            self.parameters.block_bytes_max,
        )
    }
}

impl BlockApplier for ChainApplier {
    fn apply_block(&self, bytes: &[u8], applied: Vec<u8>) -> Result<Option<u64>, String> {
        let Ok(block) = Block::decode(bytes) else {
            tracing::warn!("skipping an undecodable block proposal");
            return Ok(None);
        };
        let head = self.inner.head.borrow().clone();
        let header = &block.header;
        if header.height != head.height + 1 || header.previous_hash != head.hash {
            // A proposal built on a head that another block replaced; every node skips it.
            tracing::debug!(height = header.height, "skipping a stale block proposal");
            return Ok(None);
        }
        if let Err(reason) = self.well_formed(&block) {
            tracing::warn!(%reason, height = header.height, "skipping an invalid block proposal");
            return Ok(None);
        }
        // Block time never goes back: contracts read it (recall and expiry times), and every
        // node compares with the same parent, so every node skips such an entry alike.
        if header.timestamp_ms < head.timestamp_ms {
            tracing::warn!(
                height = header.height,
                timestamp_ms = header.timestamp_ms,
                parent_timestamp_ms = head.timestamp_ms,
                "skipping a block proposal stamped before its parent"
            );
            return Ok(None);
        }
        let hash = header.hash();
        let height = header.height;
        let own = self.prepared.lock().expect("prepared lock").remove(&hash);
        let prepared = match own {
            Some(prepared) => prepared,
            None => {
                let started = Instant::now();
                let executed = self.inner.executor.execute_block(
                    &self.inner.storage,
                    &crate::state::Ancestors::none(),
                    height,
                    header.timestamp_ms,
                    &block.transactions,
                );
                let effects = match executed {
                    Ok(effects) => effects,
                    // Every node finds the same rule broken on the same state, so every node
                    // skips the entry; none commits a repeated or unexecutable transaction.
                    Err(NodeError::InvalidBlock(reason)) => {
                        tracing::warn!(%reason, height, "skipping an invalid block proposal");
                        return Ok(None);
                    }
                    Err(error) => return Err(format!("executing block {height}: {error}")),
                };
                Prepared {
                    committed: CommittedBlock {
                        block: block.clone(),
                        certificate: None,
                        effects: Arc::new(effects),
                    },
                    execution: started.elapsed(),
                }
            }
        };
        let effects = &prepared.committed.effects;
        let computed = next_state_root(&head.state_root, effects);
        if computed != header.state_root || receipts_root(&effects.receipts) != header.receipts_root
        {
            let reason = NodeError::StateRootMismatch {
                height,
                expected: hex::encode(header.state_root),
                computed: hex::encode(computed),
            }
            .to_string();
            halt(&self.inner, reason.clone());
            return Err(reason);
        }
        commit_with_meta(&self.inner, prepared, &[(APPLIED_KEY, applied)])
            .map_err(|error| format!("storing block {height}: {error}"))?;
        self.prepared
            .lock()
            .expect("prepared lock")
            .retain(|_, prepared| prepared.committed.block.header.height > height);
        let _ = self.queue.send(DriverMessage::Applied { height, hash });
        Ok(Some(height))
    }

    fn catch_up(&self, height: u64, hash: Hash) -> Result<(), String> {
        let mut deadline = Instant::now() + Duration::from_millis(CATCH_UP_TIMEOUT_MS);
        let mut round = 0;
        loop {
            let head = self.inner.head.borrow().clone();
            if head.height >= height {
                let stored = self
                    .inner
                    .storage
                    .block(height)
                    .map_err(|error| error.to_string())?
                    .map(|block| block.header.hash());
                return if stored == Some(hash) || height == 0 {
                    Ok(())
                } else {
                    Err(format!(
                        "a snapshot names block {height} other than the stored one"
                    ))
                };
            }
            if Instant::now() >= deadline || self.others.is_empty() {
                let reason = format!(
                    "could not fetch the certified blocks up to the snapshot's head {height} \
                     (this node has {}): none came for {CATCH_UP_TIMEOUT_MS} ms",
                    head.height
                );
                halt(&self.inner, reason.clone());
                return Err(reason);
            }
            let peer = self.others[round % self.others.len()];
            round += 1;
            if self.fetch_blocks(peer, &head, height)? == 0 {
                // Nobody had them certified yet (attestations gather after apply), or the
                // peer is down: ask the next one a moment later.
                std::thread::sleep(Duration::from_millis(CATCH_UP_RETRY_MS));
            } else {
                // The deadline is for making no progress, not for the whole way.
                deadline = Instant::now() + Duration::from_millis(CATCH_UP_TIMEOUT_MS);
            }
        }
    }
}

impl ChainApplier {
    /// Asks `peer` for the certified blocks above `head` (up to `target`) and stores those
    /// that check out; returns how many. An error when a certified block cannot be reproduced.
    fn fetch_blocks(
        &self,
        peer: PeerId,
        head: &crate::storage::Head,
        target: u64,
    ) -> Result<usize, String> {
        let request = SyncRequest::encode(head.height + 1, target);
        let answer = self.runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(SYNC_REQUEST_TIMEOUT_MS),
                self.network.request(Channel::BlockSync, peer, request),
            )
            .await
        });
        let Ok(Ok(bytes)) = answer else {
            return Ok(0);
        };
        let Ok(SyncResponse { blocks, .. }) = SyncResponse::decode(&bytes) else {
            return Ok(0);
        };
        let limits = (
            self.parameters.block_transactions_max,
            self.parameters.block_bytes_max,
        );
        let mut stored = 0;
        for (block, certificate) in blocks {
            if block.header.height > target {
                break;
            }
            let head = self.inner.head.borrow().clone();
            let height = block.header.height;
            match certified_block(
                &self.inner,
                &self.validators,
                limits,
                &head,
                block,
                certificate,
            ) {
                Ok(prepared) => {
                    commit(&self.inner, prepared)
                        .map_err(|error| format!("storing synced block {height}: {error}"))?;
                    Metrics::add(&self.inner.metrics.blocks_synced, 1);
                    stored += 1;
                }
                Err(SyncFailure::Refused(reason)) => {
                    tracing::warn!(%reason, height, "synced block refused");
                    break;
                }
                Err(SyncFailure::Halt(reason)) => {
                    halt(&self.inner, reason.clone());
                    return Err(reason);
                }
            }
        }
        Ok(stored)
    }
}

struct RaftDriver {
    inner: Arc<Inner>,
    raft: Raft<TypeConfig>,
    runtime: tokio::runtime::Handle,
    network: NetworkHandle,
    queue: mpsc::Sender<DriverMessage>,
    parameters: RaftParameters,
    own_index: u64,
    own_id: [u8; 32],
    /// Ascending validator keys; a node id is an index into this.
    validators: Vec<[u8; 32]>,
    peers: Vec<PeerId>,
    prepared: Arc<Mutex<HashMap<Hash, Prepared>>>,
    /// This leader's proposals neither committed nor dropped yet.
    proposals_in_flight: u64,
    proposals_in_flight_max: u64,
    /// The newest of them: the next proposal builds on it.
    proposal_tip: Option<Hash>,
    /// One was dropped: build nothing more on the tip until none is in flight.
    pipeline_broken: bool,
    pacing: Pacing,
    attestations: AttestationPool,
    /// Applied blocks without a certificate yet: height → (hash, applied at).
    uncertified: BTreeMap<u64, (Hash, u64)>,
    sync_deadline_ms: Option<u64>,
    sync_round: usize,
}

/// Log compaction is on by default only where a finality certificate needs no more validators
/// than a Raft majority (4 validators: 3 and 3). With 3 or 5 a node that fell behind the
/// purged log could not catch up while one (two) of the others is down — catch-up takes
/// certified blocks only — so there the log is kept unless the node config asks otherwise.
fn snapshot_policy(validators: usize, configured: Option<u64>, interval: u64) -> SnapshotPolicy {
    let majority = validators / 2 + 1;
    if configured.is_none() && quorum(validators) > majority {
        tracing::info!(
            validators,
            certificate_quorum = quorum(validators),
            majority,
            "raft snapshots off by default: a certificate needs more validators than a majority"
        );
        return SnapshotPolicy::Never;
    }
    SnapshotPolicy::LogsSinceLast(interval)
}

/// A configured count of log entries, its default, or a clear error outside `minimum..=max`.
fn configured_entries(
    name: &str,
    configured: Option<u64>,
    default: u64,
    minimum: u64,
) -> Result<u64, NodeError> {
    let entries = configured.unwrap_or(default);
    if !(minimum..=LOG_ENTRIES_CONFIGURED_MAX).contains(&entries) {
        return Err(NodeError::Config(format!(
            "{name} must be {minimum} to {LOG_ENTRIES_CONFIGURED_MAX}, not {entries}"
        )));
    }
    Ok(entries)
}

/// Starts the network, openraft, the bridge task and the driver thread.
///
/// Long because it wires the parts in the order they depend on each other: network, storage
/// adapters, openraft, bridge, driver thread.
pub(super) fn start(
    node: &Node,
    network: ReplicaNetwork,
) -> Result<std::thread::JoinHandle<()>, NodeError> {
    let inner = node.inner.clone();
    let Consensus::Raft(parameters) = &inner.genesis.consensus else {
        return Err(NodeError::Config("not a raft chain".into()));
    };
    let parameters = parameters.clone();
    if network.byzantine.is_some() {
        return Err(NodeError::Config(
            "Byzantine modes are PBFT's; a Raft chain trusts its validators".into(),
        ));
    }
    let proposals_in_flight_max = network.proposals_in_flight(PROPOSALS_IN_FLIGHT_DEFAULT)?;
    let snapshot_interval_entries = configured_entries(
        "raft_snapshot_interval_entries",
        network.raft_snapshot_interval_entries,
        SNAPSHOT_INTERVAL_ENTRIES_DEFAULT,
        1,
    )?;
    let log_entries_kept = configured_entries(
        "raft_log_entries_kept",
        network.raft_log_entries_kept,
        LOG_ENTRIES_KEPT_DEFAULT,
        0,
    )?;
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| NodeError::Config("a replica starts inside a tokio runtime".into()))?;
    let mut validators = inner.validators.clone();
    validators.sort();
    let own_id = inner.validator_key.verifying_key().to_bytes();
    let own_index = validators
        .iter()
        .position(|validator| *validator == own_id)
        .expect("Node::open checked the key is a validator") as u64;
    let (handle, events) = crate::network::start(NetworkConfig {
        node_secret_key: inner.validator_key.to_bytes(),
        listen: network.listen,
        allowed_node_keys: validators.clone(),
    })?;
    let peers: Vec<PeerId> = validators.iter().map(peer_id).collect::<Result<_, _>>()?;
    inner.faults.enabled.store(
        network.fault_injection,
        std::sync::atomic::Ordering::Relaxed,
    );

    let (queue, receiver) = mpsc::channel();
    *inner.wake.lock().expect("wake lock") = Some(queue.clone());
    *inner.gossip.lock().expect("gossip lock") = Some((handle.clone(), runtime.clone()));
    let validators_by_peer: HashMap<PeerId, [u8; 32]> = peers
        .iter()
        .zip(&validators)
        .filter(|(_, validator)| **validator != own_id)
        .map(|(peer, validator)| (*peer, *validator))
        .collect();
    // The bridge runs before openraft does, so the other validators get dialed first; Raft
    // RPCs that arrive before openraft started are answered as lost.
    let raft_cell = Arc::new(OnceLock::new());
    let (all_connected, connected) = tokio::sync::oneshot::channel();
    runtime.spawn(super::bridge::run(
        node.clone(),
        handle.clone(),
        events,
        super::bridge::ConsensusRoute::Raft {
            raft: raft_cell.clone(),
            driver: queue.clone(),
        },
        validators_by_peer,
        network.peers,
        Some(all_connected),
    ));
    let prepared = Arc::new(Mutex::new(HashMap::new()));
    let applier = ChainApplier {
        inner: inner.clone(),
        validators: validators.clone(),
        parameters: parameters.clone(),
        prepared: prepared.clone(),
        queue: queue.clone(),
        network: handle.clone(),
        runtime: runtime.clone(),
        others: peers
            .iter()
            .enumerate()
            .filter(|(index, _)| *index as u64 != own_index)
            .map(|(_, peer)| *peer)
            .collect(),
    };
    let config = openraft::Config {
        cluster_name: inner.genesis.chain_id.clone(),
        heartbeat_interval: parameters.heartbeat_interval_ms,
        election_timeout_min: parameters.election_timeout_min_ms,
        election_timeout_max: parameters.election_timeout_max_ms,
        snapshot_policy: snapshot_policy(
            validators.len(),
            network.raft_snapshot_interval_entries,
            snapshot_interval_entries,
        ),
        max_in_snapshot_log_to_keep: log_entries_kept,
        max_payload_entries: 16,
        ..Default::default()
    }
    .validate()
    .map_err(|error| NodeError::Config(format!("raft: {error}")))?;
    let factory = RaftPeers {
        network: handle.clone(),
        peers: peers.clone(),
        isolated: inner.faults.isolated.clone(),
    };
    let log_store = RaftLogStore::new(inner.storage.clone());
    let state_machine = RaftStateMachineStore::new(inner.storage.clone(), Arc::new(applier));
    // openraft's first election starts with the engine: waiting (a while at most) for the
    // other validators' connections spares it votes that fail only because the processes
    // started a moment apart.
    let wait = Duration::from_millis(parameters.election_timeout_max_ms * PEERS_WAIT_ELECTIONS);
    let waited =
        tokio::task::block_in_place(|| runtime.block_on(tokio::time::timeout(wait, connected)));
    if waited.is_err() {
        tracing::info!(
            wait_ms = wait.as_millis() as u64,
            "starting raft before every validator is connected"
        );
    }
    // openraft's constructor is async; the caller is inside the runtime (multi-threaded).
    let raft = tokio::task::block_in_place(|| {
        runtime.block_on(Raft::new(
            own_index,
            Arc::new(config),
            factory,
            log_store,
            state_machine,
        ))
    })
    .map_err(|error| NodeError::Config(format!("raft: {error}")))?;
    let _ = raft_cell.set(raft.clone());
    // Every validator founds the cluster with the same membership on its first start (safe in
    // openraft), so the chain forms whichever validators come up first.
    let members: BTreeMap<u64, BasicNode> = (0..validators.len() as u64)
        .map(|index| {
            (
                index,
                BasicNode::new(hex::encode(validators[index as usize])),
            )
        })
        .collect();
    let initialized = tokio::task::block_in_place(|| runtime.block_on(raft.is_initialized()))
        .map_err(|error| NodeError::Config(format!("raft: {error}")))?;
    if !initialized {
        let result = tokio::task::block_in_place(|| runtime.block_on(raft.initialize(members)));
        if let Err(error) = result {
            tracing::debug!(%error, "initializing the raft cluster (another node did)");
        }
    }

    let tick_ms = (parameters.block_interval_ms / 2).clamp(1, TICK_MS_MAX);
    // Recent blocks stored without a certificate before a restart get theirs by sync.
    let mut uncertified = BTreeMap::new();
    let head = inner.head.borrow().clone();
    for height in head.height.saturating_sub(RECENT_BLOCKS_CHECKED).max(1)..=head.height {
        if inner.storage.certificate(height)?.is_none()
            && let Some(block) = inner.storage.block(height)?
        {
            uncertified.insert(height, (block.header.hash(), 0));
        }
    }
    let driver = RaftDriver {
        inner,
        raft,
        runtime,
        network: handle,
        queue,
        parameters,
        own_index,
        own_id,
        validators,
        peers,
        prepared,
        proposals_in_flight: 0,
        proposals_in_flight_max,
        proposal_tip: None,
        pipeline_broken: false,
        pacing: Pacing::new(node.inner.now_ms()),
        attestations: AttestationPool::new(
            ATTESTATION_HEIGHTS_BEHIND_MAX,
            ATTESTATION_HEIGHTS_AHEAD_MAX,
        ),
        uncertified,
        sync_deadline_ms: None,
        sync_round: 0,
    };
    Ok(std::thread::Builder::new()
        .name("rxchain-raft".into())
        .spawn(move || run(driver, receiver, tick_ms))?)
}

fn run(mut driver: RaftDriver, receiver: mpsc::Receiver<DriverMessage>, tick_ms: u64) {
    loop {
        let mut messages = Vec::new();
        match receiver.recv_timeout(Duration::from_millis(tick_ms)) {
            Ok(message) => messages.push(message),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(message) = receiver.try_recv() {
            messages.push(message);
        }
        driver.inner.take_wake();
        for message in messages {
            match message {
                DriverMessage::Stop => {
                    let raft = driver.raft.clone();
                    let _ = driver.runtime.block_on(raft.shutdown());
                    return;
                }
                DriverMessage::Wake => {}
                DriverMessage::Consensus { from, bytes } => driver.attested(from, &bytes[1..]),
                DriverMessage::Applied { height, hash } => driver.applied(height, hash),
                DriverMessage::ProposalDone { committed } => driver.proposal_done(committed),
                DriverMessage::Synced { result, .. } => driver.synced(result),
            }
        }
        if driver.inner.halted.lock().expect("halted lock").is_some() {
            let raft = driver.raft.clone();
            let _ = driver.runtime.block_on(raft.shutdown());
            return;
        }
        driver.step();
    }
}

impl RaftDriver {
    fn head(&self) -> crate::storage::Head {
        self.inner.head.borrow().clone()
    }

    fn send(&self, to: PeerId, bytes: Vec<u8>) {
        if self
            .inner
            .faults
            .isolated
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let network = self.network.clone();
        self.runtime.spawn(async move {
            let _ = network.request(Channel::Consensus, to, bytes).await;
        });
    }

    fn step(&mut self) {
        let now = self.inner.now_ms();
        let metrics = self.raft.metrics().borrow().clone();
        Metrics::set(&self.inner.metrics.consensus_view, metrics.current_term);
        Metrics::set(
            &self.inner.metrics.leader,
            metrics.current_leader.map_or(0, |leader| leader + 1),
        );
        let backlog = self.pacing.observe(&self.inner, now);
        if metrics.state == ServerState::Leader && metrics.current_leader == Some(self.own_index) {
            self.propose_if_due(now, backlog);
        } else if let Some(leader) = metrics.current_leader {
            self.forward_if_stuck(now, backlog, leader);
        }
        self.sync_certificates(now);
    }

    fn propose_if_due(&mut self, now: u64, backlog: u64) {
        if self.proposals_in_flight >= self.proposals_in_flight_max || self.pipeline_broken {
            return;
        }
        let parent = match self.proposal_tip {
            None => Parent::head(&self.head()),
            Some(tip) => match self.tip_parent(tip) {
                Some(parent) => parent,
                None => return,
            },
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
        let height = prepared.committed.block.header.height;
        let block = prepared.committed.block.encode();
        let hash = prepared.committed.block.header.hash();
        self.prepared
            .lock()
            .expect("prepared lock")
            .insert(hash, prepared);
        self.proposals_in_flight += 1;
        self.proposal_tip = Some(hash);
        let raft = self.raft.clone();
        let queue = self.queue.clone();
        self.runtime.spawn(async move {
            // Returns once the entry is committed and applied here (or leadership was lost).
            let committed = match raft.client_write(RaftRequest { block }).await {
                Ok(_) => true,
                Err(error) => {
                    tracing::debug!(%error, height, "a block proposal was not committed");
                    false
                }
            };
            let _ = queue.send(DriverMessage::ProposalDone { committed });
        });
    }

    fn proposal_done(&mut self, committed: bool) {
        self.proposals_in_flight = self.proposals_in_flight.saturating_sub(1);
        if !committed {
            self.pipeline_broken = true;
        }
        if self.proposals_in_flight == 0 {
            self.proposal_tip = None;
            self.pipeline_broken = false;
        }
    }

    /// The parent for the proposal after `tip`: the chain of this leader's unapplied blocks
    /// from the head up to `tip`, or the head once `tip` is applied. `None` while the chain
    /// does not reach the head (a block between is being stored right now, or the chain went
    /// stale because another block was applied; the pipeline restarts once none is in flight).
    fn tip_parent(&self, tip: Hash) -> Option<Parent> {
        let prepared = self.prepared.lock().expect("prepared lock");
        Parent::at(&self.head(), &tip, |hash| prepared.get(hash))
    }

    /// A follower whose transactions wait without a new block sends them to the leader (see
    /// the PBFT driver for why gossip alone is not enough).
    fn forward_if_stuck(&mut self, now: u64, backlog: u64, leader: u64) {
        let Some(peer) = self.peers.get(leader as usize).copied() else {
            return;
        };
        if leader == self.own_index
            || !self
                .pacing
                .forward_due(now, backlog, self.parameters.election_timeout_min_ms)
        {
            return;
        }
        let bytes = super::bridge::forwarded_transactions(
            &self.inner,
            self.parameters.block_transactions_max,
            self.parameters.block_bytes_max,
        );
        self.send(peer, bytes);
    }

    /// This node applied a block: attest it to the others.
    fn applied(&mut self, height: u64, hash: Hash) {
        let signature = FinalityCertificate::sign(height, hash, &self.inner.validator_key);
        self.uncertified.insert(height, (hash, self.inner.now_ms()));
        self.add_attestation(height, hash, signature.clone());
        let mut bytes = ConsensusTag::Attestation.start();
        borsh::to_writer(
            &mut bytes,
            &Attestation {
                height,
                block_hash: hash,
                signature,
            },
        )
        .expect("writing to a Vec cannot fail");
        for (index, peer) in self.peers.iter().enumerate() {
            if index as u64 != self.own_index {
                self.send(*peer, bytes.clone());
            }
        }
    }

    /// Another validator's attestation.
    fn attested(&mut self, from: [u8; 32], bytes: &[u8]) {
        let Ok(attestation) = borsh::from_slice::<Attestation>(bytes) else {
            tracing::warn!(from = %hex::encode(from), "undecodable attestation");
            return;
        };
        if attestation.signature.validator != from
            || !attestation
                .signature
                .verifies(attestation.height, &attestation.block_hash)
        {
            tracing::warn!(from = %hex::encode(from), "attestation with a bad signature");
            return;
        }
        self.add_attestation(
            attestation.height,
            attestation.block_hash,
            attestation.signature,
        );
    }

    fn add_attestation(&mut self, height: u64, hash: Hash, signature: ValidatorSignature) {
        let head = self.head().height;
        let quorum = quorum(self.validators.len());
        match self.attestations.add(head, height, hash, signature, quorum) {
            Ok(Some(certificate))
                if self
                    .uncertified
                    .get(&height)
                    .is_some_and(|(stored, _)| *stored == hash) =>
            {
                self.store_certificate(&certificate);
            }
            Ok(_) => {}
            Err(refusal) => tracing::debug!(?refusal, height, "attestation not kept"),
        }
    }

    fn store_certificate(&mut self, certificate: &FinalityCertificate) {
        match self.inner.storage.put_certificate(certificate) {
            Ok(()) => {
                self.uncertified.remove(&certificate.height);
                self.attestations.forget(certificate.height);
            }
            Err(error) => tracing::error!(%error, "storing a certificate failed"),
        }
    }

    /// Blocks whose attestations did not gather (e.g. applied while the others had moved on)
    /// get their certificate from a peer's block store.
    fn sync_certificates(&mut self, now: u64) {
        if self.sync_deadline_ms.is_some_and(|deadline| now < deadline)
            || self
                .inner
                .faults
                .isolated
                .load(std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        self.sync_deadline_ms = None;
        let Some((&height, &(_, since))) = self.uncertified.first_key_value() else {
            return;
        };
        if now.saturating_sub(since) < CERTIFICATE_WAIT_MS {
            return;
        }
        let others: Vec<PeerId> = self
            .peers
            .iter()
            .enumerate()
            .filter(|(index, _)| *index as u64 != self.own_index)
            .map(|(_, peer)| *peer)
            .collect();
        if others.is_empty() {
            return;
        }
        let peer = others[self.sync_round % others.len()];
        self.sync_round += 1;
        self.sync_deadline_ms = Some(now + SYNC_REQUEST_TIMEOUT_MS);
        let request = SyncRequest::encode(height, height + SYNC_BLOCKS_PER_REQUEST_MAX - 1);
        let network = self.network.clone();
        let queue = self.queue.clone();
        let from = self.own_id;
        self.runtime.spawn(async move {
            let result = network
                .request(Channel::BlockSync, peer, request)
                .await
                .map_err(|error| error.to_string());
            let _ = queue.send(DriverMessage::Synced { from, result });
        });
    }

    /// Certificates from a peer's blocks, for blocks this node stored without one.
    fn synced(&mut self, result: Result<Vec<u8>, String>) {
        self.sync_deadline_ms = None;
        let Ok(bytes) = result else {
            return;
        };
        let Ok(SyncResponse { blocks, .. }) = SyncResponse::decode(&bytes) else {
            return;
        };
        for (block, certificate) in blocks {
            let height = block.header.height;
            let hash = block.header.hash();
            if self
                .uncertified
                .get(&height)
                .is_some_and(|(stored, _)| *stored == hash)
                && certificate.verify(&block.header, &self.validators).is_ok()
            {
                self.store_certificate(&certificate);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_compaction_is_on_by_default_only_where_a_certificate_needs_a_majority() {
        let interval = SNAPSHOT_INTERVAL_ENTRIES_DEFAULT;
        let on = SnapshotPolicy::LogsSinceLast(interval);
        // Certificate quorum against Raft majority: 3 of 4 and 3; 3 of 3 and 2; 4 of 5 and 3.
        assert_eq!(snapshot_policy(4, None, interval), on);
        assert_eq!(snapshot_policy(3, None, interval), SnapshotPolicy::Never);
        assert_eq!(snapshot_policy(5, None, interval), SnapshotPolicy::Never);
        assert_eq!(snapshot_policy(7, None, interval), SnapshotPolicy::Never);
        // An operator who configures it gets it.
        assert_eq!(snapshot_policy(3, Some(interval), interval), on);
    }
}
