//! Module indexers: every committed block reaches an indexer once, in order; the cursor is
//! stored with the index, so a new instance (as after a restart) resumes where the last left
//! off; the indexing thread follows new blocks.

use rxchain_node::app::{AppContext, IndexedBlock, Indexer, IndexerError, Indexers};
use rxchain_node::storage::ModuleBatch;
use rxchain_tests::{TestChain, assert_success, sample_product};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Writes `block/<height>` and counts the blocks it was given.
struct Counting {
    calls: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
}

impl Indexer for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn index_block(
        &mut self,
        block: &IndexedBlock<'_>,
        batch: &mut ModuleBatch,
    ) -> Result<(), IndexerError> {
        let height = block.block.header.height;
        // Counted before `last` moves: the test waits on `last`, then reads the count.
        self.calls.fetch_add(1, Ordering::SeqCst);
        let previous = self.last.swap(height, Ordering::SeqCst);
        assert!(
            previous == 0 || previous + 1 == height,
            "block {height} after {previous}: blocks arrive in order"
        );
        for index in 0..block.block.transactions.len() {
            let receipt = block
                .receipt(index)
                .expect("every transaction has its receipt");
            assert_eq!(receipt.transaction_id, block.block.transactions[index].id());
        }
        assert!(block.receipt(block.block.transactions.len()).is_err());
        batch.put(format!("block/{height}").as_bytes(), &[1]);
        Ok(())
    }
}

/// The indexers with one counting indexer, its call count and the last height it saw.
fn counting() -> (Indexers, Arc<AtomicU64>, Arc<AtomicU64>) {
    let calls = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let indexer = Counting {
        calls: calls.clone(),
        last: last.clone(),
    };
    (Arc::new(Mutex::new(vec![Box::new(indexer)])), calls, last)
}

#[test]
fn every_block_is_indexed_once_in_order_and_indexing_resumes() {
    let chain = TestChain::start();
    for gtin in ["09506000134352", "09506000134369"] {
        assert_success(&chain.call(
            "huaxin-pharma",
            "trace",
            "register_product",
            &sample_product(gtin),
        ));
    }
    let context = AppContext::local(&chain.node, "indexer-test");
    let (indexers, calls, _) = counting();
    let head = context.catch_up(&indexers).unwrap();
    assert!(head >= 2);
    assert_eq!(calls.load(Ordering::SeqCst), head, "one call per block");
    assert_eq!(context.catch_up(&indexers).unwrap(), head);
    assert_eq!(calls.load(Ordering::SeqCst), head, "no block twice");
    for height in 1..=head {
        let key = format!("block/{height}");
        assert_eq!(context.store().get(key.as_bytes()).unwrap(), Some(vec![1]));
    }

    // A new instance, as after a restart, resumes from the stored cursor.
    let (resumed, resumed_calls, resumed_last) = counting();
    assert_eq!(context.catch_up(&resumed).unwrap(), head);
    assert_eq!(resumed_calls.load(Ordering::SeqCst), 0);

    // The indexing thread follows new blocks.
    context.spawn_indexing(&resumed);
    assert_success(&chain.call(
        "huaxin-pharma",
        "trace",
        "register_product",
        &sample_product("09506000134376"),
    ));
    let new_head = chain.node.head().height;
    let deadline = Instant::now() + Duration::from_secs(10);
    while resumed_last.load(Ordering::SeqCst) < new_head {
        assert!(
            Instant::now() < deadline,
            "the indexing thread did not reach height {new_head}"
        );
        std::thread::yield_now();
    }
    assert_eq!(resumed_calls.load(Ordering::SeqCst), new_head - head);
    // Another module's namespace sees none of it.
    let other = AppContext::local(&chain.node, "other-module");
    assert_eq!(other.store().get(b"block/1").unwrap(), None);
}
