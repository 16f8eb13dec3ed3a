//! The `trace` system contract: product master data, serialized packs, their containers and
//! their custody from commissioning to dispensing.
//!
//! A manufacturer registers a product by GTIN (`m_register_product`), claims China product
//! codes for it that a regulator approves (`m_register_china_product_code`,
//! `m_approve_china_product_code`), and commissions serialized packs of it (`m_commission`); a custodian packs packs and containers into cases and pallets
//! (`m_pack_container`, `m_unpack_container`), ships packs and containers to another organization
//! (`m_ship`), which receives the shipment (`m_receive`, or `m_receive_counted` with what it
//! found); a pharmacy or hospital dispenses a pack once (`m_dispense`); a custodian decommissions
//! a pack (`m_decommission`) or returns packs to an earlier custodian (`m_ship_return`); a
//! manufacturer or regulator recalls a lot (`m_recall_lot`, `m_release_lot_recall`); a custodian
//! or regulator quarantines a pack (`m_quarantine`), which the one who placed it or a regulator
//! releases (`m_release_quarantine`); a regulator closes
//! alerts (`m_close_alert`). Queries answer from one record or counter each: `q_product`,
//! `q_pack`, `q_pack_state` (with its lot's recall and the containers around it), `q_shipment`,
//! `q_shipment_missing`, `q_container`, `q_lot_holders` (the reach of a recall), `q_stock` (an
//! organization's stock of a GTIN by lot), `q_open_alerts` (a page), `q_alert`. Histories of a
//! pack, lot, container or shipment are the node's event index under their topics.
//!
//! How the parts fit:
//! - `custody`: shipping, returning, receiving, dispensing, decommissioning.
//! - `containers`: packing, unpacking, and walking what a container holds.
//! - `holds`: lot recalls and pack quarantines, and the check that refuses to move held packs.
//! - `alerts`: the alert records, the linked list of open alerts, closing.
//! - `counters`: who holds units of a lot and each organization's stock, kept exact on every
//!   custody and status change so that both are one read.
//! - `queries`: the read-only `q_` functions.
//! - `checks`: argument checks and record look-ups that abort with a stable code.
//!
//! Every method checks everything before it writes anything, and a failed check aborts with a
//! stable code from `abi::error_code` and a message naming the pack, container, shipment or
//! organization. The one exception is a suspicious request (a second dispense, a receive without
//! a shipment, moving a recalled or quarantined pack): the method records an alert and then
//! *refuses*, which keeps the alert on the ledger while the request itself does nothing else.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod alerts;
mod checks;
mod containers;
mod counters;
mod custody;
mod holds;
mod queries;
#[cfg(test)]
mod tests;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use checks::pack_name;
use counters::Tally;
use rxchain_contract_types::abi::error_code;
use rxchain_contract_types::registry::{Member, Organization};
use rxchain_contract_types::roles::{member, organization};
use rxchain_sdk::{
    abort, block_height, block_time_ms, emit, input, require_role, storage_get, storage_has,
    storage_set,
};
use rxchain_trace_types::{
    CommissionArgs, ContainerEvent, ContractEvent, Pack, PackStatus, Product,
    ProductRegisteredEvent, TraceEvent, TraceStep, keys, topics,
};

/// Generates the exported entry points. Each is a thin `extern "C"` wrapper: a panic cannot
/// unwind out of an `extern "C"` function, and the unit tests run the Rust functions on the
/// SDK's in-memory host, where an abort unwinds.
macro_rules! entry_points {
    ($($export:ident => $function:path),* $(,)?) => {
        $(
            #[unsafe(no_mangle)]
            pub extern "C" fn $export() {
                $function()
            }
        )*
    };
}

