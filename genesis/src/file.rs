//! The TOML shape of a genesis file and its validation into [`Genesis`].

use crate::{
    CHAIN_ID_CHARACTERS_MAX, CONTRACT_WASM_BYTES_MAX, Consensus, Genesis, GenesisContract,
    GenesisError, MEMBERS_MAX, ORGANIZATIONS_MAX, PbftParameters, RaftParameters, SoloParameters,
    VALIDATORS_MAX, invalid, sm3,
};
use rxchain_contract_types::PublicKeyBytes;
use rxchain_contract_types::registry::{Member, Organization, Validator};
use rxchain_contract_types::roles;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisFile {
    pub chain_id: String,
    /// Milliseconds since the Unix epoch; the genesis block's timestamp.
    pub genesis_time_ms: u64,
    pub consensus: ConsensusFile,
    pub organizations: Vec<OrganizationFile>,
    pub members: Vec<MemberFile>,
    pub validators: Vec<ValidatorFile>,
    pub contracts: Vec<ContractFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusFile {
    /// `solo` (exactly one validator), `pbft` (3f+1 validators tolerate f Byzantine ones) or
    /// `raft` (2f+1 validators tolerate f crashed ones).
    pub kind: String,
    #[serde(default = "default_block_interval_ms")]
    pub block_interval_ms: u64,
    #[serde(default = "default_block_transactions_max")]
    pub block_transactions_max: u32,
    #[serde(default = "default_block_bytes_max")]
    pub block_bytes_max: u64,
    #[serde(default)]
    pub empty_blocks: bool,
    /// PBFT: no block for this long while transactions wait starts a view change.
    #[serde(default = "default_view_change_timeout_ms")]
    pub view_change_timeout_ms: u64,
    /// PBFT: a checkpoint (and log garbage collection) every this many sequences.
    #[serde(default = "default_checkpoint_interval_sequences")]
    pub checkpoint_interval_sequences: u64,
    /// PBFT: period of status messages and re-sends of possibly lost votes.
    #[serde(default = "default_retransmit_interval_ms")]
    pub retransmit_interval_ms: u64,
    /// Raft: the leader's heartbeat period.
    #[serde(default = "default_heartbeat_interval_ms")]
    pub heartbeat_interval_ms: u64,
    /// Raft: a follower hearing no leader for a random time between these starts an election.
    #[serde(default = "default_election_timeout_min_ms")]
    pub election_timeout_min_ms: u64,
    #[serde(default = "default_election_timeout_max_ms")]
    pub election_timeout_max_ms: u64,
}

fn default_heartbeat_interval_ms() -> u64 {
    50
}
fn default_election_timeout_min_ms() -> u64 {
    250
}
fn default_election_timeout_max_ms() -> u64 {
    500
}

/// Largest block (bytes of transactions) a PBFT chain may configure.
const PBFT_BLOCK_BYTES_MAX: u64 = 12 * 1024 * 1024;

fn default_view_change_timeout_ms() -> u64 {
    1_000
}
fn default_checkpoint_interval_sequences() -> u64 {
    32
}
fn default_retransmit_interval_ms() -> u64 {
    200
}

fn default_block_interval_ms() -> u64 {
    100
}
fn default_block_transactions_max() -> u32 {
    5_000
}
fn default_block_bytes_max() -> u64 {
    8 * 1024 * 1024
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationFile {
    pub id: String,
    pub name: String,
    pub roles: Vec<String>,
    /// Admin organizations vote on governance proposals.
    pub admin: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gs1_company_prefix: Option<String>,
    /// Where it operates (site address or city).
    #[serde(default)]
    pub location: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberFile {
    pub organization: String,
    pub name: String,
    /// 64 hex digits.
    pub public_key: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorFile {
    pub organization: String,
    pub public_key: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractFile {
    pub id: String,
    /// Path of the wasm file, relative to the genesis file.
    pub wasm: String,
    /// SM3 of the wasm bytes, 64 hex digits.
    pub code_hash: String,
}

fn is_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

fn parse_key(field: &str, text: &str) -> Result<PublicKeyBytes, GenesisError> {
    let key = PublicKeyBytes::from_hex(text).map_err(|message| invalid(field, message))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key.0)
        .map_err(|_| invalid(field, "not a valid Ed25519 public key"))?;
    Ok(key)
}

impl GenesisFile {
    /// Validates every field, naming the first wrong one. Long because it walks the file's
    /// sections in order, one short check per field, so the order of checks is the order of
    /// the file.
    pub(crate) fn validate(&self, base: &Path) -> Result<Genesis, GenesisError> {
        if self.chain_id.is_empty()
            || self.chain_id.len() > CHAIN_ID_CHARACTERS_MAX
            || !self.chain_id.bytes().all(|byte| byte.is_ascii_graphic())
        {
            return Err(invalid(
                "chain_id",
                format!("1 to {CHAIN_ID_CHARACTERS_MAX} printable ASCII characters"),
            ));
        }
        let consensus = self.consensus.validate()?;

        if self.organizations.is_empty() || self.organizations.len() > ORGANIZATIONS_MAX {
            return Err(invalid(
                "organizations",
                format!("1 to {ORGANIZATIONS_MAX} organizations"),
            ));
        }
        let mut organizations = Vec::new();
        let mut organization_ids = BTreeSet::new();
        for (index, organization) in self.organizations.iter().enumerate() {
            let field = format!("organizations[{index}]");
            if !is_identifier(&organization.id) {
                return Err(invalid(
                    format!("{field}.id"),
                    "lowercase letters, digits and '-', 1 to 64 characters",
                ));
            }
            if !organization_ids.insert(organization.id.clone()) {
                return Err(invalid(
                    format!("{field}.id"),
                    format!("'{}' appears twice", organization.id),
                ));
            }
            let role_bits = roles::parse_names(
                &roles::organization::NAMES,
                organization.roles.iter().map(String::as_str),
            )
            .map_err(|name| invalid(format!("{field}.roles"), format!("unknown role '{name}'")))?;
            if role_bits == 0 {
                return Err(invalid(format!("{field}.roles"), "at least one role"));
            }
            if let Some(prefix) = &organization.gs1_company_prefix
                && (!(4..=12).contains(&prefix.len())
                    || !prefix.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(invalid(
                    format!("{field}.gs1_company_prefix"),
                    "4 to 12 digits",
                ));
            }
            if organization.location.chars().count()
                > rxchain_contract_types::registry::LOCATION_CHARACTERS_MAX
            {
                return Err(invalid(
                    format!("{field}.location"),
                    format!(
                        "at most {} characters",
                        rxchain_contract_types::registry::LOCATION_CHARACTERS_MAX
                    ),
                ));
            }
            organizations.push(Organization {
                id: organization.id.clone(),
                name: organization.name.clone(),
                roles: role_bits,
                admin: organization.admin,
                gs1_company_prefix: organization.gs1_company_prefix.clone(),
                location: organization.location.clone(),
            });
        }
        if !organizations.iter().any(|organization| organization.admin) {
            return Err(invalid(
                "organizations",
                "at least one organization must be an admin organization",
            ));
        }

        if self.members.len() > MEMBERS_MAX {
            return Err(invalid("members", format!("at most {MEMBERS_MAX} members")));
        }
        let mut members = Vec::new();
        let mut member_keys = BTreeSet::new();
        for (index, member) in self.members.iter().enumerate() {
            let field = format!("members[{index}]");
            if !organization_ids.contains(&member.organization) {
                return Err(invalid(
                    format!("{field}.organization"),
                    format!("no organization '{}'", member.organization),
                ));
            }
            let public_key = parse_key(&format!("{field}.public_key"), &member.public_key)?;
            if !member_keys.insert(public_key) {
                return Err(invalid(
                    format!("{field}.public_key"),
                    "this key belongs to another member already",
                ));
            }
            let role_bits = roles::parse_names(
                &roles::member::NAMES,
                member.roles.iter().map(String::as_str),
            )
            .map_err(|name| invalid(format!("{field}.roles"), format!("unknown role '{name}'")))?;
            if role_bits == 0 {
                return Err(invalid(format!("{field}.roles"), "at least one role"));
            }
            members.push(Member {
                public_key,
                organization: member.organization.clone(),
                roles: role_bits,
                name: member.name.clone(),
            });
        }

        if self.validators.is_empty() || self.validators.len() > VALIDATORS_MAX {
            return Err(invalid(
                "validators",
                format!("1 to {VALIDATORS_MAX} validators"),
            ));
        }
        if matches!(consensus, Consensus::Solo(_)) && self.validators.len() != 1 {
            return Err(invalid(
                "validators",
                "the solo engine runs exactly one validator",
            ));
        }
        let mut validators = Vec::new();
        let mut validator_keys = BTreeSet::new();
        for (index, validator) in self.validators.iter().enumerate() {
            let field = format!("validators[{index}]");
            if !organization_ids.contains(&validator.organization) {
                return Err(invalid(
                    format!("{field}.organization"),
                    format!("no organization '{}'", validator.organization),
                ));
            }
            let public_key = parse_key(&format!("{field}.public_key"), &validator.public_key)?;
            if !validator_keys.insert(public_key) {
                return Err(invalid(format!("{field}.public_key"), "listed twice"));
            }
            validators.push(Validator {
                public_key,
                organization: validator.organization.clone(),
            });
        }

        let mut contracts = Vec::new();
        let mut contract_ids = BTreeSet::new();
        for (index, contract) in self.contracts.iter().enumerate() {
            let field = format!("contracts[{index}]");
            if !is_identifier(&contract.id) || !contract_ids.insert(contract.id.clone()) {
                return Err(invalid(
                    format!("{field}.id"),
                    "a unique identifier (lowercase letters, digits, '-')",
                ));
            }
            let path = base.join(&contract.wasm);
            let metadata = std::fs::metadata(&path).map_err(|error| {
                invalid(
                    format!("{field}.wasm"),
                    format!("cannot read {}: {error}", path.display()),
                )
            })?;
            if metadata.len() > CONTRACT_WASM_BYTES_MAX as u64 {
                return Err(invalid(
                    format!("{field}.wasm"),
                    format!("larger than {CONTRACT_WASM_BYTES_MAX} bytes"),
                ));
            }
            let code = std::fs::read(&path).map_err(|error| {
                invalid(
                    format!("{field}.wasm"),
                    format!("cannot read {}: {error}", path.display()),
                )
            })?;
            let expected = PublicKeyBytes::from_hex(&contract.code_hash)
                .map_err(|message| invalid(format!("{field}.code_hash"), message))?;
            let actual = sm3(&code);
            if actual != expected.0 {
                return Err(invalid(
                    format!("{field}.code_hash"),
                    format!(
                        "{} has SM3 {}, not the hash written here",
                        path.display(),
                        PublicKeyBytes(actual).to_hex()
                    ),
                ));
            }
            contracts.push(GenesisContract {
                id: contract.id.clone(),
                code_hash: actual,
                code,
            });
        }
        // The registry holds the chain's identities and roles, so every chain has it; the
        // application modules' contracts are checked by whoever composes the modules.
        let required = rxchain_contract_types::registry::CONTRACT_ID;
        if !contract_ids.contains(required) {
            return Err(invalid(
                "contracts",
                format!("the system contract '{required}' is missing"),
            ));
        }

        Ok(Genesis {
            chain_id: self.chain_id.clone(),
            genesis_time_ms: self.genesis_time_ms,
            consensus,
            organizations,
            members,
            validators,
            contracts,
        })
    }
}

impl ConsensusFile {
    /// The consensus section, per engine. Long because each engine's parameters are checked
    /// field by field with the field's name in the error.
    fn validate(&self) -> Result<Consensus, GenesisError> {
        let block_limits = || -> Result<(), GenesisError> {
            if !(1..=60_000).contains(&self.block_interval_ms) {
                return Err(invalid(
                    "consensus.block_interval_ms",
                    "1 to 60000 milliseconds",
                ));
            }
            if !(1..=100_000).contains(&self.block_transactions_max) {
                return Err(invalid(
                    "consensus.block_transactions_max",
                    "1 to 100000 transactions",
                ));
            }
            if !(1024..=64 * 1024 * 1024).contains(&self.block_bytes_max) {
                return Err(invalid("consensus.block_bytes_max", "1 KiB to 64 MiB"));
            }
            Ok(())
        };
        match self.kind.as_str() {
            "solo" => {
                block_limits()?;
                Ok(Consensus::Solo(SoloParameters {
                    block_interval_ms: self.block_interval_ms,
                    block_transactions_max: self.block_transactions_max,
                    block_bytes_max: self.block_bytes_max,
                    empty_blocks: self.empty_blocks,
                }))
            }
            "pbft" => {
                block_limits()?;
                // A pre-prepare carries its block; the network's consensus messages are at
                // most 16 MiB.
                if self.block_bytes_max > PBFT_BLOCK_BYTES_MAX {
                    return Err(invalid(
                        "consensus.block_bytes_max",
                        "at most 12 MiB with pbft (a pre-prepare carries the block)",
                    ));
                }
                if self.empty_blocks {
                    return Err(invalid(
                        "consensus.empty_blocks",
                        "pbft makes blocks only for transactions",
                    ));
                }
                if !(50..=600_000).contains(&self.view_change_timeout_ms) {
                    return Err(invalid(
                        "consensus.view_change_timeout_ms",
                        "50 to 600000 milliseconds",
                    ));
                }
                if !(1..=10_000).contains(&self.checkpoint_interval_sequences) {
                    return Err(invalid(
                        "consensus.checkpoint_interval_sequences",
                        "1 to 10000 sequences",
                    ));
                }
                if !(10..=self.view_change_timeout_ms).contains(&self.retransmit_interval_ms) {
                    return Err(invalid(
                        "consensus.retransmit_interval_ms",
                        "10 milliseconds to the view change timeout",
                    ));
                }
                Ok(Consensus::Pbft(PbftParameters {
                    block_interval_ms: self.block_interval_ms,
                    block_transactions_max: self.block_transactions_max,
                    block_bytes_max: self.block_bytes_max,
                    view_change_timeout_ms: self.view_change_timeout_ms,
                    checkpoint_interval_sequences: self.checkpoint_interval_sequences,
                    retransmit_interval_ms: self.retransmit_interval_ms,
                }))
            }
            "raft" => {
                block_limits()?;
                if self.empty_blocks {
                    return Err(invalid(
                        "consensus.empty_blocks",
                        "raft makes blocks only for transactions",
                    ));
                }
                // An append-entries message carries blocks; the consensus channel is 16 MiB.
                if self.block_bytes_max > PBFT_BLOCK_BYTES_MAX {
                    return Err(invalid(
                        "consensus.block_bytes_max",
                        "at most 12 MiB with raft (log entries carry blocks)",
                    ));
                }
                if !(10..=60_000).contains(&self.heartbeat_interval_ms) {
                    return Err(invalid(
                        "consensus.heartbeat_interval_ms",
                        "10 to 60000 milliseconds",
                    ));
                }
                if self.election_timeout_min_ms <= self.heartbeat_interval_ms * 2
                    || self.election_timeout_max_ms <= self.election_timeout_min_ms
                    || self.election_timeout_max_ms > 600_000
                {
                    return Err(invalid(
                        "consensus.election_timeout_min_ms",
                        "more than two heartbeats, below the maximum (at most 600000 ms)",
                    ));
                }
                Ok(Consensus::Raft(RaftParameters {
                    block_interval_ms: self.block_interval_ms,
                    block_transactions_max: self.block_transactions_max,
                    block_bytes_max: self.block_bytes_max,
                    heartbeat_interval_ms: self.heartbeat_interval_ms,
                    election_timeout_min_ms: self.election_timeout_min_ms,
                    election_timeout_max_ms: self.election_timeout_max_ms,
                }))
            }
            other => Err(invalid(
                "consensus.kind",
                format!("unknown engine '{other}' (solo, raft or pbft)"),
            )),
        }
    }
}
