//! The registry's governance rules, run against the SDK's in-memory host.

use super::*;
use alloc::string::ToString;
use alloc::vec::Vec;
use rxchain_contract_types::PublicKeyBytes;
use rxchain_contract_types::registry::CONTRACT_ID;
use rxchain_sdk::borsh::BorshDeserialize;
use rxchain_sdk::mock::{self, Aborted};

const MAKER_ADMIN: PublicKeyBytes = PublicKeyBytes([1; 32]);
const DISTRIBUTOR_ADMIN: PublicKeyBytes = PublicKeyBytes([2; 32]);
const PHARMACY_ADMIN: PublicKeyBytes = PublicKeyBytes([3; 32]);
const MAKER_OPERATOR: PublicKeyBytes = PublicKeyBytes([4; 32]);
const REGULATOR_ADMIN: PublicKeyBytes = PublicKeyBytes([5; 32]);
const STRANGER: PublicKeyBytes = PublicKeyBytes([9; 32]);

fn organization(id: &str, roles: u32, admin: bool) -> Organization {
    Organization {
        id: id.to_string(),
        name: id.to_uppercase(),
        roles,
        admin,
        gs1_company_prefix: None,
        location: String::new(),
    }
}

fn member(public_key: PublicKeyBytes, organization: &str, roles: u32) -> Member {
    Member {
        public_key,
        organization: organization.to_string(),
        roles,
        name: "desk".to_string(),
    }
}

/// Genesis: three admin organizations (maker, distributor, regulator) and one that is not.
fn genesis() {
    mock::reset();
    mock::set_contract(CONTRACT_ID);
    mock::set_block(7, 1_700_000_000_000);
    let organizations = [
        organization("maker", roles::organization::MANUFACTURER, true),
        organization("distributor", roles::organization::DISTRIBUTOR, true),
        organization("regulator", roles::organization::REGULATOR, true),
        organization("pharmacy", roles::organization::PHARMACY, false),
    ];
    for organization in &organizations {
        mock::put(
            CONTRACT_ID,
            &keys::organization(&organization.id),
            organization,
        );
    }
    let members = [
        member(MAKER_ADMIN, "maker", roles::member::ADMIN),
        member(DISTRIBUTOR_ADMIN, "distributor", roles::member::ADMIN),
        member(REGULATOR_ADMIN, "regulator", roles::member::ADMIN),
        member(PHARMACY_ADMIN, "pharmacy", roles::member::ADMIN),
        member(MAKER_OPERATOR, "maker", roles::member::OPERATOR),
    ];
    for member in &members {
        mock::put(CONTRACT_ID, &keys::member(&member.public_key), member);
    }
    mock::put(CONTRACT_ID, keys::ADMIN_ORGANIZATION_COUNT, &3u32);
}

fn propose_as(caller: PublicKeyBytes, action: ProposalAction) -> Result<u64, Aborted> {
    mock::set_caller(caller);
    let returned = mock::call(propose, &ProposeArgs { action })?;
    Ok(u64::try_from_slice(&returned).unwrap())
}

fn approve_as(caller: PublicKeyBytes, proposal_id: u64) -> Result<Vec<u8>, Aborted> {
    mock::set_caller(caller);
    mock::call(approve, &ProposalIdArgs { proposal_id })
}

fn proposal(id: u64) -> Proposal {
    mock::get(CONTRACT_ID, &keys::proposal(id)).unwrap()
}

/// Asserts the call failed with `code`, wrote nothing first, and returns its message.
fn expect_abort<T: core::fmt::Debug>(result: Result<T, Aborted>, code: &str) -> String {
    let aborted = result.expect_err("the call should fail");
    assert_eq!(aborted.code, code, "message: {}", aborted.message);
    assert!(!mock::wrote_before_abort(), "wrote before aborting");
    aborted.message
}

fn add_member_action(public_key: PublicKeyBytes) -> ProposalAction {
    ProposalAction::AddMember(member(public_key, "pharmacy", roles::member::OPERATOR))
}

