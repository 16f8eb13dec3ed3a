//! Whole-node deterministic simulation of a four-validator PBFT consortium.
//!
//! Four real nodes (RocksDB on tmpfs, the system contracts in wasmtime, the real PBFT driver
//! through [`SimulatedReplica`]) run on one thread in virtual time. The seed draws the network
//! (latency 1–25 ms per message, some loss and duplication, so messages reorder), the clients'
//! schedule (three members sending transactions to random nodes, gossiped to the others), and
//! which validator is Byzantine and how ([`Attack`]): the Byzantine one runs the same driver
//! with one attack switched on. Half of the honest runs crash a node and restart it from its
//! RocksDB, and half split the network for a while (one node off, or two and two).
//!
//! Checked every run (a [`Report`] says which failed):
//! - **agreement**: honest nodes store the same block at every height they both have, and no
//!   transaction twice;
//! - **no halt**: no honest node stopped producing (a diverging root, an invalid final block);
//! - **liveness**: every transaction a client sent commits on every honest node before the
//!   deadline, the censored sender's too;
//! - **receipts**: each committed transaction's receipt is found by its id, at the height and
//!   index of the block that holds it, on every honest node;
//! - **bounds**: what a replica keeps for blocks above its head stays within its limits, every
//!   pass.
//!
//! A seed replays the same run: [`Report::digest`] covers every delivery and every stored
//! block. `RXCHAIN_SIMULATION_SOAK_SEEDS=2000 cargo test -p rxchain-tests --release --test
//! simulation -- --ignored soak` runs more (from `RXCHAIN_SIMULATION_SOAK_FIRST_SEED`).

use ed25519_dalek::SigningKey;
use rxchain_consensus::simulation::{Fnv1a, SplitMix64};
use rxchain_genesis::Genesis;
use rxchain_genesis::dev::{DevOptions, create_dev_consortium};
use rxchain_genesis::keystore::read_key;
use rxchain_node::mempool::MempoolLimits;
use rxchain_node::runtime::simulated::{
    ByzantineMode, OutgoingMessage, SimulatedReplica, answer_sync,
};
use rxchain_node::runtime::{Clock, TransactionStatus};
use rxchain_node::transaction::TransactionBody;
use rxchain_node::{Node, NodeConfig};
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::{Hash as _, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Validators of the simulated consortium: 3f + 1 with f = 1.
pub const VALIDATORS: usize = 4;
/// The client a censoring primary censors (the last; the others are its background load).
const CENSORED_CLIENT: usize = 2;
/// Transactions the clients send per run.
const TRANSACTIONS: u64 = 30;
/// Clients send during this much virtual time from the start.
const SENDING_MS: u64 = 2_000;
/// Every transaction must have committed everywhere this long after the start.
const DEADLINE_MS: u64 = 60_000;
/// Clients send again what has not committed everywhere this often.
const RETRY_INTERVAL_MS: u64 = 1_000;
/// A replica takes a pass this often (the real driver's tick is at most this).
const PASS_INTERVAL_MS: u64 = 20;
/// Virtual time of the first event (any fixed instant; blocks carry it as their timestamp).
const START_MS: u64 = 1_800_000_000_000;
/// Per-replica bounds on what is held for blocks above the head (the driver's limits, with
/// the bodies' per-validator bound for each of the four validators).
const EXECUTED_MAX: usize = 64 * VALIDATORS;
const BODIES_MAX: usize = 64 * VALIDATORS;
const WAITING_MAX: usize = 64;
/// One finality signature per validator per height, over the window of heights ahead.
const FINALITY_SIGNATURES_MAX: usize = 128 * VALIDATORS;
/// With a censoring primary, the senders it does not censor keep sending one transaction per
/// this interval until the censored sender's have committed: a primary that keeps making
/// progress is what the request timer exists for.
const BACKGROUND_INTERVAL_MS: u64 = 100;

/// Which attack the Byzantine validator makes (`None`: all honest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attack {
    JunkBodies,
    SwappedBodies,
    FutureViews,
    AttestationFlood,
    RepeatedTransactions,
    Censorship,
}

impl Attack {
    pub const ALL: [Attack; 6] = [
        Attack::JunkBodies,
        Attack::SwappedBodies,
        Attack::FutureViews,
        Attack::AttestationFlood,
        Attack::RepeatedTransactions,
        Attack::Censorship,
    ];
}

