//! Cases and pallets (containers named by SSCC): packing packs and containers into one,
//! unpacking it, and walking everything inside one. A pack or container inside another moves
//! only with it, so shipping a pallet ships every case and pack on it.

use crate::checks::{self, find_container, find_pack, invalid, pack_name};
use crate::holds::HoldCheck;
use crate::{Actor, announce, announce_container};
use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use rxchain_contract_types::abi::error_code;
use rxchain_sdk::{PANIC, abort, block_height, block_time_ms, input, storage_set};
use rxchain_trace_types::{
    CONTAINER_LEVELS_MAX, Container, ContainerStatus, ITEMS_PER_CONTAINER_MAX, Pack, PackArgs,
    SsccArgs, TraceStep, keys, topics,
};

/// Everything inside some containers, the containers themselves included.
#[derive(Default)]
pub struct Contents {
    /// Outer containers before inner ones.
    pub containers: Vec<Container>,
    pub packs: Vec<Pack>,
    /// Levels of the deepest container walked (a container with no containers inside is 1).
    pub levels: usize,
}

impl Contents {
    /// Adds `container` and everything inside it.
    pub fn walk(&mut self, container: Container) {
        let items_before = self.items();
        let levels = self.walk_at(container, 1, items_before);
        self.levels = self.levels.max(levels);
    }

    /// Adds `container` and everything inside it, aborting with `invalid_argument` once more
    /// than `items_max` items have been walked in all: callers walking several containers stop
    /// early rather than read a great many records before finding out.
    pub fn walk_within(&mut self, container: Container, items_max: usize, what: &str) {
        self.walk(container);
        if self.items() > items_max {
            invalid(format!(
                "{what} would hold {} or more packs and containers (those inside containers count); at most {items_max}",
                self.items()
            ));
        }
    }

    /// Packs and containers walked, the walked containers themselves included.
    pub fn items(&self) -> usize {
        self.containers.len() + self.packs.len()
    }

    fn walk_at(&mut self, container: Container, level: usize, items_before: usize) -> usize {
        // Packing keeps every tree within the limits; a larger one is a broken record.
        let walked = self.items() - items_before;
        if level > CONTAINER_LEVELS_MAX || walked > ITEMS_PER_CONTAINER_MAX + 1 {
            abort(
                PANIC,
                &format!(
                    "container {} lies beyond the containers' limits",
                    container.sscc
                ),
            );
        }
        for id in &container.packs {
            self.packs.push(find_pack(id));
        }
        let children = container.containers.clone();
        self.containers.push(container);
        let mut deepest = level;
        for sscc in &children {
            let levels = self.walk_at(find_container(sscc), level + 1, items_before);
            deepest = deepest.max(levels);
        }
        deepest
    }
}

/// The SSCCs of the containers around `parent`, `parent` first.
pub fn enclosing(parent: Option<&str>) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut next = parent.map(String::from);
    while let Some(sscc) = next {
        if chain.len() >= CONTAINER_LEVELS_MAX {
            abort(PANIC, &format!("container {sscc} is nested too deep"));
        }
        next = find_container(&sscc).parent;
        chain.push(sscc);
    }
    chain
}

