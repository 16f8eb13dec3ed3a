//! Deterministic simulation of the Raft engine: openraft with rxchain's RocksDB adapters, five
//! nodes, virtual time and a seeded in-memory network.
//!
//! Everything runs on one thread of a tokio runtime with paused time, storage work runs inline,
//! and openraft's randomness comes from a generator seeded per run ([`super::runtime`]), so a
//! seed replays the same run (checked by comparing event digests). The network delays every
//! message (1–20 ms), loses some, duplicates some (which reorders them), and follows a seeded
//! schedule of crashes (a node stops; its RocksDB stays, as a disk does, and it restarts from
//! it) and partitions. Blocks are opaque here: the applier records what each node applied.
//!
//! Checked every run: no two nodes applied different entries at one log index (safety); every
//! write acknowledged as committed is applied at its index on every node once the faults heal
//! (durability); after healing, a new write commits and all nodes converge (liveness).
//! `RXCHAIN_RAFT_SOAK_SEEDS=2000 cargo test -p rxchain-node -- --ignored raft_soak` runs more
//! (from `RXCHAIN_RAFT_SOAK_FIRST_SEED`, 1,000 unless set).

use super::*;
use openraft::error::{InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{BasicNode, Raft};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

const NODES: u64 = 5;
/// Crashed at once, at most (a majority stays up... or is partitioned away).
const CRASHED_MAX: usize = 2;
const FAULT_PHASE_MS: u64 = 6_000;
const HEAL_DEADLINE_MS: u64 = 20_000;
const WRITE_TIMEOUT_MS: u64 = 1_500;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SimulatedFault(String);

/// What every node applied: node → log index → payload. Outlives crashes (it is the chain).
type Applied = BTreeMap<u64, BTreeMap<u64, Vec<u8>>>;

struct Hub {
    rafts: BTreeMap<u64, Raft<TypeConfig>>,
    /// Partition group of each node; nodes talk only within a group.
    groups: [u8; NODES as usize],
    faults: StdRng,
    loss_per_mille: u32,
    duplicate_per_mille: u32,
    applied: Applied,
    events: Vec<String>,
    started: tokio::time::Instant,
}

impl Hub {
    fn now_ms(&self) -> u128 {
        self.started.elapsed().as_millis()
    }

    fn record(&mut self, event: String) {
        let at = self.now_ms();
        self.events.push(format!("{at} {event}"));
    }
}

type SharedHub = Arc<Mutex<Hub>>;

struct Recorder {
    node: u64,
    hub: SharedHub,
    storage: Arc<Storage>,
}

impl BlockApplier for Recorder {
    fn apply_block(&self, block: &[u8], applied: Vec<u8>) -> Result<Option<u64>, String> {
        let log_id: Option<LogId<RaftNodeId>> =
            postcard::from_bytes(&applied).map_err(|error| error.to_string())?;
        let index = log_id.map_or(0, |log_id| log_id.index);
        {
            let mut hub = self.hub.lock().unwrap();
            hub.applied
                .entry(self.node)
                .or_default()
                .insert(index, block.to_vec());
            hub.record(format!(
                "apply {} {index} {}",
                self.node,
                hex::encode(sm3_short(block))
            ));
        }
        // The chain and the applied log id change together, as in a node's write batch.
        self.storage
            .put_engine_meta(APPLIED_KEY, Some(&applied))
            .map_err(|error| error.to_string())?;
        Ok(Some(index))
    }

    fn catch_up(&self, _height: u64, _hash: Hash) -> Result<(), String> {
        Err("snapshots are off".into())
    }
}

fn sm3_short(bytes: &[u8]) -> [u8; 4] {
    let hash = crate::hash::sm3(bytes);
    [hash[0], hash[1], hash[2], hash[3]]
}

#[derive(Clone)]
struct SimNetwork {
    hub: SharedHub,
    from: u64,
}

impl RaftNetworkFactory<TypeConfig> for SimNetwork {
    type Network = SimPeer;

    async fn new_client(&mut self, target: RaftNodeId, _node: &BasicNode) -> SimPeer {
        SimPeer {
            hub: self.hub.clone(),
            from: self.from,
            target,
        }
    }
}

struct SimPeer {
    hub: SharedHub,
    from: u64,
    target: u64,
}

impl SimPeer {
    /// Delays the message, then hands it over unless it is lost or the target is out of
    /// reach; a duplicate is delivered again later.
    async fn deliver<E: std::error::Error>(
        &self,
    ) -> Result<(Raft<TypeConfig>, Option<Duration>), RPCError<RaftNodeId, BasicNode, E>> {
        let unreachable =
            |why: &str| RPCError::Unreachable(Unreachable::new(&SimulatedFault(why.into())));
        let (delay, lost, duplicate) = {
            let mut hub = self.hub.lock().unwrap();
            let delay = Duration::from_millis(hub.faults.gen_range(1..=20));
            let loss = hub.loss_per_mille;
            let duplicate = hub.duplicate_per_mille;
            let lost = hub.faults.gen_range(0..1000) < loss;
            let duplicate = (hub.faults.gen_range(0..1000) < duplicate)
                .then(|| Duration::from_millis(hub.faults.gen_range(1..=40)));
            (delay, lost, duplicate)
        };
        tokio::time::sleep(delay).await;
        let hub = self.hub.lock().unwrap();
        if lost {
            return Err(unreachable("lost"));
        }
        if hub.groups[self.from as usize] != hub.groups[self.target as usize] {
            return Err(unreachable("partitioned"));
        }
        match hub.rafts.get(&self.target) {
            Some(raft) => Ok((raft.clone(), duplicate)),
            None => Err(unreachable("crashed")),
        }
    }
}

fn remote<E: std::error::Error>(target: u64, error: E) -> RPCError<RaftNodeId, BasicNode, E> {
    RPCError::RemoteError(RemoteError::new(target, error))
}

impl RaftNetwork<TypeConfig> for SimPeer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        AppendEntriesResponse<RaftNodeId>,
        RPCError<RaftNodeId, BasicNode, RaftError<RaftNodeId>>,
    > {
        let (raft, duplicate) = self.deliver().await?;
        if let Some(later) = duplicate {
            let (raft, rpc) = (raft.clone(), rpc.clone());
            tokio::spawn(async move {
                tokio::time::sleep(later).await;
                let _ = raft.append_entries(rpc).await;
            });
        }
        raft.append_entries(rpc)
            .await
            .map_err(|error| remote(self.target, error))
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<RaftNodeId>,
        RPCError<RaftNodeId, BasicNode, RaftError<RaftNodeId, InstallSnapshotError>>,
    > {
        let (raft, _) = self.deliver().await?;
        raft.install_snapshot(rpc)
            .await
            .map_err(|error| remote(self.target, error))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<RaftNodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<RaftNodeId>, RPCError<RaftNodeId, BasicNode, RaftError<RaftNodeId>>>
    {
        let (raft, duplicate) = self.deliver().await?;
        if let Some(later) = duplicate {
            let (raft, rpc) = (raft.clone(), rpc.clone());
            tokio::spawn(async move {
                tokio::time::sleep(later).await;
                let _ = raft.vote(rpc).await;
            });
        }
        raft.vote(rpc)
            .await
            .map_err(|error| remote(self.target, error))
    }
}

struct Cluster {
    hub: SharedHub,
    storages: BTreeMap<u64, Arc<Storage>>,
    config: Arc<openraft::Config>,
}

impl Cluster {
    async fn start(&mut self, node: u64) {
        let storage = self.storages[&node].clone();
        let applier = Recorder {
            node,
            hub: self.hub.clone(),
            storage: storage.clone(),
        };
        let raft = Raft::new(
            node,
            self.config.clone(),
            SimNetwork {
                hub: self.hub.clone(),
                from: node,
            },
            RaftLogStore::new(storage.clone()).with_inline_io(),
            RaftStateMachineStore::new(storage, Arc::new(applier)).with_inline_io(),
        )
        .await
        .expect("raft starts");
        let members: BTreeMap<u64, BasicNode> = (0..NODES)
            .map(|id| (id, BasicNode::new(format!("node-{id}"))))
            .collect();
        if !raft.is_initialized().await.expect("raft answers") {
            let _ = raft.initialize(members).await;
        }
        let mut hub = self.hub.lock().unwrap();
        hub.rafts.insert(node, raft);
        hub.record(format!("start {node}"));
    }

    async fn crash(&mut self, node: u64) {
        let raft = {
            let mut hub = self.hub.lock().unwrap();
            hub.record(format!("crash {node}"));
            hub.rafts.remove(&node)
        };
        if let Some(raft) = raft {
            let _ = raft.shutdown().await;
        }
    }

    fn leader(&self) -> Option<Raft<TypeConfig>> {
        let hub = self.hub.lock().unwrap();
        hub.rafts.values().find_map(|raft| {
            let metrics = raft.metrics().borrow().clone();
            metrics
                .current_leader
                .filter(|leader| *leader == metrics.id)
                .map(|_| raft.clone())
        })
    }

    /// Proposes `payload` through the leader; returns the log index if it was acknowledged.
    async fn write(&self, payload: Vec<u8>) -> Option<u64> {
        let raft = self.leader()?;
        let written = tokio::time::timeout(
            Duration::from_millis(WRITE_TIMEOUT_MS),
            raft.client_write(RaftRequest { block: payload }),
        )
        .await;
        match written {
            Ok(Ok(response)) => Some(response.log_id.index),
            _ => None,
        }
    }
}

/// Runs one seed; returns the digest of its events, or the violated property.
///
/// Long because it is the simulation's schedule and event loop in one place, like
/// `consensus::simulation`.
fn run_seed(seed: u64) -> Result<Hash, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    super::runtime::seed_thread(seed);
    let root = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    }
    .map_err(|error| error.to_string())?;
    runtime.block_on(async {
        let mut schedule = StdRng::seed_from_u64(seed ^ 0x5eed);
        let hub = Arc::new(Mutex::new(Hub {
            rafts: BTreeMap::new(),
            groups: [0; NODES as usize],
            faults: StdRng::seed_from_u64(seed),
            loss_per_mille: schedule.gen_range(0..100),
            duplicate_per_mille: schedule.gen_range(0..50),
            applied: BTreeMap::new(),
            events: Vec::new(),
            started: tokio::time::Instant::now(),
        }));
        let config = openraft::Config {
            cluster_name: "simulation".into(),
            heartbeat_interval: 50,
            election_timeout_min: 250,
            election_timeout_max: 500,
            snapshot_policy: openraft::SnapshotPolicy::Never,
            ..Default::default()
        }
        .validate()
        .map_err(|error| error.to_string())?;
        let mut storages = BTreeMap::new();
        for node in 0..NODES {
            let path = root.path().join(format!("node-{node}"));
            storages.insert(
                node,
                Arc::new(Storage::open(&path).map_err(|error| error.to_string())?),
            );
        }
        let mut cluster = Cluster {
            hub: hub.clone(),
            storages,
            config: Arc::new(config),
        };
        for node in 0..NODES {
            cluster.start(node).await;
        }

        // Faults: crashes, restarts and partitions while writes keep coming.
        let mut acknowledged: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut crashed: BTreeSet<u64> = BTreeSet::new();
        let mut written = 0u64;
        let started = tokio::time::Instant::now();
        while started.elapsed() < Duration::from_millis(FAULT_PHASE_MS) {
            match schedule.gen_range(0..10) {
                0 if crashed.len() < CRASHED_MAX => {
                    let node = schedule.gen_range(0..NODES);
                    if crashed.insert(node) {
                        cluster.crash(node).await;
                    }
                }
                1 => {
                    if let Some(&node) = crashed.iter().next() {
                        crashed.remove(&node);
                        cluster.start(node).await;
                    }
                }
                2 => {
                    let mut hub = hub.lock().unwrap();
                    for node in 0..NODES as usize {
                        hub.groups[node] = schedule.gen_range(0..2);
                    }
                    let groups = hub.groups;
                    hub.record(format!("partition {groups:?}"));
                }
                3 => {
                    let mut hub = hub.lock().unwrap();
                    hub.groups = [0; NODES as usize];
                    hub.record("heal".into());
                }
                _ => {}
            }
            let payload = format!("write-{seed}-{written}").into_bytes();
            written += 1;
            if let Some(index) = cluster.write(payload.clone()).await {
                if let Some(previous) = acknowledged.insert(index, payload.clone()) {
                    return Err(format!(
                        "seed {seed}: index {index} acknowledged for two writes ({} and {})",
                        String::from_utf8_lossy(&previous),
                        String::from_utf8_lossy(&payload)
                    ));
                }
                hub.lock().unwrap().record(format!("ack {index}"));
            }
            tokio::time::sleep(Duration::from_millis(schedule.gen_range(10..200))).await;
        }

        // Heal: every node up, one partition, no loss; a new write must commit.
        {
            let mut hub = hub.lock().unwrap();
            hub.groups = [0; NODES as usize];
            hub.loss_per_mille = 0;
            hub.duplicate_per_mille = 0;
            hub.record("heal all".into());
        }
        for node in std::mem::take(&mut crashed) {
            cluster.start(node).await;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_millis(HEAL_DEADLINE_MS);
        let final_index = loop {
            let payload = format!("after-heal-{seed}").into_bytes();
            if let Some(index) = cluster.write(payload.clone()).await {
                acknowledged.insert(index, payload);
                break index;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("seed {seed}: no write committed after healing"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // All nodes converge on the acknowledged writes.
        loop {
            let converged = {
                let hub = hub.lock().unwrap();
                (0..NODES).all(|node| {
                    hub.applied
                        .get(&node)
                        .is_some_and(|chain| chain.contains_key(&final_index))
                })
            };
            if converged {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "seed {seed}: not every node applied index {final_index} after healing"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let checked = check(seed, &hub.lock().unwrap(), &acknowledged);
        for node in 0..NODES {
            cluster.crash(node).await;
        }
        checked
    })
}

/// Safety and durability over what the nodes applied; the run's digest if both hold.
fn check(
    seed: u64,
    hub_state: &Hub,
    acknowledged: &BTreeMap<u64, Vec<u8>>,
) -> Result<Hash, String> {
    // Safety: one entry per index across nodes.
    let mut by_index: BTreeMap<u64, &Vec<u8>> = BTreeMap::new();
    for (node, chain) in &hub_state.applied {
        for (index, payload) in chain {
            if let Some(other) = by_index.insert(*index, payload)
                && other != payload
            {
                return Err(format!(
                    "seed {seed}: node {node} applied another entry at index {index}"
                ));
            }
        }
    }
    // Durability: every acknowledged write is applied at its index everywhere.
    for (index, payload) in acknowledged {
        for node in 0..NODES {
            if hub_state
                .applied
                .get(&node)
                .and_then(|chain| chain.get(index))
                != Some(payload)
            {
                return Err(format!(
                    "seed {seed}: node {node} lacks acknowledged write at index {index}"
                ));
            }
        }
    }
    Ok(crate::hash::sm3(hub_state.events.join("\n").as_bytes()))
}

fn run_seeds(seeds: std::ops::Range<u64>) {
    for seed in seeds {
        // openraft asserts its invariants with panics; the seed must be printed either way.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_seed(seed))) {
            Ok(Ok(_)) => {}
            Ok(Err(failure)) => panic!("{failure} (rerun: RXCHAIN_RAFT_SEED={seed})"),
            Err(_) => panic!("seed {seed} panicked (rerun: RXCHAIN_RAFT_SEED={seed})"),
        }
    }
}

#[test]
fn raft_simulation_keeps_safety_durability_and_liveness_over_200_seeds() {
    if let Some(seed) = std::env::var("RXCHAIN_RAFT_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
    {
        return run_seeds(seed..seed + 1);
    }
    run_seeds(0..200);
}

#[test]
fn a_raft_seed_replays_the_same_run() {
    for seed in (0..60).step_by(3) {
        assert_eq!(
            run_seed(seed),
            run_seed(seed),
            "seed {seed} replays differently"
        );
    }
}

#[test]
#[ignore = "soak: RXCHAIN_RAFT_SOAK_SEEDS=2000 cargo test -p rxchain-node -- --ignored raft_soak"]
fn raft_soak() {
    let seeds = std::env::var("RXCHAIN_RAFT_SOAK_SEEDS")
        .ok()
        .and_then(|seeds| seeds.parse().ok())
        .unwrap_or(2_000);
    // Where to start, so that two processes can share a long soak.
    let first = std::env::var("RXCHAIN_RAFT_SOAK_FIRST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(1_000);
    run_seeds(first..first + seeds);
}
