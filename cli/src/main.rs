//! `rxchain`: keys, genesis, node, transactions, queries and the demo.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use rxchain_cli::client::{Client, DEFAULT_EXPIRY_BLOCKS};
use rxchain_cli::config::{NodeConfigFile, default_api_listen};
use rxchain_cli::{cluster, story};
use rxchain_genesis::Genesis;
use rxchain_genesis::dev::{DevConsortium, DevOptions, create_dev_consortium};
use rxchain_genesis::keystore::{generate, read_key, write_key};
use rxchain_node::Node;
use rxchain_node::app::Modules;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "rxchain",
    version,
    about = "A consortium blockchain for the pharmaceutical supply chain"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new Ed25519 key file (mode 0600).
    Keygen {
        /// Where to write the key file.
        #[arg(long)]
        out_dir: PathBuf,
        /// The key's name; the file is <name>.key.
        #[arg(long)]
        name: String,
        /// The organization the key acts for.
        #[arg(long)]
        organization: String,
    },
    /// Genesis files.
    Genesis {
        #[command(subcommand)]
        command: GenesisCommand,
    },
    /// Run a node from a configuration file.
    Node {
        #[arg(long)]
        config: PathBuf,
    },
    /// Build, sign and send a transaction, and wait for its receipt.
    Tx {
        /// The node's API address.
        #[arg(long, default_value = "http://127.0.0.1:8640")]
        node: String,
        /// The sender's key file.
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        method: String,
        /// Arguments as JSON (system contracts).
        #[arg(long, conflicts_with = "args_hex")]
        args: Option<String>,
        /// Arguments as hex of their canonical bytes (any contract).
        #[arg(long)]
        args_hex: Option<String>,
        /// Use this nonce instead of asking the node for the next one.
        #[arg(long)]
        nonce: Option<u64>,
        /// Blocks from now until the transaction expires.
        #[arg(long, default_value_t = DEFAULT_EXPIRY_BLOCKS)]
        expiry_blocks: u64,
        /// Return after submitting instead of waiting for the receipt.
        #[arg(long)]
        no_wait: bool,
        /// Longest wait for the receipt, in seconds.
        #[arg(long, default_value_t = 30)]
        timeout_seconds: u64,
    },
    /// Run a read-only contract query.
    Query {
        #[arg(long, default_value = "http://127.0.0.1:8640")]
        node: String,
        #[arg(long)]
        contract: String,
        #[arg(long)]
        name: String,
        /// Arguments as JSON.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// The traceability module's subcommands: `label`, `capture-token`, `verify`.
    #[command(flatten)]
    Trace(rxchain_trace::commands::Command),
    /// Measure throughput of trace transactions run by the wasm contract: one in-process node,
    /// or with `--nodes N` a local cluster of node processes (plus failover after killing the
    /// primary); or (with `--scenario queries`) history and verification-page times.
    Bench {
        /// `throughput`, `queries`, `capture` or `squatting` (every member but one parks
        /// transactions in the mempool; the last one's rate against a clean run).
        #[arg(long, default_value = "throughput")]
        scenario: String,
        /// Transactions to commit (throughput).
        #[arg(long, default_value_t = 20_000)]
        transactions: u64,
        /// Packs to commission first (queries).
        #[arg(long, default_value_t = 1_000_000)]
        packs: u64,
        /// EPCIS events to capture (capture).
        #[arg(long, default_value_t = 10_000)]
        events: u64,
        /// Events per EPCIS document (capture).
        #[arg(long, default_value_t = 100)]
        events_per_document: u64,
        /// Lookups to time (queries).
        #[arg(long, default_value_t = 1_000)]
        lookups: usize,
        /// Most transactions submitted ahead of the last committed one.
        #[arg(long, default_value_t = 1_000)]
        window: u64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Validators: more than one starts a local cluster of node processes and measures it
        /// (throughput, latency, CPU, and failover after killing the primary).
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Engine of the cluster.
        #[arg(long, default_value = "pbft")]
        consensus: String,
        /// Seconds of submissions (cluster).
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Open-loop submissions per second (cluster); flat out when not given.
        #[arg(long)]
        rate: Option<u64>,
        /// Concurrent HTTP clients (cluster), spread over the nodes.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Blocks the primary (leader) proposes before the first is final (cluster); 1 turns
        /// pipelining off. The engine's default when not given.
        #[arg(long)]
        proposals_in_flight: Option<u64>,
        /// A one-way latency in ms on every consensus message and gossip between the nodes
        /// (cluster; through fault injection), as between members' data centres.
        #[arg(long, default_value_t = 0)]
        network_delay_ms: u64,
    },
    /// Start a local consortium with sample data and print what to open.
    Demo {
        /// Data folder (default: a fresh folder under the system's temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// API listen address.
        #[arg(long, default_value_t = default_api_listen())]
        api: String,
        /// Tell the story, print, and exit instead of serving (for scripts and tests).
        #[arg(long)]
        exit_after_seed: bool,
        /// Validators; with more than one, nodes 1.. run as `rxchain node` child processes.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// `solo` (one node) or `pbft`; default: solo for one node, pbft for more.
        #[arg(long)]
        consensus: Option<String>,
        /// Node i's libp2p transport listens on this port + i.
        #[arg(long, default_value_t = 7640)]
        p2p_port: u16,
    },
}

