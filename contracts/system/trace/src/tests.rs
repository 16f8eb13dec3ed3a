//! The trace contract's custody rules, run against the SDK's in-memory host.

use super::*;
use alloc::string::ToString;
use rxchain_contract_types::PublicKeyBytes;
use rxchain_contract_types::trace::CONTRACT_ID;
use rxchain_sdk::borsh::{BorshDeserialize, BorshSerialize};
use rxchain_sdk::mock::{self, Aborted};

const MAKER: PublicKeyBytes = PublicKeyBytes([1; 32]);
const MAKER_AUDITOR: PublicKeyBytes = PublicKeyBytes([2; 32]);
const DISTRIBUTOR: PublicKeyBytes = PublicKeyBytes([3; 32]);
const PHARMACIST: PublicKeyBytes = PublicKeyBytes([4; 32]);
const OTHER_MAKER: PublicKeyBytes = PublicKeyBytes([5; 32]);
const PHARMACY_OPERATOR: PublicKeyBytes = PublicKeyBytes([6; 32]);

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
    ];
    for (id, roles) in organizations {
        let record = Organization {
            id: id.to_string(),
            name: id.to_uppercase(),
            roles,
            admin: false,
            gs1_company_prefix: None,
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
    assert!(!mock::wrote_before_abort(), "wrote before aborting");
    aborted.message
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
    let data = TraceEvent::try_from_slice(&event.data).unwrap();
    (event.topics.clone(), data)
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
    expect_abort(
        call_as(DISTRIBUTOR, receive, &shipment_args("S1")),
        error_code::NOT_FOUND,
    );
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
    let message = expect_abort(
        call_as(PHARMACIST, dispense, &pack_id("SN1")),
        error_code::ALREADY_DISPENSED,
    );
    assert!(
        message.contains("dispensed by pharmacy-b at height 10"),
        "{message}"
    );
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
