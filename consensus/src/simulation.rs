//! Deterministic simulation of the engines: seeded randomness, virtual time, an in-memory
//! network, crashes, partitions and (for PBFT) Byzantine validators.
//!
//! Everything that varies comes from one seed through [`SplitMix64`], and every event (message
//! delivery, commit, crash, restart) is folded into an FNV-1a digest, so a run is reproduced
//! by its seed and two runs can be compared by digest. Each run checks:
//! - safety: no two honest nodes store different payloads at one height, and no node's
//!   engine commits a payload other than the one it stored at that height;
//! - durability: every payload an honest node acknowledged as final (a `Commit` it carried
//!   out) is still at that height on every honest node that reached it, across restarts;
//! - liveness: once the faults heal, fresh payloads — and every earlier client payload — become
//!   final on every honest node within a virtual-time bound.
//!
//! Model (what the simulated PBFT driver does, and what a real one must do):
//! - Signatures: the authenticator keeps a registry of everything each node signed. A message
//!   is delivered only if its outer sender is the node that really sent it and every vote or
//!   view change embedded in it was signed by its claimed sender (a node signs what it sends
//!   under its own id; it cannot sign under another's). Forged votes are dropped and counted.
//! - The driver checks a `PrePrepare`'s payload before delivering it (a payload is valid when
//!   a client submitted it, or is a well-formed decoy); an invalid one becomes
//!   `InvalidProposal`.
//! - Block sync (`StateTransfer`) copies the missing blocks at once from a live honest node
//!   whose chain has the certified block at the certified height.
//! - A crash happens between two inputs: the effects of one input are carried out entirely
//!   (commit, persist, send) or not at all. Storage (the committed chain) and the last
//!   persisted engine state survive; the mempool and the engine's memory do not.
//!
//! Not modelled: message sizes and bandwidth, crashes in the middle of carrying out effects,
//! corrupted storage, clock drift between nodes (all share the virtual clock), more than one
//! Byzantine or crashed validator at a time, validator set changes.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use crate::pbft::{
    ChainStart, CheckpointVote, Message, PbftConfig, PbftEffect, PbftEngine, PbftInput,
    PersistedState, ValidatorId, ViewChange, Vote,
};
use crate::solo::{SoloConfig, SoloEngine};
use crate::{ConsensusEngine, Effect, Input, PayloadHash};

/// SplitMix64: small, fast, and good enough to draw fault schedules from a seed.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut mixed = self.state;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    }

    /// Uniform in `0..bound` (`bound` > 0); the modulo bias is irrelevant here.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0);
        self.next_u64() % bound
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high);
        low + self.below(high - low + 1)
    }

    pub fn chance_per_mille(&mut self, per_mille: u64) -> bool {
        self.below(1_000) < per_mille
    }
}

/// FNV-1a over everything fed to it, as a `Hasher` so derived `Hash` impls can feed it.
#[derive(Clone, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// A deterministic 32-byte hash of `(domain, value)`, never the null payload hash.
fn derived_hash(domain: u64, value: u64) -> PayloadHash {
    let mut random = SplitMix64::new(domain ^ value.wrapping_mul(0xA076_1D64_78BD_642F));
    let mut hash = [0u8; 32];
    for chunk in hash.chunks_mut(8) {
        chunk.copy_from_slice(&random.next_u64().to_le_bytes());
    }
    hash[0] |= 1;
    hash
}

/// How a Byzantine validator misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByzantineMode {
    /// Sends nothing at all.
    Silent,
    /// As primary, sends one payload to some replicas and another to the rest.
    EquivocatingPrimary,
    /// As primary, proposes payloads that fail the driver's validity check.
    InvalidProposals,
    /// Follows the protocol but also sends votes under other validators' ids, certificates
    /// of votes nobody cast, and replays of its own votes.
    ForgedVotes,
}

/// One PBFT run's parameters. [`PbftSimulationConfig::from_seed`] draws a fault mix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftSimulationConfig {
    pub validators: usize,
    /// Client payloads submitted while faults happen.
    pub payloads: u64,
    /// Client payloads submitted once everything healed. After healing, all client payloads
    /// (these and the earlier ones) must become final on every honest node.
    pub liveness_payloads: u64,
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    /// While faults happen.
    pub loss_per_mille: u64,
    pub duplicate_per_mille: u64,
    pub partition: bool,
    pub crash: bool,
    /// The Byzantine validator is validator 0, primary of view 0.
    pub byzantine: Option<ByzantineMode>,
    /// Faults (loss, duplication, partition, crash) happen within `[0, fault_phase_ms)`.
    pub fault_phase_ms: u64,
    /// After healing, the liveness payloads must be final everywhere within this.
    pub liveness_bound_ms: u64,
    pub tick_ms: u64,
    pub checkpoint_interval_sequences: u64,
    pub watermark_window_sequences: u64,
    pub proposals_in_flight_max: u64,
    pub view_change_timeout_ms: u64,
    pub view_change_timeout_max_ms: u64,
    pub retransmit_interval_ms: u64,
    /// Record every change of a replica's view (when, which node, from what to what, on which
    /// input), the crash and the partition, in the report's `view_trace`: for reading one seed.
    pub trace_views: bool,
}

