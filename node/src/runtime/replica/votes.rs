//! Signatures of the votes inside PBFT messages.
//!
//! The engine forwards other validators' votes inside certificates: a prepare carries the
//! primary's pre-prepare, a view change carries prepared certificates and checkpoint votes, a
//! new view carries view changes, proofs carry commits. Each of those items is signed by the
//! validator that made it, and every message travels with the signatures of all items in it
//! (in the order [`items_of_message`] walks them), so a replica that forwards a certificate
//! cannot forge a vote in it. A signature binds the item's kind (a prepare cannot be replayed
//! as a commit) and the chain (genesis hash).
//!
//! [`VoteSignatures`] keeps the signatures this node verified or made, so it can forward them;
//! those the engine's persisted state refers to are saved with that state.

use crate::hash::{Hash, sm3};
use borsh::BorshSerialize;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rxchain_consensus::pbft::{
    CheckpointVote, Message, PersistedState, PreparedCertificate, StableCheckpoint, ValidatorId,
    ViewChange, Vote,
};
use std::collections::HashMap;

/// Domain separation tag of vote signatures.
const VOTE_DOMAIN: &[u8] = b"rxchain/pbft-vote/v1";
/// Signatures kept before old ones (not referred to by the persisted state) are dropped.
const SIGNATURES_KEPT_MAX: usize = 200_000;
/// Signatures younger than this are kept even above the limit (votes still being collected).
const SIGNATURE_KEEP_MS: u64 = 600_000;

#[derive(Clone, Copy)]
enum Kind {
    PrePrepare = 0,
    Prepare = 1,
    Commit = 2,
    Checkpoint = 3,
    ViewChange = 4,
}

/// One signed item: who signs it and the digest signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Item {
    pub signer: ValidatorId,
    pub digest: Hash,
}

struct Walker<'a> {
    genesis_hash: &'a Hash,
    items: Vec<Item>,
}

impl Walker<'_> {
    fn push(&mut self, kind: Kind, signer: ValidatorId, value: &impl BorshSerialize) {
        let mut bytes = VOTE_DOMAIN.to_vec();
        bytes.extend_from_slice(self.genesis_hash);
        bytes.push(kind as u8);
        borsh::to_writer(&mut bytes, value).expect("writing to a Vec cannot fail");
        self.items.push(Item {
            signer,
            digest: sm3(&bytes),
        });
    }

    fn vote(&mut self, kind: Kind, vote: &Vote) {
        self.push(kind, vote.sender, vote);
    }

    fn checkpoint_vote(&mut self, vote: &CheckpointVote) {
        self.push(Kind::Checkpoint, vote.sender, vote);
    }

    fn stable(&mut self, checkpoint: &StableCheckpoint) {
        for vote in &checkpoint.votes {
            self.checkpoint_vote(vote);
        }
    }

    fn prepared(&mut self, certificate: &PreparedCertificate) {
        self.vote(Kind::PrePrepare, &certificate.pre_prepare);
        for prepare in &certificate.prepares {
            self.vote(Kind::Prepare, prepare);
        }
    }

    fn view_change(&mut self, view_change: &ViewChange) {
        self.push(Kind::ViewChange, view_change.sender, view_change);
        self.stable(&view_change.checkpoint);
        for certificate in &view_change.prepared {
            self.prepared(certificate);
        }
    }

    fn message(&mut self, message: &Message) {
        match message {
            Message::PrePrepare(vote) => self.vote(Kind::PrePrepare, vote),
            Message::Prepare { vote, pre_prepare } => {
                self.vote(Kind::Prepare, vote);
                self.vote(Kind::PrePrepare, pre_prepare);
            }
            Message::Commit(vote) => self.vote(Kind::Commit, vote),
            Message::Checkpoint(vote) => self.checkpoint_vote(vote),
            Message::ViewChange(view_change) => self.view_change(view_change),
            Message::NewView(new_view) => {
                for view_change in &new_view.view_changes {
                    self.view_change(view_change);
                }
                for pre_prepare in &new_view.pre_prepares {
                    self.vote(Kind::PrePrepare, pre_prepare);
                }
            }
            Message::EquivocationProof { first, second, .. } => {
                self.vote(Kind::PrePrepare, first);
                self.vote(Kind::PrePrepare, second);
            }
            Message::Status { .. } => {}
            Message::CheckpointProof { checkpoint, .. } => self.stable(checkpoint),
            Message::CommitProof { commits, .. } => {
                for vote in commits {
                    self.vote(Kind::Commit, vote);
                }
            }
        }
    }
}

