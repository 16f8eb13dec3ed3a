//! The host ABI between the wasmtime host and contracts: names, limits and error codes.
//!
//! A contract is a core wasm module that exports `memory` and one function per method:
//! `m_<method>` for state-changing calls and `q_<name>` for read-only queries, each with the
//! signature `() -> ()`. The call's argument bytes are fetched with `input_length`/`input_read`.
//! A call succeeds when the function returns; it fails when the contract calls `abort` (with a
//! stable error code and a message), traps, or runs out of fuel. A failed call's writes and
//! events are discarded.
//!
//! Host functions, all in the import module [`IMPORT_MODULE`] (pointers and lengths are i32):
//!
//! | import | signature | meaning |
//! |---|---|---|
//! | `input_length` | `() -> i32` | length of the call's argument bytes |
//! | `input_read` | `(ptr)` | copies the argument bytes to `ptr` |
//! | `storage_read` | `(key_ptr, key_len) -> i32` | -1 when absent, else the value's length; the value goes to the register |
//! | `storage_read_contract` | `(contract_ptr, contract_len, key_ptr, key_len) -> i32` | the same, in another contract's storage (read-only) |
//! | `register_read` | `(ptr)` | copies the register (the last value read) to `ptr` |
//! | `storage_write` | `(key_ptr, key_len, value_ptr, value_len)` | sets a key (traps in queries) |
//! | `storage_remove` | `(key_ptr, key_len)` | removes a key (traps in queries) |
//! | `caller` | `(ptr)` | writes the 32-byte public key of the transaction's sender |
//! | `block_height` | `() -> i64` | height of the block being executed |
//! | `block_time_ms` | `() -> i64` | the block's timestamp, milliseconds since the Unix epoch |
//! | `emit_event` | `(topics_ptr, topics_len, data_ptr, data_len)` | topics: borsh `Vec<String>`, each an index key |
//! | `sm3` | `(ptr, len, out_ptr)` | writes the 32-byte SM3 digest of the input |
//! | `set_return` | `(ptr, len)` | sets the call's return data |
//! | `abort` | `(code_ptr, code_len, message_ptr, message_len)` | fails the call with a code and message |
//! | `refuse` | `(code_ptr, code_len, message_ptr, message_len)` | refuses the operation but keeps what the call wrote and emitted so far (e.g. an alert) |
//!
//! `refuse` exists for suspicious requests that must leave a trace: a second dispense, a receive
//! without a shipment, an action on a recalled pack. The contract records an alert, then refuses;
//! the receipt says `refused` with the code, and the alert stays on the ledger for the regulator.
//! Like `abort`, `refuse` does not return.

/// What host work costs in fuel, on top of the contract's own instructions (one fuel each). A host
/// call does work that wasm instructions do not count — a RocksDB read, bytes that end up in the
/// block's write batch, the state root and the event index, hashing — so each is charged by
/// call and by byte, priced against wasm instructions (about a nanosecond each): a storage read
/// is microseconds of work. A call without the fuel for a host call fails `out_of_fuel`.
pub mod fuel {
    /// Every host call: crossing into the host and checking its arguments.
    pub const HOST_CALL: u64 = 100;
    /// Copying bytes between the contract's memory and the host (input, register, caller,
    /// return data): one fuel per this many bytes.
    pub const COPY_BYTES_PER_FUEL: u64 = 16;
    /// `storage_read` and `storage_read_contract`, plus [`STORAGE_READ_PER_BYTE`] per byte of
    /// key and value.
    pub const STORAGE_READ: u64 = 1_000;
    pub const STORAGE_READ_PER_BYTE: u64 = 1;
    /// `storage_write` and `storage_remove`, plus [`STORAGE_WRITE_PER_BYTE`] per byte of key
    /// and value: the bytes are kept, written to disk and hashed into the state root.
    pub const STORAGE_WRITE: u64 = 500;
    pub const STORAGE_WRITE_PER_BYTE: u64 = 4;
    /// `emit_event`, plus [`EVENT_TOPIC`] per topic (an index entry each) and
    /// [`EVENT_PER_BYTE`] per byte of topics and data.
    pub const EVENT: u64 = 500;
    pub const EVENT_TOPIC: u64 = 200;
    pub const EVENT_PER_BYTE: u64 = 4;
    /// `sm3` per byte hashed (SM3 runs at a few nanoseconds per byte).
    pub const SM3_PER_BYTE: u64 = 4;
}

