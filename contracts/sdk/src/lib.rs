//! The SDK that rxchain's wasm contracts are written with (`no_std`, built for
//! `wasm32-unknown-unknown`).
//!
//! A contract is a `cdylib` whose exported functions `m_<method>` (state-changing) and
//! `q_<query>` (read-only) take no parameters: each reads its borsh arguments with [`input`],
//! checks the caller with [`require_role`], reads and writes its storage with [`storage_get`] /
//! [`storage_set`], emits indexed events with [`emit`], returns data with [`set_return`] and fails
//! with [`abort`] and a stable code from [`types::abi::error_code`], or refuses with [`refuse`]
//! after recording what must stay on the ledger (an alert).
//!
//! How the parts fit:
//! - `host` (wasm32): the imports of the host module `rxchain` and byte-level wrappers; the
//!   typed helpers in this file sit on top of it.
//! - [`mock`] (every other target): an in-memory host with the same functions, so contracts'
//!   logic is unit-tested with `cargo test` on the build machine.
//! - `allocator` (wasm32): a bump allocator, since each call runs in a fresh instance.
//! - `panic` (wasm32, feature `panic-handler`): a panic aborts the call with the code [`PANIC`].
//! - `membership`: the caller's member and organization records, read from the registry.
#![no_std]

extern crate alloc;

#[cfg(target_arch = "wasm32")]
mod allocator;
#[cfg(target_arch = "wasm32")]
mod host;
mod membership;
#[cfg(not(target_arch = "wasm32"))]
pub mod mock;
#[cfg(all(target_arch = "wasm32", feature = "panic-handler"))]
mod panic;

#[cfg(not(target_arch = "wasm32"))]
use mock::host;

pub use borsh;
pub use membership::{
    RegistryAccess, caller_member, caller_member_in, member_role_names, organization_role_names,
    require_role, require_role_in,
};
pub use rxchain_contract_types as types;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use types::PublicKeyBytes;
use types::abi::{
    ABORT_CODE_BYTES_MAX, ABORT_MESSAGE_BYTES_MAX, STORAGE_KEY_BYTES_MAX, error_code,
};

/// The abort code of a panic, and of anything else that is a bug in the contract rather than a
/// problem with the call (e.g. a stored value that no longer decodes).
pub const PANIC: &str = "panic";

/// Decodes the call's arguments; aborts with `invalid_argument` when they do not decode.
pub fn input<T: BorshDeserialize>() -> T {
    let bytes = host::input();
    T::try_from_slice(&bytes).unwrap_or_else(|error| {
        abort(
            error_code::INVALID_ARGUMENT,
            &format!(
                "the arguments ({} bytes) do not decode as {}: {error}",
                bytes.len(),
                core::any::type_name::<T>()
            ),
        )
    })
}

/// The raw bytes of the call's arguments.
pub fn input_bytes() -> Vec<u8> {
    host::input()
}

fn decode_stored<T: BorshDeserialize>(contract_id: &str, key: &[u8], bytes: &[u8]) -> T {
    T::try_from_slice(bytes).unwrap_or_else(|error| {
        abort(
            PANIC,
            &format!(
                "the value under {contract_id} key '{}' does not decode as {}: {error}",
                String::from_utf8_lossy(key),
                core::any::type_name::<T>()
            ),
        )
    })
}

/// No value was ever written under a key longer than the host allows, and the host traps on
/// reading one; answering "absent" instead lets a contract report a too-long id in its
/// arguments as not found, with a stable code.
fn is_readable_key(key: &[u8]) -> bool {
    key.len() <= STORAGE_KEY_BYTES_MAX
}

/// Reads a value of this contract's storage.
pub fn storage_get<T: BorshDeserialize>(key: &[u8]) -> Option<T> {
    if !is_readable_key(key) {
        return None;
    }
    let bytes = host::storage_read(key)?;
    Some(decode_stored("this contract's", key, &bytes))
}

/// True when this contract's storage has a value under `key`.
pub fn storage_has(key: &[u8]) -> bool {
    is_readable_key(key) && host::storage_read(key).is_some()
}

