//! The state a block executes against: committed storage plus the block's pending writes; and
//! the state root.
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

/// Committed state with the current block's writes on top. Reads see pending writes first.
#[derive(Clone)]
pub struct OverlayReader {
    storage: Arc<Storage>,
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
    pub fn new(storage: Arc<Storage>) -> Self {
        OverlayReader {
            storage,
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
        if let Some(value) = self
            .pending
            .read()
            .expect("overlay lock")
            .get(&(contract_id.to_string(), key.to_vec()))
        {
            return value.clone();
        }
        // A storage read error here cannot be turned into a contract error deterministically;
        // the node halts rather than execute against state it could not read.
        self.storage
            .state(contract_id, key)
            .expect("state read failed; the node cannot execute safely")
    }
}
