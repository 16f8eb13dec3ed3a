//! PBFT (Castro–Liskov, with signatures) as a pure state machine: n = 3f+1 validators tolerate
//! f Byzantine ones.
//!
//! Normal case: the primary of view `v` (validator `v mod n`) assigns the next sequence to a
//! payload hash and broadcasts `PrePrepare`; backups answer `Prepare`; a replica with the
//! pre-prepare and `quorum - 1` matching prepares from backups is *prepared* and broadcasts
//! `Commit`; with `quorum` matching commits the sequence is *committed* and is executed in
//! sequence order. Quorum is `n - f` (2f+1 when n = 3f+1), so any two quorums share an honest
//! validator.
//!
//! View change: when work is outstanding and nothing executes for a timeout (doubling per
//! consecutive view change, capped), when the driver reports an invalid proposal, or when two
//! pre-prepares signed by the primary conflict (equivocation), a replica moves to view `v+1`
//! and broadcasts `ViewChange` with its stable checkpoint and its prepared certificates. The new
//! primary collects a quorum and broadcasts `NewView`, re-proposing for every sequence above the
//! highest stable checkpoint the payload prepared in the highest view, or the null payload
//! where none was. Replicas recompute that choice from the included view changes and refuse a
//! `NewView` that differs.
//!
//! Liveness across views: a replica keeps what it signed for its last [`SIGNED_VIEWS_KEPT`]
//! views (its view change for each, and the new view it sent as that view's primary) and
//! re-sends them to a replica whose periodic status shows it still in one of those views. Without
//! this, replicas could split for good: one completes the view change to `v` (it saw a quorum,
//! or as primary installed `v`) and moves on to `v+1`, while the others never got its view
//! change or its new view for `v` (lost, or dropped while they were partitioned or restarting):
//! they wait for a quorum for `v` that only the replica that left `v` could complete, and the
//! f+1 rule for joining higher views cannot fire with a single honest replica ahead. Re-sending
//! an identical signed message adds no statement the replica did not already make, so safety is
//! untouched; a receiver checks it as any other.
//!
//! Checkpoints: every `checkpoint_interval_sequences` executed sequences a replica broadcasts
//! `Checkpoint` (sequence, height and the payload hash at that height — a block hash commits to
//! its whole chain). A quorum of matching ones makes the checkpoint stable: the log below it is
//! dropped, and it is the low watermark `L`; only sequences in `(L, L + window]` are accepted.
//! A replica behind a stable checkpoint asks its driver for a state transfer (block sync).
//!
//! Sequences and heights: a sequence is a slot in the total order; a null payload (only ever
//! chosen by a `NewView` to fill a gap) executes as nothing, so heights count the non-null
//! payloads and stay consecutive.
//!
//! Trust model: every message and every vote embedded in a certificate carries its sender and
//! is *signed* by it; the driver verifies signatures (and that a message's outer sender is the
//! authenticated peer it came from) before handing it over, and signs what the engine emits. The
//! engine itself only counts distinct validator ids from the validator set, drops a message
//! whose claimed sender is not the peer it arrived from, and checks every certificate's
//! structure. The simulation models signatures with a registry of what each node really sent.
//!
//! Crash safety: effects come out as `[Commit…, Persist, Broadcast/Send…, others]`; the driver
//! must make `Persist` durable before sending what follows it, so a restarted replica never
//! contradicts a vote it sent (own votes, the view, the primary's next sequence and the
//! prepared certificates are in the snapshot). Commits come before the snapshot that records
//! them: after a crash in between the engine may emit a `Commit` for a height the driver already
//! stored, which the driver skips after checking the hash is the same.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{ConsensusError, PayloadHash};

/// A validator's 32-byte identity (its public key or a hash of it).
pub type ValidatorId = [u8; 32];

/// The payload a `NewView` assigns to a sequence nothing was prepared at; it executes as
/// nothing. Drivers never propose it (an all-zero block hash does not occur).
pub const NULL_PAYLOAD_HASH: PayloadHash = [0; 32];

/// Largest validator set the engine accepts; bounds every per-sender map and certificate.
pub const VALIDATORS_MAX: usize = 1_024;

/// Views whose own view change and new view a replica keeps, to re-send to replicas still in
/// them (see the module docs). Honest replicas are at most a view or two apart: to time out of a
/// view change a replica needs a quorum in that view.
pub const SIGNED_VIEWS_KEPT: usize = 4;

/// Parameters, as in genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PbftConfig {
    /// The validator set, strictly ascending (the order fixes who is primary of which view).
    pub validators: Vec<ValidatorId>,
    /// This replica's id; must be in `validators`.
    pub own_id: ValidatorId,
    /// A checkpoint every this many sequences.
    pub checkpoint_interval_sequences: u64,
    /// High watermark minus low watermark; a multiple of the checkpoint interval, at least two
    /// intervals so proposing continues while the next checkpoint becomes stable.
    pub watermark_window_sequences: u64,
    /// Sequences the primary may have assigned and not yet executed (1 for a chain whose next
    /// block is built on the previous one).
    pub proposals_in_flight_max: u64,
    /// No execution for this long while work is outstanding starts a view change; doubles
    /// with every consecutive view change.
    pub view_change_timeout_ms: u64,
    /// Cap on the doubled timeout.
    pub view_change_timeout_max_ms: u64,
    /// Period of status broadcasts and of re-sending own votes that may have been lost.
    pub retransmit_interval_ms: u64,
    /// View changes for views further above the current one are ignored (bounds memory).
    pub views_ahead_max: u64,
}

/// The last block committed before this engine started ordering (genesis: height 0 and the
/// genesis block hash). It is the stable checkpoint at sequence 0, which needs no votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct ChainStart {
    pub height: u64,
    pub payload_hash: PayloadHash,
}

/// A pre-prepare, prepare or commit (which one is given by the message carrying it).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    pub view: u64,
    pub sequence: u64,
    pub payload_hash: PayloadHash,
    pub sender: ValidatorId,
}

/// "After executing `sequence` my chain is at `height` with `payload_hash` on top."
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub struct CheckpointVote {
    pub sequence: u64,
    pub height: u64,
    pub payload_hash: PayloadHash,
    pub sender: ValidatorId,
}

/// A checkpoint with a quorum of matching votes (no votes only for the chain start).
#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct StableCheckpoint {
    pub sequence: u64,
    pub height: u64,
    pub payload_hash: PayloadHash,
    pub votes: Vec<CheckpointVote>,
}

