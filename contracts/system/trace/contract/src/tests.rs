//! The trace contract's custody rules, run against the SDK's in-memory host.

use super::*;
use crate::containers::{pack_container, unpack_container};
use crate::custody::{decommission, dispense, receive, receive_counted, ship, ship_return};
use crate::holds::{quarantine, recall_lot, release_lot_recall, release_quarantine};
use crate::queries::{
    query_alert, query_container, query_lot_holders, query_open_alerts, query_pack,
    query_pack_state, query_product, query_shipment, query_shipment_missing, query_stock,
};
use alloc::string::ToString;
use rxchain_contract_types::PublicKeyBytes;
use rxchain_contract_types::registry;
use rxchain_sdk::borsh::{BorshDeserialize, BorshSerialize};
use rxchain_sdk::mock::{self, Aborted};
use rxchain_trace_types::{
    Alert, AlertIdArgs, AlertKind, CONTAINER_LEVELS_MAX, CONTRACT_ID, CommissionArgs, Container,
    ContainerStatus, ContractEvent, DecommissionArgs, DecommissionReason, GtinArgs,
    ITEMS_PER_CONTAINER_MAX, LotArgs, LotHolders, OpenAlerts, OpenAlertsArgs,
    PACKS_PER_SHIPMENT_MAX, Pack, PackArgs, PackId, PackState, PackStatus, Product, QuarantineArgs,
    RecallArgs, ReceiveCountedArgs, ShipArgs, Shipment, ShipmentIdArgs, ShipmentStatus, SsccArgs,
    Stock, StockArgs, TraceEvent, TraceStep, UNEXPECTED_PACKS_PER_RECEIVE_MAX,
};

const MAKER: PublicKeyBytes = PublicKeyBytes([1; 32]);
const MAKER_AUDITOR: PublicKeyBytes = PublicKeyBytes([2; 32]);
const DISTRIBUTOR: PublicKeyBytes = PublicKeyBytes([3; 32]);
const PHARMACIST: PublicKeyBytes = PublicKeyBytes([4; 32]);
const OTHER_MAKER: PublicKeyBytes = PublicKeyBytes([5; 32]);
const PHARMACY_OPERATOR: PublicKeyBytes = PublicKeyBytes([6; 32]);
const REGULATOR: PublicKeyBytes = PublicKeyBytes([7; 32]);

/// SSCCs with valid check digits.
const CASE: &str = "030691601000000002";
const OTHER_CASE: &str = "030691601000000019";
const PALLET: &str = "030691601000000026";

const GTIN: &str = "09506000134352";
const OTHER_GTIN: &str = "09506000134369";

/// The registry's records for a manufacturer, a distributor, a pharmacy and a second maker.
fn genesis() {
    mock::reset();
    mock::set_block(10, 1_700_000_000_000);
    let organizations = [
        ("maker", organization::MANUFACTURER),
        ("distributor-a", organization::DISTRIBUTOR),
        ("pharmacy-b", organization::PHARMACY),
        ("other-maker", organization::MANUFACTURER),
        ("regulator", organization::REGULATOR),
    ];
    for (id, roles) in organizations {
        let record = Organization {
            id: id.to_string(),
            name: id.to_uppercase(),
            roles,
            admin: false,
            gs1_company_prefix: None,
            location: String::new(),
        };
        mock::put(
            registry::CONTRACT_ID,
            &registry::keys::organization(id),
            &record,
        );
    }
    let members = [
        (MAKER, "maker", member::ADMIN),
        (MAKER_AUDITOR, "maker", member::AUDITOR),
        (DISTRIBUTOR, "distributor-a", member::OPERATOR),
        (PHARMACIST, "pharmacy-b", member::PHARMACIST),
        (OTHER_MAKER, "other-maker", member::OPERATOR),
        (PHARMACY_OPERATOR, "pharmacy-b", member::OPERATOR),
        (REGULATOR, "regulator", member::ADMIN),
    ];
    for (public_key, organization, roles) in members {
        let record = Member {
            public_key,
            organization: organization.to_string(),
            roles,
            name: "desk".to_string(),
        };
        mock::put(
            registry::CONTRACT_ID,
            &registry::keys::member(&public_key),
            &record,
        );
    }
    mock::set_contract(CONTRACT_ID);
}

fn product(gtin: &str) -> Product {
    Product {
        gtin: gtin.to_string(),
        name: "Amoxicillin".to_string(),
        strength: "500 mg".to_string(),
        dosage_form: "capsule".to_string(),
        pack_size: 24,
        prescription: true,
        storage_celsius_tenths_min: 20,
        storage_celsius_tenths_max: 250,
        approval_number: "H20003263".to_string(),
        manufacturer: "ignored".to_string(),
    }
}

fn pack_id(serial: &str) -> PackId {
    PackId {
        gtin: GTIN.to_string(),
        serial: serial.to_string(),
    }
}

fn call_as<A: BorshSerialize>(
    caller: PublicKeyBytes,
    function: fn(),
    arguments: &A,
) -> Result<(), Aborted> {
    mock::set_caller(caller);
    mock::call(function, arguments).map(|_| ())
}

fn commission_args(serial: &str) -> CommissionArgs {
    CommissionArgs {
        gtin: GTIN.to_string(),
        serial: serial.to_string(),
        lot: "L42".to_string(),
        expiry: "271231".to_string(),
    }
}

fn ship_args(shipment_id: &str, to: &str, serials: &[&str]) -> ShipArgs {
    ShipArgs {
        shipment_id: shipment_id.to_string(),
        to: to.to_string(),
        packs: serials.iter().map(|serial| pack_id(serial)).collect(),
        containers: Vec::new(),
    }
}

fn shipment_args(shipment_id: &str) -> ShipmentIdArgs {
    ShipmentIdArgs {
        shipment_id: shipment_id.to_string(),
    }
}

fn pack(serial: &str) -> Pack {
    let returned = mock::query(query_pack, &pack_id(serial)).unwrap();
    Pack::try_from_slice(&returned).unwrap()
}

