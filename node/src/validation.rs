//! Admission checks and their precise errors.
//!
//! Every reason a transaction is refused has its own variant and a stable `code()` that the API
//! returns, so clients can tell a replay from an expired transaction without parsing prose. A
//! refused transaction changes nothing: checks run before anything is stored.

use crate::transaction::DecodeError;

/// Largest encoded transaction the node accepts.
pub const TRANSACTION_BYTES_MAX: usize = 128 * 1024;
/// How far ahead of the sender's next nonce a transaction may be queued.
pub const NONCE_GAP_MAX: u64 = 1_000;
/// How far in the future an expiry height may be (so a signed transaction cannot lie around
/// usable for ever).
pub const EXPIRY_BLOCKS_AHEAD_MAX: u64 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("malformed transaction: {0}")]
    Malformed(String),
    #[error("transaction is {bytes} bytes, over the limit of {limit}")]
    Oversized { bytes: usize, limit: usize },
    #[error("signature does not verify for the sender's key")]
    BadSignature,
    #[error("transaction is for chain '{found}', this is '{expected}'")]
    WrongChain { expected: String, found: String },
    #[error("nonce {nonce} was used already (the sender's next nonce is {next})")]
    NonceUsed { nonce: u64, next: u64 },
    #[error("nonce {nonce} is more than {limit} ahead of the sender's next nonce {next}")]
    NonceGap { nonce: u64, next: u64, limit: u64 },
    #[error("transaction expired at height {expiry_height}; the next block is {next_height}")]
    Expired {
        expiry_height: u64,
        next_height: u64,
    },
    #[error("expiry height {expiry_height} is more than {limit} blocks ahead")]
    ExpiryTooFar { expiry_height: u64, limit: u64 },
    #[error("no contract '{0}'")]
    UnknownContract(String),
    #[error("contract '{contract}' has no method '{method}'")]
    UnknownMethod { contract: String, method: String },
    #[error("sender {0} is not a member of the consortium")]
    Unauthorized(String),
    #[error("the transaction is queued already")]
    Duplicate,
    #[error("mempool is full ({0})")]
    MempoolFull(String),
    /// The node could not read the state it needs to judge the transaction.
    #[error("the node cannot judge transactions now: {0}")]
    Unavailable(String),
}

impl TransactionError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TransactionError::Malformed(_) => "malformed",
            TransactionError::Oversized { .. } => "oversized",
            TransactionError::BadSignature => "bad_signature",
            TransactionError::WrongChain { .. } => "wrong_chain",
            TransactionError::NonceUsed { .. } => "nonce_used",
            TransactionError::NonceGap { .. } => "nonce_gap",
            TransactionError::Expired { .. } => "expired",
            TransactionError::ExpiryTooFar { .. } => "expiry_too_far",
            TransactionError::UnknownContract(_) => "unknown_contract",
            TransactionError::UnknownMethod { .. } => "unknown_method",
            TransactionError::Unauthorized(_) => "unauthorized",
            TransactionError::Duplicate => "duplicate",
            TransactionError::MempoolFull(_) => "mempool_full",
            TransactionError::Unavailable(_) => "unavailable",
        }
    }
}

impl From<DecodeError> for TransactionError {
    fn from(error: DecodeError) -> Self {
        TransactionError::Malformed(error.to_string())
    }
}
