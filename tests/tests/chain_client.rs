//! One suite, two chain clients: the in-process client over a node and the HTTP client over
//! the same node's API must give the same answers, successes and failures alike.

use rxchain_node::client::{ChainClient, ClientError, HttpClient, LocalClient};
use rxchain_node::proof::check_entry;
use rxchain_node::runtime::TransactionStatus;
use rxchain_tests::{TestChain, assert_success, sample_product};
use rxchain_trace_types::{self as trace, CommissionArgs, GtinArgs, PackId};
use std::time::Duration;

const MANUFACTURER: &str = "huaxin-pharma";
const GTIN: &str = "09506000134352";

/// The chain, its API served on a free port, and both clients of it.
struct Clients {
    chain: TestChain,
    _runtime: tokio::runtime::Runtime,
    local: LocalClient,
    http: HttpClient,
}

fn clients() -> Clients {
    let chain = TestChain::start();
    let (runtime, base) = chain.serve_api();
    let local = LocalClient::new(chain.node.clone());
    let http = HttpClient::new(&base).unwrap();
    Clients {
        chain,
        _runtime: runtime,
        local,
        http,
    }
}

impl Clients {
    fn both(&self) -> [(&'static str, &dyn ChainClient); 2] {
        [("local", &self.local), ("http", &self.http)]
    }
}

fn commission_transaction(clients: &Clients, serial: &str, nonce: u64) -> Vec<u8> {
    let key = clients.chain.key(MANUFACTURER);
    clients
        .chain
        .transaction(
            &key,
            nonce,
            trace::CONTRACT_ID,
            "commission",
            borsh::to_vec(&CommissionArgs {
                gtin: GTIN.into(),
                serial: serial.into(),
                lot: "L1".into(),
                expiry: "281231".into(),
            })
            .unwrap(),
        )
        .encode()
}

#[test]
fn both_clients_answer_alike() {
    let clients = clients();
    let chain = &clients.chain;
    assert_success(&chain.call(
        MANUFACTURER,
        trace::CONTRACT_ID,
        "register_product",
        &sample_product(GTIN),
    ));

    // Identity and head.
    let info = clients.local.chain().unwrap();
    assert_eq!(info, clients.http.chain().unwrap());
    assert_eq!(info.chain_id, chain.genesis.chain_id);
    assert_eq!(info.genesis_hash, chain.genesis.hash());
    assert_eq!(clients.local.head().unwrap(), clients.http.head().unwrap());

    // Submit through each client, wait through the other: both see the same receipt.
    let sender = chain.key(MANUFACTURER).verifying_key().to_bytes();
    let mut committed = Vec::new();
    for (index, (name, client)) in clients.both().into_iter().enumerate() {
        let nonce = client.next_free_nonce(&sender).unwrap();
        assert_eq!(
            nonce,
            [&clients.local as &dyn ChainClient, &clients.http][1 - index]
                .next_free_nonce(&sender)
                .unwrap(),
            "{name}: next free nonce"
        );
        let bytes = commission_transaction(&clients, &format!("CLIENT-{name}"), nonce);
        let id = client.submit(&bytes).unwrap();
        let other = [&clients.local as &dyn ChainClient, &clients.http][1 - index];
        let (height, receipt) = other
            .wait_for_commit(&id, Duration::from_secs(20))
            .unwrap()
            .expect("committed in time");
        assert_success(&receipt);
        for (_, client) in clients.both() {
            assert_eq!(
                client.status(&id).unwrap(),
                TransactionStatus::Committed {
                    height,
                    index: match clients.local.status(&id).unwrap() {
                        TransactionStatus::Committed { index, .. } => index,
                        other => panic!("{other:?}"),
                    },
                    receipt: receipt.clone(),
                }
            );
        }
        // The same bytes again are refused alike.
        let again = [clients.local.submit(&bytes), clients.http.submit(&bytes)];
        assert!(
            matches!(&again[0], Err(ClientError::Rejected { code, .. }) if code == "nonce_used"),
            "{again:?}"
        );
        assert_eq!(again[0], again[1]);
        committed.push(id);
    }

    // A forged signature is refused with the same code and message.
    let mut forged = commission_transaction(
        &clients,
        "FORGED",
        clients.local.next_free_nonce(&sender).unwrap(),
    );
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let refusals = [clients.local.submit(&forged), clients.http.submit(&forged)];
    assert!(
        matches!(&refusals[0], Err(ClientError::Rejected { code, .. }) if code == "bad_signature"),
        "{refusals:?}"
    );
    assert_eq!(refusals[0], refusals[1]);

    // Queries: an answer, the contract's own error, an unknown query and contract.
    let product_args = borsh::to_vec(&GtinArgs { gtin: GTIN.into() }).unwrap();
    let unknown_args = borsh::to_vec(&GtinArgs {
        gtin: "09506000134369".into(),
    })
    .unwrap();
    for (contract, name, args) in [
        (trace::CONTRACT_ID, "product", &product_args),
        (trace::CONTRACT_ID, "product", &unknown_args),
        (trace::CONTRACT_ID, "teleport", &product_args),
        ("nothing", "product", &product_args),
    ] {
        let answers = [
            clients.local.query(contract, name, args),
            clients.http.query(contract, name, args),
        ];
        assert_eq!(answers[0], answers[1], "{contract}.{name}");
    }
    assert!(
        clients
            .local
            .query(trace::CONTRACT_ID, "product", &product_args)
            .is_ok()
    );
    assert!(matches!(
        clients.http.query(trace::CONTRACT_ID, "product", &unknown_args),
        Err(ClientError::QueryFailed { code, .. }) if code == "not_found"
    ));
    assert!(matches!(
        clients
            .http
            .query(trace::CONTRACT_ID, "teleport", &product_args),
        Err(ClientError::UnknownQuery { .. })
    ));
    assert!(matches!(
        clients.http.query("nothing", "product", &product_args),
        Err(ClientError::UnknownContract(_))
    ));

    // Events: all of a topic, a page after a position, a limit.
    let topic = trace::topics::product(GTIN);
    let pack_topic = trace::topics::pack(&PackId {
        gtin: GTIN.into(),
        serial: "CLIENT-local".into(),
    });
    for topic in [&topic, &pack_topic] {
        let all = clients.local.events(topic, None, 100).unwrap();
        assert!(!all.is_empty(), "{topic}");
        assert_eq!(
            format!("{all:?}"),
            format!("{:?}", clients.http.events(topic, None, 100).unwrap())
        );
    }
    let lot_topic = trace::topics::lot(GTIN, "L1");
    let lot_events = clients.local.events(&lot_topic, None, 100).unwrap();
    assert_eq!(lot_events.len(), 2, "one commissioning per client");
    let first = &lot_events[0].location;
    let position = Some((first.height, first.transaction_index, first.event_index));
    for (_, client) in clients.both() {
        let after = client.events(&lot_topic, position, 100).unwrap();
        assert_eq!(after.len(), 1);
        assert_eq!(after[0].location, lot_events[1].location);
        assert_eq!(client.events(&lot_topic, None, 1).unwrap().len(), 1);
    }

    // Proof material: the same entry from both, and it checks against the validator set.
    for id in &committed {
        let entry = clients.local.ledger_entry(id).unwrap();
        assert_eq!(entry, clients.http.ledger_entry(id).unwrap());
        let proven = check_entry(&entry, &info.chain_id, &info.validators).unwrap();
        assert_eq!(proven.transaction.id(), *id);
    }
    let never = [7u8; 32];
    for (name, client) in clients.both() {
        assert!(
            matches!(client.ledger_entry(&never), Err(ClientError::NotFound(_))),
            "{name}"
        );
        assert_eq!(client.status(&never).unwrap(), TransactionStatus::Unknown);
        assert_eq!(
            client
                .wait_for_commit(&never, Duration::from_millis(50))
                .unwrap(),
            None,
            "{name}"
        );
    }
}

#[test]
fn an_unreachable_node_is_unavailable() {
    // Port 9 (discard) on loopback: nothing listens there.
    let client = HttpClient::new("http://127.0.0.1:9").unwrap();
    assert!(matches!(client.head(), Err(ClientError::Unavailable(_))));
    assert!(matches!(
        client.submit(&[1, 2, 3]),
        Err(ClientError::Unavailable(_))
    ));
}
