//! A development consortium: five organizations, one member key each, and one validator (solo)
//! or several (pbft).
//!
//! Used by `rxchain genesis new` and `rxchain demo`. The story it supports: a manufacturer makes
//! packs, a distributor moves them, a pharmacy and a hospital dispense them, a regulator watches.

use crate::keystore::{create_private_dir, generate, write_key};
use crate::{
    ConsensusFile, ContractFile, GenesisError, GenesisFile, MemberFile, OrganizationFile,
    REGISTRY_WASM, SystemContract, VALIDATORS_MAX, ValidatorFile, sm3,
};
use std::path::{Path, PathBuf};

/// One founding organization of the development consortium.
#[derive(Debug)]
pub struct DevOrganization {
    pub id: &'static str,
    pub name: &'static str,
    pub roles: &'static [&'static str],
    pub member_roles: &'static [&'static str],
    pub gs1_company_prefix: Option<&'static str>,
    pub location: &'static str,
}

/// The organizations `create_dev_consortium` writes, in this order.
pub const ORGANIZATIONS: [DevOrganization; 5] = [
    DevOrganization {
        id: "huaxin-pharma",
        name: "Huaxin Pharmaceutical Co.",
        roles: &["manufacturer"],
        member_roles: &["admin", "operator"],
        gs1_company_prefix: Some("9506000"),
        location: "Shijiazhuang, Hebei",
    },
    DevOrganization {
        id: "kangda-distribution",
        name: "Kangda Pharmaceutical Distribution",
        roles: &["distributor"],
        member_roles: &["admin", "operator"],
        gs1_company_prefix: None,
        location: "Beijing",
    },
    DevOrganization {
        id: "anxin-pharmacy",
        name: "Anxin Online Pharmacy",
        roles: &["pharmacy"],
        member_roles: &["admin", "operator", "pharmacist"],
        gs1_company_prefix: None,
        location: "Hangzhou, Zhejiang",
    },
    DevOrganization {
        id: "renmin-hospital",
        name: "Renmin Hospital",
        roles: &["hospital"],
        member_roles: &["admin", "operator", "doctor", "pharmacist"],
        gs1_company_prefix: None,
        location: "Wuhan, Hubei",
    },
    DevOrganization {
        id: "drug-regulator",
        name: "Provincial Drug Administration",
        roles: &["regulator"],
        member_roles: &["admin", "auditor"],
        gs1_company_prefix: None,
        location: "Beijing",
    },
];

/// Options of a development consortium.
#[derive(Clone, Debug)]
pub struct DevOptions {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    pub block_interval_ms: u64,
    pub empty_blocks: bool,
    /// `solo`, `pbft` or `raft`.
    pub consensus: String,
    /// How many validators (exactly 1 for solo; 4 = 3f+1 with f = 1 is the smallest set that
    /// tolerates a Byzantine validator). Validator `i` belongs to organization `i mod 5`.
    pub validators: usize,
    /// The one-way network latency expected between validators: consensus timings grow with
    /// it (a Raft heartbeat is also openraft's replication timeout, so it must outlast a round
    /// trip; timeouts must not mistake latency for a failure). 0 is a local network.
    pub network_latency_ms: u64,
    /// The application modules' system contracts, deployed after the registry.
    pub system_contracts: Vec<SystemContract>,
    /// Derive every key from this seed instead of the system's randomness, so that a
    /// deterministic simulation replays the same chain from its seed. Never for a real
    /// consortium: anyone who knows the seed has the keys.
    pub key_seed: Option<u64>,
}

impl Default for DevOptions {
    fn default() -> Self {
        DevOptions {
            chain_id: "rxchain-dev".into(),
            genesis_time_ms: 0,
            block_interval_ms: 100,
            empty_blocks: false,
            consensus: "solo".into(),
            validators: 1,
            network_latency_ms: 0,
            system_contracts: Vec::new(),
            key_seed: None,
        }
    }
}

/// What `create_dev_consortium` wrote.
#[derive(Clone, Debug)]
pub struct DevConsortium {
    pub genesis_path: PathBuf,
    /// Folder with `<organization id>.key` member keys and `validator-<i>.key`.
    pub keystore: PathBuf,
    pub validators: usize,
}

impl DevConsortium {
    /// Path of an organization's member key.
    pub fn member_key(&self, organization: &str) -> PathBuf {
        self.keystore.join(format!("{organization}.key"))
    }

    pub fn validator_key(&self) -> PathBuf {
        self.validator_key_at(0)
    }

    /// Path of validator `index`'s key (also its node's network identity).
    pub fn validator_key_at(&self, index: usize) -> PathBuf {
        self.keystore.join(format!("validator-{index}.key"))
    }
}

/// A fresh random key, or with a seed the key that seed and `name` derive.
fn new_key(seed: Option<u64>, name: &str) -> ed25519_dalek::SigningKey {
    match seed {
        None => generate(),
        Some(seed) => {
            let mut bytes = b"rxchain/dev-key-seed".to_vec();
            bytes.extend_from_slice(&seed.to_le_bytes());
            bytes.extend_from_slice(name.as_bytes());
            ed25519_dalek::SigningKey::from_bytes(&sm3(&bytes))
        }
    }
}