/// The signed items of a message, in the order their signatures travel.
pub(super) fn items_of_message(genesis_hash: &Hash, message: &Message) -> Vec<Item> {
    let mut walker = Walker {
        genesis_hash,
        items: Vec::new(),
    };
    walker.message(message);
    walker.items
}

/// The signed items the engine's persisted state refers to.
pub(super) fn items_of_state(genesis_hash: &Hash, state: &PersistedState) -> Vec<Item> {
    let mut walker = Walker {
        genesis_hash,
        items: Vec::new(),
    };
    for entry in &state.entries {
        if let Some(pre_prepare) = &entry.pre_prepare {
            walker.vote(Kind::PrePrepare, pre_prepare);
        }
        if let Some(certificate) = &entry.prepared {
            walker.prepared(certificate);
        }
    }
    walker.stable(&state.stable_checkpoint);
    if let Some(view_change) = &state.own_view_change {
        walker.view_change(view_change);
    }
    if let Some(new_view) = &state.new_view {
        walker.message(&Message::NewView(new_view.clone()));
    }
    for vote in &state.own_checkpoint_votes {
        walker.checkpoint_vote(vote);
    }
    for view_change in &state.signed_view_changes {
        walker.view_change(view_change);
    }
    for new_view in &state.sent_new_views {
        walker.message(&Message::NewView(new_view.clone()));
    }
    walker.items
}

/// Why a message's vote signatures were refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum VoteSignatureError {
    #[error("{found} vote signatures for {expected} signed items")]
    Count { expected: usize, found: usize },
    #[error("a vote signed by {0}, who is not a validator")]
    UnknownSigner(String),
    #[error("a vote signature of {0} does not verify")]
    BadSignature(String),
    #[error("no signature at hand for a vote of {0}")]
    Missing(String),
}

/// Signatures this node verified or made, by digest.
pub(super) struct VoteSignatures {
    key: SigningKey,
    own_id: ValidatorId,
    keys: HashMap<ValidatorId, VerifyingKey>,
    known: HashMap<Hash, ([u8; 64], u64)>,
}

impl VoteSignatures {
    pub fn new(key: SigningKey, validators: &[ValidatorId]) -> VoteSignatures {
        let keys = validators
            .iter()
            .filter_map(|id| VerifyingKey::from_bytes(id).ok().map(|key| (*id, key)))
            .collect();
        VoteSignatures {
            own_id: key.verifying_key().to_bytes(),
            key,
            keys,
            known: HashMap::new(),
        }
    }

    /// The signatures of `items`: made for this node's own, looked up for the others'.
    pub fn sign_items(
        &mut self,
        items: &[Item],
        now_ms: u64,
    ) -> Result<Vec<[u8; 64]>, VoteSignatureError> {
        items
            .iter()
            .map(|item| {
                if let Some((signature, _)) = self.known.get(&item.digest) {
                    return Ok(*signature);
                }
                if item.signer == self.own_id {
                    let signature = self.key.sign(&item.digest).to_bytes();
                    self.known.insert(item.digest, (signature, now_ms));
                    return Ok(signature);
                }
                Err(VoteSignatureError::Missing(hex::encode(item.signer)))
            })
            .collect()
    }

    /// Checks the signatures of `items` (one each, in order) and keeps them.
    pub fn verify_items(
        &mut self,
        items: &[Item],
        signatures: &[[u8; 64]],
        now_ms: u64,
    ) -> Result<(), VoteSignatureError> {
        if items.len() != signatures.len() {
            return Err(VoteSignatureError::Count {
                expected: items.len(),
                found: signatures.len(),
            });
        }
        for (item, signature) in items.iter().zip(signatures) {
            if self
                .known
                .get(&item.digest)
                .is_some_and(|(known, _)| known == signature)
            {
                continue;
            }
            let key = self
                .keys
                .get(&item.signer)
                .ok_or_else(|| VoteSignatureError::UnknownSigner(hex::encode(item.signer)))?;
            key.verify_strict(&item.digest, &Signature::from_bytes(signature))
                .map_err(|_| VoteSignatureError::BadSignature(hex::encode(item.signer)))?;
            self.known.insert(item.digest, (*signature, now_ms));
        }
        Ok(())
    }