/// Asserts the call failed with `code`, wrote nothing first, and returns its message.
fn expect_abort(result: Result<(), Aborted>, code: &str) -> String {
    let aborted = result.expect_err("the call should fail");
    assert_eq!(aborted.code, code, "message: {}", aborted.message);
    assert!(
        !aborted.refused,
        "refused rather than aborted: {}",
        aborted.message
    );
    assert!(!mock::wrote_before_abort(), "wrote before aborting");
    aborted.message
}

/// Asserts the call was refused with `code` after recording an alert of `kind`, and returns
/// the alert.
fn expect_refusal(result: Result<(), Aborted>, code: &str, kind: AlertKind) -> Alert {
    let refused = result.expect_err("the call should be refused");
    assert_eq!(refused.code, code, "message: {}", refused.message);
    assert!(
        refused.refused,
        "aborted rather than refused: {}",
        refused.message
    );
    let alert = last_alert();
    assert_eq!(alert.kind, kind);
    assert_eq!(alert.detail, refused.message);
    alert
}

/// The alert of the last event of the last call (a query in between clears the events).
fn last_alert() -> Alert {
    let event = mock::events().pop().expect("an alert event");
    assert_eq!(event.topics[0], "alert");
    match ContractEvent::try_from_slice(&event.data).unwrap() {
        ContractEvent::Alert(alert) => alert,
        other => panic!("not an alert: {other:?}"),
    }
}

/// The product registered and packs SN1..SN3 commissioned by `maker`.
fn with_stock() {
    genesis();
    call_as(MAKER, register_product, &product(GTIN)).unwrap();
    for serial in ["SN1", "SN2", "SN3"] {
        call_as(MAKER, commission, &commission_args(serial)).unwrap();
    }
}

fn trace_event(index: usize) -> (Vec<String>, TraceEvent) {
    let event = &mock::events()[index];
    match ContractEvent::try_from_slice(&event.data).unwrap() {
        ContractEvent::Pack(data) => (event.topics.clone(), data),
        other => panic!("not a pack event: {other:?}"),
    }
}

#[test]
fn a_pack_travels_from_maker_to_patient() {
    with_stock();
    let (topics, event) = trace_event(0);
    assert_eq!(
        topics,
        ["pack:09506000134352/SN3", "lot:09506000134352/L42"]
    );
    assert_eq!(event.actor, MAKER);
    assert_eq!(event.organization, "maker");
    let registered = mock::query(
        query_product,
        &GtinArgs {
            gtin: GTIN.to_string(),
        },
    )
    .unwrap();
    assert_eq!(
        Product::try_from_slice(&registered).unwrap().manufacturer,
        "maker"
    );
    let commissioned = pack("SN1");
    assert_eq!(commissioned.custodian, "maker");
    assert_eq!(commissioned.status, PackStatus::InStock);
    assert_eq!(commissioned.commissioned_height, 10);

    call_as(
        MAKER,
        ship,
        &ship_args("S1", "distributor-a", &["SN1", "SN2"]),
    )
    .unwrap();
    assert_eq!(mock::events().len(), 2);
    let (topics, event) = trace_event(1);
    assert_eq!(topics[2], "shipment:S1");
    assert_eq!(
        event.step,
        TraceStep::Shipping {
            shipment_id: "S1".to_string(),
            to: "distributor-a".to_string()
        }
    );
    assert_eq!(
        pack("SN1").status,
        PackStatus::InTransit {
            shipment_id: "S1".to_string()
        }
    );

    call_as(DISTRIBUTOR, receive, &shipment_args("S1")).unwrap();
    assert_eq!(pack("SN2").custodian, "distributor-a");
    assert_eq!(pack("SN2").status, PackStatus::InStock);
    let returned = mock::query(query_shipment, &shipment_args("S1")).unwrap();
    assert_eq!(
        Shipment::try_from_slice(&returned).unwrap().status,
        ShipmentStatus::Received
    );

    call_as(DISTRIBUTOR, ship, &ship_args("S2", "pharmacy-b", &["SN1"])).unwrap();
    call_as(PHARMACY_OPERATOR, receive, &shipment_args("S2")).unwrap();
    mock::set_block(11, 1_700_000_060_000);
    call_as(PHARMACIST, dispense, &pack_id("SN1")).unwrap();
    let (topics, event) = trace_event(0);
    assert_eq!(topics.len(), 2);
    assert_eq!(event.step, TraceStep::Dispensing);
    assert_eq!(event.organization, "pharmacy-b");
    assert_eq!(event.actor, PHARMACIST);
    assert_eq!(
        pack("SN1").status,
        PackStatus::Dispensed {
            height: 11,
            time_ms: 1_700_000_060_000
        }
    );
}

#[test]
fn product_registration_rules() {
    genesis();
    expect_abort(
        call_as(DISTRIBUTOR, register_product, &product(GTIN)),
        error_code::UNAUTHORIZED,
    );
    let message = expect_abort(
        call_as(MAKER_AUDITOR, register_product, &product(GTIN)),
        error_code::UNAUTHORIZED,
    );
    assert!(message.contains("[auditor]"), "{message}");
    expect_abort(
        call_as(MAKER, register_product, &product("09506000134353")),
        error_code::INVALID_ARGUMENT,
    );
    let mut inverted = product(GTIN);
    inverted.storage_celsius_tenths_min = 300;
    expect_abort(
        call_as(MAKER, register_product, &inverted),
        error_code::INVALID_ARGUMENT,
    );
    let mut verbose = product(GTIN);
    verbose.strength = "x".repeat(201);
    expect_abort(
        call_as(MAKER, register_product, &verbose),
        error_code::INVALID_ARGUMENT,
    );
    call_as(MAKER, register_product, &product(GTIN)).unwrap();
    assert_eq!(mock::events()[0].topics, ["product:09506000134352"]);
    expect_abort(
        call_as(OTHER_MAKER, register_product, &product(GTIN)),
        error_code::ALREADY_EXISTS,
    );
}