entry_points! {
    m_register_product => register_product,
    m_register_china_product_code => register_china_product_code,
    m_approve_china_product_code => approve_china_product_code,
    m_record_epcis_event => record_epcis_event,
    m_commission => commission,
    m_commission_batch => commission_batch,
    m_record_epcis_events => record_epcis_events,
    m_pack_container => containers::pack_container,
    m_unpack_container => containers::unpack_container,
    m_ship => custody::ship,
    m_ship_return => custody::ship_return,
    m_receive => custody::receive,
    m_receive_counted => custody::receive_counted,
    m_dispense => custody::dispense,
    m_decommission => custody::decommission,
    m_recall_lot => holds::recall_lot,
    m_release_lot_recall => holds::release_lot_recall,
    m_quarantine => holds::quarantine,
    m_release_quarantine => holds::release_quarantine,
    m_close_alert => alerts::close_alert,
    q_product => queries::query_product,
    q_pack => queries::query_pack,
    q_pack_state => queries::query_pack_state,
    q_shipment => queries::query_shipment,
    q_shipment_missing => queries::query_shipment_missing,
    q_container => queries::query_container,
    q_lot_holders => queries::query_lot_holders,
    q_stock => queries::query_stock,
    q_open_alerts => queries::query_open_alerts,
    q_alert => queries::query_alert,
    q_gtin_by_china_code => queries::query_gtin_by_china_code,
}

/// The member who signed the call and their organization.
pub(crate) struct Actor {
    pub member: Member,
    pub organization: Organization,
}

impl Actor {
    /// The caller, when the organization has any of `organization_roles_any` and the member any
    /// of `member_roles_any` (see `rxchain_sdk::require_role`).
    pub fn require(organization_roles_any: u32, member_roles_any: u32) -> Actor {
        let (member, organization) = require_role(organization_roles_any, member_roles_any);
        Actor {
            member,
            organization,
        }
    }

    /// An operator (or admin) of any organization: who moves goods.
    pub fn operator() -> Actor {
        Actor::require(0, member::OPERATOR)
    }

    pub fn id(&self) -> &str {
        &self.organization.id
    }

    pub fn is_regulator(&self) -> bool {
        self.organization.roles & organization::REGULATOR != 0
    }
}

/// Registers a product's master data; the caller's organization becomes its manufacturer.
fn register_product() {
    let actor = Actor::require(organization::MANUFACTURER, member::OPERATOR);
    let mut product: Product = input();
    checks::product(&product);
    if storage_has(&keys::product(&product.gtin)) {
        abort(
            error_code::ALREADY_EXISTS,
            &format!("product {} is registered already", product.gtin),
        );
    }

    product.manufacturer = actor.organization.id;
    storage_set(&keys::product(&product.gtin), &product);
    emit(
        &[topics::product(&product.gtin)],
        &ContractEvent::ProductRegistered(ProductRegisteredEvent {
            gtin: product.gtin.clone(),
            manufacturer: product.manufacturer.clone(),
        }),
    );
}

/// A manufacturer claims a Chinese product identification code (the first 7 digits of the
/// 20-digit drug trace code) for a product it manufactures. The claim links nothing: the code
/// issuing body assigns codes, so a regulator approves one claim
/// ([`approve_china_product_code`]), and only then does the code find the product. Claims are
/// kept per organization, so no member can block a code by claiming it first.
fn register_china_product_code() {
    let actor = Actor::require(organization::MANUFACTURER, member::OPERATOR);
    let arguments: rxchain_trace_types::ChinaProductCodeArgs = input();
    check_china_product_code(&arguments.product_code);
    let product = checks::find_product(&arguments.gtin);
    checks::require_manufacturer(&product, actor.id());
    refuse_if_china_code_linked(&arguments.product_code);
    storage_set(
        &keys::china_product_claim(&arguments.product_code, actor.id()),
        &product.gtin,
    );
    announce_china_product_code(&arguments.product_code, &product, None);
}

/// A regulator approves a manufacturer's claim: the code names the claimed GTIN for good.
fn approve_china_product_code() {
    let actor = Actor::require(organization::REGULATOR, member::OPERATOR);
    let arguments: rxchain_trace_types::ChinaProductCodeArgs = input();
    check_china_product_code(&arguments.product_code);
    let product = checks::find_product(&arguments.gtin);
    refuse_if_china_code_linked(&arguments.product_code);
    let claim_key = keys::china_product_claim(&arguments.product_code, &product.manufacturer);
    if storage_get::<String>(&claim_key).as_deref() != Some(product.gtin.as_str()) {
        abort(
            error_code::NOT_FOUND,
            &format!(
                "{} has not claimed product code {} for GTIN {}",
                product.manufacturer, arguments.product_code, product.gtin
            ),
        );
    }
    rxchain_sdk::storage_remove(&claim_key);
    storage_set(&keys::china_product(&arguments.product_code), &product.gtin);
    announce_china_product_code(&arguments.product_code, &product, Some(actor.id()));
}