#[derive(Subcommand)]
enum GenesisCommand {
    /// Create a development consortium: genesis.toml, contracts/, keys/ and node.toml.
    New {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "rxchain-dev")]
        chain_id: String,
        #[arg(long, default_value_t = 100)]
        block_interval_ms: u64,
        /// Produce blocks even without transactions (solo only).
        #[arg(long)]
        empty_blocks: bool,
        /// `solo` (one validator), `pbft` or `raft`.
        #[arg(long, default_value = "solo")]
        consensus: String,
        /// Validators; each gets a key and a `node-<i>.toml` (4 = 3f+1 with f = 1).
        #[arg(long, default_value_t = 1)]
        validators: usize,
        /// Node i's API listens on this port + i.
        #[arg(long, default_value_t = 8640)]
        api_port: u16,
        /// Node i's libp2p transport listens on this port + i.
        #[arg(long, default_value_t = 7640)]
        p2p_port: u16,
        /// The one-way latency expected between validators (ms); consensus timeouts and the
        /// Raft heartbeat grow with it.
        #[arg(long, default_value_t = 0)]
        network_latency_ms: u64,
    },
    /// Validate a genesis file and print its hash.
    Check { file: PathBuf },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // openraft narrates every vote and append at info level; its warnings are enough.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli.command))
}

