//! openraft's storage test suite on the RocksDB adapters.

use super::*;
use openraft::testing::{StoreBuilder, Suite};

/// The suite applies only blank and membership entries; a block reaching this applier is a
/// failure of the test, not something to fake.
struct NoBlocks;

impl BlockApplier for NoBlocks {
    fn apply_block(&self, _block: &[u8], _applied: Vec<u8>) -> Result<Option<u64>, String> {
        Err("the storage suite applies no blocks".into())
    }

    fn catch_up(&self, height: u64, _hash: Hash) -> Result<(), String> {
        // Every store in the suite has an empty chain, so a snapshot never needs blocks.
        if height == 0 {
            Ok(())
        } else {
            Err(format!("the storage suite has no block {height}"))
        }
    }
}

struct RocksBuilder;

impl StoreBuilder<TypeConfig, RaftLogStore, RaftStateMachineStore, tempfile::TempDir>
    for RocksBuilder
{
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, RaftLogStore, RaftStateMachineStore), RaftStorageError> {
        let dir = tempfile::tempdir().map_err(write_error)?;
        let storage = Arc::new(Storage::open(&dir.path().join("db")).map_err(write_error)?);
        Ok((
            dir,
            RaftLogStore::new(storage.clone()),
            RaftStateMachineStore::new(storage, Arc::new(NoBlocks)),
        ))
    }
}

#[test]
fn openraft_storage_suite_passes_on_the_rocksdb_adapters() {
    Suite::test_all(RocksBuilder).expect("openraft's storage suite");
}

#[test]
fn the_log_and_vote_survive_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let storage = Arc::new(Storage::open(&path).unwrap());
        let mut store = RaftLogStore::new(storage.clone());
        let vote = Vote::new(3, 1);
        store.save_vote(&vote).await.unwrap();
        let entries: Vec<RaftEntry> = (1..=5)
            .map(|index| RaftEntry {
                log_id: LogId::new(openraft::CommittedLeaderId::new(3, 1), index),
                payload: EntryPayload::Normal(RaftRequest {
                    block: vec![index as u8; 10],
                }),
            })
            .collect();
        storage
            .raft_log_append(
                &entries
                    .iter()
                    .map(|entry| (entry.log_id.index, encode(entry)))
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        drop(store);
        drop(storage);
        let storage = Arc::new(Storage::open(&path).unwrap());
        let mut store = RaftLogStore::new(storage);
        assert_eq!(store.read_vote().await.unwrap(), Some(vote));
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id.map(|log_id| log_id.index), Some(5));
        let read = store.try_get_log_entries(2..4).await.unwrap();
        assert_eq!(read, entries[1..3].to_vec());
    });
}
