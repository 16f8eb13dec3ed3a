//! An in-memory host for unit tests of contracts on the build machine (every target but wasm32).
//!
//! It keeps the state of one thread: storage of every contract, the current contract, caller and
//! block. [`call`] and [`query`] run a contract's exported function the way the node does: the
//! arguments are the call's input, an abort fails the call and discards its writes and events,
//! a refusal fails it but keeps them, and the host's limits are enforced. A limit violation, which traps in the real host, fails the
//! call with the code [`TRAP`].

extern crate std;

use crate::types::PublicKeyBytes;
use crate::types::abi;
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use std::cell::RefCell;

/// The code of a call that the real host would have trapped.
pub const TRAP: &str = "trap";

/// A call's failure: the code and message it aborted or refused with.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Aborted {
    pub code: String,
    pub message: String,
    /// True when the contract called `refuse`: the call's writes and events were kept.
    pub refused: bool,
}

/// An event emitted by a successful call.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Event {
    pub contract_id: String,
    pub topics: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
struct State {
    storage: BTreeMap<(String, Vec<u8>), Vec<u8>>,
    contract_id: String,
    caller: [u8; 32],
    block_height: u64,
    block_time_ms: u64,
    input: Vec<u8>,
    read_only: bool,
    events: Vec<Event>,
    return_data: Vec<u8>,
    wrote_before_abort: bool,
}

std::thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with_state<R>(action: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|state| action(&mut state.borrow_mut()))
}

/// Fails the current call as a trap of the real host would.
fn trap(message: String) -> ! {
    std::panic::panic_any(Aborted {
        code: TRAP.to_owned(),
        message,
        refused: false,
    })
}

/// Forgets all state: empty storage, zero caller, block 0.
pub fn reset() {
    with_state(|state| *state = State::default());
}

/// Sets the contract whose functions the next calls run.
pub fn set_contract(contract_id: &str) {
    with_state(|state| state.contract_id = contract_id.to_owned());
}

pub fn set_caller(public_key: PublicKeyBytes) {
    with_state(|state| state.caller = public_key.0);
}

pub fn set_block(height: u64, time_ms: u64) {
    with_state(|state| {
        state.block_height = height;
        state.block_time_ms = time_ms;
    });
}

/// Writes a value into a contract's storage directly, as genesis does.
pub fn put<T: BorshSerialize>(contract_id: &str, key: &[u8], value: &T) {
    let bytes = borsh::to_vec(value).expect("borsh encodes into a Vec");
    with_state(|state| {
        state
            .storage
            .insert((contract_id.to_owned(), key.to_vec()), bytes)
    });
}

/// Reads and decodes a value from a contract's storage.
pub fn get<T: BorshDeserialize>(contract_id: &str, key: &[u8]) -> Option<T> {
    with_state(|state| {
        let bytes = state.storage.get(&(contract_id.to_owned(), key.to_vec()))?;
        Some(T::try_from_slice(bytes).expect("stored value decodes"))
    })
}

/// The events of the last successful or refused call.
pub fn events() -> Vec<Event> {
    with_state(|state| state.events.clone())
}

/// True when the last failed call had written to storage before it aborted: the system
/// contracts check everything first, so their tests assert this stays false.
pub fn wrote_before_abort() -> bool {
    with_state(|state| state.wrote_before_abort)
}

/// Runs a state-changing method (`m_…`) with these arguments; returns its return data.
pub fn call<A: BorshSerialize>(function: fn(), arguments: &A) -> Result<Vec<u8>, Aborted> {
    run(function, arguments, false)
}

/// Runs a read-only query (`q_…`) with these arguments; returns its return data.
pub fn query<A: BorshSerialize>(function: fn(), arguments: &A) -> Result<Vec<u8>, Aborted> {
    run(function, arguments, true)
}

fn run<A: BorshSerialize>(
    function: fn(),
    arguments: &A,
    read_only: bool,
) -> Result<Vec<u8>, Aborted> {
    install_quiet_panic_hook();
    let input = borsh::to_vec(arguments).expect("borsh encodes into a Vec");
    let storage_before = with_state(|state| {
        state.input = input;
        state.read_only = read_only;
        state.events.clear();
        state.return_data.clear();
        state.wrote_before_abort = false;
        state.storage.clone()
    });
    match std::panic::catch_unwind(function) {
        Ok(()) => Ok(with_state(|state| state.return_data.clone())),
        Err(payload) => {
            let aborted = match payload.downcast::<Aborted>() {
                Ok(aborted) => *aborted,
                Err(payload) => Aborted {
                    code: crate::PANIC.to_owned(),
                    message: panic_message(payload.as_ref()),
                    refused: false,
                },
            };
            if aborted.refused {
                // As the real host: a refusal keeps the writes and events made before it.
                with_state(|state| state.return_data.clear());
                return Err(aborted);
            }
            with_state(|state| {
                state.wrote_before_abort = state.storage != storage_before;
                state.storage = storage_before;
                state.events.clear();
                state.return_data.clear();
            });
            Err(aborted)
        }
    }
}

