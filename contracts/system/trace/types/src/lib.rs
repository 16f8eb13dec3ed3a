//! The `trace` system contract's data: products, serialized packs, containers, shipments, recalls,
//! alerts and their events.
//!
//! The lifecycle in CBV words: a manufacturer registers product master data by GTIN and
//! *commissions* serialized packs (GTIN + serial + lot + expiry); the custodian *packs* packs into
//! cases and cases into pallets (containers named by SSCC; an operation on a container applies to
//! everything inside it) and *unpacks* them; *ships* packs and containers to a consignee in a
//! shipment; the consignee *receives* it (all as shipped, or counted, recording missing and
//! unexpected packs as discrepancies); a pharmacy or hospital *dispenses* a pack once; a custodian
//! *decommissions* a pack with a reason; a manufacturer or regulator *recalls* a lot and releases
//! the recall; a custodian or regulator *quarantines* a suspect pack and releases it; a custodian
//! *returns* packs to an organization that held them before.
//!
//! Every pack step emits a [`TraceEvent`] under the pack's and the lot's topics (and the
//! container's or shipment's when there is one), so a pack's, lot's, case's or pallet's history is
//! one index lookup. Suspicious requests (a second dispense, a receive without a shipment, an
//! action on a recalled or quarantined pack, a missing or unexpected pack) become [`Alert`]s under
//! the topic [`topics::ALERT`], kept even when the request itself is refused.
//!
//! This crate is shared by the contract (`contracts/system/trace/contract`, built for wasm,
//! `no_std`) and the host-side module (`node/apps/trace`, with serde under the `std` feature),
//! which never link to each other. Everything is encoded with borsh.
//!
//! - `identifiers`: checks of GTIN-14, SSCC, YYMMDD and GS1 texts (re-exported here).
//! - `cbv`: the GS1 CBV 2.0 business step and disposition of every [`TraceStep`].
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod cbv;
mod identifiers;

pub use identifiers::*;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use borsh::{BorshDeserialize, BorshSerialize};
use rxchain_contract_types::PublicKeyBytes;

/// The trace contract's id.
pub const CONTRACT_ID: &str = "trace";

/// Longest serial number (GS1 AI 21 allows 20 characters).
pub const SERIAL_CHARACTERS_MAX: usize = 20;
/// Longest lot number (GS1 AI 10 allows 20 characters).
pub const LOT_CHARACTERS_MAX: usize = 20;
/// Most items (packs and containers, nested ones counted) that one shipment moves. Each item
/// emits one event when shipped and when received, so this stays below the host's
/// [`rxchain_contract_types::abi::EVENTS_PER_CALL_MAX`] with room for the alerts of a counted receive.
pub const PACKS_PER_SHIPMENT_MAX: usize = 1000;
/// Most items (packs and containers, nested ones counted) in one container, so that any
/// container, itself included, can be shipped in one shipment.
pub const ITEMS_PER_CONTAINER_MAX: usize = PACKS_PER_SHIPMENT_MAX - 1;
/// Most levels of containers inside each other (e.g. pallet > case > inner pack has 3).
pub const CONTAINER_LEVELS_MAX: usize = 4;
/// Most packs a counted receive may report that were not in the shipment. Each becomes an
/// alert event, and with a full shipment's events they must fit the host's event limit.
pub const UNEXPECTED_PACKS_PER_RECEIVE_MAX: usize = 16;
/// Most earlier custodians a pack remembers, for checking that a return goes back up the chain;
/// the oldest is forgotten first.
pub const PREVIOUS_CUSTODIANS_MAX: usize = 8;
/// Longest shipment id.
pub const SHIPMENT_ID_CHARACTERS_MAX: usize = 64;
/// Longest free-text field in product master data.
pub const PRODUCT_TEXT_CHARACTERS_MAX: usize = 200;
/// Longest reason of a recall or quarantine.
pub const REASON_CHARACTERS_MAX: usize = 200;
/// Most alerts one `q_open_alerts` page returns (an alert is at most a few hundred bytes, and
/// the page must fit [`rxchain_contract_types::abi::RETURN_BYTES_MAX`]).
pub const OPEN_ALERTS_PAGE_MAX: u32 = 100;

