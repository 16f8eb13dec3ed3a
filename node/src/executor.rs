//! Block execution: transactions through the contract host, in order, against an overlay.
//!
//! Execution is deterministic given the committed state, the block's height, timestamp and
//! transactions: the host's configuration is deterministic, contracts see only these inputs, and
//! writes are kept in sorted maps. Each transaction uses its nonce whether its call succeeds or
//! fails; a failed call keeps none of its writes or events.
//!
//! A block may hold only executable transactions: each with its sender's next nonce (after the
//! block's earlier transactions) and not expired at the block's height; otherwise the whole
//! block is invalid ([`NodeError::InvalidBlock`]) and every replica refuses it. Since a
//! transaction's id covers its sender and nonce, and a nonce is used once, this is what makes a
//! transaction impossible to commit twice — a repeat within a block, in a block still in flight
//! or after its commit would otherwise overwrite the committed copy's location and receipt.
//!
//! The pseudo-contract `system` has one method, `deploy`, which installs or upgrades a contract
//! whose SM3 code hash a governance proposal approved in the registry (`approved_code/<id>`);
//! the approval is consumed by the deploy.

use crate::NodeError;
use crate::hash::{Hash, sm3};
use crate::receipt::{Event, Receipt, ReceiptStatus};
use crate::state::{Ancestors, OverlayReader};
use crate::storage::{BlockEffects, Storage};
use crate::transaction::SignedTransaction;
use borsh::{BorshDeserialize, BorshSerialize};
use rxchain_contract_host::{CallContext, ContractHost, Entry, HostError};
use rxchain_contract_types::registry;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Contract id of the node's built-in operations.
pub const SYSTEM_CONTRACT: &str = "system";
/// `system.deploy`: install or upgrade an approved contract.
pub const DEPLOY_METHOD: &str = "deploy";

/// Arguments of `system.deploy`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DeployArgs {
    pub contract_id: String,
    pub code: Vec<u8>,
}

/// Receipt failure codes the executor assigns itself.
pub mod failure_code {
    pub const UNKNOWN_CONTRACT: &str = "unknown_contract";
    pub const UNKNOWN_METHOD: &str = "unknown_method";
    pub const NOT_APPROVED: &str = "not_approved";
    pub const INVALID_CODE: &str = "invalid_code";
    pub const INVALID_ARGUMENT: &str = "invalid_argument";
}

#[derive(Debug)]
pub struct Executor {
    host: Arc<ContractHost>,
}

struct BlockRun<'a> {
    storage: &'a Arc<Storage>,
    ancestors: &'a Ancestors,
    overlay: OverlayReader,
    effects: BlockEffects,
    height: u64,
    time_ms: u64,
}

impl BlockRun<'_> {
    fn code_hash(&self, contract: &str) -> Result<Option<Hash>, NodeError> {
        match self.effects.contracts.get(contract) {
            Some(hash) => Ok(Some(*hash)),
            None => match self.ancestors.contract_code_hash(contract) {
                Some(hash) => Ok(Some(hash)),
                None => self.storage.contract_code_hash(contract),
            },
        }
    }

    fn next_nonce(&self, sender: &[u8; 32]) -> Result<u64, NodeError> {
        match self.effects.nonces.get(sender) {
            Some(nonce) => Ok(*nonce),
            None => match self.ancestors.next_nonce(sender) {
                Some(nonce) => Ok(nonce),
                None => self.storage.next_nonce(sender),
            },
        }
    }

    /// Code this block or an ancestor deployed (not in storage yet).
    fn unstored_code(&self, hash: &Hash) -> Option<&Vec<u8>> {
        self.effects
            .code
            .get(hash)
            .or_else(|| self.ancestors.code(hash))
    }
}

fn failed(id: Hash, code: &str, message: String, fuel_used: u64) -> Receipt {
    Receipt {
        transaction_id: id,
        status: ReceiptStatus::Failed {
            code: code.to_string(),
            message,
        },
        fuel_used,
        events: Vec::new(),
        return_data: Vec::new(),
    }
}

impl Executor {
    pub fn new(host: Arc<ContractHost>) -> Self {
        Executor { host }
    }

    pub fn host(&self) -> &Arc<ContractHost> {
        &self.host
    }

    /// Makes sure the code with `hash` is compiled, from `unstored` (code deployed by a block
    /// not stored yet) or else from storage.
    pub fn ensure_loaded(
        &self,
        storage: &Storage,
        hash: &Hash,
        unstored: Option<&Vec<u8>>,
    ) -> Result<(), NodeError> {
        if self.host.is_loaded(hash) {
            return Ok(());
        }
        let code = match unstored {
            Some(code) => code.clone(),
            None => storage.code(hash)?.ok_or_else(|| {
                NodeError::Corrupt(format!("code {} is missing", hex::encode(hash)))
            })?,
        };
        self.host.load(&code)?;
        Ok(())
    }

    /// Executes a block's transactions on the stored state with `ancestors` on top, and returns
    /// everything they change.
    pub fn execute_block(
        &self,
        storage: &Arc<Storage>,
        ancestors: &Ancestors,
        height: u64,
        time_ms: u64,
        transactions: &[SignedTransaction],
    ) -> Result<BlockEffects, NodeError> {
        let mut run = BlockRun {
            storage,
            ancestors,
            overlay: OverlayReader::on(storage.clone(), ancestors.clone()),
            effects: BlockEffects::default(),
            height,
            time_ms,
        };
        for transaction in transactions {
            let receipt = self.execute_transaction(&mut run, transaction)?;
            run.effects.receipts.push(receipt);
        }
        run.effects.state_writes = run.overlay.writes();
        Ok(run.effects)
    }

