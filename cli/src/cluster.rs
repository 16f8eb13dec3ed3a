//! Running nodes from configuration files, and local clusters of `rxchain node` processes.
//!
//! A development consortium with N validators gets one `node-<i>.toml` per validator (API on
//! `api_port + i`, libp2p on `p2p_port + i`, every other validator as a peer). [`open_node`]
//! starts a node from such a file: solo chains run alone, multi-node chains start the libp2p
//! network and the replica driver. [`Cluster`] runs nodes as child processes of this binary and
//! kills them when dropped, so a demo or benchmark never leaves processes behind.

use crate::config::NodeConfigFile;
use anyhow::{Context, Result, bail};
use rxchain_genesis::Genesis;
use rxchain_genesis::dev::DevConsortium;
use rxchain_genesis::keystore::read_key;
use rxchain_node::app::Modules;
use rxchain_node::mempool::MempoolLimits;
use rxchain_node::runtime::ReplicaNetwork;
use rxchain_node::{Node, NodeConfig};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ports of node `i`: API `api_port + i`, libp2p `p2p_port + i`.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub api_port: u16,
    pub p2p_port: u16,
}

fn p2p_address(port: u16) -> String {
    format!("/ip4/127.0.0.1/tcp/{port}")
}

/// Writes `node.toml` (one validator) or `node-<i>.toml` for each validator; returns the paths.
pub fn write_node_configs(
    dir: &Path,
    consortium: &DevConsortium,
    ports: Ports,
) -> Result<Vec<PathBuf>> {
    let count = consortium.validators;
    let mut paths = Vec::with_capacity(count);
    for index in 0..count {
        let offset = u16::try_from(index).context("too many validators")?;
        let path = if count == 1 {
            dir.join("node.toml")
        } else {
            dir.join(format!("node-{index}.toml"))
        };
        let key = consortium.validator_key_at(index);
        let config = NodeConfigFile {
            genesis: PathBuf::from("genesis.toml"),
            data_dir: if count == 1 {
                PathBuf::from("data")
            } else {
                PathBuf::from(format!("data-{index}"))
            },
            validator_key: key.strip_prefix(dir).unwrap_or(&key).to_path_buf(),
            api_listen: format!("127.0.0.1:{}", ports.api_port + offset),
            // A development consortium's nodes capture EPCIS for all of its organizations.
            capture_keys: rxchain_genesis::dev::ORGANIZATIONS
                .iter()
                .map(|organization| PathBuf::from("keys").join(format!("{}.key", organization.id)))
                .collect(),
            p2p_listen: (count > 1).then(|| p2p_address(ports.p2p_port + offset)),
            peers: if count > 1 {
                (0..count)
                    .filter(|other| *other != index)
                    .map(|other| p2p_address(ports.p2p_port + other as u16))
                    .collect()
            } else {
                Vec::new()
            },
            fault_injection: false,
            proposals_in_flight: None,
            raft_snapshot_interval_entries: None,
            raft_log_entries_kept: None,
            byzantine: None,
        };
        std::fs::write(&path, toml::to_string_pretty(&config)?)?;
        paths.push(path);
    }
    Ok(paths)
}

/// Opens and starts the node a configuration describes, with every application module (must
/// run inside a tokio runtime).
pub fn open_node(config: &NodeConfigFile) -> Result<(Node, Modules)> {
    let genesis = Genesis::load(&config.genesis)?;
    let validator_key = read_key(&config.validator_key)?.signing_key;
    let capture_keys = config
        .capture_keys
        .iter()
        .map(|path| read_key(path).map(|key| key.signing_key))
        .collect::<Result<Vec<_>, _>>()?;
    let modules = crate::modules::modules(capture_keys);
    modules.check_genesis(&genesis)?;
    let multi_node = genesis.validators.len() > 1
        || !matches!(genesis.consensus, rxchain_genesis::Consensus::Solo(_));
    let node = Node::open(NodeConfig {
        data_dir: config.data_dir.clone(),
        genesis,
        validator_key,
        mempool: MempoolLimits::default(),
        host: Default::default(),
    })?;
    if multi_node {
        let listen = config
            .p2p_listen
            .as_deref()
            .context("a multi-node chain needs p2p_listen in the node config")?;
        let network = ReplicaNetwork {
            listen: listen
                .parse()
                .with_context(|| format!("p2p_listen '{listen}' is not a multiaddr"))?,
            peers: config
                .peers
                .iter()
                .map(|peer| {
                    peer.parse()
                        .with_context(|| format!("peer '{peer}' is not a multiaddr"))
                })
                .collect::<Result<_>>()?,
            fault_injection: config.fault_injection,
            proposals_in_flight_max: config.proposals_in_flight,
            raft_snapshot_interval_entries: config.raft_snapshot_interval_entries,
            raft_log_entries_kept: config.raft_log_entries_kept,
            byzantine: config
                .byzantine
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|error: String| anyhow::anyhow!("byzantine: {error}"))?,
        };
        node.start_replica(network)?;
    } else {
        node.start()?;
    }
    Ok((node, modules))
}