fn panic_message(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic".to_owned()
    }
}

/// Aborts are unwinding panics here; the default hook would print each one as a test failure.
fn install_quiet_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Aborted>().is_none() {
                previous(info);
            }
        }));
    });
}

/// The host functions that the SDK calls, with the real host's checks.
pub(crate) mod host {
    use super::*;

    fn check_key(key: &[u8]) {
        if key.len() > abi::STORAGE_KEY_BYTES_MAX {
            trap(format!("storage key of {} bytes is too long", key.len()));
        }
    }

    pub fn input() -> Vec<u8> {
        with_state(|state| state.input.clone())
    }

    pub fn storage_read(key: &[u8]) -> Option<Vec<u8>> {
        let contract_id = with_state(|state| state.contract_id.clone());
        storage_read_contract(&contract_id, key)
    }

    pub fn storage_read_contract(contract_id: &str, key: &[u8]) -> Option<Vec<u8>> {
        check_key(key);
        with_state(|state| {
            let key = (contract_id.to_owned(), key.to_vec());
            state.storage.get(&key).cloned()
        })
    }

    pub fn storage_write(key: &[u8], value: &[u8]) {
        check_key(key);
        if value.len() > abi::STORAGE_VALUE_BYTES_MAX {
            trap(format!(
                "storage value of {} bytes is too large",
                value.len()
            ));
        }
        with_state(|state| {
            if state.read_only {
                trap("storage_write in a query".to_owned());
            }
            let key = (state.contract_id.clone(), key.to_vec());
            state.storage.insert(key, value.to_vec());
        });
    }

    pub fn storage_remove(key: &[u8]) {
        check_key(key);
        with_state(|state| {
            if state.read_only {
                trap("storage_remove in a query".to_owned());
            }
            let key = (state.contract_id.clone(), key.to_vec());
            state.storage.remove(&key);
        });
    }

    pub fn caller() -> [u8; 32] {
        with_state(|state| state.caller)
    }

    pub fn block_height() -> u64 {
        with_state(|state| state.block_height)
    }

    pub fn block_time_ms() -> u64 {
        with_state(|state| state.block_time_ms)
    }

    pub fn emit_event(topics: &[u8], data: &[u8]) {
        let Ok(topics) = Vec::<String>::try_from_slice(topics) else {
            trap("event topics are not a borsh Vec<String>".to_owned());
        };
        if topics.len() > abi::TOPICS_PER_EVENT_MAX {
            trap(format!("event with {} topics", topics.len()));
        }
        if let Some(topic) = topics.iter().find(|t| t.len() > abi::TOPIC_BYTES_MAX) {
            trap(format!("topic '{topic}' is too long"));
        }
        if data.len() > abi::EVENT_DATA_BYTES_MAX {
            trap(format!("event data of {} bytes is too large", data.len()));
        }
        with_state(|state| {
            if state.events.len() >= abi::EVENTS_PER_CALL_MAX {
                trap(format!("more than {} events", abi::EVENTS_PER_CALL_MAX));
            }
            let contract_id = state.contract_id.clone();
            state.events.push(Event {
                contract_id,
                topics,
                data: data.to_vec(),
            });
        });
    }

    pub fn sm3(bytes: &[u8]) -> [u8; 32] {
        use sm3::Digest;
        sm3::Sm3::digest(bytes).into()
    }

    pub fn set_return(bytes: &[u8]) {
        if bytes.len() > abi::RETURN_BYTES_MAX {
            trap(format!("return data of {} bytes is too large", bytes.len()));
        }
        with_state(|state| state.return_data = bytes.to_vec());
    }

    pub fn abort(code: &str, message: &str) -> ! {
        std::panic::panic_any(Aborted {
            code: code.to_owned(),
            message: message.to_owned(),
            refused: false,
        })
    }

    pub fn refuse(code: &str, message: &str) -> ! {
        if with_state(|state| state.read_only) {
            trap("refuse in a query".to_owned());
        }
        std::panic::panic_any(Aborted {
            code: code.to_owned(),
            message: message.to_owned(),
            refused: true,
        })
    }
}
