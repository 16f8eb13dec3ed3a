//! The trace contract's full lifecycle through real blocks: packing into cases and pallets,
//! shipping a pallet, counted receipts with discrepancies, dispensing once, lot recalls and
//! their reach, quarantines, decommissioning, returns, alerts for the regulator, and stock
//! counters that stay exact.

use rxchain_node::receipt::{Receipt, ReceiptStatus};
use rxchain_tests::{TestChain, assert_success, failure_code};
use rxchain_trace_types::{
    Alert, AlertIdArgs, AlertKind, CommissionArgs, ContractEvent, DecommissionArgs,
    DecommissionReason, LotArgs, LotHolders, OpenAlerts, OpenAlertsArgs, Pack, PackArgs, PackId,
    PackStatus, Product, QuarantineArgs, RecallArgs, ReceiveCountedArgs, ShipArgs, Shipment,
    ShipmentIdArgs, ShipmentStatus, SsccArgs, Stock, StockArgs, topics,
};

const MANUFACTURER: &str = "huaxin-pharma";
const DISTRIBUTOR: &str = "kangda-distribution";
const PHARMACY: &str = "anxin-pharmacy";
const HOSPITAL: &str = "renmin-hospital";
const REGULATOR: &str = "drug-regulator";
const GTIN: &str = "09506000134352";
/// SSCCs with valid check digits.
const CASE_A: &str = "030691601000000002";
const CASE_B: &str = "030691601000000019";
const PALLET: &str = "030691601000000026";

fn product() -> Product {
    rxchain_tests::sample_product(GTIN)
}

fn pack(serial: &str) -> PackId {
    PackId {
        gtin: GTIN.into(),
        serial: serial.into(),
    }
}

fn packs(serials: &[&str]) -> Vec<PackId> {
    serials.iter().map(|serial| pack(serial)).collect()
}

fn commission(chain: &TestChain, serials: &[&str], lot: &str) {
    for serial in serials {
        let args = CommissionArgs {
            gtin: GTIN.into(),
            serial: (*serial).into(),
            lot: lot.into(),
            expiry: "281231".into(),
        };
        assert_success(&chain.call(MANUFACTURER, "trace", "commission", &args));
    }
}

fn ship(
    chain: &TestChain,
    from: &str,
    to: &str,
    id: &str,
    serials: &[&str],
    containers: &[&str],
) -> Receipt {
    let args = ShipArgs {
        shipment_id: id.into(),
        to: to.into(),
        packs: packs(serials),
        containers: containers.iter().map(|sscc| sscc.to_string()).collect(),
    };
    chain.call(from, "trace", "ship", &args)
}

fn receive(chain: &TestChain, by: &str, id: &str) -> Receipt {
    let args = ShipmentIdArgs {
        shipment_id: id.into(),
    };
    chain.call(by, "trace", "receive", &args)
}

fn pack_into(
    chain: &TestChain,
    by: &str,
    sscc: &str,
    serials: &[&str],
    containers: &[&str],
) -> Receipt {
    let args = PackArgs {
        sscc: sscc.into(),
        packs: packs(serials),
        containers: containers.iter().map(|sscc| sscc.to_string()).collect(),
    };
    chain.call(by, "trace", "pack_container", &args)
}

fn query<A: borsh::BorshSerialize, T: borsh::BorshDeserialize>(
    chain: &TestChain,
    name: &str,
    args: &A,
) -> T {
    let bytes = chain
        .node
        .query("trace", name, borsh::to_vec(args).unwrap())
        .unwrap_or_else(|error| panic!("query {name}: {error:?}"));
    borsh::from_slice(&bytes).unwrap()
}

fn pack_record(chain: &TestChain, serial: &str) -> Pack {
    query(chain, "pack", &pack(serial))
}

