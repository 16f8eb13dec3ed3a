//! The mempool: admitted transactions waiting for a block.
//!
//! Transactions are grouped by sender and ordered by nonce; a sender's transactions are
//! executable only as a run of consecutive nonces starting at the sender's next nonce, so a
//! block never contains a gap. Limits: total transactions, total bytes, transactions per sender.
//! Senders are served round-robin in arrival order so one busy sender cannot starve others.
//!
//! One member must not be able to fill every node's mempool (squatting) so that others are
//! refused:
//! - Transactions after a gap (parked: they cannot execute until the gap fills) are admitted up
//!   to [`PARKED_BYTES_PER_SENDER_MAX`] per sender, whatever the admission window allows.
//! - When the mempool is full, a sender within its fair share (the limits divided by the senders
//!   queued, itself included) still gets in: transactions of senders over their share are
//!   evicted, parked before executable, the largest holder first, its highest nonces first
//!   (so its executable run stays whole).

use crate::hash::Hash;
use crate::transaction::SignedTransaction;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Bytes of parked transactions (after a nonce gap, so not executable yet) one sender may have
/// queued. Gossip delivers a sender's transactions out of order, so a busy client's run has
/// gaps at other nodes for a moment; small transactions fill those gaps by the thousand, while
/// a member parking the largest transactions holds 32.
pub const PARKED_BYTES_PER_SENDER_MAX: usize = 4 * 1024 * 1024;

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
    /// Bytes queued per sender (kept so that fair shares cost no scan of a sender's queue).
    sender_bytes: HashMap<[u8; 32], usize>,
}

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MempoolRefusal {
    Duplicate,
    Full(String),
    /// Parked (after a gap; the sender's executable run ends before `next_free`), and the
    /// sender's parked transactions hold their bytes limit.
    ParkedFull {
        next_free: u64,
    },
}

