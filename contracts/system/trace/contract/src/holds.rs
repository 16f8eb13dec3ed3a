//! What holds packs back: a lot recall (`recall/<gtin>/<lot>`, by the product's manufacturer or
//! a regulator) and a pack's quarantine (on the pack record, by its custodian or a regulator,
//! released by whoever placed it or a regulator).
//! A held pack may not be packed, shipped or dispensed: the request is refused and an alert
//! recorded. Returning recalled packs, unpacking and decommissioning them stay allowed, since
//! that is what a recall asks for.

use crate::alerts::{Suspicion, raise_and_refuse};
use crate::checks::{self, find_pack, pack_name};
use crate::{Actor, announce};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use rxchain_contract_types::abi::error_code;
use rxchain_sdk::{
    abort, block_height, block_time_ms, emit, input, storage_get, storage_has, storage_remove,
    storage_set,
};
use rxchain_trace_types::{
    AlertKind, ContractEvent, LotArgs, LotEvent, Pack, PackId, Quarantine, QuarantineArgs, Recall,
    RecallArgs, TraceStep, keys, topics,
};

/// The recall in force for a lot, if any.
pub fn recall_of(gtin: &str, lot: &str) -> Option<Recall> {
    storage_get(&keys::recall(gtin, lot))
}

/// Checks packs against recalls (one read per lot) and quarantines.
#[derive(Default)]
pub struct HoldCheck {
    recalls: BTreeMap<(String, String), Option<Recall>>,
}

impl HoldCheck {
    pub fn recall(&mut self, pack: &Pack) -> Option<&Recall> {
        self.recalls
            .entry((pack.id.gtin.clone(), pack.lot.clone()))
            .or_insert_with(|| recall_of(&pack.id.gtin, &pack.lot))
            .as_ref()
    }

    /// The alert for the first held pack, if any: quarantined, or (unless `recall_allowed`)
    /// of a recalled lot. `doing` says what was asked, e.g. "shipped".
    pub fn first_held(
        &mut self,
        packs: &[Pack],
        recall_allowed: bool,
        doing: &str,
    ) -> Option<(Suspicion, &'static str)> {
        for pack in packs {
            if let Some(quarantine) = &pack.quarantine {
                let detail = format!(
                    "pack {} is quarantined by {} ({}) and may not be {doing}",
                    pack_name(&pack.id),
                    quarantine.by,
                    quarantine.reason
                );
                let suspicion = Suspicion::new(AlertKind::ActionOnQuarantined, detail)
                    .about_pack(&pack.id, &pack.lot)
                    .in_container(pack.parent.as_deref());
                return Some((suspicion, error_code::QUARANTINED));
            }
            if recall_allowed {
                continue;
            }
            if let Some(recall) = self.recall(pack) {
                let detail = format!(
                    "pack {} is of lot {} recalled by {} ({}) and may not be {doing}",
                    pack_name(&pack.id),
                    recall.lot,
                    recall.by,
                    recall.reason
                );
                let suspicion = Suspicion::new(AlertKind::ActionOnRecalled, detail)
                    .about_pack(&pack.id, &pack.lot)
                    .in_container(pack.parent.as_deref());
                return Some((suspicion, error_code::RECALLED));
            }
        }
        None
    }

    /// Records an alert and refuses the call when any of `packs` is held.
    pub fn refuse_if_held(
        &mut self,
        packs: &[Pack],
        recall_allowed: bool,
        doing: &str,
        actor: &Actor,
    ) {
        if let Some((suspicion, code)) = self.first_held(packs, recall_allowed, doing) {
            raise_and_refuse(suspicion, actor, code);
        }
    }
}

/// The lot's manufacturer or any regulator may recall a lot and release its recall.
fn require_recall_authority(actor: &Actor, gtin: &str, lot: &str) {
    let product = checks::find_product(gtin);
    if product.manufacturer != actor.id() && !actor.is_regulator() {
        abort(
            error_code::UNAUTHORIZED,
            &format!(
                "lot {gtin}/{lot} may be recalled by its manufacturer {} or a regulator, not {}",
                product.manufacturer,
                actor.id()
            ),
        );
    }
    if !storage_has(&keys::lot_holders(gtin, lot)) {
        abort(
            error_code::NOT_FOUND,
            &format!("no pack of lot {gtin}/{lot} was ever commissioned"),
        );
    }
}