fn lot_holders(chain: &TestChain, lot: &str) -> LotHolders {
    let args = LotArgs {
        gtin: GTIN.into(),
        lot: lot.into(),
    };
    query(chain, "lot_holders", &args)
}

fn holders(chain: &TestChain, lot: &str) -> Vec<(String, u64)> {
    lot_holders(chain, lot).holders.into_iter().collect()
}

fn stock(chain: &TestChain, organization: &str) -> Vec<(String, u64)> {
    let args = StockArgs {
        organization: organization.into(),
        gtin: GTIN.into(),
    };
    let answer: Stock = query(chain, "stock", &args);
    assert_eq!(answer.total, answer.lots.values().sum::<u64>());
    answer.lots.into_iter().collect()
}

fn counts(entries: &[(&str, u64)]) -> Vec<(String, u64)> {
    entries
        .iter()
        .map(|(name, count)| (name.to_string(), *count))
        .collect()
}

fn open_alerts(chain: &TestChain) -> OpenAlerts {
    query(chain, "open_alerts", &OpenAlertsArgs::default())
}

/// Asserts the receipt is a refusal with `code`, and returns the alert it recorded.
fn assert_refused(receipt: &Receipt, code: &str) -> Alert {
    assert!(
        matches!(&receipt.status, ReceiptStatus::Refused { code: refused, .. } if refused == code),
        "expected a refusal with {code}, got {:?}",
        receipt.status
    );
    let event = receipt
        .events
        .iter()
        .find(|event| event.topics[0] == topics::ALERT)
        .expect("a refusal records an alert");
    match ContractEvent::decode(&event.data) {
        Some(ContractEvent::Alert(alert)) => alert,
        other => panic!("not an alert event: {other:?}"),
    }
}

/// Status and custodian of every pack, counted the slow way, for checking the counters.
fn stock_by_scan(chain: &TestChain, serials: &[&str], organization: &str) -> u64 {
    serials
        .iter()
        .map(|serial| pack_record(chain, serial))
        .filter(|pack| pack.custodian == organization && pack.status == PackStatus::InStock)
        .count() as u64
}

