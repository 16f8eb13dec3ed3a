//! The trace contract's JSON: which argument type each method and query takes, which record
//! each query returns, and how each event's payload decodes.

use rxchain_node::codec::{CodecError, ContractCodec, decode_json, encode_json};
use rxchain_node::receipt::Event;
use rxchain_trace_types as trace;
use serde_json::Value;

#[derive(Debug)]
pub struct TraceCodec;

impl ContractCodec for TraceCodec {
    fn contract_id(&self) -> &'static str {
        trace::CONTRACT_ID
    }

    fn encode_arguments(&self, method: &str, arguments: Value) -> Result<Vec<u8>, CodecError> {
        match method {
            "register_product" => encode_json::<trace::Product>(arguments),
            "commission" => encode_json::<trace::CommissionArgs>(arguments),
            "commission_batch" => encode_json::<trace::CommissionBatchArgs>(arguments),
            "ship" | "ship_return" => encode_json::<trace::ShipArgs>(arguments),
            "receive" | "shipment" | "shipment_missing" => {
                encode_json::<trace::ShipmentIdArgs>(arguments)
            }
            "receive_counted" => encode_json::<trace::ReceiveCountedArgs>(arguments),
            "dispense" | "pack" | "release_quarantine" | "pack_state" => {
                encode_json::<trace::PackId>(arguments)
            }
            "product" => encode_json::<trace::GtinArgs>(arguments),
            "pack_container" => encode_json::<trace::PackArgs>(arguments),
            "unpack_container" | "container" => encode_json::<trace::SsccArgs>(arguments),
            "decommission" => encode_json::<trace::DecommissionArgs>(arguments),
            "recall_lot" => encode_json::<trace::RecallArgs>(arguments),
            "release_lot_recall" | "lot_holders" => encode_json::<trace::LotArgs>(arguments),
            "quarantine" => encode_json::<trace::QuarantineArgs>(arguments),
            "close_alert" | "alert" => encode_json::<trace::AlertIdArgs>(arguments),
            "open_alerts" => encode_json::<trace::OpenAlertsArgs>(arguments),
            "stock" => encode_json::<trace::StockArgs>(arguments),
            "register_china_product_code" | "approve_china_product_code" => {
                encode_json::<trace::ChinaProductCodeArgs>(arguments)
            }
            "gtin_by_china_code" => encode_json::<trace::ChinaCodeArgs>(arguments),
            "record_epcis_event" => encode_json::<trace::EpcisRecordArgs>(arguments),
            "record_epcis_events" => encode_json::<trace::EpcisBatchArgs>(arguments),
            _ => Err(CodecError::UnknownMethod {
                contract: trace::CONTRACT_ID.into(),
                method: method.into(),
            }),
        }
    }

    fn decode_result(&self, query: &str, bytes: &[u8]) -> Result<Value, CodecError> {
        match query {
            "product" => decode_json::<trace::Product>(bytes),
            "pack" => decode_json::<trace::Pack>(bytes),
            "shipment" => decode_json::<trace::Shipment>(bytes),
            "pack_state" => decode_json::<trace::PackState>(bytes),
            "shipment_missing" => decode_json::<Vec<trace::PackId>>(bytes),
            "container" => decode_json::<trace::Container>(bytes),
            "lot_holders" => decode_json::<trace::LotHolders>(bytes),
            "stock" => decode_json::<trace::Stock>(bytes),
            "open_alerts" => decode_json::<trace::OpenAlerts>(bytes),
            "alert" => decode_json::<trace::Alert>(bytes),
            "gtin_by_china_code" => decode_json::<trace::GtinArgs>(bytes),
            _ => Err(CodecError::UnknownQuery {
                contract: trace::CONTRACT_ID.into(),
                query: query.into(),
            }),
        }
    }

    fn decode_event(&self, event: &Event) -> Option<Value> {
        // Every event of the contract is one `ContractEvent`, tagged by kind; in JSON it is its
        // payload.
        decode_json::<trace::ContractEvent>(&event.data).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ship_json_without_containers_still_encodes() {
        let bytes = TraceCodec
            .encode_arguments(
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
            TraceCodec.encode_arguments(method, arguments).unwrap();
        }
    }

    #[test]
    fn unknown_methods_are_named() {
        assert_eq!(
            TraceCodec.encode_arguments("teleport", json!({})),
            Err(CodecError::UnknownMethod {
                contract: "trace".into(),
                method: "teleport".into()
            })
        );
    }
}
