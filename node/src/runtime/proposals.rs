//! What the PBFT and Raft drivers share about proposals: pacing (when a block is due, when
//! waiting transactions go to the primary or leader), building a proposal, and the checks a
//! replica runs on a block someone else built.

use super::{Inner, Parent, Prepared, build_block, committed_nonce};
use crate::block::{BLOCK_VERSION, Block, transactions_root_of_ids, validator_set_hash};
use crate::metrics::Metrics;
use crate::transaction::{SignedTransaction, verify_all};

/// The local backlog and chain progress, as both drivers pace their work by them.
#[derive(Debug)]
pub(super) struct Pacing {
    /// Since when the mempool has had executable transactions.
    backlog_since_ms: Option<u64>,
    last_head_height: u64,
    /// When the head last moved.
    last_progress_ms: u64,
    last_forward_ms: u64,
}

impl Pacing {
    pub fn new(now_ms: u64) -> Pacing {
        Pacing {
            backlog_since_ms: None,
            last_head_height: 0,
            last_progress_ms: now_ms,
            last_forward_ms: 0,
        }
    }

    /// Reads the executable backlog and notes whether the head moved; returns the backlog.
    pub fn observe(&mut self, inner: &Inner, now_ms: u64) -> u64 {
        let (backlog, _) = inner
            .mempool
            .lock()
            .expect("mempool lock")
            .ready_backlog(|sender| committed_nonce(&inner.storage, sender));
        self.backlog_since_ms = match (backlog, self.backlog_since_ms) {
            (0, _) => None,
            (_, None) => Some(now_ms),
            (_, since) => since,
        };
        let head = inner.head.borrow().height;
        if head != self.last_head_height {
            self.last_head_height = head;
            self.last_progress_ms = now_ms;
        }
        backlog
    }

    /// A block is due when the backlog fills one or its oldest transaction waited an interval.
    pub fn block_due(
        &self,
        now_ms: u64,
        backlog: u64,
        transactions_max: u32,
        interval_ms: u64,
    ) -> bool {
        backlog > 0
            && (backlog >= u64::from(transactions_max)
                || self
                    .backlog_since_ms
                    .is_some_and(|since| now_ms.saturating_sub(since) >= interval_ms))
    }

    /// Whether transactions waited `after_ms` without a new block (and without a forward);
    /// a `true` counts as the forward.
    pub fn forward_due(&mut self, now_ms: u64, backlog: u64, after_ms: u64) -> bool {
        if backlog == 0
            || now_ms.saturating_sub(self.last_progress_ms.max(self.last_forward_ms)) < after_ms
        {
            return false;
        }
        self.last_forward_ms = now_ms;
        true
    }
}

/// The executable transactions waiting in the mempool after `parent` (its blocks' nonces used).
pub(super) fn backlog_after(inner: &Inner, parent: &Parent) -> u64 {
    inner
        .mempool
        .lock()
        .expect("mempool lock")
        .ready_backlog(|sender| parent.next_nonce(&inner.storage, sender))
        .0
}

/// Builds and executes a block on `parent` from the mempool; `None` when it would be empty or
/// building failed (logged).
pub(super) fn build_proposal(
    inner: &Inner,
    parent: &Parent,
    transactions_max: u32,
    bytes_max: u64,
) -> Option<Prepared> {
    let height = parent.height + 1;
    match build_block(inner, parent, transactions_max, bytes_max, false) {
        Ok(prepared) if prepared.committed.block.transactions.is_empty() => None,
        Ok(prepared) => {
            tracing::debug!(
                height,
                transactions = prepared.committed.block.transactions.len(),
                unstored_ancestors = parent.ancestors.len(),
                "proposing"
            );
            if parent.is_pending() {
                Metrics::add(&inner.metrics.blocks_proposed_on_pending_parent, 1);
            }
            Some(prepared)
        }
        Err(error) => {
            tracing::error!(%error, height, "building a block failed");
            None
        }
    }
}

/// What every replica checks on a block before executing it: built for this chain and
/// validator set by a validator, within the block limits, with the transactions its header
/// names, all for this chain and validly signed (those this node admitted were verified on
/// admission; the rest are verified in parallel).
pub(super) fn check_block_shape(
    inner: &Inner,
    validators: &[[u8; 32]],
    block: &Block,
    transactions_max: u32,
    bytes_max: u64,
) -> Result<(), String> {
    let header = &block.header;
    if header.version != BLOCK_VERSION || header.chain_id != inner.genesis.chain_id {
        return Err("wrong block version or chain".into());
    }
    if header.validator_set_hash != validator_set_hash(validators)
        || !validators.contains(&header.proposer)
    {
        return Err("wrong validator set or proposer".into());
    }
    if block.transactions.len() > transactions_max as usize {
        return Err("too many transactions".into());
    }
    // One encoding per transaction gives both its size and its id.
    let mut bytes = 0u64;
    let mut ids = Vec::with_capacity(block.transactions.len());
    for transaction in &block.transactions {
        let encoded = transaction.encode();
        bytes += encoded.len() as u64;
        ids.push(crate::hash::sm3(&encoded));
    }
    if bytes > bytes_max {
        return Err("too many bytes of transactions".into());
    }
    if transactions_root_of_ids(&ids) != header.transactions_root {
        return Err("the transactions do not match the header's root".into());
    }
    if block
        .transactions
        .iter()
        .any(|transaction| transaction.body.chain_id != inner.genesis.chain_id)
    {
        return Err("a transaction is for another chain".into());
    }
    let unverified: Vec<&SignedTransaction> = {
        let mempool = inner.mempool.lock().expect("mempool lock");
        block
            .transactions
            .iter()
            .zip(&ids)
            .filter(|(_, id)| !mempool.contains(id))
            .map(|(transaction, _)| transaction)
            .collect()
    };
    if !verify_all(&unverified) {
        return Err("a transaction is not validly signed".into());
    }
    Ok(())
}
