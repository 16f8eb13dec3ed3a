//! Cross-crate integration tests of rxchain, and the fixture they share.
//!
//! [`TestChain`] is a real node (RocksDB in a temporary folder, the real wasm system contracts
//! in wasmtime, the solo engine's driver thread) on a fresh development consortium, with helpers
//! that sign transactions as the consortium's organizations and wait for their receipts.
//! Process-level tests of the `rxchain` binary (SIGKILL restart, the demo) live in `cli/tests/`,
//! where Cargo builds the binary for them. [`simulation`] runs four such nodes as a PBFT
//! consortium in virtual time, one of them Byzantine.

pub mod simulation;

use ed25519_dalek::SigningKey;
use rxchain_genesis::Genesis;
use rxchain_genesis::dev::{DevConsortium, DevOptions, create_dev_consortium};
use rxchain_genesis::keystore::read_key;
use rxchain_node::app::Modules;
use rxchain_node::mempool::MempoolLimits;
use rxchain_node::receipt::Receipt;
use rxchain_node::transaction::{SignedTransaction, TransactionBody};
use rxchain_node::{Node, NodeConfig, TransactionError};
use std::time::Duration;

pub use rxchain_genesis::dev::ORGANIZATIONS;

/// Longest a test waits for a transaction to commit.
pub const COMMIT_TIMEOUT_MS: u64 = 20_000;

#[derive(Debug)]
pub struct TestChain {
    pub dir: tempfile::TempDir,
    pub consortium: DevConsortium,
    pub genesis: Genesis,
    pub node: Node,
    /// The application modules, as the `rxchain` binary composes them.
    pub modules: Modules,
}

impl TestChain {
    /// A started node with default limits.
    pub fn start() -> TestChain {
        TestChain::with(MempoolLimits::default(), true)
    }

    pub fn with(mempool: MempoolLimits, start: bool) -> TestChain {
        let dir = tempfile::tempdir().expect("temp dir");
        let consortium = create_dev_consortium(
            &dir.path().join("chain"),
            &DevOptions {
                block_interval_ms: 5,
                system_contracts: rxchain_cli::modules::system_contracts(),
                ..DevOptions::default()
            },
        )
        .expect("dev consortium");
        let genesis = Genesis::load(&consortium.genesis_path).expect("genesis loads");
        let node = Node::open(NodeConfig {
            data_dir: dir.path().join("data"),
            genesis: genesis.clone(),
            validator_key: read_key(&consortium.validator_key()).unwrap().signing_key,
            mempool,
            host: Default::default(),
        })
        .expect("node opens");
        // The fixture's node captures EPCIS for every organization of the consortium.
        let modules = rxchain_cli::modules::modules(
            ORGANIZATIONS
                .iter()
                .map(|organization| {
                    read_key(&consortium.member_key(organization.id))
                        .unwrap()
                        .signing_key
                })
                .collect(),
        );
        modules
            .check_genesis(&genesis)
            .expect("genesis has the modules' contracts");
        if start {
            node.start().expect("node starts");
        }
        TestChain {
            dir,
            consortium,
            genesis,
            node,
            modules,
        }
    }

    /// Serves the node API, with every module, on a free loopback port from a runtime of its
    /// own (dropped with the runtime); returns the runtime and the API's base URL.
    pub fn serve_api(&self) -> (tokio::runtime::Runtime, String) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let (node, modules) = (self.node.clone(), self.modules.clone());
        runtime.spawn(async move {
            rxchain_node::api::serve(node, &modules, listener, std::future::pending()).await
        });
        (runtime, base)
    }

    /// The member key of an organization of the dev consortium.
    pub fn key(&self, organization: &str) -> SigningKey {
        read_key(&self.consortium.member_key(organization))
            .expect("member key")
            .signing_key
    }

    /// The sender's next nonce counting what is queued: committed nonce plus pending ones.
    pub fn next_nonce(&self, key: &SigningKey) -> u64 {
        self.node
            .storage()
            .next_nonce(&key.verifying_key().to_bytes())
            .unwrap()
    }

    /// A signed call with explicit nonce.
    pub fn transaction(
        &self,
        key: &SigningKey,
        nonce: u64,
        contract: &str,
        method: &str,
        args: Vec<u8>,
    ) -> SignedTransaction {
        TransactionBody::call(
            &self.genesis.chain_id,
            key,
            nonce,
            self.node.head().height + 1_000,
            contract,
            method,
            args,
        )
        .sign(key)
    }

    pub fn submit(&self, transaction: &SignedTransaction) -> Result<[u8; 32], TransactionError> {
        self.node.submit(&transaction.encode())
    }

    /// Submits a call with the sender's next committed nonce and waits for its receipt.
    pub fn call<T: borsh::BorshSerialize>(
        &self,
        organization: &str,
        contract: &str,
        method: &str,
        args: &T,
    ) -> Receipt {
        let key = self.key(organization);
        let transaction = self.transaction(
            &key,
            self.next_nonce(&key),
            contract,
            method,
            borsh::to_vec(args).unwrap(),
        );
        let id = self.submit(&transaction).expect("admitted");
        self.wait(&id)
    }

    /// Waits for a transaction's receipt, failing the test after [`COMMIT_TIMEOUT_MS`].
    pub fn wait(&self, id: &[u8; 32]) -> Receipt {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(
                self.node
                    .wait_for_commit(id, Duration::from_millis(COMMIT_TIMEOUT_MS)),
            )
            .unwrap()
            .unwrap_or_else(|| panic!("transaction {} did not commit in time", hex::encode(id)))
            .1
    }
}

impl Drop for TestChain {
    fn drop(&mut self) {
        self.node.shutdown();
    }
}

/// Product master data for tests: Amoxicillin 250 mg capsules, prescription only, 10–25 °C.
pub fn sample_product(gtin: &str) -> rxchain_trace_types::Product {
    rxchain_trace_types::Product {
        gtin: gtin.into(),
        name: "Amoxicillin Capsules".into(),
        strength: "250 mg".into(),
        dosage_form: "capsule".into(),
        pack_size: 24,
        prescription: true,
        storage_celsius_tenths_min: 100,
        storage_celsius_tenths_max: 250,
        approval_number: "H20263101".into(),
        manufacturer: String::new(),
    }
}

/// The error code of a failed or refused receipt (panics on success).
pub fn failure_code(receipt: &Receipt) -> String {
    match &receipt.status {
        rxchain_node::receipt::ReceiptStatus::Failed { code, .. }
        | rxchain_node::receipt::ReceiptStatus::Refused { code, .. } => code.clone(),
        rxchain_node::receipt::ReceiptStatus::Success => {
            panic!("expected a failed receipt, got success")
        }
    }
}

/// Asserts success, showing the failure when there is one.
pub fn assert_success(receipt: &Receipt) {
    assert_eq!(
        receipt.status,
        rxchain_node::receipt::ReceiptStatus::Success,
        "receipt failed"
    );
}

/// The package's folder, read when the test runs: a test binary built from another checkout
/// sharing the target folder may be reused by cargo, and a path baked in at compile time would
/// then point into that checkout.
pub fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for tests")
}
