//! Re-executing the stored blocks from genesis, on a fresh database with a fresh contract host,
//! gives the same state root at every height as the blocks' headers certify — also when blocks
//! execute on parents that are not stored yet, as pipelined proposals do.

use rxchain_contract_host::{ContractHost, HostLimits};
use rxchain_node::executor::Executor;
use rxchain_node::runtime::{open_chain, replay_chain};
use rxchain_node::state::{Ancestors, next_state_root};
use rxchain_node::storage::{CommittedBlock, Storage};
use rxchain_tests::{TestChain, assert_success};
use rxchain_trace_types::{CommissionArgs, PackId, ShipArgs, ShipmentIdArgs};
use std::sync::Arc;

/// A chain whose blocks depend on each other: one sender's nonces across blocks, packs
/// commissioned in one block and shipped and received in later ones, and a failed call.
fn story() -> TestChain {
    let chain = TestChain::start();
    let gtin = "09506000134352";
    let product = rxchain_tests::sample_product(gtin);
    assert_success(&chain.call("huaxin-pharma", "trace", "register_product", &product));
    // Many transactions from one sender land in few blocks; failures are part of the history.
    let key = chain.key("huaxin-pharma");
    let mut ids = Vec::new();
    for number in 0..40u64 {
        let serial = if number == 7 {
            "SN1".to_string()
        } else {
            format!("SN{number}")
        };
        let args = CommissionArgs {
            gtin: gtin.into(),
            serial,
            lot: "L1".into(),
            expiry: "281231".into(),
        };
        let transaction = chain.transaction(
            &key,
            1 + number,
            "trace",
            "commission",
            borsh::to_vec(&args).unwrap(),
        );
        ids.push(chain.submit(&transaction).unwrap());
    }
    for id in &ids {
        chain.wait(id);
    }
    let packs = vec![PackId {
        gtin: gtin.into(),
        serial: "SN2".into(),
    }];
    assert_success(&chain.call(
        "huaxin-pharma",
        "trace",
        "ship",
        &ShipArgs {
            shipment_id: "S1".into(),
            to: "kangda-distribution".into(),
            packs,
            containers: Vec::new(),
        },
    ));
    assert_success(&chain.call(
        "kangda-distribution",
        "trace",
        "receive",
        &ShipmentIdArgs {
            shipment_id: "S1".into(),
        },
    ));
    chain.node.shutdown();
    let head = chain.node.storage().head().unwrap().unwrap();
    assert!(head.height >= 4, "the story made several blocks");
    chain
}

fn fresh_executor() -> Executor {
    Executor::new(Arc::new(
        ContractHost::new(HostLimits::default(), None).unwrap(),
    ))
}

#[test]
fn replaying_stored_blocks_gives_the_same_state_roots() {
    let chain = story();
    let source = chain.node.storage();
    let head = source.head().unwrap().unwrap();

    let target_dir = tempfile::tempdir().unwrap();
    let target = Arc::new(Storage::open(target_dir.path()).unwrap());
    let roots = replay_chain(source, &chain.genesis, &fresh_executor(), &target).unwrap();
    assert_eq!(roots.len() as u64, head.height + 1);
    for (height, root) in roots.iter().enumerate().skip(1) {
        let block = source.block(height as u64).unwrap().unwrap();
        assert_eq!(&block.header.state_root, root, "height {height}");
        // The replayed copy stores the same blocks.
        assert_eq!(target.block(height as u64).unwrap().unwrap(), block);
    }
    assert_eq!(target.head().unwrap().unwrap(), head);
}

#[test]
fn blocks_executed_on_unstored_parents_give_the_certified_state_roots() {
    let chain = story();
    let source = chain.node.storage();
    let head = source.head().unwrap().unwrap();
    let target_dir = tempfile::tempdir().unwrap();
    let target = Arc::new(Storage::open(target_dir.path()).unwrap());
    let mut state_root = open_chain(&target, &chain.genesis).unwrap().state_root;
    let executor = fresh_executor();
    // Blocks are stored three at a time, so each of the other two executes on one or two
    // parents that exist only as executed effects, as a pipelined proposal does.
    let mut unstored: Vec<CommittedBlock> = Vec::new();
    let mut executed_on_unstored = 0;
    for height in 1..=head.height {
        let block = source.block(height).unwrap().unwrap();
        let ancestors = Ancestors::new(
            unstored
                .iter()
                .map(|committed| committed.effects.clone())
                .collect(),
        );
        if !ancestors.is_empty() {
            executed_on_unstored += 1;
        }
        let effects = executor
            .execute_block(
                &target,
                &ancestors,
                height,
                block.header.timestamp_ms,
                &block.transactions,
            )
            .unwrap();
        state_root = next_state_root(&state_root, &effects);
        assert_eq!(state_root, block.header.state_root, "height {height}");
        unstored.push(CommittedBlock {
            certificate: source.certificate(height).unwrap(),
            block,
            effects: Arc::new(effects),
        });
        if unstored.len() == 3 || height == head.height {
            for committed in unstored.drain(..) {
                target.commit_block(&committed, None).unwrap();
            }
        }
    }
    assert!(executed_on_unstored >= 2);
    assert_eq!(target.head().unwrap().unwrap(), head);
}

#[test]
fn replay_from_a_different_genesis_is_detected() {
    let chain = TestChain::start();
    let receipt = chain.call(
        "huaxin-pharma",
        "trace",
        "commission",
        &CommissionArgs {
            gtin: "09506000134352".into(),
            serial: "SN1".into(),
            lot: "L1".into(),
            expiry: "281231".into(),
        },
    );
    // No product registered: the call fails, but it is still a block with a state change (nonce).
    assert_eq!(rxchain_tests::failure_code(&receipt), "not_found");
    chain.node.shutdown();
    let source = chain.node.storage();

    // Replay against a genesis with one organization fewer: the state differs from block 0 on.
    let mut other = chain.genesis.clone();
    other.organizations.pop();
    let target_dir = tempfile::tempdir().unwrap();
    let target = Arc::new(Storage::open(target_dir.path()).unwrap());
    let error = replay_chain(source, &other, &fresh_executor(), &target).unwrap_err();
    assert!(
        matches!(
            error,
            rxchain_node::NodeError::StateRootMismatch { height: 1, .. }
        ),
        "{error}"
    );
}