#[test]
fn a_pallet_travels_a_recall_reaches_its_holders_and_alerts_reach_the_regulator() {
    let chain = TestChain::start();
    assert_success(&chain.call(MANUFACTURER, "trace", "register_product", &product()));
    commission(&chain, &["SN1", "SN2", "SN3", "SN4", "SN5", "SN6"], "L1");
    commission(&chain, &["SN9"], "L2");

    // Packs into cases, cases and a loose pack onto a pallet.
    assert_success(&pack_into(
        &chain,
        MANUFACTURER,
        CASE_A,
        &["SN1", "SN2", "SN3"],
        &[],
    ));
    assert_success(&pack_into(
        &chain,
        MANUFACTURER,
        CASE_B,
        &["SN4", "SN5"],
        &[],
    ));
    assert_success(&pack_into(
        &chain,
        MANUFACTURER,
        PALLET,
        &["SN6"],
        &[CASE_A, CASE_B],
    ));
    assert_eq!(
        failure_code(&ship(
            &chain,
            MANUFACTURER,
            DISTRIBUTOR,
            "S0",
            &["SN1"],
            &[]
        )),
        "wrong_status"
    );

    // Shipping the pallet ships everything on it: six packs and three containers.
    let shipped = ship(&chain, MANUFACTURER, DISTRIBUTOR, "S1", &[], &[PALLET]);
    assert_success(&shipped);
    assert_eq!(shipped.events.len(), 9);
    assert_eq!(holders(&chain, "L1"), counts(&[(MANUFACTURER, 6)]));
    assert_eq!(stock(&chain, MANUFACTURER), counts(&[("L2", 1)]));
    assert_success(&receive(&chain, DISTRIBUTOR, "S1"));
    assert_eq!(holders(&chain, "L1"), counts(&[(DISTRIBUTOR, 6)]));
    assert_eq!(stock(&chain, DISTRIBUTOR), counts(&[("L1", 6)]));
    assert_eq!(pack_record(&chain, "SN4").custodian, DISTRIBUTOR);

    // The pallet's history is one lookup: packed onto, shipped, received.
    let pallet_history = chain.node.events(&topics::container(PALLET), 100).unwrap();
    assert_eq!(pallet_history.len(), 1 + 2 + 1 + 1);

    // Unpack, then on to a pharmacy and a hospital.
    assert_success(&chain.call(
        DISTRIBUTOR,
        "trace",
        "unpack_container",
        &SsccArgs {
            sscc: PALLET.into(),
        },
    ));
    assert_success(&chain.call(
        DISTRIBUTOR,
        "trace",
        "unpack_container",
        &SsccArgs {
            sscc: CASE_A.into(),
        },
    ));
    assert_eq!(pack_record(&chain, "SN1").parent, None);
    assert_eq!(pack_record(&chain, "SN4").parent.as_deref(), Some(CASE_B));
    assert_success(&ship(
        &chain,
        DISTRIBUTOR,
        PHARMACY,
        "S2",
        &["SN1", "SN2"],
        &[],
    ));
    assert_success(&ship(&chain, DISTRIBUTOR, HOSPITAL, "S3", &[], &[CASE_B]));
    assert_success(&receive(&chain, PHARMACY, "S2"));
    assert_success(&receive(&chain, HOSPITAL, "S3"));
    assert_success(&chain.call(PHARMACY, "trace", "dispense", &pack("SN1")));

    // Recall reach before the recall: who holds units of L1 right now.
    let reach = lot_holders(&chain, "L1");
    assert!(reach.recall.is_none());
    assert_eq!(
        reach.holders.into_iter().collect::<Vec<_>>(),
        counts(&[(PHARMACY, 1), (DISTRIBUTOR, 2), (HOSPITAL, 2)])
    );

    // A second dispense is refused and leaves an alert.
    let second = assert_refused(
        &chain.call(PHARMACY, "trace", "dispense", &pack("SN1")),
        "already_dispensed",
    );
    assert_eq!(second.kind, AlertKind::SecondDispense);
    assert_eq!(second.pack, Some(pack("SN1")));

    // The manufacturer recalls L1: dispensing a unit of it is refused with an alert.
    let recall = RecallArgs {
        gtin: GTIN.into(),
        lot: "L1".into(),
        reason: "impurity above limit".into(),
    };
    assert_eq!(
        failure_code(&chain.call(DISTRIBUTOR, "trace", "recall_lot", &recall)),
        "unauthorized"
    );
    assert_success(&chain.call(MANUFACTURER, "trace", "recall_lot", &recall));
    let refused = assert_refused(
        &chain.call(PHARMACY, "trace", "dispense", &pack("SN2")),
        "recalled",
    );
    assert_eq!(refused.kind, AlertKind::ActionOnRecalled);
    assert_eq!(pack_record(&chain, "SN2").status, PackStatus::InStock);
    let reach = lot_holders(&chain, "L1");
    assert_eq!(reach.recall.as_ref().unwrap().by, MANUFACTURER);
    assert_eq!(
        reach.holders.into_iter().collect::<Vec<_>>(),
        counts(&[(PHARMACY, 1), (DISTRIBUTOR, 2), (HOSPITAL, 2)])
    );
    assert!(lot_holders(&chain, "L2").recall.is_none());

    // The regulator sees both alerts, by query and on the `alert` topic.
    let alerts = open_alerts(&chain);
    assert_eq!(alerts.open_count, 2);
    assert_eq!(
        alerts
            .alerts
            .iter()
            .map(|alert| alert.kind)
            .collect::<Vec<_>>(),
        [AlertKind::SecondDispense, AlertKind::ActionOnRecalled]
    );
    assert_eq!(chain.node.events(topics::ALERT, 100).unwrap().len(), 2);
    assert_eq!(
        chain
            .node
            .events(&topics::alert_for(PHARMACY), 100)
            .unwrap()
            .len(),
        2
    );

    // The recalled pack goes back up the chain; a return goes to an earlier custodian only.
    let to_hospital = ShipArgs {
        shipment_id: "R0".into(),
        to: HOSPITAL.into(),
        packs: packs(&["SN2"]),
        containers: Vec::new(),
    };
    assert_eq!(
        failure_code(&chain.call(PHARMACY, "trace", "ship_return", &to_hospital)),
        "not_previous_custodian"
    );
    let back = ShipArgs {
        shipment_id: "R1".into(),
        to: DISTRIBUTOR.into(),
        ..to_hospital
    };
    assert_success(&chain.call(PHARMACY, "trace", "ship_return", &back));
    assert_success(&receive(&chain, DISTRIBUTOR, "R1"));
    assert_eq!(pack_record(&chain, "SN2").custodian, DISTRIBUTOR);
    assert_eq!(
        holders(&chain, "L1"),
        counts(&[(DISTRIBUTOR, 3), (HOSPITAL, 2)])
    );

    // The regulator closes an alert; nobody else may.
    assert_eq!(
        failure_code(&chain.call(
            PHARMACY,
            "trace",
            "close_alert",
            &AlertIdArgs { id: second.id }
        )),
        "unauthorized"
    );
    assert_success(&chain.call(
        REGULATOR,
        "trace",
        "close_alert",
        &AlertIdArgs { id: second.id },
    ));
    let alerts = open_alerts(&chain);
    assert_eq!(alerts.open_count, 1);
    assert_eq!(alerts.alerts[0].id, refused.id);

    // Every pack event still decodes as a pack event (alerts live on their own topics).
    for located in chain.node.events(&topics::pack(&pack("SN1")), 100).unwrap() {
        assert!(matches!(
            ContractEvent::decode(&located.event.data),
            Some(ContractEvent::Pack(_))
        ));
    }
}

