//! Proof bundles: what a pack's verification answer proves, checkable offline with the genesis
//! file alone.
//!
//! A bundle's body lists ledger entries: for each transaction that matters (the product's
//! registration, every event of the pack), the transaction's canonical bytes and its Merkle
//! inclusion proof in the block's transactions root, the receipt and its inclusion proof in the
//! receipts root, the block header and its finality certificate. From those, [`statement`]
//! derives the product facts, the custody timeline and the verdict; the verifier derives them
//! again and requires equality. The node's validator key signs the whole body (an attestation),
//! so inputs that are not ledger data — when it was checked, what the pack's label said — cannot
//! be changed either: changing any value of a bundle makes verification fail.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rxchain_node::hash::Hash;
use rxchain_node::proof::{EntryError, LedgerEntry, ProvenEntry, check_entry};
use rxchain_node::receipt::ReceiptStatus;
use rxchain_trace_types::{self as trace, ContractEvent, PackId, Product, TraceEvent, TraceStep};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Format tag of bundles this code writes and reads.
pub const BUNDLE_FORMAT: &str = "rxchain-proof-bundle/1";
/// Domain tag of the attestation signature.
pub const ATTESTATION_DOMAIN: &[u8] = b"rxchain/proof-bundle-attestation/v1";
/// Most entries one bundle carries.
pub const BUNDLE_ENTRIES_MAX: usize = 512;

/// What was asked: the pack, and what its label said (when the scan carried it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub gtin: String,
    pub serial: String,
    pub scanned_lot: Option<String>,
    /// YYMMDD, as in GS1 AI 17.
    pub scanned_expiry: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleBody {
    pub chain_id: String,
    pub genesis_hash: String,
    pub subject: Subject,
    pub checked_at_ms: u64,
    pub head_height: u64,
    pub entries: Vec<LedgerEntry>,
    /// Derived from the entries by [`statement`]; the verifier recomputes it.
    pub statement: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    pub validator: String,
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    pub format: String,
    pub body: BundleBody,
    pub attestation: Attestation,
}

/// Why a bundle does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a proof bundle: {0}")]
    Format(String),
    #[error("the bundle is for chain {found}, the genesis file is {expected}")]
    WrongChain { expected: String, found: String },
    #[error("entry {index}: {source}")]
    Entry { index: usize, source: EntryError },
    #[error("entry {index}: entries are not in chain order")]
    OutOfOrder { index: usize },
    #[error("entry {index}: the same transaction appears twice")]
    Repeated { index: usize },
    #[error("the statement does not follow from the proven entries")]
    StatementMismatch,
    #[error("attestation: {0}")]
    Attestation(String),
}

/// The bytes an attestation signs after its domain: serde_json's map is ordered by key, so the
/// encoding of a body is one byte string.
fn attested_bytes(body: &BundleBody) -> Vec<u8> {
    serde_json::to_vec(body).expect("bundle body serializes")
}

fn attestation_message(body: &BundleBody) -> Vec<u8> {
    let mut message = ATTESTATION_DOMAIN.to_vec();
    message.extend_from_slice(&attested_bytes(body));
    message
}

/// The pack events among proven entries, in chain order.
fn pack_events(entries: &[ProvenEntry], pack: &PackId) -> Vec<(u64, u64, TraceEvent)> {
    let topic = trace::topics::pack(pack);
    let mut found = Vec::new();
    for entry in entries {
        if entry.receipt.status != ReceiptStatus::Success {
            continue;
        }
        for event in &entry.receipt.events {
            if event.contract == trace::CONTRACT_ID
                && event.topics.contains(&topic)
                && let Some(ContractEvent::Pack(decoded)) = ContractEvent::decode(&event.data)
            {
                found.push((entry.header.height, entry.header.timestamp_ms, decoded));
            }
        }
    }
    found
}

