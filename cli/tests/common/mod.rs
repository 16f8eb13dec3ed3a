//! Fixtures the process tests share: the product they register and the commissions they send.

use rxchain_cli::client::Client;
use rxchain_trace_types::{CommissionArgs, Product};

/// The prescription product the process tests register.
pub fn amoxicillin(gtin: &str) -> Product {
    Product {
        gtin: gtin.into(),
        name: "Amoxicillin".into(),
        strength: "250 mg".into(),
        dosage_form: "capsule".into(),
        pack_size: 24,
        prescription: true,
        storage_celsius_tenths_min: 100,
        storage_celsius_tenths_max: 250,
        approval_number: "H1".into(),
        manufacturer: String::new(),
    }
}

/// Sends a `commission` of lot L1 with an explicit nonce; returns the transaction id.
pub async fn commission(
    client: &Client,
    key: &ed25519_dalek::SigningKey,
    gtin: &str,
    serial: &str,
    nonce: u64,
) -> anyhow::Result<String> {
    let args = CommissionArgs {
        gtin: gtin.into(),
        serial: serial.into(),
        lot: "L1".into(),
        expiry: "281231".into(),
    };
    client
        .send_call(
            key,
            "trace",
            "commission",
            borsh::to_vec(&args).expect("encodes"),
            Some(nonce),
            10_000,
        )
        .await
}
