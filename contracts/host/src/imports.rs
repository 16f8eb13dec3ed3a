//! The host functions contracts import (module `rxchain`), as documented in
//! `rxchain_contract_types::abi`. Every pointer/length pair is bounds-checked against the
//! contract's memory and every size against the ABI's limits; a violation stops the call with
//! the `host_limit` failure code instead of reaching the node.
//!
//! Every host call is charged fuel (`abi::fuel`) before it does its work: per call, and per byte
//! for storage, events and hashing, so that no contract gets host work for free. Writes are
//! bounded per call too (`abi::STORAGE_WRITES_PER_CALL_MAX`, `abi::STORAGE_WRITE_BYTES_PER_CALL_MAX`).

use crate::{CallFailure, CallState, ContractEvent, Stop, failure_code};
use rxchain_contract_types::abi;
use rxchain_contract_types::abi::fuel;
use sm3::{Digest, Sm3};
use wasmtime::{Caller, Extern, Linker, Memory};

type HostResult<T> = wasmtime::Result<T>;

fn stop(caller: &mut Caller<'_, CallState>, code: &str, message: String) -> wasmtime::Error {
    caller.data_mut().failure = Some(CallFailure {
        code: code.to_string(),
        message,
    });
    wasmtime::Error::new(Stop)
}

/// Takes `amount` fuel for host work, or stops the call `out_of_fuel` with none left.
fn charge(caller: &mut Caller<'_, CallState>, amount: u64) -> HostResult<()> {
    let left = caller
        .get_fuel()
        .expect("fuel metering is enabled in the engine configuration");
    if amount > left {
        caller
            .set_fuel(0)
            .expect("fuel metering is enabled in the engine configuration");
        return Err(stop(
            caller,
            failure_code::OUT_OF_FUEL,
            "the call used all of its fuel".into(),
        ));
    }
    caller
        .set_fuel(left - amount)
        .expect("fuel metering is enabled in the engine configuration");
    Ok(())
}

/// The fuel of copying `bytes` bytes across the host boundary, with the call's own.
fn copy_cost(bytes: usize) -> u64 {
    fuel::HOST_CALL + (bytes as u64).div_ceil(fuel::COPY_BYTES_PER_FUEL)
}

/// Counts one storage write or removal of `bytes` bytes against the call's bounds and charges it.
fn charge_write(caller: &mut Caller<'_, CallState>, bytes: usize) -> HostResult<()> {
    charge(
        caller,
        fuel::HOST_CALL + fuel::STORAGE_WRITE + fuel::STORAGE_WRITE_PER_BYTE * bytes as u64,
    )?;
    let state = caller.data_mut();
    state.write_calls += 1;
    state.write_bytes += bytes;
    if state.write_calls > abi::STORAGE_WRITES_PER_CALL_MAX
        || state.write_bytes > abi::STORAGE_WRITE_BYTES_PER_CALL_MAX
    {
        return Err(stop(
            caller,
            failure_code::HOST_LIMIT,
            format!(
                "a call may write at most {} times and {} bytes",
                abi::STORAGE_WRITES_PER_CALL_MAX,
                abi::STORAGE_WRITE_BYTES_PER_CALL_MAX
            ),
        ));
    }
    Ok(())
}

/// Charges a storage read of `key_bytes` and of the value found.
fn charge_read(
    caller: &mut Caller<'_, CallState>,
    key_bytes: usize,
    value: &Option<Vec<u8>>,
) -> HostResult<()> {
    let bytes = key_bytes + value.as_ref().map_or(0, Vec::len);
    charge(
        caller,
        fuel::HOST_CALL + fuel::STORAGE_READ + fuel::STORAGE_READ_PER_BYTE * bytes as u64,
    )
}

fn memory(caller: &mut Caller<'_, CallState>) -> HostResult<Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(stop(
            caller,
            failure_code::HOST_LIMIT,
            "the contract exports no memory".into(),
        )),
    }
}