fn announce_lot(gtin: &str, lot: &str, step: TraceStep, actor: &Actor) {
    emit(
        &[
            topics::lot(gtin, lot),
            String::from(topics::RECALL),
            topics::recall_of_lot(gtin, lot),
        ],
        &ContractEvent::Lot(LotEvent {
            gtin: String::from(gtin),
            lot: String::from(lot),
            step,
            organization: String::from(actor.id()),
            actor: actor.member.public_key,
            time_ms: block_time_ms(),
        }),
    );
}

pub fn recall_lot() {
    let actor = Actor::operator();
    let arguments: RecallArgs = input();
    checks::gtin(&arguments.gtin);
    checks::lot(&arguments.lot);
    checks::reason(&arguments.reason);
    require_recall_authority(&actor, &arguments.gtin, &arguments.lot);
    if let Some(recall) = recall_of(&arguments.gtin, &arguments.lot) {
        abort(
            error_code::ALREADY_EXISTS,
            &format!(
                "lot {}/{} was recalled by {} at height {} already",
                recall.gtin, recall.lot, recall.by, recall.height
            ),
        );
    }

    let recall = Recall {
        gtin: arguments.gtin,
        lot: arguments.lot,
        reason: arguments.reason,
        by: String::from(actor.id()),
        height: block_height(),
        time_ms: block_time_ms(),
    };
    storage_set(&keys::recall(&recall.gtin, &recall.lot), &recall);
    let step = TraceStep::Recalling {
        reason: recall.reason.clone(),
    };
    announce_lot(&recall.gtin, &recall.lot, step, &actor);
}

pub fn release_lot_recall() {
    let actor = Actor::operator();
    let arguments: LotArgs = input();
    checks::gtin(&arguments.gtin);
    checks::lot(&arguments.lot);
    require_recall_authority(&actor, &arguments.gtin, &arguments.lot);
    if recall_of(&arguments.gtin, &arguments.lot).is_none() {
        abort(
            error_code::NOT_FOUND,
            &format!("lot {}/{} is not recalled", arguments.gtin, arguments.lot),
        );
    }

    storage_remove(&keys::recall(&arguments.gtin, &arguments.lot));
    announce_lot(
        &arguments.gtin,
        &arguments.lot,
        TraceStep::ReleasingRecall,
        &actor,
    );
}

/// Its custodian or a regulator quarantines a pack that is still in the supply chain.
pub fn quarantine() {
    let actor = Actor::operator();
    let arguments: QuarantineArgs = input();
    checks::reason(&arguments.reason);
    let mut pack = find_pack(&arguments.pack);
    checks::not_dispensed(&pack);
    checks::not_decommissioned(&pack);
    require_custodian_or_regulator(&pack, &actor);
    if let Some(quarantine) = &pack.quarantine {
        abort(
            error_code::ALREADY_EXISTS,
            &format!(
                "pack {} was quarantined by {} at height {} already",
                pack_name(&pack.id),
                quarantine.by,
                quarantine.height
            ),
        );
    }

    pack.quarantine = Some(Quarantine {
        reason: arguments.reason.clone(),
        by: String::from(actor.id()),
        by_regulator: actor.is_regulator(),
        height: block_height(),
        time_ms: block_time_ms(),
    });
    storage_set(&keys::pack(&pack.id), &pack);
    let step = TraceStep::Quarantining {
        reason: arguments.reason,
    };
    announce(&pack, &[], step, &actor);
}

/// A regulator releases any quarantine; otherwise only the organization that placed it. A
/// custodian may not lift a quarantine that another organization placed on a pack it holds.
pub fn release_quarantine() {
    let actor = Actor::operator();
    let id: PackId = input();
    let mut pack = find_pack(&id);
    let Some(quarantine) = &pack.quarantine else {
        abort(
            error_code::NOT_FOUND,
            &format!("pack {} is not quarantined", pack_name(&id)),
        );
    };
    if !actor.is_regulator() && quarantine.by != actor.id() {
        abort(
            error_code::UNAUTHORIZED,
            &format!(
                "pack {} was quarantined by {}; only it or a regulator releases it, not {}",
                pack_name(&id),
                quarantine.by,
                actor.id()
            ),
        );
    }

    pack.quarantine = None;
    storage_set(&keys::pack(&pack.id), &pack);
    announce(&pack, &[], TraceStep::ReleasingQuarantine, &actor);
}

fn require_custodian_or_regulator(pack: &Pack, actor: &Actor) {
    if pack.custodian != actor.id() && !actor.is_regulator() {
        abort(
            error_code::NOT_CUSTODIAN,
            &format!(
                "pack {} is held by {}; only its custodian or a regulator may do this, not {}",
                pack_name(&pack.id),
                pack.custodian,
                actor.id()
            ),
        );
    }
}
