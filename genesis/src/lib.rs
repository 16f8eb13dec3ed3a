//! rxchain's genesis: the file every node of a consortium starts from.
//!
//! A genesis file is TOML (format documented in `genesis/README.md`): the chain id, the consensus
//! engine and its parameters, the founding organizations with their roles, their member keys,
//! the validator nodes, and the system contracts (wasm files beside the genesis file, each pinned
//! by its SM3 code hash). [`Genesis::load`] parses and validates it; every validation error
//! names the field (`organizations[2].roles`). [`Genesis::hash`] is the SM3 of the canonical
//! (borsh) encoding of the validated content, wasm bytes included, so two nodes agree on a chain
//! only if they agree on every byte of its start.
//!
//! [`dev::create_dev_consortium`] writes a ready-to-run development consortium (five
//! organizations, their keys in a keystore folder with owner-only permissions, the system
//! registry contract embedded in this crate, and the application modules' system contracts the
//! caller names) for `rxchain genesis new` and `rxchain demo`. Which contracts besides the
//! registry a chain needs is the application modules' business: the node's composition root
//! checks them, this crate only requires the registry.

pub mod dev;
mod file;
pub mod keystore;

pub use file::{
    ConsensusFile, ContractFile, GenesisFile, MemberFile, OrganizationFile, ValidatorFile,
};

use borsh::{BorshDeserialize, BorshSerialize};
use rxchain_contract_types::PublicKeyBytes;
use rxchain_contract_types::registry::{Member, Organization, Validator};
use sm3::{Digest, Sm3};
use std::path::{Path, PathBuf};

/// The registry contract's wasm, built from `contracts/system/registry` by
/// `contracts/build-system-contracts.sh` (a test checks the bytes match the sources' build).
pub const REGISTRY_WASM: &[u8] = include_bytes!("../../contracts/wasm/registry.wasm");

/// A system contract a genesis deploys besides the registry: an application module's, named by
/// its id, with its wasm built reproducibly from `contracts/system/<id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemContract {
    pub id: &'static str,
    pub wasm: &'static [u8],
}

/// Longest chain id.
pub const CHAIN_ID_CHARACTERS_MAX: usize = 64;
/// Largest contract wasm accepted in genesis.
pub const CONTRACT_WASM_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Most organizations, members and validators in a genesis file.
pub const ORGANIZATIONS_MAX: usize = 256;
pub const MEMBERS_MAX: usize = 4096;
pub const VALIDATORS_MAX: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("genesis is not valid TOML: {0}")]
    Syntax(String),
    /// A field's value is wrong; `field` is its path in the file, e.g. `members[3].public_key`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> GenesisError {
    GenesisError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Which ordering engine the chain runs, with its parameters.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Consensus {
    /// One validator orders blocks (development and single-organization pilots).
    Solo(SoloParameters),
    /// 3f+1 validators tolerate f Byzantine ones (pre-prepare / prepare / commit, view change).
    Pbft(PbftParameters),
    /// Crash faults only (openraft): a majority of the validators orders blocks.
    Raft(RaftParameters),
}

impl Consensus {
    /// The engine's name as the genesis file writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Consensus::Solo(_) => "solo",
            Consensus::Pbft(_) => "pbft",
            Consensus::Raft(_) => "raft",
        }
    }
}

/// Parameters of the Raft engine.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RaftParameters {
    /// The leader cuts a block this long after the first waiting transaction arrived.
    pub block_interval_ms: u64,
    pub block_transactions_max: u32,
    pub block_bytes_max: u64,
    /// The leader's heartbeat period.
    pub heartbeat_interval_ms: u64,
    /// A follower that hears no leader for a random time in this range starts an election.
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
}

/// Parameters of the PBFT engine.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PbftParameters {
    /// The primary cuts a block this long after the first waiting transaction arrived.
    pub block_interval_ms: u64,
    pub block_transactions_max: u32,
    pub block_bytes_max: u64,
    /// No block for this long while transactions wait starts a view change (doubling per
    /// consecutive view change, up to 16 times this).
    pub view_change_timeout_ms: u64,
    /// A checkpoint every this many sequences; the log below a stable one is dropped.
    pub checkpoint_interval_sequences: u64,
    /// Status broadcasts and re-sends of possibly lost votes happen this often.
    pub retransmit_interval_ms: u64,
}

/// Parameters of the solo engine.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SoloParameters {
    /// A block is cut this long after its first transaction arrived.
    pub block_interval_ms: u64,
    /// A block is cut as soon as it has this many transactions.
    pub block_transactions_max: u32,
    /// A block is cut when its transactions reach this many bytes.
    pub block_bytes_max: u64,
    /// Produce a block every interval even without transactions (heartbeat).
    pub empty_blocks: bool,
}

/// A system contract as genesis installs it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct GenesisContract {
    pub id: String,
    pub code_hash: [u8; 32],
    pub code: Vec<u8>,
}

/// Validated genesis content.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Genesis {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub consensus: Consensus,
    pub organizations: Vec<Organization>,
    pub members: Vec<Member>,
    pub validators: Vec<Validator>,
    pub contracts: Vec<GenesisContract>,
}

impl Genesis {
    /// Reads, parses and validates a genesis file; wasm paths are relative to its folder.
    pub fn load(path: &Path) -> Result<Genesis, GenesisError> {
        let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Genesis::from_toml(&text, base)
    }

    /// Parses and validates genesis TOML; wasm paths are relative to `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Genesis, GenesisError> {
        let file: GenesisFile =
            toml::from_str(text).map_err(|error| GenesisError::Syntax(error.to_string()))?;
        file.validate(base)
    }

    /// SM3 of the canonical encoding: the chain's identity.
    pub fn hash(&self) -> [u8; 32] {
        let bytes = borsh::to_vec(self).expect("genesis encodes");
        Sm3::digest(&bytes).into()
    }

    /// The member record of a key, if it is one.
    pub fn member(&self, public_key: &PublicKeyBytes) -> Option<&Member> {
        self.members
            .iter()
            .find(|member| &member.public_key == public_key)
    }
}

pub(crate) fn sm3(bytes: &[u8]) -> [u8; 32] {
    Sm3::digest(bytes).into()
}

#[cfg(test)]
mod tests;
