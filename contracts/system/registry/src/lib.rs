//! The `registry` system contract: who is in the consortium, with which roles, and the
//! governance that changes it.
//!
//! Genesis writes the founding organizations, members, validators and the admin organization
//! count straight into this contract's storage (keys in `rxchain_contract_types::registry::keys`).
//! Afterwards a member with the admin role of an admin organization proposes an action
//! (`m_propose`), the admins of other admin organizations approve it (`m_approve`), and the
//! approval that makes a strict majority of admin organizations executes it. Every contract
//! reads the caller's roles from here (`rxchain_sdk::require_role`).
//!
//! An action is validated when it is proposed and again when it executes, since other proposals
//! may have changed the registry in between; a proposal whose action became invalid stays open.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use rxchain_contract_types::abi::error_code;
use rxchain_contract_types::registry::{
    Member, Organization, OrganizationIdArgs, Proposal, ProposalAction, ProposalIdArgs,
    ProposalStatus, ProposeArgs, PublicKeyArgs, Validator, is_majority, keys,
};
use rxchain_contract_types::roles;
use rxchain_sdk::{
    PANIC, RegistryAccess, abort, block_height, emit, hex, input, require_role_in, set_return,
    storage_get, storage_has, storage_remove, storage_set,
};

/// Longest organization or contract id, as genesis allows.
const IDENTIFIER_CHARACTERS_MAX: usize = 64;
/// Longest organization or member name.
const NAME_CHARACTERS_MAX: usize = 200;
/// Lengths of a GS1 company prefix.
const GS1_COMPANY_PREFIX_DIGITS: core::ops::RangeInclusive<usize> = 4..=12;

// The exported entry points. Each is a thin `extern "C"` wrapper: a panic cannot unwind
// out of an `extern "C"` function, and the unit tests run the Rust functions on the SDK's
// in-memory host, where an abort unwinds.

#[unsafe(no_mangle)]
pub extern "C" fn m_propose() {
    propose()
}

#[unsafe(no_mangle)]
pub extern "C" fn m_approve() {
    approve()
}

#[unsafe(no_mangle)]
pub extern "C" fn q_organization() {
    query_organization()
}

#[unsafe(no_mangle)]
pub extern "C" fn q_member() {
    query_member()
}

#[unsafe(no_mangle)]
pub extern "C" fn q_proposal() {
    query_proposal()
}

/// Proposes a governance action; the proposer's organization approves it at once. Returns the
/// proposal id (u64).
fn propose() {
    let (_, organization) = require_admin();
    let arguments: ProposeArgs = input();
    validate(&arguments.action);
    let id = storage_get::<u64>(keys::NEXT_PROPOSAL_ID).unwrap_or(1);
    let mut proposal = Proposal {
        id,
        proposer_organization: organization.id.clone(),
        action: arguments.action,
        approvals: vec![organization.id],
        status: ProposalStatus::Open,
        created_height: block_height(),
    };
    let executes = is_majority(proposal.approvals.len(), admin_organization_count());

    storage_set(keys::NEXT_PROPOSAL_ID, &(id + 1));
    if executes {
        execute(&proposal.action);
        proposal.status = ProposalStatus::Executed;
    }
    save_and_announce(&proposal);
    set_return(&id);
}

/// Adds the caller's organization's approval; executes the action once a majority approved.
fn approve() {
    let (_, organization) = require_admin();
    let arguments: ProposalIdArgs = input();
    let mut proposal = find_proposal(arguments.proposal_id);
    if proposal.status == ProposalStatus::Executed {
        abort(
            error_code::PROPOSAL_CLOSED,
            &format!("proposal {} was executed already", proposal.id),
        );
    }
    if proposal.approvals.contains(&organization.id) {
        abort(
            error_code::ALREADY_APPROVED,
            &format!(
                "organization {} approved proposal {} already",
                organization.id, proposal.id
            ),
        );
    }
    proposal.approvals.push(organization.id);
    if is_majority(proposal.approvals.len(), admin_organization_count()) {
        validate(&proposal.action);
        execute(&proposal.action);
        proposal.status = ProposalStatus::Executed;
    }
    save_and_announce(&proposal);
}

fn query_organization() {
    let arguments: OrganizationIdArgs = input();
    set_return(&find_organization(&arguments.id));
}

fn query_member() {
    let arguments: PublicKeyArgs = input();
    let member: Member = storage_get(&keys::member(&arguments.public_key)).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("no member has the key {}", hex(&arguments.public_key.0)),
        )
    });
    set_return(&member);
}

fn query_proposal() {
    let arguments: ProposalIdArgs = input();
    set_return(&find_proposal(arguments.proposal_id));
}

/// The caller's member and organization when the member is an admin of an admin organization.
fn require_admin() -> (Member, Organization) {
    let (member, organization) = require_role_in(RegistryAccess::Own, 0, roles::member::ADMIN);
    if !organization.admin {
        abort(
            error_code::UNAUTHORIZED,
            &format!(
                "organization {} is not an admin organization, so it takes no part in governance",
                organization.id
            ),
        );
    }
    (member, organization)
}

fn admin_organization_count() -> u32 {
    storage_get(keys::ADMIN_ORGANIZATION_COUNT).unwrap_or_else(|| {
        abort(
            PANIC,
            "the registry has no admin organization count; genesis must write it",
        )
    })
}

