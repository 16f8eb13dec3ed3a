//! The solo engine: one validator cuts a block when a size or time bound is reached.
//!
//! A block is cut when the backlog reaches `block_transactions_max` or `block_bytes_max`, or
//! `block_interval_ms` after the oldest pending transaction arrived. While idle it makes no
//! blocks unless `empty_blocks` asks for one every interval. With one validator, a built
//! proposal is final at once: the validator's own signature is the quorum.

use crate::{ConsensusEngine, ConsensusError, Effect, Input};

/// Parameters, as in genesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoloConfig {
    pub block_interval_ms: u64,
    pub block_transactions_max: u32,
    pub block_bytes_max: u64,
    pub empty_blocks: bool,
}

#[derive(Debug)]
pub struct SoloEngine {
    config: SoloConfig,
    next_height: u64,
    /// Backlog as last reported.
    pending_transactions: u64,
    pending_bytes: u64,
    /// When the backlog became non-empty (the oldest transaction's wait starts then).
    pending_since_ms: Option<u64>,
    last_block_ms: u64,
    /// Height of the proposal being built; no second one is asked for meanwhile.
    building: Option<u64>,
}

impl SoloEngine {
    /// `next_height` is one past the last committed block (1 on a fresh chain).
    pub fn new(config: SoloConfig, next_height: u64, now_ms: u64) -> Result<Self, ConsensusError> {
        if config.block_interval_ms == 0 {
            return Err(ConsensusError::InvalidParameter {
                parameter: "block_interval_ms",
                message: "must be at least 1".into(),
            });
        }
        if config.block_transactions_max == 0 {
            return Err(ConsensusError::InvalidParameter {
                parameter: "block_transactions_max",
                message: "must be at least 1".into(),
            });
        }
        assert!(next_height >= 1, "height 0 is the genesis block");
        Ok(SoloEngine {
            config,
            next_height,
            pending_transactions: 0,
            pending_bytes: 0,
            pending_since_ms: None,
            last_block_ms: now_ms,
            building: None,
        })
    }

    fn maybe_propose(&mut self, now_ms: u64) -> Vec<Effect> {
        if self.building.is_some() {
            return Vec::new();
        }
        let full = self.pending_transactions >= self.config.block_transactions_max as u64
            || self.pending_bytes >= self.config.block_bytes_max;
        let waited = self
            .pending_since_ms
            .is_some_and(|since| now_ms.saturating_sub(since) >= self.config.block_interval_ms);
        let heartbeat = self.config.empty_blocks
            && now_ms.saturating_sub(self.last_block_ms) >= self.config.block_interval_ms;
        if (self.pending_transactions > 0 && (full || waited)) || heartbeat {
            self.building = Some(self.next_height);
            self.last_block_ms = now_ms;
            return vec![Effect::BuildProposal {
                height: self.next_height,
                transactions_max: self.config.block_transactions_max,
                bytes_max: self.config.block_bytes_max,
            }];
        }
        Vec::new()
    }
}