    /// Takes signatures saved with the persisted state (verified when they arrived).
    pub fn restore(&mut self, saved: Vec<(Hash, [u8; 64])>, now_ms: u64) {
        for (digest, signature) in saved {
            self.known.insert(digest, (signature, now_ms));
        }
    }

    /// The signatures `items` refer to, for saving; items without one are left out.
    pub fn saved(&mut self, items: &[Item], now_ms: u64) -> Vec<(Hash, [u8; 64])> {
        items
            .iter()
            .filter_map(|item| {
                self.sign_items(std::slice::from_ref(item), now_ms)
                    .ok()
                    .map(|signatures| (item.digest, signatures[0]))
            })
            .collect()
    }

    /// Bounds memory: above the limit, drops old signatures the persisted state does not use.
    pub fn collect_garbage(&mut self, keep: &[Item], now_ms: u64) {
        if self.known.len() <= SIGNATURES_KEPT_MAX {
            return;
        }
        let keep: std::collections::HashSet<Hash> = keep.iter().map(|item| item.digest).collect();
        self.known.retain(|digest, (_, at)| {
            keep.contains(digest) || now_ms.saturating_sub(*at) < SIGNATURE_KEEP_MS
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn vote(sender: ValidatorId, payload: u8) -> Vote {
        Vote {
            view: 1,
            sequence: 7,
            payload_hash: [payload; 32],
            sender,
        }
    }

    #[test]
    fn forwarded_votes_verify_and_forged_or_replayed_ones_do_not() {
        let genesis = [9; 32];
        let (primary, backup, forwarder) = (key(1), key(2), key(3));
        let ids: Vec<ValidatorId> = [&primary, &backup, &forwarder]
            .iter()
            .map(|key| key.verifying_key().to_bytes())
            .collect();
        let pre_prepare = vote(ids[0], 5);
        let mut primary_signatures = VoteSignatures::new(primary, &ids);
        let mut backup_signatures = VoteSignatures::new(backup, &ids);
        let mut forwarder_signatures = VoteSignatures::new(forwarder, &ids);

        // The backup's prepare carries the primary's pre-prepare: both signatures verify.
        let pre_prepare_message = Message::PrePrepare(pre_prepare.clone());
        let items = items_of_message(&genesis, &pre_prepare_message);
        let signatures = primary_signatures.sign_items(&items, 0).unwrap();
        backup_signatures
            .verify_items(&items, &signatures, 0)
            .unwrap();
        let prepare = Message::Prepare {
            vote: vote(ids[1], 5),
            pre_prepare: pre_prepare.clone(),
        };
        let items = items_of_message(&genesis, &prepare);
        let signatures = backup_signatures.sign_items(&items, 0).unwrap();
        forwarder_signatures
            .verify_items(&items, &signatures, 0)
            .unwrap();

        // A forwarder cannot make a vote of someone else's: it has no signature for it...
        let forged = Message::CommitProof {
            commits: vec![vote(ids[0], 6), vote(ids[1], 6)],
            sender: ids[2],
        };
        let items = items_of_message(&genesis, &forged);
        assert!(matches!(
            forwarder_signatures.sign_items(&items, 0),
            Err(VoteSignatureError::Missing(_))
        ));
        // ...and one signed with its own key does not verify as the other's.
        let mut receiver = VoteSignatures::new(key(4), &ids);
        let own_signature = key(3).sign(&items[0].digest).to_bytes();
        assert!(matches!(
            receiver.verify_items(&items, &[own_signature, own_signature], 0),
            Err(VoteSignatureError::BadSignature(_))
        ));
        // A prepare's signature is not a commit's.
        let prepare_items = items_of_message(&genesis, &prepare);
        let commit = Message::Commit(vote(ids[1], 5));
        let commit_items = items_of_message(&genesis, &commit);
        assert_ne!(prepare_items[0].digest, commit_items[0].digest);
        let prepare_signature = backup_signatures.sign_items(&prepare_items, 0).unwrap()[0];
        assert!(
            receiver
                .verify_items(&commit_items, &[prepare_signature], 0)
                .is_err()
        );
        // Missing signatures are refused.
        assert!(matches!(
            receiver.verify_items(&commit_items, &[], 0),
            Err(VoteSignatureError::Count { .. })
        ));
    }
}