/// What one run found.
#[derive(Clone, Debug)]
pub struct Report {
    pub seed: u64,
    pub attack: Option<Attack>,
    /// Index of the Byzantine validator (in the validators' key order), if any.
    pub byzantine: Option<usize>,
    /// Each node's stored height at the end.
    pub heights: Vec<u64>,
    /// The highest view an honest replica reached.
    pub view: u64,
    pub transactions_committed: usize,
    pub messages_delivered: u64,
    /// Nodes crashed and restarted.
    pub crashes: u64,
    /// Partitions of the network (each healed).
    pub partitions: u64,
    pub virtual_ms: u64,
    /// Covers every delivery and stored block: a seed replays to the same digest.
    pub digest: u64,
    /// The first failed check; `None` when the run passed.
    pub failure: Option<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Something due at a virtual time.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Event {
    Pass {
        node: usize,
    },
    Consensus {
        from: usize,
        to: usize,
        bytes: Vec<u8>,
    },
    SyncRequest {
        from: usize,
        to: usize,
        bytes: Vec<u8>,
    },
    SyncAnswer {
        from: usize,
        to: usize,
        bytes: Vec<u8>,
    },
    /// A client sends transaction `number` to a node, which gossips it.
    Send {
        number: u64,
        node: usize,
    },
    Gossip {
        from: usize,
        to: usize,
        bytes: Vec<u8>,
    },
    /// The network splits: nodes talk only within their group (by index).
    Partition {
        groups: [u8; VALIDATORS],
    },
    /// The network is whole again.
    Heal,
    /// Clients send again what has not committed everywhere (a node that crashed lost its
    /// mempool; a partition may have cut the gossip), as real clients do.
    Retry,
    /// The node's process dies: its RocksDB stays, as a disk does; its mempool is gone.
    Crash {
        node: usize,
    },
    /// The node starts again from its RocksDB.
    Restart {
        node: usize,
    },
    /// A client that is not censored sends another transaction (censorship runs).
    Background,
}

#[derive(Debug, PartialEq, Eq)]
struct Scheduled {
    at_ms: u64,
    order: u64,
    event: Event,
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first; among equals, first scheduled first.
        (other.at_ms, other.order).cmp(&(self.at_ms, self.order))
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A GS1 GTIN-14 of the dev manufacturer's prefix with item reference `item`.
fn gtin(item: u64) -> String {
    let digits = format!("09506000{:05}", item % 100_000);
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let value = u32::from(digit - b'0');
            if position % 2 == 0 { value * 3 } else { value }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// Where simulated nodes keep their RocksDB folders: tmpfs when there is one (the chain is
/// real; the disk's fsync latency is not what is simulated).
fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("rxchain-simulation-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().expect("temp dir")
}

/// The compiled contracts, shared by every simulated node of this process (compiling them
/// per node would cost more than the run). Opening nodes is serialized so that one compiles
/// each module and the rest read its artifact.
fn module_cache() -> &'static (PathBuf, std::sync::Mutex<()>) {
    static CACHE: std::sync::OnceLock<(PathBuf, std::sync::Mutex<()>)> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("rxchain-simulation-modules-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("module cache folder");
        (dir, std::sync::Mutex::new(()))
    })
}

struct Client {
    key: SigningKey,
    next_nonce: u64,
}

struct Simulation {
    random: SplitMix64,
    clock: Arc<AtomicU64>,
    queue: BinaryHeap<Scheduled>,
    order: u64,
    /// `None` while the node is down.
    replicas: Vec<Option<SimulatedReplica>>,
    /// Each node's config, to restart it.
    configs: Vec<NodeConfig>,
    crashes: u64,
    /// Each node's partition group (all 0: no partition).
    groups: [u8; VALIDATORS],
    partitions: u64,
    /// Validator keys in the order of `replicas`.
    ids: Vec<[u8; 32]>,
    byzantine: Option<usize>,
    attack: Option<Attack>,
    genesis: Genesis,
    clients: Vec<Client>,
    /// Transaction number → (id, sender).
    sent: BTreeMap<u64, ([u8; 32], [u8; 32])>,
    /// Each sent transaction's bytes, for the clients' retries.
    sent_bytes: BTreeMap<u64, Vec<u8>>,
    /// The number of the next background transaction (after the scheduled ones).
    background: u64,
    /// The heads when `finished` last looked.
    checked_heights: Vec<u64>,
    loss_per_mille: u64,
    duplicate_per_mille: u64,
    latency_ms: (u64, u64),
    digest: Fnv1a,
    delivered: u64,
}

/// Runs one seed with `attack` (or none) and checks it.
pub fn simulate(seed: u64, attack: Option<Attack>) -> Report {
    let started = std::time::Instant::now();
    let dir = scratch_dir();
    let mut random = SplitMix64::new(seed);
    let consortium = create_dev_consortium(
        &dir.path().join("chain"),
        &DevOptions {
            consensus: "pbft".into(),
            validators: VALIDATORS,
            block_interval_ms: 50,
            system_contracts: rxchain_cli::modules::system_contracts(),
            key_seed: Some(seed),
            ..DevOptions::default()
        },
    )
    .expect("dev consortium");
    let genesis = Genesis::load(&consortium.genesis_path).expect("genesis loads");
    let clock = Arc::new(AtomicU64::new(START_MS));
    let mut nodes = Vec::new();
    let mut configs = Vec::new();
    let mut ids = Vec::new();
    for index in 0..VALIDATORS {
        let key = read_key(&consortium.validator_key_at(index))
            .expect("validator key")
            .signing_key;
        ids.push(key.verifying_key().to_bytes());
        let data_dir = dir.path().join(format!("node-{index}"));
        std::fs::create_dir_all(&data_dir).expect("data folder");
        let (cache, open_lock) = module_cache();
        std::os::unix::fs::symlink(cache, data_dir.join("module-cache")).expect("cache link");
        let config = NodeConfig {
            data_dir,
            genesis: genesis.clone(),
            validator_key: key,
            mempool: MempoolLimits::default(),
            host: Default::default(),
        };
        let _opening = open_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        nodes.push(
            Node::open_with_clock(config.clone(), Clock::Virtual(clock.clone()))
                .expect("node opens"),
        );
        configs.push(config);
    }
    // The Byzantine validator: mostly the first primary (where most attacks bite), sometimes
    // a backup.
    let byzantine = attack.map(|_| {
        let mut sorted = ids.clone();
        sorted.sort();
        let first_primary = ids
            .iter()
            .position(|id| *id == sorted[0])
            .expect("a validator");
        if random.chance_per_mille(750) {
            first_primary
        } else {
            random.below(VALIDATORS as u64) as usize
        }
    });
    let clients: Vec<Client> = ["huaxin-pharma", "kangda-distribution", "anxin-pharmacy"]
        .iter()
        .map(|organization| Client {
            key: read_key(&consortium.member_key(organization))
                .expect("member key")
                .signing_key,
            next_nonce: 0,
        })
        .collect();
    let victim = clients[CENSORED_CLIENT].key.verifying_key().to_bytes();
    let replicas = nodes
        .into_iter()
        .enumerate()
        .map(|(index, node)| {
            let mode = match (attack, Some(index) == byzantine) {
                (Some(attack), true) => Some(match attack {
                    Attack::JunkBodies => ByzantineMode::JunkBodies,
                    Attack::SwappedBodies => ByzantineMode::SwappedBodies,
                    Attack::FutureViews => ByzantineMode::FutureViews,
                    Attack::AttestationFlood => ByzantineMode::AttestationFlood,
                    Attack::RepeatedTransactions => ByzantineMode::RepeatedTransactions,
                    Attack::Censorship => ByzantineMode::Censorship { sender: victim },
                }),
                _ => None,
            };
            Some(SimulatedReplica::new(&node, mode).expect("replica starts"))
        })
        .collect();
    let mut simulation = Simulation {
        loss_per_mille: random.below(30),
        duplicate_per_mille: random.below(30),
        latency_ms: (1, 5 + random.below(20)),
        random,
        clock,
        queue: BinaryHeap::new(),
        order: 0,
        replicas,
        configs,
        crashes: 0,
        groups: [0; VALIDATORS],
        partitions: 0,
        ids,
        byzantine,
        attack,
        genesis,
        clients,
        sent: BTreeMap::new(),
        sent_bytes: BTreeMap::new(),
        background: TRANSACTIONS,
        checked_heights: Vec::new(),
        digest: Fnv1a::default(),
        delivered: 0,
    };
    let opened = started.elapsed();
    let failure = simulation.run().err();
    if std::env::var("RXCHAIN_SIMULATION_VERBOSE").is_ok() {
        eprintln!(
            "seed {seed} {attack:?}: opened in {opened:?}, ran in {:?}: {} messages, {} virtual \
             ms, heights {:?}, Byzantine {:?}, first primary {:?}, crashes {}, partitions {}",
            started.elapsed() - opened,
            simulation.delivered,
            simulation.now() - START_MS,
            simulation.heights(),
            simulation.byzantine,
            simulation.index_of(&simulation.ids_sorted_first()),
            simulation.crashes,
            simulation.partitions,
        );
    }
    simulation.report(seed, attack, failure)
}

impl Simulation {
    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// View 0's primary: the lowest validator key.
    fn ids_sorted_first(&self) -> [u8; 32] {
        *self.ids.iter().min().expect("validators")
    }

