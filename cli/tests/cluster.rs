//! Four `rxchain node` processes on loopback, once with PBFT and once with Raft: the primary
//! (leader) is killed with SIGKILL while clients submit, restarted, one backup (follower) is cut
//! off and healed, a burst makes the primary (leader) pipeline its proposals, and a stranger's
//! key cannot connect. With PBFT also: the primary hangs (SIGSTOP) for good while one node is
//! cut off and another killed and restarted, and the three go on once the cut heals. Every transaction acknowledged as final
//! must be on every running node at the same height, and the nodes' blocks must be identical.

mod common;

use common::{amoxicillin, commission};
use rxchain_cli::client::Client;
use rxchain_cli::cluster::{Cluster, free_port_base};
use rxchain_genesis::keystore::read_key;
use rxchain_node::network::{NetworkConfig, NetworkEvent};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_rxchain");
const NODES: usize = 4;
/// Longest any awaited condition may take.
const DEADLINE_MS: u64 = 60_000;
const GTIN: &str = "09506000134352";

/// Polls `check` until it yields a value, failing the test at the deadline with `what`.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_millis(DEADLINE_MS);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "deadline passed waiting for {what}"
        );
        // Polling an HTTP API has no condition variable to wait on.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Chain {
    _dir: tempfile::TempDir,
    root: PathBuf,
    configs: Vec<PathBuf>,
    clients: Vec<Client>,
    validator_keys: Vec<String>,
    p2p_base: u16,
}

