//! JSON ⇄ canonical bytes for the system contracts, used by the API and the CLI.
//!
//! Contracts take borsh bytes; people and programs write JSON. This module is the one place that
//! knows which argument type each system method takes and which result type each query returns.

use crate::{registry, trace};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use borsh::BorshDeserialize;
use serde_json::Value;

fn encode<T: serde::de::DeserializeOwned + borsh::BorshSerialize>(
    json: Value,
) -> Result<Vec<u8>, String> {
    let value: T = serde_json::from_value(json).map_err(|error| error.to_string())?;
    borsh::to_vec(&value).map_err(|error| error.to_string())
}

fn decode<T: BorshDeserialize + serde::Serialize>(bytes: &[u8]) -> Result<Value, String> {
    let value = T::try_from_slice(bytes).map_err(|error| error.to_string())?;
    serde_json::to_value(value).map_err(|error| error.to_string())
}

/// Encodes the JSON arguments of a system contract's method or query (`m_`/`q_` prefix omitted)
/// into its canonical bytes. Unknown contract or method is an error naming both.
pub fn encode_arguments(contract: &str, method: &str, json: Value) -> Result<Vec<u8>, String> {
    match (contract, method) {
        (registry::CONTRACT_ID, "propose") => encode::<registry::ProposeArgs>(json),
        (registry::CONTRACT_ID, "approve" | "proposal") => encode::<registry::ProposalIdArgs>(json),
        (registry::CONTRACT_ID, "organization") => encode::<registry::OrganizationIdArgs>(json),
        (registry::CONTRACT_ID, "member") => encode::<registry::PublicKeyArgs>(json),
        (trace::CONTRACT_ID, "register_product") => encode::<trace::Product>(json),
        (trace::CONTRACT_ID, "commission") => encode::<trace::CommissionArgs>(json),
        (trace::CONTRACT_ID, "ship") => encode::<trace::ShipArgs>(json),
        (trace::CONTRACT_ID, "receive" | "shipment") => encode::<trace::ShipmentIdArgs>(json),
        (trace::CONTRACT_ID, "dispense" | "pack") => encode::<trace::PackId>(json),
        (trace::CONTRACT_ID, "product") => encode::<trace::GtinArgs>(json),
        _ => Err(format!(
            "no JSON argument format is known for {contract}.{method}"
        )),
    }
}

/// Decodes a system contract query's return bytes into JSON.
pub fn decode_query_result(contract: &str, query: &str, bytes: &[u8]) -> Result<Value, String> {
    match (contract, query) {
        (registry::CONTRACT_ID, "organization") => decode::<registry::Organization>(bytes),
        (registry::CONTRACT_ID, "member") => decode::<registry::Member>(bytes),
        (registry::CONTRACT_ID, "proposal") => decode::<registry::Proposal>(bytes),
        (trace::CONTRACT_ID, "product") => decode::<trace::Product>(bytes),
        (trace::CONTRACT_ID, "pack") => decode::<trace::Pack>(bytes),
        (trace::CONTRACT_ID, "shipment") => decode::<trace::Shipment>(bytes),
        _ => Err(format!(
            "no JSON result format is known for {contract}.{query}"
        )),
    }
}

/// Decodes a system contract's event payload into JSON; `None` for contracts it does not know.
pub fn decode_event(contract: &str, topics: &[String], data: &[u8]) -> Option<Value> {
    match contract {
        trace::CONTRACT_ID => {
            if topics.iter().any(|topic| topic.starts_with("product:")) {
                decode::<trace::ProductRegisteredEvent>(data).ok()
            } else {
                decode::<trace::TraceEvent>(data).ok()
            }
        }
        registry::CONTRACT_ID => decode::<registry::Proposal>(data).ok(),
        _ => None,
    }
}