    fn replica(&self, node: usize) -> &SimulatedReplica {
        self.replicas[node].as_ref().expect("the node is up")
    }

    fn replica_mut(&mut self, node: usize) -> &mut SimulatedReplica {
        self.replicas[node].as_mut().expect("the node is up")
    }

    fn up(&self, node: usize) -> bool {
        self.replicas[node].is_some()
    }

    fn index_of(&self, validator: &[u8; 32]) -> Option<usize> {
        self.ids.iter().position(|id| id == validator)
    }

    fn honest(&self, node: usize) -> bool {
        Some(node) != self.byzantine
    }

    fn schedule(&mut self, after_ms: u64, event: Event) {
        self.order += 1;
        self.queue.push(Scheduled {
            at_ms: self.now() + after_ms,
            order: self.order,
            event,
        });
    }

    fn latency(&mut self) -> u64 {
        let (low, high) = self.latency_ms;
        self.random.between(low, high)
    }

    /// Schedules a message over the simulated network: maybe lost, maybe delivered twice.
    fn transmit(&mut self, event: impl Fn() -> Event) {
        if self.random.chance_per_mille(self.loss_per_mille) {
            return;
        }
        let latency = self.latency();
        self.schedule(latency, event());
        if self.random.chance_per_mille(self.duplicate_per_mille) {
            let latency = self.latency();
            self.schedule(latency, event());
        }
    }

