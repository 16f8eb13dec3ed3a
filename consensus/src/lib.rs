//! rxchain's ordering engines, behind one trait, as pure state machines.
//!
//! An engine never does I/O, reads a clock or draws randomness: the node's driver feeds it
//! [`Input`]s (time arrives as `now_ms`, pending work as counts) and carries out the [`Effect`]s
//! it returns (build a proposal from the mempool, commit a payload). Engines order opaque,
//! hashed payloads and know nothing of what is inside them. This is what lets a simulation run an
//! engine with virtual time and the same inputs give the same outputs.
//!
//! Engines: [`solo::SoloEngine`] (one validator, for development and pilots) implements
//! [`ConsensusEngine`]. [`pbft::PbftEngine`] (3f+1 validators, Byzantine faults: pre-prepare /
//! prepare / commit, view change, checkpoints with log garbage collection, watermarks) is the
//! same kind of pure state machine with its own input and effect types
//! ([`pbft::PbftInput`], [`pbft::PbftEffect`]), because it also exchanges messages, persists its
//! votes and asks for block sync; its driver is the node's replica (`node/src/runtime/replica.rs`).
//! Raft runs on openraft, which owns its tasks and timers, so it lives in the node (`node::raft`),
//! with its own deterministic simulation there.
//!
//! [`simulation`] runs the engines deterministically from a seed — virtual time, an in-memory
//! network with latency, loss, duplication, reordering and partitions, crash and restart from
//! persisted state, Byzantine validators for PBFT — checks safety, durability of what was
//! acknowledged and liveness after healing, and digests every event so a seed reproduces its run.

pub mod pbft;
pub mod simulation;
pub mod solo;

/// A 32-byte payload hash (the block header hash, computed by the node).
pub type PayloadHash = [u8; 32];

/// What the driver tells an engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Time passed; `now_ms` is the driver's clock.
    Tick { now_ms: u64 },
    /// The mempool's executable backlog changed.
    Pending {
        transactions: u64,
        bytes: u64,
        now_ms: u64,
    },
    /// The driver built the proposal it was asked for.
    Proposed {
        height: u64,
        payload_hash: PayloadHash,
    },
    /// The driver could not build it (e.g. the backlog was taken by a restart); try later.
    ProposalAbandoned { height: u64 },
}

/// What an engine asks the driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Build block `height` from at most this much of the mempool and report `Proposed`.
    BuildProposal {
        height: u64,
        transactions_max: u32,
        bytes_max: u64,
    },
    /// The payload is final at `height`: execute and persist it.
    Commit {
        height: u64,
        payload_hash: PayloadHash,
    },
}

/// Errors of engine configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConsensusError {
    #[error("{parameter}: {message}")]
    InvalidParameter {
        parameter: &'static str,
        message: String,
    },
}

/// The trait every engine implements.
pub trait ConsensusEngine: Send {
    /// The engine's name as genesis writes it.
    fn kind(&self) -> &'static str;
    /// Feeds one input; returns the effects to carry out, in order.
    fn handle(&mut self, input: Input) -> Vec<Effect>;
    /// The height the next committed payload will have.
    fn next_height(&self) -> u64;
}