/// Proof that a payload was prepared: the primary's pre-prepare and `quorum - 1` prepares
/// from distinct backups, all for the same view, sequence and payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct PreparedCertificate {
    pub pre_prepare: Vote,
    pub prepares: Vec<Vote>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct ViewChange {
    pub new_view: u64,
    pub checkpoint: StableCheckpoint,
    /// Ascending by sequence, all above the checkpoint and within one window of it.
    pub prepared: Vec<PreparedCertificate>,
    pub sender: ValidatorId,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct NewView {
    pub view: u64,
    /// A quorum of view changes for `view` from distinct validators.
    pub view_changes: Vec<ViewChange>,
    /// What `view_changes` determine, signed by the new primary (see module docs).
    pub pre_prepares: Vec<Vote>,
    pub sender: ValidatorId,
}

/// What validators send each other.
#[derive(Clone, Debug, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub enum Message {
    PrePrepare(Vote),
    /// Carries the primary's pre-prepare it answers, so a replica holding a different one
    /// from the same primary has proof of equivocation.
    Prepare {
        vote: Vote,
        pre_prepare: Vote,
    },
    Commit(Vote),
    Checkpoint(CheckpointVote),
    ViewChange(ViewChange),
    NewView(NewView),
    /// Two pre-prepares signed by one primary for one view and sequence with different payloads.
    EquivocationProof {
        first: Vote,
        second: Vote,
        sender: ValidatorId,
    },
    /// Periodic: lets peers send what this replica is missing.
    Status {
        view: u64,
        last_executed_sequence: u64,
        sender: ValidatorId,
    },
    /// A stable checkpoint for a replica behind it.
    CheckpointProof {
        checkpoint: StableCheckpoint,
        sender: ValidatorId,
    },
    /// A quorum of commits for one sequence, for a replica that missed them.
    CommitProof {
        commits: Vec<Vote>,
        sender: ValidatorId,
    },
}

impl Message {
    /// The validator that signed (and claims to have sent) the message.
    pub fn sender(&self) -> ValidatorId {
        match self {
            Message::PrePrepare(vote) | Message::Commit(vote) => vote.sender,
            Message::Prepare { vote, .. } => vote.sender,
            Message::Checkpoint(vote) => vote.sender,
            Message::ViewChange(view_change) => view_change.sender,
            Message::NewView(new_view) => new_view.sender,
            Message::EquivocationProof { sender, .. }
            | Message::Status { sender, .. }
            | Message::CheckpointProof { sender, .. }
            | Message::CommitProof { sender, .. } => *sender,
        }
    }
}

/// What the driver tells the PBFT engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbftInput {
    /// Time passed; `now_ms` is the driver's clock (never goes back as far as the engine sees).
    Tick { now_ms: u64 },
    /// The mempool's backlog changed; a non-empty backlog arms the view-change timer.
    Pending { payloads: u64, now_ms: u64 },
    /// The driver built a payload; only the primary of an active view takes it (see
    /// [`PbftEngine::can_propose`]), otherwise it answers `ProposalRefused`.
    Propose { payload_hash: PayloadHash },
    /// A message whose signature the driver verified, from the authenticated peer `from`.
    /// The driver checks a `PrePrepare`'s payload first and reports `InvalidProposal` instead
    /// of delivering it when the payload is invalid.
    Message { from: ValidatorId, message: Message },
    /// The primary `from` proposed a payload the driver found invalid.
    InvalidProposal {
        from: ValidatorId,
        pre_prepare: Vote,
    },
    /// The driver found a transaction left out of blocks that had room for it for too long
    /// (PBFT's request timer): a backup starts a view change, since a primary that makes
    /// progress but censors would otherwise never be replaced.
    RequestTimedOut { now_ms: u64 },
    /// The driver synced the chain up to the checkpoint a `StateTransfer` asked for.
    StateTransferred {
        sequence: u64,
        height: u64,
        payload_hash: PayloadHash,
    },
}

/// Why a `Propose` was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    NotPrimary,
    ViewChangeInProgress,
    NullPayload,
    /// The window or the in-flight limit is full, or a state transfer is pending.
    Busy,
}

/// What the PBFT engine asks the driver to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbftEffect {
    /// Sign and send to every other validator.
    Broadcast(Message),
    /// Sign and send to one validator.
    Send { to: ValidatorId, message: Message },
    /// Final, in height order, exactly once per height (see the module docs on restarts).
    Commit {
        height: u64,
        sequence: u64,
        payload_hash: PayloadHash,
    },
    /// Store durably before carrying out the effects after it; give it back to
    /// [`PbftEngine::restore`] after a restart.
    Persist(Box<PersistedState>),
    /// Sync blocks up to `height` (whose hash is `payload_hash`) from `peers`, then report
    /// `StateTransferred`. Repeated periodically until reported.
    StateTransfer {
        sequence: u64,
        height: u64,
        payload_hash: PayloadHash,
        peers: Vec<ValidatorId>,
    },
    ProposalRefused {
        payload_hash: PayloadHash,
        reason: RefusalReason,
    },
}

/// One sequence's durable state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PersistedEntry {
    pub sequence: u64,
    pub view: u64,
    pub pre_prepare: Option<Vote>,
    pub sent_prepare: bool,
    pub sent_commit: bool,
    pub prepared: Option<PreparedCertificate>,
    pub committed_hash: Option<PayloadHash>,
}

/// What must survive a restart so the replica never contradicts itself.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PersistedState {
    pub view: u64,
    pub view_active: bool,
    pub consecutive_view_changes: u32,
    pub last_executed_sequence: u64,
    pub height: u64,
    pub last_payload_hash: PayloadHash,
    pub stable_checkpoint: StableCheckpoint,
    pub entries: Vec<PersistedEntry>,
    pub next_sequence: u64,
    pub own_view_change: Option<ViewChange>,
    pub new_view: Option<NewView>,
    pub own_checkpoint_votes: Vec<CheckpointVote>,
    /// Own view changes of the last [`SIGNED_VIEWS_KEPT`] views, ascending by view.
    pub signed_view_changes: Vec<ViewChange>,
    /// New views sent as primary in the last [`SIGNED_VIEWS_KEPT`] views, ascending by view.
    pub sent_new_views: Vec<NewView>,
}

#[derive(Clone, Debug)]
struct Entry {
    /// The view the votes below belong to; older views' votes are dropped on first use.
    view: u64,
    pre_prepare: Option<Vote>,
    sent_prepare: bool,
    sent_commit: bool,
    prepares: BTreeMap<ValidatorId, PayloadHash>,
    commits: BTreeMap<ValidatorId, PayloadHash>,
    /// Highest-view certificate; survives view changes (it is what a view change carries).
    prepared: Option<PreparedCertificate>,
    committed_hash: Option<PayloadHash>,
    /// Kept to help lagging peers; not persisted (other replicas have it too).
    commit_certificate: Option<Vec<Vote>>,
}

impl Entry {
    fn new(view: u64) -> Self {
        Entry {
            view,
            pre_prepare: None,
            sent_prepare: false,
            sent_commit: false,
            prepares: BTreeMap::new(),
            commits: BTreeMap::new(),
            prepared: None,
            committed_hash: None,
            commit_certificate: None,
        }
    }
}

/// The PBFT replica.
#[derive(Debug)]
pub struct PbftEngine {
    config: PbftConfig,
    chain_start: ChainStart,
    fault_tolerance: usize,
    quorum: usize,
    now_ms: u64,
    view: u64,
    /// False between sending a view change for `view` and installing its new view.
    view_active: bool,
    consecutive_view_changes: u32,
    /// Armed while active with work outstanding.
    progress_deadline_ms: Option<u64>,
    /// Armed once a quorum of view changes for `view` is seen and no new view arrived.
    view_change_deadline_ms: Option<u64>,
    pending_payloads: u64,
    last_executed_sequence: u64,
    height: u64,
    last_payload_hash: PayloadHash,
    stable: StableCheckpoint,
    entries: BTreeMap<u64, Entry>,
    /// The primary's next sequence to assign in `view`.
    next_sequence: u64,
    checkpoint_votes: BTreeMap<u64, BTreeMap<ValidatorId, CheckpointVote>>,
    view_changes: BTreeMap<u64, BTreeMap<ValidatorId, ViewChange>>,
    own_view_change: Option<ViewChange>,
    /// The new view this replica sent as primary of `view`, re-sent to laggards.
    new_view: Option<NewView>,
    /// What this replica signed for recent views, by view, re-sent to replicas still in them.
    signed_view_changes: BTreeMap<u64, ViewChange>,
    sent_new_views: BTreeMap<u64, NewView>,
    /// When this replica last re-sent them to each validator.
    last_resent_ms: BTreeMap<ValidatorId, u64>,
    last_retransmit_ms: u64,
    // Effects of the input being handled, put in order by `take_effects`.
    commit_effects: Vec<PbftEffect>,
    send_effects: Vec<PbftEffect>,
    other_effects: Vec<PbftEffect>,
    dirty: bool,
}

