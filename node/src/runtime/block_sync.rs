//! Block sync, as both replica drivers speak it: a lagging or restarted node asks a peer for
//! certified blocks from a height on, and checks each against the validator set before storing
//! it (`proposals::certified_block`).
//!
//! Wire format (borsh): a [`SyncRequest`] on the block-sync channel, a [`SyncResponse`] back.

use super::driver_limits::SYNC_BLOCKS_PER_REQUEST_MAX;
use crate::NodeError;
use crate::block::{Block, FinalityCertificate};
use crate::storage::Storage;
use borsh::{BorshDeserialize, BorshSerialize};

/// Bytes of blocks per sync response, at most (the network limit is 32 MiB).
const SYNC_RESPONSE_BYTES_MAX: usize = 24 * 1024 * 1024;

/// "Send me blocks from `from_height` on."
#[derive(Debug, BorshSerialize, BorshDeserialize)]
pub(super) struct SyncRequest {
    pub from_height: u64,
    pub count: u64,
}

impl SyncRequest {
    /// The request for blocks `from_height` up to `to_height`, at most as many as one answer
    /// carries.
    pub fn encode(from_height: u64, to_height: u64) -> Vec<u8> {
        borsh::to_vec(&SyncRequest {
            from_height,
            count: (to_height.saturating_sub(from_height) + 1).min(SYNC_BLOCKS_PER_REQUEST_MAX),
        })
        .expect("encodes")
    }
}

/// Consecutive certified blocks from the requested height, and the server's head height.
#[derive(Debug, BorshSerialize, BorshDeserialize)]
pub(super) struct SyncResponse {
    pub head_height: u64,
    pub blocks: Vec<(Block, FinalityCertificate)>,
}

impl SyncResponse {
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, String> {
        borsh::from_slice(bytes).map_err(|error| error.to_string())
    }
}

/// Answers a block sync request from storage.
pub(super) fn serve_sync(storage: &Storage, request: &[u8]) -> Vec<u8> {
    let mut response = SyncResponse {
        head_height: 0,
        blocks: Vec::new(),
    };
    let answer = (|| -> Result<(), NodeError> {
        let request: SyncRequest = borsh::from_slice(request)
            .map_err(|error| NodeError::Network(format!("bad sync request: {error}")))?;
        let head = storage.head()?.map(|head| head.height).unwrap_or(0);
        response.head_height = head;
        let last = head.min(
            request
                .from_height
                .saturating_add(request.count.min(SYNC_BLOCKS_PER_REQUEST_MAX))
                .saturating_sub(1),
        );
        let mut bytes = 0;
        for height in request.from_height.max(1)..=last {
            let (Some(block), Some(certificate)) =
                (storage.block(height)?, storage.certificate(height)?)
            else {
                break;
            };
            bytes += block.encode().len();
            if bytes > SYNC_RESPONSE_BYTES_MAX && !response.blocks.is_empty() {
                break;
            }
            response.blocks.push((block, certificate));
        }
        Ok(())
    })();
    if let Err(error) = answer {
        tracing::warn!(%error, "serving a block sync request failed");
    }
    borsh::to_vec(&response).expect("encodes")
}
