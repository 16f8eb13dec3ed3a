//! The host functions of the import module `rxchain` (see `rxchain_contract_types::abi`) and
//! byte-level safe wrappers over them. Only compiled for wasm32; elsewhere `mock` stands in.

use alloc::vec::Vec;

mod imports {
    #[link(wasm_import_module = "rxchain")]
    unsafe extern "C" {
        pub fn input_length() -> i32;
        pub fn input_read(pointer: *mut u8);
        pub fn storage_read(key_pointer: *const u8, key_length: i32) -> i32;
        pub fn storage_read_contract(
            contract_pointer: *const u8,
            contract_length: i32,
            key_pointer: *const u8,
            key_length: i32,
        ) -> i32;
        pub fn register_read(pointer: *mut u8);
        pub fn storage_write(
            key_pointer: *const u8,
            key_length: i32,
            value_pointer: *const u8,
            value_length: i32,
        );
        pub fn storage_remove(key_pointer: *const u8, key_length: i32);
        pub fn caller(pointer: *mut u8);
        pub fn block_height() -> i64;
        pub fn block_time_ms() -> i64;
        pub fn emit_event(
            topics_pointer: *const u8,
            topics_length: i32,
            data_pointer: *const u8,
            data_length: i32,
        );
        pub fn sm3(pointer: *const u8, length: i32, out_pointer: *mut u8);
        pub fn set_return(pointer: *const u8, length: i32);
        pub fn abort(
            code_pointer: *const u8,
            code_length: i32,
            message_pointer: *const u8,
            message_length: i32,
        ) -> !;
        pub fn refuse(
            code_pointer: *const u8,
            code_length: i32,
            message_pointer: *const u8,
            message_length: i32,
        ) -> !;
    }
}

/// Slices in wasm32 memory are shorter than 2 GiB, so their lengths always fit the ABI's i32.
fn length(bytes: &[u8]) -> i32 {
    bytes.len() as i32
}

/// Reads `length` bytes that the host copies out with `read`; `length` < 0 means absent.
fn read_bytes(length: i32, read: impl FnOnce(*mut u8)) -> Option<Vec<u8>> {
    let length = usize::try_from(length).ok()?;
    let mut bytes = Vec::with_capacity(length);
    if length > 0 {
        read(bytes.as_mut_ptr());
        // SAFETY: `read` made the host write exactly `length` bytes into the reserved capacity.
        unsafe { bytes.set_len(length) };
    }
    Some(bytes)
}

pub fn input() -> Vec<u8> {
    // SAFETY: the host functions only touch the memory ranges passed to them.
    let length = unsafe { imports::input_length() };
    // SAFETY: the host writes the `length` argument bytes to the pointer.
    read_bytes(length, |pointer| unsafe { imports::input_read(pointer) }).unwrap_or_default()
}

pub fn storage_read(key: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: as above.
    let length = unsafe { imports::storage_read(key.as_ptr(), length(key)) };
    // SAFETY: the host writes the `length` bytes of the value just read to the pointer.
    read_bytes(length, |pointer| unsafe { imports::register_read(pointer) })
}

pub fn storage_read_contract(contract_id: &str, key: &[u8]) -> Option<Vec<u8>> {
    // SAFETY: as above.
    let length = unsafe {
        imports::storage_read_contract(
            contract_id.as_ptr(),
            length(contract_id.as_bytes()),
            key.as_ptr(),
            length(key),
        )
    };
    // SAFETY: the host writes the `length` bytes of the value just read to the pointer.
    read_bytes(length, |pointer| unsafe { imports::register_read(pointer) })
}

pub fn storage_write(key: &[u8], value: &[u8]) {
    // SAFETY: as above.
    unsafe { imports::storage_write(key.as_ptr(), length(key), value.as_ptr(), length(value)) }
}

pub fn storage_remove(key: &[u8]) {
    // SAFETY: as above.
    unsafe { imports::storage_remove(key.as_ptr(), length(key)) }
}

pub fn caller() -> [u8; 32] {
    let mut key = [0u8; 32];
    // SAFETY: the host writes exactly 32 bytes.
    unsafe { imports::caller(key.as_mut_ptr()) };
    key
}

pub fn block_height() -> u64 {
    // SAFETY: no memory involved.
    unsafe { imports::block_height() as u64 }
}

pub fn block_time_ms() -> u64 {
    // SAFETY: no memory involved.
    unsafe { imports::block_time_ms() as u64 }
}

pub fn emit_event(topics: &[u8], data: &[u8]) {
    // SAFETY: the host only reads the two ranges.
    unsafe { imports::emit_event(topics.as_ptr(), length(topics), data.as_ptr(), length(data)) }
}

pub fn sm3(bytes: &[u8]) -> [u8; 32] {
    let mut digest = [0u8; 32];
    // SAFETY: the host reads the input range and writes exactly 32 bytes.
    unsafe { imports::sm3(bytes.as_ptr(), length(bytes), digest.as_mut_ptr()) };
    digest
}

pub fn set_return(bytes: &[u8]) {
    // SAFETY: the host only reads the range.
    unsafe { imports::set_return(bytes.as_ptr(), length(bytes)) }
}

pub fn abort(code: &str, message: &str) -> ! {
    // SAFETY: the host only reads the two ranges and never returns.
    unsafe {
        imports::abort(
            code.as_ptr(),
            length(code.as_bytes()),
            message.as_ptr(),
            length(message.as_bytes()),
        )
    }
}

pub fn refuse(code: &str, message: &str) -> ! {
    // SAFETY: the host only reads the two ranges and never returns.
    unsafe {
        imports::refuse(
            code.as_ptr(),
            length(code.as_bytes()),
            message.as_ptr(),
            length(message.as_bytes()),
        )
    }
}
