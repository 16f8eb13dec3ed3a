//! SM3 hashing and Merkle trees.
//!
//! Merkle trees follow RFC 6962: a leaf hashes `0x00 || data`, an inner node `0x01 || left ||
//! right`, so a leaf can never be passed off as an inner node. An odd node at the end of a level
//! is promoted unchanged (RFC 6962's split at the largest power of two gives the same root
//! shape). The empty tree's root is SM3 of the empty string.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use sm3::{Digest, Sm3};

/// A 32-byte SM3 digest.
pub type Hash = [u8; 32];

pub fn sm3(bytes: &[u8]) -> Hash {
    Sm3::digest(bytes).into()
}

/// SM3 over several parts, without concatenating them first.
pub fn sm3_parts(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sm3::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

pub fn leaf_hash(data: &[u8]) -> Hash {
    sm3_parts(&[&[0x00], data])
}

pub fn inner_hash(left: &Hash, right: &Hash) -> Hash {
    sm3_parts(&[&[0x01], left, right])
}

/// The Merkle root of already-hashed leaves (`leaf_hash` of each item).
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return sm3(&[]);
    }
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => inner_hash(left, right),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    level[0]
}

/// One step of an inclusion proof: the sibling and on which side it sits.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProofStep {
    #[serde(with = "hex_hash")]
    pub sibling: Hash,
    pub sibling_on_left: bool,
}

/// The path from leaf `index` to the root.
pub fn merkle_proof(leaves: &[Hash], index: usize) -> Vec<ProofStep> {
    assert!(index < leaves.len(), "proof index out of range");
    let mut proof = Vec::new();
    let mut level = leaves.to_vec();
    let mut position = index;
    while level.len() > 1 {
        let sibling = position ^ 1;
        if sibling < level.len() {
            proof.push(ProofStep {
                sibling: level[sibling],
                sibling_on_left: sibling < position,
            });
        }
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => inner_hash(left, right),
                [single] => *single,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
        position /= 2;
    }
    proof
}

/// Recomputes the root from a leaf hash and its proof.
pub fn root_from_proof(leaf: Hash, proof: &[ProofStep]) -> Hash {
    proof.iter().fold(leaf, |accumulated, step| {
        if step.sibling_on_left {
            inner_hash(&step.sibling, &accumulated)
        } else {
            inner_hash(&accumulated, &step.sibling)
        }
    })
}

/// Serde of a hash as lowercase hex.
pub mod hex_hash {
    use super::Hash;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a hash is 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_matches_the_standard_example() {
        // GB/T 32905-2016, example 1: SM3("abc").
        assert_eq!(
            hex::encode(sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn every_leaf_proves_against_the_root() {
        for count in 1..=17usize {
            let leaves: Vec<Hash> = (0..count).map(|i| leaf_hash(&[i as u8])).collect();
            let root = merkle_root(&leaves);
            for (index, leaf) in leaves.iter().enumerate() {
                let proof = merkle_proof(&leaves, index);
                assert_eq!(
                    root_from_proof(*leaf, &proof),
                    root,
                    "count {count} index {index}"
                );
            }
        }
    }

    #[test]
    fn leaf_and_inner_nodes_are_domain_separated() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concatenated = a.to_vec();
        concatenated.extend_from_slice(&b);
        assert_ne!(merkle_root(&[a, b]), leaf_hash(&concatenated));
    }

    #[test]
    fn tampered_proof_fails() {
        let leaves: Vec<Hash> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
        let root = merkle_root(&leaves);
        let mut proof = merkle_proof(&leaves, 2);
        proof[0].sibling[0] ^= 1;
        assert_ne!(root_from_proof(leaves[2], &proof), root);
    }
}
