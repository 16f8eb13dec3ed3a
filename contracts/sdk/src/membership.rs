//! Who the caller is: its member record and organization in the registry, and role checks.

use crate::types::abi::error_code;
use crate::types::registry::{self, Member, Organization};
use crate::types::roles;
use alloc::format;
use alloc::string::String;

/// Where the registry's records are read from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RegistryAccess {
    /// Through `storage_read_contract`: every contract but the registry.
    Foreign,
    /// From the calling contract's own storage: the registry itself, which sees its own
    /// uncommitted writes this way.
    Own,
}

impl RegistryAccess {
    fn get<T: borsh::BorshDeserialize>(self, key: &[u8]) -> Option<T> {
        match self {
            RegistryAccess::Foreign => crate::foreign_get(registry::CONTRACT_ID, key),
            RegistryAccess::Own => crate::storage_get(key),
        }
    }
}

/// The caller's member record and organization, or `None` when the caller's key is not a member.
pub fn caller_member() -> Option<(Member, Organization)> {
    caller_member_in(RegistryAccess::Foreign)
}

/// [`caller_member`], reading the registry as `access` says.
pub fn caller_member_in(access: RegistryAccess) -> Option<(Member, Organization)> {
    let member: Member = access.get(&registry::keys::member(&crate::caller()))?;
    let organization = access.get(&registry::keys::organization(&member.organization))?;
    Some((member, organization))
}

/// The caller's member record and organization, when the organization has any of
/// `organization_roles_any` and the member any of `member_roles_any` (0 asks for no role). A
/// member with the admin role also counts as an operator. Otherwise aborts with `unauthorized`.
pub fn require_role(organization_roles_any: u32, member_roles_any: u32) -> (Member, Organization) {
    require_role_in(
        RegistryAccess::Foreign,
        organization_roles_any,
        member_roles_any,
    )
}

/// [`require_role`], reading the registry as `access` says.
pub fn require_role_in(
    access: RegistryAccess,
    organization_roles_any: u32,
    member_roles_any: u32,
) -> (Member, Organization) {
    let Some((member, organization)) = caller_member_in(access) else {
        crate::abort(
            error_code::UNAUTHORIZED,
            &format!(
                "key {} is not a member of any organization in the registry",
                crate::hex(&crate::caller().0)
            ),
        );
    };
    if organization_roles_any != 0 && organization.roles & organization_roles_any == 0 {
        crate::abort(
            error_code::UNAUTHORIZED,
            &format!(
                "organization {} has the roles [{}], and this needs one of [{}]",
                organization.id,
                organization_role_names(organization.roles),
                organization_role_names(organization_roles_any),
            ),
        );
    }
    if member_roles_any != 0 && effective_member_roles(member.roles) & member_roles_any == 0 {
        crate::abort(
            error_code::UNAUTHORIZED,
            &format!(
                "member '{}' of {} has the roles [{}], and this needs one of [{}]",
                member.name,
                organization.id,
                member_role_names(member.roles),
                member_role_names(member_roles_any),
            ),
        );
    }
    (member, organization)
}

/// An admin may do whatever an operator may.
fn effective_member_roles(roles: u32) -> u32 {
    if roles & roles::member::ADMIN != 0 {
        roles | roles::member::OPERATOR
    } else {
        roles
    }
}

/// Comma-separated names of organization roles, e.g. `pharmacy, hospital`.
pub fn organization_role_names(bits: u32) -> String {
    roles::names_of(&roles::organization::NAMES, bits).join(", ")
}

/// Comma-separated names of member roles, e.g. `operator, pharmacist`.
pub fn member_role_names(bits: u32) -> String {
    roles::names_of(&roles::member::NAMES, bits).join(", ")
}
