//! The state a block executes against: committed storage, then the effects of executed blocks
//! it builds on that are not stored yet (its [`Ancestors`], when proposals are pipelined), then
//! the block's own pending writes; and the state root.
//!
//! State root (first cut, stated plainly): a hash chain over every block's state changes,
//! `root(n) = SM3("rxchain/state/v1" || root(n-1) || SM3(borsh(changes of block n)))`, where the
//! changes are the sorted contract writes, nonce updates and contract deployments. It commits to
//! the whole state history, so two nodes with equal roots hold equal state, and a node whose
//! re-execution differs sees it at once. It does not yet let a light client prove one key's
//! current value; a sparse Merkle tree (DESIGN.md §3) replaces it for that.

use crate::hash::{Hash, sm3, sm3_parts};
use crate::storage::{BlockEffects, Storage};
use rxchain_contract_host::StateReader;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// State-root domain tag.
const STATE_ROOT_DOMAIN: &[u8] = b"rxchain/state/v1";

/// The root after applying `effects` on top of `previous`.
pub fn next_state_root(previous: &Hash, effects: &BlockEffects) -> Hash {
    let changes = borsh::to_vec(&(&effects.state_writes, &effects.nonces, &effects.contracts))
        .expect("changes encode");
    sm3_parts(&[STATE_ROOT_DOMAIN, previous, &sm3(&changes)])
}

/// Writes of the block so far: (contract id, key) → value, `None` for a removal.
pub type PendingWrites = BTreeMap<(String, Vec<u8>), Option<Vec<u8>>>;

/// The effects of blocks executed on top of the stored head but not stored yet, oldest first:
/// a block proposed while its parent is still being agreed on executes on top of them.
///
/// Reading through them is idempotent with storing them: once an ancestor is stored, storage
/// and the ancestor answer alike, so a chain taken while the driver stores blocks stays right.
#[derive(Clone, Debug, Default)]
pub struct Ancestors(Arc<Vec<Arc<BlockEffects>>>);

impl Ancestors {
    /// No ancestors: the block builds on the stored head.
    pub fn none() -> Self {
        Ancestors::default()
    }

    pub fn new(effects: Vec<Arc<BlockEffects>>) -> Self {
        Ancestors(Arc::new(effects))
    }

    /// How many unstored blocks there are between the stored head and the block.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These ancestors and then `effects` (of the block that becomes the new parent).
    pub fn then(&self, effects: Arc<BlockEffects>) -> Ancestors {
        let mut chain = self.0.as_ref().clone();
        chain.push(effects);
        Ancestors::new(chain)
    }

    /// The newest write of a key, `Some(None)` for a removal, `None` when no ancestor wrote it.
    fn state(&self, key: &(String, Vec<u8>)) -> Option<&Option<Vec<u8>>> {
        self.0
            .iter()
            .rev()
            .find_map(|effects| effects.state_writes.get(key))
    }

    /// The sender's next nonce after the newest ancestor that used one of its nonces.
    pub fn next_nonce(&self, sender: &[u8; 32]) -> Option<u64> {
        self.0
            .iter()
            .rev()
            .find_map(|effects| effects.nonces.get(sender).copied())
    }

    /// The code hash a contract was deployed or upgraded with in an ancestor.
    pub fn contract_code_hash(&self, contract: &str) -> Option<Hash> {
        self.0
            .iter()
            .rev()
            .find_map(|effects| effects.contracts.get(contract).copied())
    }

    /// Code an ancestor deployed.
    pub fn code(&self, hash: &Hash) -> Option<&Vec<u8>> {
        self.0
            .iter()
            .rev()
            .find_map(|effects| effects.code.get(hash))
    }
}

/// Committed state, then the ancestors' writes, then the current block's writes. Reads see
/// the newest first.
#[derive(Clone)]
pub struct OverlayReader {
    storage: Arc<Storage>,
    ancestors: Ancestors,
    pending: Arc<RwLock<PendingWrites>>,
}

impl std::fmt::Debug for OverlayReader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OverlayReader")
            .finish_non_exhaustive()
    }
}

impl OverlayReader {
    /// Committed state with nothing on top.
    pub fn new(storage: Arc<Storage>) -> Self {
        OverlayReader::on(storage, Ancestors::none())
    }

    /// Committed state with `ancestors` on top.
    pub fn on(storage: Arc<Storage>, ancestors: Ancestors) -> Self {
        OverlayReader {
            storage,
            ancestors,
            pending: Arc::default(),
        }
    }

    /// Adds a successful call's writes.
    pub fn apply(&self, contract: &str, writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        let mut pending = self.pending.write().expect("overlay lock");
        for (key, value) in writes {
            pending.insert((contract.to_string(), key.clone()), value.clone());
        }
    }

    /// Everything written so far in this block.
    pub fn writes(&self) -> PendingWrites {
        self.pending.read().expect("overlay lock").clone()
    }
}

impl StateReader for OverlayReader {
    fn get(&self, contract_id: &str, key: &[u8]) -> Option<Vec<u8>> {
        let key = (contract_id.to_string(), key.to_vec());
        if let Some(value) = self.pending.read().expect("overlay lock").get(&key) {
            return value.clone();
        }
        if let Some(value) = self.ancestors.state(&key) {
            return value.clone();
        }
        let (contract_id, key) = (&key.0, &key.1);
        // A storage read error here cannot be turned into a contract error deterministically;
        // the node halts rather than execute against state it could not read.
        self.storage
            .state(contract_id, key)
            .expect("state read failed; the node cannot execute safely")
    }
}
