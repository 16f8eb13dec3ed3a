//! The system contracts and the host, end to end through real blocks: custody and role rules
//! of `trace`, governance and deploys in `registry`, and runaway contracts (fuel, memory).

use rxchain_contract_types::registry::{ProposalAction, ProposalIdArgs, ProposeArgs};
use rxchain_node::executor::DeployArgs;
use rxchain_node::hash::sm3;
use rxchain_tests::{TestChain, assert_success, failure_code};
use rxchain_trace_types::{
    CommissionArgs, Pack, PackId, PackStatus, Product, ShipArgs, ShipmentIdArgs,
};

const MANUFACTURER: &str = "huaxin-pharma";
const DISTRIBUTOR: &str = "kangda-distribution";
const PHARMACY: &str = "anxin-pharmacy";
const HOSPITAL: &str = "renmin-hospital";
const REGULATOR: &str = "drug-regulator";
const GTIN: &str = "09506000134352";

fn product() -> Product {
    rxchain_tests::sample_product(GTIN)
}

fn pack(serial: &str) -> PackId {
    PackId {
        gtin: GTIN.into(),
        serial: serial.into(),
    }
}

fn commission(chain: &TestChain, serial: &str) {
    let args = CommissionArgs {
        gtin: GTIN.into(),
        serial: serial.into(),
        lot: "L1".into(),
        expiry: "281231".into(),
    };
    assert_success(&chain.call(MANUFACTURER, "trace", "commission", &args));
}

fn ship(
    chain: &TestChain,
    from: &str,
    to: &str,
    shipment: &str,
    serials: &[&str],
) -> rxchain_node::receipt::Receipt {
    let args = ShipArgs {
        shipment_id: shipment.into(),
        to: to.into(),
        packs: serials.iter().map(|s| pack(s)).collect(),
        containers: Vec::new(),
    };
    chain.call(from, "trace", "ship", &args)
}

fn receive(chain: &TestChain, by: &str, shipment: &str) -> rxchain_node::receipt::Receipt {
    chain.call(
        by,
        "trace",
        "receive",
        &ShipmentIdArgs {
            shipment_id: shipment.into(),
        },
    )
}

fn pack_record(chain: &TestChain, serial: &str) -> Pack {
    let bytes = chain
        .node
        .query("trace", "pack", borsh::to_vec(&pack(serial)).unwrap())
        .unwrap();
    borsh::from_slice(&bytes).unwrap()
}

