//! `rxchain bench`: single-node throughput of `trace` transactions executed by the wasm
//! contract, end to end (admission with signature check, block building, execution, synced
//! commit). Multi-node benchmarks come with the multi-node work.
//!
//! The transactions are signed before the clock starts; the node runs in-process on a fresh
//! RocksDB folder. Submission keeps at most `window` transactions ahead of the committed nonce
//! (the mempool's per-sender limit), so the figure is sustained throughput, not a burst into
//! an unbounded queue.

use anyhow::{Result, bail};
use rxchain_contract_types::trace::{CommissionArgs, Product};
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

pub async fn run(transactions: u64, window: u64) -> Result<BenchReport> {
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
    })?;
    node.start()?;
    let key = read_key(&consortium.member_key("huaxin-pharma"))?.signing_key;
    let sender = key.verifying_key().to_bytes();
    let gtin = "09506000134352";
    let product = Product {
        gtin: gtin.into(),
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
    let expiry = 1_000_000 / 10;
    let sign = |nonce: u64, method: &str, args: Vec<u8>| {
        TransactionBody::call(
            &genesis.chain_id,
            &key,
            nonce,
            expiry,
            "trace",
            method,
            args,
        )
        .sign(&key)
        .encode()
    };
    let id = node.submit(&sign(0, "register_product", borsh::to_vec(&product)?))?;
    if node
        .wait_for_commit(&id, Duration::from_secs(30))
        .await?
        .is_none()
    {
        bail!("product registration did not commit");
    }
    let signed: Vec<Vec<u8>> = (1..=transactions)
        .map(|nonce| {
            let args = CommissionArgs {
                gtin: gtin.into(),
                serial: format!("B{nonce:09}"),
                lot: "BENCH1".into(),
                expiry: "301231".into(),
            };
            sign(nonce, "commission", borsh::to_vec(&args).expect("encodes"))
        })
        .collect();

    let mut heads = node.subscribe_head();
    let start_height = node.head().height;
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    let mut submitted_at = Vec::with_capacity(signed.len());
    let mut latencies = Vec::with_capacity(signed.len());
    let mut next_to_submit = 0usize;
    let mut committed = 0u64;
    while committed < transactions {
        while next_to_submit < signed.len() && (next_to_submit as u64) < committed + window {
            node.submit(&signed[next_to_submit])?;
            submitted_at.push(Instant::now());
            next_to_submit += 1;
        }
        match tokio::time::timeout(Duration::from_millis(STALL_TIMEOUT_MS), heads.changed()).await {
            Ok(Ok(())) => {}
            _ => {
                bail!("no block for {STALL_TIMEOUT_MS} ms; {committed} of {transactions} committed")
            }
        }
        // Nonce 0 was the product; commission k has nonce k.
        let now_committed = node.storage().next_nonce(&sender)?.saturating_sub(1);
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
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let blocks = node.head().height - start_height;
    node.shutdown();
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
