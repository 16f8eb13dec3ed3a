//! Timings and sizes both replica drivers (PBFT in `replica`, Raft in `raft_replica`) share, so
//! the two engines recover from the same faults on the same clock.

/// A final block whose finality certificate has not gathered a quorum of signatures for this
/// long is fetched, with its certificate, by block sync. Signatures normally arrive within a
/// round trip of the commit; waiting longer than a loaded cluster's worst lag (about a second
/// was measured flat out on two cores) keeps sync traffic out of the busy path, and a node that
/// really missed messages is at most this late.
pub(super) const CERTIFICATE_WAIT_MS: u64 = 2_000;
/// A block sync request unanswered for this long is given up and sent to another peer.
pub(super) const SYNC_REQUEST_TIMEOUT_MS: u64 = 5_000;
/// Blocks asked for, and served, per block sync request, at most.
pub(super) const SYNC_BLOCKS_PER_REQUEST_MAX: u64 = 64;
/// How often a driver wakes without news, at most.
pub(super) const TICK_MS_MAX: u64 = 10;
