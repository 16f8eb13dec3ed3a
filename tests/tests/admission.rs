//! One test per admission refusal: the exact error, and nothing changed (head, state root,
//! nonce, mempool); and fault injection refused on a node that did not enable it.

use rxchain_genesis::keystore::generate;
use rxchain_node::TransactionError;
use rxchain_node::mempool::MempoolLimits;
use rxchain_node::storage::Head;
use rxchain_node::transaction::TransactionBody;
use rxchain_node::validation::{NONCE_GAP_MAX, TRANSACTION_BYTES_MAX};
use rxchain_tests::{TestChain, assert_success};
use rxchain_trace_types as trace;

const MANUFACTURER: &str = "huaxin-pharma";

struct Snapshot {
    head: Head,
    mempool: usize,
    nonce: u64,
}

fn snapshot(chain: &TestChain) -> Snapshot {
    Snapshot {
        head: chain.node.head(),
        mempool: chain.node.mempool_len(),
        nonce: chain.next_nonce(&chain.key(MANUFACTURER)),
    }
}

fn assert_unchanged(chain: &TestChain, before: &Snapshot) {
    let after = snapshot(chain);
    assert_eq!(after.head, before.head, "head changed");
    assert_eq!(after.mempool, before.mempool, "mempool changed");
    assert_eq!(after.nonce, before.nonce, "nonce changed");
}

/// A node that does not produce blocks, so nothing but the submission can change state.
fn idle_chain() -> TestChain {
    TestChain::with(MempoolLimits::default(), false)
}

fn product_args() -> Vec<u8> {
    borsh::to_vec(&trace::GtinArgs {
        gtin: "09506000134352".into(),
    })
    .unwrap()
}

#[test]
fn malformed_bytes_are_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    for bytes in [vec![], vec![1, 2, 3], vec![9; 100]] {
        let error = chain.node.submit(&bytes).unwrap_err();
        assert_eq!(error.code(), "malformed", "{bytes:?}");
    }
    assert_unchanged(&chain, &before);
}

#[test]
fn bad_signature_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    let mut transaction = chain.transaction(&key, 0, "trace", "register_product", product_args());
    transaction.signature[0] ^= 0x40;
    assert_eq!(
        chain.submit(&transaction),
        Err(TransactionError::BadSignature)
    );
    assert_unchanged(&chain, &before);
}

#[test]
fn wrong_chain_id_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    let transaction = TransactionBody::call(
        "another-chain",
        &key,
        0,
        100,
        "trace",
        "register_product",
        product_args(),
    )
    .sign(&key);
    assert_eq!(
        chain.submit(&transaction).unwrap_err().code(),
        "wrong_chain"
    );
    assert_unchanged(&chain, &before);
}

#[test]
fn replayed_transaction_is_refused() {
    let chain = TestChain::start();
    let key = chain.key(MANUFACTURER);
    let transaction = chain.transaction(&key, 0, "trace", "product", vec![]);
    // `product` is a query, not a method: use a real method whose failure still uses the nonce.
    assert_eq!(
        chain.submit(&transaction).unwrap_err().code(),
        "unknown_method"
    );
    let transaction = chain.transaction(&key, 0, "trace", "register_product", vec![0xff]);
    let id = chain.submit(&transaction).unwrap();
    let receipt = chain.wait(&id);
    assert_eq!(rxchain_tests::failure_code(&receipt), "invalid_argument");
    let before = snapshot(&chain);
    assert_eq!(
        chain.submit(&transaction),
        Err(TransactionError::NonceUsed { nonce: 0, next: 1 })
    );
    assert_unchanged(&chain, &before);
}

#[test]
fn nonce_gap_beyond_the_limit_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    let transaction = chain.transaction(
        &key,
        NONCE_GAP_MAX + 1,
        "trace",
        "register_product",
        product_args(),
    );
    assert_eq!(chain.submit(&transaction).unwrap_err().code(), "nonce_gap");
    assert_unchanged(&chain, &before);
    // Within the gap it is queued (and waits for the nonces before it).
    let queued = chain.transaction(
        &key,
        NONCE_GAP_MAX,
        "trace",
        "register_product",
        product_args(),
    );
    assert!(chain.submit(&queued).is_ok());
}

#[test]
fn expired_transaction_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    // The next block is height 1; a transaction valid only up to height 0 can never be included.
    let transaction = TransactionBody::call(
        &chain.genesis.chain_id,
        &key,
        0,
        0,
        "trace",
        "register_product",
        product_args(),
    )
    .sign(&key);
    assert_eq!(
        chain.submit(&transaction),
        Err(TransactionError::Expired {
            expiry_height: 0,
            next_height: 1
        })
    );
    assert_unchanged(&chain, &before);
}

#[test]
fn oversized_transaction_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    let transaction = chain.transaction(
        &key,
        0,
        "trace",
        "register_product",
        vec![7; TRANSACTION_BYTES_MAX],
    );
    assert_eq!(chain.submit(&transaction).unwrap_err().code(), "oversized");
    assert_unchanged(&chain, &before);
}

#[test]
fn unknown_contract_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    let transaction = chain.transaction(&key, 0, "payroll", "pay", vec![]);
    assert_eq!(
        chain.submit(&transaction),
        Err(TransactionError::UnknownContract("payroll".into()))
    );
    assert_unchanged(&chain, &before);
}