fn check_china_product_code(code: &str) {
    if !rxchain_trace_types::is_valid_china_product_code(code) {
        abort(
            error_code::INVALID_ARGUMENT,
            "a product identification code is 7 digits",
        );
    }
}

fn refuse_if_china_code_linked(code: &str) {
    if let Some(existing) = storage_get::<String>(&keys::china_product(code)) {
        abort(
            error_code::ALREADY_EXISTS,
            &format!("product code {code} stands for GTIN {existing} already"),
        );
    }
}

fn announce_china_product_code(code: &str, product: &Product, approved_by: Option<&str>) {
    emit(
        &[topics::china_product(code)],
        &ContractEvent::ChinaProductCode(rxchain_trace_types::ChinaProductCodeEvent {
            product_code: String::from(code),
            gtin: product.gtin.clone(),
            manufacturer: product.manufacturer.clone(),
            approved_by: approved_by.map(String::from),
        }),
    );
}

/// Anchors an EPCIS event captured by a member's node: an event on the ledger under the given
/// `epcis:` topics, no state. The node validated the event; the contract checks the caller and
/// the sizes, and that every topic stays inside the `epcis:` namespace.
fn record_epcis_event() {
    let actor = Actor::operator();
    let arguments: rxchain_trace_types::EpcisRecordArgs = input();
    anchor_epcis_events(&actor, alloc::vec![arguments]);
}

/// Anchors up to `EPCIS_RECORDS_PER_CALL_MAX` events of one captured document in one call.
fn record_epcis_events() {
    use rxchain_trace_types::{EPCIS_RECORDS_PER_CALL_MAX, EpcisBatchArgs};
    let actor = Actor::operator();
    let arguments: EpcisBatchArgs = input();
    if arguments.records.is_empty() || arguments.records.len() > EPCIS_RECORDS_PER_CALL_MAX {
        abort(
            error_code::INVALID_ARGUMENT,
            &format!("1 to {EPCIS_RECORDS_PER_CALL_MAX} EPCIS events per call"),
        );
    }
    anchor_epcis_events(&actor, arguments.records);
}

fn anchor_epcis_events(actor: &Actor, records: Vec<rxchain_trace_types::EpcisRecordArgs>) {
    use rxchain_trace_types::{
        EPCIS_EVENT_BYTES_MAX, EPCIS_TOPIC_PREFIX, EPCIS_TOPICS_MAX, EpcisRecord,
    };
    for arguments in &records {
        if arguments.applied_transactions.len()
            > rxchain_trace_types::EPCIS_APPLIED_TRANSACTIONS_MAX
        {
            abort(
                error_code::INVALID_ARGUMENT,
                "an anchored EPCIS event names too many applying transactions",
            );
        }
        if arguments.event_json.len() > EPCIS_EVENT_BYTES_MAX {
            abort(
                error_code::INVALID_ARGUMENT,
                &format!("an anchored EPCIS event is at most {EPCIS_EVENT_BYTES_MAX} bytes"),
            );
        }
        if arguments.topics.is_empty()
            || arguments.topics.len() > EPCIS_TOPICS_MAX
            || arguments
                .topics
                .iter()
                .any(|topic| !topic.starts_with(EPCIS_TOPIC_PREFIX))
        {
            abort(
                error_code::INVALID_ARGUMENT,
                &format!(
                    "1 to {EPCIS_TOPICS_MAX} topics, each starting with '{EPCIS_TOPIC_PREFIX}'"
                ),
            );
        }
    }
    for arguments in records {
        let record = EpcisRecord {
            organization: String::from(actor.id()),
            actor: actor.member.public_key,
            event_json: arguments.event_json,
            time_ms: block_time_ms(),
            applied_transactions: arguments.applied_transactions,
        };
        emit(&arguments.topics, &ContractEvent::Epcis(record));
    }
}

/// Commissions one serialized pack of a product that the caller's organization manufactures.
fn commission() {
    let actor = Actor::require(organization::MANUFACTURER, member::OPERATOR);
    let arguments: CommissionArgs = input();
    commission_all(&actor, alloc::vec![arguments]);
}

