//! How a Byzantine replica misbehaves in the whole-node simulation ([`super::simulated`]).
//!
//! Each mode is one of the attacks the driver must withstand from a validator that holds a
//! valid key (issue #12): it runs the real driver and deviates only where the attack does, so
//! the honest replicas see exactly what a compromised member's node would send them. A
//! [`super::simulated::SimulatedReplica`] can be Byzantine, and so can a node on the network
//! whose config enables fault injection (`byzantine = "…"` beside `fault_injection = true`,
//! for the four-process tests); without fault injection the node refuses to start.

use super::{Message, Replica, Vote};
use crate::block::{Block, BlockHeader, FinalityCertificate, transactions_root};
use crate::hash::sm3;

/// The attacks a simulated Byzantine validator can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByzantineMode {
    /// Every message it sends carries bodies of blocks nobody proposed, for every height of
    /// the window ahead (to fill the others' body caches).
    JunkBodies,
    /// Every message it sends carries, before the real ones, a copy of each pending block with
    /// the same header and other transactions (to swap a body the others hold).
    SwappedBodies,
    /// Every pass, pre-prepares with valid (empty) blocks for each of the next views (work for
    /// views the others have not entered).
    FutureViews,
    /// Every pass, commits with valid finality signatures for made-up blocks at heights ahead
    /// (to crowd out the signatures that make certificates).
    AttestationFlood,
    /// As primary, its blocks repeat a transaction: one of the block's own, or one committed
    /// in the block before.
    RepeatedTransactions,
    /// As primary, it never includes the transactions of the sender it censors, but keeps
    /// proposing everyone else's.
    Censorship { sender: [u8; 32] },
}

impl std::str::FromStr for ByzantineMode {
    type Err = String;

    /// `junk-bodies`, `swapped-bodies`, `future-views`, `attestation-flood`,
    /// `repeated-transactions` or `censorship:<the censored member's public key, hex>`.
    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "junk-bodies" => ByzantineMode::JunkBodies,
            "swapped-bodies" => ByzantineMode::SwappedBodies,
            "future-views" => ByzantineMode::FutureViews,
            "attestation-flood" => ByzantineMode::AttestationFlood,
            "repeated-transactions" => ByzantineMode::RepeatedTransactions,
            _ => {
                let key = text
                    .strip_prefix("censorship:")
                    .ok_or_else(|| format!("unknown Byzantine mode '{text}'"))?;
                let sender = hex::decode(key)
                    .ok()
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or_else(|| format!("'{key}' is not a public key (64 hex digits)"))?;
                ByzantineMode::Censorship { sender }
            }
        })
    }
}

/// Blocks of junk per message, at most: a window's worth crosses every per-validator bound.
const JUNK_BODIES_PER_MESSAGE: u64 = 80;
/// Views ahead of its own that a future-view flood pre-prepares in, each pass.
const FUTURE_VIEWS_PER_PASS: u64 = 8;
/// Made-up finality signatures per pass (one per height ahead, spread over the window).
const ATTESTATIONS_PER_PASS: u64 = 4;

/// A Byzantine replica's mode and what it needs to make things up deterministically.
pub(super) struct Byzantine {
    pub(super) mode: ByzantineMode,
    made_up: u64,
}

impl Byzantine {
    pub(super) fn new(mode: ByzantineMode) -> Self {
        Byzantine { mode, made_up: 0 }
    }
}

impl Replica {
    fn mode(&self) -> Option<ByzantineMode> {
        self.byzantine.as_ref().map(|byzantine| byzantine.mode)
    }

    /// A hash nobody can have made before: the replica's count of made-up things.
    fn made_up_hash(&mut self) -> [u8; 32] {
        let byzantine = self
            .byzantine
            .as_mut()
            .expect("only a Byzantine replica makes up");
        byzantine.made_up += 1;
        let mut bytes = b"rxchain/simulation/made-up".to_vec();
        bytes.extend_from_slice(&self.own_id);
        bytes.extend_from_slice(&byzantine.made_up.to_le_bytes());
        sm3(&bytes)
    }

    /// A block at `height` that builds on nothing and was never proposed.
    fn junk_block(&mut self, height: u64) -> Block {
        let head = self.head();
        Block {
            header: BlockHeader {
                version: crate::block::BLOCK_VERSION,
                chain_id: self.inner.genesis.chain_id.clone(),
                height,
                previous_hash: self.made_up_hash(),
                timestamp_ms: head.timestamp_ms,
                proposer: self.own_id,
                transactions_root: self.made_up_hash(),
                receipts_root: self.made_up_hash(),
                state_root: self.made_up_hash(),
                validator_set_hash: crate::block::validator_set_hash(&self.inner.validators),
            },
            transactions: Vec::new(),
        }
    }