/// What one sender holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Usage {
    transactions: usize,
    bytes: usize,
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
        let Some(queue) = self.by_sender.get(sender) else {
            return committed_next;
        };
        // Usually the queue is one run from the committed nonce: then its end is the last key,
        // found without walking the run (admission asks on every transaction).
        if let (Some((&first, _)), Some((&last, _))) =
            (queue.first_key_value(), queue.last_key_value())
            && first == committed_next
            && last - first + 1 == queue.len() as u64
        {
            return last + 1;
        }
        let mut nonce = committed_next;
        for (&queued, _) in queue.range(committed_next..) {
            if queued != nonce {
                break;
            }
            nonce += 1;
        }
        nonce
    }

    /// Queues a transaction whose checks passed; `next_nonce` gives a sender's next committed
    /// nonce (what decides which of its transactions can execute). Returns the ids evicted to
    /// make room (see the module docs).
    pub fn insert(
        &mut self,
        transaction: SignedTransaction,
        id: Hash,
        bytes: usize,
        next_nonce: impl Fn(&[u8; 32]) -> u64,
    ) -> Result<Vec<Hash>, MempoolRefusal> {
        let sender = transaction.body.sender;
        let nonce = transaction.body.nonce;
        if self.ids.contains_key(&id) || self.has_nonce(&sender, nonce) {
            return Err(MempoolRefusal::Duplicate);
        }
        let next_free = self.next_free_nonce(&sender, next_nonce(&sender));
        if nonce > next_free {
            let parked: usize = self.by_sender.get(&sender).map_or(0, |queue| {
                queue.range(next_free..).map(|(_, entry)| entry.bytes).sum()
            });
            if parked + bytes > PARKED_BYTES_PER_SENDER_MAX {
                return Err(MempoolRefusal::ParkedFull { next_free });
            }
        }
        let queued = self.by_sender.get(&sender).map_or(0, BTreeMap::len);
        if queued >= self.limits.transactions_per_sender_max {
            return Err(MempoolRefusal::Full(format!(
                "this sender has {} transactions queued, the limit",
                self.limits.transactions_per_sender_max
            )));
        }
        let evicted = if self.ids.len() >= self.limits.transactions_max
            || self.bytes + bytes > self.limits.bytes_max
        {
            self.make_room_for(&sender, bytes, &next_nonce)?
        } else {
            Vec::new()
        };
        let queue = self.by_sender.entry(sender).or_default();
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
        *self.sender_bytes.entry(sender).or_default() += bytes;
        Ok(evicted)
    }

    /// The fair share of each of the senders queued plus `sender` (if new).
    fn fair_share(&self, sender: &[u8; 32]) -> Usage {
        let senders = self.by_sender.len() + usize::from(!self.by_sender.contains_key(sender));
        Usage {
            transactions: self.limits.transactions_max / senders.max(1),
            bytes: self.limits.bytes_max / senders.max(1),
        }
    }

    fn usage(&self, sender: &[u8; 32]) -> Usage {
        self.by_sender
            .get(sender)
            .map_or(Usage::default(), |queue| Usage {
                transactions: queue.len(),
                bytes: self.sender_bytes.get(sender).copied().unwrap_or(0),
            })
    }

    /// Evicts others' transactions over their fair share until one of `bytes` from `sender`
    /// fits, if `sender` stays within its share; refuses otherwise.
    fn make_room_for(
        &mut self,
        sender: &[u8; 32],
        bytes: usize,
        next_nonce: &impl Fn(&[u8; 32]) -> u64,
    ) -> Result<Vec<Hash>, MempoolRefusal> {
        let share = self.fair_share(sender);
        let own = self.usage(sender);
        if own.transactions + 1 > share.transactions || own.bytes + bytes > share.bytes {
            return Err(MempoolRefusal::Full(format!(
                "{} transactions and {} bytes queued (limits {} and {}); this sender holds its fair share of {} transactions and {} bytes",
                self.ids.len(),
                self.bytes,
                self.limits.transactions_max,
                self.limits.bytes_max,
                share.transactions,
                share.bytes
            )));
        }
        let mut evicted = Vec::new();
        // Parked transactions first, then executable ones.
        for parked_only in [true, false] {
            while self.ids.len() >= self.limits.transactions_max
                || self.bytes + bytes > self.limits.bytes_max
            {
                let Some(victim) = self.eviction_victim(sender, share, parked_only, next_nonce)
                else {
                    break;
                };
                evicted.push(self.remove(&victim).expect("the victim is queued"));
            }
        }
        if self.ids.len() >= self.limits.transactions_max
            || self.bytes + bytes > self.limits.bytes_max
        {
            // Cannot happen while `sender` is within its share (the others together then hold
            // more than theirs), but a refusal is safer than going over a limit.
            return Err(MempoolRefusal::Full(
                "no transaction over a fair share to evict".into(),
            ));
        }
        Ok(evicted)
    }

    /// The highest-nonce transaction (parked only, if `parked_only`) of the sender other than
    /// `except` holding the most bytes over the fair share.
    fn eviction_victim(
        &self,
        except: &[u8; 32],
        share: Usage,
        parked_only: bool,
        next_nonce: &impl Fn(&[u8; 32]) -> u64,
    ) -> Option<([u8; 32], u64)> {
        self.by_sender
            .iter()
            .filter(|(sender, _)| *sender != except)
            .filter_map(|(sender, queue)| {
                let usage = self.usage(sender);
                if usage.transactions <= share.transactions && usage.bytes <= share.bytes {
                    return None;
                }
                let (last, _) = queue.last_key_value()?;
                if parked_only && *last < self.next_free_nonce(sender, next_nonce(sender)) {
                    return None;
                }
                Some((usage.bytes, *sender, *last))
            })
            .max()
            .map(|(_, sender, nonce)| (sender, nonce))
    }

    /// Removes one queued transaction; returns its id.
    fn remove(&mut self, (sender, nonce): &([u8; 32], u64)) -> Option<Hash> {
        let queue = self.by_sender.get_mut(sender)?;
        let entry = queue.remove(nonce)?;
        if queue.is_empty() {
            self.by_sender.remove(sender);
            self.senders.retain(|queued| queued != sender);
        }
        self.ids.remove(&entry.id);
        self.bytes -= entry.bytes;
        self.release_sender_bytes(sender, entry.bytes);
        Some(entry.id)
    }

    fn release_sender_bytes(&mut self, sender: &[u8; 32], bytes: usize) {
        if let Some(held) = self.sender_bytes.get_mut(sender) {
            *held -= bytes;
            if *held == 0 {
                self.sender_bytes.remove(sender);
            }
        }
    }

    /// Each sender's next executable transaction (the one at its next nonce, not expired by
    /// `height`), by id and bytes: what an honest block builder's round-robin takes first.
    /// In id order, so that what a replica does with them does not depend on hash map order.
    pub fn heads(&self, height: u64, next_nonce: impl Fn(&[u8; 32]) -> u64) -> Vec<(Hash, usize)> {
        let mut heads: Vec<(Hash, usize)> = self
            .by_sender
            .iter()
            .filter_map(|(sender, queue)| queue.get(&next_nonce(sender)))
            .filter(|entry| entry.transaction.body.expiry_height >= height)
            .map(|entry| (entry.id, entry.bytes))
            .collect();
        heads.sort_unstable();
        heads
    }

    /// A queued transaction by id.
    pub fn get(&self, id: &Hash) -> Option<&SignedTransaction> {
        let (sender, nonce) = self.ids.get(id)?;
        self.by_sender
            .get(sender)?
            .get(nonce)
            .map(|entry| &entry.transaction)
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
                    removed.push((*sender, entry.id, entry.bytes));
                }
                keep
            });
        }
        for (sender, id, bytes) in removed {
            self.ids.remove(&id);
            self.bytes -= bytes;
            self.release_sender_bytes(&sender, bytes);
        }
        self.by_sender.retain(|_, queue| !queue.is_empty());
        let by_sender = &self.by_sender;
        self.senders.retain(|sender| by_sender.contains_key(sender));
        assert_eq!(
            self.ids.len(),
            self.by_sender.values().map(BTreeMap::len).sum::<usize>(),
            "mempool index and queues disagree"
        );
        debug_assert_eq!(
            self.sender_bytes.values().sum::<usize>(),
            self.bytes,
            "per-sender bytes and the total disagree"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::TransactionBody;
    use ed25519_dalek::SigningKey;

    fn transaction(
        key: &SigningKey,
        nonce: u64,
        padding: usize,
    ) -> (SignedTransaction, Hash, usize) {
        let signed =
            TransactionBody::call("test", key, nonce, 1_000, "trace", "m", vec![0; padding])
                .sign(key);
        let bytes = signed.encode().len();
        (signed.clone(), signed.id(), bytes)
    }

    fn insert(
        mempool: &mut Mempool,
        key: &SigningKey,
        nonce: u64,
        padding: usize,
    ) -> Result<Vec<Hash>, MempoolRefusal> {
        let (signed, id, bytes) = transaction(key, nonce, padding);
        // Nothing committed: every sender's next nonce is 0.
        mempool.insert(signed, id, bytes, |_| 0)
    }

    #[test]
    fn parked_transactions_of_a_sender_are_bounded_by_bytes() {
        let mut mempool = Mempool::new(MempoolLimits::default());
        let key = SigningKey::from_bytes(&[1; 32]);
        let padding = 100 * 1024;
        // Nonce 0 never arrives: everything is parked, up to the bytes bound.
        let mut nonce = 1;
        while insert(&mut mempool, &key, nonce, padding).is_ok() {
            nonce += 1;
        }
        let parked = (nonce - 1) as usize;
        let size = transaction(&key, 1, padding).2;
        assert_eq!(parked, PARKED_BYTES_PER_SENDER_MAX / size);
        assert_eq!(
            insert(&mut mempool, &key, nonce, padding),
            Err(MempoolRefusal::ParkedFull { next_free: 0 })
        );
        // Once the gap fills, they are executable and no longer count as parked.
        insert(&mut mempool, &key, 0, 0).unwrap();
        insert(&mut mempool, &key, nonce + 1, padding).unwrap();
    }

    #[test]
    fn squatters_cannot_keep_a_member_within_its_share_out() {
        // Room for 40 transactions of about 1 KiB.
        let limits = MempoolLimits {
            transactions_max: 40,
            bytes_max: 40 * 1_200,
            transactions_per_sender_max: 40,
        };
        let mut mempool = Mempool::new(limits);
        let squatters: Vec<SigningKey> = (1..=4)
            .map(|seed| SigningKey::from_bytes(&[seed; 32]))
            .collect();
        // Four members fill the mempool: parked transactions (nonce 0 withheld) and, for two of
        // them, executable ones too.
        let mut filled = 0;
        'fill: for round in 0..40u64 {
            for (index, key) in squatters.iter().enumerate() {
                let nonce = if index < 2 { round } else { round + 1 };
                match insert(&mut mempool, key, nonce, 1_000) {
                    Ok(evicted) => {
                        assert!(evicted.is_empty() || filled >= 40);
                        filled += 1;
                    }
                    Err(_) => break 'fill,
                }
            }
        }
        assert_eq!(mempool.len(), 40);
        // A fifth member's ordinary transactions get in, evicting parked ones first.
        let member = SigningKey::from_bytes(&[9; 32]);
        for nonce in 0..5 {
            let evicted = insert(&mut mempool, &member, nonce, 1_000).expect("within its share");
            assert_eq!(evicted.len(), 1);
        }
        assert!(mempool.len() <= 40);
        let queued = |keys: &[SigningKey]| -> usize {
            keys.iter()
                .map(|key| {
                    mempool
                        .by_sender
                        .get(&key.verifying_key().to_bytes())
                        .map_or(0, BTreeMap::len)
                })
                .sum()
        };
        let (parked_left, executable_left) = (queued(&squatters[2..]), queued(&squatters[..2]));
        assert_eq!(parked_left + executable_left + 5, mempool.len());
        // The parked squatters lost down to their share (8 each) before an executable one went.
        assert_eq!(parked_left, 16);
        assert_eq!(executable_left, 19);
        // Past its share (40 / 5 = 8 transactions), the member is refused like anyone.
        for nonce in 5..8 {
            insert(&mut mempool, &member, nonce, 1_000).unwrap();
        }
        assert!(matches!(
            insert(&mut mempool, &member, 8, 1_000),
            Err(MempoolRefusal::Full(_))
        ));
        mempool.prune(|_| 0, 0);
    }
}