    fn run(&mut self) -> Result<(), String> {
        for node in 0..VALIDATORS {
            let offset = self.random.below(PASS_INTERVAL_MS);
            self.schedule(offset, Event::Pass { node });
        }
        if self.attack == Some(Attack::Censorship) {
            self.schedule(0, Event::Background);
        }
        self.schedule(RETRY_INTERVAL_MS, Event::Retry);
        // Honest runs: half of them crash a node while clients send and restart it from its
        // RocksDB later (with a Byzantine validator too, that would be two faults of four).
        if self.attack.is_none() && self.random.chance_per_mille(500) {
            let node = self.random.below(VALIDATORS as u64) as usize;
            let at = self.random.between(100, SENDING_MS);
            let down = self.random.between(50, 3_000);
            self.schedule(at, Event::Crash { node });
            self.schedule(at + down, Event::Restart { node });
        }
        // And half of them split the network for a while: one node off, or two and two (no
        // quorum anywhere until it heals).
        if self.attack.is_none() && self.random.chance_per_mille(500) {
            let mut groups = [0; VALIDATORS];
            let first = self.random.below(VALIDATORS as u64) as usize;
            groups[first] = 1;
            if self.random.chance_per_mille(500) {
                let second =
                    (first + 1 + self.random.below(VALIDATORS as u64 - 1) as usize) % VALIDATORS;
                groups[second] = 1;
            }
            let at = self.random.between(100, SENDING_MS);
            let split = self.random.between(100, 3_000);
            self.schedule(at, Event::Partition { groups });
            self.schedule(at + split, Event::Heal);
        }
        for number in 0..TRANSACTIONS {
            let at = self.random.below(SENDING_MS);
            let node = self.random.below(VALIDATORS as u64) as usize;
            self.schedule(at, Event::Send { number, node });
        }
        let deadline = START_MS + DEADLINE_MS;
        while let Some(scheduled) = self.queue.pop() {
            if scheduled.at_ms > deadline {
                return Err(format!(
                    "liveness: not every transaction committed on every honest node by {} s \
                     (heights {:?})",
                    DEADLINE_MS / 1_000,
                    self.heights()
                ));
            }
            self.clock.store(scheduled.at_ms, Ordering::SeqCst);
            self.handle(scheduled.event)?;
            if self.finished()? {
                return self.check_receipts();
            }
        }
        Err("the simulation ran out of events".into())
    }

