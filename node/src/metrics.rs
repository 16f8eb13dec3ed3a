//! Counters the node exports in Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub transactions_admitted: AtomicU64,
    pub transactions_rejected: AtomicU64,
    pub transactions_committed: AtomicU64,
    pub transactions_failed: AtomicU64,
    pub blocks_committed: AtomicU64,
    pub head_height: AtomicU64,
    pub mempool_transactions: AtomicU64,
    pub block_execution_microseconds_total: AtomicU64,
    pub fuel_used_total: AtomicU64,
    /// Other validators this node is connected to (multi-node chains).
    pub peers_connected: AtomicU64,
    /// The consensus view (PBFT), which changes when a primary is replaced.
    pub consensus_view: AtomicU64,
    pub view_changes: AtomicU64,
    /// Raft: the leader's node id plus one (0: no leader known).
    pub leader: AtomicU64,
    pub blocks_synced: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, value: u64) {
        counter.fetch_add(value, Ordering::Relaxed);
    }

    pub fn set(gauge: &AtomicU64, value: u64) {
        gauge.store(value, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &str, &AtomicU64); 13] = [
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
                "rxchain_blocks_synced_total",
                "counter",
                "Certified blocks fetched from peers and re-executed.",
                &self.blocks_synced,
            ),
        ];
        let mut text = String::new();
        for (name, kind, help, value) in rows {
            let _ = writeln!(text, "# HELP {name} {help}");
            let _ = writeln!(text, "# TYPE {name} {kind}");
            let _ = writeln!(text, "{name} {}", value.load(Ordering::Relaxed));
        }
        text
    }
}
