//! Raft (crash faults) on openraft 0.9: its log, vote and state machine on the node's RocksDB.
//!
//! openraft is not a pure state machine like the PBFT engine (it runs its own tasks on tokio),
//! so it lives here at the edge, not in `consensus`. What rxchain gives it:
//! - [`RaftLogStore`]: log entries in the `raft_log` column family, vote, committed log id and
//!   last purged log id in `meta` (every write synced before openraft is told it is durable).
//! - [`RaftStateMachineStore`]: a log entry's payload is a block the leader built; applying it
//!   executes and stores the block through a [`BlockApplier`] in the same write batch as the
//!   last applied log id, so a block is applied exactly once across crashes. Membership and
//!   the applied log id live in `meta`. A snapshot is the applied log id, the membership and
//!   the chain head; installing one on a node behind makes it fetch the blocks up to that head.
//!
//! openraft's storage test suite runs on these adapters (`tests.rs`).

// openraft's traits fix the error type (`StorageError`, over 200 bytes); boxing it here would
// only add conversions at every trait boundary.
#![allow(clippy::result_large_err)]

pub mod network;
pub mod runtime;
#[cfg(test)]
mod simulation;
#[cfg(test)]
mod tests;

use crate::NodeError;
use crate::hash::Hash;
use crate::storage::Storage;
use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftSnapshotBuilder,
    Snapshot, SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

/// A Raft log entry's payload: a block (its canonical bytes) the leader built and executed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftRequest {
    pub block: Vec<u8>,
}

impl std::fmt::Display for RaftRequest {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "block of {} bytes", self.block.len())
    }
}

/// What applying an entry did: the height of the block stored, if it was one that built on
/// the head (a stale proposal from a deposed leader is skipped the same way on every node).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaftResponse {
    pub height: Option<u64>,
}

openraft::declare_raft_types!(
    /// rxchain's openraft types: node ids are indexes into the ascending validator keys.
    pub TypeConfig:
        D = RaftRequest,
        R = RaftResponse,
        AsyncRuntime = runtime::RxRuntime,
);

pub type RaftNodeId = u64;
pub type RaftEntry = Entry<TypeConfig>;
pub type RaftStorageError = StorageError<RaftNodeId>;

const VOTE_KEY: &[u8] = b"engine/raft/vote";
const COMMITTED_KEY: &[u8] = b"engine/raft/committed";
const LAST_PURGED_KEY: &[u8] = b"engine/raft/last_purged";
/// The last applied log id; written in the same batch as the block it applied.
pub const APPLIED_KEY: &[u8] = b"engine/raft/applied";
const MEMBERSHIP_KEY: &[u8] = b"engine/raft/membership";
const SNAPSHOT_KEY: &[u8] = b"engine/raft/snapshot";

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("openraft values encode")
}

fn read_error(error: impl ToString) -> RaftStorageError {
    StorageIOError::read(AnyError::error(error.to_string())).into()
}

fn write_error(error: impl ToString) -> RaftStorageError {
    StorageIOError::write(AnyError::error(error.to_string())).into()
}

fn read_meta<T: for<'a> Deserialize<'a>>(
    storage: &Storage,
    key: &[u8],
) -> Result<Option<T>, RaftStorageError> {
    match storage.engine_meta(key).map_err(read_error)? {
        Some(bytes) => postcard::from_bytes(&bytes).map(Some).map_err(read_error),
        None => Ok(None),
    }
}

fn write_meta<T: Serialize>(
    storage: &Storage,
    key: &[u8],
    value: &T,
) -> Result<(), RaftStorageError> {
    storage
        .put_engine_meta(key, Some(&encode(value)))
        .map_err(write_error)
}

/// Runs blocking storage work off the async runtime's workers — or inline, for the
/// simulation, where the order of completions must not depend on real time.
async fn blocking<T: Send + 'static>(
    inline: bool,
    work: impl FnOnce() -> Result<T, RaftStorageError> + Send + 'static,
) -> Result<T, RaftStorageError> {
    if inline {
        return work();
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| write_error(format!("storage task failed: {error}")))?
}

/// The Raft log and vote on RocksDB.
#[derive(Clone, Debug)]
pub struct RaftLogStore {
    storage: Arc<Storage>,
    inline_io: bool,
}

impl RaftLogStore {
    pub fn new(storage: Arc<Storage>) -> RaftLogStore {
        RaftLogStore {
            storage,
            inline_io: false,
        }
    }