/// Copies `length` bytes at `pointer` out of the contract's memory, refusing more than `max`.
fn read_bytes(
    caller: &mut Caller<'_, CallState>,
    pointer: i32,
    length: i32,
    max: usize,
    what: &str,
) -> HostResult<Vec<u8>> {
    let length = length as u32 as usize;
    if length > max {
        return Err(stop(
            caller,
            failure_code::HOST_LIMIT,
            format!("{what} is {length} bytes, over the limit of {max}"),
        ));
    }
    let memory = memory(caller)?;
    let start = pointer as u32 as usize;
    let data = memory.data(&caller);
    match data.get(start..start.saturating_add(length)) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(stop(
            caller,
            failure_code::TRAP,
            format!("{what} lies outside the contract's memory"),
        )),
    }
}

fn write_bytes(caller: &mut Caller<'_, CallState>, pointer: i32, bytes: &[u8]) -> HostResult<()> {
    let memory = memory(caller)?;
    let start = pointer as u32 as usize;
    let in_bounds = memory
        .data_mut(&mut *caller)
        .get_mut(start..start.saturating_add(bytes.len()))
        .map(|target| target.copy_from_slice(bytes))
        .is_some();
    if in_bounds {
        Ok(())
    } else {
        Err(stop(
            caller,
            failure_code::TRAP,
            "output pointer lies outside the contract's memory".into(),
        ))
    }
}

fn read_string(
    caller: &mut Caller<'_, CallState>,
    pointer: i32,
    length: i32,
    max: usize,
    what: &str,
) -> HostResult<String> {
    let bytes = read_bytes(caller, pointer, length, max, what)?;
    String::from_utf8(bytes).map_err(|_| {
        stop(
            caller,
            failure_code::HOST_LIMIT,
            format!("{what} is not UTF-8"),
        )
    })
}

/// The stable code and the message of an `abort` or `refuse`, within the ABI's limits.
fn read_code_and_message(
    caller: &mut Caller<'_, CallState>,
    (code_pointer, code_length): (i32, i32),
    (message_pointer, message_length): (i32, i32),
) -> HostResult<(String, String)> {
    let code = read_string(
        caller,
        code_pointer,
        code_length,
        abi::ABORT_CODE_BYTES_MAX,
        "code",
    )?;
    let message = read_string(
        caller,
        message_pointer,
        message_length,
        abi::ABORT_MESSAGE_BYTES_MAX,
        "message",
    )?;
    Ok((code, message))
}

/// Puts a storage value in the register and returns its length, or -1 when absent.
fn load_register(caller: &mut Caller<'_, CallState>, value: Option<Vec<u8>>) -> i32 {
    match value {
        Some(value) => {
            let length = value.len() as i32;
            caller.data_mut().register = value;
            length
        }
        None => {
            caller.data_mut().register.clear();
            -1
        }
    }
}

fn refuse_in_query(caller: &mut Caller<'_, CallState>, what: &str) -> HostResult<()> {
    if caller.data().read_only {
        return Err(stop(
            caller,
            failure_code::HOST_LIMIT,
            format!("a query may not {what}"),
        ));
    }
    Ok(())
}

