//! Verdicts of the consumer verification and their proof bundles, on a real chain: every verdict
//! follows from proven ledger entries and survives offline verification; tampering does not.

use rxchain_tests::{TestChain, assert_success};
use rxchain_trace::proof::{BundleError, ProofBundle, Subject, verify_bundle};
use rxchain_trace_types::{
    CommissionArgs, DecommissionArgs, DecommissionReason, LotArgs, PackId, QuarantineArgs,
    RecallArgs,
};

const MANUFACTURER: &str = "huaxin-pharma";
const REGULATOR: &str = "drug-regulator";
const GTIN: &str = "09506000134352";

fn setup() -> TestChain {
    let chain = TestChain::start();
    let product = rxchain_tests::sample_product(GTIN);
    assert_success(&chain.call(MANUFACTURER, "trace", "register_product", &product));
    for (serial, lot, expiry) in [
        ("A1", "L1", "281231"),
        ("A2", "L1", "281231"),
        ("A3", "L2", "281231"),
        ("OLD", "L3", "200101"),
    ] {
        let args = CommissionArgs {
            gtin: GTIN.into(),
            serial: serial.into(),
            lot: lot.into(),
            expiry: expiry.into(),
        };
        assert_success(&chain.call(MANUFACTURER, "trace", "commission", &args));
    }
    chain
}

fn pack(serial: &str) -> PackId {
    PackId {
        gtin: GTIN.into(),
        serial: serial.into(),
    }
}

fn subject(serial: &str, lot: Option<&str>) -> Subject {
    Subject {
        gtin: GTIN.into(),
        serial: serial.into(),
        scanned_lot: lot.map(str::to_string),
        scanned_expiry: None,
    }
}

/// Proves the pack, verifies the bundle like `rxchain verify` does, returns the verdict code.
fn verdict(chain: &TestChain, subject: Subject) -> (String, ProofBundle) {
    let trace = rxchain_trace::TraceModule::default().state(rxchain_node::app::AppContext::local(
        &chain.node,
        rxchain_trace::MODULE_NAME,
    ));
    let bundle =
        rxchain_trace::ledger::prove_pack(&trace, subject, rxchain_node::runtime::now_ms())
            .unwrap();
    let verified = verify_bundle(
        &bundle,
        &chain.genesis.chain_id,
        &chain.genesis.hash(),
        chain.node.validators(),
    )
    .unwrap();
    (verified.statement.verdict.code.as_str().to_string(), bundle)
}

#[test]
fn each_verdict_follows_from_proven_entries() {
    let chain = setup();
    assert_eq!(verdict(&chain, subject("A1", None)).0, "genuine");
    assert_eq!(
        verdict(&chain, subject("A1", Some("L9"))).0,
        "label_mismatch"
    );
    assert_eq!(verdict(&chain, subject("NOPE", None)).0, "unknown_code");
    assert_eq!(verdict(&chain, subject("OLD", None)).0, "expired");

    let recall = RecallArgs {
        gtin: GTIN.into(),
        lot: "L1".into(),
        reason: "dissolution out of specification".into(),
    };
    assert_success(&chain.call(REGULATOR, "trace", "recall_lot", &recall));
    assert_eq!(verdict(&chain, subject("A1", None)).0, "recalled");
    assert_eq!(verdict(&chain, subject("A2", None)).0, "recalled");
    assert_eq!(
        verdict(&chain, subject("A3", None)).0,
        "genuine",
        "another lot is not recalled"
    );
    assert_success(&chain.call(
        REGULATOR,
        "trace",
        "release_lot_recall",
        &LotArgs {
            gtin: GTIN.into(),
            lot: "L1".into(),
        },
    ));
    assert_eq!(
        verdict(&chain, subject("A1", None)).0,
        "genuine",
        "a released recall no longer counts"
    );

    let quarantine = QuarantineArgs {
        pack: pack("A2"),
        reason: "seal looks resealed".into(),
    };
    assert_success(&chain.call(MANUFACTURER, "trace", "quarantine", &quarantine));
    assert_eq!(verdict(&chain, subject("A2", None)).0, "quarantined");
    assert_success(&chain.call(MANUFACTURER, "trace", "release_quarantine", &pack("A2")));
    assert_eq!(verdict(&chain, subject("A2", None)).0, "genuine");

    let decommission = DecommissionArgs {
        pack: pack("A3"),
        reason: DecommissionReason::Damaged,
    };
    assert_success(&chain.call(MANUFACTURER, "trace", "decommission", &decommission));
    assert_eq!(verdict(&chain, subject("A3", None)).0, "decommissioned");
}

#[test]
fn a_pack_missing_on_arrival_does_not_verify_as_genuine_until_it_is_found() {
    use rxchain_trace_types::{ReceiveCountedArgs, ShipArgs, ShipmentIdArgs};
    let chain = setup();
    let shipment = ShipArgs {
        shipment_id: "S1".into(),
        to: "kangda-distribution".into(),
        packs: vec![pack("A1"), pack("A2")],
        containers: Vec::new(),
    };
    assert_success(&chain.call(MANUFACTURER, "trace", "ship", &shipment));
    let counted = ReceiveCountedArgs {
        shipment_id: "S1".into(),
        received: vec![pack("A1")],
    };
    assert_success(&chain.call("kangda-distribution", "trace", "receive_counted", &counted));
    let (code, bundle) = verdict(&chain, subject("A2", None));
    assert_eq!(code, "missing_in_transit");
    let statement = bundle.statement().unwrap();
    assert!(
        statement.verdict.summary.contains("S1"),
        "{}",
        statement.verdict.summary
    );
    assert_eq!(verdict(&chain, subject("A1", None)).0, "genuine");
    // It turns up: a second receive of the shipment takes it in.
    let receive = ShipmentIdArgs {
        shipment_id: "S1".into(),
    };
    assert_success(&chain.call("kangda-distribution", "trace", "receive", &receive));
    assert_eq!(verdict(&chain, subject("A2", None)).0, "genuine");
}

