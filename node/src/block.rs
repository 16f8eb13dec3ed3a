//! Blocks, headers and finality certificates.
//!
//! A header commits to the block's transactions (Merkle root of transaction ids), its receipts
//! (Merkle root of receipt hashes), the state after it (state root) and the validator set that
//! must certify it. A block is final with a [`FinalityCertificate`]: signatures of a quorum of
//! that validator set over the header hash. With the solo engine the quorum is one.

use crate::hash::{Hash, leaf_hash, merkle_root, sm3, sm3_parts};
use crate::transaction::SignedTransaction;
use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Encoding version of blocks.
pub const BLOCK_VERSION: u8 = 1;
/// Domain separation tag of certificate signatures.
pub const CERTIFICATE_DOMAIN: &[u8] = b"rxchain/block-certificate/v1";

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    pub version: u8,
    pub chain_id: String,
    pub height: u64,
    pub previous_hash: Hash,
    pub timestamp_ms: u64,
    /// Public key of the validator that proposed the block.
    pub proposer: [u8; 32],
    pub transactions_root: Hash,
    pub receipts_root: Hash,
    pub state_root: Hash,
    pub validator_set_hash: Hash,
}

impl BlockHeader {
    /// SM3 of the canonical encoding: the block hash.
    pub fn hash(&self) -> Hash {
        sm3(&borsh::to_vec(self).expect("header encodes"))
    }
}

/// One validator's signature over a header hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorSignature {
    pub validator: [u8; 32],
    pub signature: [u8; 64],
}

impl ValidatorSignature {
    /// Whether this is the validator's strict-valid signature over block `height` with `block_hash`.
    pub fn verifies(&self, height: u64, block_hash: &Hash) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.validator) else {
            return false;
        };
        key.verify_strict(
            &certificate_message(height, block_hash),
            &Signature::from_bytes(&self.signature),
        )
        .is_ok()
    }
}

/// Signatures of a quorum of the validator set over the header hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FinalityCertificate {
    pub height: u64,
    pub block_hash: Hash,
    pub signatures: Vec<ValidatorSignature>,
}

fn certificate_message(height: u64, block_hash: &Hash) -> Vec<u8> {
    let mut message = CERTIFICATE_DOMAIN.to_vec();
    message.extend_from_slice(&height.to_be_bytes());
    message.extend_from_slice(block_hash);
    message
}

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate is for block {found}, not {expected}")]
    WrongBlock { expected: String, found: String },
    #[error("signer {0} is not in the validator set")]
    UnknownSigner(String),
    #[error("signer {0} signed twice")]
    DuplicateSigner(String),
    #[error("signature of {0} does not verify")]
    BadSignature(String),
    #[error("{signatures} valid signatures, the quorum is {quorum}")]
    NoQuorum { signatures: usize, quorum: usize },
}

impl FinalityCertificate {
    /// Signs as one validator (the solo engine's whole quorum).
    pub fn sign(height: u64, block_hash: Hash, key: &SigningKey) -> ValidatorSignature {
        ValidatorSignature {
            validator: key.verifying_key().to_bytes(),
            signature: key
                .sign(&certificate_message(height, &block_hash))
                .to_bytes(),
        }
    }

    /// Checks the certificate against `header` and the validator set: every signer a distinct
    /// validator, every signature strict-valid, and more than two thirds of the set (for one
    /// validator: that one).
    pub fn verify(
        &self,
        header: &BlockHeader,
        validators: &[[u8; 32]],
    ) -> Result<(), CertificateError> {
        let expected = header.hash();
        if self.block_hash != expected || self.height != header.height {
            return Err(CertificateError::WrongBlock {
                expected: hex::encode(expected),
                found: hex::encode(self.block_hash),
            });
        }
        self.verify_signatures(validators)
    }

    /// Checks the signatures alone (every signer a distinct validator, every signature
    /// strict-valid, a quorum of them) for the height and block hash the certificate names.
    pub fn verify_signatures(&self, validators: &[[u8; 32]]) -> Result<(), CertificateError> {
        let mut seen = Vec::new();
        for entry in &self.signatures {
            let name = hex::encode(entry.validator);
            if !validators.contains(&entry.validator) {
                return Err(CertificateError::UnknownSigner(name));
            }
            if seen.contains(&entry.validator) {
                return Err(CertificateError::DuplicateSigner(name));
            }
            if !entry.verifies(self.height, &self.block_hash) {
                return Err(CertificateError::BadSignature(name));
            }
            seen.push(entry.validator);
        }
        let quorum = quorum(validators.len());
        if seen.len() < quorum {
            return Err(CertificateError::NoQuorum {
                signatures: seen.len(),
                quorum,
            });
        }
        Ok(())
    }
}

/// Signatures needed out of `validators`: more than two thirds (BFT quorum; 1 of 1).
pub fn quorum(validators: usize) -> usize {
    validators * 2 / 3 + 1
}

/// Hash of the validator set: SM3 over the sorted public keys.
pub fn validator_set_hash(validators: &[[u8; 32]]) -> Hash {
    let mut sorted = validators.to_vec();
    sorted.sort();
    let parts: Vec<&[u8]> = sorted.iter().map(|key| key.as_slice()).collect();
    sm3_parts(&parts)
}

/// A block: header and transactions. Receipts are stored beside it, not in it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub transactions: Vec<SignedTransaction>,
}

impl Block {
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![BLOCK_VERSION];
        borsh::to_writer(&mut bytes, self).expect("writing to a Vec cannot fail");
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        match bytes.split_first() {
            Some((&BLOCK_VERSION, rest)) => borsh::from_slice(rest).map_err(|e| e.to_string()),
            Some((version, _)) => Err(format!("unknown block version {version}")),
            None => Err("no bytes".into()),
        }
    }
}

/// Merkle root over transaction ids.
pub fn transactions_root(transactions: &[SignedTransaction]) -> Hash {
    let ids: Vec<Hash> = transactions.iter().map(SignedTransaction::id).collect();
    transactions_root_of_ids(&ids)
}

/// Merkle root over transaction ids already computed (an id costs an encoding and a hash).
pub fn transactions_root_of_ids(ids: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = ids.iter().map(|id| leaf_hash(id)).collect();
    merkle_root(&leaves)
}
