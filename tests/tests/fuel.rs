//! Every declared maximum of the trace contract is usable: a call at each size limit runs within
//! the fuel one call may burn, host calls (storage, events, hashing) charged included. Prints
//! the fuel each used (`cargo test -p rxchain-tests --test fuel -- --nocapture`).

use rxchain_node::receipt::Receipt;
use rxchain_tests::{TestChain, assert_success};
use rxchain_trace_types::{
    COMMISSION_BATCH_PACKS_MAX, CommissionArgs, CommissionBatchArgs, PACKS_PER_SHIPMENT_MAX,
    PackId, ReceiveCountedArgs, ShipArgs, ShipmentIdArgs,
};

const MANUFACTURER: &str = "huaxin-pharma";
const DISTRIBUTOR: &str = "kangda-distribution";
const PHARMACY: &str = "anxin-pharmacy";
const GTIN: &str = "09506000134352";

fn pack(number: usize) -> PackId {
    PackId {
        gtin: GTIN.into(),
        serial: format!("P{number:06}"),
    }
}

fn report(what: &str, receipt: &Receipt) {
    assert_success(receipt);
    eprintln!("{what}: {} fuel", receipt.fuel_used);
}

fn ship(shipment_id: &str, to: &str, packs: &[PackId]) -> ShipArgs {
    ShipArgs {
        shipment_id: shipment_id.into(),
        to: to.into(),
        packs: packs.to_vec(),
        containers: Vec::new(),
    }
}

#[test]
fn the_largest_batch_shipment_and_receives_run_within_fuel() {
    let chain = TestChain::start();
    let product = rxchain_tests::sample_product(GTIN);
    assert_success(&chain.call(MANUFACTURER, "trace", "register_product", &product));
    let packs: Vec<PackId> = (0..PACKS_PER_SHIPMENT_MAX).map(pack).collect();
    for (index, batch) in packs.chunks(COMMISSION_BATCH_PACKS_MAX).enumerate() {
        let arguments = CommissionBatchArgs {
            packs: batch
                .iter()
                .map(|id| CommissionArgs {
                    gtin: id.gtin.clone(),
                    serial: id.serial.clone(),
                    lot: "L1".into(),
                    expiry: "281231".into(),
                })
                .collect(),
        };
        let receipt = chain.call(MANUFACTURER, "trace", "commission_batch", &arguments);
        report(
            &format!("commission_batch of {COMMISSION_BATCH_PACKS_MAX} (batch {index})"),
            &receipt,
        );
    }
    let receipt = chain.call(
        MANUFACTURER,
        "trace",
        "ship",
        &ship("S1", DISTRIBUTOR, &packs),
    );
    report(&format!("ship of {PACKS_PER_SHIPMENT_MAX}"), &receipt);
    let counted = ReceiveCountedArgs {
        shipment_id: "S1".into(),
        received: packs.clone(),
    };
    let receipt = chain.call(DISTRIBUTOR, "trace", "receive_counted", &counted);
    report(
        &format!("receive_counted of {PACKS_PER_SHIPMENT_MAX}"),
        &receipt,
    );
    let receipt = chain.call(DISTRIBUTOR, "trace", "ship", &ship("S2", PHARMACY, &packs));
    report(&format!("ship of {PACKS_PER_SHIPMENT_MAX} again"), &receipt);
    let receive = ShipmentIdArgs {
        shipment_id: "S2".into(),
    };
    let receipt = chain.call(PHARMACY, "trace", "receive", &receive);
    report(&format!("receive of {PACKS_PER_SHIPMENT_MAX}"), &receipt);
}
