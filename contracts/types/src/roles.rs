//! Organization roles and member roles as bit sets.
//!
//! An organization has one or more business roles (what it is in the supply chain); each of its
//! member keys has one or more member roles (what that person or device may do). Contracts check
//! both: e.g. commissioning needs a manufacturer organization and an operator (or admin) key.

use alloc::vec::Vec;

/// Business roles of an organization.
pub mod organization {
    pub const MANUFACTURER: u32 = 1 << 0;
    pub const DISTRIBUTOR: u32 = 1 << 1;
    pub const LOGISTICS: u32 = 1 << 2;
    pub const PHARMACY: u32 = 1 << 3;
    pub const HOSPITAL: u32 = 1 << 4;
    pub const REGULATOR: u32 = 1 << 5;
    pub const PLATFORM: u32 = 1 << 6;

    /// Names as written in genesis files and JSON, in bit order.
    pub const NAMES: [(&str, u32); 7] = [
        ("manufacturer", MANUFACTURER),
        ("distributor", DISTRIBUTOR),
        ("logistics", LOGISTICS),
        ("pharmacy", PHARMACY),
        ("hospital", HOSPITAL),
        ("regulator", REGULATOR),
        ("platform", PLATFORM),
    ];
}

/// Roles of a member key within its organization.
pub mod member {
    /// May propose and approve governance actions for its organization.
    pub const ADMIN: u32 = 1 << 0;
    /// Runs day-to-day supply-chain operations (commission, ship, receive, dispense).
    pub const OPERATOR: u32 = 1 << 1;
    pub const DOCTOR: u32 = 1 << 2;
    pub const PHARMACIST: u32 = 1 << 3;
    /// A sensor or gateway that records readings.
    pub const DEVICE: u32 = 1 << 4;
    /// Read-only auditing.
    pub const AUDITOR: u32 = 1 << 5;

    pub const NAMES: [(&str, u32); 6] = [
        ("admin", ADMIN),
        ("operator", OPERATOR),
        ("doctor", DOCTOR),
        ("pharmacist", PHARMACIST),
        ("device", DEVICE),
        ("auditor", AUDITOR),
    ];
}

/// Turns role names into a bit set; the unknown name is the error.
pub fn parse_names<'a>(
    table: &[(&'static str, u32)],
    names: impl IntoIterator<Item = &'a str>,
) -> Result<u32, &'a str> {
    let mut bits = 0;
    for name in names {
        match table.iter().find(|(known, _)| *known == name) {
            Some((_, bit)) => bits |= bit,
            None => return Err(name),
        }
    }
    Ok(bits)
}

/// The names of the bits set, in table order.
pub fn names_of(table: &[(&'static str, u32)], bits: u32) -> Vec<&'static str> {
    table
        .iter()
        .filter(|(_, bit)| bits & bit != 0)
        .map(|(name, _)| *name)
        .collect()
}
