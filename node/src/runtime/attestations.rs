//! Finality signatures waiting for a quorum (Raft attestations, PBFT commits' signatures): each validator's signature over a block it applied,
//! gathered per height until more than two thirds of the validators signed the same block.
//!
//! What one faulty validator can send is bounded here, not by evicting the oldest entries
//! (which let a validator flooding far heights push out the heights near the head, so that no
//! certificate formed): a validator has at most one attestation per height — the first; a second
//! for another block at that height is equivocation and is dropped — and only heights in a
//! window around this node's head are kept. So the pool holds at most
//! `validators × (behind + ahead + 1)` signatures whatever anyone sends.

use crate::block::{FinalityCertificate, ValidatorSignature};
use crate::hash::Hash;
use std::collections::BTreeMap;

/// Why an attestation was not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Its height is outside the window around the head.
    OutOfWindow,
    /// The validator attested another block at this height already.
    Equivocation,
}

/// One height's attestations: validator → (block hash, signature).
type Signers = BTreeMap<[u8; 32], (Hash, [u8; 64])>;

#[derive(Debug)]
pub(super) struct AttestationPool {
    by_height: BTreeMap<u64, Signers>,
    /// Heights below the head kept, at most.
    heights_behind_max: u64,
    /// Heights above the head kept, at most.
    heights_ahead_max: u64,
}

impl AttestationPool {
    pub fn new(heights_behind_max: u64, heights_ahead_max: u64) -> Self {
        AttestationPool {
            by_height: BTreeMap::new(),
            heights_behind_max,
            heights_ahead_max,
        }
    }

    /// Keeps a (checked) attestation; returns the certificate of its block when a quorum of
    /// validators has now attested that block.
    pub fn add(
        &mut self,
        head: u64,
        height: u64,
        block_hash: Hash,
        signature: ValidatorSignature,
        quorum: usize,
    ) -> Result<Option<FinalityCertificate>, Refusal> {
        if height + self.heights_behind_max < head || height > head + self.heights_ahead_max {
            return Err(Refusal::OutOfWindow);
        }
        self.prune(head);
        let signers = self.by_height.entry(height).or_default();
        match signers.get(&signature.validator) {
            Some((attested, _)) if *attested != block_hash => return Err(Refusal::Equivocation),
            Some(_) => {}
            None => {
                signers.insert(signature.validator, (block_hash, signature.signature));
            }
        }
        Ok(self.certificate(height, &block_hash, quorum))
    }

    /// Drops the attestations of a height that has its certificate.
    pub fn forget(&mut self, height: u64) {
        self.by_height.remove(&height);
    }

    /// Drops the attestations of every height up to `height` (stored).
    pub fn forget_through(&mut self, height: u64) {
        while self
            .by_height
            .first_key_value()
            .is_some_and(|(held, _)| *held <= height)
        {
            self.by_height.pop_first();
        }
    }

    /// The certificate of a block, when a quorum of validators attested it.
    pub fn certificate(
        &self,
        height: u64,
        block_hash: &Hash,
        quorum: usize,
    ) -> Option<FinalityCertificate> {
        let signatures: Vec<ValidatorSignature> = self
            .by_height
            .get(&height)?
            .iter()
            .filter(|(_, (attested, _))| attested == block_hash)
            .map(|(validator, (_, signature))| ValidatorSignature {
                validator: *validator,
                signature: *signature,
            })
            .collect();
        (signatures.len() >= quorum).then_some(FinalityCertificate {
            height,
            block_hash: *block_hash,
            signatures,
        })
    }

    /// Drops the heights that fell behind the window.
    fn prune(&mut self, head: u64) {
        let lowest = head.saturating_sub(self.heights_behind_max);
        while self
            .by_height
            .first_key_value()
            .is_some_and(|(height, _)| *height < lowest)
        {
            self.by_height.pop_first();
        }
    }

    /// Signatures held.
    pub fn len(&self) -> usize {
        self.by_height.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn validator(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn sign(key: &SigningKey, height: u64, hash: Hash) -> ValidatorSignature {
        FinalityCertificate::sign(height, hash, key)
    }

    #[test]
    fn a_flooding_validator_cannot_keep_a_certificate_from_forming() {
        let keys: Vec<SigningKey> = (1..=4).map(validator).collect();
        let faulty = &keys[3];
        let mut pool = AttestationPool::new(1_024, 1_024);
        let head = 5_000;
        // The faulty validator attests junk at every height it can, far and near, twice.
        for round in 0..2u8 {
            for height in 0..head + 10_000 {
                let junk = [round; 32];
                let _ = pool.add(head, height, junk, sign(faulty, height, junk), 3);
            }
        }
        assert!(pool.len() <= 2 * 1_024 + 1, "{}", pool.len());
        // The three honest validators still certify the block after the head.
        let block = [42; 32];
        let mut certificate = None;
        for key in &keys[..3] {
            certificate = pool
                .add(head, head + 1, block, sign(key, head + 1, block), 3)
                .expect("in the window");
        }
        let certificate = certificate.expect("a quorum of honest attestations certifies");
        assert_eq!(certificate.signatures.len(), 3);
        assert_eq!(certificate.block_hash, block);
    }

    #[test]
    fn a_second_block_at_a_height_from_one_validator_is_refused() {
        let key = validator(1);
        let mut pool = AttestationPool::new(8, 8);
        assert_eq!(
            pool.add(10, 11, [1; 32], sign(&key, 11, [1; 32]), 3),
            Ok(None)
        );
        assert_eq!(
            pool.add(10, 11, [2; 32], sign(&key, 11, [2; 32]), 3),
            Err(Refusal::Equivocation)
        );
        assert_eq!(
            pool.add(10, 30, [1; 32], sign(&key, 30, [1; 32]), 3),
            Err(Refusal::OutOfWindow)
        );
        assert_eq!(
            pool.add(10, 1, [1; 32], sign(&key, 1, [1; 32]), 3),
            Err(Refusal::OutOfWindow)
        );
        // Heights that fall behind the window as the head moves are dropped.
        assert_eq!(
            pool.add(100, 100, [1; 32], sign(&key, 100, [1; 32]), 3),
            Ok(None)
        );
        assert_eq!(pool.len(), 1);
    }
}