impl Default for PbftSimulationConfig {
    fn default() -> Self {
        PbftSimulationConfig {
            validators: 4,
            payloads: 16,
            liveness_payloads: 4,
            latency_min_ms: 2,
            latency_max_ms: 40,
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            partition: false,
            crash: false,
            byzantine: None,
            fault_phase_ms: 3_000,
            liveness_bound_ms: 30_000,
            tick_ms: 10,
            checkpoint_interval_sequences: 4,
            watermark_window_sequences: 12,
            proposals_in_flight_max: 4,
            view_change_timeout_ms: 300,
            view_change_timeout_max_ms: 2_400,
            retransmit_interval_ms: 100,
            trace_views: false,
        }
    }
}

impl PbftSimulationConfig {
    /// A fault mix drawn from the seed: every Byzantine mode (or none), crash, partition,
    /// loss and duplication in varying combinations.
    pub fn from_seed(seed: u64) -> Self {
        let mut random = SplitMix64::new(seed ^ 0x5EED_F00D);
        let byzantine = match random.below(5) {
            0 => None,
            1 => Some(ByzantineMode::Silent),
            2 => Some(ByzantineMode::EquivocatingPrimary),
            3 => Some(ByzantineMode::InvalidProposals),
            _ => Some(ByzantineMode::ForgedVotes),
        };
        PbftSimulationConfig {
            loss_per_mille: [0, 50, 200][random.below(3) as usize],
            duplicate_per_mille: [0, 100][random.below(2) as usize],
            partition: random.chance_per_mille(400),
            crash: random.chance_per_mille(400),
            byzantine,
            latency_max_ms: random.between(5, 80),
            ..PbftSimulationConfig::default()
        }
    }
}

/// What a run found. `violations` is empty when every check passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulationReport {
    pub seed: u64,
    pub digest: u64,
    pub description: String,
    pub violations: Vec<String>,
    /// Per node, the height of its stored chain at the end (Byzantine nodes included).
    pub heights: Vec<u64>,
    pub deliveries: u64,
    pub dropped: u64,
    pub forgeries_rejected: u64,
    pub restarts: u64,
    pub view_max: u64,
    /// When the liveness payloads were final everywhere, if they were.
    pub live_at_ms: Option<u64>,
    /// With `trace_views`: the run's view changes, crashes and partition, in time order.
    pub view_trace: Vec<String>,
}

impl SimulationReport {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// Panics with the seed and what failed, so the run can be reproduced.
    pub fn assert_passed(&self) {
        assert!(
            self.passed(),
            "simulation failed; reproduce with seed {} ({}): {:?}",
            self.seed,
            self.description,
            self.violations
        );
    }
}

/// A signed statement, as the authenticator's registry records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Signed {
    PrePrepare(Vote),
    Prepare(Vote),
    Commit(Vote),
    Checkpoint(CheckpointVote),
    ViewChange(ViewChange),
}

impl Signed {
    fn signer(&self) -> ValidatorId {
        match self {
            Signed::PrePrepare(vote) | Signed::Prepare(vote) | Signed::Commit(vote) => vote.sender,
            Signed::Checkpoint(vote) => vote.sender,
            Signed::ViewChange(view_change) => view_change.sender,
        }
    }
}

fn view_change_statements(view_change: &ViewChange, out: &mut Vec<Signed>) {
    out.push(Signed::ViewChange(view_change.clone()));
    for vote in &view_change.checkpoint.votes {
        out.push(Signed::Checkpoint(vote.clone()));
    }
    for certificate in &view_change.prepared {
        out.push(Signed::PrePrepare(certificate.pre_prepare.clone()));
        for prepare in &certificate.prepares {
            out.push(Signed::Prepare(prepare.clone()));
        }
    }
}

/// Every signed statement a message carries (the envelope's own sender is checked apart).
fn statements(message: &Message) -> Vec<Signed> {
    let mut out = Vec::new();
    match message {
        Message::PrePrepare(vote) => out.push(Signed::PrePrepare(vote.clone())),
        Message::Prepare { vote, pre_prepare } => {
            out.push(Signed::Prepare(vote.clone()));
            out.push(Signed::PrePrepare(pre_prepare.clone()));
        }
        Message::Commit(vote) => out.push(Signed::Commit(vote.clone())),
        Message::Checkpoint(vote) => out.push(Signed::Checkpoint(vote.clone())),
        Message::ViewChange(view_change) => view_change_statements(view_change, &mut out),
        Message::NewView(new_view) => {
            for view_change in &new_view.view_changes {
                view_change_statements(view_change, &mut out);
            }
            for vote in &new_view.pre_prepares {
                out.push(Signed::PrePrepare(vote.clone()));
            }
        }
        Message::EquivocationProof { first, second, .. } => {
            out.push(Signed::PrePrepare(first.clone()));
            out.push(Signed::PrePrepare(second.clone()));
        }
        Message::Status { .. } => {}
        Message::CheckpointProof { checkpoint, .. } => {
            for vote in &checkpoint.votes {
                out.push(Signed::Checkpoint(vote.clone()));
            }
        }
        Message::CommitProof { commits, .. } => {
            for vote in commits {
                out.push(Signed::Commit(vote.clone()));
            }
        }
    }
    out
}

#[derive(Debug)]
struct Scheduled {
    deliver_at_ms: u64,
    /// Insertion order breaks ties, keeping delivery order deterministic.
    order: u64,
    from: usize,
    to: usize,
    message: Message,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap and the earliest delivery must come first.
        (other.deliver_at_ms, other.order).cmp(&(self.deliver_at_ms, self.order))
    }
}

