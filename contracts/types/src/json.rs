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
        (trace::CONTRACT_ID, "receive" | "shipment" | "shipment_missing") => {
            encode::<trace::ShipmentIdArgs>(json)
        }
        (trace::CONTRACT_ID, "dispense" | "pack") => encode::<trace::PackId>(json),
        (trace::CONTRACT_ID, "product") => encode::<trace::GtinArgs>(json),
        (trace::CONTRACT_ID, "ship_return") => encode::<trace::ShipArgs>(json),
        (trace::CONTRACT_ID, "receive_counted") => encode::<trace::ReceiveCountedArgs>(json),
        (trace::CONTRACT_ID, "pack_container") => encode::<trace::PackArgs>(json),
        (trace::CONTRACT_ID, "unpack_container" | "container") => encode::<trace::SsccArgs>(json),
        (trace::CONTRACT_ID, "decommission") => encode::<trace::DecommissionArgs>(json),
        (trace::CONTRACT_ID, "recall_lot") => encode::<trace::RecallArgs>(json),
        (trace::CONTRACT_ID, "release_lot_recall" | "lot_holders") => {
            encode::<trace::LotArgs>(json)
        }
        (trace::CONTRACT_ID, "quarantine") => encode::<trace::QuarantineArgs>(json),
        (trace::CONTRACT_ID, "release_quarantine" | "pack_state") => encode::<trace::PackId>(json),
        (trace::CONTRACT_ID, "close_alert" | "alert") => encode::<trace::AlertIdArgs>(json),
        (trace::CONTRACT_ID, "open_alerts") => encode::<trace::OpenAlertsArgs>(json),
        (trace::CONTRACT_ID, "stock") => encode::<trace::StockArgs>(json),
        (trace::CONTRACT_ID, "register_china_product_code") => {
            encode::<trace::ChinaProductCodeArgs>(json)
        }
        (trace::CONTRACT_ID, "gtin_by_china_code") => encode::<trace::ChinaCodeArgs>(json),
        (trace::CONTRACT_ID, "record_epcis_event") => encode::<trace::EpcisRecordArgs>(json),
        (trace::CONTRACT_ID, "record_epcis_events") => encode::<trace::EpcisBatchArgs>(json),
        (trace::CONTRACT_ID, "commission_batch") => encode::<trace::CommissionBatchArgs>(json),
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
        (trace::CONTRACT_ID, "pack_state") => decode::<trace::PackState>(bytes),
        (trace::CONTRACT_ID, "shipment_missing") => decode::<Vec<trace::PackId>>(bytes),
        (trace::CONTRACT_ID, "container") => decode::<trace::Container>(bytes),
        (trace::CONTRACT_ID, "lot_holders") => decode::<trace::LotHolders>(bytes),
        (trace::CONTRACT_ID, "stock") => decode::<trace::Stock>(bytes),
        (trace::CONTRACT_ID, "open_alerts") => decode::<trace::OpenAlerts>(bytes),
        (trace::CONTRACT_ID, "alert") => decode::<trace::Alert>(bytes),
        (trace::CONTRACT_ID, "gtin_by_china_code") => decode::<trace::GtinArgs>(bytes),
        _ => Err(format!(
            "no JSON result format is known for {contract}.{query}"
        )),
    }
}

/// Decodes a system contract's event payload into JSON; `None` for contracts it does not know.
pub fn decode_event(contract: &str, topics: &[String], data: &[u8]) -> Option<Value> {
    match contract {
        // The first topic says what the event is about: every trace event puts its subject's
        // topic first (a pack's steps list the pack before its lot, container and shipment).
        trace::CONTRACT_ID => {
            let first = topics.first().map(String::as_str).unwrap_or_default();
            if first.starts_with("product:") {
                decode::<trace::ProductRegisteredEvent>(data).ok()
            } else if first == trace::topics::ALERT {
                decode::<trace::Alert>(data).ok()
            } else if first.starts_with("container:") {
                decode::<trace::ContainerEvent>(data).ok()
            } else if first.starts_with("lot:") {
                decode::<trace::LotEvent>(data).ok()
            } else if first.starts_with(trace::EPCIS_TOPIC_PREFIX) {
                decode::<trace::EpcisRecord>(data).ok()
            } else {
                decode::<trace::TraceEvent>(data).ok()
            }
        }
        registry::CONTRACT_ID => decode::<registry::Proposal>(data).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ship_json_without_containers_still_encodes() {
        let bytes = encode_arguments(
            trace::CONTRACT_ID,
            "ship",
            json!({"shipment_id": "S1", "to": "b", "packs": [{"gtin": "09506000134352", "serial": "A"}]}),
        )
        .unwrap();
        let arguments: trace::ShipArgs = borsh::from_slice(&bytes).unwrap();
        assert!(arguments.containers.is_empty());
        assert_eq!(arguments.packs.len(), 1);
    }

    #[test]
    fn lifecycle_arguments_encode() {
        let cases = [
            (
                "pack_container",
                json!({"sscc": "030691601000000002", "packs": []}),
            ),
            (
                "decommission",
                json!({"pack": {"gtin": "g", "serial": "s"}, "reason": "expired"}),
            ),
            (
                "recall_lot",
                json!({"gtin": "g", "lot": "L1", "reason": "impurity"}),
            ),
            (
                "receive_counted",
                json!({"shipment_id": "S1", "received": []}),
            ),
            ("open_alerts", json!({})),
            ("stock", json!({"organization": "o", "gtin": "g"})),
        ];
        for (method, arguments) in cases {
            encode_arguments(trace::CONTRACT_ID, method, arguments).unwrap();
        }
    }
}
