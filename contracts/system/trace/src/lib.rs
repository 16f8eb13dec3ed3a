//! The `trace` system contract: product master data, serialized packs and their custody.
//!
//! A manufacturer registers a product by GTIN (`m_register_product`) and commissions serialized
//! packs of it (`m_commission`); the custodian of packs ships them to another organization
//! (`m_ship`), which receives the shipment (`m_receive`); a pharmacy or hospital dispenses a pack
//! once (`m_dispense`). The custody rules live here: only the custodian ships, only the
//! consignee receives, a pack in transit or dispensed does not move. Every step emits a
//! `TraceEvent` under the pack's and the lot's topics, so a pack's or a lot's history is one index
//! lookup. Roles come from the registry (`rxchain_sdk::require_role`).
//!
//! Every method checks everything before it writes anything, and a failed check aborts with a
//! stable code from `abi::error_code` and a message naming the pack, shipment or organization.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod checks;
#[cfg(test)]
mod tests;

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use checks::{find_pack, find_shipment, invalid, pack_name};
use rxchain_contract_types::abi::{EVENTS_PER_CALL_MAX, error_code};
use rxchain_contract_types::registry::{self, Member, Organization};
use rxchain_contract_types::roles::{member, organization};
use rxchain_contract_types::trace::{
    self, CommissionArgs, GtinArgs, Pack, PackId, PackStatus, Product, ProductRegisteredEvent,
    ShipArgs, Shipment, ShipmentIdArgs, ShipmentStatus, TraceEvent, TraceStep, keys, topics,
};
use rxchain_sdk::{
    abort, block_height, block_time_ms, emit, foreign_get, input, require_role, set_return,
    storage_get, storage_has, storage_set,
};

/// Most packs in one shipment: each pack's shipping event counts against the host's limit of
/// events per call, which is lower than the trace types' own shipment limit.
const PACKS_PER_SHIPMENT_MAX: usize = if trace::PACKS_PER_SHIPMENT_MAX < EVENTS_PER_CALL_MAX {
    trace::PACKS_PER_SHIPMENT_MAX
} else {
    EVENTS_PER_CALL_MAX
};

// The exported entry points. Each is a thin `extern "C"` wrapper: a panic cannot unwind
// out of an `extern "C"` function, and the unit tests run the Rust functions on the SDK's
// in-memory host, where an abort unwinds.

#[unsafe(no_mangle)]
pub extern "C" fn m_register_product() {
    register_product()
}

#[unsafe(no_mangle)]
pub extern "C" fn m_commission() {
    commission()
}

#[unsafe(no_mangle)]
pub extern "C" fn m_ship() {
    ship()
}

#[unsafe(no_mangle)]
pub extern "C" fn m_receive() {
    receive()
}

#[unsafe(no_mangle)]
pub extern "C" fn m_dispense() {
    dispense()
}

#[unsafe(no_mangle)]
pub extern "C" fn q_product() {
    query_product()
}

#[unsafe(no_mangle)]
pub extern "C" fn q_pack() {
    query_pack()
}

#[unsafe(no_mangle)]
pub extern "C" fn q_shipment() {
    query_shipment()
}

/// Registers a product's master data; the caller's organization becomes its manufacturer.
fn register_product() {
    let (_, caller_organization) = require_role(organization::MANUFACTURER, member::OPERATOR);
    let mut product: Product = input();
    checks::product(&product);
    if storage_has(&keys::product(&product.gtin)) {
        abort(
            error_code::ALREADY_EXISTS,
            &format!("product {} is registered already", product.gtin),
        );
    }

    product.manufacturer = caller_organization.id;
    storage_set(&keys::product(&product.gtin), &product);
    emit(
        &[topics::product(&product.gtin)],
        &ProductRegisteredEvent {
            gtin: product.gtin.clone(),
            manufacturer: product.manufacturer.clone(),
        },
    );
}

/// Commissions one serialized pack of a product that the caller's organization manufactures.
fn commission() {
    let (caller_member, caller_organization) =
        require_role(organization::MANUFACTURER, member::OPERATOR);
    let arguments: CommissionArgs = input();
    checks::commission(&arguments);
    let product: Product = storage_get(&keys::product(&arguments.gtin)).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("product {} is not registered", arguments.gtin),
        )
    });
    if product.manufacturer != caller_organization.id {
        abort(
            error_code::UNAUTHORIZED,
            &format!(
                "product {} is manufactured by {}, not {}",
                product.gtin, product.manufacturer, caller_organization.id
            ),
        );
    }
    let id = PackId {
        gtin: arguments.gtin,
        serial: arguments.serial,
    };
    if storage_has(&keys::pack(&id)) {
        abort(
            error_code::ALREADY_EXISTS,
            &format!("pack {} is commissioned already", pack_name(&id)),
        );
    }

    let pack = Pack {
        id,
        lot: arguments.lot,
        expiry: arguments.expiry,
        custodian: caller_organization.id,
        status: PackStatus::InStock,
        commissioned_height: block_height(),
    };
    storage_set(&keys::pack(&pack.id), &pack);
    let step = TraceStep::Commissioning {
        lot: pack.lot.clone(),
        expiry: pack.expiry.clone(),
    };
    announce(&pack, None, step, &caller_member, &pack.custodian);
}

