//! The `registry` system contract's data: who is in the consortium and with which roles.
//!
//! Genesis writes the founding organizations, members and validators straight into the
//! registry's storage under the keys below; afterwards every change goes through a governance
//! proposal that a majority of admin organizations approves.

use crate::PublicKeyBytes;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};

/// The registry's contract id.
pub const CONTRACT_ID: &str = "registry";

/// A consortium member organization.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Organization {
    /// Short stable identifier, e.g. `acme-pharma`.
    pub id: String,
    pub name: String,
    /// Bit set of [`crate::roles::organization`].
    pub roles: u32,
    /// Admin organizations vote on governance proposals.
    pub admin: bool,
    /// GS1 company prefix, when the organization has one (manufacturers).
    pub gs1_company_prefix: Option<String>,
    /// Where it operates (site address or city), shown in custody timelines.
    #[cfg_attr(feature = "std", serde(default))]
    pub location: String,
}

/// Longest organization location text.
pub const LOCATION_CHARACTERS_MAX: usize = 200;

/// A key that acts for an organization.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Member {
    pub public_key: PublicKeyBytes,
    pub organization: String,
    /// Bit set of [`crate::roles::member`].
    pub roles: u32,
    /// A label for people reading the registry, e.g. `dispatch desk`.
    pub name: String,
}

/// A validator node's key and its operating organization.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Validator {
    pub public_key: PublicKeyBytes,
    pub organization: String,
}

/// What a governance proposal does once a majority of admin organizations approved it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case"))]
pub enum ProposalAction {
    AddOrganization(Organization),
    AddMember(Member),
    RemoveMember {
        public_key: PublicKeyBytes,
    },
    AddValidator(Validator),
    /// Allows a `deploy` of the contract id with exactly this SM3 code hash (new or upgrade).
    ApproveContractCode {
        contract_id: String,
        code_hash: [u8; 32],
    },
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case"))]
pub enum ProposalStatus {
    Open,
    Executed,
}

#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Proposal {
    pub id: u64,
    pub proposer_organization: String,
    pub action: ProposalAction,
    /// Organization ids that approved, in approval order.
    pub approvals: Vec<String>,
    pub status: ProposalStatus,
    pub created_height: u64,
}

/// Arguments of `m_propose`: the proposer's organization approves it at once.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ProposeArgs {
    pub action: ProposalAction,
}

/// Arguments of `m_approve` and `q_proposal`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ProposalIdArgs {
    pub proposal_id: u64,
}

/// Arguments of `q_organization`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct OrganizationIdArgs {
    pub id: String,
}

/// Arguments of `q_member`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PublicKeyArgs {
    pub public_key: PublicKeyBytes,
}

/// Storage keys of the registry contract.
pub mod keys {
    use super::*;

    pub fn organization(id: &str) -> Vec<u8> {
        format!("org/{id}").into_bytes()
    }

    pub fn member(public_key: &PublicKeyBytes) -> Vec<u8> {
        let mut key = b"member/".to_vec();
        key.extend_from_slice(&public_key.0);
        key
    }

    pub fn validator(public_key: &PublicKeyBytes) -> Vec<u8> {
        let mut key = b"validator/".to_vec();
        key.extend_from_slice(&public_key.0);
        key
    }

    pub fn proposal(id: u64) -> Vec<u8> {
        let mut key = b"proposal/".to_vec();
        key.extend_from_slice(&id.to_be_bytes());
        key
    }

    /// Holds the next proposal id (u64).
    pub const NEXT_PROPOSAL_ID: &[u8] = b"next_proposal_id";
    /// Holds the number of admin organizations (u32); majority means more than half of it.
    pub const ADMIN_ORGANIZATION_COUNT: &[u8] = b"admin_organization_count";

    /// Holds an approved code hash ([u8; 32]) for a contract id; the node's `deploy` checks it.
    pub fn approved_code(contract_id: &str) -> Vec<u8> {
        format!("approved_code/{contract_id}").into_bytes()
    }
}

/// True when `approvals` are a strict majority of `admin_organization_count`.
pub fn is_majority(approvals: usize, admin_organization_count: u32) -> bool {
    approvals as u64 * 2 > admin_organization_count as u64
}