#[test]
fn commissioning_rules() {
    with_stock();
    expect_abort(
        call_as(MAKER, commission, &commission_args("SN1")),
        error_code::ALREADY_EXISTS,
    );
    let message = expect_abort(
        call_as(OTHER_MAKER, commission, &commission_args("SN9")),
        error_code::UNAUTHORIZED,
    );
    assert!(
        message.contains("manufactured by maker, not other-maker"),
        "{message}"
    );
    let mut unknown = commission_args("SN9");
    unknown.gtin = OTHER_GTIN.to_string();
    expect_abort(call_as(MAKER, commission, &unknown), error_code::NOT_FOUND);
    for (serial, lot, expiry) in [
        ("", "L1", "271231"),
        ("SN 9", "L1", "271231"),
        ("SN9", "L1234567890123456789012", "271231"),
        ("SN9", "L1", "271331"),
    ] {
        let arguments = CommissionArgs {
            gtin: GTIN.to_string(),
            serial: serial.to_string(),
            lot: lot.to_string(),
            expiry: expiry.to_string(),
        };
        expect_abort(
            call_as(MAKER, commission, &arguments),
            error_code::INVALID_ARGUMENT,
        );
    }
}

#[test]
fn only_the_custodian_ships_packs_in_stock() {
    with_stock();
    let message = expect_abort(
        call_as(DISTRIBUTOR, ship, &ship_args("S1", "pharmacy-b", &["SN1"])),
        error_code::NOT_CUSTODIAN,
    );
    assert_eq!(
        message,
        "pack 09506000134352/SN1 is held by maker, not distributor-a"
    );
    call_as(MAKER, ship, &ship_args("S1", "distributor-a", &["SN1"])).unwrap();
    let message = expect_abort(
        call_as(MAKER, ship, &ship_args("S2", "pharmacy-b", &["SN2", "SN1"])),
        error_code::WRONG_STATUS,
    );
    assert!(message.contains("in transit in shipment S1"), "{message}");
    assert_eq!(pack("SN2").status, PackStatus::InStock);
    expect_abort(
        call_as(MAKER, ship, &ship_args("S1", "pharmacy-b", &["SN2"])),
        error_code::ALREADY_EXISTS,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("S3", "nobody", &["SN2"])),
        error_code::NOT_FOUND,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("S3", "maker", &["SN2"])),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("S3", "pharmacy-b", &["SN2", "SN2"])),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("S3", "pharmacy-b", &[])),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("", "pharmacy-b", &["SN2"])),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("S3", "pharmacy-b", &["SN404"])),
        error_code::NOT_FOUND,
    );
    let too_long_for_a_key = "x".repeat(300);
    expect_abort(
        call_as(
            MAKER,
            ship,
            &ship_args("S3", "pharmacy-b", &[&too_long_for_a_key]),
        ),
        error_code::NOT_FOUND,
    );
    expect_abort(
        call_as(MAKER, ship, &ship_args("S3", &too_long_for_a_key, &["SN2"])),
        error_code::NOT_FOUND,
    );
    expect_abort(
        call_as(
            MAKER_AUDITOR,
            ship,
            &ship_args("S3", "pharmacy-b", &["SN2"]),
        ),
        error_code::UNAUTHORIZED,
    );
}

#[test]
fn a_shipment_holds_as_many_packs_as_events_a_call_may_emit() {
    genesis();
    call_as(MAKER, register_product, &product(GTIN)).unwrap();
    let serials: Vec<String> = (0..=PACKS_PER_SHIPMENT_MAX)
        .map(|index| format!("N{index}"))
        .collect();
    for serial in &serials {
        call_as(MAKER, commission, &commission_args(serial)).unwrap();
    }
    let all: Vec<&str> = serials.iter().map(String::as_str).collect();
    expect_abort(
        call_as(MAKER, ship, &ship_args("BIG", "distributor-a", &all)),
        error_code::INVALID_ARGUMENT,
    );
    let most = &all[..PACKS_PER_SHIPMENT_MAX];
    call_as(MAKER, ship, &ship_args("BIG", "distributor-a", most)).unwrap();
    call_as(DISTRIBUTOR, receive, &shipment_args("BIG")).unwrap();
    assert_eq!(mock::events().len(), PACKS_PER_SHIPMENT_MAX);
}

#[test]
fn only_the_consignee_receives_once() {
    with_stock();
    let alert = expect_refusal(
        call_as(DISTRIBUTOR, receive, &shipment_args("S1")),
        error_code::NOT_FOUND,
        AlertKind::ReceiveWithoutShipment,
    );
    assert_eq!(alert.shipment_id.as_deref(), Some("S1"));
    assert_eq!(alert.organization, "distributor-a");
    call_as(MAKER, ship, &ship_args("S1", "distributor-a", &["SN1"])).unwrap();
    let message = expect_abort(
        call_as(PHARMACY_OPERATOR, receive, &shipment_args("S1")),
        error_code::NOT_CONSIGNEE,
    );
    assert_eq!(
        message,
        "shipment S1 is addressed to distributor-a, not pharmacy-b"
    );
    call_as(DISTRIBUTOR, receive, &shipment_args("S1")).unwrap();
    let (_, event) = trace_event(0);
    assert_eq!(
        event.step,
        TraceStep::Receiving {
            shipment_id: "S1".to_string(),
            from: "maker".to_string()
        }
    );
    expect_abort(
        call_as(DISTRIBUTOR, receive, &shipment_args("S1")),
        error_code::WRONG_STATUS,
    );
}