/// The recall steps of a lot among proven entries, in chain order.
fn lot_recall_steps(entries: &[ProvenEntry], gtin: &str, lot: &str) -> Vec<(u64, trace::LotEvent)> {
    let mut found = Vec::new();
    for entry in entries {
        if entry.receipt.status != ReceiptStatus::Success {
            continue;
        }
        for event in &entry.receipt.events {
            if event.contract != trace::CONTRACT_ID
                || !event
                    .topics
                    .iter()
                    .any(|topic| topic == trace::topics::RECALL)
            {
                continue;
            }
            if let Some(ContractEvent::Lot(decoded)) = ContractEvent::decode(&event.data)
                && decoded.gtin == gtin
                && decoded.lot == lot
            {
                found.push((entry.header.timestamp_ms, decoded));
            }
        }
    }
    found
}

/// The product master data from a proven, successful `register_product` transaction.
fn product_facts(entries: &[ProvenEntry], gtin: &str) -> Option<Product> {
    entries.iter().find_map(|entry| {
        let body = &entry.transaction.body;
        if body.contract != trace::CONTRACT_ID
            || body.method != "register_product"
            || entry.receipt.status != ReceiptStatus::Success
        {
            return None;
        }
        let mut product: Product = borsh::from_slice(&body.args).ok()?;
        if product.gtin != gtin {
            return None;
        }
        // The contract sets the manufacturer to the caller's organization and says so in its
        // event; the argument's own field is ignored on chain, so it is taken from the receipt.
        let topic = trace::topics::product(gtin);
        product.manufacturer = entry.receipt.events.iter().find_map(|event| {
            if event.contract != trace::CONTRACT_ID || !event.topics.contains(&topic) {
                return None;
            }
            match ContractEvent::decode(&event.data)? {
                ContractEvent::ProductRegistered(registered) => Some(registered.manufacturer),
                _ => None,
            }
        })?;
        Some(product)
    })
}

/// YYMMDD → (year, month, day) with GS1's century rule simplified to 20YY.
fn parse_yymmdd(text: &str) -> Option<(u32, u32, u32)> {
    if !trace::is_valid_yymmdd(text) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().ok();
    Some((2000 + number(0..2)?, number(2..4)?, number(4..6)?))
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let (year, month, day) = (year as i64, month as i64, day as i64);
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// True when the pack is past its expiry date at `at_ms` (day 00 means the month's last day).
fn is_expired(expiry: &str, at_ms: u64) -> bool {
    let Some((year, month, day)) = parse_yymmdd(expiry) else {
        return false;
    };
    let last_valid_day = if day == 0 {
        let (next_year, next_month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        days_from_civil(next_year, next_month, 1) - 1
    } else {
        days_from_civil(year, month, day)
    };
    (at_ms / 86_400_000) as i64 > last_valid_day
}

/// What a scan is told about a pack, derived only from proven entries, the subject and the time
/// of the check. Its JSON (keys in order) is what a bundle carries and its attestation signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub pack: PackId,
    /// From the commissioning event; `None` when the pack is not on the ledger.
    pub lot: Option<String>,
    /// YYMMDD, from the commissioning event.
    pub expiry: Option<String>,
    /// The organization that holds the pack: the last to commission or receive it.
    pub custodian: Option<String>,
    pub product: Option<Product>,
    pub timeline: Vec<TimelineItem>,
    pub verdict: Verdict,
}

/// One step of a pack's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineItem {
    pub height: u64,
    /// The block's time.
    pub time_ms: u64,
    pub organization: String,
    /// Hex of the member key that signed.
    pub actor: String,
    pub step: TraceStep,
}

/// What a pack's verification concludes, most serious first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictCode {
    UnknownCode,
    LabelMismatch,
    Recalled,
    Quarantined,
    MissingInTransit,
    Decommissioned,
    AlreadyDispensed,
    Expired,
    Genuine,
}