/// Storage writes and removals one call may make, counted per call of `storage_write` or
/// `storage_remove` (writing a key twice counts twice): what a call adds to a block's write
/// batch is bounded whatever fuel it has.
pub const STORAGE_WRITES_PER_CALL_MAX: usize = 16 * 1024;
/// Bytes of keys and values one call may write, counted as [`STORAGE_WRITES_PER_CALL_MAX`].
pub const STORAGE_WRITE_BYTES_PER_CALL_MAX: usize = 8 * 1024 * 1024;

/// The wasm import module every host function lives in.
pub const IMPORT_MODULE: &str = "rxchain";
/// Export-name prefix of state-changing methods.
pub const METHOD_PREFIX: &str = "m_";
/// Export-name prefix of read-only queries.
pub const QUERY_PREFIX: &str = "q_";

/// Longest storage key a contract may use.
pub const STORAGE_KEY_BYTES_MAX: usize = 256;
/// Largest storage value a contract may write.
pub const STORAGE_VALUE_BYTES_MAX: usize = 64 * 1024;
/// Most events one call may emit.
pub const EVENTS_PER_CALL_MAX: usize = 1024;
/// Most topics one event may carry.
pub const TOPICS_PER_EVENT_MAX: usize = 64;
/// Longest topic (an index key such as `pack:09506000134352/A1B2`).
pub const TOPIC_BYTES_MAX: usize = 160;
/// Largest event payload.
pub const EVENT_DATA_BYTES_MAX: usize = 16 * 1024;
/// Largest return value.
pub const RETURN_BYTES_MAX: usize = 64 * 1024;
/// Longest abort code and message.
pub const ABORT_CODE_BYTES_MAX: usize = 64;
pub const ABORT_MESSAGE_BYTES_MAX: usize = 1024;

/// Stable error codes that contracts abort with. The node passes them through to receipts and
/// the API unchanged, so clients can branch on them.
pub mod error_code {
    /// The caller's organization or member roles do not allow this call.
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// The call's argument bytes do not decode.
    pub const INVALID_ARGUMENT: &str = "invalid_argument";
    /// The thing named does not exist.
    pub const NOT_FOUND: &str = "not_found";
    /// The thing to create exists already.
    pub const ALREADY_EXISTS: &str = "already_exists";
    /// Only the current custodian may do this with the pack.
    pub const NOT_CUSTODIAN: &str = "not_custodian";
    /// Only the shipment's consignee may receive it.
    pub const NOT_CONSIGNEE: &str = "not_consignee";
    /// The pack's state does not allow the operation (e.g. shipping a pack in transit).
    pub const WRONG_STATUS: &str = "wrong_status";
    /// The pack was dispensed before.
    pub const ALREADY_DISPENSED: &str = "already_dispensed";
    /// The pack's lot is recalled: it may not be packed, shipped or dispensed (the call is
    /// refused and an alert recorded). A return of it is allowed.
    pub const RECALLED: &str = "recalled";
    /// The pack is quarantined: it may not be packed, shipped or dispensed until released (the
    /// call is refused and an alert recorded).
    pub const QUARANTINED: &str = "quarantined";
    /// A return goes only to an organization that held the pack before.
    pub const NOT_PREVIOUS_CUSTODIAN: &str = "not_previous_custodian";
    /// A governance proposal cannot take this approval.
    pub const PROPOSAL_CLOSED: &str = "proposal_closed";
    /// The organization approved this proposal already.
    pub const ALREADY_APPROVED: &str = "already_approved";
    /// No method or query of that name.
    pub const UNKNOWN_METHOD: &str = "unknown_method";
    /// The contract panicked (a bug in the contract, or stored data that does not decode).
    pub const PANIC: &str = "panic";
}