/// Keeps `value` under `view`, dropping the lowest views beyond [`SIGNED_VIEWS_KEPT`].
fn keep_recent<T>(kept: &mut BTreeMap<u64, T>, view: u64, value: T) {
    kept.insert(view, value);
    while kept.len() > SIGNED_VIEWS_KEPT {
        kept.pop_first();
    }
}

fn invalid(parameter: &'static str, message: &str) -> ConsensusError {
    ConsensusError::InvalidParameter {
        parameter,
        message: message.into(),
    }
}

fn validate_config(config: &PbftConfig) -> Result<(), ConsensusError> {
    if config.validators.is_empty() || config.validators.len() > VALIDATORS_MAX {
        return Err(invalid("validators", "between 1 and 1024 validators"));
    }
    if !config.validators.windows(2).all(|pair| pair[0] < pair[1]) {
        return Err(invalid(
            "validators",
            "must be strictly ascending (sorted, no duplicates)",
        ));
    }
    if config.validators.binary_search(&config.own_id).is_err() {
        return Err(invalid("own_id", "must be one of the validators"));
    }
    let interval = config.checkpoint_interval_sequences;
    if interval == 0 {
        return Err(invalid(
            "checkpoint_interval_sequences",
            "must be at least 1",
        ));
    }
    let window = config.watermark_window_sequences;
    if window < 2 * interval || !window.is_multiple_of(interval) {
        return Err(invalid(
            "watermark_window_sequences",
            "must be a multiple of the checkpoint interval and at least two intervals",
        ));
    }
    if config.proposals_in_flight_max == 0 || config.proposals_in_flight_max > window {
        return Err(invalid(
            "proposals_in_flight_max",
            "between 1 and the window",
        ));
    }
    if config.view_change_timeout_ms == 0
        || config.view_change_timeout_max_ms < config.view_change_timeout_ms
    {
        return Err(invalid(
            "view_change_timeout_ms",
            "at least 1, and the maximum at least the base",
        ));
    }
    if config.retransmit_interval_ms == 0 {
        return Err(invalid("retransmit_interval_ms", "must be at least 1"));
    }
    if config.views_ahead_max == 0 {
        return Err(invalid("views_ahead_max", "must be at least 1"));
    }
    Ok(())
}

impl PbftEngine {
    /// A replica starting to order after `chain_start`, in view 0.
    pub fn new(
        config: PbftConfig,
        chain_start: ChainStart,
        now_ms: u64,
    ) -> Result<Self, ConsensusError> {
        validate_config(&config)?;
        let validators = config.validators.len();
        let fault_tolerance = (validators - 1) / 3;
        Ok(PbftEngine {
            fault_tolerance,
            quorum: validators - fault_tolerance,
            now_ms,
            view: 0,
            view_active: true,
            consecutive_view_changes: 0,
            progress_deadline_ms: None,
            view_change_deadline_ms: None,
            pending_payloads: 0,
            last_executed_sequence: 0,
            height: chain_start.height,
            last_payload_hash: chain_start.payload_hash,
            stable: StableCheckpoint {
                sequence: 0,
                height: chain_start.height,
                payload_hash: chain_start.payload_hash,
                votes: Vec::new(),
            },
            entries: BTreeMap::new(),
            next_sequence: 1,
            checkpoint_votes: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            own_view_change: None,
            new_view: None,
            signed_view_changes: BTreeMap::new(),
            sent_new_views: BTreeMap::new(),
            last_resent_ms: BTreeMap::new(),
            last_retransmit_ms: now_ms,
            commit_effects: Vec::new(),
            send_effects: Vec::new(),
            other_effects: Vec::new(),
            dirty: false,
            config,
            chain_start,
        })
    }

    /// A replica restarted from its last `Persist`.
    pub fn restore(
        config: PbftConfig,
        chain_start: ChainStart,
        state: PersistedState,
        now_ms: u64,
    ) -> Result<Self, ConsensusError> {
        let mut engine = PbftEngine::new(config, chain_start, now_ms)?;
        let own = engine.config.own_id;
        engine.view = state.view;
        engine.view_active = state.view_active;
        engine.consecutive_view_changes = state.consecutive_view_changes;
        engine.last_executed_sequence = state.last_executed_sequence;
        engine.height = state.height;
        engine.last_payload_hash = state.last_payload_hash;
        engine.stable = state.stable_checkpoint;
        engine.next_sequence = state.next_sequence;
        for persisted in state.entries {
            let mut entry = Entry::new(persisted.view);
            if let Some(pre_prepare) = &persisted.pre_prepare {
                if persisted.sent_prepare {
                    entry.prepares.insert(own, pre_prepare.payload_hash);
                }
                if persisted.sent_commit {
                    entry.commits.insert(own, pre_prepare.payload_hash);
                }
            }
            entry.pre_prepare = persisted.pre_prepare;
            entry.sent_prepare = persisted.sent_prepare;
            entry.sent_commit = persisted.sent_commit;
            entry.prepared = persisted.prepared;
            entry.committed_hash = persisted.committed_hash;
            engine.entries.insert(persisted.sequence, entry);
        }
        for vote in state.own_checkpoint_votes {
            engine
                .checkpoint_votes
                .entry(vote.sequence)
                .or_default()
                .insert(own, vote);
        }
        if let Some(view_change) = &state.own_view_change {
            engine
                .view_changes
                .entry(view_change.new_view)
                .or_default()
                .insert(own, view_change.clone());
        }
        engine.own_view_change = state.own_view_change;
        engine.new_view = state.new_view;
        for view_change in state.signed_view_changes {
            keep_recent(
                &mut engine.signed_view_changes,
                view_change.new_view,
                view_change,
            );
        }
        for new_view in state.sent_new_views {
            keep_recent(&mut engine.sent_new_views, new_view.view, new_view);
        }
        Ok(engine)
    }

    // ---- Queries for the driver -------------------------------------------------------------