/// `rxchain node` child processes; killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Cluster {
    binary: PathBuf,
    children: Vec<(PathBuf, Option<Child>)>,
}

impl Cluster {
    /// Starts `<binary> node --config <path>` for each path; each node's output goes to
    /// `log_dir/<config file stem>.log`.
    pub fn spawn(binary: &Path, configs: &[PathBuf], log_dir: &Path) -> Result<Cluster> {
        let mut cluster = Cluster {
            binary: binary.to_path_buf(),
            children: Vec::new(),
        };
        for config in configs {
            cluster.children.push((config.clone(), None));
        }
        for index in 0..configs.len() {
            cluster.restart(index, log_dir)?;
        }
        Ok(cluster)
    }

    /// Starts node `index` again (after [`Cluster::kill`]).
    pub fn restart(&mut self, index: usize, log_dir: &Path) -> Result<()> {
        let (config, child) = &mut self.children[index];
        if child.is_some() {
            bail!("node {index} is running");
        }
        let name = config
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| format!("node-{index}"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join(format!("{name}.log")))?;
        let spawned = Command::new(&self.binary)
            .args(["node", "--config"])
            .arg(&*config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting an rxchain node process")?;
        *child = Some(spawned);
        Ok(())
    }

    /// SIGKILLs node `index`.
    pub fn kill(&mut self, index: usize) -> Result<()> {
        if let Some(mut child) = self.children[index].1.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// The process id of node `index`, while it runs.
    pub fn pid(&self, index: usize) -> Option<u32> {
        self.children[index].1.as_ref().map(Child::id)
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.children.len() {
            let _ = self.kill(index);
        }
    }
}

/// Waits until `url` answers 200, or fails after `timeout`.
pub async fn wait_until_serving(url: &str, timeout: Duration) -> Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not answer within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `node` is connected to `peers` other validators, or fails after `timeout`.
pub async fn wait_for_peers(node: &Node, peers: usize, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let connected = || {
        node.metrics()
            .peers_connected
            .load(std::sync::atomic::Ordering::Relaxed) as usize
    };
    while connected() < peers {
        if Instant::now() > deadline {
            bail!(
                "connected to {} of {peers} other validators after {timeout:?}",
                connected()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Waits until every node answers its API and is connected to `peers` other validators.
pub async fn wait_for_heads(
    clients: &[crate::client::Client],
    peers: usize,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    for client in clients {
        loop {
            if let Ok(chain) = client.chain().await
                && chain["peers_connected"].as_u64() == Some(peers as u64)
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("a node did not come up connected within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// A base port with `count` free consecutive ports on 127.0.0.1 after it, away from `avoid`'s
/// range. Probed, so another process may still take one before it is used.
pub fn free_port_base(count: u16, avoid: Option<u16>) -> Result<u16> {
    let seed = std::process::id() as u64 ^ rxchain_node::runtime::now_ms();
    for attempt in 0..500u64 {
        let base = 20_000 + ((seed.wrapping_mul(7919) + attempt * 613) % 40_000) as u16;
        if avoid.is_some_and(|other| base.abs_diff(other) < count * 2) {
            continue;
        }
        if (0..count)
            .all(|offset| std::net::TcpListener::bind(("127.0.0.1", base + offset)).is_ok())
        {
            return Ok(base);
        }
    }
    bail!("no {count} free consecutive ports found")
}
