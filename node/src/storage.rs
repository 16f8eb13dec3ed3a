//! RocksDB storage: one column family per kind of data, one synced write batch per block.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `blocks` | height (u64 BE) | canonical block bytes |
//! | `certificates` | height | borsh `FinalityCertificate` |
//! | `block_hashes` | block hash | height |
//! | `transactions` | transaction id | borsh (height, index in block) |
//! | `receipts` | transaction id | borsh `Receipt` |
//! | `state` | contract id, 0x00, key | value |
//! | `accounts` | sender key | next nonce (u64 BE) |
//! | `contracts` | contract id | code hash |
//! | `code` | code hash | wasm bytes |
//! | `events` | topic, 0x00, height, tx index (u32 BE), event index (u16 BE) | transaction id |
//! | `meta` | `head`, `genesis_hash` | borsh |
//! | `block_leaves` | height | borsh (transaction leaves, receipt leaves) of the block's Merkle trees |
//! | `modules` | module name, 0x00, key | node-local data of application modules ([`ModuleStore`]; not consensus state) |
//!
//! [`Storage::commit_block`] writes a block, its certificate, receipts, state changes, nonces,
//! deployed code and event index entries in one `WriteBatch` with `sync = true`: after it returns
//! the block survives a crash, and a crash before it leaves no trace of the block. On open the
//! node resumes from `head`.

use crate::NodeError;
use crate::block::{Block, FinalityCertificate};
use crate::hash::Hash;
use crate::receipt::Receipt;
use borsh::{BorshDeserialize, BorshSerialize};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

const BLOCKS: &str = "blocks";
const CERTIFICATES: &str = "certificates";
const BLOCK_HASHES: &str = "block_hashes";
const TRANSACTIONS: &str = "transactions";
const RECEIPTS: &str = "receipts";
const STATE: &str = "state";
const ACCOUNTS: &str = "accounts";
const CONTRACTS: &str = "contracts";
const CODE: &str = "code";
const EVENTS: &str = "events";
const META: &str = "meta";
/// Node-local, not consensus state: what application modules keep for themselves (counters,
/// indexes), one namespace per module.
const MODULES: &str = "modules";
/// Each block's Merkle leaves (transaction and receipt), so an inclusion proof costs one read
/// instead of re-hashing every transaction and receipt of the block.
const BLOCK_LEAVES: &str = "block_leaves";
/// Raft log entries by index (big-endian), with the `raft` engine.
const RAFT_LOG: &str = "raft_log";
const COLUMN_FAMILIES: [&str; 14] = [
    BLOCKS,
    CERTIFICATES,
    BLOCK_HASHES,
    TRANSACTIONS,
    RECEIPTS,
    STATE,
    ACCOUNTS,
    CONTRACTS,
    CODE,
    EVENTS,
    META,
    MODULES,
    BLOCK_LEAVES,
    RAFT_LOG,
];

const HEAD_KEY: &[u8] = b"head";
const GENESIS_HASH_KEY: &[u8] = b"genesis_hash";
const CONSENSUS_STATE_KEY: &[u8] = b"consensus_state";
/// Prefix of the keys engines keep in `meta` through [`Storage::engine_meta`].
pub const ENGINE_META_PREFIX: &[u8] = b"engine/";

/// Most index entries one topic lookup returns.
pub const EVENTS_PER_LOOKUP_MAX: usize = 10_000;

/// The last committed block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Head {
    pub height: u64,
    pub hash: Hash,
    pub state_root: Hash,
    pub timestamp_ms: u64,
}

/// Where a transaction sits in the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TransactionLocation {
    pub height: u64,
    pub index: u32,
}

/// One entry of the event index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLocation {
    pub height: u64,
    pub transaction_index: u32,
    pub event_index: u16,
    pub transaction_id: Hash,
}

/// A block's Merkle leaves: (transaction leaves, receipt leaves), in block order.
pub type BlockLeaves = (Vec<Hash>, Vec<Hash>);