#[test]
fn a_majority_of_admin_organizations_executes_a_proposal() {
    genesis();
    let id = propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    assert_eq!(id, 1);
    assert_eq!(proposal(1).status, ProposalStatus::Open);
    assert_eq!(proposal(1).approvals, ["maker"]);
    assert_eq!(proposal(1).created_height, 7);
    let events = mock::events();
    assert_eq!(events[0].topics, ["proposal:1"]);
    assert_eq!(
        Proposal::try_from_slice(&events[0].data).unwrap(),
        proposal(1)
    );
    assert!(mock::get::<Member>(CONTRACT_ID, &keys::member(&STRANGER)).is_none());

    approve_as(DISTRIBUTOR_ADMIN, 1).unwrap();
    assert_eq!(proposal(1).status, ProposalStatus::Executed);
    assert_eq!(proposal(1).approvals, ["maker", "distributor"]);
    let added: Member = mock::get(CONTRACT_ID, &keys::member(&STRANGER)).unwrap();
    assert_eq!(added.organization, "pharmacy");
    assert_eq!(mock::events()[0].topics, ["proposal:1"]);

    let message = expect_abort(approve_as(REGULATOR_ADMIN, 1), error_code::PROPOSAL_CLOSED);
    assert!(message.contains("proposal 1"), "{message}");
    let next = PublicKeyBytes([6; 32]);
    assert_eq!(propose_as(MAKER_ADMIN, add_member_action(next)), Ok(2));
}

#[test]
fn an_organization_approves_once() {
    genesis();
    propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    let message = expect_abort(approve_as(MAKER_ADMIN, 1), error_code::ALREADY_APPROVED);
    assert!(message.contains("maker"), "{message}");
    expect_abort(approve_as(MAKER_ADMIN, 2), error_code::NOT_FOUND);
}

#[test]
fn only_admins_of_admin_organizations_take_part() {
    genesis();
    let message = expect_abort(
        propose_as(PHARMACY_ADMIN, add_member_action(STRANGER)),
        error_code::UNAUTHORIZED,
    );
    assert!(
        message.contains("pharmacy is not an admin organization"),
        "{message}"
    );
    let message = expect_abort(
        propose_as(MAKER_OPERATOR, add_member_action(STRANGER)),
        error_code::UNAUTHORIZED,
    );
    assert!(message.contains("[operator]"), "{message}");
    let message = expect_abort(
        propose_as(STRANGER, add_member_action(STRANGER)),
        error_code::UNAUTHORIZED,
    );
    assert!(
        message.contains(&rxchain_sdk::hex(&STRANGER.0)),
        "{message}"
    );
    propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    expect_abort(approve_as(MAKER_OPERATOR, 1), error_code::UNAUTHORIZED);
}

#[test]
fn a_sole_admin_organization_executes_at_once_and_new_admins_count() {
    genesis();
    mock::put(CONTRACT_ID, keys::ADMIN_ORGANIZATION_COUNT, &1u32);
    let hospital = organization("hospital-1", roles::organization::HOSPITAL, true);
    propose_as(
        MAKER_ADMIN,
        ProposalAction::AddOrganization(hospital.clone()),
    )
    .unwrap();
    assert_eq!(proposal(1).status, ProposalStatus::Executed);
    assert_eq!(
        mock::get::<Organization>(CONTRACT_ID, &keys::organization("hospital-1")),
        Some(hospital)
    );
    assert_eq!(
        mock::get::<u32>(CONTRACT_ID, keys::ADMIN_ORGANIZATION_COUNT),
        Some(2)
    );
    // With two admin organizations one approval is no longer a majority.
    propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    assert_eq!(proposal(2).status, ProposalStatus::Open);
}

