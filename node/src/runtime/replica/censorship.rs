//! PBFT's request timer: a primary that makes progress but leaves some transactions out is
//! replaced.
//!
//! The engine's progress timer only sees blocks being committed, so a primary that commits
//! blocks without a member's transactions would stay primary for ever. This replica watches
//! each sender's next executable transaction in its mempool (the one an honest primary's
//! round-robin selection takes first). A block committed without it although it had room for
//! it (fewer transactions than the block limit, and its bytes would have fitted) counts as a
//! miss. After the first miss the replica forwards the transaction to the primary (it may not
//! have had it); after [`BLOCKS_MISSED_MAX`] misses, and once it has waited the view-change
//! timeout, the replica asks for a view change. Honest replicas hold the same transactions
//! (gossip), so they reach the same conclusion and the view changes.

use crate::hash::Hash;
use std::collections::HashMap;

/// Blocks with room for a transaction committed without it before this replica asks for a view
/// change.
pub(super) const BLOCKS_MISSED_MAX: u32 = 3;

#[derive(Clone, Copy, Debug)]
struct Watched {
    since_ms: u64,
    blocks_missed: u32,
}

/// What to do after a block was stored.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Findings {
    /// Transactions missed for the first time: forward them to the primary.
    pub forward: Vec<Hash>,
    /// A transaction was left out too often: ask for a view change.
    pub censored: bool,
}

/// A stored block's size, and the limits it was built under.
#[derive(Clone, Copy, Debug)]
pub(super) struct BlockRoom {
    pub transactions: usize,
    pub bytes: u64,
    pub transactions_max: usize,
    pub bytes_max: u64,
}

impl BlockRoom {
    fn fits(&self, bytes: usize) -> bool {
        self.transactions < self.transactions_max && self.bytes + bytes as u64 <= self.bytes_max
    }
}

#[derive(Debug)]
pub(super) struct CensorshipWatch {
    watched: HashMap<Hash, Watched>,
    wait_ms_min: u64,
}

impl CensorshipWatch {
    pub fn new(wait_ms_min: u64) -> Self {
        CensorshipWatch {
            watched: HashMap::new(),
            wait_ms_min,
        }
    }

    /// After a block was stored: `heads` are each sender's next executable transaction in the
    /// mempool now (id and bytes); the block left each of them out.
    pub fn block_stored(
        &mut self,
        now_ms: u64,
        heads: &[(Hash, usize)],
        room: BlockRoom,
    ) -> Findings {
        let mut findings = Findings::default();
        let mut watched = HashMap::with_capacity(heads.len());
        for (id, bytes) in heads {
            let mut entry = self.watched.get(id).copied().unwrap_or(Watched {
                since_ms: now_ms,
                blocks_missed: 0,
            });
            // A transaction that arrived after the block was built was not left out by it;
            // it is first watched here and counts from the next block.
            if self.watched.contains_key(id) && room.fits(*bytes) {
                entry.blocks_missed += 1;
                if entry.blocks_missed == 1 {
                    findings.forward.push(*id);
                }
            }
            if entry.blocks_missed >= BLOCKS_MISSED_MAX
                && now_ms.saturating_sub(entry.since_ms) >= self.wait_ms_min
            {
                findings.censored = true;
            }
            watched.insert(*id, entry);
        }
        self.watched = watched;
        findings
    }

    /// A new view (a new primary): everyone's wait starts again.
    pub fn reset(&mut self) {
        self.watched.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: BlockRoom = BlockRoom {
        transactions: 10,
        bytes: 10_000,
        transactions_max: 1_000,
        bytes_max: 4_000_000,
    };

    #[test]
    fn a_transaction_left_out_of_roomy_blocks_is_forwarded_then_reported() {
        let mut watch = CensorshipWatch::new(1_000);
        let censored = [1; 32];
        // First seen when a block is stored; it counts from the next block.
        assert_eq!(
            watch.block_stored(0, &[(censored, 200)], ROOMY),
            Findings::default()
        );
        let first = watch.block_stored(100, &[(censored, 200)], ROOMY);
        assert_eq!(first.forward, vec![censored]);
        assert!(!first.censored);
        assert!(!watch.block_stored(200, &[(censored, 200)], ROOMY).censored);
        // Missed three times, but not waited long enough yet.
        let third = watch.block_stored(300, &[(censored, 200)], ROOMY);
        assert!(third.forward.is_empty() && !third.censored);
        assert!(
            watch
                .block_stored(1_000, &[(censored, 200)], ROOMY)
                .censored
        );
    }

    #[test]
    fn full_blocks_and_committed_transactions_are_not_censorship() {
        let mut watch = CensorshipWatch::new(0);
        let waiting = [1; 32];
        let full = BlockRoom {
            transactions: 1_000,
            ..ROOMY
        };
        let no_bytes_left = BlockRoom {
            bytes: 4_000_000 - 100,
            ..ROOMY
        };
        for now in 0..10 {
            let findings = watch.block_stored(
                now,
                &[(waiting, 200)],
                if now % 2 == 0 { full } else { no_bytes_left },
            );
            assert_eq!(findings, Findings::default());
        }
        // Committed (no longer a head), it is forgotten; a new head starts from nothing.
        watch.block_stored(20, &[], ROOMY);
        watch.block_stored(21, &[(waiting, 200)], ROOMY);
        assert!(!watch.block_stored(22, &[(waiting, 200)], ROOMY).censored);
        watch.reset();
        assert_eq!(
            watch.block_stored(23, &[(waiting, 200)], ROOMY),
            Findings::default()
        );
    }
}