/// Alerts a receive raises besides its missing and unexpected packs: one for the first pack
/// that arrived recalled or quarantined.
const HELD_PACK_ALERTS_PER_RECEIVE: usize = 1;

// A receive emits one event per pack and container that arrives or is missing, one per
// unexpected pack and one for a held pack; all must fit the host's per-call event limit.
const _: () = assert!(
    PACKS_PER_SHIPMENT_MAX + UNEXPECTED_PACKS_PER_RECEIVE_MAX + HELD_PACK_ALERTS_PER_RECEIVE
        <= rxchain_contract_types::abi::EVENTS_PER_CALL_MAX
);

/// Product master data, registered once per GTIN by its manufacturer.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Product {
    /// GTIN-14, digits only, check digit verified by the contract.
    pub gtin: String,
    pub name: String,
    pub strength: String,
    pub dosage_form: String,
    pub pack_size: u32,
    /// Prescription-only (Rx) when true, over the counter when false.
    pub prescription: bool,
    /// Storage range in tenths of a degree Celsius (e.g. 20 = 2.0 °C).
    pub storage_celsius_tenths_min: i32,
    pub storage_celsius_tenths_max: i32,
    pub approval_number: String,
    /// Set by the contract to the caller's organization; ignored in the arguments.
    pub manufacturer: String,
}

/// Identifies one serialized pack.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PackId {
    pub gtin: String,
    pub serial: String,
}

/// Why a pack left the supply chain other than by dispensing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case"))]
pub enum DecommissionReason {
    Destroyed,
    Damaged,
    /// Taken as a sample (for testing, or by an inspector).
    Sample,
    Expired,
    /// Consumed by repackaging (an EPCIS TransformationEvent's input); its contents live on in
    /// the output packs.
    Repackaged,
}

#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case", tag = "state"))]
pub enum PackStatus {
    /// Held by its custodian.
    InStock,
    /// Shipped, not yet received; the sender stays custodian until the consignee receives it.
    InTransit { shipment_id: String },
    /// Handed to a patient; final.
    Dispensed { height: u64, time_ms: u64 },
    /// Taken out of the supply chain; final.
    Decommissioned {
        reason: DecommissionReason,
        height: u64,
        time_ms: u64,
    },
}

/// A suspect pack held back: it may not be packed, shipped or dispensed until released.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Quarantine {
    pub reason: String,
    /// Organization that quarantined the pack.
    pub by: String,
    /// A regulator's quarantine is released only by a regulator.
    pub by_regulator: bool,
    pub height: u64,
    pub time_ms: u64,
}

/// The ledger's record of one pack.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Pack {
    pub id: PackId,
    pub lot: String,
    /// Expiry date as YYMMDD (GS1 AI 17).
    pub expiry: String,
    /// Organization id of the current custodian.
    pub custodian: String,
    pub status: PackStatus,
    pub commissioned_height: u64,
    /// SSCC of the container the pack is packed in, if any.
    pub parent: Option<String>,
    pub quarantine: Option<Quarantine>,
    /// Organizations that held the pack before the custodian, oldest first, at most
    /// [`PREVIOUS_CUSTODIANS_MAX`]: the organizations a return may go to.
    pub previous_custodians: Vec<String>,
}

#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case", tag = "state"))]
pub enum ContainerStatus {
    /// Packed, held by its custodian.
    InStock,
    /// Shipped (itself or inside a container), not yet received.
    InTransit { shipment_id: String },
    /// Emptied; final, since an SSCC is not reused.
    Unpacked { height: u64, time_ms: u64 },
}

/// A case or pallet identified by its SSCC, and what is directly inside it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Container {
    pub sscc: String,
    /// SSCC of the container this one is packed in, if any.
    pub parent: Option<String>,
    pub packs: Vec<PackId>,
    pub containers: Vec<String>,
    pub custodian: String,
    pub status: ContainerStatus,
    pub packed_height: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case"))]