#[test]
fn actions_are_validated_when_proposed() {
    genesis();
    let mut unknown_organization = member(STRANGER, "nobody", roles::member::OPERATOR);
    expect_abort(
        propose_as(
            MAKER_ADMIN,
            ProposalAction::AddMember(unknown_organization.clone()),
        ),
        error_code::NOT_FOUND,
    );
    unknown_organization.organization = "maker".to_string();
    unknown_organization.roles = 1 << 20;
    expect_abort(
        propose_as(MAKER_ADMIN, ProposalAction::AddMember(unknown_organization)),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        propose_as(MAKER_ADMIN, add_member_action(MAKER_OPERATOR)),
        error_code::ALREADY_EXISTS,
    );
    expect_abort(
        propose_as(
            MAKER_ADMIN,
            ProposalAction::AddOrganization(organization("maker", 1, false)),
        ),
        error_code::ALREADY_EXISTS,
    );
    expect_abort(
        propose_as(
            MAKER_ADMIN,
            ProposalAction::AddOrganization(organization("Bad Id", 1, false)),
        ),
        error_code::INVALID_ARGUMENT,
    );
    expect_abort(
        propose_as(
            MAKER_ADMIN,
            ProposalAction::RemoveMember {
                public_key: STRANGER,
            },
        ),
        error_code::NOT_FOUND,
    );
    expect_abort(
        propose_as(
            MAKER_ADMIN,
            ProposalAction::AddValidator(Validator {
                public_key: STRANGER,
                organization: "nobody".to_string(),
            }),
        ),
        error_code::NOT_FOUND,
    );
    assert!(mock::get::<u64>(CONTRACT_ID, keys::NEXT_PROPOSAL_ID).is_none());
}

#[test]
fn an_action_that_became_invalid_does_not_execute() {
    genesis();
    propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    approve_as(DISTRIBUTOR_ADMIN, 1).unwrap();
    expect_abort(approve_as(DISTRIBUTOR_ADMIN, 2), error_code::ALREADY_EXISTS);
    assert_eq!(proposal(2).status, ProposalStatus::Open);
    assert_eq!(proposal(2).approvals, ["maker"]);
}

#[test]
fn remove_member_validator_and_contract_code() {
    genesis();
    let validator = Validator {
        public_key: STRANGER,
        organization: "maker".to_string(),
    };
    let actions = [
        ProposalAction::RemoveMember {
            public_key: MAKER_OPERATOR,
        },
        ProposalAction::AddValidator(validator.clone()),
        ProposalAction::ApproveContractCode {
            contract_id: "prescription".to_string(),
            code_hash: [7; 32],
        },
    ];
    for (index, action) in actions.into_iter().enumerate() {
        let id = propose_as(MAKER_ADMIN, action).unwrap();
        assert_eq!(id, index as u64 + 1);
        approve_as(REGULATOR_ADMIN, id).unwrap();
        assert_eq!(proposal(id).status, ProposalStatus::Executed);
    }
    assert!(mock::get::<Member>(CONTRACT_ID, &keys::member(&MAKER_OPERATOR)).is_none());
    assert_eq!(
        mock::get(CONTRACT_ID, &keys::validator(&STRANGER)),
        Some(validator)
    );
    assert_eq!(
        mock::get(CONTRACT_ID, &keys::approved_code("prescription")),
        Some([7u8; 32])
    );
}

#[test]
fn queries_return_records_or_not_found() {
    genesis();
    let returned = mock::query(
        query_organization,
        &OrganizationIdArgs {
            id: "maker".to_string(),
        },
    )
    .unwrap();
    assert_eq!(Organization::try_from_slice(&returned).unwrap().id, "maker");
    let returned = mock::query(
        query_member,
        &PublicKeyArgs {
            public_key: MAKER_ADMIN,
        },
    )
    .unwrap();
    assert_eq!(
        Member::try_from_slice(&returned).unwrap().organization,
        "maker"
    );
    expect_abort(
        mock::query(
            query_member,
            &PublicKeyArgs {
                public_key: STRANGER,
            },
        ),
        error_code::NOT_FOUND,
    );
    expect_abort(
        mock::query(query_proposal, &ProposalIdArgs { proposal_id: 1 }),
        error_code::NOT_FOUND,
    );
    propose_as(MAKER_ADMIN, add_member_action(STRANGER)).unwrap();
    let returned = mock::query(query_proposal, &ProposalIdArgs { proposal_id: 1 }).unwrap();
    assert_eq!(Proposal::try_from_slice(&returned).unwrap(), proposal(1));
}

#[test]
fn undecodable_arguments_are_invalid() {
    genesis();
    mock::set_caller(MAKER_ADMIN);
    expect_abort(mock::call(propose, &[9u8; 3]), error_code::INVALID_ARGUMENT);
}
