//! Transactions: what a member signs to call a contract.
//!
//! Canonical encoding: one version byte ([`TRANSACTION_VERSION`]) followed by the borsh encoding
//! of [`SignedTransaction`]. The signature covers a domain tag, the version and the body, so a
//! signature for one purpose (or one version) can never be replayed as another. The transaction
//! id is the SM3 of the whole canonical encoding, signature included.

use crate::hash::{Hash, sm3};
use borsh::{BorshDeserialize, BorshSerialize};
use curve25519_dalek::edwards::EdwardsPoint;
use ed25519_dalek::{Signer, SigningKey};

/// Encoding version of transactions this node reads and writes.
pub const TRANSACTION_VERSION: u8 = 1;
/// Domain separation tag of transaction signatures.
pub const SIGNING_DOMAIN: &[u8] = b"rxchain/transaction/v1";

/// Everything the sender signs.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TransactionBody {
    /// Must equal the chain's genesis chain id.
    pub chain_id: String,
    /// Ed25519 public key of the sender (a registry member).
    pub sender: [u8; 32],
    /// Per-sender sequence number, starting at 0; each is used once.
    pub nonce: u64,
    /// The last block height that may include this transaction.
    pub expiry_height: u64,
    /// Contract id (`registry`, `trace`, … or `system` for deploys).
    pub contract: String,
    /// Method name without the `m_` prefix.
    pub method: String,
    /// Canonical (borsh) argument bytes.
    pub args: Vec<u8>,
}

impl TransactionBody {
    /// A call of `contract.method` with canonical `args` from `key`'s member.
    pub fn call(
        chain_id: &str,
        key: &SigningKey,
        nonce: u64,
        expiry_height: u64,
        contract: &str,
        method: &str,
        args: Vec<u8>,
    ) -> TransactionBody {
        TransactionBody {
            chain_id: chain_id.to_string(),
            sender: key.verifying_key().to_bytes(),
            nonce,
            expiry_height,
            contract: contract.to_string(),
            method: method.to_string(),
            args,
        }
    }
}

/// A body with its signature.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTransaction {
    pub body: TransactionBody,
    pub signature: [u8; 64],
}

impl TransactionBody {
    /// The bytes the signature covers.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut bytes = SIGNING_DOMAIN.to_vec();
        bytes.push(TRANSACTION_VERSION);
        borsh::to_writer(&mut bytes, self).expect("writing to a Vec cannot fail");
        bytes
    }

    pub fn sign(self, key: &SigningKey) -> SignedTransaction {
        assert_eq!(
            self.sender,
            key.verifying_key().to_bytes(),
            "the sender field must be the signing key's public key"
        );
        let signature = key.sign(&self.signing_bytes()).to_bytes();
        SignedTransaction {
            body: self,
            signature,
        }
    }
}

/// Why bytes are not a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    Empty,
    UnknownVersion(u8),
    Borsh(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Empty => formatter.write_str("no bytes"),
            DecodeError::UnknownVersion(version) => {
                write!(formatter, "unknown transaction version {version}")
            }
            DecodeError::Borsh(message) => write!(formatter, "bad encoding: {message}"),
        }
    }
}

impl SignedTransaction {
    /// Canonical bytes: version byte, then borsh.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![TRANSACTION_VERSION];
        borsh::to_writer(&mut bytes, self).expect("writing to a Vec cannot fail");
        bytes
    }

    /// Decodes canonical bytes. Borsh rejects trailing bytes, so there is one encoding per value.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if *version != TRANSACTION_VERSION {
            return Err(DecodeError::UnknownVersion(*version));
        }
        borsh::from_slice(rest).map_err(|error| DecodeError::Borsh(error.to_string()))
    }

    /// SM3 of the canonical encoding.
    pub fn id(&self) -> Hash {
        sm3(&self.encode())
    }

    /// Ed25519 verification under the ledger's rule (see [`crate::signature`]), the same on
    /// every node and on every path.
    pub fn verify_signature(&self) -> bool {
        let Some(key) = sender_key(&self.body.sender) else {
            return false;
        };
        crate::signature::verify_with_key(&self.signature_item(&self.body.signing_bytes()), &key)
    }

    fn signature_item<'a>(&'a self, message: &'a [u8]) -> crate::signature::Item<'a> {
        crate::signature::Item {
            public_key: &self.body.sender,
            message,
            signature: &self.signature,
        }
    }
}

/// Sender keys kept decoded, at most (the cache is emptied when full).
const SENDER_KEYS_CACHED_MAX: usize = 65_536;