#[test]
fn unknown_method_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let key = chain.key(MANUFACTURER);
    let transaction = chain.transaction(&key, 0, "trace", "teleport", vec![]);
    assert_eq!(
        chain.submit(&transaction).unwrap_err().code(),
        "unknown_method"
    );
    let system = chain.transaction(&key, 0, "system", "shutdown", vec![]);
    assert_eq!(chain.submit(&system).unwrap_err().code(), "unknown_method");
    assert_unchanged(&chain, &before);
}

#[test]
fn key_without_a_role_is_refused() {
    let chain = idle_chain();
    let before = snapshot(&chain);
    let stranger = generate();
    let transaction = chain.transaction(&stranger, 0, "trace", "register_product", product_args());
    assert_eq!(
        chain.submit(&transaction).unwrap_err().code(),
        "unauthorized"
    );
    assert_eq!(chain.next_nonce(&stranger), 0);
    assert_unchanged(&chain, &before);
}

#[test]
fn full_mempool_refuses_more() {
    let chain = TestChain::with(
        MempoolLimits {
            transactions_max: 2,
            ..MempoolLimits::default()
        },
        false,
    );
    let key = chain.key(MANUFACTURER);
    for nonce in 0..2 {
        chain
            .submit(&chain.transaction(&key, nonce, "trace", "register_product", product_args()))
            .unwrap();
    }
    let before = snapshot(&chain);
    let third = chain.transaction(&key, 2, "trace", "register_product", product_args());
    assert_eq!(chain.submit(&third).unwrap_err().code(), "mempool_full");
    assert_unchanged(&chain, &before);
}

#[test]
fn duplicate_submission_is_refused() {
    let chain = idle_chain();
    let key = chain.key(MANUFACTURER);
    let transaction = chain.transaction(&key, 0, "trace", "register_product", product_args());
    chain.submit(&transaction).unwrap();
    let before = snapshot(&chain);
    assert_eq!(chain.submit(&transaction), Err(TransactionError::Duplicate));
    assert_unchanged(&chain, &before);
}

#[test]
fn accepted_transaction_commits() {
    // The control for every refusal above: the same kind of call, done right, goes through.
    let chain = TestChain::start();
    let receipt = chain.call(
        MANUFACTURER,
        "trace",
        "register_product",
        &rxchain_tests::sample_product("09506000134352"),
    );
    assert_success(&receipt);
    assert_eq!(chain.next_nonce(&chain.key(MANUFACTURER)), 1);
}

#[test]
fn a_gossip_batch_admits_its_valid_transactions_and_refuses_each_bad_one_by_reason() {
    use rxchain_node::network::gossip::encode_batch;
    let chain = idle_chain();
    let key = chain.key(MANUFACTURER);
    let stranger = generate();
    let valid: Vec<Vec<u8>> = (0..5)
        .map(|nonce| {
            chain
                .transaction(&key, nonce, "trace", "register_product", product_args())
                .encode()
        })
        .collect();
    let mut forged = chain.transaction(&key, 5, "trace", "register_product", product_args());
    forged.signature[10] ^= 0x01;
    let from_stranger = chain
        .transaction(&stranger, 0, "trace", "register_product", product_args())
        .encode();
    let mut first = valid[..3].to_vec();
    first.push(forged.encode());
    first.push(from_stranger);
    // The second message repeats a transaction of the first and brings the rest.
    let mut second = vec![valid[0].clone()];
    second.extend(valid[3..].iter().cloned());

    chain.node.admit_gossip(&[
        encode_batch(&first),
        encode_batch(&second),
        b"not a batch".to_vec(),
    ]);

    assert_eq!(
        chain.node.mempool_len(),
        5,
        "the five validly signed transactions"
    );
    let metrics = chain.node.metrics().render();
    for (reason, count) in [("bad_signature", 1), ("unauthorized", 1), ("duplicate", 1)] {
        let row = format!(
            "rxchain_transactions_rejected_by_reason_total{{reason=\"{reason}\"}} {count}\n"
        );
        assert!(metrics.contains(&row), "{row} in\n{metrics}");
    }
    // The forged one stays refused when it comes alone.
    assert_eq!(chain.submit(&forged), Err(TransactionError::BadSignature));
}

#[test]
fn fault_injection_is_refused_unless_the_node_config_enables_it() {
    let chain = TestChain::start();
    let error = chain.node.set_isolated(true).unwrap_err();
    assert!(
        error.to_string().contains("fault injection is off"),
        "{error}"
    );
    let error = chain.node.set_inbound_delay(10).unwrap_err();
    assert!(
        error.to_string().contains("fault injection is off"),
        "{error}"
    );
    assert!(!chain.node.is_isolated());
    assert_eq!(chain.node.inbound_delay_ms(), 0);
}

/// A body over the API's limit is `oversized` (413), as a transaction over its own limit is,
/// not `malformed`; a body within the limit that is not JSON stays `malformed` (400). (A body
/// far over the limit is refused the same way, but the server may close the connection before
/// a client has written it all, so the test sends one just over.)
#[test]
fn a_body_over_the_api_limit_is_oversized_not_malformed() {
    let chain = TestChain::start();
    let (runtime, base) = chain.serve_api();
    let client = reqwest::Client::new();
    let post = |body: String| {
        runtime.block_on(async {
            let response = client
                .post(format!("{base}/v1/transactions"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.unwrap();
            (
                status,
                answer["error"]["code"].as_str().unwrap().to_string(),
            )
        })
    };
    let just_over = format!(
        "{{\"transaction\": \"{}\"}}",
        "a".repeat(rxchain_node::api::REQUEST_BODY_BYTES_MAX)
    );
    assert_eq!(post(just_over), (413, "oversized".to_string()));
    assert_eq!(post("{not json".into()), (400, "malformed".to_string()));
}