    /// Runs one transaction: system deploys, contract calls, and every way a call can end
    /// (success, refusal, failure, out of fuel, host error). Long because each ending keeps
    /// exactly what it may (the nonce always, writes only on success or refusal), side by side.
    fn execute_transaction(
        &self,
        run: &mut BlockRun<'_>,
        transaction: &SignedTransaction,
    ) -> Result<Receipt, NodeError> {
        let id = transaction.id();
        let body = &transaction.body;
        let expected_nonce = run.next_nonce(&body.sender)?;
        if body.nonce != expected_nonce {
            return Err(NodeError::InvalidBlock(format!(
                "transaction {} has nonce {} but its sender's next is {expected_nonce}",
                hex::encode(id),
                body.nonce
            )));
        }
        if body.expiry_height < run.height {
            return Err(NodeError::InvalidBlock(format!(
                "transaction {} expired at height {}, before this block's {}",
                hex::encode(id),
                body.expiry_height,
                run.height
            )));
        }
        run.effects.nonces.insert(body.sender, expected_nonce + 1);

        if body.contract == SYSTEM_CONTRACT {
            return self.execute_system(run, id, transaction);
        }
        let Some(hash) = run.code_hash(&body.contract)? else {
            return Ok(failed(
                id,
                failure_code::UNKNOWN_CONTRACT,
                format!("no contract '{}'", body.contract),
                0,
            ));
        };
        self.ensure_loaded(run.storage, &hash, run.unstored_code(&hash))?;
        let context = CallContext {
            contract_id: body.contract.clone(),
            caller: body.sender,
            block_height: run.height,
            block_time_ms: run.time_ms,
            fuel_limit: self.host.limits().fuel_per_call_max,
        };
        let outcome = match self.host.call(
            &hash,
            Entry::Method(&body.method),
            &context,
            body.args.clone(),
            Arc::new(run.overlay.clone()),
        ) {
            Ok(outcome) => outcome,
            Err(HostError::UnknownEntry { .. }) => {
                return Ok(failed(
                    id,
                    failure_code::UNKNOWN_METHOD,
                    format!(
                        "contract '{}' has no method '{}'",
                        body.contract, body.method
                    ),
                    0,
                ));
            }
            Err(error) => return Err(error.into()),
        };
        match outcome.result {
            Ok(()) => {
                run.overlay.apply(&body.contract, &outcome.writes);
                let status = match outcome.refusal {
                    None => ReceiptStatus::Success,
                    Some(refusal) => ReceiptStatus::Refused {
                        code: refusal.code,
                        message: refusal.message,
                    },
                };
                Ok(Receipt {
                    transaction_id: id,
                    status,
                    fuel_used: outcome.fuel_used,
                    events: outcome
                        .events
                        .into_iter()
                        .map(|event| Event {
                            contract: body.contract.clone(),
                            topics: event.topics,
                            data: event.data,
                        })
                        .collect(),
                    return_data: outcome.return_data,
                })
            }
            Err(failure) => Ok(failed(
                id,
                &failure.code,
                failure.message,
                outcome.fuel_used,
            )),
        }
    }

    fn execute_system(
        &self,
        run: &mut BlockRun<'_>,
        id: Hash,
        transaction: &SignedTransaction,
    ) -> Result<Receipt, NodeError> {
        let body = &transaction.body;
        if body.method != DEPLOY_METHOD {
            return Ok(failed(
                id,
                failure_code::UNKNOWN_METHOD,
                format!("the system contract has no method '{}'", body.method),
                0,
            ));
        }
        let Ok(args) = borsh::from_slice::<DeployArgs>(&body.args) else {
            return Ok(failed(
                id,
                failure_code::INVALID_ARGUMENT,
                "deploy arguments do not decode".into(),
                0,
            ));
        };
        let code_hash = sm3(&args.code);
        let approval_key = registry::keys::approved_code(&args.contract_id);
        use rxchain_contract_host::StateReader;
        let approved = run.overlay.get(registry::CONTRACT_ID, &approval_key);
        if approved.as_deref() != Some(code_hash.as_slice()) {
            return Ok(failed(
                id,
                failure_code::NOT_APPROVED,
                format!(
                    "no approved proposal for contract '{}' with code hash {}",
                    args.contract_id,
                    hex::encode(code_hash)
                ),
                0,
            ));
        }
        if let Err(error) = self.host.load(&args.code) {
            return Ok(failed(id, failure_code::INVALID_CODE, error.to_string(), 0));
        }
        let mut consumed = BTreeMap::new();
        consumed.insert(approval_key, None);
        run.overlay.apply(registry::CONTRACT_ID, &consumed);
        run.effects
            .contracts
            .insert(args.contract_id.clone(), code_hash);
        run.effects.code.insert(code_hash, args.code);
        Ok(Receipt {
            transaction_id: id,
            status: ReceiptStatus::Success,
            fuel_used: 0,
            events: vec![Event {
                contract: SYSTEM_CONTRACT.into(),
                topics: vec![format!("contract:{}", args.contract_id)],
                data: code_hash.to_vec(),
            }],
            return_data: Vec::new(),
        })
    }
}
