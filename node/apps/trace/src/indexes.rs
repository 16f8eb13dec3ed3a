//! What the traceability module derives from committed blocks, in its own namespace.
//!
//! [`CaptureIndexer`]: which transactions an EPCIS capture applied. A capture's anchoring record
//! names the calls that applied its events, but it is committed after them, so an EPC query
//! streaming events in chain order meets the calls first; this index answers "was this applied
//! by a capture?" in one read instead of a scan of the EPC's anchoring records per query.
//!
//! A record may hide only its own signer's work: the index keeps, per named transaction, the key
//! that signed the record, and a native event is hidden only when the same key signed it
//! (`TraceEvent::actor`); a named transaction must have been committed at most
//! [`crate::CAPTURE_EXPIRY_BLOCKS`] blocks before the record, as a capture's calls are. So one
//! member cannot make another member's dispense disappear from EPCIS queries by naming it.

use rxchain_node::api::{ApiError, Code};
use rxchain_node::app::{IndexedBlock, Indexer, IndexerError};
use rxchain_node::hash::Hash;
use rxchain_node::receipt::ReceiptStatus;
use rxchain_node::storage::{ModuleBatch, ModuleStore};
use rxchain_trace_types::{self as trace, ContractEvent};

/// The trace contract's methods that emit anchoring records (`ContractEvent::Epcis`); only
/// their receipts are read.
const ANCHORING_METHODS: [&str; 2] = ["record_epcis_event", "record_epcis_events"];

/// Key prefix of the transactions a capture applied.
const APPLIED_PREFIX: &[u8] = b"capture-applied/";

fn applied_key(transaction: &Hash) -> Vec<u8> {
    [APPLIED_PREFIX, transaction.as_slice()].concat()
}

/// Indexes the transactions named by successful EPCIS anchoring records.
#[derive(Debug)]
pub struct CaptureIndexer;

impl Indexer for CaptureIndexer {
    fn name(&self) -> &'static str {
        "capture-applied"
    }

    fn index_block(
        &mut self,
        block: &IndexedBlock<'_>,
        batch: &mut ModuleBatch,
    ) -> Result<(), IndexerError> {
        for (index, transaction) in block.block.transactions.iter().enumerate() {
            let body = &transaction.body;
            if body.contract != trace::CONTRACT_ID
                || !ANCHORING_METHODS.contains(&body.method.as_str())
            {
                continue;
            }
            let receipt = block.receipt(index)?;
            if receipt.status != ReceiptStatus::Success {
                continue;
            }
            for event in &receipt.events {
                let anchored = event.contract == trace::CONTRACT_ID
                    && event
                        .topics
                        .first()
                        .is_some_and(|topic| topic.starts_with(trace::EPCIS_TOPIC_PREFIX));
                if !anchored {
                    continue;
                }
                // An anchoring event that does not decode as a record is not one: skip it.
                if let Some(ContractEvent::Epcis(record)) = ContractEvent::decode(&event.data) {
                    for transaction in &record.applied_transactions {
                        let committed_at = block.transaction_height(transaction)?;
                        let in_capture_window = committed_at.is_some_and(|height| {
                            block.block.header.height - height <= crate::CAPTURE_EXPIRY_BLOCKS
                        });
                        if in_capture_window {
                            batch.put(&applied_key(transaction), &body.sender);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Whether a capture signed by `signer` applied `transaction` (read after catching the index
/// up): the events of a transaction another key named stay visible.
pub fn applied_by_capture(
    store: &ModuleStore,
    transaction: &Hash,
    signer: &[u8; 32],
) -> Result<bool, ApiError> {
    store
        .get(&applied_key(transaction))
        .map(|value| value.as_deref() == Some(signer.as_slice()))
        .map_err(|error| ApiError::of(Code::Internal, error.to_string()))
}