/// Everything a block changes, as the executor computed it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEffects {
    /// (contract id, key) → new value or removal.
    pub state_writes: BTreeMap<(String, Vec<u8>), Option<Vec<u8>>>,
    /// sender → next nonce after the block.
    pub nonces: BTreeMap<[u8; 32], u64>,
    /// contract id → code hash (deploys and upgrades).
    pub contracts: BTreeMap<String, Hash>,
    /// code hash → wasm bytes.
    pub code: BTreeMap<Hash, Vec<u8>>,
    pub receipts: Vec<Receipt>,
}

/// A committed block with everything needed to store it.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    pub block: Block,
    pub certificate: Option<FinalityCertificate>,
    /// Shared: a block executed but not yet stored is also what later blocks execute on.
    pub effects: Arc<BlockEffects>,
}

pub struct Storage {
    db: DB,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Storage")
            .field("path", &self.db.path())
            .finish()
    }
}

fn state_key(contract: &str, key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(contract.len() + 1 + key.len());
    full.extend_from_slice(contract.as_bytes());
    full.push(0);
    full.extend_from_slice(key);
    full
}

fn event_key(topic: &str, height: u64, transaction_index: u32, event_index: u16) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + 15);
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(&height.to_be_bytes());
    key.extend_from_slice(&transaction_index.to_be_bytes());
    key.extend_from_slice(&event_index.to_be_bytes());
    key
}

fn decode<T: BorshDeserialize>(bytes: &[u8], what: &str) -> Result<T, NodeError> {
    borsh::from_slice(bytes).map_err(|error| NodeError::Corrupt(format!("{what}: {error}")))
}

impl Storage {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<Storage, NodeError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // A node process owns its folder; a second process opening it fails on RocksDB's lock.
        // RocksDB must open every column family a folder has: those of this version, and any
        // an earlier version made and no longer uses (e.g. `scans`, now a module's namespace).
        let mut names: Vec<String> = COLUMN_FAMILIES
            .iter()
            .map(|name| name.to_string())
            .collect();
        if let Ok(existing) = DB::list_cf(&options, path) {
            for name in existing {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        let families = names.into_iter().map(|name| {
            let mut family_options = Options::default();
            family_options.set_compression_type(rocksdb::DBCompressionType::Lz4);
            ColumnFamilyDescriptor::new(name, family_options)
        });
        let db = DB::open_cf_descriptors(&options, path, families)?;
        Ok(Storage { db })
    }

    fn family(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("every column family is created on open")
    }

    fn get(&self, family: &str, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        Ok(self.db.get_cf(self.family(family), key)?)
    }

    pub fn head(&self) -> Result<Option<Head>, NodeError> {
        self.get(META, HEAD_KEY)?
            .map(|bytes| decode(&bytes, "head"))
            .transpose()
    }

    pub fn genesis_hash(&self) -> Result<Option<Hash>, NodeError> {
        self.get(META, GENESIS_HASH_KEY)?
            .map(|bytes| decode(&bytes, "genesis hash"))
            .transpose()
    }

    pub fn state(&self, contract: &str, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        self.get(STATE, &state_key(contract, key))
    }

    /// The sender's next nonce (0 for a sender that never sent).
    pub fn next_nonce(&self, sender: &[u8; 32]) -> Result<u64, NodeError> {
        Ok(match self.get(ACCOUNTS, sender)? {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .try_into()
                    .map_err(|_| NodeError::Corrupt("nonce is not 8 bytes".into()))?,
            ),
            None => 0,
        })
    }

    pub fn contract_code_hash(&self, contract: &str) -> Result<Option<Hash>, NodeError> {
        self.get(CONTRACTS, contract.as_bytes())?
            .map(|bytes| decode(&bytes, "code hash"))
            .transpose()
    }

    /// Every deployed contract id and its code hash.
    pub fn contracts(&self) -> Result<Vec<(String, Hash)>, NodeError> {
        let mut contracts = Vec::new();
        for item in self
            .db
            .iterator_cf(self.family(CONTRACTS), IteratorMode::Start)
        {
            let (key, value) = item?;
            contracts.push((
                String::from_utf8_lossy(&key).into_owned(),
                decode(&value, "code hash")?,
            ));
        }
        Ok(contracts)
    }

