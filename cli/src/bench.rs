//! `rxchain bench`: single-node throughput of `trace` transactions executed by the wasm
//! contract, end to end (admission with signature check, block building, execution, synced
//! commit). Multi-node benchmarks come with the multi-node work.
//!
//! The transactions are signed before the clock starts; the node runs in-process on a fresh
//! RocksDB folder. Submission keeps at most `window` transactions ahead of the committed nonce
//! (the mempool's per-sender limit), so the figure is sustained throughput, not a burst into
//! an unbounded queue.

use anyhow::{Result, bail};
use rxchain_genesis::Genesis;
use rxchain_genesis::dev::{DevOptions, create_dev_consortium};
use rxchain_genesis::keystore::read_key;
use rxchain_node::mempool::MempoolLimits;
use rxchain_node::transaction::TransactionBody;
use rxchain_node::{Node, NodeConfig};
use rxchain_trace_types::{CommissionArgs, PackId, Product, ShipArgs, ShipmentIdArgs};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Longest the benchmark waits for progress before it gives up.
const STALL_TIMEOUT_MS: u64 = 30_000;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub nodes: u32,
    pub consensus: &'static str,
    pub transactions: u64,
    pub seconds: f64,
    pub tps: f64,
    pub blocks: u64,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
    pub cpu_seconds_per_1000_transactions: f64,
}