fn create_chain(consensus: &str) -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("chain");
    let api_base = free_port_base(NODES as u16, None).unwrap();
    let p2p_base = free_port_base(NODES as u16, Some(api_base)).unwrap();
    let status = Command::new(BINARY)
        .args([
            "genesis",
            "new",
            "--dir",
            root.to_str().unwrap(),
            "--consensus",
            consensus,
            "--validators",
            &NODES.to_string(),
            "--block-interval-ms",
            "20",
            "--api-port",
            &api_base.to_string(),
            "--p2p-port",
            &p2p_base.to_string(),
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut configs = Vec::new();
    let mut clients = Vec::new();
    let mut validator_keys = Vec::new();
    for index in 0..NODES {
        let config = root.join(format!("node-{index}.toml"));
        let mut text = std::fs::read_to_string(&config).unwrap();
        // Deeper than either engine's default, so pipelining runs in both (Raft's default is
        // one block in flight).
        text.push_str("fault_injection = true\nproposals_in_flight = 3\n");
        // Raft: snapshots and log purges every few entries, so a node that was down
        // installs a snapshot and fetches the blocks by block sync.
        text.push_str("raft_snapshot_interval_entries = 10\nraft_log_entries_kept = 2\n");
        std::fs::write(&config, text).unwrap();
        configs.push(config);
        clients.push(Client::new(&format!(
            "http://127.0.0.1:{}",
            api_base + index as u16
        )));
        let key = read_key(&root.join(format!("keys/validator-{index}.key"))).unwrap();
        validator_keys.push(hex::encode(key.signing_key.verifying_key().as_bytes()));
    }
    Chain {
        _dir: dir,
        root,
        configs,
        clients,
        validator_keys,
        p2p_base,
    }
}

fn manufacturer_key(root: &Path) -> ed25519_dalek::SigningKey {
    read_key(&root.join("keys/huaxin-pharma.key"))
        .unwrap()
        .signing_key
}

async fn head(client: &Client) -> Option<(u64, Value)> {
    let chain = client.get("/v1/chain").await.ok()?;
    Some((chain["head"]["height"].as_u64()?, chain))
}

async fn block_hash(client: &Client, height: u64) -> Option<String> {
    let block = client.get(&format!("/v1/blocks/{height}")).await.ok()?;
    Some(block["hash"].as_str()?.to_string())
}

/// Every node in `nodes` has committed `id` at `height`.
async fn committed_everywhere(chain: &Chain, nodes: &[usize], id: &str, height: u64) {
    for &index in nodes {
        let client = &chain.clients[index];
        let status = eventually(&format!("{id} on node {index}"), || async {
            let status = client.get(&format!("/v1/transactions/{id}")).await.ok()?;
            (status["status"] == "committed").then_some(status)
        })
        .await;
        assert_eq!(
            status["height"].as_u64(),
            Some(height),
            "node {index} has {id} at another height"
        );
    }
}

/// All `nodes` reach at least `height` and agree on the block hash there.
async fn converged(chain: &Chain, nodes: &[usize], height: u64) {
    let mut hashes = Vec::new();
    for &index in nodes {
        let client = &chain.clients[index];
        eventually(&format!("node {index} at height {height}"), || async {
            head(client).await.filter(|(at, _)| *at >= height)
        })
        .await;
        hashes.push(block_hash(client, height).await.unwrap());
    }
    assert!(
        hashes.windows(2).all(|pair| pair[0] == pair[1]),
        "nodes {nodes:?} differ at height {height}: {hashes:?}"
    );
}

/// Submits `count` commissions round-robin to `nodes`, `window` in flight, and waits for each
/// to be final; returns (id, height) of each. `on_progress` runs after each confirmation.
async fn stream(
    chain: &Chain,
    nodes: &[usize],
    key: &ed25519_dalek::SigningKey,
    next_nonce: &mut u64,
    count: usize,
    window: usize,
    mut on_progress: impl FnMut(usize),
) -> Vec<(String, u64)> {
    let mut confirmed = Vec::new();
    let mut in_flight: Vec<(String, usize)> = Vec::new();
    let mut submitted = 0;
    while confirmed.len() < count {
        while in_flight.len() < window && submitted < count {
            let node = nodes[submitted % nodes.len()];
            let nonce = *next_nonce;
            let id = eventually("a node accepting the transaction", || async {
                commission(
                    &chain.clients[node],
                    key,
                    GTIN,
                    &format!("SN{nonce}"),
                    nonce,
                )
                .await
                .ok()
            })
            .await;
            in_flight.push((id, node));
            *next_nonce += 1;
            submitted += 1;
        }
        let (id, node) = in_flight.remove(0);
        let status = chain.clients[node]
            .wait(&id, Duration::from_millis(DEADLINE_MS))
            .await
            .unwrap();
        assert_eq!(status["receipt"]["status"], "success", "{status}");
        confirmed.push((id, status["height"].as_u64().unwrap()));
        on_progress(confirmed.len());
    }
    confirmed
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The two cluster tests run one after the other: eight node processes on two cores would
/// make timeouts, not the engines, decide the outcome.
static ONE_CLUSTER_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn four_pbft_processes_survive_primary_kill_restart_and_partition() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    survive_kill_restart_and_partition("pbft");
}

/// One validator stops answering (SIGSTOP) for the whole run, as a member whose machine hangs;
/// another is cut off while a third is killed and restarted. Once the cut heals, the three go
/// on: the PBFT soak's seeds 1,009,520, 1,024,609 and 1,044,092 (replicas stuck in adjacent
/// views) on real processes and sockets.
#[test]
fn four_pbft_processes_go_on_with_one_stopped_and_one_restarted_while_another_is_cut_off() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (chain, mut cluster, runtime, key) = start_cluster("pbft");
    let (stopped, view_before) = runtime.block_on(primary_and_view(&chain));
    // The primary hangs: its process keeps its sockets but answers nothing.
    let pid = cluster.pid(stopped).expect("the primary runs");
    let status = Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -STOP {pid}");
    let others: Vec<usize> = (0..NODES).filter(|index| *index != stopped).collect();
    let (cut_off, restarted, alone) = (others[0], others[1], others[2]);

    // Work is waiting, so replicas time out of the hung primary's view; but with one cut off
    // and one restarting, no view change can complete.
    let nonce = 1;
    let pending = runtime.block_on(async {
        chain.clients[cut_off]
            .post("/v1/faults/isolation", &json!({ "isolated": true }))
            .await
            .unwrap();
        commission(&chain.clients[alone], &key, GTIN, "SN-WAITING", nonce)
            .await
            .unwrap()
    });
    cluster.kill(restarted).unwrap();
    runtime.block_on(eventually(
        "a view change on the node left alone",
        || async {
            let (_, info) = head(&chain.clients[alone]).await?;
            (info["view"].as_u64()? > view_before).then_some(())
        },
    ));
    cluster.restart(restarted, &chain.root).unwrap();
    runtime.block_on(eventually("the restarted node answering", || async {
        head(&chain.clients[restarted]).await.map(|_| ())
    }));

    // The cut heals: the waiting transaction becomes final on all three.
    let healed_at = Instant::now();
    let height = runtime.block_on(async {
        chain.clients[cut_off]
            .post("/v1/faults/isolation", &json!({ "isolated": false }))
            .await
            .unwrap();
        let status = match chain.clients[alone]
            .wait(&pending, Duration::from_millis(DEADLINE_MS))
            .await
        {
            Ok(status) => status,
            Err(error) => {
                print_nodes(&chain, &others).await;
                panic!("the waiting transaction: {error}");
            }
        };
        assert_eq!(status["receipt"]["status"], "success", "{status}");
        let height = status["height"].as_u64().unwrap();
        committed_everywhere(&chain, &others, &pending, height).await;
        height
    });
    let views = runtime.block_on(async {
        let mut views = Vec::new();
        for index in &others {
            let (_, info) = head(&chain.clients[*index]).await.unwrap();
            views.push(info["view"].as_u64().unwrap());
        }
        views
    });
    eprintln!(
        "pbft: with node {stopped} stopped, final on the other three {:?} after the cut healed (views {views:?})",
        healed_at.elapsed()
    );
    // And they go on.
    let mut nonce = nonce + 1;
    let later = runtime.block_on(stream(&chain, &others, &key, &mut nonce, 10, 4, |_| {}));
    runtime.block_on(async {
        let last = later.iter().map(|(_, height)| *height).max().unwrap();
        assert!(last > height);
        converged(&chain, &others, last).await;
    });
}