#[derive(Debug)]
struct SimulatedNode {
    engine: Option<PbftEngine>,
    persisted: Option<PersistedState>,
    /// Storage: the committed chain, index `height - 1`.
    chain: Vec<PayloadHash>,
    /// Mempool: submitted and not yet final here, by submission order.
    pool: BTreeMap<u64, PayloadHash>,
    byzantine: Option<ByzantineMode>,
}

/// Limits that keep a broken run from running away.
const EVENTS_PER_RUN_MAX: u64 = 2_000_000;
const DOMAIN_PAYLOAD: u64 = 0x1111;
const DOMAIN_DECOY: u64 = 0x2222;
const DOMAIN_GARBAGE: u64 = 0x3333;
/// Lines of a view trace, at most (a runaway run must not fill memory).
const VIEW_TRACE_LINES_MAX: usize = 20_000;

struct PbftSimulation {
    config: PbftSimulationConfig,
    seed: u64,
    random: SplitMix64,
    ids: Vec<ValidatorId>,
    index_of: HashMap<ValidatorId, usize>,
    nodes: Vec<SimulatedNode>,
    queue: BinaryHeap<Scheduled>,
    order: u64,
    now_ms: u64,
    digest: Fnv1a,
    registry: HashSet<Signed>,
    /// Payload hashes the driver's validity check accepts.
    valid: HashSet<PayloadHash>,
    /// Payload hash → submission number, for client payloads.
    submitted: HashMap<PayloadHash, u64>,
    acknowledged: Vec<(usize, u64, PayloadHash)>,
    violations: Vec<String>,
    partition: Option<(u64, u64, Vec<bool>)>,
    crash: Option<(u64, u64, usize)>,
    heal_at_ms: u64,
    deliveries: u64,
    dropped: u64,
    forgeries_rejected: u64,
    restarts: u64,
    view_max: u64,
    events: u64,
    view_trace: Vec<String>,
}

fn engine_config(config: &PbftSimulationConfig, ids: &[ValidatorId], own: usize) -> PbftConfig {
    PbftConfig {
        validators: ids.to_vec(),
        own_id: ids[own],
        checkpoint_interval_sequences: config.checkpoint_interval_sequences,
        watermark_window_sequences: config.watermark_window_sequences,
        proposals_in_flight_max: config.proposals_in_flight_max,
        view_change_timeout_ms: config.view_change_timeout_ms,
        view_change_timeout_max_ms: config.view_change_timeout_max_ms,
        retransmit_interval_ms: config.retransmit_interval_ms,
        views_ahead_max: 64,
    }
}

const CHAIN_START: ChainStart = ChainStart {
    height: 0,
    payload_hash: [7; 32],
};

/// Runs PBFT once. Never panics on a violation it checks (they are in the report); an
/// engine assertion panics, and [`run_pbft_seed`] turns that into a report with the seed.
///
/// Long because it is the simulation's event loop: deliveries, timers, faults and checks share
/// its state, and splitting it would pass that state through every piece.
pub fn simulate_pbft(seed: u64, config: &PbftSimulationConfig) -> SimulationReport {
    assert!(config.validators >= 1 && config.validators <= 64);
    assert!(config.tick_ms >= 1 && config.latency_min_ms <= config.latency_max_ms);
    let mut random = SplitMix64::new(seed);
    // Ids are random but sorted, so who is primary of which view varies with the seed only
    // through the index the Byzantine node gets (always 0: the first primary).
    let mut ids: Vec<ValidatorId> = (0..config.validators)
        .map(|index| derived_hash(seed, index as u64))
        .collect();
    ids.sort();
    let heal_at_ms = config.fault_phase_ms;
    let partition = config.partition.then(|| {
        let start = random.below(heal_at_ms / 2);
        let end = random.between(start + 1, heal_at_ms);
        // A non-trivial split: at least one node on each side.
        let mut sides: Vec<bool> = (0..config.validators)
            .map(|_| random.below(2) == 1)
            .collect();
        sides[0] = true;
        let last = config.validators - 1;
        sides[last] = false;
        (start, end, sides)
    });
    let crash = config.crash.then(|| {
        let start = random.below(heal_at_ms / 2);
        let end = random.between(start + 1, heal_at_ms);
        // An honest node (the Byzantine one, if any, is node 0).
        let node = if config.validators > 1 {
            1 + random.below(config.validators as u64 - 1) as usize
        } else {
            0
        };
        (start, end, node)
    });
    let nodes = (0..config.validators)
        .map(|index| SimulatedNode {
            engine: Some(
                PbftEngine::new(engine_config(config, &ids, index), CHAIN_START, 0)
                    .expect("the simulation's engine parameters are valid"),
            ),
            persisted: None,
            chain: Vec::new(),
            pool: BTreeMap::new(),
            byzantine: if index == 0 { config.byzantine } else { None },
        })
        .collect();
    let mut simulation = PbftSimulation {
        config: config.clone(),
        seed,
        random,
        index_of: ids
            .iter()
            .enumerate()
            .map(|(index, id)| (*id, index))
            .collect(),
        ids,
        nodes,
        queue: BinaryHeap::new(),
        order: 0,
        now_ms: 0,
        digest: Fnv1a::default(),
        registry: HashSet::new(),
        valid: HashSet::new(),
        submitted: HashMap::new(),
        acknowledged: Vec::new(),
        violations: Vec::new(),
        partition,
        crash,
        heal_at_ms,
        deliveries: 0,
        dropped: 0,
        forgeries_rejected: 0,
        restarts: 0,
        view_max: 0,
        events: 0,
        view_trace: Vec::new(),
    };
    if let Some((start, end, sides)) = &simulation.partition {
        let side = |wanted: bool| -> Vec<usize> {
            (0..sides.len())
                .filter(|node| sides[*node] == wanted)
                .collect()
        };
        let line = format!(
            "partition {start}..{end} ms: {:?} / {:?}",
            side(true),
            side(false)
        );
        simulation.trace(line);
    }
    if let Some((start, end, node)) = simulation.crash {
        simulation.trace(format!("node {node} down {start}..{end} ms"));
    }
    let live_at_ms = simulation.run();
    simulation.final_checks(live_at_ms);
    let description = format!(
        "byzantine {:?}, crash {:?}, partition {:?}, loss {}‰, duplication {}‰, latency {}..{} ms",
        config.byzantine,
        simulation.crash,
        simulation.partition,
        config.loss_per_mille,
        config.duplicate_per_mille,
        config.latency_min_ms,
        config.latency_max_ms,
    );
    SimulationReport {
        seed,
        digest: simulation.digest.finish(),
        description,
        violations: simulation.violations,
        heights: simulation
            .nodes
            .iter()
            .map(|node| node.chain.len() as u64)
            .collect(),
        deliveries: simulation.deliveries,
        dropped: simulation.dropped,
        forgeries_rejected: simulation.forgeries_rejected,
        restarts: simulation.restarts,
        view_max: simulation.view_max,
        live_at_ms,
        view_trace: simulation.view_trace,
    }
}