/// Defines every host function of the ABI (`contracts/types/src/abi.rs`) on the linker. Long
/// because it is the ABI's one list: each import a closure of a few lines with its limits,
/// side by side so a reviewer sees every way a contract reaches the host.
pub(crate) fn define(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    let module = abi::IMPORT_MODULE;

    linker.func_wrap(
        module,
        "input_length",
        |mut caller: Caller<'_, CallState>| -> HostResult<i32> {
            charge(&mut caller, fuel::HOST_CALL)?;
            Ok(caller.data().input.len() as i32)
        },
    )?;
    linker.func_wrap(
        module,
        "input_read",
        |mut caller: Caller<'_, CallState>, pointer: i32| -> HostResult<()> {
            let input = std::mem::take(&mut caller.data_mut().input);
            let cost = copy_cost(input.len());
            let result =
                charge(&mut caller, cost).and_then(|()| write_bytes(&mut caller, pointer, &input));
            caller.data_mut().input = input;
            result
        },
    )?;
    linker.func_wrap(
        module,
        "storage_read",
        |mut caller: Caller<'_, CallState>, key_pointer: i32, key_length: i32| -> HostResult<i32> {
            let key = read_bytes(
                &mut caller,
                key_pointer,
                key_length,
                abi::STORAGE_KEY_BYTES_MAX,
                "storage key",
            )?;
            let state = caller.data();
            let value = match state.writes.get(&key) {
                Some(pending) => pending.clone(),
                None => state.reader.get(&state.contract_id, &key),
            };
            charge_read(&mut caller, key.len(), &value)?;
            Ok(load_register(&mut caller, value))
        },
    )?;
    linker.func_wrap(
        module,
        "storage_read_contract",
        |mut caller: Caller<'_, CallState>,
         contract_pointer: i32,
         contract_length: i32,
         key_pointer: i32,
         key_length: i32|
         -> HostResult<i32> {
            let contract = read_string(
                &mut caller,
                contract_pointer,
                contract_length,
                abi::STORAGE_KEY_BYTES_MAX,
                "contract id",
            )?;
            let key = read_bytes(
                &mut caller,
                key_pointer,
                key_length,
                abi::STORAGE_KEY_BYTES_MAX,
                "storage key",
            )?;
            let state = caller.data();
            let value = if contract == state.contract_id {
                match state.writes.get(&key) {
                    Some(pending) => pending.clone(),
                    None => state.reader.get(&contract, &key),
                }
            } else {
                state.reader.get(&contract, &key)
            };
            charge_read(&mut caller, contract.len() + key.len(), &value)?;
            Ok(load_register(&mut caller, value))
        },
    )?;
    linker.func_wrap(
        module,
        "register_read",
        |mut caller: Caller<'_, CallState>, pointer: i32| -> HostResult<()> {
            let register = std::mem::take(&mut caller.data_mut().register);
            let cost = copy_cost(register.len());
            let result = charge(&mut caller, cost)
                .and_then(|()| write_bytes(&mut caller, pointer, &register));
            caller.data_mut().register = register;
            result
        },
    )?;
    linker.func_wrap(
        module,
        "storage_write",
        |mut caller: Caller<'_, CallState>,
         key_pointer: i32,
         key_length: i32,
         value_pointer: i32,
         value_length: i32|
         -> HostResult<()> {
            refuse_in_query(&mut caller, "write storage")?;
            let key = read_bytes(
                &mut caller,
                key_pointer,
                key_length,
                abi::STORAGE_KEY_BYTES_MAX,
                "storage key",
            )?;
            let value = read_bytes(
                &mut caller,
                value_pointer,
                value_length,
                abi::STORAGE_VALUE_BYTES_MAX,
                "storage value",
            )?;
            charge_write(&mut caller, key.len() + value.len())?;
            caller.data_mut().writes.insert(key, Some(value));
            Ok(())
        },
    )?;
    linker.func_wrap(
        module,
        "storage_remove",
        |mut caller: Caller<'_, CallState>, key_pointer: i32, key_length: i32| -> HostResult<()> {
            refuse_in_query(&mut caller, "remove storage")?;
            let key = read_bytes(
                &mut caller,
                key_pointer,
                key_length,
                abi::STORAGE_KEY_BYTES_MAX,
                "storage key",
            )?;
            charge_write(&mut caller, key.len())?;
            caller.data_mut().writes.insert(key, None);
            Ok(())
        },
    )?;
    linker.func_wrap(
        module,
        "caller",
        |mut caller: Caller<'_, CallState>, pointer: i32| -> HostResult<()> {
            charge(&mut caller, copy_cost(32))?;
            let key = caller.data().caller;
            write_bytes(&mut caller, pointer, &key)
        },
    )?;
    linker.func_wrap(
        module,
        "block_height",
        |mut caller: Caller<'_, CallState>| -> HostResult<i64> {
            charge(&mut caller, fuel::HOST_CALL)?;
            Ok(caller.data().block_height as i64)
        },
    )?;
    linker.func_wrap(
        module,
        "block_time_ms",
        |mut caller: Caller<'_, CallState>| -> HostResult<i64> {
            charge(&mut caller, fuel::HOST_CALL)?;
            Ok(caller.data().block_time_ms as i64)
        },
    )?;
    linker.func_wrap(
        module,
        "emit_event",
        |mut caller: Caller<'_, CallState>,
         topics_pointer: i32,
         topics_length: i32,
         data_pointer: i32,
         data_length: i32|
         -> HostResult<()> {
            refuse_in_query(&mut caller, "emit events")?;
            if caller.data().events.len() >= abi::EVENTS_PER_CALL_MAX {
                return Err(stop(
                    &mut caller,
                    failure_code::HOST_LIMIT,
                    format!(
                        "a call may emit at most {} events",
                        abi::EVENTS_PER_CALL_MAX
                    ),
                ));
            }
            let topics_bytes = read_bytes(
                &mut caller,
                topics_pointer,
                topics_length,
                abi::TOPICS_PER_EVENT_MAX * (abi::TOPIC_BYTES_MAX + 4) + 4,
                "event topics",
            )?;
            let topics: Vec<String> = match borsh::from_slice(&topics_bytes) {
                Ok(topics) => topics,
                Err(_) => {
                    return Err(stop(
                        &mut caller,
                        failure_code::HOST_LIMIT,
                        "event topics are not a borsh Vec<String>".into(),
                    ));
                }
            };
            // A NUL byte would let a topic reach into another topic's index range (index keys
            // are the topic, a NUL, then the event's position).
            if topics.len() > abi::TOPICS_PER_EVENT_MAX
                || topics
                    .iter()
                    .any(|topic| topic.len() > abi::TOPIC_BYTES_MAX || topic.contains('\0'))
            {
                return Err(stop(
                    &mut caller,
                    failure_code::HOST_LIMIT,
                    "event has too many or too long topics, or a NUL in one".into(),
                ));
            }
            let data = read_bytes(
                &mut caller,
                data_pointer,
                data_length,
                abi::EVENT_DATA_BYTES_MAX,
                "event data",
            )?;
            let topics_count = topics.len() as u64;
            let bytes = (topics_bytes.len() + data.len()) as u64;
            charge(
                &mut caller,
                fuel::HOST_CALL
                    + fuel::EVENT
                    + fuel::EVENT_TOPIC * topics_count
                    + fuel::EVENT_PER_BYTE * bytes,
            )?;
            caller
                .data_mut()
                .events
                .push(ContractEvent { topics, data });
            Ok(())
        },
    )?;
    linker.func_wrap(
        module,
        "sm3",
        |mut caller: Caller<'_, CallState>,
         pointer: i32,
         length: i32,
         out_pointer: i32|
         -> HostResult<()> {
            let input = read_bytes(
                &mut caller,
                pointer,
                length,
                abi::STORAGE_VALUE_BYTES_MAX,
                "sm3 input",
            )?;
            charge(
                &mut caller,
                fuel::HOST_CALL + fuel::SM3_PER_BYTE * input.len() as u64,
            )?;
            let digest: [u8; 32] = Sm3::digest(&input).into();
            write_bytes(&mut caller, out_pointer, &digest)
        },
    )?;
    linker.func_wrap(
        module,
        "set_return",
        |mut caller: Caller<'_, CallState>, pointer: i32, length: i32| -> HostResult<()> {
            let data = read_bytes(
                &mut caller,
                pointer,
                length,
                abi::RETURN_BYTES_MAX,
                "return data",
            )?;
            charge(&mut caller, copy_cost(data.len()))?;
            caller.data_mut().return_data = data;
            Ok(())
        },
    )?;
    linker.func_wrap(
        module,
        "abort",
        |mut caller: Caller<'_, CallState>,
         code_pointer: i32,
         code_length: i32,
         message_pointer: i32,
         message_length: i32|
         -> HostResult<()> {
            let (code, message) = read_code_and_message(
                &mut caller,
                (code_pointer, code_length),
                (message_pointer, message_length),
            )?;
            Err(stop(&mut caller, &code, message))
        },
    )?;
    linker.func_wrap(
        module,
        "refuse",
        |mut caller: Caller<'_, CallState>,
         code_pointer: i32,
         code_length: i32,
         message_pointer: i32,
         message_length: i32|
         -> HostResult<()> {
            refuse_in_query(&mut caller, "refuse")?;
            let (code, message) = read_code_and_message(
                &mut caller,
                (code_pointer, code_length),
                (message_pointer, message_length),
            )?;
            caller.data_mut().refusal = Some(CallFailure { code, message });
            Err(wasmtime::Error::new(Stop))
        },
    )?;
    Ok(())
}