impl ConsensusEngine for SoloEngine {
    fn kind(&self) -> &'static str {
        "solo"
    }

    fn next_height(&self) -> u64 {
        self.next_height
    }

    fn handle(&mut self, input: Input) -> Vec<Effect> {
        match input {
            Input::Tick { now_ms } => self.maybe_propose(now_ms),
            Input::Pending {
                transactions,
                bytes,
                now_ms,
            } => {
                if transactions == 0 {
                    self.pending_since_ms = None;
                } else if self.pending_since_ms.is_none() {
                    self.pending_since_ms = Some(now_ms);
                }
                self.pending_transactions = transactions;
                self.pending_bytes = bytes;
                self.maybe_propose(now_ms)
            }
            Input::Proposed {
                height,
                payload_hash,
            } => {
                assert_eq!(
                    self.building,
                    Some(height),
                    "the driver reported a proposal the engine did not ask for"
                );
                self.building = None;
                self.next_height = height + 1;
                // What stays pending starts a fresh wait: it was not in this block.
                self.pending_since_ms = self.pending_since_ms.map(|_| self.last_block_ms);
                vec![Effect::Commit {
                    height,
                    payload_hash,
                }]
            }
            Input::ProposalAbandoned { height } => {
                if self.building == Some(height) {
                    self.building = None;
                }
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(empty_blocks: bool) -> SoloEngine {
        SoloEngine::new(
            SoloConfig {
                block_interval_ms: 100,
                block_transactions_max: 10,
                block_bytes_max: 1_000,
                empty_blocks,
            },
            1,
            0,
        )
        .unwrap()
    }

    fn build(height: u64) -> Vec<Effect> {
        vec![Effect::BuildProposal {
            height,
            transactions_max: 10,
            bytes_max: 1_000,
        }]
    }

    #[test]
    fn idle_engine_makes_no_blocks() {
        let mut engine = engine(false);
        for now_ms in (0..10_000).step_by(50) {
            assert!(engine.handle(Input::Tick { now_ms }).is_empty());
        }
    }

    #[test]
    fn empty_blocks_when_configured() {
        let mut engine = engine(true);
        assert!(engine.handle(Input::Tick { now_ms: 50 }).is_empty());
        assert_eq!(engine.handle(Input::Tick { now_ms: 100 }), build(1));
    }

    #[test]
    fn block_after_interval_since_first_pending() {
        let mut engine = engine(false);
        let pending = Input::Pending {
            transactions: 1,
            bytes: 100,
            now_ms: 1_000,
        };
        assert!(engine.handle(pending).is_empty());
        assert!(engine.handle(Input::Tick { now_ms: 1_099 }).is_empty());
        assert_eq!(engine.handle(Input::Tick { now_ms: 1_100 }), build(1));
        // No second request while the first is being built.
        assert!(engine.handle(Input::Tick { now_ms: 1_200 }).is_empty());
        let effects = engine.handle(Input::Proposed {
            height: 1,
            payload_hash: [9; 32],
        });
        assert_eq!(
            effects,
            vec![Effect::Commit {
                height: 1,
                payload_hash: [9; 32]
            }]
        );
        assert_eq!(engine.next_height(), 2);
    }

    #[test]
    fn full_backlog_cuts_a_block_at_once() {
        let mut engine = engine(false);
        let by_count = Input::Pending {
            transactions: 10,
            bytes: 100,
            now_ms: 5,
        };
        assert_eq!(engine.handle(by_count), build(1));
        let mut engine = self::engine(false);
        let by_bytes = Input::Pending {
            transactions: 2,
            bytes: 1_000,
            now_ms: 5,
        };
        assert_eq!(engine.handle(by_bytes), build(1));
    }

    #[test]
    fn abandoned_proposal_is_asked_for_again() {
        let mut engine = engine(false);
        engine.handle(Input::Pending {
            transactions: 10,
            bytes: 10,
            now_ms: 0,
        });
        assert!(
            engine
                .handle(Input::ProposalAbandoned { height: 1 })
                .is_empty()
        );
        assert_eq!(engine.handle(Input::Tick { now_ms: 1 }), build(1));
    }

    #[test]
    fn same_inputs_same_effects() {
        let inputs: Vec<Input> = (0..200u64)
            .map(|step| {
                if step % 7 == 0 {
                    Input::Pending {
                        transactions: step % 13,
                        bytes: step * 10,
                        now_ms: step * 20,
                    }
                } else {
                    Input::Tick { now_ms: step * 20 }
                }
            })
            .collect();
        let run = || {
            let mut engine = engine(false);
            let mut log = Vec::new();
            for input in inputs.clone() {
                for effect in engine.handle(input) {
                    if let Effect::BuildProposal { height, .. } = effect {
                        log.push(height);
                        let commit = engine.handle(Input::Proposed {
                            height,
                            payload_hash: [1; 32],
                        });
                        assert_eq!(commit.len(), 1);
                    }
                }
            }
            log
        };
        let first = run();
        assert!(!first.is_empty());
        assert_eq!(first, run());
    }
}
