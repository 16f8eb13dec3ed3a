//! `rxchain bench`: single-node throughput of `trace` transactions executed by the wasm
//! contract, end to end (admission with signature check, block building, execution, synced
//! commit). Multi-node benchmarks come with the multi-node work.
//!
//! The transactions are signed before the clock starts; the node runs in-process on a fresh
//! RocksDB folder. Submission keeps at most `window` transactions ahead of the committed nonce
//! (the mempool's per-sender limit), so the figure is sustained throughput, not a burst into
//! an unbounded queue.

use anyhow::{Result, bail};
use rxchain_contract_types::trace::{CommissionArgs, PackId, Product, ShipArgs, ShipmentIdArgs};
use rxchain_genesis::Genesis;
use rxchain_genesis::dev::{DevOptions, create_dev_consortium};
use rxchain_genesis::keystore::read_key;
use rxchain_node::mempool::MempoolLimits;
use rxchain_node::transaction::TransactionBody;
use rxchain_node::{Node, NodeConfig};
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
    key: ed25519_dalek::SigningKey,
    sender: [u8; 32],
}

const GTIN: &str = "09506000134352";
/// Block height up to which benchmark transactions stay valid.
const EXPIRY_HEIGHT: u64 = 100_000;

impl BenchChain {
    async fn start() -> Result<BenchChain> {
        let dir = tempfile::tempdir()?;
        let consortium = create_dev_consortium(
            &dir.path().join("chain"),
            &DevOptions {
                block_interval_ms: 10,
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
            capture_keys: vec![read_key(&consortium.member_key("huaxin-pharma"))?.signing_key],
        })?;
        node.start()?;
        let key = read_key(&consortium.member_key("huaxin-pharma"))?.signing_key;
        let sender = key.verifying_key().to_bytes();
        let chain = BenchChain {
            _dir: dir,
            consortium,
            genesis,
            node,
            key,
            sender,
        };
        let product = Product {
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
        };
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
                let args = CommissionArgs {
                    gtin: GTIN.into(),
                    serial: format!("B{:09}", index + 1),
                    lot: "BENCH1".into(),
                    expiry: "301231".into(),
                };
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
                let args = CommissionArgs {
                    gtin: GTIN.into(),
                    serial: format!("B{:09}", done + index + 1),
                    lot: "BENCH1".into(),
                    expiry: "301231".into(),
                };
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
    let hot_topic = rxchain_contract_types::trace::topics::pack(&hot);
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
        let topic = rxchain_contract_types::trace::topics::pack(&PackId {
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
    let server = tokio::spawn(rxchain_node::api::serve(
        chain.node.clone(),
        listener,
        std::future::pending(),
    ));
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
    let server = tokio::spawn(rxchain_node::api::serve(
        chain.node.clone(),
        listener,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let token = rxchain_node::epcis::capture_token(&chain.key);
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