#[test]
fn a_pack_is_dispensed_once_by_its_pharmacy() {
    with_stock();
    expect_abort(
        call_as(MAKER, dispense, &pack_id("SN1")),
        error_code::UNAUTHORIZED,
    );
    expect_abort(
        call_as(PHARMACIST, dispense, &pack_id("SN1")),
        error_code::NOT_CUSTODIAN,
    );
    expect_abort(
        call_as(PHARMACIST, dispense, &pack_id("SN404")),
        error_code::NOT_FOUND,
    );
    call_as(MAKER, ship, &ship_args("S1", "pharmacy-b", &["SN1", "SN2"])).unwrap();
    expect_abort(
        call_as(PHARMACIST, dispense, &pack_id("SN1")),
        error_code::NOT_CUSTODIAN,
    );
    call_as(PHARMACY_OPERATOR, receive, &shipment_args("S1")).unwrap();
    call_as(PHARMACIST, dispense, &pack_id("SN1")).unwrap();
    let alert = expect_refusal(
        call_as(PHARMACIST, dispense, &pack_id("SN1")),
        error_code::ALREADY_DISPENSED,
        AlertKind::SecondDispense,
    );
    assert!(
        alert
            .detail
            .contains("dispensed by pharmacy-b at height 10"),
        "{}",
        alert.detail
    );
    assert_eq!(alert.pack, Some(pack_id("SN1")));
    assert_eq!(alert.lot.as_deref(), Some("L42"));
    expect_abort(
        call_as(PHARMACY_OPERATOR, ship, &ship_args("S2", "maker", &["SN1"])),
        error_code::ALREADY_DISPENSED,
    );
}

#[test]
fn queries_abort_not_found() {
    genesis();
    expect_abort(
        mock::query(query_pack, &pack_id("SN1")).map(|_| ()),
        error_code::NOT_FOUND,
    );
    expect_abort(
        mock::query(query_shipment, &shipment_args("S1")).map(|_| ()),
        error_code::NOT_FOUND,
    );
    expect_abort(
        mock::query(
            query_product,
            &GtinArgs {
                gtin: GTIN.to_string(),
            },
        )
        .map(|_| ()),
        error_code::NOT_FOUND,
    );
}

// The lifecycle beyond ship/receive/dispense: containers, counted receipts, recalls,
// quarantines, decommissioning, returns, alerts and the counters.

fn query_as<A: BorshSerialize, T: BorshDeserialize>(function: fn(), arguments: &A) -> T {
    T::try_from_slice(&mock::query(function, arguments).unwrap()).unwrap()
}

fn pack_args(sscc: &str, serials: &[&str], containers: &[&str]) -> PackArgs {
    PackArgs {
        sscc: sscc.to_string(),
        packs: serials.iter().map(|serial| pack_id(serial)).collect(),
        containers: containers.iter().map(|sscc| sscc.to_string()).collect(),
    }
}

fn ship_containers(shipment_id: &str, to: &str, containers: &[&str]) -> ShipArgs {
    ShipArgs {
        containers: containers.iter().map(|sscc| sscc.to_string()).collect(),
        ..ship_args(shipment_id, to, &[])
    }
}

fn sscc_args(sscc: &str) -> SsccArgs {
    SsccArgs {
        sscc: sscc.to_string(),
    }
}

fn lot_args() -> LotArgs {
    LotArgs {
        gtin: GTIN.to_string(),
        lot: "L42".to_string(),
    }
}

fn recall_args() -> RecallArgs {
    RecallArgs {
        gtin: GTIN.to_string(),
        lot: "L42".to_string(),
        reason: "impurity above limit".to_string(),
    }
}

fn holders() -> Vec<(String, u64)> {
    let answer: LotHolders = query_as(query_lot_holders, &lot_args());
    answer.holders.into_iter().collect()
}

fn stock_of(organization: &str) -> Vec<(String, u64)> {
    let answer: Stock = query_as(
        query_stock,
        &StockArgs {
            organization: organization.to_string(),
            gtin: GTIN.to_string(),
        },
    );
    assert_eq!(answer.total, answer.lots.values().sum::<u64>());
    answer.lots.into_iter().collect()
}

fn counts(entries: &[(&str, u64)]) -> Vec<(String, u64)> {
    entries
        .iter()
        .map(|(name, count)| (name.to_string(), *count))
        .collect()
}

fn open_alert_kinds() -> Vec<AlertKind> {
    let page: OpenAlerts = query_as(query_open_alerts, &OpenAlertsArgs::default());
    page.alerts.iter().map(|alert| alert.kind).collect()
}

/// SN1..SN3 with `distributor-a`, received in shipment S1.
fn at_distributor() {
    with_stock();
    call_as(
        MAKER,
        ship,
        &ship_args("S1", "distributor-a", &["SN1", "SN2", "SN3"]),
    )
    .unwrap();
    call_as(DISTRIBUTOR, receive, &shipment_args("S1")).unwrap();
}

