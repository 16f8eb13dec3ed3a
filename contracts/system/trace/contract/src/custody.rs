//! Custody: shipping (forward and returns), receiving (all as shipped, or counted), dispensing
//! and decommissioning. Only the custodian ships, only the consignee receives, a pack is
//! dispensed once, and a pack inside a container moves only with it.

use crate::alerts::{self, Suspicion, raise_and_refuse};
use crate::checks::{self, find_container, find_pack, invalid, pack_name};
use crate::containers::Contents;
use crate::counters::Tally;
use crate::holds::HoldCheck;
use crate::{Actor, announce, announce_container};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rxchain_contract_types::abi::error_code;
use rxchain_contract_types::registry::{self, Organization};
use rxchain_contract_types::roles::{member, organization};
use rxchain_sdk::{
    abort, block_height, block_time_ms, foreign_get, input, storage_get, storage_set,
};
use rxchain_trace_types::{
    AlertKind, Container, ContainerStatus, DecommissionArgs, PACKS_PER_SHIPMENT_MAX,
    PREVIOUS_CUSTODIANS_MAX, Pack, PackId, PackStatus, ReceiveCountedArgs,
    SHIPMENT_ID_CHARACTERS_MAX, ShipArgs, Shipment, ShipmentIdArgs, ShipmentStatus, TraceStep,
    UNEXPECTED_PACKS_PER_RECEIVE_MAX, is_valid_gs1_text, keys, topics,
};

pub fn ship() {
    let actor = Actor::operator();
    let arguments: ShipArgs = input();
    ship_items(arguments, false, &actor);
}

/// Ships packs back to an organization that held each of them before (a pharmacy's return to
/// its distributor, a recalled lot on its way to the manufacturer).
pub fn ship_return() {
    let actor = Actor::operator();
    let arguments: ShipArgs = input();
    ship_items(arguments, true, &actor);
}