#[test]
fn four_raft_processes_survive_leader_kill_restart_and_partition() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    survive_kill_restart_and_partition("raft");
}

#[test]
fn a_pbft_node_whose_state_diverges_halts_and_the_others_go_on() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    diverging_node_halts("pbft");
}

#[test]
fn a_raft_node_whose_state_diverges_halts_and_the_others_go_on() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    diverging_node_halts("raft");
}

/// Overwrites the product record in a stopped node's RocksDB state, as a disk fault or a
/// tampering operator would.
fn corrupt_product_record(data_dir: &Path) {
    let path = data_dir.join("db");
    let options = rocksdb::Options::default();
    let families = rocksdb::DB::list_cf(&options, &path).unwrap();
    let db = rocksdb::DB::open_cf(&options, &path, &families).unwrap();
    let mut key = b"trace\0".to_vec();
    key.extend(rxchain_trace_types::keys::product(GTIN));
    let state = db.cf_handle("state").unwrap();
    assert!(
        db.get_cf(state, &key).unwrap().is_some(),
        "the product record exists"
    );
    db.put_cf(state, &key, b"not a product record").unwrap();
}

/// One backup's state is corrupted while it is down: after restart it cannot reproduce the
/// next certified block, so it stops producing with an error instead of diverging, and the
/// other three keep committing.
fn diverging_node_halts(consensus: &str) {
    let (chain, mut cluster, runtime, key) = start_cluster(consensus);
    let victim = runtime.block_on(async {
        let (_, info) = head(&chain.clients[0]).await.unwrap();
        let primary_key = info["primary"].as_str().unwrap().to_string();
        (0..NODES)
            .rev()
            .find(|index| chain.validator_keys[*index] != primary_key)
            .unwrap()
    });
    let others: Vec<usize> = (0..NODES).filter(|index| *index != victim).collect();
    cluster.kill(victim).unwrap();
    corrupt_product_record(&chain.root.join(format!("data-{victim}")));
    cluster.restart(victim, &chain.root).unwrap();
    let mut nonce = 1;
    // A commission reads the product record: the victim computes another outcome.
    let first = runtime.block_on(stream(&chain, &others, &key, &mut nonce, 3, 8, |_| {}));
    runtime.block_on(async {
        let height = first.iter().map(|(_, height)| *height).max().unwrap();
        converged(&chain, &others, height).await;
        let reason = eventually("the victim halting", || async {
            let (_, info) = head(&chain.clients[victim]).await?;
            info["halted"].as_str().map(str::to_string)
        })
        .await;
        assert!(
            reason.contains("differ") || reason.contains("mismatch"),
            "the halt names the divergence: {reason}"
        );
        eprintln!("{consensus}: node {victim} halted: {reason}");
        let (victim_height, _) = head(&chain.clients[victim]).await.unwrap();
        assert!(
            victim_height < height,
            "the victim stored no block it could not reproduce"
        );
    });
    // The three others go on without it.
    let later = runtime.block_on(stream(&chain, &others, &key, &mut nonce, 5, 8, |_| {}));
    runtime.block_on(async {
        let height = later.iter().map(|(_, height)| *height).max().unwrap();
        converged(&chain, &others, height).await;
    });
}