/// Writes `dir/genesis.toml`, `dir/contracts/*.wasm` and `dir/keys/*.key` (fresh random keys,
/// unless [`DevOptions::key_seed`] is set).
///
/// Long because it writes the whole consortium in one pass: organizations, keys, validators,
/// contracts, consensus timings, the file, and the check that it loads.
pub fn create_dev_consortium(
    dir: &Path,
    options: &DevOptions,
) -> Result<DevConsortium, GenesisError> {
    let genesis_path = dir.join("genesis.toml");
    if genesis_path.exists() {
        return Err(GenesisError::Invalid {
            field: "genesis.toml".into(),
            message: format!(
                "{} exists already; choose an empty folder",
                genesis_path.display()
            ),
        });
    }
    create_private_dir(dir)?;
    let keystore = dir.join("keys");
    let mut organizations = Vec::new();
    let mut members = Vec::new();
    for organization in &ORGANIZATIONS {
        let key = new_key(options.key_seed, organization.id);
        write_key(&keystore, organization.id, organization.id, &key)?;
        organizations.push(OrganizationFile {
            id: organization.id.into(),
            name: organization.name.into(),
            roles: organization
                .roles
                .iter()
                .map(|role| role.to_string())
                .collect(),
            admin: true,
            gs1_company_prefix: organization.gs1_company_prefix.map(str::to_string),
            location: organization.location.to_string(),
        });
        members.push(MemberFile {
            organization: organization.id.into(),
            name: format!("{} operations", organization.name),
            public_key: hex::encode(key.verifying_key().as_bytes()),
            roles: organization
                .member_roles
                .iter()
                .map(|role| role.to_string())
                .collect(),
        });
    }
    if !(1..=VALIDATORS_MAX).contains(&options.validators) {
        return Err(GenesisError::Invalid {
            field: "validators".into(),
            message: format!("1 to {VALIDATORS_MAX} validators"),
        });
    }
    let mut validators = Vec::with_capacity(options.validators);
    for index in 0..options.validators {
        let organization = ORGANIZATIONS[index % ORGANIZATIONS.len()].id;
        let name = format!("validator-{index}");
        let key = new_key(options.key_seed, &name);
        write_key(&keystore, &name, organization, &key)?;
        validators.push(ValidatorFile {
            organization: organization.into(),
            public_key: hex::encode(key.verifying_key().as_bytes()),
        });
    }

    let contracts_dir = dir.join("contracts");
    std::fs::create_dir_all(&contracts_dir).map_err(|source| GenesisError::Write {
        path: contracts_dir.clone(),
        source,
    })?;
    let mut contracts = Vec::new();
    let registry = SystemContract {
        id: rxchain_contract_types::registry::CONTRACT_ID,
        wasm: REGISTRY_WASM,
    };
    for SystemContract { id, wasm: code } in
        std::iter::once(registry).chain(options.system_contracts.iter().copied())
    {
        let relative = format!("contracts/{id}.wasm");
        let path = dir.join(&relative);
        std::fs::write(&path, code).map_err(|source| GenesisError::Write { path, source })?;
        contracts.push(ContractFile {
            id: id.into(),
            wasm: relative,
            code_hash: hex::encode(sm3(code)),
        });
    }

    let latency = options.network_latency_ms;
    let file = GenesisFile {
        chain_id: options.chain_id.clone(),
        genesis_time_ms: options.genesis_time_ms,
        consensus: ConsensusFile {
            kind: options.consensus.clone(),
            block_interval_ms: options.block_interval_ms,
            block_transactions_max: 5_000,
            block_bytes_max: 8 * 1024 * 1024,
            empty_blocks: options.empty_blocks,
            view_change_timeout_ms: 1_000.max(20 * latency),
            checkpoint_interval_sequences: 32,
            retransmit_interval_ms: 200.max(4 * latency),
            heartbeat_interval_ms: 50.max(3 * latency),
            election_timeout_min_ms: 250.max(15 * latency),
            election_timeout_max_ms: 500.max(30 * latency),
        },
        organizations,
        members,
        validators,
        contracts,
    };
    let text = format!(
        "# rxchain genesis: a development consortium made by `rxchain genesis new`.\n\
         # Format: genesis/README.md. Every node of the chain must start from these exact bytes\n\
         # (and the wasm files beside it).\n\n{}",
        toml::to_string_pretty(&file).expect("genesis serializes")
    );
    std::fs::write(&genesis_path, text).map_err(|source| GenesisError::Write {
        path: genesis_path.clone(),
        source,
    })?;
    // Prove what was written loads; a dev consortium that fails its own validation is a bug.
    crate::Genesis::load(&genesis_path)?;
    Ok(DevConsortium {
        genesis_path,
        keystore,
        validators: options.validators,
    })
}
