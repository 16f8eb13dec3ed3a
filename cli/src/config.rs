//! The node configuration file (`rxchain node --config node.toml`).
//!
//! ```toml
//! genesis = "genesis.toml"          # relative paths are relative to this file
//! data_dir = "data"
//! validator_key = "keys/validator-0.key"
//! api_listen = "127.0.0.1:8640"
//! capture_keys = ["keys/huaxin-pharma.key"]   # optional: member keys for EPCIS capture
//! # Multi-node chains (pbft): where this node's libp2p transport listens, and the other
//! # validators' addresses. Only the genesis validators' keys may connect.
//! p2p_listen = "/ip4/127.0.0.1/tcp/7640"
//! peers = ["/ip4/127.0.0.1/tcp/7641", "/ip4/127.0.0.1/tcp/7642", "/ip4/127.0.0.1/tcp/7643"]
//! # Optional: blocks this node proposes, as PBFT primary or Raft leader, before the first of
//! # them is final (pipelining); 1 turns pipelining off. Default 2 (pbft), 1 (raft).
//! proposals_in_flight = 2
//! # Optional, Raft: a snapshot every this many applied log entries, after which the log is
//! # purged but for the last `raft_log_entries_kept` (a node further behind installs the
//! # snapshot and fetches the blocks by block sync). Defaults 5000 and 1000; without this
//! # setting compaction is on only with 4 validators (see docs/ARCHITECTURE.md).
//! raft_snapshot_interval_entries = 5000
//! raft_log_entries_kept = 1000
//! ```

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfigFile {
    pub genesis: PathBuf,
    pub data_dir: PathBuf,
    pub validator_key: PathBuf,
    #[serde(default = "default_api_listen")]
    pub api_listen: String,
    /// Member key files this node signs EPCIS captures with.
    #[serde(default)]
    pub capture_keys: Vec<PathBuf>,
    /// libp2p listen address (a multiaddr); needed by multi-node engines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_listen: Option<String>,
    /// The other validators' libp2p addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<String>,
    /// Lets `POST /v1/faults/isolation` cut the node off (tests of partitions only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fault_injection: bool,
    /// Blocks this node proposes (as primary or leader) before the first is final, 1 to 8;
    /// the engine's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposals_in_flight: Option<u64>,
    /// Raft: a snapshot every this many applied log entries (then the log is purged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raft_snapshot_interval_entries: Option<u64>,
    /// Raft: log entries kept below a snapshot, for followers slightly behind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raft_log_entries_kept: Option<u64>,
    /// Tests only, with `fault_injection`: this PBFT validator attacks the others
    /// (`junk-bodies`, `swapped-bodies`, `future-views`, `attestation-flood`,
    /// `repeated-transactions`, `censorship:<member public key hex>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<String>,
}

pub fn default_api_listen() -> String {
    "127.0.0.1:8640".into()
}

impl NodeConfigFile {
    /// Reads the file and resolves its relative paths against its folder.
    pub fn load(path: &Path) -> Result<NodeConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading node config {}", path.display()))?;
        let mut config: NodeConfigFile = toml::from_str(&text)
            .with_context(|| format!("parsing node config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fields = [
            &mut config.genesis,
            &mut config.data_dir,
            &mut config.validator_key,
        ]
        .into_iter()
        .chain(config.capture_keys.iter_mut());
        for field in fields {
            if field.is_relative() {
                *field = base.join(&*field);
            }
        }
        Ok(config)
    }
}
