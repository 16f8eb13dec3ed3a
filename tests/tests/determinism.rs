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

/// Executes `transactions` as the block after the stored head of a stopped chain.
fn execute_next(
    chain: &TestChain,
    transactions: &[rxchain_node::transaction::SignedTransaction],
) -> Result<rxchain_node::storage::BlockEffects, rxchain_node::NodeError> {
    let head = chain.node.storage().head().unwrap().unwrap();
    chain.node.executor().execute_block(
        chain.node.storage(),
        &Ancestors::none(),
        head.height + 1,
        head.timestamp_ms + 1,
        transactions,
    )
}

fn assert_invalid(result: Result<rxchain_node::storage::BlockEffects, rxchain_node::NodeError>) {
    match result {
        Err(rxchain_node::NodeError::InvalidBlock(_)) => {}
        Err(error) => panic!("expected an invalid block, got {error}"),
        Ok(_) => panic!("expected an invalid block, but it executed"),
    }
}

#[test]
fn a_block_repeating_a_transaction_is_invalid_and_the_committed_copy_keeps_its_index() {
    let chain = story();
    let storage = chain.node.storage();
    let head = storage.head().unwrap().unwrap();
    let key = chain.key("huaxin-pharma");
    let sender = key.verifying_key().to_bytes();
    let mut committed = None;
    for height in 1..=head.height {
        let block = storage.block(height).unwrap().unwrap();
        if let Some(found) = block
            .transactions
            .iter()
            .find(|transaction| transaction.body.sender == sender)
        {
            committed = Some(found.clone());
            break;
        }
    }
    let committed = committed.expect("the story committed a transaction of this sender");
    let location = storage.transaction_location(&committed.id()).unwrap();
    let receipt = storage.receipt(&committed.id()).unwrap();
    assert!(location.is_some() && receipt.is_some());

    // Again after its commit.
    assert_invalid(execute_next(&chain, std::slice::from_ref(&committed)));
    // Twice in one block: a fresh transaction with the sender's next nonce.
    let next = storage.next_nonce(&sender).unwrap();
    let fresh = chain.transaction(&key, next, "trace", "register_product", {
        borsh::to_vec(&rxchain_tests::sample_product("09506000134369")).unwrap()
    });
    assert!(execute_next(&chain, std::slice::from_ref(&fresh)).is_ok());
    assert_invalid(execute_next(&chain, &[fresh.clone(), fresh.clone()]));
    // A nonce ahead of the sender's next (it could otherwise execute again once the nonce is due).
    let ahead = chain.transaction(&key, next + 1, "trace", "register_product", Vec::new());
    assert_invalid(execute_next(&chain, std::slice::from_ref(&ahead)));
    // Expired at the block's height (it could otherwise be included again and again).
    let expired = rxchain_node::transaction::TransactionBody::call(
        &chain.genesis.chain_id,
        &key,
        next,
        head.height,
        "trace",
        "register_product",
        Vec::new(),
    )
    .sign(&key);
    assert_invalid(execute_next(&chain, std::slice::from_ref(&expired)));

    // The committed copy still has its location and its receipt.
    assert_eq!(
        storage.transaction_location(&committed.id()).unwrap(),
        location
    );
    assert_eq!(storage.receipt(&committed.id()).unwrap(), receipt);
}