/// Decoded sender keys (`None`: the bytes are no valid key). Decoding a key is a field
/// exponentiation, about a third of a verification, and a consortium has few senders signing
/// many transactions.
type SenderKeys = std::collections::HashMap<[u8; 32], Option<EdwardsPoint>>;
static SENDER_KEYS: std::sync::Mutex<Option<SenderKeys>> = std::sync::Mutex::new(None);

fn sender_key(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    let mut cache = SENDER_KEYS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let keys = cache.get_or_insert_with(std::collections::HashMap::new);
    if let Some(key) = keys.get(bytes) {
        return *key;
    }
    let key = crate::signature::decode_point(bytes);
    if keys.len() >= SENDER_KEYS_CACHED_MAX {
        keys.clear();
    }
    keys.insert(*bytes, key);
    key
}

/// Transactions per thread below which verification stays on the calling thread.
const PARALLEL_VERIFICATION_CHUNK_MIN: usize = 64;
/// Threads verification uses at most.
const VERIFICATION_THREADS_MAX: usize = 8;

/// Whether every transaction's signature verifies: batch verification (see
/// [`crate::signature`], whose verdict equals checking each alone), spread over the machine's
/// cores for large sets.
pub fn verify_all(transactions: &[&SignedTransaction]) -> bool {
    // Asked once: on Linux the answer reads cgroup files, which cost more than verifying a
    // small batch.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    let threads = cores
        .min(VERIFICATION_THREADS_MAX)
        .min(transactions.len() / PARALLEL_VERIFICATION_CHUNK_MIN)
        .max(1);
    let verify_part = |part: &[&SignedTransaction]| {
        let messages: Vec<Vec<u8>> = part
            .iter()
            .map(|transaction| transaction.body.signing_bytes())
            .collect();
        let items: Vec<crate::signature::Item<'_>> = part
            .iter()
            .zip(&messages)
            .map(|(transaction, message)| transaction.signature_item(message))
            .collect();
        crate::signature::verify_batch(&items, sender_key)
    };
    if threads == 1 {
        return verify_part(transactions);
    }
    let chunk = transactions.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = transactions
            .chunks(chunk)
            .map(|part| scope.spawn(move || verify_part(part)))
            .collect();
        workers
            .into_iter()
            .all(|worker| worker.join().unwrap_or(false))
    })
}

/// For each transaction, whether its signature verifies: one batch, and only when it fails,
/// each alone to find which (a gossip batch from peers is almost always all valid).
pub fn verify_each(transactions: &[&SignedTransaction]) -> Vec<bool> {
    if verify_all(transactions) {
        return vec![true; transactions.len()];
    }
    transactions
        .iter()
        .map(|transaction| transaction.verify_signature())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn body(key: &SigningKey) -> TransactionBody {
        TransactionBody {
            chain_id: "test".into(),
            sender: key.verifying_key().to_bytes(),
            nonce: 3,
            expiry_height: 100,
            contract: "trace".into(),
            method: "commission".into(),
            args: vec![1, 2, 3],
        }
    }

    #[test]
    fn encoding_round_trips_and_is_canonical() {
        let transaction = body(&key(1)).sign(&key(1));
        let bytes = transaction.encode();
        assert_eq!(SignedTransaction::decode(&bytes).unwrap(), transaction);
        assert_eq!(sm3(&bytes), transaction.id());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(SignedTransaction::decode(&trailing).is_err());
        let mut version = bytes;
        version[0] = 2;
        assert_eq!(
            SignedTransaction::decode(&version),
            Err(DecodeError::UnknownVersion(2))
        );
    }

    #[test]
    fn signature_covers_every_field() {
        let transaction = body(&key(1)).sign(&key(1));
        assert!(transaction.verify_signature());
        let mut changed = transaction.clone();
        changed.body.nonce += 1;
        assert!(!changed.verify_signature());
        let mut changed = transaction.clone();
        changed.body.args.push(0);
        assert!(!changed.verify_signature());
        let mut changed = transaction;
        changed.body.sender = key(2).verifying_key().to_bytes();
        assert!(!changed.verify_signature());
    }

    #[test]
    fn parallel_verification_refuses_one_bad_signature_among_many() {
        let mut transactions: Vec<_> = (1..=200u32)
            .map(|index| {
                let signer = key((index % 7 + 1) as u8);
                let mut unsigned = body(&signer);
                unsigned.nonce = u64::from(index);
                unsigned.sign(&signer)
            })
            .collect();
        let all: Vec<&SignedTransaction> = transactions.iter().collect();
        assert!(verify_all(&all));
        transactions[157].signature[10] ^= 1;
        let all: Vec<&SignedTransaction> = transactions.iter().collect();
        assert!(!verify_all(&all));
        assert!(verify_all(&all[..150]));
        assert!(verify_all(&[]));
    }
}