    /// Storage work runs inline on the calling task (deterministic simulation).
    pub fn with_inline_io(mut self) -> RaftLogStore {
        self.inline_io = true;
        self
    }
}

impl RaftLogReader<TypeConfig> for RaftLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<RaftEntry>, RaftStorageError> {
        let start = match range.start_bound() {
            Bound::Included(index) => *index,
            Bound::Excluded(index) => index.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(index) => index.saturating_add(1),
            Bound::Excluded(index) => *index,
            Bound::Unbounded => u64::MAX,
        };
        let storage = self.storage.clone();
        blocking(self.inline_io, move || {
            storage
                .raft_log_range(start, end, usize::MAX)
                .map_err(read_error)?
                .into_iter()
                .map(|(_, bytes)| postcard::from_bytes(&bytes).map_err(read_error))
                .collect()
        })
        .await
    }
}

impl RaftLogStorage<TypeConfig> for RaftLogStore {
    type LogReader = RaftLogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, RaftStorageError> {
        let last_purged_log_id: Option<LogId<RaftNodeId>> =
            read_meta(&self.storage, LAST_PURGED_KEY)?;
        let last = match self.storage.raft_log_last().map_err(read_error)? {
            Some((_, bytes)) => {
                let entry: RaftEntry = postcard::from_bytes(&bytes).map_err(read_error)?;
                Some(entry.log_id)
            }
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<RaftNodeId>) -> Result<(), RaftStorageError> {
        write_meta(&self.storage, VOTE_KEY, vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<RaftNodeId>>, RaftStorageError> {
        read_meta(&self.storage, VOTE_KEY)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<RaftNodeId>>,
    ) -> Result<(), RaftStorageError> {
        write_meta(&self.storage, COMMITTED_KEY, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<RaftNodeId>>, RaftStorageError> {
        Ok(read_meta::<Option<LogId<RaftNodeId>>>(&self.storage, COMMITTED_KEY)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), RaftStorageError>
    where
        I: IntoIterator<Item = RaftEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let encoded: Vec<(u64, Vec<u8>)> = entries
            .into_iter()
            .map(|entry| (entry.log_id.index, encode(&entry)))
            .collect();
        let storage = self.storage.clone();
        // Synced before openraft hears the entries are durable.
        let result = blocking(self.inline_io, move || {
            storage.raft_log_append(&encoded).map_err(write_error)
        })
        .await;
        callback.log_io_completed(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|error| std::io::Error::other(error.to_string())),
        );
        result
    }

    async fn truncate(&mut self, log_id: LogId<RaftNodeId>) -> Result<(), RaftStorageError> {
        let storage = self.storage.clone();
        blocking(self.inline_io, move || {
            storage
                .raft_log_delete(log_id.index, u64::MAX)
                .map_err(write_error)
        })
        .await
    }

    async fn purge(&mut self, log_id: LogId<RaftNodeId>) -> Result<(), RaftStorageError> {
        // The purge point first: a crash between the two leaves entries openraft ignores.
        write_meta(&self.storage, LAST_PURGED_KEY, &log_id)?;
        let storage = self.storage.clone();
        blocking(self.inline_io, move || {
            storage
                .raft_log_delete(0, log_id.index.saturating_add(1))
                .map_err(write_error)
        })
        .await
    }
}

/// What applies a committed block proposal to the chain (the node's executor and storage).
pub trait BlockApplier: Send + Sync + 'static {
    /// Executes and stores `block` if it builds on the head, writing `applied` (the entry's
    /// log id under [`APPLIED_KEY`]) in the same batch, and returns its height; returns
    /// `Ok(None)` for a proposal that does not build on the head (the caller records
    /// `applied`). An error means this node cannot go on (storage failure, divergence).
    fn apply_block(&self, block: &[u8], applied: Vec<u8>) -> Result<Option<u64>, String>;
    /// Brings the chain to `height` with `hash` on top (after a snapshot install).
    fn catch_up(&self, height: u64, hash: Hash) -> Result<(), String>;
}

/// What a snapshot carries: the chain head at the applied log id (the blocks themselves come
/// by block sync).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SnapshotContent {
    head_height: u64,
    head_hash: Hash,
}

/// The state machine on the node's chain.
#[derive(Clone)]
pub struct RaftStateMachineStore {
    storage: Arc<Storage>,
    applier: Arc<dyn BlockApplier>,
    inline_io: bool,
}

impl std::fmt::Debug for RaftStateMachineStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RaftStateMachineStore").finish()
    }
}

