//! The read-only `q_` functions. Each answers from one record or counter (a pack's state adds
//! its lot's recall and the containers around it), never from a scan.

use crate::alerts::{find_alert, open_alerts};
use crate::checks::{find_container, find_pack, find_shipment};
use crate::containers::enclosing;
use crate::holds::recall_of;
use alloc::collections::BTreeMap;
use alloc::format;
use rxchain_contract_types::abi::error_code;
use rxchain_sdk::{abort, input, set_return, storage_get};
use rxchain_trace_types::{
    AlertIdArgs, GtinArgs, LotArgs, LotHolders, OpenAlertsArgs, PackId, PackState, ShipmentIdArgs,
    SsccArgs, Stock, StockArgs, keys,
};

pub fn query_product() {
    let arguments: GtinArgs = input();
    set_return(&crate::checks::find_product(&arguments.gtin));
}

pub fn query_pack() {
    let id: PackId = input();
    set_return(&find_pack(&id));
}

pub fn query_pack_state() {
    let id: PackId = input();
    let pack = find_pack(&id);
    let recall = recall_of(&pack.id.gtin, &pack.lot);
    let containers = enclosing(pack.parent.as_deref());
    set_return(&PackState {
        pack,
        recall,
        containers,
    });
}

pub fn query_shipment() {
    let arguments: ShipmentIdArgs = input();
    set_return(&find_shipment(&arguments.shipment_id));
}

/// The packs still missing from a shipment after a counted receive.
pub fn query_shipment_missing() {
    let arguments: ShipmentIdArgs = input();
    let shipment = find_shipment(&arguments.shipment_id);
    let missing: alloc::vec::Vec<PackId> =
        storage_get(&keys::shipment_missing(&shipment.id)).unwrap_or_default();
    set_return(&missing);
}

pub fn query_container() {
    let arguments: SsccArgs = input();
    set_return(&find_container(&arguments.sscc));
}

/// Who holds units of a lot now: the reach of a recall.
pub fn query_lot_holders() {
    let arguments: LotArgs = input();
    let holders: BTreeMap<alloc::string::String, u64> =
        storage_get(&keys::lot_holders(&arguments.gtin, &arguments.lot)).unwrap_or_else(|| {
            abort(
                error_code::NOT_FOUND,
                &format!(
                    "no pack of lot {}/{} was ever commissioned",
                    arguments.gtin, arguments.lot
                ),
            )
        });
    let recall = recall_of(&arguments.gtin, &arguments.lot);
    set_return(&LotHolders {
        gtin: arguments.gtin,
        lot: arguments.lot,
        holders,
        recall,
    });
}

/// An organization's stock of a GTIN by lot; empty when it holds none.
pub fn query_stock() {
    let arguments: StockArgs = input();
    let lots: BTreeMap<alloc::string::String, u64> =
        storage_get(&keys::stock(&arguments.organization, &arguments.gtin)).unwrap_or_default();
    let total = lots.values().sum();
    set_return(&Stock {
        organization: arguments.organization,
        gtin: arguments.gtin,
        lots,
        total,
    });
}

pub fn query_open_alerts() {
    let arguments: OpenAlertsArgs = input();
    set_return(&open_alerts(&arguments));
}

pub fn query_alert() {
    let arguments: AlertIdArgs = input();
    set_return(&find_alert(arguments.id));
}

pub fn query_gtin_by_china_code() {
    let arguments: rxchain_trace_types::ChinaCodeArgs = input();
    match storage_get::<alloc::string::String>(&keys::china_product(&arguments.product_code)) {
        Some(gtin) => set_return(&GtinArgs { gtin }),
        None => abort(
            error_code::NOT_FOUND,
            &format!(
                "no product has the identification code {}",
                arguments.product_code
            ),
        ),
    }
}
