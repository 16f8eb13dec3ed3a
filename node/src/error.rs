//! The node crate's error type.

use crate::validation::TransactionError;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// RocksDB refused an operation.
    #[error("storage: {0}")]
    Storage(String),
    /// Stored bytes do not decode: the data folder is damaged or from another version.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The data folder belongs to another chain.
    #[error("the data folder holds chain {stored}, but the genesis file is chain {configured}")]
    GenesisMismatch { stored: String, configured: String },
    #[error("genesis: {0}")]
    Genesis(#[from] rxchain_genesis::GenesisError),
    #[error("contract host: {0}")]
    Host(#[from] rxchain_contract_host::HostError),
    #[error("consensus: {0}")]
    Consensus(#[from] rxchain_consensus::ConsensusError),
    #[error(transparent)]
    Transaction(#[from] TransactionError),
    /// Re-executing a block gave a different state root than the block's header certifies.
    #[error(
        "state root mismatch at height {height}: the block says {expected}, execution gave {computed}"
    )]
    StateRootMismatch {
        height: u64,
        expected: String,
        computed: String,
    },
    /// A block breaks a rule every replica checks the same way (a transaction not executable
    /// at its place: repeated, out of nonce order or expired); it must not be committed.
    #[error("invalid block: {0}")]
    InvalidBlock(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("network: {0}")]
    Network(String),
    #[error("the node is shutting down")]
    ShuttingDown,
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rocksdb::Error> for NodeError {
    fn from(error: rocksdb::Error) -> Self {
        NodeError::Storage(error.to_string())
    }
}