fn find_organization(id: &str) -> Organization {
    storage_get(&keys::organization(id)).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("no organization has the id '{id}'"),
        )
    })
}

fn find_proposal(id: u64) -> Proposal {
    storage_get(&keys::proposal(id))
        .unwrap_or_else(|| abort(error_code::NOT_FOUND, &format!("no proposal {id}")))
}

fn save_and_announce(proposal: &Proposal) {
    storage_set(&keys::proposal(proposal.id), proposal);
    emit(&[format!("proposal:{}", proposal.id)], proposal);
}

/// Aborts unless `action` can execute on the registry as it is now.
fn validate(action: &ProposalAction) {
    match action {
        ProposalAction::AddOrganization(organization) => {
            require_identifier("organization id", &organization.id);
            require_name("organization name", &organization.name);
            require_known_roles(
                "organization",
                organization.roles,
                &roles::organization::NAMES,
            );
            if let Some(prefix) = &organization.gs1_company_prefix
                && (!GS1_COMPANY_PREFIX_DIGITS.contains(&prefix.len())
                    || !prefix.bytes().all(|byte| byte.is_ascii_digit()))
            {
                invalid(format!(
                    "GS1 company prefix '{prefix}' is not 4 to 12 digits"
                ));
            }
            if organization.location.chars().count()
                > rxchain_contract_types::registry::LOCATION_CHARACTERS_MAX
            {
                invalid(format!(
                    "location is longer than {} characters",
                    rxchain_contract_types::registry::LOCATION_CHARACTERS_MAX
                ));
            }
            if storage_has(&keys::organization(&organization.id)) {
                abort(
                    error_code::ALREADY_EXISTS,
                    &format!("organization '{}' exists already", organization.id),
                );
            }
        }
        ProposalAction::AddMember(member) => {
            // A member's name is an optional label, so only its length is limited.
            if member.name.chars().count() > NAME_CHARACTERS_MAX {
                invalid(format!(
                    "member name is longer than {NAME_CHARACTERS_MAX} characters"
                ));
            }
            require_known_roles("member", member.roles, &roles::member::NAMES);
            find_organization(&member.organization);
            if let Some(existing) = storage_get::<Member>(&keys::member(&member.public_key)) {
                abort(
                    error_code::ALREADY_EXISTS,
                    &format!(
                        "key {} is a member of {} already",
                        hex(&member.public_key.0),
                        existing.organization
                    ),
                );
            }
        }
        ProposalAction::RemoveMember { public_key } => {
            if !storage_has(&keys::member(public_key)) {
                abort(
                    error_code::NOT_FOUND,
                    &format!("no member has the key {}", hex(&public_key.0)),
                );
            }
        }
        ProposalAction::AddValidator(validator) => {
            find_organization(&validator.organization);
            if let Some(existing) =
                storage_get::<Validator>(&keys::validator(&validator.public_key))
            {
                abort(
                    error_code::ALREADY_EXISTS,
                    &format!(
                        "key {} is a validator of {} already",
                        hex(&validator.public_key.0),
                        existing.organization
                    ),
                );
            }
        }
        ProposalAction::ApproveContractCode { contract_id, .. } => {
            require_identifier("contract id", contract_id);
        }
    }
}

/// Applies a validated action.
fn execute(action: &ProposalAction) {
    match action {
        ProposalAction::AddOrganization(organization) => {
            storage_set(&keys::organization(&organization.id), organization);
            if organization.admin {
                let count = admin_organization_count() + 1;
                storage_set(keys::ADMIN_ORGANIZATION_COUNT, &count);
            }
        }
        ProposalAction::AddMember(member) => {
            storage_set(&keys::member(&member.public_key), member);
        }
        ProposalAction::RemoveMember { public_key } => storage_remove(&keys::member(public_key)),
        ProposalAction::AddValidator(validator) => {
            storage_set(&keys::validator(&validator.public_key), validator);
        }
        ProposalAction::ApproveContractCode {
            contract_id,
            code_hash,
        } => storage_set(&keys::approved_code(contract_id), code_hash),
    }
}

fn invalid(message: String) -> ! {
    abort(error_code::INVALID_ARGUMENT, &message)
}

/// Identifiers as genesis allows them: lowercase letters, digits and '-'.
fn require_identifier(what: &str, text: &str) {
    let valid = !text.is_empty()
        && text.len() <= IDENTIFIER_CHARACTERS_MAX
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if !valid {
        invalid(format!(
            "{what} '{text}' is not 1 to {IDENTIFIER_CHARACTERS_MAX} lowercase letters, digits and '-'"
        ));
    }
}

fn require_name(what: &str, text: &str) {
    if text.trim().is_empty() || text.chars().count() > NAME_CHARACTERS_MAX {
        invalid(format!(
            "{what} is empty or longer than {NAME_CHARACTERS_MAX} characters"
        ));
    }
}

fn require_known_roles(what: &str, bits: u32, names: &[(&'static str, u32)]) {
    let known = names.iter().fold(0, |all, (_, bit)| all | bit);
    if bits == 0 || bits & !known != 0 {
        invalid(format!(
            "{what} roles {bits:#x} must be a non-empty set of known roles"
        ));
    }
}