    pub fn view(&self) -> u64 {
        self.view
    }
    /// False while a view change is in progress.
    pub fn view_active(&self) -> bool {
        self.view_active
    }
    pub fn primary(&self) -> ValidatorId {
        self.primary_of(self.view)
    }
    pub fn own_id(&self) -> ValidatorId {
        self.config.own_id
    }
    /// The height of the last executed payload.
    pub fn height(&self) -> u64 {
        self.height
    }
    pub fn last_executed_sequence(&self) -> u64 {
        self.last_executed_sequence
    }
    /// The low watermark.
    pub fn stable_checkpoint_sequence(&self) -> u64 {
        self.stable.sequence
    }
    pub fn high_watermark(&self) -> u64 {
        self.stable.sequence + self.config.watermark_window_sequences
    }
    /// Sequences kept in the log (bounded by the window).
    pub fn log_len(&self) -> usize {
        self.entries.len()
    }
    /// Sequences this replica assigned as primary that have not executed yet (what
    /// `proposals_in_flight_max` bounds).
    pub fn proposals_in_flight(&self) -> u64 {
        (self.next_sequence - 1).saturating_sub(self.last_executed_sequence)
    }
    /// Whether a `Propose` would be taken now.
    pub fn can_propose(&self) -> bool {
        self.propose_refusal(&[1; 32]).is_none()
    }
    /// Whether the payload is pre-prepared in the current view and not executed (the driver
    /// does not propose it again).
    pub fn is_in_flight(&self, payload_hash: &PayloadHash) -> bool {
        self.entries
            .range(self.last_executed_sequence + 1..)
            .any(|(_, entry)| {
                entry.view == self.view
                    && entry
                        .pre_prepare
                        .as_ref()
                        .is_some_and(|vote| &vote.payload_hash == payload_hash)
            })
    }
    /// The state a `Persist` would carry.
    pub fn persisted_state(&self) -> PersistedState {
        let entries = self
            .entries
            .iter()
            .map(|(sequence, entry)| PersistedEntry {
                sequence: *sequence,
                view: entry.view,
                pre_prepare: entry.pre_prepare.clone(),
                sent_prepare: entry.sent_prepare,
                sent_commit: entry.sent_commit,
                prepared: entry.prepared.clone(),
                committed_hash: entry.committed_hash,
            })
            .collect();
        let own = self.config.own_id;
        let own_checkpoint_votes = self
            .checkpoint_votes
            .values()
            .filter_map(|votes| votes.get(&own).cloned())
            .collect();
        PersistedState {
            view: self.view,
            view_active: self.view_active,
            consecutive_view_changes: self.consecutive_view_changes,
            last_executed_sequence: self.last_executed_sequence,
            height: self.height,
            last_payload_hash: self.last_payload_hash,
            stable_checkpoint: self.stable.clone(),
            entries,
            next_sequence: self.next_sequence,
            own_view_change: self.own_view_change.clone(),
            new_view: self.new_view.clone(),
            own_checkpoint_votes,
            signed_view_changes: self.signed_view_changes.values().cloned().collect(),
            sent_new_views: self.sent_new_views.values().cloned().collect(),
        }
    }

    /// What this replica waits for to make progress, in words, naming validators by their
    /// place in the validator set: for a person reading why a run or a node is stuck.
    pub fn waiting_on(&self) -> String {
        let index = |id: &ValidatorId| {
            self.config
                .validators
                .iter()
                .position(|validator| validator == id)
                .map_or("?".to_string(), |index| index.to_string())
        };
        let primary = index(&self.primary_of(self.view));
        if self.view_active {
            return if self.work_outstanding() {
                format!(
                    "view {} active, work outstanding: waits for primary {primary} to make progress, or for its progress timeout (at {:?} ms) to start a view change",
                    self.view, self.progress_deadline_ms
                )
            } else {
                format!("view {} active, nothing outstanding", self.view)
            };
        }
        let holding: Vec<String> = self
            .view_changes
            .get(&self.view)
            .map(|senders| senders.keys().map(index).collect())
            .unwrap_or_default();
        let mut ahead: BTreeMap<String, u64> = BTreeMap::new();
        for (view, senders) in self.view_changes.range(self.view + 1..) {
            for sender in senders.keys() {
                if *sender != self.config.own_id {
                    ahead.insert(index(sender), *view);
                }
            }
        }
        format!(
            "in the view change to view {}: holds view changes from [{}], {} of a quorum of {} (then primary {primary} sends the new view, and a timeout at {:?} ms moves on without it); replicas ahead: {:?}, {} of the {} that make it join them",
            self.view,
            holding.join(", "),
            holding.len(),
            self.quorum,
            self.view_change_deadline_ms,
            ahead,
            ahead.len(),
            self.fault_tolerance + 1
        )
    }

    // ---- Input handling ---------------------------------------------------------------------

    /// Feeds one input; returns the effects to carry out, in order.
    pub fn handle(&mut self, input: PbftInput) -> Vec<PbftEffect> {
        match input {
            PbftInput::Tick { now_ms } => {
                self.observe_time(now_ms);
                self.check_timers();
                if self.now_ms >= self.last_retransmit_ms + self.config.retransmit_interval_ms {
                    self.last_retransmit_ms = self.now_ms;
                    self.retransmit();
                }
            }
            PbftInput::Pending { payloads, now_ms } => {
                self.observe_time(now_ms);
                self.pending_payloads = payloads;
                self.check_timers();
            }
            PbftInput::Propose { payload_hash } => self.propose(payload_hash),
            PbftInput::Message { from, message } => {
                // The outer sender must be the peer the message came from: a replica may
                // forward others' signed votes only inside certificates.
                if from == message.sender()
                    && from != self.config.own_id
                    && self.is_validator(&from)
                {
                    self.on_message(message);
                }
            }
            PbftInput::InvalidProposal { from, pre_prepare } => {
                if from == pre_prepare.sender
                    && self.view_active
                    && pre_prepare.view == self.view
                    && pre_prepare.sender == self.primary_of(self.view)
                    && pre_prepare.sender != self.config.own_id
                {
                    self.start_view_change(self.view + 1);
                }
            }
            PbftInput::RequestTimedOut { now_ms } => {
                self.observe_time(now_ms);
                if self.view_active && !self.is_primary() {
                    self.start_view_change(self.view + 1);
                }
            }
            PbftInput::StateTransferred {
                sequence,
                height,
                payload_hash,
            } => self.on_state_transferred(sequence, height, payload_hash),
        }
        self.take_effects()
    }

    fn take_effects(&mut self) -> Vec<PbftEffect> {
        let mut effects = std::mem::take(&mut self.commit_effects);
        if self.dirty {
            self.dirty = false;
            effects.push(PbftEffect::Persist(Box::new(self.persisted_state())));
        }
        effects.append(&mut self.send_effects);
        effects.append(&mut self.other_effects);
        effects
    }