/// [`simulate_pbft`] with the fault mix drawn from the seed; an engine panic becomes a
/// violation naming the seed.
pub fn run_pbft_seed(seed: u64) -> SimulationReport {
    let config = PbftSimulationConfig::from_seed(seed);
    match std::panic::catch_unwind(|| simulate_pbft(seed, &config)) {
        Ok(report) => report,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                .unwrap_or_default();
            SimulationReport {
                seed,
                digest: 0,
                description: format!("{config:?}"),
                violations: vec![format!("panicked: {message}")],
                heights: Vec::new(),
                deliveries: 0,
                dropped: 0,
                forgeries_rejected: 0,
                restarts: 0,
                view_max: 0,
                live_at_ms: None,
                view_trace: Vec::new(),
            }
        }
    }
}

/// Runs every seed in `seeds` (PBFT with drawn fault mixes, then solo) and returns the
/// failed reports; for soak runs.
pub fn soak(seeds: std::ops::Range<u64>) -> Vec<SimulationReport> {
    let mut failed = Vec::new();
    for seed in seeds {
        for report in [
            run_pbft_seed(seed),
            simulate_solo(seed, &SoloSimulationConfig::default()),
        ] {
            if !report.passed() {
                eprintln!(
                    "seed {} failed ({}): {:?}",
                    report.seed, report.description, report.violations
                );
                failed.push(report);
            }
        }
    }
    failed
}

/// A short name of an input for the view trace: its kind, and a message's kind and sender.
fn input_name(input: &PbftInput, index_of: &HashMap<ValidatorId, usize>) -> String {
    let node = |id: &ValidatorId| index_of.get(id).map_or("?".to_string(), usize::to_string);
    match input {
        PbftInput::Tick { .. } => "a tick (timeout)".to_string(),
        PbftInput::Pending { .. } => "pending work".to_string(),
        PbftInput::Propose { .. } => "a proposal".to_string(),
        PbftInput::InvalidProposal { from, .. } => {
            format!("an invalid proposal of node {}", node(from))
        }
        PbftInput::StateTransferred { .. } => "a state transfer".to_string(),
        PbftInput::RequestTimedOut { .. } => "a request timer".to_string(),
        PbftInput::Message { from, message } => {
            let kind = match message {
                Message::PrePrepare(_) => "PrePrepare".to_string(),
                Message::Prepare { .. } => "Prepare".to_string(),
                Message::Commit(_) => "Commit".to_string(),
                Message::Checkpoint(_) => "Checkpoint".to_string(),
                Message::ViewChange(view_change) => {
                    format!("ViewChange({})", view_change.new_view)
                }
                Message::NewView(new_view) => format!("NewView({})", new_view.view),
                Message::EquivocationProof { .. } => "EquivocationProof".to_string(),
                Message::Status { view, .. } => format!("Status(view {view})"),
                Message::CheckpointProof { .. } => "CheckpointProof".to_string(),
                Message::CommitProof { .. } => "CommitProof".to_string(),
            };
            format!("{kind} from node {}", node(from))
        }
    }
}

impl PbftSimulation {
    fn honest(&self, node: usize) -> bool {
        self.nodes[node].byzantine.is_none()
    }

    fn crashed(&self, node: usize) -> bool {
        self.nodes[node].engine.is_none()
    }

    fn partitioned(&self, from: usize, to: usize) -> bool {
        match &self.partition {
            Some((start, end, sides)) => {
                self.now_ms >= *start && self.now_ms < *end && sides[from] != sides[to]
            }
            None => false,
        }
    }