#[test]
fn containers_nest_and_everything_inside_moves_with_them() {
    with_stock();
    call_as(
        MAKER,
        pack_container,
        &pack_args(CASE, &["SN1", "SN2"], &[]),
    )
    .unwrap();
    let (topics, event) = trace_event(0);
    assert_eq!(topics[2], format!("container:{CASE}"));
    assert_eq!(
        event.step,
        TraceStep::Packing {
            container: CASE.to_string()
        }
    );
    call_as(MAKER, pack_container, &pack_args(PALLET, &["SN3"], &[CASE])).unwrap();
    let state: PackState = query_as(query_pack_state, &pack_id("SN1"));
    assert_eq!(state.containers, [CASE, PALLET]);

    // Inside a container, nothing moves on its own, and no cycle is possible.
    let message = expect_abort(
        call_as(MAKER, ship, &ship_args("S1", "distributor-a", &["SN1"])),
        error_code::WRONG_STATUS,
    );
    assert!(message.contains(CASE), "{message}");
    let message = expect_abort(
        call_as(
            MAKER,
            ship,
            &ship_containers("S1", "distributor-a", &[CASE]),
        ),
        error_code::WRONG_STATUS,
    );
    assert!(message.contains(PALLET), "{message}");
    expect_abort(
        call_as(MAKER, pack_container, &pack_args(CASE, &[], &[PALLET])),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        call_as(MAKER, pack_container, &pack_args(OTHER_CASE, &["SN1"], &[])),
        error_code::WRONG_STATUS,
    );
    expect_abort(
        call_as(
            MAKER,
            pack_container,
            &pack_args("030691601000000003", &["SN1"], &[]),
        ),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        call_as(DISTRIBUTOR, unpack_container, &sscc_args(PALLET)),
        error_code::NOT_CUSTODIAN,
    );

    // Shipping the pallet ships the case and the three packs: one event each.
    call_as(
        MAKER,
        ship,
        &ship_containers("S1", "distributor-a", &[PALLET]),
    )
    .unwrap();
    assert_eq!(mock::events().len(), 5);
    assert_eq!(
        pack("SN1").status,
        PackStatus::InTransit {
            shipment_id: "S1".to_string()
        }
    );
    assert_eq!(stock_of("maker"), counts(&[]));
    assert_eq!(holders(), counts(&[("maker", 3)]));
    call_as(DISTRIBUTOR, receive, &shipment_args("S1")).unwrap();
    assert_eq!(mock::events().len(), 5);
    let container: Container = query_as(query_container, &sscc_args(CASE));
    assert_eq!(container.custodian, "distributor-a");
    assert_eq!(container.status, ContainerStatus::InStock);
    assert_eq!(pack("SN2").custodian, "distributor-a");
    assert_eq!(stock_of("distributor-a"), counts(&[("L42", 3)]));
    assert_eq!(holders(), counts(&[("distributor-a", 3)]));

    // Unpacking is from the outside in; an SSCC is not packed again.
    expect_abort(
        call_as(DISTRIBUTOR, unpack_container, &sscc_args(CASE)),
        error_code::WRONG_STATUS,
    );
    call_as(DISTRIBUTOR, unpack_container, &sscc_args(PALLET)).unwrap();
    assert_eq!(pack("SN3").parent, None);
    assert_eq!(pack("SN1").parent.as_deref(), Some(CASE));
    call_as(DISTRIBUTOR, unpack_container, &sscc_args(CASE)).unwrap();
    assert_eq!(pack("SN1").parent, None);
    expect_abort(
        call_as(
            DISTRIBUTOR,
            pack_container,
            &pack_args(PALLET, &["SN1"], &[]),
        ),
        error_code::ALREADY_EXISTS,
    );
    call_as(DISTRIBUTOR, ship, &ship_args("S2", "pharmacy-b", &["SN1"])).unwrap();
}

#[test]
fn containers_have_limits() {
    with_stock();
    let ssccs: Vec<String> = (10..16)
        .map(|number| {
            let body = format!("03069160100000{number:03}");
            let check = rxchain_trace_types::gs1_check_digit(body.as_bytes());
            format!("{body}{check}")
        })
        .collect();
    call_as(MAKER, pack_container, &pack_args(&ssccs[0], &["SN1"], &[])).unwrap();
    for level in 1..CONTAINER_LEVELS_MAX {
        let arguments = pack_args(&ssccs[level], &[], &[&ssccs[level - 1]]);
        call_as(MAKER, pack_container, &arguments).unwrap();
    }
    let too_deep = pack_args(
        &ssccs[CONTAINER_LEVELS_MAX],
        &[],
        &[&ssccs[CONTAINER_LEVELS_MAX - 1]],
    );
    let message = expect_abort(
        call_as(MAKER, pack_container, &too_deep),
        error_code::INVALID_ARGUMENT,
    );
    assert!(message.contains("levels"), "{message}");
    expect_abort(
        call_as(MAKER, pack_container, &pack_args(CASE, &[], &[])),
        error_code::INVALID_ARGUMENT,
    );
}

#[test]
fn a_counted_receive_records_missing_and_unexpected_packs() {
    with_stock();
    call_as(MAKER, commission, &commission_args("SN4")).unwrap();
    call_as(
        MAKER,
        pack_container,
        &pack_args(CASE, &["SN1", "SN2"], &[]),
    )
    .unwrap();
    let shipment = ShipArgs {
        packs: vec![pack_id("SN3")],
        ..ship_containers("S1", "distributor-a", &[CASE])
    };
    call_as(MAKER, ship, &shipment).unwrap();
    // Found: SN1 and SN3; SN2 is missing; SN4 (not shipped) and SN9 (never commissioned) are
    // unexpected.
    let counted = ReceiveCountedArgs {
        shipment_id: "S1".to_string(),
        received: ["SN1", "SN3", "SN4", "SN9"].map(pack_id).to_vec(),
    };
    call_as(DISTRIBUTOR, receive_counted, &counted).unwrap();
    // The missing pack's own history says so, for its verification.
    let missing_steps: Vec<(PackId, TraceStep)> = mock::events()
        .iter()
        .filter_map(|event| match ContractEvent::try_from_slice(&event.data) {
            Ok(ContractEvent::Pack(data)) => Some((data.pack, data.step)),
            _ => None,
        })
        .filter(|(_, step)| matches!(step, TraceStep::MissingInTransit { .. }))
        .collect();
    assert_eq!(
        missing_steps,
        [(
            pack_id("SN2"),
            TraceStep::MissingInTransit {
                shipment_id: "S1".to_string(),
                from: "maker".to_string()
            }
        )]
    );
    let mut kinds = open_alert_kinds();
    kinds.sort_by_key(|kind| format!("{kind:?}"));
    assert_eq!(
        kinds,
        [
            AlertKind::Missing,
            AlertKind::Unexpected,
            AlertKind::Unexpected
        ]
    );
    let page: OpenAlerts = query_as(query_open_alerts, &OpenAlertsArgs::default());
    let missing = page
        .alerts
        .iter()
        .find(|alert| alert.kind == AlertKind::Missing)
        .unwrap();
    assert_eq!(missing.pack, Some(pack_id("SN2")));
    assert_eq!(missing.container.as_deref(), Some(CASE));
    assert_eq!(pack("SN1").custodian, "distributor-a");
    assert_eq!(pack("SN2").custodian, "maker");
    assert_eq!(pack("SN2").parent, None);
    assert_eq!(pack("SN4").custodian, "maker");
    let container: Container = query_as(query_container, &sscc_args(CASE));
    assert_eq!(container.packs, [pack_id("SN1")]);
    let record: Shipment = query_as(query_shipment, &shipment_args("S1"));
    assert_eq!(record.status, ShipmentStatus::ReceivedShort);
    assert_eq!(record.missing_count, 1);
    let missing: Vec<PackId> = query_as(query_shipment_missing, &shipment_args("S1"));
    assert_eq!(missing, [pack_id("SN2")]);
    assert_eq!(holders(), counts(&[("distributor-a", 2), ("maker", 2)]));
    assert_eq!(stock_of("maker"), counts(&[("L42", 1)]));

    // The missing pack turns up: a second receive takes it in.
    call_as(DISTRIBUTOR, receive, &shipment_args("S1")).unwrap();
    assert_eq!(pack("SN2").custodian, "distributor-a");
    let record: Shipment = query_as(query_shipment, &shipment_args("S1"));
    assert_eq!(record.status, ShipmentStatus::Received);
    assert_eq!(record.missing_count, 0);
    let missing: Vec<PackId> = query_as(query_shipment_missing, &shipment_args("S1"));
    assert!(missing.is_empty());
    assert_eq!(stock_of("distributor-a"), counts(&[("L42", 3)]));

    let mut too_many = counted.clone();
    too_many.received = (0..=UNEXPECTED_PACKS_PER_RECEIVE_MAX)
        .map(|index| pack_id(&format!("X{index}")))
        .collect();
    call_as(MAKER, ship, &ship_args("S2", "distributor-a", &["SN4"])).unwrap();
    too_many.shipment_id = "S2".to_string();
    expect_abort(
        call_as(DISTRIBUTOR, receive_counted, &too_many),
        error_code::INVALID_ARGUMENT,
    );
}