pub enum ShipmentStatus {
    Open,
    Received,
    /// Received with packs missing ([`keys::shipment_missing`], query `q_shipment_missing`);
    /// they stay in transit and a later receive of the shipment may still take them in.
    ReceivedShort,
}

#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Shipment {
    pub id: String,
    pub from: String,
    pub to: String,
    /// Packs shipped loose.
    pub packs: Vec<PackId>,
    /// Containers shipped, with everything inside them.
    pub containers: Vec<String>,
    pub status: ShipmentStatus,
    pub shipped_height: u64,
    /// True for a return back up the chain (`m_ship_return`).
    pub returning: bool,
    /// How many packs the last counted receive did not find; they are listed under
    /// [`keys::shipment_missing`] (apart, so that neither value outgrows the host's limit).
    pub missing_count: u32,
}

/// A lot recall in force, under [`keys::recall`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Recall {
    pub gtin: String,
    pub lot: String,
    pub reason: String,
    /// Organization that recalled the lot (its manufacturer or a regulator).
    pub by: String,
    pub height: u64,
    pub time_ms: u64,
}

/// What kind of suspicious request an alert records.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case"))]
pub enum AlertKind {
    /// A pack dispensed before was presented for dispensing again: a copied code, most likely.
    SecondDispense,
    /// A receive named a shipment that does not exist.
    ReceiveWithoutShipment,
    /// A pack of a recalled lot was packed, shipped, dispensed or received.
    ActionOnRecalled,
    /// A quarantined pack was packed, shipped or dispensed.
    ActionOnQuarantined,
    /// A shipped pack was not found by the consignee's count.
    Missing,
    /// The consignee counted a pack that was not in the shipment.
    Unexpected,
}

/// A suspicious request, recorded for the regulator under [`keys::alert`] and the topics
/// [`topics::ALERT`] and [`topics::alert_for`]; the payload of those events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Alert {
    /// Numbered from 1 in the order raised.
    pub id: u64,
    pub kind: AlertKind,
    pub pack: Option<PackId>,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub shipment_id: Option<String>,
    pub container: Option<String>,
    /// Organization whose request raised the alert.
    pub organization: String,
    pub actor: PublicKeyBytes,
    /// What happened, in words (at most the host's abort message length).
    pub detail: String,
    pub height: u64,
    pub time_ms: u64,
    pub open: bool,
    /// The regulator organization that closed the alert.
    pub closed_by: Option<String>,
}

/// Arguments of `m_commission`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct CommissionArgs {
    pub gtin: String,
    pub serial: String,
    pub lot: String,
    /// YYMMDD.
    pub expiry: String,
}

/// Arguments of `m_ship` and `m_ship_return`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ShipArgs {
    pub shipment_id: String,
    /// Consignee organization id.
    pub to: String,
    /// Packs shipped loose (not inside a container).
    #[cfg_attr(feature = "std", serde(default))]
    pub packs: Vec<PackId>,
    /// SSCCs of containers shipped with everything inside them.
    #[cfg_attr(feature = "std", serde(default))]
    pub containers: Vec<String>,
}

/// Arguments of `m_receive` and `q_shipment`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ShipmentIdArgs {
    pub shipment_id: String,
}

/// Arguments of `m_receive_counted`: the packs the consignee actually found.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ReceiveCountedArgs {
    pub shipment_id: String,
    pub received: Vec<PackId>,
}

/// Arguments of `q_product`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct GtinArgs {
    pub gtin: String,
}

/// Arguments of `m_pack_container`: packs a new container, or adds to one that is packed.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PackArgs {
    pub sscc: String,
    #[cfg_attr(feature = "std", serde(default))]
    pub packs: Vec<PackId>,
    /// SSCCs of containers packed into this one (cases onto a pallet).
    #[cfg_attr(feature = "std", serde(default))]
    pub containers: Vec<String>,
}

