//! Block bodies received ahead of the head, waiting for their pre-prepare to be executed or
//! their block to become final.
//!
//! A body is taken only as the protocol sends one (the current view's primary with its
//! pre-prepare, a new view's primary with the pre-prepares of its new view), only when its
//! transactions are the ones its header names, and never replaces a body already held: what is
//! kept under a hash is that block, whoever sends it. Each validator's bodies are bounded on
//! their own — a validator at its bound loses its own oldest — so a faulty validator fills
//! only its own share and cannot crowd out the bodies of the primary that is making progress.

use crate::block::{Block, transactions_root_of_ids};
use crate::hash::Hash;
use rxchain_consensus::pbft::ValidatorId;
use std::collections::{HashMap, VecDeque};

#[derive(Debug)]
pub(super) struct Bodies {
    by_hash: HashMap<Hash, (ValidatorId, Block)>,
    /// Each sender's bodies, oldest first.
    by_sender: HashMap<ValidatorId, VecDeque<Hash>>,
    per_sender_max: usize,
}

/// Whether a block's transactions are those its header's root names (the body belongs to the
/// header, so the block hash names it).
pub(super) fn matches_header(block: &Block) -> bool {
    let ids: Vec<Hash> = block
        .transactions
        .iter()
        .map(|transaction| transaction.id())
        .collect();
    transactions_root_of_ids(&ids) == block.header.transactions_root
}

impl Bodies {
    pub fn new(per_sender_max: usize) -> Self {
        assert!(per_sender_max > 0, "a sender may keep at least one body");
        Bodies {
            by_hash: HashMap::new(),
            by_sender: HashMap::new(),
            per_sender_max,
        }
    }

    /// Keeps `block` from `sender` unless a body with its hash is held already or it does not
    /// match its header; returns whether it was kept.
    pub fn insert(&mut self, sender: ValidatorId, block: Block) -> bool {
        let hash = block.header.hash();
        if self.by_hash.contains_key(&hash) || !matches_header(&block) {
            return false;
        }
        let queue = self.by_sender.entry(sender).or_default();
        if queue.len() == self.per_sender_max
            && let Some(oldest) = queue.pop_front()
        {
            self.by_hash.remove(&oldest);
        }
        queue.push_back(hash);
        self.by_hash.insert(hash, (sender, block));
        true
    }

    pub fn get(&self, hash: &Hash) -> Option<&Block> {
        self.by_hash.get(hash).map(|(_, block)| block)
    }

    pub fn remove(&mut self, hash: &Hash) {
        if let Some((sender, _)) = self.by_hash.remove(hash)
            && let Some(queue) = self.by_sender.get_mut(&sender)
        {
            queue.retain(|held| held != hash);
        }
    }

    /// Drops the bodies at or below `height` (stored or made stale by it).
    pub fn retain_above(&mut self, height: u64) {
        self.by_hash
            .retain(|_, (_, block)| block.header.height > height);
        let by_hash = &self.by_hash;
        for queue in self.by_sender.values_mut() {
            queue.retain(|hash| by_hash.contains_key(hash));
        }
        self.by_sender.retain(|_, queue| !queue.is_empty());
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// The bodies held, in no particular order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.by_hash.values().map(|(_, block)| block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{BLOCK_VERSION, BlockHeader, transactions_root};
    use crate::transaction::TransactionBody;
    use ed25519_dalek::SigningKey;

    fn block(height: u64, nonce: u64) -> Block {
        let key = SigningKey::from_bytes(&[1; 32]);
        let transactions = vec![
            TransactionBody::call("test", &key, nonce, 100, "trace", "m", Vec::new()).sign(&key),
        ];
        Block {
            header: BlockHeader {
                version: BLOCK_VERSION,
                chain_id: "test".into(),
                height,
                previous_hash: [0; 32],
                timestamp_ms: 0,
                proposer: [2; 32],
                transactions_root: transactions_root(&transactions),
                receipts_root: [0; 32],
                state_root: [0; 32],
                validator_set_hash: [0; 32],
            },
            transactions,
        }
    }

    #[test]
    fn a_body_is_never_replaced_and_must_match_its_header() {
        let mut bodies = Bodies::new(4);
        let good = block(1, 0);
        let hash = good.header.hash();
        // A body swapped under the same header: other transactions than the root names.
        let mut swapped = good.clone();
        swapped.transactions = block(1, 7).transactions;
        assert_eq!(swapped.header.hash(), hash);
        assert!(!bodies.insert([9; 32], swapped.clone()));
        assert!(bodies.insert([2; 32], good.clone()));
        assert!(!bodies.insert([9; 32], good.clone()), "held already");
        assert_eq!(bodies.get(&hash), Some(&good));
    }

    #[test]
    fn a_validator_at_its_bound_loses_only_its_own_bodies() {
        let mut bodies = Bodies::new(4);
        let honest = block(1, 0);
        assert!(bodies.insert([2; 32], honest.clone()));
        for nonce in 1..100 {
            assert!(bodies.insert([9; 32], block(2, nonce)));
        }
        assert_eq!(bodies.len(), 5);
        assert_eq!(bodies.get(&honest.header.hash()), Some(&honest));
        bodies.retain_above(1);
        assert_eq!(bodies.len(), 4);
        assert!(bodies.get(&honest.header.hash()).is_none());
    }
}