#[test]
fn custody_and_role_rules_hold() {
    let chain = TestChain::start();
    assert_success(&chain.call(MANUFACTURER, "trace", "register_product", &product()));

    // A distributor cannot register products nor commission packs.
    assert_eq!(
        failure_code(&chain.call(
            DISTRIBUTOR,
            "trace",
            "register_product",
            &Product {
                gtin: "09506000134369".into(),
                ..product()
            }
        )),
        "unauthorized"
    );
    let args = CommissionArgs {
        gtin: GTIN.into(),
        serial: "X1".into(),
        lot: "L1".into(),
        expiry: "281231".into(),
    };
    assert_eq!(
        failure_code(&chain.call(DISTRIBUTOR, "trace", "commission", &args)),
        "unauthorized"
    );

    commission(&chain, "SN1");
    commission(&chain, "SN2");
    // The same serial twice is refused.
    let again = CommissionArgs {
        gtin: GTIN.into(),
        serial: "SN1".into(),
        lot: "L1".into(),
        expiry: "281231".into(),
    };
    assert_eq!(
        failure_code(&chain.call(MANUFACTURER, "trace", "commission", &again)),
        "already_exists"
    );

    // Only the custodian ships.
    assert_eq!(
        failure_code(&ship(&chain, DISTRIBUTOR, PHARMACY, "S0", &["SN1"])),
        "not_custodian"
    );
    assert_success(&ship(
        &chain,
        MANUFACTURER,
        DISTRIBUTOR,
        "S1",
        &["SN1", "SN2"],
    ));
    // A pack in transit cannot be shipped again.
    assert_eq!(
        failure_code(&ship(&chain, MANUFACTURER, PHARMACY, "S1b", &["SN1"])),
        "wrong_status"
    );
    // Only the consignee receives.
    assert_eq!(
        failure_code(&receive(&chain, PHARMACY, "S1")),
        "not_consignee"
    );
    assert_success(&receive(&chain, DISTRIBUTOR, "S1"));
    assert_eq!(
        failure_code(&receive(&chain, DISTRIBUTOR, "S1")),
        "wrong_status"
    );
    assert_eq!(pack_record(&chain, "SN1").custodian, DISTRIBUTOR);

    assert_success(&ship(&chain, DISTRIBUTOR, PHARMACY, "S2", &["SN1", "SN2"]));
    assert_success(&receive(&chain, PHARMACY, "S2"));
    // A distributor is not a dispenser; a hospital that does not hold the pack cannot dispense it.
    assert_eq!(
        failure_code(&chain.call(HOSPITAL, "trace", "dispense", &pack("SN1"))),
        "not_custodian"
    );
    assert_success(&chain.call(PHARMACY, "trace", "dispense", &pack("SN1")));
    assert!(matches!(
        pack_record(&chain, "SN1").status,
        PackStatus::Dispensed { .. }
    ));
    // A second dispense is rejected.
    assert_eq!(
        failure_code(&chain.call(PHARMACY, "trace", "dispense", &pack("SN1"))),
        "already_dispensed"
    );
    // A dispensed pack cannot be shipped on.
    assert_eq!(
        failure_code(&ship(&chain, PHARMACY, HOSPITAL, "S3", &["SN1"])),
        "already_dispensed"
    );

    // The history of SN1 is one index lookup and tells the whole story in order.
    let history = chain
        .node
        .events(&rxchain_trace_types::topics::pack(&pack("SN1")), 100)
        .unwrap();
    let steps: Vec<String> = history
        .iter()
        .map(|located| {
            let Some(rxchain_trace_types::ContractEvent::Pack(event)) =
                rxchain_trace_types::ContractEvent::decode(&located.event.data)
            else {
                panic!("not a pack event");
            };
            format!("{:?}", event.step)
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('{')
                .to_string()
        })
        .collect();
    assert_eq!(
        steps,
        [
            "Commissioning",
            "Shipping",
            "Receiving",
            "Shipping",
            "Receiving",
            "Dispensing"
        ]
    );
}

/// Proposes an action and has enough admin organizations approve it (3 of 5).
fn govern(chain: &TestChain, action: ProposalAction) {
    let receipt = chain.call(MANUFACTURER, "registry", "propose", &ProposeArgs { action });
    assert_success(&receipt);
    let proposal_id: u64 = borsh::from_slice(&receipt.return_data).unwrap();
    assert_success(&chain.call(
        DISTRIBUTOR,
        "registry",
        "approve",
        &ProposalIdArgs { proposal_id },
    ));
    // The same organization cannot approve twice.
    assert_eq!(
        failure_code(&chain.call(
            DISTRIBUTOR,
            "registry",
            "approve",
            &ProposalIdArgs { proposal_id }
        )),
        "already_approved"
    );
    assert_success(&chain.call(
        REGULATOR,
        "registry",
        "approve",
        &ProposalIdArgs { proposal_id },
    ));
    // Executed: a fourth approval is too late.
    assert_eq!(
        failure_code(&chain.call(
            PHARMACY,
            "registry",
            "approve",
            &ProposalIdArgs { proposal_id }
        )),
        "proposal_closed"
    );
}

const RUNAWAY: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "m_spin") (loop $forever (br $forever)))
  (func (export "m_hoard")
    (loop $again (br_if $again (i32.ne (memory.grow (i32.const 64)) (i32.const -1))))
    unreachable)
  (func (export "m_nothing"))
)
"#;