#[test]
fn a_recalled_lot_does_not_move_forward_but_may_go_back() {
    at_distributor();
    expect_abort(
        call_as(OTHER_MAKER, recall_lot, &recall_args()),
        error_code::UNAUTHORIZED,
    );
    let mut unknown = recall_args();
    unknown.lot = "L404".to_string();
    expect_abort(call_as(MAKER, recall_lot, &unknown), error_code::NOT_FOUND);
    call_as(MAKER, recall_lot, &recall_args()).unwrap();
    assert_eq!(
        mock::events()[0].topics,
        [
            "lot:09506000134352/L42",
            "recall",
            "recall:09506000134352/L42"
        ]
    );
    expect_abort(
        call_as(REGULATOR, recall_lot, &recall_args()),
        error_code::ALREADY_EXISTS,
    );
    let reach: LotHolders = query_as(query_lot_holders, &lot_args());
    assert_eq!(reach.recall.unwrap().by, "maker");
    assert_eq!(
        reach.holders.into_iter().collect::<Vec<_>>(),
        counts(&[("distributor-a", 3)])
    );

    let alert = expect_refusal(
        call_as(DISTRIBUTOR, ship, &ship_args("S2", "pharmacy-b", &["SN1"])),
        error_code::RECALLED,
        AlertKind::ActionOnRecalled,
    );
    assert_eq!(alert.pack, Some(pack_id("SN1")));
    assert_eq!(mock::events()[0].topics, ["alert", "alert:distributor-a"]);
    assert_eq!(pack("SN1").status, PackStatus::InStock);
    expect_refusal(
        call_as(DISTRIBUTOR, pack_container, &pack_args(CASE, &["SN1"], &[])),
        error_code::RECALLED,
        AlertKind::ActionOnRecalled,
    );
    // The recall's remedy: back to the manufacturer, or destroyed.
    call_as(
        DISTRIBUTOR,
        ship_return,
        &ship_args("R1", "maker", &["SN1"]),
    )
    .unwrap();
    let (_, event) = trace_event(0);
    assert_eq!(
        event.step.cbv_disposition(),
        "urn:epcglobal:cbv:disp:returned"
    );
    call_as(MAKER, receive, &shipment_args("R1")).unwrap();
    assert_eq!(pack("SN1").custodian, "maker");
    let destroy = DecommissionArgs {
        pack: pack_id("SN2"),
        reason: DecommissionReason::Destroyed,
    };
    call_as(DISTRIBUTOR, decommission, &destroy).unwrap();
    assert_eq!(holders(), counts(&[("distributor-a", 1), ("maker", 1)]));

    expect_abort(
        call_as(OTHER_MAKER, release_lot_recall, &lot_args()),
        error_code::UNAUTHORIZED,
    );
    call_as(REGULATOR, release_lot_recall, &lot_args()).unwrap();
    expect_abort(
        call_as(REGULATOR, release_lot_recall, &lot_args()),
        error_code::NOT_FOUND,
    );
    call_as(DISTRIBUTOR, ship, &ship_args("S2", "pharmacy-b", &["SN3"])).unwrap();
    assert_eq!(open_alert_kinds().len(), 2);
}

#[test]
fn a_recall_while_in_transit_is_received_with_an_alert() {
    with_stock();
    call_as(MAKER, ship, &ship_args("S1", "distributor-a", &["SN1"])).unwrap();
    call_as(REGULATOR, recall_lot, &recall_args()).unwrap();
    call_as(DISTRIBUTOR, receive, &shipment_args("S1")).unwrap();
    assert_eq!(last_alert().kind, AlertKind::ActionOnRecalled);
    assert_eq!(pack("SN1").custodian, "distributor-a");
}