/// Arguments of `m_unpack_container` and `q_container`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct SsccArgs {
    pub sscc: String,
}

/// Arguments of `m_register_china_product_code`: links the first 7 digits of China's 20-digit
/// drug trace codes to the product's GTIN. Packs carrying such codes are commissioned with the
/// whole 20-digit code as their serial, so a code alone finds its pack.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ChinaProductCodeArgs {
    pub gtin: String,
    pub product_code: String,
}

/// A manufacturer's claim of a product identification code for its product, or a regulator's
/// approval that links the code to the product (under [`topics::china_product`]).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ChinaProductCodeEvent {
    pub product_code: String,
    pub gtin: String,
    pub manufacturer: String,
    /// The regulator that approved the link; `None` for the manufacturer's claim.
    pub approved_by: Option<String>,
}

/// Arguments of `q_gtin_by_china_code`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ChinaCodeArgs {
    pub product_code: String,
}

/// Longest EPCIS event (JSON-LD bytes) `m_record_epcis_event` anchors.
pub const EPCIS_EVENT_BYTES_MAX: usize = 12 * 1024;
/// Most transactions one anchored EPCIS event may name as its application.
pub const EPCIS_APPLIED_TRANSACTIONS_MAX: usize = 64;
/// Most index topics one anchored EPCIS event may carry.
pub const EPCIS_TOPICS_MAX: usize = 64;
/// Every topic of an anchored EPCIS event starts with this, so a caller can never write into
/// the trace contract's own indexes (`pack:`, `lot:`, …).
pub const EPCIS_TOPIC_PREFIX: &str = "epcis:";

/// Arguments of `m_record_epcis_event`: an EPCIS 2.0 event captured through the node's EPCIS
/// interface, anchored on chain as an event (no state), indexed under `topics`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct EpcisRecordArgs {
    /// Index keys, each starting with [`EPCIS_TOPIC_PREFIX`].
    pub topics: Vec<String>,
    /// The event as standalone EPCIS 2.0 JSON-LD.
    pub event_json: String,
    /// Ids of the transactions that applied this event to the trace ledger, so the EPCIS view
    /// shows the captured event once and not again as the trace events it caused. Only the
    /// signer's own transactions committed at most a capture's expiry before the record count
    /// (the node's capture index checks; the contract cannot see transactions): naming another
    /// member's hides nothing.
    pub applied_transactions: Vec<[u8; 32]>,
}

/// Most events one `m_record_epcis_events` call anchors.
pub const EPCIS_RECORDS_PER_CALL_MAX: usize = 100;

/// Arguments of `m_record_epcis_events`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct EpcisBatchArgs {
    pub records: Vec<EpcisRecordArgs>,
}

/// Most packs one `m_commission_batch` call commissions.
pub const COMMISSION_BATCH_PACKS_MAX: usize = 500;

/// Arguments of `m_commission_batch`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct CommissionBatchArgs {
    pub packs: Vec<CommissionArgs>,
}

/// The payload of an anchored EPCIS event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct EpcisRecord {
    pub organization: String,
    pub actor: PublicKeyBytes,
    pub event_json: String,
    pub time_ms: u64,
    /// As in [`EpcisRecordArgs::applied_transactions`].
    pub applied_transactions: Vec<[u8; 32]>,
}

/// Arguments of `m_recall_lot`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct RecallArgs {
    pub gtin: String,
    pub lot: String,
    pub reason: String,
}

/// Arguments of `m_release_lot_recall` and `q_lot_holders`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct LotArgs {
    pub gtin: String,
    pub lot: String,
}

/// Arguments of `m_quarantine`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct QuarantineArgs {
    pub pack: PackId,
    pub reason: String,
}

/// Arguments of `m_decommission`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct DecommissionArgs {
    pub pack: PackId,
    pub reason: DecommissionReason,
}

/// Arguments of `m_close_alert` and `q_alert`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct AlertIdArgs {
    pub id: u64,
}