    /// Once per pass, before the honest work.
    pub(super) fn misbehave(&mut self) {
        match self.mode() {
            Some(ByzantineMode::FutureViews) => {
                // Valid blocks on the head (each a distinct timestamp), one per view ahead: a
                // replica that executed pre-prepares of views it has not entered would execute
                // and keep every one until a block at that height is stored.
                let head = self.head();
                let next_sequence = self.engine.last_executed_sequence() + 1;
                let parent = crate::runtime::Parent::head(&head);
                let Ok(prepared) = crate::runtime::build_block(&self.inner, &parent, 0, 0, false)
                else {
                    return;
                };
                for ahead in 1..=FUTURE_VIEWS_PER_PASS {
                    let mut block = prepared.committed.block.clone();
                    block.header.timestamp_ms += ahead;
                    let vote = Vote {
                        view: self.engine.view() + ahead,
                        sequence: next_sequence,
                        payload_hash: block.header.hash(),
                        sender: self.own_id,
                    };
                    if let Some(bytes) =
                        self.seal(Message::PrePrepare(vote), vec![block], None, None)
                    {
                        self.broadcast_bytes(bytes);
                    }
                }
            }
            Some(ByzantineMode::AttestationFlood) => {
                let head = self.head().height;
                let window = super::BODIES_AHEAD_BLOCKS_MAX;
                for number in 0..ATTESTATIONS_PER_PASS {
                    let height = head + 1 + number * window / ATTESTATIONS_PER_PASS;
                    let payload_hash = self.made_up_hash();
                    let vote = Vote {
                        view: self.engine.view(),
                        sequence: self.engine.last_executed_sequence() + 1 + number,
                        payload_hash,
                        sender: self.own_id,
                    };
                    let signature =
                        FinalityCertificate::sign(height, payload_hash, &self.inner.validator_key);
                    if let Some(bytes) = self.seal(
                        Message::Commit(vote),
                        Vec::new(),
                        Some((height, signature.signature)),
                        None,
                    ) {
                        self.broadcast_bytes(bytes);
                    }
                }
            }
            Some(ByzantineMode::Censorship { sender }) => {
                // Whatever of the victim's reaches this node (gossip, forwarding) is dropped
                // before a block is built; everyone else's stays.
                let next_height = self.head().height + 1;
                self.inner.mempool.lock().expect("mempool lock").prune(
                    |queued| if *queued == sender { u64::MAX } else { 0 },
                    next_height.min(1),
                );
            }
            _ => {}
        }
    }

    fn broadcast_bytes(&mut self, bytes: Vec<u8>) {
        let peers: Vec<_> = self.peers.keys().copied().collect();
        for peer in peers {
            self.send(peer, bytes.clone());
        }
    }

    /// The bodies a message carries, as the mode has them.
    pub(super) fn tamper_with_bodies(&mut self, blocks: &mut Vec<Block>) {
        match self.mode() {
            Some(ByzantineMode::JunkBodies) => {
                let head = self.head().height;
                for ahead in 1..=JUNK_BODIES_PER_MESSAGE {
                    let block = self.junk_block(head + ahead);
                    blocks.push(block);
                }
            }
            Some(ByzantineMode::SwappedBodies) => {
                let mut pending: Vec<Block> = self
                    .executed
                    .values()
                    .map(|executed| executed.prepared.committed.block.clone())
                    .chain(self.bodies.blocks().cloned())
                    .collect();
                pending.sort_by_key(|block| block.header.hash());
                let mut swapped: Vec<Block> = pending
                    .into_iter()
                    .filter(|block| !block.transactions.is_empty())
                    .map(|mut block| {
                        // Same header (so the same hash), one transaction fewer.
                        block.transactions.pop();
                        block
                    })
                    .collect();
                swapped.append(blocks);
                *blocks = swapped;
            }
            _ => {}
        }
    }

    /// A proposal as the mode makes it (the primary's own executed effects stay: honest
    /// replicas re-execute and must refuse it).
    pub(super) fn tamper_with_proposal(&mut self, prepared: &mut super::Prepared) {
        if self.mode() != Some(ByzantineMode::RepeatedTransactions) {
            return;
        }
        let block = &mut prepared.committed.block;
        let repeated = match self.inner.storage.block(self.head().height) {
            // Alternately one committed in the block before and one of the block's own.
            Ok(Some(stored))
                if block.header.height.is_multiple_of(2) && !stored.transactions.is_empty() =>
            {
                stored.transactions[0].clone()
            }
            _ => match block.transactions.first() {
                Some(transaction) => transaction.clone(),
                None => return,
            },
        };
        block.transactions.push(repeated);
        block.header.transactions_root = transactions_root(&block.transactions);
    }
}
