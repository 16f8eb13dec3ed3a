//! Receipts: what a transaction did.

use crate::hash::{Hash, leaf_hash, merkle_root, sm3};
use borsh::{BorshDeserialize, BorshSerialize};

/// An event emitted by a contract, with the index keys (topics) it is found under.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Event {
    pub contract: String,
    pub topics: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ReceiptStatus {
    Success,
    /// The call failed; `code` is stable (a contract error code or the host's `out_of_fuel`,
    /// `memory_limit`, `trap`, `host_limit`). Nothing the call wrote was kept; the nonce was used.
    Failed {
        code: String,
        message: String,
    },
    /// The contract refused the operation but recorded something about it (an alert): the
    /// call's writes and events are kept, the operation did not happen.
    Refused {
        code: String,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    pub transaction_id: Hash,
    pub status: ReceiptStatus,
    pub fuel_used: u64,
    pub events: Vec<Event>,
    pub return_data: Vec<u8>,
}

impl Receipt {
    pub fn hash(&self) -> Hash {
        sm3(&borsh::to_vec(self).expect("receipt encodes"))
    }
}

/// Merkle root over receipt hashes, in block order.
pub fn receipts_root(receipts: &[Receipt]) -> Hash {
    let leaves: Vec<Hash> = receipts
        .iter()
        .map(|receipt| leaf_hash(&receipt.hash()))
        .collect();
    merkle_root(&leaves)
}