impl VerdictCode {
    /// The code as it appears in JSON, e.g. `already_dispensed`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictCode::UnknownCode => "unknown_code",
            VerdictCode::LabelMismatch => "label_mismatch",
            VerdictCode::Recalled => "recalled",
            VerdictCode::Quarantined => "quarantined",
            VerdictCode::MissingInTransit => "missing_in_transit",
            VerdictCode::Decommissioned => "decommissioned",
            VerdictCode::AlreadyDispensed => "already_dispensed",
            VerdictCode::Expired => "expired",
            VerdictCode::Genuine => "genuine",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub code: VerdictCode,
    /// The verdict for people (English).
    pub summary: String,
    /// Why, as the ledger says: the recall's or quarantine's reason, or how the pack was
    /// decommissioned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispensed_at_ms: Option<u64>,
}

impl Verdict {
    fn new(code: VerdictCode, summary: impl Into<String>) -> Verdict {
        Verdict {
            code,
            summary: summary.into(),
            reason: None,
            recalled_at_ms: None,
            dispensed_at_ms: None,
        }
    }
}

/// The step's name as the statement's JSON spells it (`commissioning`, `releasing_quarantine`).
pub fn step_name(step: &TraceStep) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|value| value["step"].as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Statement {
    /// The statement a bundle carries, as the JSON value it is signed and compared as.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a statement serializes")
    }
}

impl ProofBundle {
    /// The bundle's statement, typed. The JSON form is what the attestation covers; this reads
    /// it back (a bundle of this format always has one).
    pub fn statement(&self) -> Result<Statement, BundleError> {
        serde_json::from_value(self.body.statement.clone())
            .map_err(|error| BundleError::Format(format!("statement: {error}")))
    }
}