    fn handle(&mut self, event: Event) -> Result<(), String> {
        (self.now(), &event).hash(&mut self.digest);
        let target = match &event {
            Event::Pass { node } | Event::Send { node, .. } => Some(*node),
            Event::Consensus { to, .. }
            | Event::SyncRequest { to, .. }
            | Event::SyncAnswer { to, .. }
            | Event::Gossip { to, .. } => Some(*to),
            Event::Crash { .. }
            | Event::Restart { .. }
            | Event::Background
            | Event::Partition { .. }
            | Event::Heal
            | Event::Retry => None,
        };
        let link = match &event {
            Event::Consensus { from, to, .. }
            | Event::SyncRequest { from, to, .. }
            | Event::SyncAnswer { from, to, .. }
            | Event::Gossip { from, to, .. } => Some((*from, *to)),
            _ => None,
        };
        if let Some((from, to)) = link
            && self.groups[from] != self.groups[to]
        {
            // Cut by the partition: lost, as on a broken link.
            return Ok(());
        }
        if let Some(target) = target
            && !self.up(target)
        {
            // What reaches a node that is down is lost; a client tries the next node.
            if let Event::Send { number, node } = event {
                self.schedule(
                    1,
                    Event::Send {
                        number,
                        node: (node + 1) % VALIDATORS,
                    },
                );
            }
            return Ok(());
        }
        let node = match event {
            Event::Partition { groups } => {
                self.partitions += 1;
                self.groups = groups;
                return Ok(());
            }
            Event::Heal => {
                self.groups = [0; VALIDATORS];
                return Ok(());
            }
            Event::Retry => {
                self.retry();
                self.schedule(RETRY_INTERVAL_MS, Event::Retry);
                return Ok(());
            }
            Event::Crash { node } => {
                self.crashes += 1;
                self.replicas[node] = None;
                return Ok(());
            }
            Event::Restart { node } => {
                let _opening = module_cache()
                    .1
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let restarted = Node::open_with_clock(
                    self.configs[node].clone(),
                    Clock::Virtual(self.clock.clone()),
                )
                .map_err(|error| format!("restart: node {node} does not open: {error}"))?;
                let replica = SimulatedReplica::new(&restarted, None)
                    .map_err(|error| format!("restart: node {node}'s replica: {error}"))?;
                self.replicas[node] = Some(replica);
                self.schedule(0, Event::Pass { node });
                return Ok(());
            }
            Event::Pass { node } => {
                self.replica_mut(node).step();
                self.schedule(PASS_INTERVAL_MS, Event::Pass { node });
                node
            }
            Event::Consensus { from, to, bytes } => {
                self.delivered += 1;
                let from_id = self.ids[from];
                self.replica_mut(to).receive(from_id, &bytes);
                to
            }
            Event::SyncRequest { from, to, bytes } => {
                let answer = answer_sync(self.replica(to).node(), &bytes);
                self.transmit(|| Event::SyncAnswer {
                    from: to,
                    to: from,
                    bytes: answer.clone(),
                });
                return Ok(());
            }
            Event::SyncAnswer { from, to, bytes } => {
                let from_id = self.ids[from];
                self.replica_mut(to).synced(from_id, Ok(bytes));
                to
            }
            Event::Send { number, node } => {
                self.send_transaction(number, node, true);
                node
            }
            Event::Background => {
                if !self.all_scheduled_sent() || self.censored_pending() {
                    let number = self.background;
                    self.background += 1;
                    let node = self.random.below(VALIDATORS as u64) as usize;
                    self.send_transaction(number, node, false);
                    self.schedule(BACKGROUND_INTERVAL_MS, Event::Background);
                }
                return Ok(());
            }
            Event::Gossip { to, bytes, .. } => {
                // Refusals (a duplicate, a nonce this node has not reached) are gossip's lot.
                let _ = self.replica(to).node().submit_from_peer(&bytes);
                to
            }
        };
        self.collect_outgoing(node);
        self.check_node(node)
    }

    fn all_scheduled_sent(&self) -> bool {
        (0..TRANSACTIONS).all(|number| self.sent.contains_key(&number))
    }

