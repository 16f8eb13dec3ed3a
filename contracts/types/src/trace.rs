//! The `trace` system contract's data: products, serialized packs, shipments and their events.
//!
//! First cut of the lifecycle (CBV words): a manufacturer registers product master data by GTIN
//! and commissions serialized packs (GTIN + serial + lot + expiry); the custodian ships packs to a
//! consignee organization in a shipment; the consignee receives it; a pharmacy or hospital
//! dispenses a pack once. Every step emits an event indexed under the pack's topic, so a pack's
//! history is one index lookup.

use crate::PublicKeyBytes;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// The trace contract's id.
pub const CONTRACT_ID: &str = "trace";

/// Longest serial number (GS1 AI 21 allows 20 characters).
pub const SERIAL_CHARACTERS_MAX: usize = 20;
/// Longest lot number (GS1 AI 10 allows 20 characters).
pub const LOT_CHARACTERS_MAX: usize = 20;
/// Most packs in one shipment.
pub const PACKS_PER_SHIPMENT_MAX: usize = 1000;
/// Longest shipment id.
pub const SHIPMENT_ID_CHARACTERS_MAX: usize = 64;
/// Longest free-text field in product master data.
pub const PRODUCT_TEXT_CHARACTERS_MAX: usize = 200;

/// Product master data, registered once per GTIN by its manufacturer.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Product {
    /// GTIN-14, digits only, check digit verified by the contract.
    pub gtin: String,
    pub name: String,
    pub strength: String,
    pub dosage_form: String,
    pub pack_size: u32,
    /// Prescription-only (Rx) when true, over the counter when false.
    pub prescription: bool,
    /// Storage range in tenths of a degree Celsius (e.g. 20 = 2.0 °C).
    pub storage_celsius_tenths_min: i32,
    pub storage_celsius_tenths_max: i32,
    pub approval_number: String,
    /// Set by the contract to the caller's organization; ignored in the arguments.
    pub manufacturer: String,
}

/// Identifies one serialized pack.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PackId {
    pub gtin: String,
    pub serial: String,
}

#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case", tag = "state"))]
pub enum PackStatus {
    /// Held by its custodian.
    InStock,
    /// Shipped, not yet received.
    InTransit { shipment_id: String },
    /// Handed to a patient; final.
    Dispensed { height: u64, time_ms: u64 },
}

/// The ledger's record of one pack.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Pack {
    pub id: PackId,
    pub lot: String,
    /// Expiry date as YYMMDD (GS1 AI 17).
    pub expiry: String,
    /// Organization id of the current custodian.
    pub custodian: String,
    pub status: PackStatus,
    pub commissioned_height: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case"))]
pub enum ShipmentStatus {
    Open,
    Received,
}

#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Shipment {
    pub id: String,
    pub from: String,
    pub to: String,
    pub packs: Vec<PackId>,
    pub status: ShipmentStatus,
    pub shipped_height: u64,
}

/// Arguments of `m_commission`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct CommissionArgs {
    pub gtin: String,
    pub serial: String,
    pub lot: String,
    /// YYMMDD.
    pub expiry: String,
}

/// Arguments of `m_ship`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ShipArgs {
    pub shipment_id: String,
    /// Consignee organization id.
    pub to: String,
    pub packs: Vec<PackId>,
}

/// Arguments of `m_receive` and `q_shipment`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ShipmentIdArgs {
    pub shipment_id: String,
}

/// Arguments of `q_product`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct GtinArgs {
    pub gtin: String,
}

/// What happened to a pack (CBV business steps of this first cut).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case", tag = "step"))]
pub enum TraceStep {
    /// `urn:epcglobal:cbv:bizstep:commissioning`
    Commissioning { lot: String, expiry: String },
    /// `urn:epcglobal:cbv:bizstep:shipping`
    Shipping { shipment_id: String, to: String },
    /// `urn:epcglobal:cbv:bizstep:receiving`
    Receiving { shipment_id: String, from: String },
    /// `urn:epcglobal:cbv:bizstep:dispensing`
    Dispensing,
}

/// The payload of every trace event; its topics are [`topics::pack`] and [`topics::lot`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct TraceEvent {
    pub pack: PackId,
    pub step: TraceStep,
    /// Organization that acted.
    pub organization: String,
    /// Member key that signed.
    pub actor: PublicKeyBytes,
    pub time_ms: u64,
}

/// Emitted once when a product's master data is registered; topic [`topics::product`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ProductRegisteredEvent {
    pub gtin: String,
    pub manufacturer: String,
}

/// Storage keys of the trace contract.
pub mod keys {
    use super::*;

    pub fn product(gtin: &str) -> Vec<u8> {
        format!("product/{gtin}").into_bytes()
    }

    pub fn pack(id: &PackId) -> Vec<u8> {
        format!("pack/{}/{}", id.gtin, id.serial).into_bytes()
    }

    pub fn shipment(id: &str) -> Vec<u8> {
        format!("shipment/{id}").into_bytes()
    }
}

/// Event topics (index keys) of the trace contract.
pub mod topics {
    use super::*;

    pub fn pack(id: &PackId) -> String {
        format!("pack:{}/{}", id.gtin, id.serial)
    }

    pub fn lot(gtin: &str, lot: &str) -> String {
        format!("lot:{gtin}/{lot}")
    }

    pub fn shipment(id: &str) -> String {
        format!("shipment:{id}")
    }

    pub fn product(gtin: &str) -> String {
        format!("product:{gtin}")
    }
}

/// True when `gtin` is 14 digits whose last is the GS1 mod-10 check digit of the first 13.
pub fn is_valid_gtin14(gtin: &str) -> bool {
    let bytes = gtin.as_bytes();
    if bytes.len() != 14 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    gs1_check_digit(&bytes[..13]) == bytes[13] - b'0'
}

/// GS1 mod-10 check digit of the given digits (weights 3,1,3,… from the right).
pub fn gs1_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, digit)| {
            let value = (digit - b'0') as u32;
            if index % 2 == 0 { value * 3 } else { value }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// True when `date` is YYMMDD with a month 01–12 and a day 00–31 (GS1 allows day 00 meaning the
/// month's last day).
pub fn is_valid_yymmdd(date: &str) -> bool {
    let bytes = date.as_bytes();
    if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let month = (bytes[2] - b'0') * 10 + (bytes[3] - b'0');
    let day = (bytes[4] - b'0') * 10 + (bytes[5] - b'0');
    (1..=12).contains(&month) && day <= 31
}

/// True for a GS1 AI 82 character-set string (serials and lots) of 1..=max characters.
pub fn is_valid_gs1_text(text: &str, characters_max: usize) -> bool {
    !text.is_empty()
        && text.len() <= characters_max
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!\"%&'()*+,-./:;<=>?_".contains(&byte))
}