/// Arguments of `q_stock`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct StockArgs {
    pub organization: String,
    pub gtin: String,
}

/// Arguments of `q_open_alerts`: a page of open alerts in the order raised.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct OpenAlertsArgs {
    /// Continue after this alert id (the previous page's `next_after`); from the oldest when
    /// absent.
    #[cfg_attr(feature = "std", serde(default))]
    pub after: Option<u64>,
    /// At most this many alerts, capped at [`OPEN_ALERTS_PAGE_MAX`]; 0 means the cap.
    #[cfg_attr(feature = "std", serde(default))]
    pub limit: u32,
}

/// Result of `q_open_alerts`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct OpenAlerts {
    pub alerts: Vec<Alert>,
    /// How many alerts are open in all.
    pub open_count: u64,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// Result of `q_lot_holders`: who holds units of a lot now (the reach of a recall).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct LotHolders {
    pub gtin: String,
    pub lot: String,
    /// Organization → packs of the lot in its custody (in stock or shipped by it and not yet
    /// received), dispensed and decommissioned packs excluded; organizations at zero are left out.
    pub holders: BTreeMap<String, u64>,
    pub recall: Option<Recall>,
}

/// Result of `q_stock`: an organization's packs of one GTIN in stock, by lot.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Stock {
    pub organization: String,
    pub gtin: String,
    /// Lot → packs in stock (held and not in transit, dispensed or decommissioned; quarantined
    /// packs count, as they are on the shelf); lots at zero are left out.
    pub lots: BTreeMap<String, u64>,
    pub total: u64,
}

/// Result of `q_pack_state`: a pack with what else decides what may be done with it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PackState {
    pub pack: Pack,
    /// The recall of the pack's lot, when one is in force.
    pub recall: Option<Recall>,
    /// SSCCs of the containers around the pack, innermost first.
    pub containers: Vec<String>,
}

/// What happened to a pack, container or lot; each maps to a CBV business step and disposition
/// (`cbv_business_step`, `cbv_disposition`).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "snake_case", tag = "step"))]
pub enum TraceStep {
    Commissioning {
        lot: String,
        expiry: String,
    },
    Shipping {
        shipment_id: String,
        to: String,
    },
    /// Receiving a shipment, forward or returned.
    Receiving {
        shipment_id: String,
        from: String,
    },
    Dispensing,
    /// Packed into the container `container`.
    Packing {
        container: String,
    },
    /// Taken out of the container `container`.
    Unpacking {
        container: String,
    },
    Decommissioning {
        reason: DecommissionReason,
    },
    Quarantining {
        reason: String,
    },
    ReleasingQuarantine,
    /// A lot recalled (a lot event).
    Recalling {
        reason: String,
    },
    /// A lot's recall lifted (a lot event).
    ReleasingRecall,
    /// Shipping back to an earlier custodian.
    Returning {
        shipment_id: String,
        to: String,
    },
    /// Not found by the consignee's count when shipment `shipment_id` from `from` arrived: the
    /// pack left `from` and did not reach the one who counted. A later receive that finds it
    /// ends this.
    MissingInTransit {
        shipment_id: String,
        from: String,
    },
}

/// The payload of every pack event; its topics are [`topics::pack`] and [`topics::lot`], plus
/// [`topics::container`] and [`topics::shipment`] when the step involves one.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct TraceEvent {
    pub pack: PackId,
    pub step: TraceStep,
    /// Organization that acted.
    pub organization: String,
    /// Member key that signed.
    pub actor: PublicKeyBytes,
    pub time_ms: u64,
}

/// A step of a container itself (packed into another, shipped, received, unpacked); its first
/// topic is [`topics::container`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ContainerEvent {
    pub sscc: String,
    pub step: TraceStep,
    pub organization: String,
    pub actor: PublicKeyBytes,
    pub time_ms: u64,
}