/// The statement a bundle makes: product facts, custody timeline and verdict, derived only from
/// proven entries, the subject and the time of the check.
///
/// Long because it derives the statement's parts in one place (facts, timeline, custody,
/// verdict), so the verifier derives exactly the same.
pub fn statement(entries: &[ProvenEntry], subject: &Subject, checked_at_ms: u64) -> Statement {
    let pack = PackId {
        gtin: subject.gtin.clone(),
        serial: subject.serial.clone(),
    };
    let events = pack_events(entries, &pack);
    let product = product_facts(entries, &subject.gtin);
    let timeline: Vec<TimelineItem> = events
        .iter()
        .map(|(height, block_time_ms, event)| TimelineItem {
            height: *height,
            time_ms: *block_time_ms,
            organization: event.organization.clone(),
            actor: event.actor.to_hex(),
            step: event.step.clone(),
        })
        .collect();
    let commissioning = events.iter().find_map(|(_, _, event)| match &event.step {
        TraceStep::Commissioning { lot, expiry } => Some((lot.clone(), expiry.clone())),
        _ => None,
    });
    let dispensed_at = events.iter().find_map(|(_, time_ms, event)| {
        matches!(event.step, TraceStep::Dispensing).then_some(*time_ms)
    });
    let decommissioned = events.iter().find_map(|(_, _, event)| match &event.step {
        TraceStep::Decommissioning { reason } => Some(format!("{reason:?}").to_lowercase()),
        _ => None,
    });
    // Quarantine and recall can be lifted: the last word counts.
    let quarantine = events
        .iter()
        .fold(None, |state, (_, _, event)| match &event.step {
            TraceStep::Quarantining { reason } => Some(reason.clone()),
            TraceStep::ReleasingQuarantine => None,
            _ => state,
        });
    // A count on arrival that did not find the pack, until a later receive finds it.
    let missing = events
        .iter()
        .fold(None, |state, (_, _, event)| match &event.step {
            TraceStep::MissingInTransit { shipment_id, from } => Some((
                shipment_id.clone(),
                from.clone(),
                event.organization.clone(),
            )),
            TraceStep::Receiving { .. } => None,
            _ => state,
        });
    let recall = commissioning.as_ref().and_then(|(lot, _)| {
        lot_recall_steps(entries, &subject.gtin, lot)
            .into_iter()
            .fold(None, |state, (time_ms, event)| match &event.step {
                TraceStep::Recalling { reason } => Some((reason.clone(), time_ms)),
                TraceStep::ReleasingRecall => None,
                _ => state,
            })
    });
    let custodian = events
        .iter()
        .fold(None, |holder, (_, _, event)| match &event.step {
            TraceStep::Commissioning { .. } => Some(event.organization.clone()),
            TraceStep::Receiving { .. } => Some(event.organization.clone()),
            _ => holder,
        });
    let label_differs = |lot: &String, expiry: &String| {
        subject
            .scanned_lot
            .as_ref()
            .is_some_and(|scanned| scanned != lot)
            || subject
                .scanned_expiry
                .as_ref()
                .is_some_and(|scanned| scanned != expiry)
    };
    let verdict = match (
        &commissioning,
        &recall,
        &quarantine,
        &decommissioned,
        dispensed_at,
    ) {
        (None, ..) => Verdict::new(
            VerdictCode::UnknownCode,
            "This code is not on the ledger. The pack may be counterfeit.",
        ),
        (Some((lot, expiry)), ..) if label_differs(lot, expiry) => Verdict::new(
            VerdictCode::LabelMismatch,
            format!(
                "The lot or expiry on the pack differ from the ledger (lot {lot}, expiry {expiry}). The pack may be counterfeit."
            ),
        ),
        (Some((lot, _)), Some((reason, time_ms)), ..) => Verdict {
            recalled_at_ms: Some(*time_ms),
            reason: Some(reason.clone()),
            ..Verdict::new(
                VerdictCode::Recalled,
                format!(
                    "Lot {lot} of this product is recalled ({reason}). Do not use it; return it to the pharmacy."
                ),
            )
        },
        (Some(_), None, Some(reason), ..) => Verdict::new(
            VerdictCode::Quarantined,
            format!("This pack is quarantined as suspect ({reason}). Do not use it."),
        ),
        (Some(_), None, None, ..) if missing.is_some() => {
            let (shipment_id, from, to) = missing.as_ref().expect("matched");
            Verdict {
                reason: Some(format!("missing from shipment {shipment_id}")),
                ..Verdict::new(
                    VerdictCode::MissingInTransit,
                    format!(
                        "This pack left {from} in shipment {shipment_id} but {to} did not find it on arrival. It may be stolen or diverted; do not use it, and tell the pharmacy or the regulator."
                    ),
                )
            }
        }
        (Some(_), None, None, Some(reason), _) => Verdict::new(
            VerdictCode::Decommissioned,
            format!(
                "This pack was taken out of the supply chain ({reason}). It should not be in anyone's hands."
            ),
        ),
        (Some(_), None, None, None, Some(time_ms)) => Verdict {
            dispensed_at_ms: Some(time_ms),
            ..Verdict::new(
                VerdictCode::AlreadyDispensed,
                "This pack was already dispensed to a patient. A second pack with the same code may be a copy.",
            )
        },
        (Some((_, expiry)), ..) if is_expired(expiry, checked_at_ms) => Verdict::new(
            VerdictCode::Expired,
            format!("This pack expired ({expiry}). Do not use it."),
        ),
        (Some(_), ..) => Verdict::new(
            VerdictCode::Genuine,
            "Genuine: this pack was made by its registered manufacturer and is in the supply chain.",
        ),
    };
    Statement {
        pack,
        lot: commissioning.as_ref().map(|(lot, _)| lot.clone()),
        expiry: commissioning.as_ref().map(|(_, expiry)| expiry.clone()),
        custodian,
        product,
        timeline,
        verdict,
    }
}

/// Signs a body as one of the chain's validators.
pub fn attest(body: BundleBody, key: &SigningKey) -> ProofBundle {
    attest_with(body, |bytes| {
        let mut message = ATTESTATION_DOMAIN.to_vec();
        message.extend_from_slice(bytes);
        (
            key.verifying_key().to_bytes(),
            key.sign(&message).to_bytes(),
        )
    })
}