#[test]
fn discrepancies_quarantine_decommission_and_exact_stock() {
    let chain = TestChain::start();
    let serials = ["SN1", "SN2", "SN3", "SN4", "SN5"];
    assert_success(&chain.call(MANUFACTURER, "trace", "register_product", &product()));
    commission(&chain, &serials, "L1");
    assert_success(&ship(
        &chain,
        MANUFACTURER,
        DISTRIBUTOR,
        "S1",
        &["SN1", "SN2", "SN3", "SN4"],
        &[],
    ));

    // Receive without a shipment: refused, recorded.
    let ghost = assert_refused(&receive(&chain, DISTRIBUTOR, "S404"), "not_found");
    assert_eq!(ghost.kind, AlertKind::ReceiveWithoutShipment);

    // The distributor finds SN1, SN2 and SN5 (which was never shipped): SN3 and SN4 are missing.
    let counted = ReceiveCountedArgs {
        shipment_id: "S1".into(),
        received: packs(&["SN1", "SN2", "SN5"]),
    };
    let receipt = chain.call(DISTRIBUTOR, "trace", "receive_counted", &counted);
    assert_success(&receipt);
    let mut kinds: Vec<AlertKind> = open_alerts(&chain)
        .alerts
        .iter()
        .map(|alert| alert.kind)
        .collect();
    kinds.sort_by_key(|kind| format!("{kind:?}"));
    assert_eq!(
        kinds,
        [
            AlertKind::Missing,
            AlertKind::Missing,
            AlertKind::ReceiveWithoutShipment,
            AlertKind::Unexpected
        ]
    );
    let shipment: Shipment = query(
        &chain,
        "shipment",
        &ShipmentIdArgs {
            shipment_id: "S1".into(),
        },
    );
    assert_eq!(shipment.status, ShipmentStatus::ReceivedShort);
    assert_eq!(shipment.missing_count, 2);
    let missing: Vec<PackId> = query(
        &chain,
        "shipment_missing",
        &ShipmentIdArgs {
            shipment_id: "S1".into(),
        },
    );
    assert_eq!(missing, packs(&["SN3", "SN4"]));
    assert!(matches!(
        pack_record(&chain, "SN3").status,
        PackStatus::InTransit { .. }
    ));
    assert_eq!(pack_record(&chain, "SN5").custodian, MANUFACTURER);
    assert_eq!(stock(&chain, DISTRIBUTOR), counts(&[("L1", 2)]));
    assert_eq!(stock(&chain, MANUFACTURER), counts(&[("L1", 1)]));
    assert_eq!(
        holders(&chain, "L1"),
        counts(&[(MANUFACTURER, 3), (DISTRIBUTOR, 2)])
    );

    // Quarantine: the custodian's own it releases itself; a regulator's only a regulator does.
    let suspect = QuarantineArgs {
        pack: pack("SN1"),
        reason: "seal broken".into(),
    };
    assert_eq!(
        failure_code(&chain.call(MANUFACTURER, "trace", "quarantine", &suspect)),
        "not_custodian"
    );
    assert_success(&chain.call(DISTRIBUTOR, "trace", "quarantine", &suspect));
    let refused = assert_refused(
        &ship(&chain, DISTRIBUTOR, PHARMACY, "S2", &["SN1"], &[]),
        "quarantined",
    );
    assert_eq!(refused.kind, AlertKind::ActionOnQuarantined);
    assert_success(&chain.call(DISTRIBUTOR, "trace", "release_quarantine", &pack("SN1")));
    assert_success(&chain.call(REGULATOR, "trace", "quarantine", &suspect));
    assert_eq!(
        failure_code(&chain.call(DISTRIBUTOR, "trace", "release_quarantine", &pack("SN1"))),
        "unauthorized"
    );
    assert_success(&chain.call(REGULATOR, "trace", "release_quarantine", &pack("SN1")));

    // Decommissioning is final and leaves the stock.
    let damaged = DecommissionArgs {
        pack: pack("SN2"),
        reason: DecommissionReason::Damaged,
    };
    assert_success(&chain.call(DISTRIBUTOR, "trace", "decommission", &damaged));
    assert_eq!(
        failure_code(&ship(&chain, DISTRIBUTOR, PHARMACY, "S2", &["SN2"], &[])),
        "wrong_status"
    );

    // The missing packs turn up: a second receive takes them in.
    assert_success(&receive(&chain, DISTRIBUTOR, "S1"));
    let shipment: Shipment = query(
        &chain,
        "shipment",
        &ShipmentIdArgs {
            shipment_id: "S1".into(),
        },
    );
    assert_eq!(shipment.status, ShipmentStatus::Received);
    assert_success(&ship(
        &chain,
        DISTRIBUTOR,
        PHARMACY,
        "S2",
        &["SN1", "SN3"],
        &[],
    ));
    assert_success(&receive(&chain, PHARMACY, "S2"));
    assert_success(&chain.call(PHARMACY, "trace", "dispense", &pack("SN3")));

    // The counters agree with the pack records.
    for organization in [MANUFACTURER, DISTRIBUTOR, PHARMACY] {
        let counted: u64 = stock(&chain, organization)
            .iter()
            .map(|(_, count)| count)
            .sum();
        assert_eq!(
            counted,
            stock_by_scan(&chain, &serials, organization),
            "{organization}"
        );
    }
    assert_eq!(stock(&chain, DISTRIBUTOR), counts(&[("L1", 1)]));
    assert_eq!(stock(&chain, PHARMACY), counts(&[("L1", 1)]));
    assert_eq!(
        holders(&chain, "L1"),
        counts(&[(PHARMACY, 1), (MANUFACTURER, 1), (DISTRIBUTOR, 1)])
    );
}