/// A step of a whole lot (recall, release); its topics are [`topics::lot`] and
/// [`topics::RECALL`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct LotEvent {
    pub gtin: String,
    pub lot: String,
    pub step: TraceStep,
    pub organization: String,
    pub actor: PublicKeyBytes,
    pub time_ms: u64,
}

/// Emitted once when a product's master data is registered; topic [`topics::product`].
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ProductRegisteredEvent {
    pub gtin: String,
    pub manufacturer: String,
}

/// Every event the trace contract emits, as one borsh enum: the tag says which kind of event
/// the data is, so a reader (the module's codec, proofs, indexers) decodes it by kind instead
/// of guessing from its topics or trying one type after another (borsh bytes of one type can
/// decode as another). Variants are only ever added at the end: the tag is part of the chain.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
// In JSON an event is its payload, as before events had kinds.
#[cfg_attr(feature = "std", derive(serde::Serialize))]
#[cfg_attr(feature = "std", serde(untagged))]
pub enum ContractEvent {
    ProductRegistered(ProductRegisteredEvent),
    Pack(TraceEvent),
    Container(ContainerEvent),
    Lot(LotEvent),
    Alert(Alert),
    Epcis(EpcisRecord),
    ChinaProductCode(ChinaProductCodeEvent),
}

impl ContractEvent {
    /// The event of one emitted event's data, or `None` when the bytes are not one.
    pub fn decode(data: &[u8]) -> Option<ContractEvent> {
        borsh::from_slice(data).ok()
    }

    /// The kind's name, as in [`ContractEvent::KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            ContractEvent::ProductRegistered(_) => "product_registered",
            ContractEvent::Pack(_) => "pack",
            ContractEvent::Container(_) => "container",
            ContractEvent::Lot(_) => "lot",
            ContractEvent::Alert(_) => "alert",
            ContractEvent::Epcis(_) => "epcis",
            ContractEvent::ChinaProductCode(_) => "china_product_code",
        }
    }

    /// Every kind's name, in tag order.
    pub const KINDS: [&'static str; 7] = [
        "product_registered",
        "pack",
        "container",
        "lot",
        "alert",
        "epcis",
        "china_product_code",
    ];
}

/// The alert numbering and the ends of the list of open alerts, under [`keys::ALERT_BOOK`].
/// Open alerts form a doubly linked list in the order raised ([`AlertLinks`]), so raising and
/// closing one are O(1) and a page of open alerts costs its own length, however many there are.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct AlertBook {
    /// The id of the last alert raised (0: none yet).
    pub last_id: u64,
    pub open_count: u64,
    pub first_open: Option<u64>,
    pub last_open: Option<u64>,
}

/// An alert's neighbours in the list of open alerts, under [`keys::alert_links`]. A closed
/// alert keeps its `next`, so a page that continues after it still finds the open ones that
/// follow (ids only grow along the list).
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct AlertLinks {
    pub previous: Option<u64>,
    pub next: Option<u64>,
}

/// Storage keys of the trace contract.
pub mod keys {
    use super::*;

    pub fn product(gtin: &str) -> Vec<u8> {
        format!("product/{gtin}").into_bytes()
    }

    pub fn pack(id: &PackId) -> Vec<u8> {
        format!("pack/{}/{}", id.gtin, id.serial).into_bytes()
    }

    pub fn shipment(id: &str) -> Vec<u8> {
        format!("shipment/{id}").into_bytes()
    }

    pub fn container(sscc: &str) -> Vec<u8> {
        format!("container/{sscc}").into_bytes()
    }

    /// `Vec<PackId>`: the packs of a shipment that are still missing after a counted receive.
    pub fn shipment_missing(id: &str) -> Vec<u8> {
        format!("shipment_missing/{id}").into_bytes()
    }

    pub fn recall(gtin: &str, lot: &str) -> Vec<u8> {
        format!("recall/{gtin}/{lot}").into_bytes()
    }