/// Packs packs and loose containers that the caller holds into a new container, or into one it
/// holds packed already.
///
/// Long because every check comes before the first write (a contract call either writes all
/// or refuses), in the order a person reads them: the list itself, what is around the target,
/// each item's custody, nesting depth, the outermost container's size, holds; then the writes.
pub fn pack_container() {
    let actor = Actor::operator();
    let arguments: PackArgs = input();
    checks::sscc(&arguments.sscc);
    let listed = arguments.packs.len() + arguments.containers.len();
    if listed == 0 || listed > ITEMS_PER_CONTAINER_MAX {
        invalid(format!(
            "packing puts 1 to {ITEMS_PER_CONTAINER_MAX} packs and containers into {}, not {listed}",
            arguments.sscc
        ));
    }
    let mut distinct_packs = BTreeSet::new();
    if let Some(duplicate) = arguments
        .packs
        .iter()
        .find(|id| !distinct_packs.insert(*id))
    {
        invalid(format!("pack {} is listed twice", pack_name(duplicate)));
    }
    let mut distinct_containers = BTreeSet::new();
    if let Some(duplicate) = arguments
        .containers
        .iter()
        .find(|sscc| !distinct_containers.insert(sscc.as_str()))
    {
        invalid(format!("container {duplicate} is listed twice"));
    }
    for sscc in &arguments.containers {
        checks::sscc(sscc);
    }

    let existing = rxchain_sdk::storage_get::<Container>(&keys::container(&arguments.sscc));
    let (mut target, around) = match existing {
        Some(container) => {
            if let ContainerStatus::Unpacked { height, .. } = container.status {
                abort(
                    error_code::ALREADY_EXISTS,
                    &format!(
                        "container {} was unpacked at height {height}; an SSCC is not reused",
                        container.sscc
                    ),
                );
            }
            checks::container_in_stock_with(&container, actor.id());
            let around = enclosing(container.parent.as_deref());
            (container, around)
        }
        None => (
            Container {
                sscc: arguments.sscc.clone(),
                parent: None,
                packs: Vec::new(),
                containers: Vec::new(),
                custodian: String::from(actor.id()),
                status: ContainerStatus::InStock,
                packed_height: block_height(),
            },
            Vec::new(),
        ),
    };

    let mut packs: Vec<Pack> = Vec::with_capacity(arguments.packs.len());
    for id in &arguments.packs {
        let pack = find_pack(id);
        checks::in_stock_with(&pack, actor.id());
        if let Some(parent) = &pack.parent {
            abort(
                error_code::WRONG_STATUS,
                &format!(
                    "pack {} is inside container {parent} already",
                    pack_name(&pack.id)
                ),
            );
        }
        packs.push(pack);
    }
    let mut children = Contents::default();
    for sscc in &arguments.containers {
        if *sscc == target.sscc || around.contains(sscc) {
            invalid(format!(
                "container {sscc} cannot go inside {}, which is inside it",
                target.sscc
            ));
        }
        let child = find_container(sscc);
        checks::loose_container_with(&child, actor.id());
        children.walk_within(
            child,
            ITEMS_PER_CONTAINER_MAX,
            &format!("container {}", target.sscc),
        );
    }
    let levels = around.len() + 1 + children.levels;
    if levels > CONTAINER_LEVELS_MAX {
        invalid(format!(
            "packing into {} would nest {levels} levels of containers; at most {CONTAINER_LEVELS_MAX}",
            target.sscc
        ));
    }
    // The outermost container must still fit in one shipment.
    let outermost = match around.last() {
        Some(sscc) => find_container(sscc),
        None => target.clone(),
    };
    let mut tree = Contents::default();
    tree.walk(outermost);
    let items = tree.items() - 1 + packs.len() + children.items();
    if items > ITEMS_PER_CONTAINER_MAX {
        invalid(format!(
            "container {} would hold {items} packs and containers; at most {ITEMS_PER_CONTAINER_MAX}",
            tree.containers[0].sscc
        ));
    }
    let mut hold_check = HoldCheck::default();
    hold_check.refuse_if_held(&packs, false, "packed", &actor);
    hold_check.refuse_if_held(&children.packs, false, "packed", &actor);

    let container_topic = [topics::container(&target.sscc)];
    for mut pack in packs {
        pack.parent = Some(target.sscc.clone());
        storage_set(&keys::pack(&pack.id), &pack);
        target.packs.push(pack.id.clone());
        let step = TraceStep::Packing {
            container: target.sscc.clone(),
        };
        announce(&pack, &container_topic, step, &actor);
    }
    // Only the listed containers change: what is inside them stays where it is.
    let listed_children = children
        .containers
        .into_iter()
        .filter(|child| child.parent.is_none());
    for mut child in listed_children {
        child.parent = Some(target.sscc.clone());
        storage_set(&keys::container(&child.sscc), &child);
        target.containers.push(child.sscc.clone());
        let step = TraceStep::Packing {
            container: target.sscc.clone(),
        };
        announce_container(&child.sscc, &container_topic, step, &actor);
    }
    storage_set(&keys::container(&target.sscc), &target);
}

/// Empties a container that the caller holds and that is not inside another: what was directly
/// inside it is loose again. The SSCC is not used again.
pub fn unpack_container() {
    let actor = Actor::operator();
    let arguments: SsccArgs = input();
    checks::sscc(&arguments.sscc);
    let mut container = find_container(&arguments.sscc);
    checks::loose_container_with(&container, actor.id());

    let container_topic = [topics::container(&container.sscc)];
    let step = TraceStep::Unpacking {
        container: container.sscc.clone(),
    };
    for id in core::mem::take(&mut container.packs) {
        let mut pack = find_pack(&id);
        pack.parent = None;
        storage_set(&keys::pack(&pack.id), &pack);
        announce(&pack, &container_topic, step.clone(), &actor);
    }
    for sscc in core::mem::take(&mut container.containers) {
        let mut child = find_container(&sscc);
        child.parent = None;
        storage_set(&keys::container(&child.sscc), &child);
        announce_container(&child.sscc, &container_topic, step.clone(), &actor);
    }
    container.status = ContainerStatus::Unpacked {
        height: block_height(),
        time_ms: block_time_ms(),
    };
    storage_set(&keys::container(&container.sscc), &container);
    announce_container(&container.sscc, &[], step, &actor);
}
