//! The mempool: admitted transactions waiting for a block.
//!
//! Transactions are grouped by sender and ordered by nonce; a sender's transactions are
//! executable only as a run of consecutive nonces starting at the sender's next nonce, so a
//! block never contains a gap. Limits: total transactions, total bytes, transactions per sender.
//! Senders are served round-robin in arrival order so one busy sender cannot starve others.

use crate::hash::Hash;
use crate::transaction::SignedTransaction;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The mempool's limits.
#[derive(Clone, Debug)]
pub struct MempoolLimits {
    pub transactions_max: usize,
    pub bytes_max: usize,
    pub transactions_per_sender_max: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            transactions_max: 100_000,
            bytes_max: 256 * 1024 * 1024,
            transactions_per_sender_max: 2_000,
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    transaction: SignedTransaction,
    id: Hash,
    bytes: usize,
}

#[derive(Debug, Default)]
pub struct Mempool {
    limits: MempoolLimits,
    by_sender: HashMap<[u8; 32], BTreeMap<u64, Entry>>,
    /// Senders in the order they first had a transaction queued (round-robin order).
    senders: VecDeque<[u8; 32]>,
    ids: HashMap<Hash, ([u8; 32], u64)>,
    bytes: usize,
}

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MempoolRefusal {
    Duplicate,
    Full(String),
}

impl Mempool {
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn contains(&self, id: &Hash) -> bool {
        self.ids.contains_key(id)
    }

    /// True when the sender has a transaction queued with this nonce.
    pub fn has_nonce(&self, sender: &[u8; 32], nonce: u64) -> bool {
        self.by_sender
            .get(sender)
            .is_some_and(|queue| queue.contains_key(&nonce))
    }

    /// The first nonce at or after `committed_next` that the sender has not queued: where a
    /// node signing for the sender continues.
    pub fn next_free_nonce(&self, sender: &[u8; 32], committed_next: u64) -> u64 {
        let mut nonce = committed_next;
        while self.has_nonce(sender, nonce) {
            nonce += 1;
        }
        nonce
    }

    /// Queues a transaction whose checks passed.
    pub fn insert(
        &mut self,
        transaction: SignedTransaction,
        id: Hash,
        bytes: usize,
    ) -> Result<(), MempoolRefusal> {
        let sender = transaction.body.sender;
        let nonce = transaction.body.nonce;
        if self.ids.contains_key(&id) || self.has_nonce(&sender, nonce) {
            return Err(MempoolRefusal::Duplicate);
        }
        if self.ids.len() >= self.limits.transactions_max {
            return Err(MempoolRefusal::Full(format!(
                "{} transactions queued, the limit",
                self.limits.transactions_max
            )));
        }
        if self.bytes + bytes > self.limits.bytes_max {
            return Err(MempoolRefusal::Full(format!(
                "{} bytes queued, the limit is {}",
                self.bytes, self.limits.bytes_max
            )));
        }
        let queue = self.by_sender.entry(sender).or_default();
        if queue.len() >= self.limits.transactions_per_sender_max {
            return Err(MempoolRefusal::Full(format!(
                "this sender has {} transactions queued, the limit",
                self.limits.transactions_per_sender_max
            )));
        }
        if queue.is_empty() {
            self.senders.push_back(sender);
        }
        queue.insert(
            nonce,
            Entry {
                transaction,
                id,
                bytes,
            },
        );
        self.ids.insert(id, (sender, nonce));
        self.bytes += bytes;
        Ok(())
    }

    /// Executable transactions and their bytes: for each sender the run of consecutive nonces
    /// from `next_nonce(sender)`.
    pub fn ready_backlog(&self, next_nonce: impl Fn(&[u8; 32]) -> u64) -> (u64, u64) {
        let mut transactions = 0;
        let mut bytes = 0;
        for (sender, queue) in &self.by_sender {
            let first = next_nonce(sender);
            let run = (first..)
                .zip(queue.range(first..))
                .take_while(|(expected, (nonce, _))| *nonce == expected);
            for (_, (_, entry)) in run {
                transactions += 1;
                bytes += entry.bytes as u64;
            }
        }
        (transactions, bytes)
    }

    /// Picks up to the limits of transactions executable in a block at `height`, round-robin
    /// across senders, without removing them (they leave when their block commits). A sender's
    /// run stops at a transaction expired by `height`: its nonce stays unused, so none after it
    /// can execute (and a block holding it would be invalid).
    pub fn select(
        &self,
        transactions_max: usize,
        bytes_max: u64,
        height: u64,
        next_nonce: impl Fn(&[u8; 32]) -> u64,
    ) -> Vec<SignedTransaction> {
        let mut cursors: Vec<([u8; 32], u64)> = self
            .senders
            .iter()
            .map(|sender| (*sender, next_nonce(sender)))
            .collect();
        let mut picked = Vec::new();
        let mut bytes = 0u64;
        loop {
            let mut progressed = false;
            for (sender, expected) in cursors.iter_mut() {
                if picked.len() >= transactions_max {
                    return picked;
                }
                let Some(entry) = self
                    .by_sender
                    .get(sender)
                    .and_then(|queue| queue.get(expected))
                    .filter(|entry| entry.transaction.body.expiry_height >= height)
                else {
                    continue;
                };
                if bytes + entry.bytes as u64 > bytes_max {
                    return picked;
                }
                bytes += entry.bytes as u64;
                picked.push(entry.transaction.clone());
                *expected += 1;
                progressed = true;
            }
            if !progressed {
                return picked;
            }
        }
    }

    /// Drops what a committed block contained, and whatever can never execute now: nonces
    /// below the sender's next nonce and transactions past their expiry height.
    pub fn prune(&mut self, next_nonce: impl Fn(&[u8; 32]) -> u64, next_height: u64) {
        let mut removed = Vec::new();
        for (sender, queue) in self.by_sender.iter_mut() {
            let next = next_nonce(sender);
            queue.retain(|nonce, entry| {
                let keep = *nonce >= next && entry.transaction.body.expiry_height >= next_height;
                if !keep {
                    removed.push((entry.id, entry.bytes));
                }
                keep
            });
        }
        for (id, bytes) in removed {
            self.ids.remove(&id);
            self.bytes -= bytes;
        }
        self.by_sender.retain(|_, queue| !queue.is_empty());
        let by_sender = &self.by_sender;
        self.senders.retain(|sender| by_sender.contains_key(sender));
        assert_eq!(
            self.ids.len(),
            self.by_sender.values().map(BTreeMap::len).sum::<usize>(),
            "mempool index and queues disagree"
        );
    }
}