    fn observe_time(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn broadcast(&mut self, message: Message) {
        self.send_effects.push(PbftEffect::Broadcast(message));
    }

    fn send(&mut self, to: ValidatorId, message: Message) {
        self.send_effects.push(PbftEffect::Send { to, message });
    }

    fn is_validator(&self, id: &ValidatorId) -> bool {
        self.config.validators.binary_search(id).is_ok()
    }

    /// The primary of `view` (validators take turns in genesis order).
    pub fn primary_of(&self, view: u64) -> ValidatorId {
        let validators = self.config.validators.len() as u64;
        self.config.validators[(view % validators) as usize]
    }

    fn is_primary(&self) -> bool {
        self.primary_of(self.view) == self.config.own_id
    }

    fn in_window(&self, sequence: u64) -> bool {
        sequence > self.stable.sequence && sequence <= self.high_watermark()
    }

    fn timeout_ms(&self) -> u64 {
        let doublings = self.consecutive_view_changes.min(32);
        self.config
            .view_change_timeout_ms
            .saturating_mul(1u64 << doublings)
            .min(self.config.view_change_timeout_max_ms)
    }

    /// The entry for `sequence` in the current view, creating it or dropping older views' votes.
    fn entry_for_view(&mut self, sequence: u64) -> &mut Entry {
        let view = self.view;
        let entry = self
            .entries
            .entry(sequence)
            .or_insert_with(|| Entry::new(view));
        if entry.view < view {
            entry.view = view;
            entry.pre_prepare = None;
            entry.sent_prepare = false;
            entry.sent_commit = false;
            entry.prepares.clear();
            entry.commits.clear();
        }
        entry
    }

    fn work_outstanding(&self) -> bool {
        self.pending_payloads > 0
            || self
                .entries
                .range(self.last_executed_sequence + 1..)
                .any(|(_, entry)| {
                    entry.committed_hash.is_some()
                        || (entry.view == self.view && entry.pre_prepare.is_some())
                })
    }

    fn check_timers(&mut self) {
        if self.view_active {
            if self.work_outstanding() {
                let deadline = *self
                    .progress_deadline_ms
                    .get_or_insert(self.now_ms + self.timeout_ms());
                if self.now_ms >= deadline {
                    self.start_view_change(self.view + 1);
                }
            } else {
                self.progress_deadline_ms = None;
            }
        } else if let Some(deadline) = self.view_change_deadline_ms
            && self.now_ms >= deadline
        {
            self.start_view_change(self.view + 1);
        }
    }

    fn retransmit(&mut self) {
        let own = self.config.own_id;
        self.broadcast(Message::Status {
            view: self.view,
            last_executed_sequence: self.last_executed_sequence,
            sender: own,
        });
        if !self.view_active {
            if let Some(view_change) = self.own_view_change.clone() {
                self.broadcast(Message::ViewChange(view_change));
            }
        } else {
            let primary = self.is_primary();
            let mut messages = Vec::new();
            for (sequence, entry) in self.entries.range(self.last_executed_sequence + 1..) {
                if entry.view != self.view {
                    continue;
                }
                let Some(pre_prepare) = &entry.pre_prepare else {
                    continue;
                };
                if primary && pre_prepare.payload_hash != NULL_PAYLOAD_HASH {
                    messages.push(Message::PrePrepare(pre_prepare.clone()));
                }
                let own_vote = Vote {
                    view: self.view,
                    sequence: *sequence,
                    payload_hash: pre_prepare.payload_hash,
                    sender: own,
                };
                if entry.sent_prepare {
                    messages.push(Message::Prepare {
                        vote: own_vote.clone(),
                        pre_prepare: pre_prepare.clone(),
                    });
                }
                if entry.sent_commit {
                    messages.push(Message::Commit(own_vote));
                }
            }
            for message in messages {
                self.broadcast(message);
            }
        }
        let own_checkpoints: Vec<CheckpointVote> = self
            .checkpoint_votes
            .values()
            .filter_map(|votes| votes.get(&own).cloned())
            .collect();
        for vote in own_checkpoints {
            self.broadcast(Message::Checkpoint(vote));
        }
        self.request_state_transfer_if_behind();
    }

    fn request_state_transfer_if_behind(&mut self) {
        if self.last_executed_sequence < self.stable.sequence {
            self.other_effects.push(PbftEffect::StateTransfer {
                sequence: self.stable.sequence,
                height: self.stable.height,
                payload_hash: self.stable.payload_hash,
                peers: self.stable.votes.iter().map(|vote| vote.sender).collect(),
            });
        }
    }

    fn propose_refusal(&self, payload_hash: &PayloadHash) -> Option<RefusalReason> {
        if payload_hash == &NULL_PAYLOAD_HASH {
            return Some(RefusalReason::NullPayload);
        }
        if !self.is_primary() {
            return Some(RefusalReason::NotPrimary);
        }
        if !self.view_active {
            return Some(RefusalReason::ViewChangeInProgress);
        }
        let sequence = self.next_sequence;
        if self.last_executed_sequence < self.stable.sequence
            || sequence <= self.last_executed_sequence
            || !self.in_window(sequence)
            || self.proposals_in_flight() >= self.config.proposals_in_flight_max
        {
            return Some(RefusalReason::Busy);
        }
        None
    }

    fn propose(&mut self, payload_hash: PayloadHash) {
        if let Some(reason) = self.propose_refusal(&payload_hash) {
            self.other_effects.push(PbftEffect::ProposalRefused {
                payload_hash,
                reason,
            });
            return;
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let pre_prepare = Vote {
            view: self.view,
            sequence,
            payload_hash,
            sender: self.config.own_id,
        };
        let entry = self.entry_for_view(sequence);
        assert!(
            entry.pre_prepare.is_none(),
            "the primary assigns each sequence once per view"
        );
        entry.pre_prepare = Some(pre_prepare.clone());
        self.dirty = true;
        self.broadcast(Message::PrePrepare(pre_prepare));
        self.check_prepared(sequence);
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::PrePrepare(vote) => self.on_pre_prepare(vote),
            Message::Prepare { vote, pre_prepare } => self.on_prepare(vote, pre_prepare),
            Message::Commit(vote) => self.on_commit(vote),
            Message::Checkpoint(vote) => self.on_checkpoint(vote),
            Message::ViewChange(view_change) => self.on_view_change(view_change),
            Message::NewView(new_view) => self.on_new_view(new_view),
            Message::EquivocationProof { first, second, .. } => {
                if self.is_equivocation(&first, &second)
                    && self.view_active
                    && first.view == self.view
                {
                    self.start_view_change(self.view + 1);
                }
            }
            Message::Status {
                view,
                last_executed_sequence,
                sender,
            } => self.on_status(view, last_executed_sequence, sender),
            Message::CheckpointProof { checkpoint, .. } => {
                if checkpoint.sequence > self.stable.sequence
                    && !checkpoint.votes.is_empty()
                    && self.valid_checkpoint(&checkpoint)
                {
                    self.adopt_stable_checkpoint(checkpoint);
                }
            }
            Message::CommitProof { commits, .. } => self.on_commit_proof(commits),
        }
    }

    fn is_equivocation(&self, first: &Vote, second: &Vote) -> bool {
        first.view == second.view
            && first.sequence == second.sequence
            && first.payload_hash != second.payload_hash
            && first.sender == self.primary_of(first.view)
            && second.sender == first.sender
    }

    fn equivocation_detected(&mut self, first: Vote, second: Vote) {
        if !(self.is_equivocation(&first, &second) && self.view_active && first.view == self.view) {
            return;
        }
        // Replicas that saw only one of the two pre-prepares need the proof to move too.
        self.broadcast(Message::EquivocationProof {
            first,
            second,
            sender: self.config.own_id,
        });
        self.start_view_change(self.view + 1);
    }

    fn on_pre_prepare(&mut self, pre_prepare: Vote) {
        let primary = self.primary_of(self.view);
        if !self.view_active
            || pre_prepare.view != self.view
            || pre_prepare.sender != primary
            || primary == self.config.own_id
            || !self.in_window(pre_prepare.sequence)
            || pre_prepare.payload_hash == NULL_PAYLOAD_HASH
        {
            return;
        }
        let sequence = pre_prepare.sequence;
        let entry = self.entry_for_view(sequence);
        if let Some(existing) = &entry.pre_prepare {
            if existing.payload_hash != pre_prepare.payload_hash {
                let first = existing.clone();
                self.equivocation_detected(first, pre_prepare);
            }
            return;
        }
        // A pre-prepare against a payload already certified here can only come from a faulty
        // primary; voting for it could help build a conflicting certificate.
        if entry
            .committed_hash
            .is_some_and(|hash| hash != pre_prepare.payload_hash)
        {
            return;
        }
        entry.pre_prepare = Some(pre_prepare.clone());
        self.send_prepare(sequence, pre_prepare);
        self.check_prepared(sequence);
    }

    fn send_prepare(&mut self, sequence: u64, pre_prepare: Vote) {
        let own = self.config.own_id;
        let vote = Vote {
            view: self.view,
            sequence,
            payload_hash: pre_prepare.payload_hash,
            sender: own,
        };
        let entry = self.entry_for_view(sequence);
        assert!(!entry.sent_prepare, "one prepare per sequence and view");
        entry.sent_prepare = true;
        entry.prepares.insert(own, vote.payload_hash);
        self.dirty = true;
        self.broadcast(Message::Prepare { vote, pre_prepare });
    }

    fn on_prepare(&mut self, vote: Vote, pre_prepare: Vote) {
        let primary = self.primary_of(self.view);
        if !self.view_active
            || vote.view != self.view
            || vote.sender == primary
            || !self.in_window(vote.sequence)
            || pre_prepare.sender != primary
            || pre_prepare.view != vote.view
            || pre_prepare.sequence != vote.sequence
            || pre_prepare.payload_hash != vote.payload_hash
        {
            return;
        }
        let sequence = vote.sequence;
        let entry = self.entry_for_view(sequence);
        if let Some(existing) = &entry.pre_prepare
            && existing.payload_hash != pre_prepare.payload_hash
        {
            let first = existing.clone();
            self.equivocation_detected(first, pre_prepare);
            return;
        }
        entry
            .prepares
            .entry(vote.sender)
            .or_insert(vote.payload_hash);
        self.check_prepared(sequence);
    }

    fn check_prepared(&mut self, sequence: u64) {
        let view = self.view;
        let own = self.config.own_id;
        let primary = self.primary_of(view);
        let needed = self.quorum - 1;
        let Some(entry) = self.entries.get_mut(&sequence) else {
            return;
        };
        if entry.view != view || entry.sent_commit {
            return;
        }
        let Some(pre_prepare) = entry.pre_prepare.clone() else {
            return;
        };
        let hash = pre_prepare.payload_hash;
        let backups: Vec<ValidatorId> = entry
            .prepares
            .iter()
            .filter(|(sender, prepared_hash)| **prepared_hash == hash && **sender != primary)
            .map(|(sender, _)| *sender)
            .take(needed)
            .collect();
        if backups.len() < needed {
            return;
        }
        let prepares = backups
            .into_iter()
            .map(|sender| Vote {
                view,
                sequence,
                payload_hash: hash,
                sender,
            })
            .collect();
        entry.prepared = Some(PreparedCertificate {
            pre_prepare,
            prepares,
        });
        entry.sent_commit = true;
        entry.commits.insert(own, hash);
        self.dirty = true;
        self.broadcast(Message::Commit(Vote {
            view,
            sequence,
            payload_hash: hash,
            sender: own,
        }));
        self.check_committed(sequence);
    }

    fn on_commit(&mut self, vote: Vote) {
        if !self.view_active || vote.view != self.view || !self.in_window(vote.sequence) {
            return;
        }
        let sequence = vote.sequence;
        self.entry_for_view(sequence)
            .commits
            .entry(vote.sender)
            .or_insert(vote.payload_hash);
        self.check_committed(sequence);
    }

    fn check_committed(&mut self, sequence: u64) {
        let view = self.view;
        let quorum = self.quorum;
        let Some(entry) = self.entries.get_mut(&sequence) else {
            return;
        };
        if entry.view != view {
            return;
        }
        let Some(certificate) = &entry.prepared else {
            return;
        };
        if certificate.pre_prepare.view != view || entry.committed_hash.is_some() {
            return;
        }
        let hash = certificate.pre_prepare.payload_hash;
        let commits: Vec<Vote> = entry
            .commits
            .iter()
            .filter(|(_, committed_hash)| **committed_hash == hash)
            .map(|(sender, _)| Vote {
                view,
                sequence,
                payload_hash: hash,
                sender: *sender,
            })
            .take(quorum)
            .collect();
        if commits.len() < quorum {
            return;
        }
        entry.commit_certificate = Some(commits);
        self.set_committed(sequence, hash);
        self.try_execute();
    }

    fn set_committed(&mut self, sequence: u64, hash: PayloadHash) {
        let view = self.view;
        let entry = self
            .entries
            .entry(sequence)
            .or_insert_with(|| Entry::new(view));
        match entry.committed_hash {
            Some(existing) => assert_eq!(
                existing, hash,
                "two different payloads certified at sequence {sequence}: more than f validators are faulty"
            ),
            None => {
                entry.committed_hash = Some(hash);
                self.dirty = true;
            }
        }
    }

    fn try_execute(&mut self) {
        if self.last_executed_sequence < self.stable.sequence {
            // The log below the stable checkpoint is gone; the state transfer bridges it.
            return;
        }
        loop {
            let sequence = self.last_executed_sequence + 1;
            let Some(hash) = self
                .entries
                .get(&sequence)
                .and_then(|entry| entry.committed_hash)
            else {
                break;
            };
            self.last_executed_sequence = sequence;
            if hash != NULL_PAYLOAD_HASH {
                self.height += 1;
                self.last_payload_hash = hash;
                self.commit_effects.push(PbftEffect::Commit {
                    height: self.height,
                    sequence,
                    payload_hash: hash,
                });
            }
            self.dirty = true;
            self.consecutive_view_changes = 0;
            self.progress_deadline_ms = None;
            if sequence.is_multiple_of(self.config.checkpoint_interval_sequences) {
                let vote = CheckpointVote {
                    sequence,
                    height: self.height,
                    payload_hash: self.last_payload_hash,
                    sender: self.config.own_id,
                };
                self.checkpoint_votes
                    .entry(sequence)
                    .or_default()
                    .insert(self.config.own_id, vote.clone());
                self.broadcast(Message::Checkpoint(vote));
                self.check_checkpoint(sequence);
                if self.last_executed_sequence < self.stable.sequence {
                    break;
                }
            }
        }
    }

    fn on_commit_proof(&mut self, commits: Vec<Vote>) {
        let Some(first) = commits.first().cloned() else {
            return;
        };
        if commits.len() > self.config.validators.len()
            || first.sequence <= self.last_executed_sequence
            || !self.in_window(first.sequence)
        {
            return;
        }
        let senders: BTreeSet<ValidatorId> = commits
            .iter()
            .filter(|vote| {
                vote.view == first.view
                    && vote.sequence == first.sequence
                    && vote.payload_hash == first.payload_hash
                    && self.is_validator(&vote.sender)
            })
            .map(|vote| vote.sender)
            .collect();
        if senders.len() < self.quorum || senders.len() != commits.len() {
            return;
        }
        self.set_committed(first.sequence, first.payload_hash);
        let view = self.view;
        let entry = self
            .entries
            .entry(first.sequence)
            .or_insert_with(|| Entry::new(view));
        entry.commit_certificate.get_or_insert(commits);
        self.try_execute();
    }

    fn on_checkpoint(&mut self, vote: CheckpointVote) {
        if vote.sequence <= self.stable.sequence
            || vote.sequence > self.high_watermark()
            || !vote
                .sequence
                .is_multiple_of(self.config.checkpoint_interval_sequences)
        {
            return;
        }
        let sequence = vote.sequence;
        self.checkpoint_votes
            .entry(sequence)
            .or_default()
            .entry(vote.sender)
            .or_insert(vote);
        self.check_checkpoint(sequence);
    }

    fn check_checkpoint(&mut self, sequence: u64) {
        if sequence <= self.stable.sequence {
            return;
        }
        let Some(votes) = self.checkpoint_votes.get(&sequence) else {
            return;
        };
        let mut groups: BTreeMap<(u64, PayloadHash), Vec<CheckpointVote>> = BTreeMap::new();
        for vote in votes.values() {
            groups
                .entry((vote.height, vote.payload_hash))
                .or_default()
                .push(vote.clone());
        }
        let Some(((height, payload_hash), votes)) = groups
            .into_iter()
            .find(|(_, votes)| votes.len() >= self.quorum)
        else {
            return;
        };
        self.adopt_stable_checkpoint(StableCheckpoint {
            sequence,
            height,
            payload_hash,
            votes,
        });
    }

    fn adopt_stable_checkpoint(&mut self, checkpoint: StableCheckpoint) {
        assert!(checkpoint.sequence > self.stable.sequence);
        let sequence = checkpoint.sequence;
        if let Some(own) = self
            .checkpoint_votes
            .get(&sequence)
            .and_then(|votes| votes.get(&self.config.own_id))
        {
            // A quorum certified another chain at a sequence this replica executed: it has
            // diverged, and halting beats building on a fork.
            assert_eq!(
                (own.height, own.payload_hash),
                (checkpoint.height, checkpoint.payload_hash),
                "this replica's state at sequence {sequence} differs from a certified checkpoint"
            );
        }
        self.entries = self.entries.split_off(&(sequence + 1));
        self.checkpoint_votes = self.checkpoint_votes.split_off(&(sequence + 1));
        self.stable = checkpoint;
        self.dirty = true;
        self.request_state_transfer_if_behind();
    }

    fn on_state_transferred(&mut self, sequence: u64, height: u64, payload_hash: PayloadHash) {
        if sequence <= self.last_executed_sequence {
            return;
        }
        if (sequence, height, payload_hash)
            != (
                self.stable.sequence,
                self.stable.height,
                self.stable.payload_hash,
            )
        {
            // The checkpoint moved on while the driver synced; ask for the new one.
            self.request_state_transfer_if_behind();
            return;
        }
        assert!(
            height >= self.height,
            "a state transfer never moves the chain back"
        );
        self.last_executed_sequence = sequence;
        self.height = height;
        self.last_payload_hash = payload_hash;
        self.consecutive_view_changes = 0;
        self.progress_deadline_ms = None;
        self.dirty = true;
        self.try_execute();
    }

    fn on_status(&mut self, view: u64, last_executed_sequence: u64, sender: ValidatorId) {
        if last_executed_sequence < self.last_executed_sequence {
            if last_executed_sequence < self.stable.sequence && !self.stable.votes.is_empty() {
                self.send(
                    sender,
                    Message::CheckpointProof {
                        checkpoint: self.stable.clone(),
                        sender: self.config.own_id,
                    },
                );
            }
            let from = last_executed_sequence.max(self.stable.sequence) + 1;
            let proofs: Vec<Vec<Vote>> = self
                .entries
                .range(from..)
                .take_while(|(sequence, _)| **sequence <= self.last_executed_sequence)
                .filter_map(|(_, entry)| entry.commit_certificate.clone())
                .collect();
            for commits in proofs {
                self.send(
                    sender,
                    Message::CommitProof {
                        commits,
                        sender: self.config.own_id,
                    },
                );
            }
        }
        if view < self.view && self.view_active && self.is_primary() {
            self.send_new_view_to(sender);
        }
        if view < self.view {
            self.resend_signed_for_view(sender, view);
        }
    }

    /// Re-sends to a replica still in `view` what this replica signed for it, if it kept it:
    /// its view change (the replica may lack it for a quorum) and, as that view's primary, its
    /// new view. See the module docs for why.
    ///
    /// At most once per retransmit interval per replica: a validator sending status after
    /// status must not make this one send its (large) new views as fast as it asks.
    fn resend_signed_for_view(&mut self, to: ValidatorId, view: u64) {
        if let Some(last) = self.last_resent_ms.get(&to)
            && self.now_ms < last.saturating_add(self.config.retransmit_interval_ms)
        {
            return;
        }
        // Senders are validators (checked on input), so this holds one entry per validator.
        self.last_resent_ms.insert(to, self.now_ms);
        if let Some(view_change) = self.signed_view_changes.get(&view).cloned() {
            self.send(to, Message::ViewChange(view_change));
        }
        if let Some(new_view) = self.sent_new_views.get(&view).cloned() {
            self.send(to, Message::NewView(new_view));
        }
    }

    fn send_new_view_to(&mut self, to: ValidatorId) {
        if let Some(new_view) = self.new_view.clone()
            && new_view.view == self.view
        {
            self.send(to, Message::NewView(new_view));
        }
    }

    // ---- View change ------------------------------------------------------------------------

    fn valid_checkpoint(&self, checkpoint: &StableCheckpoint) -> bool {
        if checkpoint.votes.is_empty() {
            return checkpoint.sequence == 0
                && checkpoint.height == self.chain_start.height
                && checkpoint.payload_hash == self.chain_start.payload_hash;
        }
        if checkpoint.votes.len() > self.config.validators.len()
            || !checkpoint
                .sequence
                .is_multiple_of(self.config.checkpoint_interval_sequences)
        {
            return false;
        }
        let senders: BTreeSet<ValidatorId> = checkpoint
            .votes
            .iter()
            .filter(|vote| {
                vote.sequence == checkpoint.sequence
                    && vote.height == checkpoint.height
                    && vote.payload_hash == checkpoint.payload_hash
                    && self.is_validator(&vote.sender)
            })
            .map(|vote| vote.sender)
            .collect();
        senders.len() >= self.quorum && senders.len() == checkpoint.votes.len()
    }

    fn valid_prepared_certificate(&self, certificate: &PreparedCertificate) -> bool {
        let pre_prepare = &certificate.pre_prepare;
        let primary = self.primary_of(pre_prepare.view);
        if pre_prepare.sender != primary
            || certificate.prepares.len() > self.config.validators.len()
        {
            return false;
        }
        let senders: BTreeSet<ValidatorId> = certificate
            .prepares
            .iter()
            .filter(|vote| {
                vote.view == pre_prepare.view
                    && vote.sequence == pre_prepare.sequence
                    && vote.payload_hash == pre_prepare.payload_hash
                    && vote.sender != primary
                    && self.is_validator(&vote.sender)
            })
            .map(|vote| vote.sender)
            .collect();
        senders.len() >= self.quorum - 1 && senders.len() == certificate.prepares.len()
    }

    fn valid_view_change(&self, view_change: &ViewChange) -> bool {
        let checkpoint = &view_change.checkpoint;
        let window = self.config.watermark_window_sequences;
        if !self.is_validator(&view_change.sender)
            || view_change.prepared.len() as u64 > window
            || !self.valid_checkpoint(checkpoint)
        {
            return false;
        }
        let mut previous = checkpoint.sequence;
        for certificate in &view_change.prepared {
            let sequence = certificate.pre_prepare.sequence;
            if sequence <= previous
                || sequence > checkpoint.sequence + window
                || certificate.pre_prepare.view >= view_change.new_view
                || !self.valid_prepared_certificate(certificate)
            {
                return false;
            }
            previous = sequence;
        }
        true
    }

    /// The checkpoint and the pre-prepares a new primary must send for `view`, given the
    /// view changes it collected. Deterministic in the order of `view_changes`, so replicas
    /// recompute exactly what an honest primary sent.
    fn new_view_contents(
        &self,
        view: u64,
        view_changes: &[ViewChange],
    ) -> (StableCheckpoint, Vec<Vote>) {
        let mut checkpoint = &view_changes[0].checkpoint;
        for view_change in view_changes {
            if view_change.checkpoint.sequence > checkpoint.sequence {
                checkpoint = &view_change.checkpoint;
            }
        }
        let low = checkpoint.sequence;
        let mut chosen: BTreeMap<u64, (u64, PayloadHash)> = BTreeMap::new();
        for view_change in view_changes {
            for certificate in &view_change.prepared {
                let pre_prepare = &certificate.pre_prepare;
                if pre_prepare.sequence <= low {
                    continue;
                }
                let candidate = (pre_prepare.view, pre_prepare.payload_hash);
                chosen
                    .entry(pre_prepare.sequence)
                    .and_modify(|best| {
                        if candidate.0 > best.0 {
                            *best = candidate;
                        }
                    })
                    .or_insert(candidate);
            }
        }
        let high = chosen.keys().next_back().copied().unwrap_or(low);
        let primary = self.primary_of(view);
        let pre_prepares = (low + 1..=high)
            .map(|sequence| Vote {
                view,
                sequence,
                payload_hash: chosen
                    .get(&sequence)
                    .map_or(NULL_PAYLOAD_HASH, |(_, hash)| *hash),
                sender: primary,
            })
            .collect();
        (checkpoint.clone(), pre_prepares)
    }

    fn start_view_change(&mut self, target: u64) {
        assert!(target > self.view, "views only go forward");
        let own = self.config.own_id;
        self.view = target;
        self.view_active = false;
        self.consecutive_view_changes = self.consecutive_view_changes.saturating_add(1);
        self.progress_deadline_ms = None;
        self.view_change_deadline_ms = None;
        self.new_view = None;
        let prepared = self
            .entries
            .range(self.stable.sequence + 1..)
            .filter_map(|(_, entry)| entry.prepared.clone())
            .collect();
        let view_change = ViewChange {
            new_view: target,
            checkpoint: self.stable.clone(),
            prepared,
            sender: own,
        };
        self.view_changes.retain(|view, _| *view >= target);
        self.view_changes
            .entry(target)
            .or_default()
            .insert(own, view_change.clone());
        self.own_view_change = Some(view_change.clone());
        keep_recent(&mut self.signed_view_changes, target, view_change.clone());
        self.dirty = true;
        self.broadcast(Message::ViewChange(view_change));
        self.check_view_change_quorum();
    }

    fn on_view_change(&mut self, view_change: ViewChange) {
        let new_view = view_change.new_view;
        if new_view < self.view || (new_view == self.view && self.view_active) {
            // The sender lags behind a view already installed: show it the new view.
            if self.view_active && self.is_primary() {
                self.send_new_view_to(view_change.sender);
            }
            return;
        }
        if new_view > self.view + self.config.views_ahead_max
            || !self.valid_view_change(&view_change)
        {
            return;
        }
        self.view_changes
            .entry(new_view)
            .or_default()
            .entry(view_change.sender)
            .or_insert(view_change);
        // f+1 replicas asking for higher views include an honest one: join rather than wait
        // for an own timeout, choosing the highest view that f+1 of them reached.
        let mut highest_by_sender: BTreeMap<ValidatorId, u64> = BTreeMap::new();
        for (view, senders) in self.view_changes.range(self.view + 1..) {
            for sender in senders.keys() {
                if *sender != self.config.own_id {
                    highest_by_sender.insert(*sender, *view);
                }
            }
        }
        if highest_by_sender.len() > self.fault_tolerance {
            let mut views: Vec<u64> = highest_by_sender.into_values().collect();
            views.sort_unstable_by(|a, b| b.cmp(a));
            self.start_view_change(views[self.fault_tolerance]);
            return;
        }
        self.check_view_change_quorum();
    }

    fn check_view_change_quorum(&mut self) {
        if self.view_active {
            return;
        }
        let Some(view_changes) = self.view_changes.get(&self.view) else {
            return;
        };
        if view_changes.len() < self.quorum {
            return;
        }
        if self.view_change_deadline_ms.is_none() {
            // Only now: a replica alone in a view change must not race through views.
            self.view_change_deadline_ms = Some(self.now_ms + self.timeout_ms());
        }
        if self.is_primary() {
            let collected: Vec<ViewChange> =
                view_changes.values().take(self.quorum).cloned().collect();
            let (_, pre_prepares) = self.new_view_contents(self.view, &collected);
            let new_view = NewView {
                view: self.view,
                view_changes: collected,
                pre_prepares,
                sender: self.config.own_id,
            };
            self.broadcast(Message::NewView(new_view.clone()));
            self.install_new_view(new_view);
        }
    }

    fn on_new_view(&mut self, new_view: NewView) {
        if new_view.view < self.view
            || (new_view.view == self.view && self.view_active)
            || new_view.sender != self.primary_of(new_view.view)
            || new_view.view_changes.len() > self.config.validators.len()
            || new_view.view_changes.is_empty()
        {
            return;
        }
        let mut senders = BTreeSet::new();
        for view_change in &new_view.view_changes {
            if view_change.new_view != new_view.view || !self.valid_view_change(view_change) {
                return;
            }
            senders.insert(view_change.sender);
        }
        if senders.len() < self.quorum || senders.len() != new_view.view_changes.len() {
            return;
        }
        let (_, pre_prepares) = self.new_view_contents(new_view.view, &new_view.view_changes);
        if pre_prepares != new_view.pre_prepares {
            return;
        }
        self.install_new_view(new_view);
    }

    fn install_new_view(&mut self, new_view: NewView) {
        let (checkpoint, pre_prepares) =
            self.new_view_contents(new_view.view, &new_view.view_changes);
        self.view = new_view.view;
        self.view_active = true;
        self.view_change_deadline_ms = None;
        self.progress_deadline_ms = None;
        self.own_view_change = None;
        self.view_changes.retain(|view, _| *view > new_view.view);
        self.dirty = true;
        if checkpoint.sequence > self.stable.sequence {
            self.adopt_stable_checkpoint(checkpoint.clone());
        }
        let primary = self.is_primary();
        let high = pre_prepares
            .last()
            .map_or(checkpoint.sequence, |vote| vote.sequence);
        for pre_prepare in pre_prepares {
            let sequence = pre_prepare.sequence;
            if sequence <= self.stable.sequence {
                continue;
            }
            let entry = self.entry_for_view(sequence);
            if let Some(committed) = entry.committed_hash {
                assert_eq!(
                    committed, pre_prepare.payload_hash,
                    "a new view re-proposes a payload other than the one committed at sequence {sequence}"
                );
            }
            entry.pre_prepare = Some(pre_prepare.clone());
            if !primary {
                self.send_prepare(sequence, pre_prepare);
            }
            self.check_prepared(sequence);
        }
        if primary {
            self.next_sequence = high.max(self.stable.sequence) + 1;
            keep_recent(&mut self.sent_new_views, new_view.view, new_view.clone());
            self.new_view = Some(new_view);
        }
        self.try_execute();
    }
}

#[cfg(test)]
mod tests;
