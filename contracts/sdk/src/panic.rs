//! The contract's `#[panic_handler]`: a panic fails the call with the code [`crate::PANIC`] and
//! the panic's message. The message is formatted into a fixed buffer on the stack because the
//! panic may come from an exhausted allocator.

use core::fmt::Write;
use rxchain_contract_types::abi::ABORT_MESSAGE_BYTES_MAX;

/// Collects formatted text up to the abort message limit, cutting at a character boundary.
struct MessageBuffer {
    bytes: [u8; ABORT_MESSAGE_BYTES_MAX],
    length: usize,
}

impl Write for MessageBuffer {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        for character in text.chars() {
            let mut encoded = [0u8; 4];
            let encoded = character.encode_utf8(&mut encoded).as_bytes();
            let end = self.length + encoded.len();
            if end > self.bytes.len() {
                return Err(core::fmt::Error);
            }
            self.bytes[self.length..end].copy_from_slice(encoded);
            self.length = end;
        }
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut buffer = MessageBuffer {
        bytes: [0; ABORT_MESSAGE_BYTES_MAX],
        length: 0,
    };
    // A message cut at the limit is still worth reporting, so the error is ignored.
    let _ = write!(buffer, "{}", info.message());
    let message = core::str::from_utf8(&buffer.bytes[..buffer.length]).unwrap_or("panic");
    crate::host::abort(crate::PANIC, message)
}