/// Runs one subcommand. Long because it is the one `match` over every subcommand, each arm
/// a few lines of argument plumbing and printing; the work lives in the library crate.
async fn run(command: Command) -> Result<()> {
    match command {
        Command::Keygen {
            out_dir,
            name,
            organization,
        } => {
            let key = generate();
            let path = write_key(&out_dir, &name, &organization, &key)?;
            println!("{}", hex::encode(key.verifying_key().as_bytes()));
            eprintln!("wrote {}", path.display());
            Ok(())
        }
        Command::Genesis {
            command:
                GenesisCommand::New {
                    dir,
                    chain_id,
                    block_interval_ms,
                    empty_blocks,
                    consensus,
                    validators,
                    api_port,
                    p2p_port,
                    network_latency_ms,
                },
        } => {
            let consortium = create_dev_consortium(
                &dir,
                &DevOptions {
                    chain_id,
                    genesis_time_ms: rxchain_node::runtime::now_ms(),
                    block_interval_ms,
                    empty_blocks,
                    consensus,
                    validators,
                    network_latency_ms,
                    system_contracts: rxchain_cli::modules::system_contracts(),
                    key_seed: None,
                },
            )?;
            let configs = cluster::write_node_configs(
                &dir,
                &consortium,
                cluster::Ports { api_port, p2p_port },
            )?;
            let genesis = Genesis::load(&consortium.genesis_path)?;
            println!("genesis      {}", consortium.genesis_path.display());
            println!("genesis hash {}", hex::encode(genesis.hash()));
            println!("keys         {}", consortium.keystore.display());
            for config in &configs {
                println!("node config  {}", config.display());
            }
            for config in &configs {
                println!("run it with: rxchain node --config {}", config.display());
            }
            Ok(())
        }
        Command::Genesis {
            command: GenesisCommand::Check { file },
        } => {
            let genesis = Genesis::load(&file)?;
            rxchain_cli::modules::modules(Vec::new()).check_genesis(&genesis)?;
            println!(
                "valid: chain {} with {} organizations, {} members, {} validators; hash {}",
                genesis.chain_id,
                genesis.organizations.len(),
                genesis.members.len(),
                genesis.validators.len(),
                hex::encode(genesis.hash())
            );
            Ok(())
        }
        Command::Node { config } => {
            let config = NodeConfigFile::load(&config)?;
            let (node, modules) = cluster::open_node(&config)?;
            serve_until_interrupted(node, &modules, &config.api_listen, |address| {
                println!("rxchain node serving http://{address}");
            })
            .await
        }
        Command::Tx {
            node,
            key,
            contract,
            method,
            args,
            args_hex,
            nonce,
            expiry_blocks,
            no_wait,
            timeout_seconds,
        } => {
            let key = read_key(&key)?.signing_key;
            let args = match (args, args_hex) {
                (_, Some(hex_text)) => {
                    hex::decode(hex_text.trim()).context("--args-hex is not hex")?
                }
                (Some(json_text), None) => {
                    let value: Value =
                        serde_json::from_str(&json_text).context("--args is not JSON")?;
                    rxchain_cli::modules::modules(Vec::new())
                        .codecs()
                        .encode_arguments(&contract, &method, value)?
                }
                (None, None) => Vec::new(),
            };
            let client = Client::new(&node);
            let id = client
                .send_call(&key, &contract, &method, args, nonce, expiry_blocks)
                .await?;
            if no_wait {
                println!("{id}");
                return Ok(());
            }
            let status = client
                .wait(&id, Duration::from_secs(timeout_seconds))
                .await?;
            println!("{}", serde_json::to_string_pretty(&status)?);
            if status["receipt"]["status"] != "success" {
                bail!(
                    "the transaction was committed but its call failed: {}",
                    status["receipt"]["error_code"]
                );
            }
            Ok(())
        }
        Command::Query {
            node,
            contract,
            name,
            args,
        } => {
            let value: Value = serde_json::from_str(&args).context("--args is not JSON")?;
            let answer = Client::new(&node).query(&contract, &name, &value).await?;
            println!("{}", serde_json::to_string_pretty(&answer["result"])?);
            Ok(())
        }
        Command::Trace(command) => Ok(rxchain_trace::commands::run(command)?),
        Command::Bench {
            scenario,
            transactions,
            events,
            events_per_document,
            packs,
            lookups,
            window,
            json,
            nodes,
            consensus,
            duration,
            rate,
            clients,
            proposals_in_flight,
            network_delay_ms,
        } => {
            if nodes > 1 {
                let report =
                    rxchain_cli::bench::run_cluster(rxchain_cli::bench::ClusterBenchOptions {
                        nodes,
                        consensus,
                        duration_seconds: duration,
                        rate,
                        window,
                        clients,
                        proposals_in_flight,
                        network_delay_ms,
                    })
                    .await?;
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    println!(
                        "nodes {} ({}), rate {}",
                        report.nodes,
                        report.consensus,
                        report
                            .rate
                            .map_or("flat out".to_string(), |rate| format!("{rate} tx/s"))
                    );
                    println!("final transactions {}", report.transactions);
                    println!("seconds            {:.2}", report.seconds);
                    println!("final tx/s         {:.0}", report.tps);
                    println!(
                        "blocks             {} ({} proposed on a parent not final yet)",
                        report.blocks, report.pipelined_blocks
                    );
                    println!(
                        "submit-to-final p50/p95/p99 ms  {:.1} / {:.1} / {:.1}",
                        report.latency_ms_p50, report.latency_ms_p95, report.latency_ms_p99
                    );
                    println!(
                        "CPU s per 1,000 tx {:.3} (all node processes)",
                        report.cpu_seconds_per_1000_transactions
                    );
                    println!(
                        "failover           {:.0} ms (primary killed to next final block)",
                        report.failover_ms
                    );
                }
                return Ok(());
            }
            match scenario.as_str() {
                "throughput" => {
                    let report = rxchain_cli::bench::run(transactions, window).await?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        println!("nodes {} ({})", report.nodes, report.consensus);
                        println!("transactions       {}", report.transactions);
                        println!("seconds            {:.2}", report.seconds);
                        println!("committed tx/s     {:.0}", report.tps);
                        println!("blocks             {}", report.blocks);
                        println!(
                            "latency p50/p95/p99 ms  {:.1} / {:.1} / {:.1}",
                            report.latency_ms_p50, report.latency_ms_p95, report.latency_ms_p99
                        );
                        println!(
                            "CPU s per 1,000 tx {:.3}",
                            report.cpu_seconds_per_1000_transactions
                        );
                    }
                }
                "queries" => {
                    let report = rxchain_cli::bench::run_queries(packs, window, lookups).await?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        println!(
                            "packs commissioned         {} in {:.1} s",
                            report.packs, report.commission_seconds
                        );
                        println!("hot pack events            {}", report.hot_pack_events);
                        println!(
                            "history (hot) p50/p99 ms   {:.3} / {:.3}",
                            report.history_ms_p50, report.history_ms_p99
                        );
                        println!(
                            "history (random) p50/p99   {:.3} / {:.3}",
                            report.random_history_ms_p50, report.random_history_ms_p99
                        );
                        println!(
                            "verification page p50/p99  {:.3} / {:.3} ms ({} requests over HTTP)",
                            report.verification_page_ms_p50,
                            report.verification_page_ms_p99,
                            report.lookups
                        );
                    }
                }
                "capture" => {
                    let report =
                        rxchain_cli::bench::run_capture(events, events_per_document).await?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        println!(
                            "EPCIS events captured      {} ({} per document)",
                            report.events, report.events_per_document
                        );
                        println!("seconds                    {:.2}", report.seconds);
                        println!("events/s into the mempool  {:.0}", report.events_per_second);
                        println!(
                            "transactions submitted     {}",
                            report.transactions_submitted
                        );
                    }
                }
                "squatting" => {
                    let report = rxchain_cli::bench::run_squatting(transactions, window).await?;
                    if json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        println!(
                            "parked by {} members       {} transactions, {} bytes ({} refused)",
                            report.squatters,
                            report.parked_transactions,
                            report.parked_bytes,
                            report.parked_refused
                        );
                        println!("clean tx/s                 {:.0}", report.clean_tps);
                        println!("with squatters tx/s        {:.0}", report.squatted_tps);
                        println!("ratio                      {:.3}", report.ratio);
                    }
                }
                other => {
                    bail!("unknown scenario '{other}': throughput, queries, capture or squatting")
                }
            }
            Ok(())
        }
        Command::Demo {
            dir,
            api,
            exit_after_seed,
            nodes,
            consensus,
            p2p_port,
        } => {
            let consensus =
                consensus.unwrap_or_else(|| if nodes > 1 { "pbft" } else { "solo" }.to_string());
            demo(dir, &api, exit_after_seed, nodes, &consensus, p2p_port).await
        }
    }
}

