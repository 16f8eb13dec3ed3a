//! What the PBFT and Raft drivers share about proposals: pacing (when a block is due, when
//! waiting transactions go to the primary or leader), building a proposal, the checks a
//! replica runs on a block someone else built, and re-executing a certified block from sync.

use super::{Inner, Parent, Prepared, build_block, committed_nonce};
use crate::NodeError;
use crate::block::FinalityCertificate;
use crate::block::{BLOCK_VERSION, Block, transactions_root_of_ids, validator_set_hash};
use crate::metrics::Metrics;
use crate::receipt::receipts_root;
use crate::state::{Ancestors, next_state_root};
use crate::storage::{CommittedBlock, Head};
use crate::transaction::{SignedTransaction, verify_all};
use std::sync::Arc;
use std::time::Instant;

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

/// Builds the next proposal on `parent` if one is due: the transactions waiting after `parent`
/// fill a block or the oldest waited an interval (see [`Pacing::block_due`]). `backlog` is the
/// executable backlog after the stored head. After a pending parent the backlog is counted
/// again (the head's still includes the blocks in flight), and the interval runs from the
/// parent's timestamp — otherwise each transaction arriving while a block is in flight would
/// make a block of its own.
pub(super) fn proposal_if_due(
    inner: &Inner,
    pacing: &Pacing,
    parent: &Parent,
    backlog: u64,
    now_ms: u64,
    (transactions_max, bytes_max, interval_ms): (u32, u64, u64),
) -> Option<Prepared> {
    let due = if parent.is_pending() {
        let backlog = backlog_after(inner, parent);
        backlog > 0
            && (backlog >= u64::from(transactions_max)
                || now_ms.saturating_sub(parent.timestamp_ms) >= interval_ms)
    } else {
        pacing.block_due(now_ms, backlog, transactions_max, interval_ms)
    };
    if !due {
        return None;
    }
    build_proposal(inner, parent, transactions_max, bytes_max)
}

/// The executable transactions waiting in the mempool after `parent` (its blocks' nonces used).
fn backlog_after(inner: &Inner, parent: &Parent) -> u64 {
    inner
        .mempool
        .lock()
        .expect("mempool lock")
        .ready_backlog(|sender| parent.next_nonce(&inner.storage, sender))
        .0
}

/// Builds and executes a block on `parent` from the mempool; `None` when it would be empty or
/// building failed (logged).
fn build_proposal(
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

/// Why a block from block sync was not taken.
pub(super) enum SyncFailure {
    /// The peer's answer is not the next certified block: ask another peer.
    Refused(String),
    /// A quorum certified a block this node cannot reproduce or place: it must stop rather
    /// than diverge.
    Halt(String),
}

/// Checks a block fetched by block sync for the height above `head` — its certificate against
/// the validator set, its shape, that it builds on the head — and re-executes it, comparing
/// receipts and state root with the header. Returns it ready to store.
pub(super) fn certified_block(
    inner: &Inner,
    validators: &[[u8; 32]],
    limits: (u32, u64),
    head: &Head,
    block: crate::block::Block,
    certificate: FinalityCertificate,
) -> Result<Prepared, SyncFailure> {
    let height = block.header.height;
    if height != head.height + 1 {
        return Err(SyncFailure::Refused(format!(
            "block {height} is not the next one ({})",
            head.height + 1
        )));
    }
    certificate
        .verify(&block.header, validators)
        .map_err(|error| SyncFailure::Refused(format!("bad certificate: {error}")))?;
    check_block_shape(inner, validators, &block, limits.0, limits.1)
        .map_err(|reason| SyncFailure::Refused(format!("does not match its header: {reason}")))?;
    if block.header.previous_hash != head.hash {
        return Err(SyncFailure::Halt(format!(
            "certified block {height} builds on {}, but this node's block {} is {}",
            hex::encode(block.header.previous_hash),
            head.height,
            hex::encode(head.hash)
        )));
    }
    let started = Instant::now();
    let effects = inner
        .executor
        .execute_block(
            &inner.storage,
            &Ancestors::none(),
            height,
            block.header.timestamp_ms,
            &block.transactions,
        )
        .map_err(|error| {
            SyncFailure::Halt(format!("executing synced block {height} failed: {error}"))
        })?;
    let computed = next_state_root(&head.state_root, &effects);
    if computed != block.header.state_root
        || receipts_root(&effects.receipts) != block.header.receipts_root
    {
        // A quorum certified this block; a node that computes another state has diverged
        // (different code or corrupted state) and must not go on.
        return Err(SyncFailure::Halt(
            NodeError::StateRootMismatch {
                height,
                expected: hex::encode(block.header.state_root),
                computed: hex::encode(computed),
            }
            .to_string(),
        ));
    }
    Ok(Prepared {
        committed: CommittedBlock {
            block,
            certificate: Some(certificate),
            effects: Arc::new(effects),
        },
        execution: started.elapsed(),
    })
}
