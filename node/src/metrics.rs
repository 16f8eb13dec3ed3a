//! Counters the node exports in Prometheus text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub transactions_admitted: AtomicU64,
    pub transactions_rejected: AtomicU64,
    /// Refusals at admission by error code (`duplicate`, `nonce_used`, ...): tells an
    /// operator whether clients misbehave or gossip brings late copies.
    pub transactions_rejected_by_reason: Mutex<BTreeMap<&'static str, u64>>,
    pub transactions_committed: AtomicU64,
    pub transactions_failed: AtomicU64,
    pub blocks_committed: AtomicU64,
    pub head_height: AtomicU64,
    pub mempool_transactions: AtomicU64,
    /// Transactions evicted from a full mempool to let a sender within its fair share in.
    pub mempool_evicted: AtomicU64,
    pub block_execution_microseconds_total: AtomicU64,
    pub fuel_used_total: AtomicU64,
    /// Other validators this node is connected to (multi-node chains).
    pub peers_connected: AtomicU64,
    /// The consensus view (PBFT), which changes when a primary is replaced.
    pub consensus_view: AtomicU64,
    pub view_changes: AtomicU64,
    /// View changes this replica asked for because a primary left transactions out.
    pub censorship_view_changes: AtomicU64,
    /// Raft: the leader's node id plus one (0: no leader known).
    pub leader: AtomicU64,
    pub blocks_synced: AtomicU64,
    /// Blocks this node proposed while their parent was still being agreed on (pipelining).
    pub blocks_proposed_on_pending_parent: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    /// Counts one refusal at admission, with its reason.
    pub fn reject(&self, reason: &'static str) {
        Self::add(&self.transactions_rejected, 1);
        *self
            .transactions_rejected_by_reason
            .lock()
            .expect("metrics lock")
            .entry(reason)
            .or_default() += 1;
    }

    pub fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    ///
    /// Long because it lists every counter once, with its help text.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 16] = [
            (
                "rxchain_transactions_admitted_total",
                "counter",
                "Transactions accepted into the mempool.",
                &self.transactions_admitted,
            ),
            (
                "rxchain_transactions_rejected_total",
                "counter",
                "Transactions refused at admission.",
                &self.transactions_rejected,
            ),
            (
                "rxchain_transactions_committed_total",
                "counter",
                "Transactions in committed blocks.",
                &self.transactions_committed,
            ),
            (
                "rxchain_transactions_failed_total",
                "counter",
                "Committed transactions whose call failed.",
                &self.transactions_failed,
            ),
            (
                "rxchain_blocks_committed_total",
                "counter",
                "Blocks committed since start.",
                &self.blocks_committed,
            ),
            (
                "rxchain_head_height",
                "gauge",
                "Height of the last committed block.",
                &self.head_height,
            ),
            (
                "rxchain_mempool_transactions",
                "gauge",
                "Transactions waiting in the mempool.",
                &self.mempool_transactions,
            ),
            (
                "rxchain_mempool_evicted_total",
                "counter",
                "Transactions evicted from a full mempool for a sender within its fair share.",
                &self.mempool_evicted,
            ),
            (
                "rxchain_block_execution_microseconds_total",
                "counter",
                "Time spent executing blocks.",
                &self.block_execution_microseconds_total,
            ),
            (
                "rxchain_fuel_used_total",
                "counter",
                "Contract fuel used by committed transactions.",
                &self.fuel_used_total,
            ),
            (
                "rxchain_peers_connected",
                "gauge",
                "Other validators this node is connected to.",
                &self.peers_connected,
            ),
            (
                "rxchain_consensus_view",
                "gauge",
                "The consensus view (PBFT).",
                &self.consensus_view,
            ),
            (
                "rxchain_view_changes_total",
                "counter",
                "Views this node moved to after a primary failed or misbehaved.",
                &self.view_changes,
            ),
            (
                "rxchain_censorship_view_changes_total",
                "counter",
                "View changes this node asked for because the primary left transactions out of blocks with room.",
                &self.censorship_view_changes,
            ),
            (
                "rxchain_blocks_synced_total",
                "counter",
                "Certified blocks fetched from peers and re-executed.",
                &self.blocks_synced,
            ),
            (
                "rxchain_blocks_proposed_on_pending_parent_total",
                "counter",
                "Blocks proposed while their parent was not final yet (pipelined proposals).",
                &self.blocks_proposed_on_pending_parent,
            ),
        ];
        let mut text = String::new();
        for (name, kind, help, value) in rows {
            let _ = writeln!(text, "# HELP {name} {help}");
            let _ = writeln!(text, "# TYPE {name} {kind}");
            let _ = writeln!(text, "{name} {}", value.load(Ordering::Relaxed));
        }
        let name = "rxchain_transactions_rejected_by_reason_total";
        let _ = writeln!(
            text,
            "# HELP {name} Transactions refused at admission, by error code."
        );
        let _ = writeln!(text, "# TYPE {name} counter");
        for (reason, count) in self
            .transactions_rejected_by_reason
            .lock()
            .expect("metrics lock")
            .iter()
        {
            let _ = writeln!(text, "{name}{{reason=\"{reason}\"}} {count}");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_reason() {
        let metrics = Metrics::default();
        metrics.reject("duplicate");
        metrics.reject("nonce_used");
        metrics.reject("duplicate");
        let text = metrics.render();
        assert!(
            text.contains("rxchain_transactions_rejected_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "rxchain_transactions_rejected_by_reason_total{reason=\"duplicate\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "rxchain_transactions_rejected_by_reason_total{reason=\"nonce_used\"} 1\n"
            ),
            "{text}"
        );
    }
}