#[test]
fn deploy_needs_a_majority_and_runaway_contracts_fail_alone() {
    let chain = TestChain::start();
    let code = wat::parse_str(RUNAWAY).unwrap();
    let deploy = DeployArgs {
        contract_id: "runaway".into(),
        code: code.clone(),
    };

    // Without approval the deploy fails and the contract does not exist.
    assert_eq!(
        failure_code(&chain.call(MANUFACTURER, "system", "deploy", &deploy)),
        "not_approved"
    );

    govern(
        &chain,
        ProposalAction::ApproveContractCode {
            contract_id: "runaway".into(),
            code_hash: sm3(&code),
        },
    );
    assert_success(&chain.call(MANUFACTURER, "system", "deploy", &deploy));
    // The approval was for one deploy.
    assert_eq!(
        failure_code(&chain.call(MANUFACTURER, "system", "deploy", &deploy)),
        "not_approved"
    );

    // An endless loop and a good call in the same stretch of blocks: the loop runs out of fuel,
    // the good call succeeds, and blocks keep coming.
    let manufacturer = chain.key(MANUFACTURER);
    let pharmacy = chain.key(PHARMACY);
    let spin = chain.transaction(
        &manufacturer,
        chain.next_nonce(&manufacturer),
        "runaway",
        "spin",
        vec![],
    );
    let good = chain.transaction(
        &pharmacy,
        chain.next_nonce(&pharmacy),
        "runaway",
        "nothing",
        vec![],
    );
    let spin_id = chain.submit(&spin).unwrap();
    let good_id = chain.submit(&good).unwrap();
    let spin_receipt = chain.wait(&spin_id);
    assert_eq!(failure_code(&spin_receipt), "out_of_fuel");
    assert!(spin_receipt.fuel_used > 0);
    assert_success(&chain.wait(&good_id));
    let height = chain.node.head().height;

    let hoard = chain.call(MANUFACTURER, "runaway", "hoard", &());
    assert_eq!(failure_code(&hoard), "memory_limit");
    assert!(
        chain.node.head().height > height,
        "blocks keep coming after runaway calls"
    );
    assert_success(&chain.call(PHARMACY, "runaway", "nothing", &()));
}

#[test]
fn governance_adds_a_member_who_can_then_act() {
    let chain = TestChain::start();
    let newcomer = rxchain_genesis::keystore::generate();
    let member = rxchain_contract_types::registry::Member {
        public_key: rxchain_contract_types::PublicKeyBytes(newcomer.verifying_key().to_bytes()),
        organization: PHARMACY.into(),
        roles: rxchain_contract_types::roles::member::PHARMACIST,
        name: "night shift pharmacist".into(),
    };
    // Before: not a member, refused at admission.
    let early = chain.transaction(
        &newcomer,
        0,
        "trace",
        "dispense",
        borsh::to_vec(&pack("SN9")).unwrap(),
    );
    assert_eq!(chain.submit(&early).unwrap_err().code(), "unauthorized");
    govern(&chain, ProposalAction::AddMember(member));
    // After: admitted, and the contract judges the call (the pack does not exist).
    let id = chain.submit(&early).unwrap();
    assert_eq!(failure_code(&chain.wait(&id)), "not_found");
    // A non-admin cannot propose.
    let action = ProposalAction::RemoveMember {
        public_key: rxchain_contract_types::PublicKeyBytes(newcomer.verifying_key().to_bytes()),
    };
    let key = newcomer;
    let proposal = chain.transaction(
        &key,
        1,
        "registry",
        "propose",
        borsh::to_vec(&ProposeArgs { action }).unwrap(),
    );
    let id = chain.submit(&proposal).unwrap();
    assert_eq!(failure_code(&chain.wait(&id)), "unauthorized");
}

#[test]
fn a_commission_batch_is_all_or_nothing() {
    use rxchain_trace_types::CommissionBatchArgs;
    let chain = TestChain::start();
    assert_success(&chain.call(MANUFACTURER, "trace", "register_product", &product()));
    let args = |serials: &[&str]| CommissionBatchArgs {
        packs: serials
            .iter()
            .map(|serial| CommissionArgs {
                gtin: GTIN.into(),
                serial: (*serial).into(),
                lot: "L1".into(),
                expiry: "281231".into(),
            })
            .collect(),
    };
    // A serial twice in one batch: refused, and the other packs were not written either.
    assert_eq!(
        failure_code(&chain.call(
            MANUFACTURER,
            "trace",
            "commission_batch",
            &args(&["B1", "B2", "B1"])
        )),
        "already_exists"
    );
    assert!(
        chain
            .node
            .query("trace", "pack", borsh::to_vec(&pack("B2")).unwrap())
            .is_err()
    );
    assert_success(&chain.call(
        MANUFACTURER,
        "trace",
        "commission_batch",
        &args(&["B1", "B2", "B3"]),
    ));
    assert_eq!(pack_record(&chain, "B3").custodian, MANUFACTURER);
    assert_eq!(
        failure_code(&chain.call(MANUFACTURER, "trace", "commission_batch", &args(&[]))),
        "invalid_argument"
    );
    assert_eq!(
        failure_code(&chain.call(DISTRIBUTOR, "trace", "commission_batch", &args(&["B9"]))),
        "unauthorized"
    );
}