/// Ships packs that the caller's organization holds in stock to another organization.
fn ship() {
    let (caller_member, caller_organization) = require_role(0, member::OPERATOR);
    let arguments: ShipArgs = input();
    if arguments.packs.is_empty() || arguments.packs.len() > PACKS_PER_SHIPMENT_MAX {
        invalid(format!(
            "a shipment has 1 to {PACKS_PER_SHIPMENT_MAX} packs, this one {}",
            arguments.packs.len()
        ));
    }
    let mut distinct = BTreeSet::new();
    if let Some(duplicate) = arguments.packs.iter().find(|id| !distinct.insert(*id)) {
        invalid(format!(
            "pack {} appears twice in the shipment",
            pack_name(duplicate)
        ));
    }
    checks::shipment_id(&arguments.shipment_id);
    if storage_has(&keys::shipment(&arguments.shipment_id)) {
        abort(
            error_code::ALREADY_EXISTS,
            &format!("shipment {} exists already", arguments.shipment_id),
        );
    }
    if foreign_get::<Organization>(
        registry::CONTRACT_ID,
        &registry::keys::organization(&arguments.to),
    )
    .is_none()
    {
        abort(
            error_code::NOT_FOUND,
            &format!("no organization '{}' to ship to", arguments.to),
        );
    }
    if arguments.to == caller_organization.id {
        invalid(format!(
            "shipment {} goes from {} to itself",
            arguments.shipment_id, arguments.to
        ));
    }
    let mut packs: Vec<Pack> = Vec::with_capacity(arguments.packs.len());
    for id in &arguments.packs {
        let pack = find_pack(id);
        checks::in_stock_with(&pack, &caller_organization.id);
        packs.push(pack);
    }

    let shipment = Shipment {
        id: arguments.shipment_id,
        from: caller_organization.id,
        to: arguments.to,
        packs: arguments.packs,
        status: ShipmentStatus::Open,
        shipped_height: block_height(),
    };
    storage_set(&keys::shipment(&shipment.id), &shipment);
    for mut pack in packs {
        pack.status = PackStatus::InTransit {
            shipment_id: shipment.id.clone(),
        };
        storage_set(&keys::pack(&pack.id), &pack);
        let step = TraceStep::Shipping {
            shipment_id: shipment.id.clone(),
            to: shipment.to.clone(),
        };
        announce(
            &pack,
            Some(&shipment.id),
            step,
            &caller_member,
            &shipment.from,
        );
    }
}

/// Receives an open shipment addressed to the caller's organization, which becomes the packs'
/// custodian.
fn receive() {
    let (caller_member, caller_organization) = require_role(0, member::OPERATOR);
    let arguments: ShipmentIdArgs = input();
    let mut shipment = find_shipment(&arguments.shipment_id);
    if shipment.status != ShipmentStatus::Open {
        abort(
            error_code::WRONG_STATUS,
            &format!("shipment {} was received already", shipment.id),
        );
    }
    if shipment.to != caller_organization.id {
        abort(
            error_code::NOT_CONSIGNEE,
            &format!(
                "shipment {} is addressed to {}, not {}",
                shipment.id, shipment.to, caller_organization.id
            ),
        );
    }
    let packs: Vec<Pack> = shipment.packs.iter().map(find_pack).collect();
    for pack in &packs {
        checks::in_transit_in(pack, &shipment);
    }

    shipment.status = ShipmentStatus::Received;
    storage_set(&keys::shipment(&shipment.id), &shipment);
    for mut pack in packs {
        pack.custodian = shipment.to.clone();
        pack.status = PackStatus::InStock;
        storage_set(&keys::pack(&pack.id), &pack);
        let step = TraceStep::Receiving {
            shipment_id: shipment.id.clone(),
            from: shipment.from.clone(),
        };
        announce(
            &pack,
            Some(&shipment.id),
            step,
            &caller_member,
            &shipment.to,
        );
    }
}

/// Dispenses a pack that the caller's pharmacy or hospital holds in stock; a pack is dispensed
/// once.
fn dispense() {
    let (caller_member, caller_organization) = require_role(
        organization::PHARMACY | organization::HOSPITAL,
        member::OPERATOR | member::PHARMACIST,
    );
    let id: PackId = input();
    let mut pack = find_pack(&id);
    // A second dispense is the clearest sign of a copied pack code, so it is reported as such
    // whoever tries it.
    checks::not_dispensed(&pack);
    checks::in_stock_with(&pack, &caller_organization.id);

    pack.status = PackStatus::Dispensed {
        height: block_height(),
        time_ms: block_time_ms(),
    };
    storage_set(&keys::pack(&pack.id), &pack);
    announce(
        &pack,
        None,
        TraceStep::Dispensing,
        &caller_member,
        &caller_organization.id,
    );
}

fn query_product() {
    let arguments: GtinArgs = input();
    let product: Product = storage_get(&keys::product(&arguments.gtin)).unwrap_or_else(|| {
        abort(
            error_code::NOT_FOUND,
            &format!("product {} is not registered", arguments.gtin),
        )
    });
    set_return(&product);
}

fn query_pack() {
    let id: PackId = input();
    set_return(&find_pack(&id));
}

fn query_shipment() {
    let arguments: ShipmentIdArgs = input();
    set_return(&find_shipment(&arguments.shipment_id));
}

/// Emits the trace event of one step of one pack, under the pack's and lot's topics and, for
/// shipping and receiving, the shipment's.
fn announce(
    pack: &Pack,
    shipment_id: Option<&str>,
    step: TraceStep,
    actor: &Member,
    organization_id: &str,
) {
    let mut event_topics: Vec<String> = vec![
        topics::pack(&pack.id),
        topics::lot(&pack.id.gtin, &pack.lot),
    ];
    event_topics.extend(shipment_id.map(topics::shipment));
    let event = TraceEvent {
        pack: pack.id.clone(),
        step,
        organization: String::from(organization_id),
        actor: actor.public_key,
        time_ms: block_time_ms(),
    };
    emit(&event_topics, &event);
}