async fn serve_until_interrupted(
    node: Node,
    modules: &Modules,
    listen: &str,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    on_ready(listener.local_addr()?);
    let shutdown = async {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("shutting down");
    };
    rxchain_node::api::serve(node.clone(), modules, listener, shutdown).await?;
    let head = node.head();
    node.shutdown();
    eprintln!("stopped at height {}", head.height);
    Ok(())
}

/// The demo: a fresh (or resumed) consortium, node 0 in this process and the others as child
/// processes, the sample story, the URLs to open. Long because it is a script read top to
/// bottom; each step is one call into `cluster` or `story`.
async fn demo(
    dir: Option<PathBuf>,
    api: &str,
    exit_after_seed: bool,
    nodes: usize,
    consensus: &str,
    p2p_port: u16,
) -> Result<()> {
    let dir = match dir {
        Some(dir) => dir,
        None => {
            std::env::temp_dir().join(format!("rxchain-demo-{}", rxchain_node::runtime::now_ms()))
        }
    };
    let api_address: std::net::SocketAddr = api
        .parse()
        .with_context(|| format!("--api '{api}' is not an address with a port"))?;
    let fresh = !dir.join("genesis.toml").exists();
    let consortium = if fresh {
        let consortium = create_dev_consortium(
            &dir,
            &DevOptions {
                genesis_time_ms: rxchain_node::runtime::now_ms(),
                block_interval_ms: 50,
                consensus: consensus.to_string(),
                validators: nodes,
                system_contracts: rxchain_cli::modules::system_contracts(),
                ..DevOptions::default()
            },
        )?;
        cluster::write_node_configs(
            &dir,
            &consortium,
            cluster::Ports {
                api_port: api_address.port(),
                p2p_port,
            },
        )?;
        consortium
    } else {
        let genesis = Genesis::load(&dir.join("genesis.toml"))?;
        DevConsortium {
            genesis_path: dir.join("genesis.toml"),
            keystore: dir.join("keys"),
            validators: genesis.validators.len(),
        }
    };
    let configs: Vec<PathBuf> = if consortium.validators == 1 {
        vec![dir.join("node.toml")]
    } else {
        (0..consortium.validators)
            .map(|index| dir.join(format!("node-{index}.toml")))
            .collect()
    };
    // Node 0 runs in this process (the story drives it); the others are child processes,
    // killed when the demo ends.
    let mut own_config = NodeConfigFile::load(&configs[0])?;
    own_config.api_listen = api.to_string();
    let _cluster = cluster::Cluster::spawn(&std::env::current_exe()?, &configs[1..], &dir)?;
    let (node, modules) = cluster::open_node(&own_config)?;
    cluster::wait_for_peers(&node, consortium.validators - 1, Duration::from_secs(60)).await?;
    let listener = tokio::net::TcpListener::bind(api)
        .await
        .with_context(|| format!("listening on {api}"))?;
    let address = listener.local_addr()?;
    let (stop_sender, stop_receiver) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let (node, modules) = (node.clone(), modules.clone());
        async move {
            rxchain_node::api::serve(node, &modules, listener, async {
                let _ = stop_receiver.await;
            })
            .await
        }
    });

    println!("rxchain demo");
    println!("  data folder  {}", dir.display());
    println!("  genesis      {}", consortium.genesis_path.display());
    println!(
        "  consensus    {} with {} validator(s)",
        node.genesis().consensus.kind(),
        consortium.validators
    );
    println!("  node API     http://{address}");
    for (index, config) in configs.iter().enumerate().skip(1) {
        let config = NodeConfigFile::load(config)?;
        println!(
            "  node {index} API   http://{}  (process; log {})",
            config.api_listen,
            dir.join(format!("node-{index}.log")).display()
        );
    }
    if fresh {
        let packs = story::tell(&node, &consortium).await?;
        println!("  chain head   height {}", node.head().height);
        println!();
        println!(
            "Packs on the ledger: open a GS1 Digital Link below in a browser for the verification page,"
        );
        println!(
            "or fetch it as JSON (a proof bundle; check it with rxchain verify FILE --genesis GENESIS):"
        );
        for pack in &packs {
            println!(
                "  {} serial {} lot {} exp {}  {}\n    http://{address}/01/{}/21/{}",
                pack.product,
                pack.id.serial,
                pack.lot,
                pack.expiry,
                pack.fate,
                pack.id.gtin,
                pack.id.serial
            );
        }
    } else {
        println!(
            "  resumed an existing demo chain at height {}",
            node.head().height
        );
    }
    println!();
    println!(
        "More: http://{address}/v1/chain  http://{address}/v1/blocks/1  http://{address}/metrics"
    );
    if exit_after_seed {
        let _ = stop_sender.send(());
    } else {
        println!("Serving until Ctrl-C.");
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        let _ = stop_sender.send(());
    }
    server.await??;
    node.shutdown();
    eprintln!("demo stopped cleanly at height {}", node.head().height);
    Ok(())
}