    fn record(&mut self, event: impl Hash) {
        self.now_ms.hash(&mut self.digest);
        event.hash(&mut self.digest);
    }

    /// Client payloads: `config.payloads` spread over the fault phase, then the liveness ones
    /// at healing. Returns (submission time, number) ascending.
    fn submission_schedule(&mut self) -> Vec<(u64, u64)> {
        let mut schedule: Vec<(u64, u64)> = (0..self.config.payloads)
            .map(|number| (self.random.below(self.heal_at_ms.max(1)), number))
            .collect();
        schedule.sort();
        for extra in 0..self.config.liveness_payloads {
            schedule.push((self.heal_at_ms, self.config.payloads + extra));
        }
        schedule
    }

    fn run(&mut self) -> Option<u64> {
        let schedule = self.submission_schedule();
        let mut next_submission = 0;
        // Every client payload, not only the late ones: a payload only backups hold must
        // also get through (by a view change to a primary that has it).
        let liveness: Vec<PayloadHash> = (0..self.config.payloads + self.config.liveness_payloads)
            .map(|number| derived_hash(self.seed ^ DOMAIN_PAYLOAD, number))
            .collect();
        let end_ms = self.heal_at_ms + self.config.liveness_bound_ms;
        while self.now_ms <= end_ms {
            while next_submission < schedule.len() && schedule[next_submission].0 <= self.now_ms {
                self.submit(schedule[next_submission].1);
                next_submission += 1;
            }
            self.crash_and_restart();
            while let Some(scheduled) = self.queue.peek() {
                if scheduled.deliver_at_ms > self.now_ms {
                    break;
                }
                let scheduled = self.queue.pop().expect("peeked");
                self.deliver(scheduled);
            }
            for node in 0..self.nodes.len() {
                self.step_node(node);
            }
            if self.events > EVENTS_PER_RUN_MAX {
                self.violations
                    .push(format!("more than {EVENTS_PER_RUN_MAX} events: runaway"));
                return None;
            }
            if self.now_ms >= self.heal_at_ms
                && (0..self.nodes.len())
                    .filter(|node| self.honest(*node))
                    .all(|node| {
                        liveness
                            .iter()
                            .all(|hash| self.nodes[node].chain.contains(hash))
                    })
            {
                return Some(self.now_ms);
            }
            self.now_ms += self.config.tick_ms;
        }
        None
    }

    fn submit(&mut self, number: u64) {
        let hash = derived_hash(self.seed ^ DOMAIN_PAYLOAD, number);
        self.valid.insert(hash);
        self.submitted.insert(hash, number);
        self.record(("submit", number));
        for node in &mut self.nodes {
            // A crashed node's mempool does not exist; the others still have the payload.
            if node.engine.is_some() && !node.chain.contains(&hash) {
                node.pool.insert(number, hash);
            }
        }
    }

    /// Adds a line to the view trace, when the run keeps one.
    fn trace(&mut self, line: String) {
        if self.config.trace_views && self.view_trace.len() < VIEW_TRACE_LINES_MAX {
            self.view_trace.push(line);
        }
    }

    fn crash_and_restart(&mut self) {
        let Some((start, end, node)) = self.crash else {
            return;
        };
        if self.now_ms >= start && self.now_ms < end && !self.crashed(node) {
            self.record(("crash", node));
            self.trace(format!("{:>6} ms  node {node} crashed", self.now_ms));
            self.nodes[node].engine = None;
            self.nodes[node].pool.clear();
        } else if self.now_ms >= end && self.crashed(node) {
            self.record(("restart", node));
            self.restarts += 1;
            let config = engine_config(&self.config, &self.ids, node);
            let engine = match self.nodes[node].persisted.clone() {
                Some(state) => PbftEngine::restore(config, CHAIN_START, state, self.now_ms),
                None => PbftEngine::new(config, CHAIN_START, self.now_ms),
            }
            .expect("the simulation's engine parameters are valid");
            assert!(
                engine.height() <= self.nodes[node].chain.len() as u64,
                "the engine's persisted height never runs ahead of storage"
            );
            let line = format!(
                "{:>6} ms  node {node} restarted in view {} ({})",
                self.now_ms,
                engine.view(),
                if engine.view_active() {
                    "active"
                } else {
                    "in view change"
                }
            );
            self.nodes[node].engine = Some(engine);
            self.trace(line);
        }
    }

    fn step_node(&mut self, node: usize) {
        if self.crashed(node) {
            return;
        }
        let pending = self.nodes[node].pool.len() as u64;
        let now_ms = self.now_ms;
        self.input(
            node,
            PbftInput::Pending {
                payloads: pending,
                now_ms,
            },
        );
        self.input(node, PbftInput::Tick { now_ms });
        // The driver proposes from its mempool while the engine takes proposals.
        let candidates: Vec<PayloadHash> = self.nodes[node].pool.values().copied().collect();
        for hash in candidates {
            let Some(engine) = &self.nodes[node].engine else {
                return;
            };
            if !engine.can_propose() {
                break;
            }
            if engine.is_in_flight(&hash) {
                continue;
            }
            self.input(node, PbftInput::Propose { payload_hash: hash });
        }
        if let Some(engine) = &self.nodes[node].engine {
            self.view_max = self.view_max.max(engine.view());
        }
    }