    /// Whether a transaction of the censored sender has not committed on an honest node yet.
    fn censored_pending(&self) -> bool {
        let victim = self.clients[CENSORED_CLIENT].key.verifying_key().to_bytes();
        self.sent.values().any(|(id, sender)| {
            *sender == victim
                && (0..VALIDATORS)
                    .filter(|node| self.honest(*node))
                    .any(|node| {
                        self.replicas[node].as_ref().is_none_or(|replica| {
                            !matches!(
                                replica.node().transaction_status(id),
                                Ok(TransactionStatus::Committed { .. })
                            )
                        })
                    })
        })
    }

    /// Sends transaction `number`: the client is the number's turn among all clients, or
    /// (background load) among the clients that are not censored.
    fn send_transaction(&mut self, number: u64, node: usize, any_client: bool) {
        let client_index = if any_client {
            (number % self.clients.len() as u64) as usize
        } else {
            (number % CENSORED_CLIENT as u64) as usize
        };
        let client = &mut self.clients[client_index];
        let nonce = client.next_nonce;
        client.next_nonce += 1;
        let product = crate::sample_product(&gtin(number));
        let transaction = TransactionBody::call(
            &self.genesis.chain_id,
            &client.key,
            nonce,
            10_000,
            "trace",
            "register_product",
            borsh::to_vec(&product).expect("encodes"),
        )
        .sign(&client.key);
        let bytes = transaction.encode();
        let sender = client.key.verifying_key().to_bytes();
        self.sent.insert(number, (transaction.id(), sender));
        self.sent_bytes.insert(number, bytes.clone());
        self.submit(node, bytes);
    }

    /// Sends each transaction that some honest node has not committed to a random node again.
    fn retry(&mut self) {
        let honest: Vec<usize> = (0..VALIDATORS)
            .filter(|node| self.honest(*node) && self.up(*node))
            .collect();
        let waiting: Vec<u64> = self
            .sent
            .iter()
            .filter(|(_, (id, _))| {
                honest.iter().any(|node| {
                    !matches!(
                        self.replica(*node).node().transaction_status(id),
                        Ok(TransactionStatus::Committed { .. })
                    )
                })
            })
            .map(|(number, _)| *number)
            .collect();
        for number in waiting {
            let node = self.random.below(VALIDATORS as u64) as usize;
            if self.up(node) {
                let bytes = self.sent_bytes[&number].clone();
                self.submit(node, bytes);
            }
        }
    }

    /// Hands a transaction to `node`, which gossips it to the others.
    fn submit(&mut self, node: usize, bytes: Vec<u8>) {
        // A refusal (a duplicate, a nonce this node has not reached) is the retries' business.
        let _ = self.replica(node).node().submit_from_peer(&bytes);
        for to in (0..VALIDATORS).filter(|to| *to != node) {
            let bytes = bytes.clone();
            self.transmit(move || Event::Gossip {
                from: node,
                to,
                bytes: bytes.clone(),
            });
        }
    }

    fn collect_outgoing(&mut self, from: usize) {
        for outgoing in self.replica_mut(from).take_outgoing() {
            let Some(to) = self.index_of(&outgoing.to) else {
                continue;
            };
            match outgoing.message {
                OutgoingMessage::Consensus(bytes) => self.transmit(|| Event::Consensus {
                    from,
                    to,
                    bytes: bytes.clone(),
                }),
                OutgoingMessage::SyncRequest(bytes) => self.transmit(|| Event::SyncRequest {
                    from,
                    to,
                    bytes: bytes.clone(),
                }),
            }
        }
    }

    fn heights(&self) -> Vec<u64> {
        self.replicas
            .iter()
            .map(|replica| {
                replica
                    .as_ref()
                    .map_or(0, |replica| replica.node().head().height)
            })
            .collect()
    }

    /// No halt and the bounds, after each event at `node`.
    fn check_node(&self, node: usize) -> Result<(), String> {
        if !self.honest(node) || !self.up(node) {
            return Ok(());
        }
        let replica = self.replica(node);
        if let Some(reason) = replica.node().halted() {
            return Err(format!("no halt: honest node {node} halted: {reason}"));
        }
        let pending = replica.pending();
        if pending.executed > EXECUTED_MAX
            || pending.bodies > BODIES_MAX
            || pending.waiting > WAITING_MAX
            || pending.finality_signatures > FINALITY_SIGNATURES_MAX
        {
            return Err(format!("bounds: node {node} holds {pending:?}"));
        }
        Ok(())
    }