#[test]
fn a_quarantined_pack_waits_for_its_release() {
    at_distributor();
    let arguments = QuarantineArgs {
        pack: pack_id("SN1"),
        reason: "damaged seal".to_string(),
    };
    expect_abort(
        call_as(MAKER, quarantine, &arguments),
        error_code::NOT_CUSTODIAN,
    );
    call_as(DISTRIBUTOR, quarantine, &arguments).unwrap();
    expect_abort(
        call_as(DISTRIBUTOR, quarantine, &arguments),
        error_code::ALREADY_EXISTS,
    );
    let alert = expect_refusal(
        call_as(
            DISTRIBUTOR,
            ship,
            &ship_args("S2", "pharmacy-b", &["SN2", "SN1"]),
        ),
        error_code::QUARANTINED,
        AlertKind::ActionOnQuarantined,
    );
    assert_eq!(alert.pack, Some(pack_id("SN1")));
    assert_eq!(pack("SN2").status, PackStatus::InStock);
    call_as(DISTRIBUTOR, release_quarantine, &pack_id("SN1")).unwrap();
    expect_abort(
        call_as(DISTRIBUTOR, release_quarantine, &pack_id("SN1")),
        error_code::NOT_FOUND,
    );

    // A regulator's quarantine only a regulator releases.
    call_as(REGULATOR, quarantine, &arguments).unwrap();
    expect_abort(
        call_as(DISTRIBUTOR, release_quarantine, &pack_id("SN1")),
        error_code::UNAUTHORIZED,
    );
    call_as(REGULATOR, release_quarantine, &pack_id("SN1")).unwrap();
    call_as(
        DISTRIBUTOR,
        ship,
        &ship_args("S2", "pharmacy-b", &["SN2", "SN1"]),
    )
    .unwrap();
}

#[test]
fn only_who_placed_a_quarantine_or_a_regulator_releases_it() {
    at_distributor();
    call_as(
        DISTRIBUTOR,
        ship,
        &ship_args("S2", "pharmacy-b", &["SN1"]),
    )
    .unwrap();
    // The shipper, still the custodian while the pack travels, quarantines it.
    let arguments = QuarantineArgs {
        pack: pack_id("SN1"),
        reason: "temperature excursion on the truck".to_string(),
    };
    call_as(DISTRIBUTOR, quarantine, &arguments).unwrap();
    call_as(PHARMACY_OPERATOR, receive, &shipment_args("S2")).unwrap();
    assert_eq!(pack("SN1").custodian, "pharmacy-b");
    // The new custodian may not lift another organization's quarantine.
    expect_abort(
        call_as(PHARMACY_OPERATOR, release_quarantine, &pack_id("SN1")),
        error_code::UNAUTHORIZED,
    );
    assert!(pack("SN1").quarantine.is_some());
    call_as(DISTRIBUTOR, release_quarantine, &pack_id("SN1")).unwrap();
    assert!(pack("SN1").quarantine.is_none());
    // A regulator releases whoever placed it.
    call_as(PHARMACY_OPERATOR, quarantine, &arguments).unwrap();
    call_as(REGULATOR, release_quarantine, &pack_id("SN1")).unwrap();
    assert!(pack("SN1").quarantine.is_none());
}

#[test]
fn china_product_codes_need_a_regulators_approval_of_the_makers_claim() {
    use crate::queries::query_gtin_by_china_code;
    use rxchain_trace_types::{ChinaCodeArgs, ChinaProductCodeArgs};
    genesis();
    call_as(MAKER, register_product, &product(GTIN)).unwrap();
    call_as(OTHER_MAKER, register_product, &product(OTHER_GTIN)).unwrap();
    let claim = |gtin: &str| ChinaProductCodeArgs {
        gtin: gtin.to_string(),
        product_code: "8123456".to_string(),
    };
    let lookup = || {
        mock::query(
            query_gtin_by_china_code,
            &ChinaCodeArgs {
                product_code: "8123456".to_string(),
            },
        )
    };
    // Another maker claims the code first, for its own product: nothing is linked, and the
    // rightful maker can still claim it.
    call_as(OTHER_MAKER, register_china_product_code, &claim(OTHER_GTIN)).unwrap();
    expect_abort(lookup().map(|_| ()), error_code::NOT_FOUND);
    call_as(MAKER, register_china_product_code, &claim(GTIN)).unwrap();
    // Only a maker's own products, and only a regulator approves.
    expect_abort(
        call_as(MAKER, register_china_product_code, &claim(OTHER_GTIN)),
        error_code::UNAUTHORIZED,
    );
    expect_abort(
        call_as(MAKER, approve_china_product_code, &claim(GTIN)),
        error_code::UNAUTHORIZED,
    );
    // A regulator approves only what a maker claimed.
    let unclaimed = ChinaProductCodeArgs {
        gtin: GTIN.to_string(),
        product_code: "7654321".to_string(),
    };
    expect_abort(
        call_as(REGULATOR, approve_china_product_code, &unclaimed),
        error_code::NOT_FOUND,
    );
    call_as(REGULATOR, approve_china_product_code, &claim(GTIN)).unwrap();
    let found = GtinArgs::try_from_slice(&lookup().unwrap()).unwrap();
    assert_eq!(found.gtin, GTIN);
    // Linked for good: neither another approval nor a new claim.
    expect_abort(
        call_as(REGULATOR, approve_china_product_code, &claim(OTHER_GTIN)),
        error_code::ALREADY_EXISTS,
    );
    expect_abort(
        call_as(OTHER_MAKER, register_china_product_code, &claim(OTHER_GTIN)),
        error_code::ALREADY_EXISTS,
    );
}

#[test]
fn decommissioning_is_final_and_leaves_stock() {
    at_distributor();
    let arguments = DecommissionArgs {
        pack: pack_id("SN1"),
        reason: DecommissionReason::Damaged,
    };
    expect_abort(
        call_as(MAKER, decommission, &arguments),
        error_code::NOT_CUSTODIAN,
    );
    call_as(DISTRIBUTOR, decommission, &arguments).unwrap();
    let (_, event) = trace_event(0);
    assert_eq!(event.step.cbv_disposition_name(), "damaged");
    assert!(matches!(
        pack("SN1").status,
        PackStatus::Decommissioned {
            reason: DecommissionReason::Damaged,
            ..
        }
    ));
    expect_abort(
        call_as(DISTRIBUTOR, decommission, &arguments),
        error_code::WRONG_STATUS,
    );
    expect_abort(
        call_as(DISTRIBUTOR, ship, &ship_args("S2", "pharmacy-b", &["SN1"])),
        error_code::WRONG_STATUS,
    );
    assert_eq!(stock_of("distributor-a"), counts(&[("L42", 2)]));
    assert_eq!(holders(), counts(&[("distributor-a", 2)]));
}

