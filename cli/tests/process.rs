//! The `rxchain` binary as a real process: SIGKILL while transactions stream in loses no block
//! the node reported committed; the demo serves the histories it prints.

mod common;

use common::{amoxicillin, commission};
use rxchain_cli::client::Client;
use rxchain_genesis::keystore::read_key;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_rxchain");
/// Longest a process may take to print what a test waits for.
const STARTUP_TIMEOUT_MS: u64 = 60_000;

/// A child process whose stdout lines arrive on a channel; killed when dropped.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Process {
    fn spawn(arguments: &[&str]) -> Process {
        let mut child = Command::new(BINARY)
            .args(arguments)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("rxchain starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Process { child, lines }
    }

    /// The first line containing `needle`, waiting up to the startup deadline.
    fn line_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_millis(STARTUP_TIMEOUT_MS);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(error) => panic!("no line with '{needle}': {error}"),
            }
        }
    }

    /// Waits for the process to exit, up to `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "process did not exit in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn url_in(line: &str) -> String {
    line.split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("a URL in the line")
        .to_string()
}

fn start_node(config: &Path) -> (Process, Client) {
    let (process, url) = start_node_at(config);
    (process, Client::new(&url))
}

fn start_node_at(config: &Path) -> (Process, String) {
    let process = Process::spawn(&["node", "--config", config.to_str().unwrap()]);
    let url = url_in(&process.line_with("serving"));
    (process, url)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sigkill_while_transactions_stream_in_loses_no_committed_block() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain");
    let status = Command::new(BINARY)
        .args([
            "genesis",
            "new",
            "--dir",
            chain.to_str().unwrap(),
            "--block-interval-ms",
            "10",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let config = chain.join("node.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:8640", "127.0.0.1:0");
    std::fs::write(&config, text).unwrap();
    let key = read_key(&chain.join("keys/huaxin-pharma.key"))
        .unwrap()
        .signing_key;
    let runtime = runtime();

    let (mut process, client) = start_node(&config);
    let gtin = "09506000134352";
    let product = amoxicillin(gtin);
    let (confirmed, last_block) = runtime.block_on(async {
        let id = client
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
        client.wait(&id, Duration::from_secs(30)).await.unwrap();
        // Stream commissions, 8 in flight; remember every one the node reported committed.
        let mut confirmed: Vec<(String, u64)> = Vec::new();
        let mut in_flight: Vec<String> = Vec::new();
        let mut nonce = 1u64;
        while confirmed.len() < 60 {
            while in_flight.len() < 8 {
                let id = commission(&client, &key, gtin, &format!("SN{nonce}"), nonce)
                    .await
                    .unwrap();
                in_flight.push(id);
                nonce += 1;
            }
            let id = in_flight.remove(0);
            let status = client.wait(&id, Duration::from_secs(30)).await.unwrap();
            assert_eq!(status["receipt"]["status"], "success", "{status}");
            confirmed.push((id, status["height"].as_u64().unwrap()));
        }
        let last_height = confirmed.last().unwrap().1;
        let block = client
            .get(&format!("/v1/blocks/{last_height}"))
            .await
            .unwrap();
        (confirmed, block)
    });
    // Kill -9 with transactions still in flight.
    process.child.kill().unwrap();
    process.wait_exit(Duration::from_secs(10));

    let (_process, url) = start_node_at(&config);
    let client = Client::new(&url);
    runtime.block_on(async {
        for (id, height) in &confirmed {
            let status = client.get(&format!("/v1/transactions/{id}")).await.unwrap();
            assert_eq!(status["status"], "committed", "{id} lost after SIGKILL");
            assert_eq!(status["height"].as_u64(), Some(*height));
        }
        let height = last_block["header"]["height"].as_u64().unwrap();
        let again: Value = client.get(&format!("/v1/blocks/{height}")).await.unwrap();
        assert_eq!(again["hash"], last_block["hash"]);
        assert_eq!(
            again["header"]["state_root"],
            last_block["header"]["state_root"]
        );
        // The restarted node goes on: the next nonce the node expects commits.
        let nonce = client.next_nonce(&key).await.unwrap();
        let id = commission(&client, &key, gtin, "AFTER1", nonce)
            .await
            .unwrap();
        let status = client.wait(&id, Duration::from_secs(30)).await.unwrap();
        assert_eq!(status["receipt"]["status"], "success");
    });
    // `rxchain tx --no-wait` twice in a row from one key: the second takes the nonce after
    // the first's, which is still queued, and both commit.
    let mut ids = Vec::new();
    for serial in ["NOWAIT1", "NOWAIT2"] {
        let arguments = format!(
            r#"{{"gtin": "{gtin}", "serial": "{serial}", "lot": "L1", "expiry": "281231"}}"#
        );
        let output = Command::new(BINARY)
            .args(["tx", "--node", &url, "--key"])
            .arg(chain.join("keys/huaxin-pharma.key"))
            .args(["--contract", "trace", "--method", "commission", "--args"])
            .arg(&arguments)
            .arg("--no-wait")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "rxchain tx --no-wait: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        ids.push(String::from_utf8(output.stdout).unwrap().trim().to_string());
    }
    runtime.block_on(async {
        for id in &ids {
            let status = client.wait(id, Duration::from_secs(30)).await.unwrap();
            assert_eq!(status["receipt"]["status"], "success", "{status}");
        }
    });
}

#[test]
fn demo_serves_verification_pages_and_bundles_that_verify_offline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let mut process = Process::spawn(&[
        "demo",
        "--dir",
        data.to_str().unwrap(),
        "--api",
        "127.0.0.1:0",
    ]);
    let link = url_in(&process.line_with("/01/"));
    process.line_with("Serving until Ctrl-C");
    let runtime = runtime();
    let (base, path) = link.split_at(link.find("/01/").unwrap());
    let client = Client::new(base);

    // A program gets the proof bundle.
    let bundle = runtime.block_on(client.get(path)).unwrap();
    let statement = &bundle["body"]["statement"];
    let timeline = statement["timeline"].as_array().unwrap();
    // The first printed pack: made, shipped and received twice, then dispensed by the pharmacy.
    let steps: Vec<&str> = timeline
        .iter()
        .map(|item| item["step"]["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "commissioning",
            "shipping",
            "receiving",
            "shipping",
            "receiving",
            "dispensing"
        ]
    );
    assert_eq!(statement["verdict"]["code"], "already_dispensed");
    assert_eq!(statement["product"]["name"], "Amoxicillin Capsules");

    // A person gets the page.
    let html = runtime.block_on(async {
        reqwest::Client::new()
            .get(&link)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(html.contains("Already dispensed"), "{html}");
    assert!(html.contains("Huaxin Pharmaceutical Co."));
    assert!(html.contains("Dispensed to a patient"));
    assert!(html.contains("<html lang=\"en\">"));
    // Dates for people, not as on the label (the demo's expiry is 281130).
    assert!(
        html.contains("2028-11-30") && !html.contains("281130"),
        "{html}"
    );

    // In Chinese for a browser that prefers it, and by the page's switch either way.
    let page = |url: String, accept_language: &'static str| {
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .get(url)
                .header("accept", "text/html")
                .header("accept-language", accept_language)
                .send()
                .await
                .unwrap();
            let vary = response.headers()["vary"].to_str().unwrap().to_string();
            (vary, response.text().await.unwrap())
        })
    };
    let (vary, chinese) = page(link.clone(), "zh-CN,zh;q=0.9,en;q=0.8");
    assert!(vary.contains("Accept-Language"), "{vary}");
    assert!(chinese.contains("<html lang=\"zh-CN\">"), "{chinese}");
    assert!(chinese.contains("已发药") && chinese.contains("发药给患者"));
    assert!(chinese.contains("2028年11月30日"));
    assert!(chinese.contains("href=\"?lang=en\""), "a switch to English");
    let (_, switched) = page(format!("{link}?lang=en"), "zh-CN");
    assert!(switched.contains("Already dispensed") && switched.contains("href=\"?lang=zh\""));

    // The bundle verifies offline with the genesis file, and a changed value does not.
    let bundle_path = dir.path().join("bundle.json");
    std::fs::write(&bundle_path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
    let genesis = data.join("genesis.toml");
    let verify = |path: &Path| {
        Command::new(BINARY)
            .args([
                "verify",
                path.to_str().unwrap(),
                "--genesis",
                genesis.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let output = verify(&bundle_path);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("VERIFIED"));
    let text = std::fs::read_to_string(&bundle_path).unwrap();
    for (from, to) in [
        ("\"dispensing\"", "\"receiving\""),
        ("AMX000001", "AMX000009"),
        ("\"checked_at_ms\": 1", "\"checked_at_ms\": 2"),
    ] {
        let tampered_path = dir.path().join("tampered.json");
        assert!(text.contains(from), "{from}");
        std::fs::write(&tampered_path, text.replacen(from, to, 1)).unwrap();
        let output = verify(&tampered_path);
        assert!(
            !output.status.success(),
            "a bundle with {from} changed to {to} verified"
        );
    }
    // Flipping one hex digit of a proof breaks it too.
    let header_start = text.find("\"header\": \"").unwrap() + 12;
    let mut bytes = text.clone().into_bytes();
    bytes[header_start + 10] = if bytes[header_start + 10] == b'0' {
        b'1'
    } else {
        b'0'
    };
    let tampered_path = dir.path().join("tampered.json");
    std::fs::write(&tampered_path, bytes).unwrap();
    assert!(!verify(&tampered_path).status.success());

    let status = Command::new("kill")
        .args(["-TERM", &process.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = process.wait_exit(Duration::from_secs(30));
    assert!(exit.success(), "demo exit status {exit}");
}