/// Ships the listed packs and containers, with everything inside the containers.
///
/// Long because shipping and returning share every check (custody of each item and of what is
/// inside containers, holds, the consignee's role, the size limit), all made before the first
/// write, and then write the shipment, the items and their events in one pass.
fn ship_items(arguments: ShipArgs, returning: bool, actor: &Actor) {
    let listed = arguments.packs.len() + arguments.containers.len();
    if listed == 0 || listed > PACKS_PER_SHIPMENT_MAX {
        invalid(format!(
            "a shipment has 1 to {PACKS_PER_SHIPMENT_MAX} packs and containers, this one {listed}"
        ));
    }
    let mut distinct = BTreeSet::new();
    if let Some(duplicate) = arguments.packs.iter().find(|id| !distinct.insert(*id)) {
        invalid(format!(
            "pack {} appears twice in the shipment",
            pack_name(duplicate)
        ));
    }
    let mut distinct_containers = BTreeSet::new();
    if let Some(duplicate) = arguments
        .containers
        .iter()
        .find(|sscc| !distinct_containers.insert(sscc.as_str()))
    {
        invalid(format!(
            "container {duplicate} appears twice in the shipment"
        ));
    }
    for sscc in &arguments.containers {
        checks::sscc(sscc);
    }
    checks::shipment_id(&arguments.shipment_id);
    if rxchain_sdk::storage_has(&keys::shipment(&arguments.shipment_id)) {
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
    if arguments.to == actor.id() {
        invalid(format!(
            "shipment {} goes from {} to itself",
            arguments.shipment_id, arguments.to
        ));
    }
    let mut contents = Contents::default();
    for id in &arguments.packs {
        let pack = find_pack(id);
        checks::in_stock_with(&pack, actor.id());
        checks::not_contained(&pack);
        contents.packs.push(pack);
    }
    for sscc in &arguments.containers {
        let container = find_container(sscc);
        checks::loose_container_with(&container, actor.id());
        let what = format!("shipment {}", arguments.shipment_id);
        contents.walk_within(container, PACKS_PER_SHIPMENT_MAX, &what);
    }
    for pack in &contents.packs {
        // Packing keeps what is inside a container in its custodian's stock; this guards the
        // records against any other path.
        checks::in_stock_with(pack, actor.id());
        if returning && !pack.previous_custodians.contains(&arguments.to) {
            abort(
                error_code::NOT_PREVIOUS_CUSTODIAN,
                &format!(
                    "pack {} was never held by {}; a return goes back to an earlier custodian",
                    pack_name(&pack.id),
                    arguments.to
                ),
            );
        }
    }
    let mut hold_check = HoldCheck::default();
    let doing = if returning { "returned" } else { "shipped" };
    hold_check.refuse_if_held(&contents.packs, returning, doing, actor);

    let shipment = Shipment {
        id: arguments.shipment_id,
        from: String::from(actor.id()),
        to: arguments.to,
        packs: arguments.packs,
        containers: arguments.containers,
        status: ShipmentStatus::Open,
        shipped_height: block_height(),
        returning,
        missing_count: 0,
    };
    storage_set(&keys::shipment(&shipment.id), &shipment);
    let shipment_topic = [topics::shipment(&shipment.id)];
    let step = if returning {
        TraceStep::Returning {
            shipment_id: shipment.id.clone(),
            to: shipment.to.clone(),
        }
    } else {
        TraceStep::Shipping {
            shipment_id: shipment.id.clone(),
            to: shipment.to.clone(),
        }
    };
    let mut tally = Tally::default();
    for mut pack in contents.packs {
        pack.status = PackStatus::InTransit {
            shipment_id: shipment.id.clone(),
        };
        storage_set(&keys::pack(&pack.id), &pack);
        tally.stock(&shipment.from, &pack, -1);
        announce(&pack, &shipment_topic, step.clone(), actor);
    }
    for mut container in contents.containers {
        container.status = ContainerStatus::InTransit {
            shipment_id: shipment.id.clone(),
        };
        storage_set(&keys::container(&container.sscc), &container);
        announce_container(&container.sscc, &shipment_topic, step.clone(), actor);
    }
    tally.write();
}

/// Receives a shipment addressed to the caller's organization, everything as shipped.
pub fn receive() {
    let actor = Actor::operator();
    let arguments: ShipmentIdArgs = input();
    receive_shipment(&arguments.shipment_id, None, &actor);
}

/// Receives a shipment with what the consignee counted: shipped packs not counted are missing
/// (an alert each; they stay in transit and a later receive may take them in), counted packs
/// that were not shipped are unexpected (an alert each).
pub fn receive_counted() {
    let actor = Actor::operator();
    let arguments: ReceiveCountedArgs = input();
    if arguments.received.len() > PACKS_PER_SHIPMENT_MAX {
        invalid(format!(
            "a count lists at most {PACKS_PER_SHIPMENT_MAX} packs, this one {}",
            arguments.received.len()
        ));
    }
    let mut distinct = BTreeSet::new();
    if let Some(duplicate) = arguments.received.iter().find(|id| !distinct.insert(*id)) {
        invalid(format!("pack {} is counted twice", pack_name(duplicate)));
    }
    for id in &arguments.received {
        checks::pack_id(id);
    }
    receive_shipment(&arguments.shipment_id, Some(distinct), &actor);
}

/// Receives a shipment, all as shipped or as counted (`counted`: the packs that arrived).
///
/// Long because one receive settles a whole shipment: what was still on its way, what arrived
/// and what is missing or unexpected (each an alert), held packs (accepted, with an alert), the
/// custody of every pack and container, and the shipment's status, in the one call.
fn receive_shipment(shipment_id: &str, counted: Option<BTreeSet<&PackId>>, actor: &Actor) {
    let Some(mut shipment) = storage_get::<Shipment>(&keys::shipment(shipment_id)) else {
        if !is_valid_gs1_text(shipment_id, SHIPMENT_ID_CHARACTERS_MAX) {
            // No shipment can have such an id, and it would not fit an alert.
            abort(error_code::NOT_FOUND, &format!("no shipment {shipment_id}"));
        }
        let suspicion = Suspicion::new(
            AlertKind::ReceiveWithoutShipment,
            format!(
                "{} tried to receive shipment {shipment_id}, which was never shipped",
                actor.id()
            ),
        )
        .in_shipment(shipment_id);
        raise_and_refuse(suspicion, actor, error_code::NOT_FOUND);
    };
    if shipment.status == ShipmentStatus::Received {
        abort(
            error_code::WRONG_STATUS,
            &format!("shipment {} was received already", shipment.id),
        );
    }
    if shipment.to != actor.id() {
        abort(
            error_code::NOT_CONSIGNEE,
            &format!(
                "shipment {} is addressed to {}, not {}",
                shipment.id,
                shipment.to,
                actor.id()
            ),
        );
    }
    // What is still on its way: everything shipped, or after a short receive the missing packs.
    let mut contents = Contents::default();
    if shipment.status == ShipmentStatus::Open {
        contents.packs = shipment.packs.iter().map(find_pack).collect();
        for sscc in &shipment.containers {
            contents.walk(find_container(sscc));
        }
    } else {
        let missing: Vec<PackId> =
            storage_get(&keys::shipment_missing(&shipment.id)).unwrap_or_default();
        contents.packs = missing.iter().map(find_pack).collect();
    }
    for pack in &contents.packs {
        checks::in_transit_in(pack, &shipment);
    }
    for container in &contents.containers {
        let in_this_shipment = matches!(
            &container.status,
            ContainerStatus::InTransit { shipment_id } if *shipment_id == shipment.id
        );
        if !in_this_shipment || container.custodian != shipment.from {
            abort(
                error_code::WRONG_STATUS,
                &format!(
                    "container {} is not in transit in shipment {}",
                    container.sscc, shipment.id
                ),
            );
        }
    }
    let mut suspicions: Vec<Suspicion> = Vec::new();
    let (arrived, missing): (Vec<Pack>, Vec<Pack>) = match &counted {
        None => (contents.packs, Vec::new()),
        Some(counted) => {
            let expected: BTreeSet<&PackId> = contents.packs.iter().map(|pack| &pack.id).collect();
            let unexpected: Vec<&PackId> = counted
                .iter()
                .copied()
                .filter(|id| !expected.contains(id))
                .collect();
            if unexpected.len() > UNEXPECTED_PACKS_PER_RECEIVE_MAX {
                invalid(format!(
                    "the count of shipment {} lists {} packs that were not shipped; at most {UNEXPECTED_PACKS_PER_RECEIVE_MAX}",
                    shipment.id,
                    unexpected.len()
                ));
            }
            for id in unexpected {
                let known: Option<Pack> = storage_get(&keys::pack(id));
                let detail = format!(
                    "{} counted pack {} in shipment {}, which did not ship it{}",
                    actor.id(),
                    pack_name(id),
                    shipment.id,
                    if known.is_some() {
                        ""
                    } else {
                        "; the pack was never commissioned"
                    }
                );
                let lot = known.map(|pack| pack.lot).unwrap_or_default();
                let mut suspicion = Suspicion::new(AlertKind::Unexpected, detail)
                    .about_pack(id, &lot)
                    .in_shipment(&shipment.id);
                if lot.is_empty() {
                    suspicion.lot = None;
                }
                suspicions.push(suspicion);
            }
            contents
                .packs
                .into_iter()
                .partition(|pack| counted.contains(&pack.id))
        }
    };
    // Receiving recalled or quarantined packs is not refused: they are at the consignee's door
    // whatever the ledger says, and a refused receive would leave them in transit with nobody
    // able to move them. The consignee gets custody (and may return them); the regulator gets
    // an alert.
    let mut hold_check = HoldCheck::default();
    if let Some((mut suspicion, _)) =
        hold_check.first_held(&arrived, shipment.returning, "received")
    {
        suspicion = suspicion.in_shipment(&shipment.id);
        suspicions.push(suspicion);
    }

    let shipment_topic = [topics::shipment(&shipment.id)];
    let step = TraceStep::Receiving {
        shipment_id: shipment.id.clone(),
        from: shipment.from.clone(),
    };
    let mut containers: BTreeMap<String, Container> = contents
        .containers
        .into_iter()
        .map(|container| (container.sscc.clone(), container))
        .collect();
    let mut tally = Tally::default();
    // Whatever is missing after this receive, listed anew.
    let mut still_missing: Vec<PackId> = Vec::with_capacity(missing.len());
    for mut pack in missing {
        // A pack missing from its case is no longer in it: the case arrives without it.
        let parent = pack.parent.take();
        if let Some(parent) = &parent {
            if let Some(container) = containers.get_mut(parent) {
                container.packs.retain(|id| *id != pack.id);
            }
            storage_set(&keys::pack(&pack.id), &pack);
        }
        let detail = format!(
            "pack {} shipped by {} in shipment {} was not found by {}",
            pack_name(&pack.id),
            shipment.from,
            shipment.id,
            shipment.to
        );
        suspicions.push(
            Suspicion::new(AlertKind::Missing, detail)
                .about_pack(&pack.id, &pack.lot)
                .in_shipment(&shipment.id)
                .in_container(parent.as_deref()),
        );
        // On the pack's own history too, so that its verification says it went missing (a
        // later count that still misses it adds only another alert).
        if shipment.status == ShipmentStatus::Open {
            let step = TraceStep::MissingInTransit {
                shipment_id: shipment.id.clone(),
                from: shipment.from.clone(),
            };
            announce(&pack, &shipment_topic, step, actor);
        }
        still_missing.push(pack.id);
    }
    for mut pack in arrived {
        pack.custodian = shipment.to.clone();
        pack.status = PackStatus::InStock;
        remember(&mut pack, &shipment.from);
        storage_set(&keys::pack(&pack.id), &pack);
        tally.holders(&shipment.from, &pack, -1);
        tally.holders(&shipment.to, &pack, 1);
        tally.stock(&shipment.to, &pack, 1);
        announce(&pack, &shipment_topic, step.clone(), actor);
    }
    for (_, mut container) in containers {
        container.custodian = shipment.to.clone();
        container.status = ContainerStatus::InStock;
        storage_set(&keys::container(&container.sscc), &container);
        announce_container(&container.sscc, &shipment_topic, step.clone(), actor);
    }
    shipment.missing_count = still_missing.len() as u32;
    shipment.status = if still_missing.is_empty() {
        rxchain_sdk::storage_remove(&keys::shipment_missing(&shipment.id));
        ShipmentStatus::Received
    } else {
        storage_set(&keys::shipment_missing(&shipment.id), &still_missing);
        ShipmentStatus::ReceivedShort
    };
    storage_set(&keys::shipment(&shipment.id), &shipment);
    tally.write();
    alerts::raise(suspicions, actor);
}

/// Adds `organization` as the pack's latest earlier custodian, forgetting the oldest beyond the
/// limit.
fn remember(pack: &mut Pack, organization: &str) {
    pack.previous_custodians
        .retain(|known| known != organization);
    pack.previous_custodians.push(String::from(organization));
    if pack.previous_custodians.len() > PREVIOUS_CUSTODIANS_MAX {
        pack.previous_custodians.remove(0);
    }
}

/// Dispenses a pack that the caller's pharmacy or hospital holds in stock; a pack is dispensed
/// once.
pub fn dispense() {
    let actor = Actor::require(
        organization::PHARMACY | organization::HOSPITAL,
        member::OPERATOR | member::PHARMACIST,
    );
    let id: PackId = input();
    let mut pack = find_pack(&id);
    // A second dispense is the clearest sign of a copied pack code, so it is recorded as such
    // whoever tries it.
    if let PackStatus::Dispensed { height, .. } = pack.status {
        let detail = format!(
            "pack {} was dispensed by {} at height {height}; {} tried to dispense it again",
            pack_name(&pack.id),
            pack.custodian,
            actor.id()
        );
        let suspicion =
            Suspicion::new(AlertKind::SecondDispense, detail).about_pack(&pack.id, &pack.lot);
        raise_and_refuse(suspicion, &actor, error_code::ALREADY_DISPENSED);
    }
    checks::in_stock_with(&pack, actor.id());
    checks::not_contained(&pack);
    HoldCheck::default().refuse_if_held(core::slice::from_ref(&pack), false, "dispensed", &actor);

    pack.status = PackStatus::Dispensed {
        height: block_height(),
        time_ms: block_time_ms(),
    };
    storage_set(&keys::pack(&pack.id), &pack);
    leave_supply_chain(&pack);
    announce(&pack, &[], TraceStep::Dispensing, &actor);
}

/// Takes a pack that the caller holds in stock out of the supply chain for good. Recalled and
/// quarantined packs may be decommissioned: destroying them is what a recall asks for.
pub fn decommission() {
    let actor = Actor::operator();
    let arguments: DecommissionArgs = input();
    let mut pack = find_pack(&arguments.pack);
    checks::in_stock_with(&pack, actor.id());
    checks::not_contained(&pack);

    pack.status = PackStatus::Decommissioned {
        reason: arguments.reason,
        height: block_height(),
        time_ms: block_time_ms(),
    };
    storage_set(&keys::pack(&pack.id), &pack);
    leave_supply_chain(&pack);
    let step = TraceStep::Decommissioning {
        reason: arguments.reason,
    };
    announce(&pack, &[], step, &actor);
}

/// A dispensed or decommissioned pack leaves its custodian's stock and the lot's holders.
fn leave_supply_chain(pack: &Pack) {
    let mut tally = Tally::default();
    tally.holders(&pack.custodian, pack, -1);
    tally.stock(&pack.custodian, pack, -1);
    tally.write();
}