/// The first primary censors the pharmacy (a validator started with `byzantine =
/// "censorship:<key>"`, which only a node with fault injection accepts) while the
/// manufacturer's commissions keep its blocks coming, so the engine's progress timer never
/// fires: the backups' request timer must replace it, and the pharmacy's transaction then
/// commits on every node, the censor's too.
#[test]
fn a_censoring_pbft_primary_is_replaced_and_the_censored_member_commits() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let chain = create_chain("pbft");
    // View 0's primary is the validator with the lowest key.
    let censor = (0..NODES)
        .min_by_key(|index| hex::decode(&chain.validator_keys[*index]).unwrap())
        .unwrap();
    let pharmacy = read_key(&chain.root.join("keys/anxin-pharmacy.key"))
        .unwrap()
        .signing_key;
    let mut text = std::fs::read_to_string(&chain.configs[censor]).unwrap();
    text.push_str(&format!(
        "byzantine = \"censorship:{}\"\n",
        hex::encode(pharmacy.verifying_key().as_bytes())
    ));
    std::fs::write(&chain.configs[censor], text).unwrap();
    let (chain, _cluster, runtime, key) = start_chain(chain);
    let honest: Vec<usize> = (0..NODES).filter(|index| *index != censor).collect();
    let all: Vec<usize> = (0..NODES).collect();
    runtime.block_on(async {
        let (primary, view) = primary_and_view(&chain).await;
        assert_eq!(
            (primary, view),
            (censor, 0),
            "the censor is view 0's primary"
        );
        // Any call of the pharmacy's will do (this one fails in the contract: a pharmacy
        // registers no products); what matters is that it commits.
        let id = chain.clients[honest[0]]
            .send_call(
                &pharmacy,
                "trace",
                "register_product",
                borsh::to_vec(&amoxicillin(GTIN)).unwrap(),
                Some(0),
                10_000,
            )
            .await
            .unwrap();
        let mut next_nonce = 1;
        let deadline = Instant::now() + Duration::from_millis(DEADLINE_MS);
        let height = loop {
            assert!(
                Instant::now() < deadline,
                "the censored transaction did not commit"
            );
            let status = chain.clients[honest[0]]
                .get(&format!("/v1/transactions/{id}"))
                .await
                .unwrap();
            if status["status"] == "committed" {
                break status["height"].as_u64().unwrap();
            }
            // Blocks keep coming while the pharmacy waits: the censor makes progress.
            stream(&chain, &honest, &key, &mut next_nonce, 8, 4, |_| {}).await;
        };
        committed_everywhere(&chain, &all, &id, height).await;
        converged(&chain, &all, height).await;
        let (primary, view) = primary_and_view(&chain).await;
        assert!(
            view > 0 && primary != censor,
            "view {view}, primary {primary}"
        );
        let mut asked = 0.0;
        for index in &honest {
            asked += chain.clients[*index]
                .metric("rxchain_censorship_view_changes_total")
                .await
                .unwrap();
        }
        assert!(
            asked > 0.0,
            "no backup asked for a view change for censorship"
        );
    });
}