    /// `BTreeMap<organization, packs>`: who holds units of the lot. Written when the lot's
    /// first pack is commissioned and never removed, so it also says that the lot exists.
    pub fn lot_holders(gtin: &str, lot: &str) -> Vec<u8> {
        format!("lot_holders/{gtin}/{lot}").into_bytes()
    }

    /// `BTreeMap<lot, packs>`: an organization's stock of a GTIN. One value per organization
    /// and GTIN, so an organization can hold about 2,000 lots of one GTIN at once (the host's
    /// value size limit).
    pub fn stock(organization: &str, gtin: &str) -> Vec<u8> {
        format!("stock/{organization}/{gtin}").into_bytes()
    }

    pub fn alert(id: u64) -> Vec<u8> {
        format!("alert/{id}").into_bytes()
    }

    pub fn alert_links(id: u64) -> Vec<u8> {
        format!("alert_links/{id}").into_bytes()
    }

    /// Holds the GTIN a Chinese product identification code stands for.
    pub fn china_product(product_code: &str) -> Vec<u8> {
        format!("china_product/{product_code}").into_bytes()
    }

    /// A manufacturer's pending claim of a product identification code, by organization: the
    /// GTIN it claims the code for.
    pub fn china_product_claim(product_code: &str, organization: &str) -> Vec<u8> {
        format!("china_product_claim/{product_code}/{organization}").into_bytes()
    }

    pub const ALERT_BOOK: &[u8] = b"alert_book";
}

/// Event topics (index keys) of the trace contract.
pub mod topics {
    use super::*;

    /// Every alert, for the regulator.
    pub const ALERT: &str = "alert";
    /// Every lot recall and release.
    pub const RECALL: &str = "recall";

    pub fn pack(id: &PackId) -> String {
        format!("pack:{}/{}", id.gtin, id.serial)
    }

    pub fn lot(gtin: &str, lot: &str) -> String {
        format!("lot:{gtin}/{lot}")
    }

    pub fn shipment(id: &str) -> String {
        format!("shipment:{id}")
    }

    pub fn product(gtin: &str) -> String {
        format!("product:{gtin}")
    }

    pub fn container(sscc: &str) -> String {
        format!("container:{sscc}")
    }

    /// Claims and approvals of one China product identification code.
    pub fn china_product(product_code: &str) -> String {
        format!("china_product:{product_code}")
    }

    /// The recalls and releases of one lot: what a pack's verification looks up (the global
    /// [`RECALL`] topic lists every lot's).
    pub fn recall_of_lot(gtin: &str, lot: &str) -> String {
        format!("recall:{gtin}/{lot}")
    }

    /// The alerts raised by an organization's requests.
    pub fn alert_for(organization: &str) -> String {
        format!("alert:{organization}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_decoded_by_its_tag_and_names_its_kind() {
        let pack = ContractEvent::Pack(TraceEvent {
            pack: PackId {
                gtin: String::from("09506000134352"),
                serial: String::from("A"),
            },
            step: TraceStep::Dispensing,
            organization: String::from("pharmacy"),
            actor: PublicKeyBytes([7; 32]),
            time_ms: 5,
        });
        let product = ContractEvent::ProductRegistered(ProductRegisteredEvent {
            gtin: String::from("09506000134352"),
            manufacturer: String::from("maker"),
        });
        for (event, tag) in [(&product, 0u8), (&pack, 1u8)] {
            let bytes = borsh::to_vec(event).unwrap();
            assert_eq!(bytes[0], tag, "the tag is the variant's place");
            assert_eq!(ContractEvent::decode(&bytes).as_ref(), Some(event));
            assert_eq!(ContractEvent::KINDS[tag as usize], event.kind());
        }
        // A payload without its tag, or a tag no kind has, is not an event.
        let ContractEvent::Pack(payload) = &pack else {
            unreachable!()
        };
        let mut untagged = borsh::to_vec(payload).unwrap();
        assert_eq!(ContractEvent::decode(&untagged), None);
        untagged.insert(0, ContractEvent::KINDS.len() as u8);
        assert_eq!(ContractEvent::decode(&untagged), None);
    }
}