    fn deliver(&mut self, scheduled: Scheduled) {
        let Scheduled {
            from, to, message, ..
        } = scheduled;
        if self.crashed(to) || self.partitioned(from, to) {
            self.dropped += 1;
            return;
        }
        self.deliveries += 1;
        self.record(("deliver", from, to, &message));
        let from_id = self.ids[from];
        // The driver validates a proposal's payload before the engine sees it.
        if let Message::PrePrepare(vote) = &message
            && self.honest(to)
            && !self.valid.contains(&vote.payload_hash)
        {
            let pre_prepare = vote.clone();
            self.input(
                to,
                PbftInput::InvalidProposal {
                    from: from_id,
                    pre_prepare,
                },
            );
            return;
        }
        self.input(
            to,
            PbftInput::Message {
                from: from_id,
                message,
            },
        );
    }

    /// Feeds one input and carries out the effects (and what they lead to) at once.
    fn input(&mut self, node: usize, input: PbftInput) {
        let mut work = vec![input];
        while let Some(input) = work.pop() {
            self.events += 1;
            let Some(engine) = self.nodes[node].engine.as_mut() else {
                return;
            };
            let before = (engine.view(), engine.view_active());
            let cause = self
                .config
                .trace_views
                .then(|| input_name(&input, &self.index_of));
            let effects = engine.handle(input);
            let after = (engine.view(), engine.view_active());
            if let Some(cause) = cause
                && before != after
            {
                let state = |(view, active): (u64, bool)| {
                    format!("{view} {}", if active { "active" } else { "changing" })
                };
                let line = format!(
                    "{:>6} ms  node {node}: view {} -> {} on {cause}",
                    self.now_ms,
                    state(before),
                    state(after)
                );
                self.trace(line);
            }
            for effect in effects {
                if let Some(follow_up) = self.carry_out(node, effect) {
                    work.push(follow_up);
                }
            }
        }
    }

    fn carry_out(&mut self, node: usize, effect: PbftEffect) -> Option<PbftInput> {
        match effect {
            PbftEffect::Broadcast(message) => {
                for to in 0..self.nodes.len() {
                    if to != node {
                        self.send(node, to, message.clone());
                    }
                }
                None
            }
            PbftEffect::Send { to, message } => {
                if let Some(to) = self.index_of.get(&to).copied() {
                    self.send(node, to, message);
                }
                None
            }
            PbftEffect::Commit {
                height,
                sequence,
                payload_hash,
            } => {
                self.record(("commit", node, height, sequence, payload_hash));
                self.store(node, height, payload_hash, true);
                None
            }
            PbftEffect::Persist(state) => {
                self.nodes[node].persisted = Some(*state);
                None
            }
            PbftEffect::StateTransfer {
                sequence,
                height,
                payload_hash,
                ..
            } => self.state_transfer(node, sequence, height, payload_hash),
            PbftEffect::ProposalRefused { .. } => None,
        }
    }

    /// Storage: appends, or checks a repeated commit against what is stored.
    fn store(&mut self, node: usize, height: u64, payload_hash: PayloadHash, acknowledge: bool) {
        let honest = self.honest(node);
        let chain = &mut self.nodes[node].chain;
        let length = chain.len() as u64;
        if height <= length {
            if chain[(height - 1) as usize] != payload_hash && honest {
                self.violations.push(format!(
                    "node {node} committed a second, different payload at height {height}"
                ));
            }
            return;
        }
        if height != length + 1 {
            if honest {
                self.violations.push(format!(
                    "node {node} committed height {height} on a chain of height {length}"
                ));
            }
            return;
        }
        chain.push(payload_hash);
        if let Some(number) = self.submitted.get(&payload_hash) {
            self.nodes[node].pool.remove(number);
        }
        if acknowledge && honest {
            self.acknowledged.push((node, height, payload_hash));
        }
    }

    fn state_transfer(
        &mut self,
        node: usize,
        sequence: u64,
        height: u64,
        payload_hash: PayloadHash,
    ) -> Option<PbftInput> {
        let source = (0..self.nodes.len()).find(|other| {
            *other != node
                && self.honest(*other)
                && !self.crashed(*other)
                && self.nodes[*other].chain.len() as u64 >= height
                && height >= 1
                && self.nodes[*other].chain[(height - 1) as usize] == payload_hash
        });
        let source = match (source, height) {
            (Some(source), _) => source,
            // Nothing to copy: the checkpoint is at the chain start.
            (None, 0) => {
                return Some(PbftInput::StateTransferred {
                    sequence,
                    height,
                    payload_hash,
                });
            }
            // Try again when the engine repeats the request.
            (None, _) => return None,
        };
        let blocks: Vec<PayloadHash> = self.nodes[source].chain[..height as usize].to_vec();
        self.record(("sync", node, source, height));
        for (index, block) in blocks.into_iter().enumerate() {
            self.store(node, index as u64 + 1, block, false);
        }
        Some(PbftInput::StateTransferred {
            sequence,
            height,
            payload_hash,
        })
    }