#[test]
fn returns_go_only_to_earlier_custodians() {
    at_distributor();
    call_as(
        DISTRIBUTOR,
        ship,
        &ship_args("S2", "pharmacy-b", &["SN1", "SN2"]),
    )
    .unwrap();
    call_as(PHARMACY_OPERATOR, receive, &shipment_args("S2")).unwrap();
    assert_eq!(pack("SN1").previous_custodians, ["maker", "distributor-a"]);
    expect_abort(
        call_as(
            PHARMACY_OPERATOR,
            ship_return,
            &ship_args("R1", "other-maker", &["SN1"]),
        ),
        error_code::NOT_PREVIOUS_CUSTODIAN,
    );
    call_as(
        PHARMACY_OPERATOR,
        ship_return,
        &ship_args("R1", "distributor-a", &["SN1"]),
    )
    .unwrap();
    let (topics, event) = trace_event(0);
    assert_eq!(topics[2], "shipment:R1");
    assert_eq!(
        event.step,
        TraceStep::Returning {
            shipment_id: "R1".to_string(),
            to: "distributor-a".to_string()
        }
    );
    call_as(DISTRIBUTOR, receive, &shipment_args("R1")).unwrap();
    assert_eq!(pack("SN1").custodian, "distributor-a");
    assert!(query_as::<_, Shipment>(query_shipment, &shipment_args("R1")).returning);
    assert_eq!(stock_of("distributor-a"), counts(&[("L42", 2)]));
    assert_eq!(stock_of("pharmacy-b"), counts(&[("L42", 1)]));
    assert_eq!(
        holders(),
        counts(&[("distributor-a", 2), ("pharmacy-b", 1)])
    );
    call_as(PHARMACIST, dispense, &pack_id("SN2")).unwrap();
    assert_eq!(stock_of("pharmacy-b"), counts(&[]));
    assert_eq!(holders(), counts(&[("distributor-a", 2)]));
}

#[test]
fn alerts_page_and_close() {
    genesis();
    for number in 1..=3 {
        let _ = call_as(
            DISTRIBUTOR,
            receive,
            &shipment_args(&format!("GHOST{number}")),
        );
    }
    let page: OpenAlerts = query_as(
        query_open_alerts,
        &OpenAlertsArgs {
            after: None,
            limit: 2,
        },
    );
    assert_eq!(page.open_count, 3);
    assert_eq!(
        page.alerts.iter().map(|alert| alert.id).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(page.next_after, Some(2));
    expect_abort(
        call_as(DISTRIBUTOR, close_alert_entry, &AlertIdArgs { id: 2 }),
        error_code::UNAUTHORIZED,
    );
    call_as(REGULATOR, close_alert_entry, &AlertIdArgs { id: 2 }).unwrap();
    expect_abort(
        call_as(REGULATOR, close_alert_entry, &AlertIdArgs { id: 2 }),
        error_code::WRONG_STATUS,
    );
    expect_abort(
        call_as(REGULATOR, close_alert_entry, &AlertIdArgs { id: 9 }),
        error_code::NOT_FOUND,
    );
    // The next page continues after the closed alert.
    let page: OpenAlerts = query_as(
        query_open_alerts,
        &OpenAlertsArgs {
            after: Some(2),
            limit: 2,
        },
    );
    assert_eq!(
        page.alerts.iter().map(|alert| alert.id).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(page.next_after, None);
    assert_eq!(page.open_count, 2);
    let closed: Alert = query_as(query_alert, &AlertIdArgs { id: 2 });
    assert_eq!(closed.closed_by.as_deref(), Some("regulator"));
    call_as(REGULATOR, close_alert_entry, &AlertIdArgs { id: 3 }).unwrap();
    call_as(REGULATOR, close_alert_entry, &AlertIdArgs { id: 1 }).unwrap();
    let page: OpenAlerts = query_as(query_open_alerts, &OpenAlertsArgs::default());
    assert!(page.alerts.is_empty());
    assert_eq!(page.open_count, 0);
    let _ = call_as(DISTRIBUTOR, receive, &shipment_args("GHOST4"));
    assert_eq!(open_alert_kinds(), [AlertKind::ReceiveWithoutShipment]);
}

fn close_alert_entry() {
    crate::alerts::close_alert()
}

#[test]
fn a_full_container_fits_one_shipment_and_no_more() {
    genesis();
    call_as(MAKER, register_product, &product(GTIN)).unwrap();
    let serials: Vec<String> = (0..=ITEMS_PER_CONTAINER_MAX)
        .map(|index| format!("N{index}"))
        .collect();
    for serial in &serials {
        call_as(MAKER, commission, &commission_args(serial)).unwrap();
    }
    let all: Vec<&str> = serials.iter().map(String::as_str).collect();
    let (inside, [outside]) = all.split_at(ITEMS_PER_CONTAINER_MAX) else {
        unreachable!()
    };
    call_as(MAKER, pack_container, &pack_args(CASE, inside, &[])).unwrap();
    expect_abort(
        call_as(MAKER, pack_container, &pack_args(CASE, &[outside], &[])),
        error_code::INVALID_ARGUMENT,
    );
    let too_many = ShipArgs {
        packs: vec![pack_id(outside)],
        ..ship_containers("BIG", "distributor-a", &[CASE])
    };
    expect_abort(
        call_as(MAKER, ship, &too_many),
        error_code::INVALID_ARGUMENT,
    );
    call_as(
        MAKER,
        ship,
        &ship_containers("BIG", "distributor-a", &[CASE]),
    )
    .unwrap();
    assert_eq!(mock::events().len(), PACKS_PER_SHIPMENT_MAX);
    call_as(DISTRIBUTOR, receive, &shipment_args("BIG")).unwrap();
    assert_eq!(mock::events().len(), PACKS_PER_SHIPMENT_MAX);
    assert_eq!(
        stock_of("distributor-a"),
        counts(&[("L42", ITEMS_PER_CONTAINER_MAX as u64)])
    );
}
