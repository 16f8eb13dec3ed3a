//! Shared data types of rxchain's system contracts.
//!
//! This crate is the agreement between three parties that never link to each other directly:
//! the wasm system contracts (built for `wasm32-unknown-unknown`, `no_std`), the node that writes
//! the genesis state and indexes events, and the host-side modules that turn JSON into canonical
//! call arguments (their codecs, with serde under the `std` feature). Everything here is encoded with borsh (one encoding per value, deterministic).
//!
//! - [`abi`]: the host ABI's names and limits (import module, export prefixes, error codes).
//! - [`roles`]: organization and member role bit sets.
//! - [`registry`]: organizations, members, validator nodes, governance proposals.
//!
//! Only what the chain core itself needs lives here; each domain's contract types are a crate
//! beside its contract (`contracts/system/<domain>/types`).
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod abi;
pub mod registry;
pub mod roles;

/// An Ed25519 public key as raw bytes. In JSON it is lowercase hex.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct PublicKeyBytes(pub [u8; 32]);

#[cfg(feature = "std")]
mod public_key_serde {
    use super::PublicKeyBytes;
    use alloc::string::String;

    fn hex_encode(bytes: &[u8]) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(bytes.len() * 2);
        for byte in bytes {
            out.push(DIGITS[(byte >> 4) as usize] as char);
            out.push(DIGITS[(byte & 15) as usize] as char);
        }
        out
    }

    impl PublicKeyBytes {
        /// Lowercase hex of the 32 key bytes.
        pub fn to_hex(&self) -> String {
            hex_encode(&self.0)
        }

        /// Parses 64 hex digits.
        pub fn from_hex(text: &str) -> Result<Self, String> {
            let text = text.trim();
            if text.len() != 64 {
                return Err(alloc::format!(
                    "a public key is 64 hex digits, got {} characters",
                    text.len()
                ));
            }
            let mut out = [0u8; 32];
            for (index, chunk) in text.as_bytes().chunks(2).enumerate() {
                let pair = core::str::from_utf8(chunk).map_err(|_| String::from("not hex"))?;
                out[index] = u8::from_str_radix(pair, 16)
                    .map_err(|_| alloc::format!("'{pair}' is not a hex byte"))?;
            }
            Ok(PublicKeyBytes(out))
        }
    }

    impl serde::Serialize for PublicKeyBytes {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(&self.to_hex())
        }
    }

    impl<'de> serde::Deserialize<'de> for PublicKeyBytes {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            let text = <String as serde::Deserialize>::deserialize(deserializer)?;
            PublicKeyBytes::from_hex(&text).map_err(serde::de::Error::custom)
        }
    }
}