    /// Applies a Byzantine sender's misbehaviour, the authenticator, and the network faults.
    fn send(&mut self, from: usize, to: usize, message: Message) {
        let mut outgoing = vec![message];
        match self.nodes[from].byzantine {
            None => {}
            Some(ByzantineMode::Silent) => outgoing.clear(),
            Some(ByzantineMode::EquivocatingPrimary) => {
                // Which replicas get the decoy changes every half second, so a replica may
                // be offered both payloads over time (retransmissions, after a restart).
                if let Message::PrePrepare(vote) = &mut outgoing[0]
                    && (to as u64 + self.now_ms / 500) % 2 == 1
                {
                    // A well-formed payload nobody submitted: passes validation.
                    let decoy = derived_hash(
                        self.seed ^ DOMAIN_DECOY,
                        vote.view.wrapping_mul(1_000_003) ^ vote.sequence,
                    );
                    self.valid.insert(decoy);
                    vote.payload_hash = decoy;
                }
            }
            Some(ByzantineMode::InvalidProposals) => {
                if let Message::PrePrepare(vote) = &mut outgoing[0] {
                    vote.payload_hash = derived_hash(
                        self.seed ^ DOMAIN_GARBAGE,
                        vote.view.wrapping_mul(1_000_003) ^ vote.sequence,
                    );
                }
            }
            Some(ByzantineMode::ForgedVotes) => {
                let victim =
                    self.ids[(from + 1 + self.random.below(self.nodes.len() as u64 - 1) as usize)
                        % self.nodes.len()];
                let garbage = derived_hash(self.seed ^ DOMAIN_GARBAGE, self.random.next_u64());
                if let Message::Prepare { vote, .. } | Message::Commit(vote) = &outgoing[0] {
                    let vote = vote.clone();
                    // Under another validator's id, for a payload nobody proposed.
                    outgoing.push(Message::Commit(Vote {
                        payload_hash: garbage,
                        sender: victim,
                        ..vote.clone()
                    }));
                    // A certificate of commits the others never cast.
                    let commits = self
                        .ids
                        .iter()
                        .map(|sender| Vote {
                            payload_hash: garbage,
                            sender: *sender,
                            ..vote.clone()
                        })
                        .collect();
                    outgoing.push(Message::CommitProof {
                        commits,
                        sender: self.ids[from],
                    });
                    // Replays of its own genuine vote: must count once.
                    outgoing.push(outgoing[0].clone());
                    outgoing.push(outgoing[0].clone());
                }
            }
        }
        for message in outgoing {
            if !self.authenticate(from, &message) {
                self.forgeries_rejected += 1;
                continue;
            }
            self.transmit(from, to, message);
        }
    }

    /// Models signatures: the envelope must come from its sender, and every embedded
    /// statement must have been signed by its signer (now, if the signer is the sender).
    fn authenticate(&mut self, from: usize, message: &Message) -> bool {
        let from_id = self.ids[from];
        if message.sender() != from_id {
            return false;
        }
        let statements = statements(message);
        if statements
            .iter()
            .any(|statement| statement.signer() != from_id && !self.registry.contains(statement))
        {
            return false;
        }
        for statement in statements {
            if statement.signer() == from_id {
                self.registry.insert(statement);
            }
        }
        true
    }

    fn transmit(&mut self, from: usize, to: usize, message: Message) {
        let faulty = self.now_ms < self.heal_at_ms;
        if faulty && self.random.chance_per_mille(self.config.loss_per_mille) {
            self.dropped += 1;
            return;
        }
        let copies = if faulty
            && self
                .random
                .chance_per_mille(self.config.duplicate_per_mille)
        {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let latency = self
                .random
                .between(self.config.latency_min_ms, self.config.latency_max_ms);
            self.order += 1;
            self.queue.push(Scheduled {
                deliver_at_ms: self.now_ms + latency,
                order: self.order,
                from,
                to,
                message: message.clone(),
            });
        }
    }

    fn final_checks(&mut self, live_at_ms: Option<u64>) {
        let honest: Vec<usize> = (0..self.nodes.len())
            .filter(|node| self.honest(*node))
            .collect();
        // Safety: honest chains agree wherever both have a block.
        for (position, first) in honest.iter().enumerate() {
            for second in &honest[position + 1..] {
                let (a, b) = (&self.nodes[*first].chain, &self.nodes[*second].chain);
                if let Some(height) = (0..a.len().min(b.len())).find(|index| a[*index] != b[*index])
                {
                    self.violations.push(format!(
                        "nodes {first} and {second} differ at height {}",
                        height + 1
                    ));
                }
            }
        }
        // Durability: what was acknowledged is still there, on every honest node that got
        // that far.
        for (acknowledger, height, hash) in &self.acknowledged {
            for node in &honest {
                let chain = &self.nodes[*node].chain;
                if (chain.len() as u64) >= *height && chain[(*height - 1) as usize] != *hash {
                    self.violations.push(format!(
                        "height {height} acknowledged by node {acknowledger} is different on node {node}"
                    ));
                }
            }
            if (self.nodes[*acknowledger].chain.len() as u64) < *height {
                self.violations.push(format!(
                    "node {acknowledger} lost height {height} it acknowledged"
                ));
            }
        }
        if live_at_ms.is_none() && !self.violations.iter().any(|v| v.contains("runaway")) {
            let heights: Vec<usize> = self.nodes.iter().map(|node| node.chain.len()).collect();
            // Per node by its index (`None` while crashed): (view, whether it is active).
            let views: Vec<Option<(u64, bool)>> = self
                .nodes
                .iter()
                .map(|node| {
                    node.engine
                        .as_ref()
                        .map(|engine| (engine.view(), engine.view_active()))
                })
                .collect();
            // What each honest replica waits on, so a stuck run says which rule never fired.
            let waiting: Vec<String> = honest
                .iter()
                .map(|node| match &self.nodes[*node].engine {
                    Some(engine) => format!("node {node}: {}", engine.waiting_on()),
                    None => format!("node {node}: crashed"),
                })
                .collect();
            self.violations.push(format!(
                "liveness: the client payloads were not all final on every honest node within {} ms of healing at {} ms (heights {heights:?}, views {views:?}); {}",
                self.config.liveness_bound_ms,
                self.heal_at_ms,
                waiting.join("; ")
            ));
        }
        let distinct: BTreeSet<&PayloadHash> =
            self.acknowledged.iter().map(|(_, _, hash)| hash).collect();
        self.record(("acknowledged", distinct.len()));
    }
}