/// Commissions up to `COMMISSION_BATCH_PACKS_MAX` packs at once, all or none: what an EPCIS
/// commissioning event of many EPCs, or a packaging line's batch, becomes in one transaction.
fn commission_batch() {
    use rxchain_trace_types::{COMMISSION_BATCH_PACKS_MAX, CommissionBatchArgs};
    let actor = Actor::require(organization::MANUFACTURER, member::OPERATOR);
    let arguments: CommissionBatchArgs = input();
    if arguments.packs.is_empty() || arguments.packs.len() > COMMISSION_BATCH_PACKS_MAX {
        abort(
            error_code::INVALID_ARGUMENT,
            &format!("a batch commissions 1 to {COMMISSION_BATCH_PACKS_MAX} packs"),
        );
    }
    commission_all(&actor, arguments.packs);
}

/// Checks every pack first, then writes them all (one counter update for the lot).
fn commission_all(actor: &Actor, packs: Vec<CommissionArgs>) {
    let mut seen = alloc::collections::BTreeSet::new();
    let mut checked_products = alloc::collections::BTreeSet::new();
    for arguments in &packs {
        checks::commission(arguments);
        if checked_products.insert(arguments.gtin.clone()) {
            let product = checks::find_product(&arguments.gtin);
            checks::require_manufacturer(&product, actor.id());
        }
        let id = rxchain_trace_types::PackId {
            gtin: arguments.gtin.clone(),
            serial: arguments.serial.clone(),
        };
        if storage_has(&keys::pack(&id)) || !seen.insert(keys::pack(&id)) {
            abort(
                error_code::ALREADY_EXISTS,
                &format!("pack {} is commissioned already", pack_name(&id)),
            );
        }
    }

    let mut tally = Tally::default();
    for arguments in packs {
        let pack = Pack {
            id: rxchain_trace_types::PackId {
                gtin: arguments.gtin,
                serial: arguments.serial,
            },
            lot: arguments.lot,
            expiry: arguments.expiry,
            custodian: String::from(actor.id()),
            status: PackStatus::InStock,
            commissioned_height: block_height(),
            parent: None,
            quarantine: None,
            previous_custodians: Vec::new(),
        };
        storage_set(&keys::pack(&pack.id), &pack);
        tally.holders(&pack.custodian, &pack, 1);
        tally.stock(&pack.custodian, &pack, 1);
        let step = TraceStep::Commissioning {
            lot: pack.lot.clone(),
            expiry: pack.expiry.clone(),
        };
        announce(&pack, &[], step, actor);
    }
    tally.write();
}

/// Emits the trace event of one step of one pack under the pack's and lot's topics, then
/// `extra_topics` (the container's or shipment's).
pub(crate) fn announce(pack: &Pack, extra_topics: &[String], step: TraceStep, actor: &Actor) {
    let mut event_topics: Vec<String> = Vec::with_capacity(2 + extra_topics.len());
    event_topics.push(topics::pack(&pack.id));
    event_topics.push(topics::lot(&pack.id.gtin, &pack.lot));
    event_topics.extend_from_slice(extra_topics);
    let event = TraceEvent {
        pack: pack.id.clone(),
        step,
        organization: String::from(actor.id()),
        actor: actor.member.public_key,
        time_ms: block_time_ms(),
    };
    emit(&event_topics, &ContractEvent::Pack(event));
}

/// Emits the event of one step of a container itself under its topic, then `extra_topics`.
pub(crate) fn announce_container(
    sscc: &str,
    extra_topics: &[String],
    step: TraceStep,
    actor: &Actor,
) {
    let mut event_topics: Vec<String> = Vec::with_capacity(1 + extra_topics.len());
    event_topics.push(topics::container(sscc));
    event_topics.extend_from_slice(extra_topics);
    let event = ContainerEvent {
        sscc: String::from(sscc),
        step,
        organization: String::from(actor.id()),
        actor: actor.member.public_key,
        time_ms: block_time_ms(),
    };
    emit(&event_topics, &ContractEvent::Container(event));
}

/// The product registered under `gtin`, if any.
pub(crate) fn product(gtin: &str) -> Option<Product> {
    storage_get(&keys::product(gtin))
}