/// For each attack of a validator on the wire (junk or swapped bodies, pre-prepares for future
/// views, floods of finality signatures, blocks that repeat a transaction), four processes
/// with view 0's primary attacking: the honest three commit a stream of transactions and every
/// node, the attacker's included, stores the same blocks.
#[test]
fn four_pbft_processes_go_on_while_the_primary_attacks_on_the_wire() {
    let _one = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for mode in [
        "junk-bodies",
        "swapped-bodies",
        "future-views",
        "attestation-flood",
        "repeated-transactions",
    ] {
        let chain = create_chain("pbft");
        let attacker = (0..NODES)
            .min_by_key(|index| hex::decode(&chain.validator_keys[*index]).unwrap())
            .unwrap();
        let mut text = std::fs::read_to_string(&chain.configs[attacker]).unwrap();
        text.push_str(&format!("byzantine = \"{mode}\"\n"));
        std::fs::write(&chain.configs[attacker], text).unwrap();
        let (chain, _cluster, runtime, key) = start_chain(chain);
        let honest: Vec<usize> = (0..NODES).filter(|index| *index != attacker).collect();
        runtime.block_on(async {
            // Nonce 0 registered the product when the cluster started.
            let mut next_nonce = 1;
            let confirmed = stream(&chain, &honest, &key, &mut next_nonce, 40, 4, |_| {}).await;
            let (last_id, last_height) = confirmed.last().cloned().unwrap();
            let all: Vec<usize> = (0..NODES).collect();
            committed_everywhere(&chain, &all, &last_id, last_height).await;
            converged(&chain, &all, last_height).await;
            for index in &honest {
                let (_, info) = head(&chain.clients[*index]).await.unwrap();
                assert!(
                    info["halted"].is_null(),
                    "{mode}: node {index} halted: {info}"
                );
            }
        });
    }
}