/// Signs a body with `sign`, which returns the validator's key and its signature over
/// [`ATTESTATION_DOMAIN`] followed by the bytes it is given (what `Node::attest` does).
pub fn attest_with(
    body: BundleBody,
    sign: impl FnOnce(&[u8]) -> ([u8; 32], [u8; 64]),
) -> ProofBundle {
    let (validator, signature) = sign(&attested_bytes(&body));
    ProofBundle {
        format: BUNDLE_FORMAT.into(),
        attestation: Attestation {
            validator: hex::encode(validator),
            signature: hex::encode(signature),
        },
        body,
    }
}

/// What a verified bundle proves.
#[derive(Debug)]
pub struct VerifiedBundle {
    pub statement: Statement,
    pub entries: Vec<ProvenEntry>,
    pub attested_by: String,
}

/// Verifies a bundle offline against the chain's identity and validator set.
pub fn verify_bundle(
    bundle: &ProofBundle,
    chain_id: &str,
    genesis_hash: &Hash,
    validators: &[[u8; 32]],
) -> Result<VerifiedBundle, BundleError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(BundleError::Format(format!("format '{}'", bundle.format)));
    }
    let body = &bundle.body;
    if body.chain_id != chain_id || body.genesis_hash != hex::encode(genesis_hash) {
        return Err(BundleError::WrongChain {
            expected: format!("{chain_id} ({})", hex::encode(genesis_hash)),
            found: format!("{} ({})", body.chain_id, body.genesis_hash),
        });
    }
    if body.entries.len() > BUNDLE_ENTRIES_MAX {
        return Err(BundleError::Format(format!(
            "{} entries, at most {BUNDLE_ENTRIES_MAX}",
            body.entries.len()
        )));
    }
    let validator: [u8; 32] = hex::decode(&bundle.attestation.validator)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| BundleError::Attestation("validator is not a 32-byte hex key".into()))?;
    if !validators.contains(&validator) {
        return Err(BundleError::Attestation(
            "signed by a key that is not a validator".into(),
        ));
    }
    let signature: [u8; 64] = hex::decode(&bundle.attestation.signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| BundleError::Attestation("signature is not 64 hex bytes".into()))?;
    VerifyingKey::from_bytes(&validator)
        .and_then(|key| {
            key.verify_strict(
                &attestation_message(body),
                &Signature::from_bytes(&signature),
            )
        })
        .map_err(|_| BundleError::Attestation("signature does not verify".into()))?;
    let mut entries = Vec::with_capacity(body.entries.len());
    let mut previous: Option<(u64, [u8; 32])> = None;
    for (index, entry) in body.entries.iter().enumerate() {
        let proven = check_entry(entry, chain_id, validators)
            .map_err(|source| BundleError::Entry { index, source })?;
        let position = (proven.header.height, proven.transaction.id());
        if let Some(before) = previous
            && before.0 > position.0
        {
            return Err(BundleError::OutOfOrder { index });
        }
        if entries
            .iter()
            .any(|earlier: &ProvenEntry| earlier.transaction.id() == position.1)
        {
            return Err(BundleError::Repeated { index });
        }
        previous = Some(position);
        entries.push(proven);
    }
    let recomputed = statement(&entries, &body.subject, body.checked_at_ms);
    if recomputed.to_value() != body.statement {
        return Err(BundleError::StatementMismatch);
    }
    Ok(VerifiedBundle {
        statement: recomputed,
        entries,
        attested_by: bundle.attestation.validator.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_follow_gs1_rules() {
        let day = 86_400_000u64;
        let first_of_december_2028 = days_from_civil(2028, 12, 1) as u64 * day;
        assert!(!is_expired("281201", first_of_december_2028));
        assert!(is_expired("281130", first_of_december_2028));
        // Day 00: valid through the month's last day.
        assert!(!is_expired("281100", first_of_december_2028 - day));
        assert!(is_expired("281100", first_of_december_2028));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