// ---- Solo ------------------------------------------------------------------------------------

/// One solo run's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoloSimulationConfig {
    pub steps: u64,
    pub step_ms_max: u64,
    /// Chance per step that the node crashes and restarts from its stored height.
    pub crash_per_mille: u64,
    /// Chance that building a proposal fails.
    pub build_failure_per_mille: u64,
}

impl Default for SoloSimulationConfig {
    fn default() -> Self {
        SoloSimulationConfig {
            steps: 400,
            step_ms_max: 60,
            crash_per_mille: 10,
            build_failure_per_mille: 50,
        }
    }
}

/// Runs the solo engine on random backlogs, ticks, failed builds and restarts. Checks that
/// heights are consecutive, every commit is the payload just built, nothing acknowledged is
/// lost across restarts, and a non-empty backlog is eventually committed.
///
/// Long for the same reason as [`simulate_pbft`]: one event loop with its checks.
pub fn simulate_solo(seed: u64, config: &SoloSimulationConfig) -> SimulationReport {
    let mut random = SplitMix64::new(seed ^ 0x50_10);
    let mut digest = Fnv1a::default();
    let mut violations = Vec::new();
    let solo_config = SoloConfig {
        block_interval_ms: 100,
        block_transactions_max: 10,
        block_bytes_max: 10_000,
        empty_blocks: random.below(2) == 1,
    };
    let mut now_ms = 0u64;
    let mut chain: Vec<PayloadHash> = Vec::new();
    let mut engine = SoloEngine::new(solo_config.clone(), 1, now_ms).expect("valid parameters");
    let mut backlog = 0u64;
    let mut restarts = 0u64;
    let mut built = 0u64;
    let mut last_progress_ms = 0u64;
    for step in 0..config.steps {
        now_ms += random.between(1, config.step_ms_max);
        if random.chance_per_mille(config.crash_per_mille) {
            // Storage survives; the engine restarts at the height after it.
            engine = SoloEngine::new(solo_config.clone(), chain.len() as u64 + 1, now_ms)
                .expect("valid parameters");
            restarts += 1;
            (step, "restart").hash(&mut digest);
        }
        if random.below(3) == 0 {
            backlog += random.below(6);
        }
        let mut inputs = vec![if step % 2 == 0 {
            Input::Pending {
                transactions: backlog,
                bytes: backlog * 100,
                now_ms,
            }
        } else {
            Input::Tick { now_ms }
        }];
        while let Some(input) = inputs.pop() {
            for effect in engine.handle(input) {
                match effect {
                    Effect::BuildProposal {
                        height,
                        transactions_max,
                        ..
                    } => {
                        if height != chain.len() as u64 + 1 {
                            violations.push(format!(
                                "asked to build height {height} on a chain of height {}",
                                chain.len()
                            ));
                        }
                        if random.chance_per_mille(config.build_failure_per_mille) {
                            inputs.push(Input::ProposalAbandoned { height });
                        } else {
                            built += 1;
                            inputs.push(Input::Proposed {
                                height,
                                payload_hash: derived_hash(seed, built),
                            });
                            backlog = backlog.saturating_sub(u64::from(transactions_max));
                        }
                    }
                    Effect::Commit {
                        height,
                        payload_hash,
                    } => {
                        (step, height, payload_hash).hash(&mut digest);
                        if height != chain.len() as u64 + 1 {
                            violations.push(format!(
                                "committed height {height} on a chain of height {}",
                                chain.len()
                            ));
                        }
                        if payload_hash != derived_hash(seed, built) {
                            violations.push(format!("height {height}: not the payload just built"));
                        }
                        chain.push(payload_hash);
                        last_progress_ms = now_ms;
                    }
                }
            }
        }
        // A backlog waits at most an interval plus a few failed builds and restarts.
        if backlog > 0 && now_ms.saturating_sub(last_progress_ms) > 5_000 {
            violations.push(format!("no block for 5 s with a backlog at {now_ms} ms"));
            break;
        }
        if backlog == 0 {
            last_progress_ms = now_ms;
        }
    }
    SimulationReport {
        seed,
        digest: digest.finish(),
        description: format!("solo {solo_config:?} {config:?}"),
        violations,
        heights: vec![chain.len() as u64],
        deliveries: 0,
        dropped: 0,
        forgeries_rejected: 0,
        restarts,
        view_max: 0,
        live_at_ms: None,
        view_trace: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