/// A Byzantine mode is refused without fault injection: a production config cannot turn one
/// on by accident.
#[test]
fn a_byzantine_mode_needs_fault_injection() {
    let chain = create_chain("pbft");
    let config = &chain.configs[0];
    let text = std::fs::read_to_string(config)
        .unwrap()
        .replace("fault_injection = true\n", "");
    std::fs::write(config, format!("{text}byzantine = \"future-views\"\n")).unwrap();
    let output = Command::new(BINARY)
        .args(["node", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("fault_injection"), "{stderr}");
}

/// The index of the current primary (leader), as node 0 sees it, and its view (term).
async fn primary_and_view(chain: &Chain) -> (usize, u64) {
    let (_, info) = head(&chain.clients[0]).await.unwrap();
    let primary = info["primary"].as_str().unwrap().to_string();
    let index = chain
        .validator_keys
        .iter()
        .position(|key| *key == primary)
        .expect("the primary is a validator");
    (index, info["view"].as_u64().unwrap())
}

/// Prints what each of `nodes` says of its chain and the end of its log, for a failed wait.
async fn print_nodes(chain: &Chain, nodes: &[usize]) {
    for index in nodes {
        eprintln!("node {index}: {:?}", head(&chain.clients[*index]).await);
        let log = chain
            .configs
            .get(*index)
            .and_then(|config| config.file_stem())
            .map(|stem| chain.root.join(format!("{}.log", stem.to_string_lossy())));
        if let Some(text) = log.and_then(|path| std::fs::read_to_string(path).ok()) {
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines[lines.len().saturating_sub(40)..] {
                eprintln!("  {line}");
            }
        }
    }
}

/// A four-node cluster of `consensus`, all connected, with the product registered (nonce 0)
/// and final everywhere.
fn start_cluster(
    consensus: &str,
) -> (
    Chain,
    Cluster,
    tokio::runtime::Runtime,
    ed25519_dalek::SigningKey,
) {
    start_chain(create_chain(consensus))
}

/// [`start_cluster`] on a chain whose node configs a test may have changed.
fn start_chain(
    chain: Chain,
) -> (
    Chain,
    Cluster,
    tokio::runtime::Runtime,
    ed25519_dalek::SigningKey,
) {
    let key = manufacturer_key(&chain.root);
    let runtime = runtime();
    let cluster = Cluster::spawn(Path::new(BINARY), &chain.configs, &chain.root).unwrap();
    runtime.block_on(async {
        // Everyone connected to everyone before the story starts.
        for (index, client) in chain.clients.iter().enumerate() {
            eventually(&format!("node {index} connected to all"), || async {
                let (_, info) = head(client).await?;
                (info["peers_connected"].as_u64() == Some(NODES as u64 - 1)).then_some(())
            })
            .await;
        }
    });

    // A product registered through node 0 is final on all four.
    let all: Vec<usize> = (0..NODES).collect();
    runtime.block_on(async {
        let product = amoxicillin(GTIN);
        let id = chain.clients[0]
            .send_call(
                &key,
                "trace",
                "register_product",
                borsh::to_vec(&product).unwrap(),
                Some(0),
                10_000,
            )
            .await
            .unwrap();
        let status = chain.clients[0]
            .wait(&id, Duration::from_millis(DEADLINE_MS))
            .await
            .unwrap();
        let height = status["height"].as_u64().unwrap();
        committed_everywhere(&chain, &all, &id, height).await;
        converged(&chain, &all, height).await;
    });
    (chain, cluster, runtime, key)
}

fn survive_kill_restart_and_partition(consensus: &str) {
    let (chain, mut cluster, runtime, key) = start_cluster(consensus);
    // 1. (start_cluster) A product registered through node 0 is final on all four.
    let mut nonce = 1;
    let all: Vec<usize> = (0..NODES).collect();

    // 2. Kill -9 the primary (leader) while clients submit to the others.
    let (primary, view_before) = runtime.block_on(primary_and_view(&chain));
    let survivors: Vec<usize> = all.iter().copied().filter(|i| *i != primary).collect();
    let mut killed_at = None;
    let confirmed = runtime.block_on(stream(
        &chain,
        &survivors,
        &key,
        &mut nonce,
        60,
        8,
        |done| {
            if done == 20 {
                cluster.kill(primary).unwrap();
                killed_at = Some(Instant::now());
            }
        },
    ));
    let killed_at = killed_at.expect("the primary was killed");
    let last_height = runtime.block_on(async {
        for (id, height) in &confirmed {
            committed_everywhere(&chain, &survivors, id, *height).await;
        }
        let last_height = confirmed.iter().map(|(_, height)| *height).max().unwrap();
        converged(&chain, &survivors, last_height).await;
        let (_, info) = head(&chain.clients[survivors[0]]).await.unwrap();
        assert!(
            info["view"].as_u64().unwrap() > view_before,
            "a new primary (leader) took over in a later view (term): {info}"
        );
        assert_ne!(
            info["primary"].as_str(),
            Some(chain.validator_keys[primary].as_str())
        );
        last_height
    });
    eprintln!(
        "{consensus}: primary {primary} killed; 40 more transactions final {:?} later",
        killed_at.elapsed()
    );

    // 3. The killed node restarts, catches up and rejoins (with Raft, from a snapshot: the
    //    others purged the log it missed, so it fetched the certified blocks).
    cluster.restart(primary, &chain.root).unwrap();
    runtime.block_on(async {
        converged(&chain, &all, last_height).await;
        for (id, height) in confirmed.iter().step_by(7) {
            committed_everywhere(&chain, &[primary], id, *height).await;
        }
        if consensus == "raft" {
            let synced = chain.clients[primary]
                .metric("rxchain_blocks_synced_total")
                .await
                .unwrap();
            assert!(
                synced > 0.0,
                "the restarted node caught up without a snapshot"
            );
        }
    });
    let after_restart = runtime.block_on(stream(&chain, &all, &key, &mut nonce, 10, 8, |_| {}));
    runtime.block_on(async {
        let height = after_restart.iter().map(|(_, h)| *h).max().unwrap();
        converged(&chain, &all, height).await;
    });

    // 4. Cut one backup off: the others go on, it commits nothing alone, then converges.
    let (isolated, majority) = runtime.block_on(async {
        let (_, info) = head(&chain.clients[0]).await.unwrap();
        let primary_key = info["primary"].as_str().unwrap().to_string();
        let isolated = (0..NODES)
            .find(|index| chain.validator_keys[*index] != primary_key)
            .unwrap();
        chain.clients[isolated]
            .post("/v1/faults/isolation", &json!({ "isolated": true }))
            .await
            .unwrap();
        let majority: Vec<usize> = (0..NODES).filter(|index| *index != isolated).collect();
        (isolated, majority)
    });
    let isolated_height = runtime.block_on(head(&chain.clients[isolated])).unwrap().0;
    let during = runtime.block_on(stream(&chain, &majority, &key, &mut nonce, 20, 8, |_| {}));
    runtime.block_on(async {
        let height = during.iter().map(|(_, h)| *h).max().unwrap();
        converged(&chain, &majority, height).await;
        let (cut_off_height, _) = head(&chain.clients[isolated]).await.unwrap();
        assert_eq!(
            cut_off_height, isolated_height,
            "the cut-off node committed without the others"
        );
        chain.clients[isolated]
            .post("/v1/faults/isolation", &json!({ "isolated": false }))
            .await
            .unwrap();
        converged(&chain, &all, height).await;
        for (id, height) in during.iter().step_by(5) {
            committed_everywhere(&chain, &[isolated], id, *height).await;
        }
    });
    // 5. Pipelining: under a burst the primary (leader) proposes blocks on parents that are
    //    not final yet, and every node still ends with the same chain.
    //    Every message between the nodes takes 10 ms more (fault injection), as between
    //    data centres; more than the limit is refused.
    runtime.block_on(async {
        for client in &chain.clients {
            client
                .post("/v1/faults/delay", &json!({ "milliseconds": 10 }))
                .await
                .unwrap();
        }
        let refused = chain.clients[0]
            .post("/v1/faults/delay", &json!({ "milliseconds": 20_000 }))
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("400") && refused.to_string().contains("at most"),
            "{refused}"
        );
    });
    let bursted = runtime.block_on(stream(&chain, &all, &key, &mut nonce, 300, 300, |_| {}));
    runtime.block_on(async {
        for client in &chain.clients {
            client
                .post("/v1/faults/delay", &json!({ "milliseconds": 0 }))
                .await
                .unwrap();
        }
    });
    runtime.block_on(async {
        let height = bursted.iter().map(|(_, h)| *h).max().unwrap();
        converged(&chain, &all, height).await;
        for (id, height) in bursted.iter().step_by(11) {
            committed_everywhere(&chain, &all, id, *height).await;
        }
        let mut pipelined = 0.0;
        for client in &chain.clients {
            pipelined += client
                .metric("rxchain_blocks_proposed_on_pending_parent_total")
                .await
                .unwrap();
        }
        eprintln!("{consensus}: {pipelined} blocks proposed on a parent not final yet");
        assert!(pipelined > 0.0, "no block was proposed on a pending parent");
    });
    let healed = runtime.block_on(stream(&chain, &all, &key, &mut nonce, 10, 8, |_| {}));
    runtime.block_on(async {
        let height = healed.iter().map(|(_, h)| *h).max().unwrap();
        converged(&chain, &all, height).await;
        // Every node's state root at that height is the same (it is in the block hash too).
        let mut roots = Vec::new();
        for client in &chain.clients {
            let block = client.get(&format!("/v1/blocks/{height}")).await.unwrap();
            roots.push(block["header"]["state_root"].clone());
            let certificate = &block["certificate"]["signatures"];
            assert!(
                certificate.as_array().unwrap().len() >= 3,
                "a final block carries a quorum of signatures: {block}"
            );
        }
        assert!(roots.windows(2).all(|pair| pair[0] == pair[1]));
    });

    // 6. A node whose key is not in genesis cannot connect.
    runtime.block_on(async {
        let stranger_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let (stranger, mut events) = rxchain_node::network::start(NetworkConfig {
            node_secret_key: stranger_key.to_bytes(),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            allowed_node_keys: chain
                .validator_keys
                .iter()
                .map(|key| hex::decode(key).unwrap().try_into().unwrap())
                .collect(),
        })
        .unwrap();
        stranger
            .dial(
                format!("/ip4/127.0.0.1/tcp/{}", chain.p2p_base)
                    .parse()
                    .unwrap(),
            )
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_millis(DEADLINE_MS);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = tokio::time::timeout(left, events.recv())
                .await
                .expect("the stranger hears back before the deadline")
                .expect("network task alive");
            match event {
                NetworkEvent::ConnectionRefused { .. } | NetworkEvent::PeerDisconnected(_) => {
                    break;
                }
                _ => {}
            }
        }
        let (_, info) = head(&chain.clients[0]).await.unwrap();
        assert_eq!(info["peers_connected"].as_u64(), Some(NODES as u64 - 1));
        assert!(
            stranger
                .publish_transactions(b"spam".to_vec())
                .await
                .is_err(),
            "the stranger's gossip reached someone"
        );
    });
    drop(cluster);
}