pub fn storage_set<T: BorshSerialize>(key: &[u8], value: &T) {
    host::storage_write(key, &encode(value));
}

pub fn storage_remove(key: &[u8]) {
    host::storage_remove(key);
}

/// Reads a value of another contract's storage (read-only).
pub fn foreign_get<T: BorshDeserialize>(contract_id: &str, key: &[u8]) -> Option<T> {
    if !is_readable_key(key) {
        return None;
    }
    let bytes = host::storage_read_contract(contract_id, key)?;
    Some(decode_stored(contract_id, key, &bytes))
}

/// The public key that signed the transaction.
pub fn caller() -> PublicKeyBytes {
    PublicKeyBytes(host::caller())
}

/// Height of the block being executed.
pub fn block_height() -> u64 {
    host::block_height()
}

/// The block's timestamp in milliseconds since the Unix epoch.
pub fn block_time_ms() -> u64 {
    host::block_time_ms()
}

/// Emits an event; each topic is an index key under which the node finds it again.
pub fn emit<T: BorshSerialize>(topics: &[String], data: &T) {
    host::emit_event(&encode(topics), &encode(data));
}

/// The SM3 digest of `bytes`.
pub fn sm3(bytes: &[u8]) -> [u8; 32] {
    host::sm3(bytes)
}

/// Sets the call's return data.
pub fn set_return<T: BorshSerialize>(value: &T) {
    host::set_return(&encode(value));
}

/// Fails the call: its writes and events are discarded and the receipt carries `code` and
/// `message`, each cut to the host's limit at a character boundary.
pub fn abort(code: &str, message: &str) -> ! {
    host::abort(
        cut_at_character(code, ABORT_CODE_BYTES_MAX),
        cut_at_character(message, ABORT_MESSAGE_BYTES_MAX),
    )
}

/// Refuses the operation but keeps what the call wrote and emitted so far: the receipt says
/// `refused` with `code` and `message` (cut like [`abort`]'s). For suspicious requests that must
/// leave a trace, e.g. an alert recorded just before refusing a second dispense.
pub fn refuse(code: &str, message: &str) -> ! {
    host::refuse(
        cut_at_character(code, ABORT_CODE_BYTES_MAX),
        cut_at_character(message, ABORT_MESSAGE_BYTES_MAX),
    )
}

fn cut_at_character(text: &str, bytes_max: usize) -> &str {
    if text.len() <= bytes_max {
        return text;
    }
    let mut end = bytes_max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).unwrap_or_else(|error| abort(PANIC, &format!("borsh encoding: {error}")))
}

/// Lowercase hex, for naming keys in messages.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| {
            [
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 15)],
            ]
        })
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut_at_character("abc", 2), "ab");
        assert_eq!(cut_at_character("aé", 2), "a");
        assert_eq!(cut_at_character("aé", 3), "aé");
    }

    fn write_then_refuse() {
        storage_set(b"alert/1", &7u8);
        emit(&[String::from("alert")], &7u8);
        refuse("already_dispensed", "dispensed before")
    }

    fn write_then_abort() {
        storage_set(b"alert/1", &7u8);
        abort("not_found", "nothing")
    }

    #[test]
    fn a_refusal_keeps_writes_and_events_and_an_abort_does_not() {
        mock::reset();
        mock::set_contract("trace");
        let refused = mock::call(write_then_refuse, &()).unwrap_err();
        assert!(refused.refused);
        assert_eq!(refused.code, "already_dispensed");
        assert_eq!(refused.message, "dispensed before");
        assert_eq!(mock::get::<u8>("trace", b"alert/1"), Some(7));
        assert_eq!(mock::events().len(), 1);

        mock::reset();
        mock::set_contract("trace");
        let aborted = mock::call(write_then_abort, &()).unwrap_err();
        assert!(!aborted.refused);
        assert_eq!(mock::get::<u8>("trace", b"alert/1"), None);
        assert!(mock::wrote_before_abort());

        // As in the real host, a query may not refuse (it has nothing to keep).
        let trapped = mock::query(write_then_refuse, &()).unwrap_err();
        assert_eq!(trapped.code, mock::TRAP);
    }

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x0f, 0xa0]), "0fa0");
    }
}