#[test]
fn tampered_bundles_fail() {
    let chain = setup();
    let recall = RecallArgs {
        gtin: GTIN.into(),
        lot: "L1".into(),
        reason: "contamination".into(),
    };
    assert_success(&chain.call(REGULATOR, "trace", "recall_lot", &recall));
    let (code, bundle) = verdict(&chain, subject("A1", None));
    assert_eq!(code, "recalled");
    let check = |bundle: &ProofBundle| {
        verify_bundle(
            bundle,
            &chain.genesis.chain_id,
            &chain.genesis.hash(),
            chain.node.validators(),
        )
    };

    // Dropping the recall entry (hiding the recall) breaks the attestation.
    let mut hidden = bundle.clone();
    hidden.body.entries.pop();
    assert!(check(&hidden).is_err());

    // Re-signing is impossible without a validator key; changing the statement alone fails too.
    let mut edited = bundle.clone();
    edited.body.statement["verdict"]["code"] = "genuine".into();
    assert!(matches!(check(&edited), Err(BundleError::Attestation(_))));

    // A changed receipt byte breaks its Merkle proof.
    let mut receipt = bundle.clone();
    let text = &mut receipt.body.entries[1].receipt;
    let flipped = if text.ends_with('0') { '1' } else { '0' };
    text.pop();
    text.push(flipped);
    assert!(check(&receipt).is_err());

    // Even re-signed by a real validator, a bundle whose entries do not prove what they claim
    // fails: a receipt of another transaction, a changed header, a broken Merkle path.
    let validator = rxchain_genesis::keystore::read_key(&chain.consortium.validator_key())
        .unwrap()
        .signing_key;
    let mut swapped = bundle.body.clone();
    swapped.entries[1].receipt = swapped.entries[0].receipt.clone();
    assert!(matches!(
        check(&rxchain_trace::proof::attest(swapped, &validator)),
        Err(BundleError::Entry { index: 1, .. })
    ));
    let mut other_header = bundle.body.clone();
    other_header.entries[1].header = other_header.entries[0].header.clone();
    assert!(matches!(
        check(&rxchain_trace::proof::attest(other_header, &validator)),
        Err(BundleError::Entry { index: 1, .. })
    ));
    let mut broken_path = bundle.body.clone();
    let last = broken_path.entries.len() - 1;
    broken_path.entries[last]
        .transaction_proof
        .push(rxchain_node::hash::ProofStep {
            sibling: [0; 32],
            sibling_on_left: true,
        });
    assert!(matches!(
        check(&rxchain_trace::proof::attest(broken_path, &validator)),
        Err(BundleError::Entry { .. })
    ));
    // A re-signed statement that does not follow from the entries fails too.
    let mut claimed = bundle.body.clone();
    claimed.statement["verdict"]["code"] = "genuine".into();
    assert!(matches!(
        check(&rxchain_trace::proof::attest(claimed, &validator)),
        Err(BundleError::StatementMismatch)
    ));
    // Duplicated entries are refused.
    let mut repeated = bundle.body.clone();
    let first = repeated.entries[0].clone();
    repeated.entries.insert(1, first);
    assert!(check(&rxchain_trace::proof::attest(repeated, &validator)).is_err());

    // A bundle for another chain is refused.
    assert!(matches!(
        verify_bundle(
            &bundle,
            "another-chain",
            &chain.genesis.hash(),
            chain.node.validators()
        ),
        Err(BundleError::WrongChain { .. })
    ));
}

#[test]
fn china_trace_codes_find_their_pack() {
    use rxchain_trace_types::{ChinaCodeArgs, ChinaProductCodeArgs, GtinArgs};
    let chain = setup();
    let code = "81234560000000011234";
    let link = ChinaProductCodeArgs {
        gtin: GTIN.into(),
        product_code: code[..7].into(),
    };
    assert_success(&chain.call(MANUFACTURER, "trace", "register_china_product_code", &link));
    // The claim links nothing until a regulator approves it.
    let lookup = || {
        chain.node.query(
            "trace",
            "gtin_by_china_code",
            borsh::to_vec(&ChinaCodeArgs {
                product_code: code[..7].into(),
            })
            .unwrap(),
        )
    };
    assert!(lookup().is_err());
    assert_success(&chain.call(REGULATOR, "trace", "approve_china_product_code", &link));
    // Only a registered product of the caller can get a code.
    let again = ChinaProductCodeArgs {
        gtin: "09506000134369".into(),
        product_code: code[..7].into(),
    };
    assert_eq!(
        rxchain_tests::failure_code(&chain.call(
            MANUFACTURER,
            "trace",
            "register_china_product_code",
            &again
        )),
        "not_found"
    );
    let args = CommissionArgs {
        gtin: GTIN.into(),
        serial: code.into(),
        lot: "L7".into(),
        expiry: "281231".into(),
    };
    assert_success(&chain.call(MANUFACTURER, "trace", "commission", &args));
    let bytes = lookup().unwrap();
    let found: GtinArgs = borsh::from_slice(&bytes).unwrap();
    assert_eq!(found.gtin, GTIN);
    assert_eq!(verdict(&chain, subject(code, None)).0, "genuine");
    // A distributor cannot claim a product code.
    let stolen = ChinaProductCodeArgs {
        gtin: GTIN.into(),
        product_code: "7654321".into(),
    };
    assert_eq!(
        rxchain_tests::failure_code(&chain.call(
            "kangda-distribution",
            "trace",
            "register_china_product_code",
            &stolen
        )),
        "unauthorized"
    );
}