    /// Whether every transaction sent has committed on every honest node; checks agreement
    /// on the way.
    fn finished(&mut self) -> Result<bool, String> {
        if !self.all_scheduled_sent() {
            return Ok(false);
        }
        // Statuses change only when a head moves (reading them every event costs more).
        let heights = self.heights();
        if heights == self.checked_heights {
            return Ok(false);
        }
        self.checked_heights = heights;
        let honest: Vec<usize> = (0..VALIDATORS).filter(|node| self.honest(*node)).collect();
        if !honest.iter().all(|node| self.up(*node)) {
            return Ok(false);
        }
        let lowest = honest
            .iter()
            .map(|node| self.replica(*node).node().head().height)
            .min()
            .unwrap_or(0);
        let committed = honest.iter().all(|node| {
            let node = self.replica(*node).node();
            self.sent.values().all(|(id, _)| {
                matches!(
                    node.transaction_status(id),
                    Ok(TransactionStatus::Committed { .. })
                )
            })
        });
        if !committed {
            return Ok(false);
        }
        self.check_agreement(lowest)?;
        Ok(true)
    }

    fn check_agreement(&mut self, through: u64) -> Result<(), String> {
        let honest: Vec<usize> = (0..VALIDATORS).filter(|node| self.honest(*node)).collect();
        for height in 1..=through {
            let mut first: Option<(usize, [u8; 32])> = None;
            for &node in &honest {
                let block = self
                    .replica(node)
                    .node()
                    .storage()
                    .block(height)
                    .map_err(|error| format!("reading block {height}: {error}"))?
                    .ok_or_else(|| format!("agreement: node {node} lacks block {height}"))?;
                let hash = block.header.hash();
                (height, hash).hash(&mut self.digest);
                match first {
                    None => first = Some((node, hash)),
                    Some((other, other_hash)) if other_hash != hash => {
                        return Err(format!(
                            "agreement: nodes {other} and {node} stored different blocks at \
                             height {height}"
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }

    /// Every sent transaction's receipt is found by id where its block holds it, and no
    /// transaction is stored twice.
    fn check_receipts(&self) -> Result<(), String> {
        if let Some(node) = (0..VALIDATORS).find(|node| self.honest(*node)) {
            let storage = self.replica(node).node().storage();
            let mut seen = std::collections::HashSet::new();
            for height in 1..=self.replica(node).node().head().height {
                let block = storage
                    .block(height)
                    .ok()
                    .flatten()
                    .ok_or_else(|| format!("receipts: node {node} lacks block {height}"))?;
                for transaction in &block.transactions {
                    if !seen.insert(transaction.id()) {
                        return Err(format!(
                            "no repeats: node {node} stored a transaction twice (again at \
                             {height})"
                        ));
                    }
                }
            }
        }
        for node in (0..VALIDATORS).filter(|node| self.honest(*node)) {
            let node_handle = self.replica(node).node();
            for (id, _) in self.sent.values() {
                let Ok(TransactionStatus::Committed { height, index, .. }) =
                    node_handle.transaction_status(id)
                else {
                    return Err(format!("receipts: node {node} lost a committed receipt"));
                };
                let block = node_handle
                    .storage()
                    .block(height)
                    .ok()
                    .flatten()
                    .ok_or_else(|| format!("receipts: node {node} lacks block {height}"))?;
                let held = block
                    .transactions
                    .get(index as usize)
                    .map(|transaction| transaction.id());
                if held != Some(*id) {
                    return Err(format!(
                        "receipts: node {node} locates a transaction at {height}/{index}, \
                         where the block holds another"
                    ));
                }
            }
        }
        Ok(())
    }

    fn report(&self, seed: u64, attack: Option<Attack>, failure: Option<String>) -> Report {
        let mut digest = self.digest.clone();
        self.heights().hash(&mut digest);
        Report {
            seed,
            attack,
            byzantine: self.byzantine,
            heights: self.heights(),
            view: (0..VALIDATORS)
                .filter(|node| self.honest(*node) && self.up(*node))
                .map(|node| self.replica(node).view())
                .max()
                .unwrap_or(0),
            transactions_committed: self.sent.len(),
            messages_delivered: self.delivered,
            crashes: self.crashes,
            partitions: self.partitions,
            virtual_ms: self.now() - START_MS,
            digest: digest.finish(),
            failure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gtin;

    #[test]
    fn gtins_carry_their_check_digit() {
        // The GS1 General Specifications' example GTIN, and the dev fixture's.
        assert_eq!(gtin(13435), "09506000134352");
    }
}