    pub fn code(&self, hash: &Hash) -> Result<Option<Vec<u8>>, NodeError> {
        self.get(CODE, hash)
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, NodeError> {
        self.get(BLOCKS, &height.to_be_bytes())?
            .map(|bytes| Block::decode(&bytes).map_err(NodeError::Corrupt))
            .transpose()
    }

    pub fn certificate(&self, height: u64) -> Result<Option<FinalityCertificate>, NodeError> {
        self.get(CERTIFICATES, &height.to_be_bytes())?
            .map(|bytes| decode(&bytes, "certificate"))
            .transpose()
    }

    /// The transaction and receipt leaves of block `height`'s Merkle trees.
    pub fn block_leaves(&self, height: u64) -> Result<Option<BlockLeaves>, NodeError> {
        self.get(BLOCK_LEAVES, &height.to_be_bytes())?
            .map(|bytes| decode(&bytes, "block leaves"))
            .transpose()
    }

    pub fn height_of_block(&self, hash: &Hash) -> Result<Option<u64>, NodeError> {
        self.get(BLOCK_HASHES, hash)?
            .map(|bytes| decode(&bytes, "block height"))
            .transpose()
    }

    pub fn transaction_location(
        &self,
        id: &Hash,
    ) -> Result<Option<TransactionLocation>, NodeError> {
        self.get(TRANSACTIONS, id)?
            .map(|bytes| decode(&bytes, "transaction location"))
            .transpose()
    }

    pub fn receipt(&self, id: &Hash) -> Result<Option<Receipt>, NodeError> {
        self.get(RECEIPTS, id)?
            .map(|bytes| decode(&bytes, "receipt"))
            .transpose()
    }

    /// Index entries of a topic in chain order, at most `limit` (capped at
    /// [`EVENTS_PER_LOOKUP_MAX`]).
    pub fn events_by_topic(
        &self,
        topic: &str,
        limit: usize,
    ) -> Result<Vec<EventLocation>, NodeError> {
        self.events_by_topic_after(topic, None, limit)
    }

    /// Index entries of a topic strictly after the position `after` (height, transaction index,
    /// event index), in chain order, at most `limit`: a cursor that pages through a topic of
    /// any size in constant work per page.
    pub fn events_by_topic_after(
        &self,
        topic: &str,
        after: Option<(u64, u32, u16)>,
        limit: usize,
    ) -> Result<Vec<EventLocation>, NodeError> {
        let limit = limit.min(EVENTS_PER_LOOKUP_MAX);
        let mut prefix = topic.as_bytes().to_vec();
        prefix.push(0);
        let start = match after {
            Some((height, transaction_index, event_index)) => {
                event_key(topic, height, transaction_index, event_index)
            }
            None => prefix.clone(),
        };
        let mut found = Vec::new();
        let iterator = self.db.iterator_cf(
            self.family(EVENTS),
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iterator {
            let (key, value) = item?;
            if !key.starts_with(&prefix) || found.len() >= limit {
                break;
            }
            let rest = &key[prefix.len()..];
            if rest.len() != 14 {
                // Not an entry of this topic (the host refuses NUL in topics, so none is written
                // today); skipping keeps one odd key from failing every lookup of the topic.
                continue;
            }
            let location = EventLocation {
                height: u64::from_be_bytes(rest[0..8].try_into().expect("8 bytes")),
                transaction_index: u32::from_be_bytes(rest[8..12].try_into().expect("4 bytes")),
                event_index: u16::from_be_bytes(rest[12..14].try_into().expect("2 bytes")),
                transaction_id: value
                    .as_ref()
                    .try_into()
                    .map_err(|_| NodeError::Corrupt("event index value".into()))?,
            };
            let position = (
                location.height,
                location.transaction_index,
                location.event_index,
            );
            if after.is_some_and(|after| position <= after) {
                continue;
            }
            found.push(location);
        }
        Ok(found)
    }

    /// Writes a block and all its effects atomically and durably.
    pub fn commit_block(
        &self,
        committed: &CommittedBlock,
        genesis_hash: Option<&Hash>,
    ) -> Result<Head, NodeError> {
        self.commit_block_with_meta(committed, genesis_hash, &[])
    }

    /// [`Storage::commit_block`], with engine metadata written in the same batch (Raft's
    /// last applied log id, so a block is applied exactly once across crashes).
    ///
    /// Long because the whole block goes into one write batch: splitting it would split what
    /// must be atomic, or pass the batch through helpers that each write a part.
    pub fn commit_block_with_meta(
        &self,
        committed: &CommittedBlock,
        genesis_hash: Option<&Hash>,
        meta: &[(&[u8], Vec<u8>)],
    ) -> Result<Head, NodeError> {
        let header = &committed.block.header;
        let hash = header.hash();
        let height_bytes = header.height.to_be_bytes();
        let effects = &committed.effects;
        assert_eq!(
            committed.block.transactions.len(),
            effects.receipts.len(),
            "one receipt per transaction"
        );
        let mut batch = WriteBatch::default();
        batch.put_cf(self.family(BLOCKS), height_bytes, committed.block.encode());
        if let Some(certificate) = &committed.certificate {
            batch.put_cf(
                self.family(CERTIFICATES),
                height_bytes,
                borsh::to_vec(certificate).expect("encodes"),
            );
        }
        batch.put_cf(
            self.family(BLOCK_HASHES),
            hash,
            borsh::to_vec(&header.height).expect("encodes"),
        );
        let mut transaction_leaves = Vec::with_capacity(effects.receipts.len());
        let mut receipt_leaves = Vec::with_capacity(effects.receipts.len());
        for (index, (transaction, receipt)) in committed
            .block
            .transactions
            .iter()
            .zip(&effects.receipts)
            .enumerate()
        {
            // The executor made each receipt from its transaction, in block order; hashing every
            // transaction again here would cost an encoding and an SM3 per transaction in
            // release builds, so the check runs in debug builds (every test) only.
            let id = receipt.transaction_id;
            debug_assert_eq!(id, transaction.id(), "receipts follow block order");
            // The executor refuses a block repeating a committed transaction (its nonce is used);
            // a committed transaction's location and receipt are never written over.
            debug_assert!(
                self.get(TRANSACTIONS, &id)
                    .is_ok_and(|location| location.is_none()),
                "transaction {} is committed already",
                hex::encode(id)
            );
            transaction_leaves.push(crate::hash::leaf_hash(&id));
            receipt_leaves.push(crate::hash::leaf_hash(&receipt.hash()));
            let location = TransactionLocation {
                height: header.height,
                index: index as u32,
            };
            batch.put_cf(
                self.family(TRANSACTIONS),
                id,
                borsh::to_vec(&location).expect("encodes"),
            );
            batch.put_cf(
                self.family(RECEIPTS),
                id,
                borsh::to_vec(receipt).expect("encodes"),
            );
            for (event_index, event) in receipt.events.iter().enumerate() {
                for topic in &event.topics {
                    batch.put_cf(
                        self.family(EVENTS),
                        event_key(topic, header.height, index as u32, event_index as u16),
                        id,
                    );
                }
            }
        }
        batch.put_cf(
            self.family(BLOCK_LEAVES),
            height_bytes,
            borsh::to_vec(&(&transaction_leaves, &receipt_leaves)).expect("encodes"),
        );
        for ((contract, key), value) in &effects.state_writes {
            let full = state_key(contract, key);
            match value {
                Some(value) => batch.put_cf(self.family(STATE), full, value),
                None => batch.delete_cf(self.family(STATE), full),
            }
        }
        for (sender, nonce) in &effects.nonces {
            batch.put_cf(self.family(ACCOUNTS), sender, nonce.to_be_bytes());
        }
        for (contract, code_hash) in &effects.contracts {
            batch.put_cf(
                self.family(CONTRACTS),
                contract.as_bytes(),
                borsh::to_vec(code_hash).expect("encodes"),
            );
        }
        for (code_hash, code) in &effects.code {
            batch.put_cf(self.family(CODE), code_hash, code);
        }
        let head = Head {
            height: header.height,
            hash,
            state_root: header.state_root,
            timestamp_ms: header.timestamp_ms,
        };
        batch.put_cf(
            self.family(META),
            HEAD_KEY,
            borsh::to_vec(&head).expect("encodes"),
        );
        if let Some(genesis_hash) = genesis_hash {
            batch.put_cf(
                self.family(META),
                GENESIS_HASH_KEY,
                borsh::to_vec(genesis_hash).expect("encodes"),
            );
        }
        for (key, value) in meta {
            assert!(key.starts_with(ENGINE_META_PREFIX), "engine metadata only");
            batch.put_cf(self.family(META), key, value);
        }
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        self.db.write_opt(batch, &write_options)?;
        Ok(head)
    }

    /// Engine metadata (keys start with `engine/`).
    pub fn engine_meta(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        assert!(key.starts_with(ENGINE_META_PREFIX), "engine metadata only");
        self.get(META, key)
    }

    /// Writes engine metadata durably (`None` removes the key).
    pub fn put_engine_meta(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), NodeError> {
        assert!(key.starts_with(ENGINE_META_PREFIX), "engine metadata only");
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        match value {
            Some(value) => self
                .db
                .put_cf_opt(self.family(META), key, value, &write_options)?,
            None => self
                .db
                .delete_cf_opt(self.family(META), key, &write_options)?,
        }
        Ok(())
    }

    /// Appends Raft log entries (index, bytes) in one synced batch.
    pub fn raft_log_append(&self, entries: &[(u64, Vec<u8>)]) -> Result<(), NodeError> {
        let mut batch = WriteBatch::default();
        for (index, bytes) in entries {
            batch.put_cf(self.family(RAFT_LOG), index.to_be_bytes(), bytes);
        }
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        self.db.write_opt(batch, &write_options)?;
        Ok(())
    }

    /// Raft log entries with indexes in `[start, end)`, in order, at most `limit`.
    pub fn raft_log_range(
        &self,
        start: u64,
        end: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, NodeError> {
        let mut found = Vec::new();
        let iterator = self.db.iterator_cf(
            self.family(RAFT_LOG),
            rocksdb::IteratorMode::From(&start.to_be_bytes(), rocksdb::Direction::Forward),
        );
        for item in iterator {
            let (key, value) = item?;
            let index = u64::from_be_bytes(
                key.as_ref()
                    .try_into()
                    .map_err(|_| NodeError::Corrupt("raft log key".into()))?,
            );
            if index >= end || found.len() >= limit {
                break;
            }
            found.push((index, value.to_vec()));
        }
        Ok(found)
    }

    /// The last Raft log entry, if any.
    pub fn raft_log_last(&self) -> Result<Option<(u64, Vec<u8>)>, NodeError> {
        let mut iterator = self
            .db
            .iterator_cf(self.family(RAFT_LOG), rocksdb::IteratorMode::End);
        match iterator.next() {
            Some(item) => {
                let (key, value) = item?;
                let index = u64::from_be_bytes(
                    key.as_ref()
                        .try_into()
                        .map_err(|_| NodeError::Corrupt("raft log key".into()))?,
                );
                Ok(Some((index, value.to_vec())))
            }
            None => Ok(None),
        }
    }

    /// Deletes Raft log entries with indexes in `[start, end)`, durably.
    pub fn raft_log_delete(&self, start: u64, end: u64) -> Result<(), NodeError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(
            self.family(RAFT_LOG),
            start.to_be_bytes(),
            end.to_be_bytes(),
        );
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        self.db.write_opt(batch, &write_options)?;
        Ok(())
    }

    /// Stores the certificate of a stored block that became final before its certificate
    /// gathered (Raft attestations).
    pub fn put_certificate(&self, certificate: &FinalityCertificate) -> Result<(), NodeError> {
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        self.db.put_cf_opt(
            self.family(CERTIFICATES),
            certificate.height.to_be_bytes(),
            borsh::to_vec(certificate).expect("encodes"),
            &write_options,
        )?;
        Ok(())
    }

    /// The consensus engine's durable state (PBFT votes and view), as last saved.
    pub fn consensus_state(&self) -> Result<Option<Vec<u8>>, NodeError> {
        self.get(META, CONSENSUS_STATE_KEY)
    }

    /// Saves the consensus engine's state with a synced write: the engine may send votes that
    /// depend on it only after this returns.
    pub fn save_consensus_state(&self, bytes: &[u8]) -> Result<(), NodeError> {
        let mut write_options = WriteOptions::default();
        write_options.set_sync(true);
        self.db.put_cf_opt(
            self.family(META),
            CONSENSUS_STATE_KEY,
            bytes,
            &write_options,
        )?;
        Ok(())
    }

    /// A consistent on-disk copy of the database (RocksDB checkpoint) in `target`, for backups.
    pub fn checkpoint(&self, target: &Path) -> Result<(), NodeError> {
        let checkpoint = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        checkpoint.create_checkpoint(target)?;
        Ok(())
    }
}

/// Longest module name (a module's storage namespace).
pub const MODULE_NAME_BYTES_MAX: usize = 64;

/// An application module's own node-local storage: a namespace of the `modules` column family.
/// What a module keeps here (counters, indexes built from committed blocks) is this node's, not
/// consensus state, and no other module sees it.
#[derive(Clone, Debug)]
pub struct ModuleStore {
    storage: Arc<Storage>,
    /// The module's name followed by 0x00, so no namespace is a prefix of another.
    prefix: Vec<u8>,
}

impl ModuleStore {
    /// The namespace `name` of `storage`; a name is 1 to [`MODULE_NAME_BYTES_MAX`] bytes of
    /// lowercase ASCII letters, digits and `-`.
    pub fn new(storage: Arc<Storage>, name: &str) -> ModuleStore {
        assert!(
            !name.is_empty()
                && name.len() <= MODULE_NAME_BYTES_MAX
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-'),
            "module name '{name}' is not 1 to {MODULE_NAME_BYTES_MAX} of [a-z0-9-]"
        );
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        ModuleStore { storage, prefix }
    }

    fn key(&self, key: &[u8]) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(&self.prefix);
        full.extend_from_slice(key);
        full
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, NodeError> {
        self.storage.get(MODULES, &self.key(key))
    }

    /// Writes one value (not synced: module data can be rebuilt or is an observation whose
    /// loss in a crash costs little; the chain's own data is what [`Storage::commit_block`]
    /// syncs).
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<(), NodeError> {
        let storage = &self.storage;
        storage
            .db
            .put_cf(storage.family(MODULES), self.key(key), value)?;
        Ok(())
    }

    pub fn delete(&self, key: &[u8]) -> Result<(), NodeError> {
        let storage = &self.storage;
        storage
            .db
            .delete_cf(storage.family(MODULES), self.key(key))?;
        Ok(())
    }

    /// A batch of writes to this namespace, applied together by [`ModuleStore::write`].
    pub fn batch(&self) -> ModuleBatch {
        ModuleBatch::default()
    }

    /// Applies a batch atomically (all of it or, after a crash, none of it).
    pub fn write(&self, batch: ModuleBatch) -> Result<(), NodeError> {
        let storage = &self.storage;
        let family = storage.family(MODULES);
        let mut writes = WriteBatch::default();
        for (key, value) in batch.writes {
            match value {
                Some(value) => writes.put_cf(family, self.key(&key), value),
                None => writes.delete_cf(family, self.key(&key)),
            }
        }
        storage.db.write(writes)?;
        Ok(())
    }
}

/// Writes to one module's namespace, applied together by [`ModuleStore::write`].
#[derive(Debug, Default)]
pub struct ModuleBatch {
    /// Key (inside the namespace) → new value or removal, in order.
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    bytes: usize,
}

impl ModuleBatch {
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.bytes += key.len() + value.len();
        self.writes.push((key.to_vec(), Some(value.to_vec())));
    }

    pub fn delete(&mut self, key: &[u8]) {
        self.bytes += key.len();
        self.writes.push((key.to_vec(), None));
    }

    /// Bytes of keys and values in the batch so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