fn cpu_seconds() -> f64 {
    // utime and stime of this process, fields 14 and 15 of /proc/self/stat, in clock ticks.
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = text.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map(|pair| {
            pair.iter()
                .filter_map(|field| field.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    ticks / 100.0
}

fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

/// A fresh single-node chain in a temporary folder, with the manufacturer's key and a
/// registered product.
struct BenchChain {
    _dir: tempfile::TempDir,
    consortium: rxchain_genesis::dev::DevConsortium,
    genesis: Genesis,
    node: Node,
    modules: rxchain_node::app::Modules,
    key: ed25519_dalek::SigningKey,
    sender: [u8; 32],
}

const GTIN: &str = "09506000134352";

/// The product every benchmark registers first.
fn bench_product() -> Product {
    Product {
        gtin: GTIN.into(),
        name: "Benchmark Capsules".into(),
        strength: "1 mg".into(),
        dosage_form: "capsule".into(),
        pack_size: 10,
        prescription: false,
        storage_celsius_tenths_min: 0,
        storage_celsius_tenths_max: 300,
        approval_number: "BENCH".into(),
        manufacturer: String::new(),
    }
}

/// A commissioning of one benchmark pack.
fn commission_args(serial: String) -> CommissionArgs {
    CommissionArgs {
        gtin: GTIN.into(),
        serial,
        lot: "BENCH1".into(),
        expiry: "301231".into(),
    }
}
/// Block height up to which benchmark transactions stay valid.
const EXPIRY_HEIGHT: u64 = 100_000;

impl BenchChain {
    /// Serves the node API with every module on `listener` until the task is aborted.
    fn serve(
        &self,
        listener: tokio::net::TcpListener,
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send + 'static {
        let (node, modules) = (self.node.clone(), self.modules.clone());
        async move { rxchain_node::api::serve(node, &modules, listener, std::future::pending()).await }
    }

    async fn start() -> Result<BenchChain> {
        let dir = tempfile::tempdir()?;
        let consortium = create_dev_consortium(
            &dir.path().join("chain"),
            &DevOptions {
                block_interval_ms: 10,
                system_contracts: crate::modules::system_contracts(),
                ..DevOptions::default()
            },
        )?;
        let genesis = Genesis::load(&consortium.genesis_path)?;
        let node = Node::open(NodeConfig {
            data_dir: dir.path().join("data"),
            genesis: genesis.clone(),
            validator_key: read_key(&consortium.validator_key())?.signing_key,
            mempool: MempoolLimits::default(),
            host: Default::default(),
        })?;
        let modules = crate::modules::modules(vec![
            read_key(&consortium.member_key("huaxin-pharma"))?.signing_key,
        ]);
        node.start()?;
        let key = read_key(&consortium.member_key("huaxin-pharma"))?.signing_key;
        let sender = key.verifying_key().to_bytes();
        let chain = BenchChain {
            _dir: dir,
            consortium,
            genesis,
            node,
            modules,
            key,
            sender,
        };
        let product = bench_product();
        let id = chain
            .node
            .submit(&chain.sign(0, "register_product", borsh::to_vec(&product)?))?;
        if chain
            .node
            .wait_for_commit(&id, Duration::from_secs(30))
            .await?
            .is_none()
        {
            bail!("product registration did not commit");
        }
        Ok(chain)
    }

    fn sign(&self, nonce: u64, method: &str, args: Vec<u8>) -> Vec<u8> {
        TransactionBody::call(
            &self.genesis.chain_id,
            &self.key,
            nonce,
            EXPIRY_HEIGHT,
            "trace",
            method,
            args,
        )
        .sign(&self.key)
        .encode()
    }

    /// `commission` transactions with nonces `first_nonce..`, serials `B000000001…`.
    fn commissions(&self, first_nonce: u64, count: u64) -> Vec<Vec<u8>> {
        (0..count)
            .map(|index| {
                let args = commission_args(format!("B{:09}", index + 1));
                self.sign(
                    first_nonce + index,
                    "commission",
                    borsh::to_vec(&args).expect("encodes"),
                )
            })
            .collect()
    }

    /// Submits the manufacturer's transactions (nonces consecutive from the committed next
    /// nonce) keeping at most `window` outstanding; returns each one's submit-to-commit latency
    /// in milliseconds.
    async fn submit_windowed(&self, signed: &[Vec<u8>], window: u64) -> Result<Vec<f64>> {
        let mut heads = self.node.subscribe_head();
        let base = self.node.storage().next_nonce(&self.sender)?;
        let total = signed.len() as u64;
        let mut submitted_at = Vec::with_capacity(signed.len());
        let mut latencies = Vec::with_capacity(signed.len());
        let mut next_to_submit = 0usize;
        let mut committed = 0u64;
        while committed < total {
            while next_to_submit < signed.len() && (next_to_submit as u64) < committed + window {
                self.node.submit(&signed[next_to_submit])?;
                submitted_at.push(Instant::now());
                next_to_submit += 1;
            }
            match tokio::time::timeout(Duration::from_millis(STALL_TIMEOUT_MS), heads.changed())
                .await
            {
                Ok(Ok(())) => {}
                _ => bail!("no block for {STALL_TIMEOUT_MS} ms; {committed} of {total} committed"),
            }
            let now_committed = (self.node.storage().next_nonce(&self.sender)? - base).min(total);
            let now = Instant::now();
            for index in committed..now_committed {
                latencies.push(
                    now.duration_since(submitted_at[index as usize])
                        .as_secs_f64()
                        * 1000.0,
                );
            }
            committed = now_committed;
        }
        Ok(latencies)
    }
}

pub async fn run(transactions: u64, window: u64) -> Result<BenchReport> {
    let chain = BenchChain::start().await?;
    let signed = chain.commissions(1, transactions);
    let start_height = chain.node.head().height;
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    let mut latencies = chain.submit_windowed(&signed, window).await?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let blocks = chain.node.head().height - start_height;
    chain.node.shutdown();
    latencies.sort_by(|a, b| a.total_cmp(b));
    Ok(BenchReport {
        nodes: 1,
        consensus: "solo",
        transactions,
        seconds,
        tps: transactions as f64 / seconds,
        blocks,
        latency_ms_p50: percentile(&latencies, 0.50),
        latency_ms_p95: percentile(&latencies, 0.95),
        latency_ms_p99: percentile(&latencies, 0.99),
        cpu_seconds_per_1000_transactions: cpu / transactions as f64 * 1000.0,
    })
}

/// Figures of the mempool squatting benchmark.
#[derive(Debug, Serialize)]
pub struct SquattingReport {
    /// Members that parked transactions (every member of the dev consortium but one).
    pub squatters: usize,
    /// Parked transactions the squatters got in, large and small, and their bytes.
    pub parked_transactions: u64,
    pub parked_bytes: u64,
    /// Parked transactions refused once a squatter held its maximum.
    pub parked_refused: u64,
    /// The remaining member's committed transactions per second without and with squatters.
    pub clean_tps: f64,
    pub squatted_tps: f64,
    /// `squatted_tps / clean_tps`.
    pub ratio: f64,
}

/// The dev consortium's members other than the benchmark's own sender.
const SQUATTERS: [&str; 4] = [
    "kangda-distribution",
    "anxin-pharmacy",
    "renmin-hospital",
    "drug-regulator",
];
/// Argument bytes of a large parked transaction (close to the transaction size limit).
const PARKED_LARGE_ARGUMENT_BYTES: usize = 120 * 1024;
/// Argument bytes of a small parked transaction.
const PARKED_SMALL_ARGUMENT_BYTES: usize = 64;

/// Every member but one parks transactions (nonces after a gap, so never executable) until the
/// mempool refuses more, large ones then small ones; then the remaining member commits
/// `transactions` commissions. The same run on a clean chain gives the rate to compare with.
pub async fn run_squatting(transactions: u64, window: u64) -> Result<SquattingReport> {
    let clean = run(transactions, window).await?;
    let chain = BenchChain::start().await?;
    let (mut parked_transactions, mut parked_bytes, mut parked_refused) = (0u64, 0u64, 0u64);
    for organization in SQUATTERS {
        let key = read_key(&chain.consortium.member_key(organization))?.signing_key;
        let sender = key.verifying_key().to_bytes();
        // The next nonce stays unused: everything after it waits for ever.
        let mut nonce = chain.node.storage().next_nonce(&sender)? + 1;
        for argument_bytes in [PARKED_LARGE_ARGUMENT_BYTES, PARKED_SMALL_ARGUMENT_BYTES] {
            loop {
                let transaction = TransactionBody::call(
                    &chain.genesis.chain_id,
                    &key,
                    nonce,
                    EXPIRY_HEIGHT,
                    "trace",
                    "register_product",
                    vec![0; argument_bytes],
                )
                .sign(&key)
                .encode();
                match chain.node.submit(&transaction) {
                    Ok(_) => {
                        parked_transactions += 1;
                        parked_bytes += transaction.len() as u64;
                        nonce += 1;
                    }
                    Err(_) => {
                        parked_refused += 1;
                        break;
                    }
                }
            }
        }
    }
    let signed = chain.commissions(1, transactions);
    let started = Instant::now();
    chain.submit_windowed(&signed, window).await?;
    let seconds = started.elapsed().as_secs_f64();
    chain.node.shutdown();
    let squatted_tps = transactions as f64 / seconds;
    Ok(SquattingReport {
        squatters: SQUATTERS.len(),
        parked_transactions,
        parked_bytes,
        parked_refused,
        clean_tps: clean.tps,
        squatted_tps,
        ratio: squatted_tps / clean.tps,
    })
}

/// Figures of the query benchmark.
#[derive(Debug, Serialize)]
pub struct QueryReport {
    pub packs: u64,
    pub commission_seconds: f64,
    pub hot_pack_events: usize,
    pub history_ms_p50: f64,
    pub history_ms_p99: f64,
    pub random_history_ms_p50: f64,
    pub random_history_ms_p99: f64,
    pub verification_page_ms_p50: f64,
    pub verification_page_ms_p99: f64,
    pub lookups: usize,
}

fn sorted_percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    (percentile(&samples, 0.50), percentile(&samples, 0.99))
}

/// With `packs` commissioned packs, one of which has about 20 events: history lookups (index
/// scan plus receipts) and verification pages (proof bundle and HTML over HTTP on loopback).
///
/// Long because it is one measurement read top to bottom: commission, time history lookups,
/// time verification pages, report.
pub async fn run_queries(packs: u64, window: u64, lookups: usize) -> Result<QueryReport> {
    let chain = BenchChain::start().await?;
    let started = Instant::now();
    // Commission in slices so the signed transactions never all sit in memory at once.
    const SLICE_TRANSACTIONS: u64 = 50_000;
    let mut done = 0;
    while done < packs {
        let count = SLICE_TRANSACTIONS.min(packs - done);
        let nonce = chain.node.storage().next_nonce(&chain.sender)?;
        let signed: Vec<Vec<u8>> = (0..count)
            .map(|index| {
                let args = commission_args(format!("B{:09}", done + index + 1));
                chain.sign(
                    nonce + index,
                    "commission",
                    borsh::to_vec(&args).expect("encodes"),
                )
            })
            .collect();
        chain.submit_windowed(&signed, window).await?;
        done += count;
    }
    let commission_seconds = started.elapsed().as_secs_f64();

    // The hot pack travels: manufacturer → distributor, then distributor ⇄ pharmacy, until it
    // has 20 events (commissioning, then a shipping and a receiving per hop, and one shipping).
    let hot = PackId {
        gtin: GTIN.into(),
        serial: "B000000001".into(),
    };
    let organizations = ["huaxin-pharma", "kangda-distribution", "anxin-pharmacy"];
    let keys: Vec<ed25519_dalek::SigningKey> = organizations
        .iter()
        .map(|organization| {
            read_key(&chain.consortium.member_key(organization)).map(|key| key.signing_key)
        })
        .collect::<Result<_, _>>()?;
    let call = |key_index: usize, method: &str, args: Vec<u8>| -> Result<Vec<u8>> {
        let key = &keys[key_index];
        let nonce = chain
            .node
            .storage()
            .next_nonce(&key.verifying_key().to_bytes())?;
        Ok(TransactionBody::call(
            &chain.genesis.chain_id,
            key,
            nonce,
            EXPIRY_HEIGHT,
            "trace",
            method,
            args,
        )
        .sign(key)
        .encode())
    };
    let mut holder = 0usize;
    let mut events = 1usize;
    let mut hop = 0;
    while events < 20 {
        let to = if holder == 1 { 2 } else { 1 };
        let shipment_id = format!("HOT-{hop}");
        let ship = ShipArgs {
            shipment_id: shipment_id.clone(),
            to: organizations[to].into(),
            packs: vec![hot.clone()],
            containers: Vec::new(),
        };
        let id = chain
            .node
            .submit(&call(holder, "ship", borsh::to_vec(&ship)?)?)?;
        chain
            .node
            .wait_for_commit(&id, Duration::from_secs(30))
            .await?;
        events += 1;
        if events == 20 {
            break;
        }
        let receive = ShipmentIdArgs { shipment_id };
        let id = chain
            .node
            .submit(&call(to, "receive", borsh::to_vec(&receive)?)?)?;
        chain
            .node
            .wait_for_commit(&id, Duration::from_secs(30))
            .await?;
        events += 1;
        holder = to;
        hop += 1;
    }
    let hot_topic = rxchain_trace_types::topics::pack(&hot);
    let hot_pack_events = chain.node.events(&hot_topic, 1_000)?.len();

    let mut history = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let started = Instant::now();
        let found = chain.node.events(&hot_topic, 1_000)?;
        history.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(found.len(), hot_pack_events, "history is stable");
    }
    // Packs spread over the whole keyspace (cold in RocksDB's caches).
    let mut random_history = Vec::with_capacity(lookups);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..lookups {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let serial = format!("B{:09}", state % packs + 1);
        let topic = rxchain_trace_types::topics::pack(&PackId {
            gtin: GTIN.into(),
            serial,
        });
        let started = Instant::now();
        let found = chain.node.events(&topic, 1_000)?;
        random_history.push(started.elapsed().as_secs_f64() * 1000.0);
        if found.is_empty() {
            bail!("a commissioned pack has no history");
        }
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(chain.serve(listener));
    let client = reqwest::Client::new();
    let url = format!("http://{address}/01/{GTIN}/21/{}", hot.serial);
    let mut verification = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let started = Instant::now();
        let response = client
            .get(&url)
            .header("accept", "text/html")
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        verification.push(started.elapsed().as_secs_f64() * 1000.0);
        if !status.is_success() || !body.contains("Where it has been") {
            bail!("verification page failed: {status}");
        }
    }
    server.abort();
    chain.node.shutdown();
    let (history_ms_p50, history_ms_p99) = sorted_percentiles(history);
    let (random_history_ms_p50, random_history_ms_p99) = sorted_percentiles(random_history);
    let (verification_page_ms_p50, verification_page_ms_p99) = sorted_percentiles(verification);
    Ok(QueryReport {
        packs,
        commission_seconds,
        hot_pack_events,
        history_ms_p50,
        history_ms_p99,
        random_history_ms_p50,
        random_history_ms_p99,
        verification_page_ms_p50,
        verification_page_ms_p99,
        lookups,
    })
}

/// Figures of the EPCIS capture benchmark.
#[derive(Debug, Serialize)]
pub struct CaptureReport {
    pub events: u64,
    pub events_per_document: u64,
    pub seconds: f64,
    pub events_per_second: f64,
    pub transactions_submitted: u64,
}

/// EPCIS capture into the mempool path: documents of commissioning ObjectEvents (one SGTIN
/// each) posted over HTTP; counts events accepted (validated, mapped, signed, admitted).
pub async fn run_capture(events: u64, events_per_document: u64) -> Result<CaptureReport> {
    let chain = BenchChain::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(chain.serve(listener));
    let client = reqwest::Client::new();
    let token = rxchain_trace::epcis::capture_token(&chain.key);
    let documents: Vec<String> = (0..events.div_ceil(events_per_document))
        .map(|document| {
            let list: Vec<serde_json::Value> = (0..events_per_document)
                .map(|index| {
                    let number = document * events_per_document + index + 1;
                    serde_json::json!({
                        "type": "ObjectEvent",
                        "eventTime": "2026-11-26T08:00:00+08:00",
                        "eventTimeZoneOffset": "+08:00",
                        "action": "ADD",
                        "bizStep": "commissioning",
                        "epcList": [format!("urn:epc:id:sgtin:9506000.013435.C{number}")],
                        "ilmd": {"cbvmda:lotNumber": "L1", "cbvmda:itemExpirationDate": "2028-12-31"},
                    })
                })
                .collect();
            serde_json::json!({
                "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                "type": "EPCISDocument",
                "schemaVersion": "2.0",
                "creationDate": "2026-11-26T08:00:00Z",
                "epcisBody": {"eventList": list},
            })
            .to_string()
        })
        .collect();
    let sender = chain.sender;
    let before = chain.node.storage().next_nonce(&sender)?;
    let mut heads = chain.node.subscribe_head();
    let started = Instant::now();
    for document in &documents {
        // Sustained capture: one sender may run at most the nonce gap ahead of its commits, so
        // when the backlog is large, wait for blocks (the capture path is then commit-bound).
        while chain.node.mempool_len() > 800 {
            if tokio::time::timeout(Duration::from_millis(STALL_TIMEOUT_MS), heads.changed())
                .await
                .is_err()
            {
                bail!("no block for {STALL_TIMEOUT_MS} ms");
            }
        }
        let response = client
            .post(format!("http://{address}/capture"))
            .header("content-type", "application/ld+json")
            .header("authorization", format!("Bearer {token}"))
            .body(document.clone())
            .send()
            .await?;
        if response.status().as_u16() != 202 {
            bail!("capture refused: {}", response.text().await?);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let transactions_submitted =
        chain.node.storage().next_nonce(&sender)? - before + chain.node.mempool_len() as u64;
    chain.node.shutdown();
    server.abort();
    let captured = events.div_ceil(events_per_document) * events_per_document;
    Ok(CaptureReport {
        events: captured,
        events_per_document,
        seconds,
        events_per_second: captured as f64 / seconds,
        transactions_submitted,
    })
}

/// What `rxchain bench --nodes N` measures.
#[derive(Clone, Debug)]
pub struct ClusterBenchOptions {
    pub nodes: usize,
    pub consensus: String,
    pub duration_seconds: u64,
    /// Open-loop submissions per second; `None` submits flat out (bounded by `window`).
    pub rate: Option<u64>,
    /// Most transactions submitted ahead of the last final one (the mempool's per-sender
    /// nonce window bounds this).
    pub window: u64,
    /// Concurrent HTTP clients.
    pub clients: usize,
    /// The nodes' pipelining depth (`proposals_in_flight` in their configs); `None`: default.
    pub proposals_in_flight: Option<u64>,
    /// One-way latency added to every message between the nodes (fault injection).
    pub network_delay_ms: u64,
}

/// Figures of a cluster run.
#[derive(Debug, Serialize)]
pub struct ClusterBenchReport {
    pub nodes: usize,
    pub consensus: String,
    pub rate: Option<u64>,
    pub transactions: u64,
    pub seconds: f64,
    pub tps: f64,
    pub blocks: u64,
    /// Blocks proposed while their parent was not final yet (pipelining), over all nodes.
    pub pipelined_blocks: u64,
    pub proposals_in_flight: Option<u64>,
    pub network_delay_ms: u64,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_p99: f64,
    /// CPU seconds of all node processes per 1,000 final transactions (clients excluded).
    pub cpu_seconds_per_1000_transactions: f64,
    /// From SIGKILL of the primary to the first final block proposed by another validator.
    pub failover_ms: f64,
}

/// Clock ticks of CPU (user + system) a process used so far, in seconds.
fn process_cpu_seconds(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = text.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields
        .get(11..13)
        .map(|pair| {
            pair.iter()
                .filter_map(|field| field.parse::<f64>().ok())
                .sum::<f64>()
        })
        .unwrap_or(0.0)
        / 100.0
}

/// Starts a local cluster of `rxchain node` processes (this executable), submits signed
/// `commission` transactions over HTTP from `clients` concurrent clients spread over the nodes,
/// measures final throughput and submit-to-final latency, then kills the primary and measures
/// the time to the next final block from a new primary.
pub async fn run_cluster(options: ClusterBenchOptions) -> Result<ClusterBenchReport> {
    if options.nodes < 2 {
        bail!("--nodes must be at least 2 for a cluster (use the solo benchmark for one)");
    }
    // Kept when the run fails, so the nodes' logs can be read.
    let dir =
        std::env::temp_dir().join(format!("rxchain-bench-{}", rxchain_node::runtime::now_ms()));
    let result = cluster_run(&dir, options).await;
    match &result {
        Ok(_) => {
            let _ = std::fs::remove_dir_all(&dir);
        }
        Err(_) => eprintln!("node logs kept in {}", dir.join("chain").display()),
    }
    result
}

/// One cluster measurement: start the processes, sign before the clock starts, submit flat
/// out or at a rate, collect latencies, kill the primary and time the failover. Long because
/// it is one experiment read top to bottom, its phases sharing the cluster and the clients.
async fn cluster_run(
    dir: &std::path::Path,
    options: ClusterBenchOptions,
) -> Result<ClusterBenchReport> {
    use crate::client::Client;
    use crate::cluster::{Cluster, Ports, wait_for_heads, write_node_configs};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let root = dir.join("chain");
    let consortium = create_dev_consortium(
        &root,
        &DevOptions {
            genesis_time_ms: rxchain_node::runtime::now_ms(),
            block_interval_ms: 5,
            consensus: options.consensus.clone(),
            validators: options.nodes,
            network_latency_ms: options.network_delay_ms,
            system_contracts: crate::modules::system_contracts(),
            ..DevOptions::default()
        },
    )?;
    let api_port = crate::cluster::free_port_base(options.nodes as u16, None)?;
    let p2p_port = crate::cluster::free_port_base(options.nodes as u16, Some(api_port))?;
    let configs = write_node_configs(&root, &consortium, Ports { api_port, p2p_port })?;
    for config in &configs {
        let mut text = std::fs::read_to_string(config)?;
        if let Some(depth) = options.proposals_in_flight {
            text.push_str(&format!("proposals_in_flight = {depth}\n"));
        }
        if options.network_delay_ms > 0 {
            text.push_str("fault_injection = true\n");
        }
        std::fs::write(config, text)?;
    }
    let mut cluster = Cluster::spawn(&std::env::current_exe()?, &configs, &root)?;
    let clients: Vec<Client> = (0..options.nodes)
        .map(|index| Client::new(&format!("http://127.0.0.1:{}", api_port + index as u16)))
        .collect();
    wait_for_heads(
        &clients,
        options.nodes - 1,
        Duration::from_millis(STALL_TIMEOUT_MS),
    )
    .await?;
    if options.network_delay_ms > 0 {
        for client in &clients {
            client
                .post(
                    "/v1/faults/delay",
                    &serde_json::json!({ "milliseconds": options.network_delay_ms }),
                )
                .await?;
        }
    }

    let genesis = Genesis::load(&consortium.genesis_path)?;
    let key = read_key(&consortium.member_key("huaxin-pharma"))?.signing_key;
    let sign = |nonce: u64, method: &str, args: Vec<u8>| {
        TransactionBody::call(
            &genesis.chain_id,
            &key,
            nonce,
            EXPIRY_HEIGHT,
            "trace",
            method,
            args,
        )
        .sign(&key)
        .encode()
    };
    let product = bench_product();
    let id = clients[0]
        .submit(&sign(0, "register_product", borsh::to_vec(&product)?))
        .await?;
    clients[0]
        .wait(&id, Duration::from_millis(STALL_TIMEOUT_MS))
        .await?;

    // Sign everything the run can use before the clock starts.
    let ceiling = options.rate.unwrap_or(20_000).max(1) * options.duration_seconds.max(1);
    let signed: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..ceiling)
            .map(|index| {
                let args = commission_args(format!("B{:09}", index + 1));
                sign(
                    1 + index,
                    "commission",
                    borsh::to_vec(&args).expect("encodes"),
                )
            })
            .collect(),
    );
    let pids: Vec<u32> = (0..options.nodes)
        .filter_map(|index| cluster.pid(index))
        .collect();
    let cpu = || {
        pids.iter()
            .map(|pid| process_cpu_seconds(*pid))
            .sum::<f64>()
    };
    let start_height = clients[0].chain().await?["head"]["height"]
        .as_u64()
        .unwrap_or(0);

    let started = Instant::now();
    let cpu_start = cpu();
    let deadline = started + Duration::from_secs(options.duration_seconds);
    let next = Arc::new(AtomicU64::new(0));
    let committed = Arc::new(AtomicU64::new(0));
    let submitted_at: Arc<Vec<AtomicU64>> =
        Arc::new((0..ceiling).map(|_| AtomicU64::new(0)).collect());
    let finished = Arc::new(AtomicU64::new(0));
    let client_count = options.clients.max(1);
    let mut tasks = Vec::new();
    for client_index in 0..client_count {
        let clients = clients.clone();
        let (next, committed, submitted_at, signed) = (
            next.clone(),
            committed.clone(),
            submitted_at.clone(),
            signed.clone(),
        );
        let (rate, window) = (options.rate, options.window);
        let finished = finished.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                // Stop taking work at the deadline; work taken is always submitted, because
                // a nonce left out would keep every later one from becoming final.
                if Instant::now() >= deadline {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= signed.len() as u64 {
                    break;
                }
                if let Some(rate) = rate {
                    // Open loop: transaction i goes out at i / rate seconds.
                    let due = started + Duration::from_secs_f64(index as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                while index >= committed.load(Ordering::Relaxed) + window {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                submitted_at[index as usize]
                    .store(started.elapsed().as_micros() as u64 + 1, Ordering::Relaxed);
                // A node behind the others refuses nonces too far ahead of what it has
                // committed; like any client, try the next node a moment later.
                let mut attempt = 0usize;
                loop {
                    let target = &clients[(client_index + attempt) % clients.len()];
                    match target.submit(&signed[index as usize]).await {
                        Ok(_) => break,
                        Err(error)
                            if ["duplicate", "nonce_used"]
                                .iter()
                                .any(|code| error.to_string().contains(code)) =>
                        {
                            break;
                        }
                        Err(error) => {
                            attempt += 1;
                            if attempt.is_multiple_of(100) {
                                tracing::warn!(%error, index, "a benchmark submission keeps failing");
                            }
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    }
                }
            }
            finished.fetch_add(1, Ordering::Relaxed);
        }));
    }
    // Watch finality on node 0: the sender's committed nonce counts final transactions.
    let mut latencies = Vec::new();
    let mut final_count = 0u64;
    let mut last_progress = Instant::now();
    loop {
        let nonce = clients[0].next_nonce(&key).await?;
        let now_final = nonce.saturating_sub(1).min(ceiling);
        if now_final > final_count {
            let now_us = started.elapsed().as_micros() as u64;
            for index in final_count..now_final {
                let at = submitted_at[index as usize].load(Ordering::Relaxed);
                if at > 0 {
                    latencies.push(now_us.saturating_sub(at - 1) as f64 / 1000.0);
                }
            }
            final_count = now_final;
            committed.store(final_count, Ordering::Relaxed);
            last_progress = Instant::now();
        }
        let all_sent = finished.load(Ordering::Relaxed) == client_count as u64;
        if all_sent && final_count >= next.load(Ordering::Relaxed).min(ceiling) {
            break;
        }
        if last_progress.elapsed() > Duration::from_millis(STALL_TIMEOUT_MS) {
            bail!("no transaction became final for {STALL_TIMEOUT_MS} ms ({final_count} final)");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu_used = cpu() - cpu_start;
    let end_height = clients[0].chain().await?["head"]["height"]
        .as_u64()
        .unwrap_or(0);
    latencies.sort_by(|a, b| a.total_cmp(b));
    let mut pipelined_blocks = 0.0;
    for client in &clients {
        pipelined_blocks += client
            .metric("rxchain_blocks_proposed_on_pending_parent_total")
            .await?;
    }

    // Failover: kill the primary while a trickle of transactions keeps arriving elsewhere.
    let info = clients[0].chain().await?;
    let primary_key = info["primary"].as_str().unwrap_or_default().to_string();
    let primary = (0..options.nodes)
        .find(|index| {
            read_key(&consortium.validator_key_at(*index))
                .map(|key| hex::encode(key.signing_key.verifying_key().as_bytes()) == primary_key)
                .unwrap_or(false)
        })
        .ok_or_else(|| anyhow::anyhow!("no primary reported"))?;
    let survivor = &clients[(primary + 1) % options.nodes];
    let kill_height = survivor.chain().await?["head"]["height"]
        .as_u64()
        .unwrap_or(0);
    let mut nonce = 1 + final_count;
    let killed = Instant::now();
    cluster.kill(primary)?;
    let failover_ms = loop {
        if killed.elapsed() > Duration::from_millis(STALL_TIMEOUT_MS) {
            bail!("no block from a new primary within {STALL_TIMEOUT_MS} ms");
        }
        let args = commission_args(format!("F{nonce:09}"));
        if survivor
            .submit(&sign(nonce, "commission", borsh::to_vec(&args)?))
            .await
            .is_ok()
        {
            nonce += 1;
        }
        let height = survivor.chain().await?["head"]["height"]
            .as_u64()
            .unwrap_or(0);
        let mut found = None;
        for at in kill_height + 1..=height {
            let block = survivor.get(&format!("/v1/blocks/{at}")).await?;
            if block["header"]["proposer"].as_str() != Some(primary_key.as_str()) {
                found = Some(killed.elapsed().as_secs_f64() * 1000.0);
                break;
            }
        }
        if let Some(elapsed) = found {
            break elapsed;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    drop(cluster);
    Ok(ClusterBenchReport {
        nodes: options.nodes,
        consensus: options.consensus,
        rate: options.rate,
        transactions: final_count,
        seconds,
        tps: final_count as f64 / seconds,
        blocks: end_height.saturating_sub(start_height),
        pipelined_blocks: pipelined_blocks as u64,
        proposals_in_flight: options.proposals_in_flight,
        network_delay_ms: options.network_delay_ms,
        latency_ms_p50: percentile(&latencies, 0.50),
        latency_ms_p95: percentile(&latencies, 0.95),
        latency_ms_p99: percentile(&latencies, 0.99),
        cpu_seconds_per_1000_transactions: cpu_used / final_count.max(1) as f64 * 1000.0,
        failover_ms,
    })
}