impl RaftStateMachineStore {
    pub fn new(storage: Arc<Storage>, applier: Arc<dyn BlockApplier>) -> RaftStateMachineStore {
        RaftStateMachineStore {
            storage,
            applier,
            inline_io: false,
        }
    }

    /// Blocks are applied inline on the calling task (deterministic simulation).
    pub fn with_inline_io(mut self) -> RaftStateMachineStore {
        self.inline_io = true;
        self
    }

    fn membership(
        &self,
    ) -> Result<StoredMembership<RaftNodeId, openraft::BasicNode>, RaftStorageError> {
        Ok(read_meta(&self.storage, MEMBERSHIP_KEY)?.unwrap_or_default())
    }

    fn applied(&self) -> Result<Option<LogId<RaftNodeId>>, RaftStorageError> {
        Ok(read_meta::<Option<LogId<RaftNodeId>>>(&self.storage, APPLIED_KEY)?.flatten())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for RaftStateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, RaftStorageError> {
        let applied = self.applied()?;
        let membership = self.membership()?;
        let head = self.storage.head().map_err(read_error)?;
        let content = SnapshotContent {
            head_height: head.as_ref().map_or(0, |head| head.height),
            head_hash: head.as_ref().map_or([0; 32], |head| head.hash),
        };
        let data = encode(&content);
        let meta = SnapshotMeta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id: format!(
                "{}-{}",
                applied.map_or(0, |log_id| log_id.index),
                content.head_height
            ),
        };
        write_meta(&self.storage, SNAPSHOT_KEY, &(meta.clone(), data.clone()))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for RaftStateMachineStore {
    type SnapshotBuilder = RaftStateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> Result<
        (
            Option<LogId<RaftNodeId>>,
            StoredMembership<RaftNodeId, openraft::BasicNode>,
        ),
        RaftStorageError,
    > {
        Ok((self.applied()?, self.membership()?))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<RaftResponse>, RaftStorageError>
    where
        I: IntoIterator<Item = RaftEntry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut responses = Vec::new();
        for entry in entries {
            let applied = encode(&Some(entry.log_id));
            let response = match entry.payload {
                EntryPayload::Blank => {
                    self.storage
                        .put_engine_meta(APPLIED_KEY, Some(&applied))
                        .map_err(write_error)?;
                    RaftResponse::default()
                }
                EntryPayload::Membership(membership) => {
                    write_meta(
                        &self.storage,
                        MEMBERSHIP_KEY,
                        &StoredMembership::new(Some(entry.log_id), membership),
                    )?;
                    self.storage
                        .put_engine_meta(APPLIED_KEY, Some(&applied))
                        .map_err(write_error)?;
                    RaftResponse::default()
                }
                EntryPayload::Normal(request) => {
                    let applier = self.applier.clone();
                    let applied_copy = applied.clone();
                    let height = blocking(self.inline_io, move || {
                        applier
                            .apply_block(&request.block, applied_copy)
                            .map_err(|error| {
                                StorageIOError::write_state_machine(AnyError::error(error)).into()
                            })
                    })
                    .await?;
                    if height.is_none() {
                        self.storage
                            .put_engine_meta(APPLIED_KEY, Some(&applied))
                            .map_err(write_error)?;
                    }
                    RaftResponse { height }
                }
            };
            responses.push(response);
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, RaftStorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<RaftNodeId, openraft::BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), RaftStorageError> {
        let data = snapshot.into_inner();
        let content: SnapshotContent = postcard::from_bytes(&data).map_err(read_error)?;
        let applier = self.applier.clone();
        blocking(self.inline_io, move || {
            applier
                .catch_up(content.head_height, content.head_hash)
                .map_err(|error| StorageIOError::write_state_machine(AnyError::error(error)).into())
        })
        .await?;
        write_meta(&self.storage, MEMBERSHIP_KEY, &meta.last_membership)?;
        write_meta(&self.storage, APPLIED_KEY, &meta.last_log_id)?;
        write_meta(&self.storage, SNAPSHOT_KEY, &(meta.clone(), data))?;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, RaftStorageError> {
        let saved: Option<(SnapshotMeta<RaftNodeId, openraft::BasicNode>, Vec<u8>)> =
            read_meta(&self.storage, SNAPSHOT_KEY)?;
        Ok(saved.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}

impl From<RaftStorageError> for NodeError {
    fn from(error: RaftStorageError) -> Self {
        NodeError::Storage(error.to_string())
    }
}
