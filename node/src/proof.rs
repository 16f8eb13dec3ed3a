//! Proof material: a committed transaction with everything needed to prove, offline and
//! without trusting the node that served it, that it is final on the chain.
//!
//! A [`LedgerEntry`] carries the transaction's canonical bytes and its Merkle inclusion proof in
//! the block's transactions root, the receipt and its inclusion proof in the receipts root, the
//! block header and its finality certificate. [`check_entry`] checks all of it against the
//! chain id and the validator set (from the genesis file). What an entry means is the business
//! of the application module that asked for it (a pack's verdict, a prescription's state).

use crate::NodeError;
use crate::block::{BlockHeader, FinalityCertificate, validator_set_hash};
use crate::hash::{Hash, ProofStep, leaf_hash, merkle_proof, root_from_proof};
use crate::receipt::Receipt;
use crate::storage::Storage;
use crate::transaction::SignedTransaction;
use serde::{Deserialize, Serialize};

/// One transaction with everything needed to prove it is final on the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Hex of the borsh block header.
    pub header: String,
    /// Hex of the borsh finality certificate.
    pub certificate: String,
    /// Hex of the canonical transaction bytes.
    pub transaction: String,
    pub transaction_proof: Vec<ProofStep>,
    /// Hex of the borsh receipt.
    pub receipt: String,
    pub receipt_proof: Vec<ProofStep>,
}

/// Why a ledger entry does not prove its transaction final.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EntryError {
    #[error("{what} is not hex: {detail}")]
    NotHex { what: &'static str, detail: String },
    #[error("{what} does not decode: {detail}")]
    Undecodable { what: &'static str, detail: String },
    #[error("block of chain {0}")]
    OtherChain(String),
    #[error("block certified by another validator set")]
    OtherValidatorSet,
    #[error("block {height} is not final: {detail}")]
    NotFinal { height: u64, detail: String },
    #[error("transaction signature does not verify")]
    BadSignature,
    #[error("transaction is not in the block")]
    TransactionNotIncluded,
    #[error("receipt belongs to another transaction")]
    ReceiptOfAnotherTransaction,
    #[error("receipt is not in the block")]
    ReceiptNotIncluded,
}

fn decode_hex(text: &str, what: &'static str) -> Result<Vec<u8>, EntryError> {
    hex::decode(text).map_err(|error| EntryError::NotHex {
        what,
        detail: error.to_string(),
    })
}

fn decode_borsh<T: borsh::BorshDeserialize>(
    text: &str,
    what: &'static str,
) -> Result<T, EntryError> {
    borsh::from_slice(&decode_hex(text, what)?).map_err(|error| EntryError::Undecodable {
        what,
        detail: error.to_string(),
    })
}

/// A ledger entry after its proofs were checked.
#[derive(Clone, Debug)]
pub struct ProvenEntry {
    pub header: BlockHeader,
    pub transaction: SignedTransaction,
    pub receipt: Receipt,
}

/// Builds the entry for the transaction `id` from storage.
pub fn ledger_entry(storage: &Storage, id: &Hash) -> Result<(LedgerEntry, ProvenEntry), NodeError> {
    let location = storage.transaction_location(id)?.ok_or_else(|| {
        NodeError::Corrupt(format!("transaction {} is not stored", hex::encode(id)))
    })?;
    let block = storage
        .block(location.height)?
        .ok_or_else(|| NodeError::Corrupt(format!("block {} is missing", location.height)))?;
    let certificate = storage
        .certificate(location.height)?
        .ok_or_else(|| NodeError::Corrupt(format!("certificate {} is missing", location.height)))?;
    let (transaction_leaves, receipt_leaves) =
        storage.block_leaves(location.height)?.ok_or_else(|| {
            NodeError::Corrupt(format!("leaves of block {} are missing", location.height))
        })?;
    let receipt = storage.receipt(id)?;
    let receipt = receipt.ok_or_else(|| NodeError::Corrupt("receipt missing".into()))?;
    let transaction = block.transactions[location.index as usize].clone();
    let entry = LedgerEntry {
        header: hex::encode(borsh::to_vec(&block.header).expect("encodes")),
        certificate: hex::encode(borsh::to_vec(&certificate).expect("encodes")),
        transaction: hex::encode(transaction.encode()),
        transaction_proof: merkle_proof(&transaction_leaves, location.index as usize),
        receipt: hex::encode(borsh::to_vec(&receipt).expect("encodes")),
        receipt_proof: merkle_proof(&receipt_leaves, location.index as usize),
    };
    Ok((
        entry,
        ProvenEntry {
            header: block.header,
            transaction,
            receipt,
        },
    ))
}

/// Decodes an entry without checking it: for a reader that trusts where the entry came from
/// (its own node's storage) and leaves the check to whoever it hands the entry on to.
pub fn decode_entry(entry: &LedgerEntry) -> Result<ProvenEntry, EntryError> {
    Ok(ProvenEntry {
        header: decode_borsh(&entry.header, "header")?,
        transaction: SignedTransaction::decode(&decode_hex(&entry.transaction, "transaction")?)
            .map_err(|error| EntryError::Undecodable {
                what: "transaction",
                detail: error.to_string(),
            })?,
        receipt: decode_borsh(&entry.receipt, "receipt")?,
    })
}

/// Checks one entry's proofs and certificate against the validator set.
pub fn check_entry(
    entry: &LedgerEntry,
    chain_id: &str,
    validators: &[[u8; 32]],
) -> Result<ProvenEntry, EntryError> {
    let header: BlockHeader = decode_borsh(&entry.header, "header")?;
    if header.chain_id != chain_id {
        return Err(EntryError::OtherChain(header.chain_id));
    }
    if header.validator_set_hash != validator_set_hash(validators) {
        return Err(EntryError::OtherValidatorSet);
    }
    let certificate: FinalityCertificate = decode_borsh(&entry.certificate, "certificate")?;
    certificate
        .verify(&header, validators)
        .map_err(|error| EntryError::NotFinal {
            height: header.height,
            detail: error.to_string(),
        })?;
    let transaction = SignedTransaction::decode(&decode_hex(&entry.transaction, "transaction")?)
        .map_err(|error| EntryError::Undecodable {
            what: "transaction",
            detail: error.to_string(),
        })?;
    if !transaction.verify_signature() {
        return Err(EntryError::BadSignature);
    }
    if root_from_proof(leaf_hash(&transaction.id()), &entry.transaction_proof)
        != header.transactions_root
    {
        return Err(EntryError::TransactionNotIncluded);
    }
    let receipt: Receipt = decode_borsh(&entry.receipt, "receipt")?;
    if receipt.transaction_id != transaction.id() {
        return Err(EntryError::ReceiptOfAnotherTransaction);
    }
    if root_from_proof(leaf_hash(&receipt.hash()), &entry.receipt_proof) != header.receipts_root {
        return Err(EntryError::ReceiptNotIncluded);
    }
    Ok(ProvenEntry {
        header,
        transaction,
        receipt,
    })
}
