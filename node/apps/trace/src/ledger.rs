//! What the traceability module reads from the chain: a pack's proven ledger entries, and
//! records of the trace and registry contracts read straight from committed state.

use crate::proof::{self, BUNDLE_ENTRIES_MAX, ProofBundle, Subject};
use rxchain_contract_types::{registry, trace};
use rxchain_node::NodeError;
use rxchain_node::hash::Hash;
use rxchain_node::runtime::Node;

/// Builds the verification answer for a pack: its ledger entries with proofs (the product's
/// registration, every event of the pack, the recalls of its lot), the statement derived from
/// them, attested by this node's validator key.
pub fn prove_pack(
    node: &Node,
    subject: Subject,
    checked_at_ms: u64,
) -> Result<ProofBundle, NodeError> {
    let storage = node.storage();
    let head = node.head();
    let pack = trace::PackId {
        gtin: subject.gtin.clone(),
        serial: subject.serial.clone(),
    };
    let mut topics = vec![
        trace::topics::product(&subject.gtin),
        trace::topics::pack(&pack),
    ];
    // Recalls are lot events: look up the recall topic of this pack's lot.
    if let Some(record) =
        stored_record::<trace::Pack>(node, trace::CONTRACT_ID, &trace::keys::pack(&pack))
    {
        topics.push(trace::topics::recall_of_lot(&subject.gtin, &record.lot));
    }
    let mut located: Vec<(u64, u32, Hash)> = Vec::new();
    for topic in &topics {
        for location in storage.events_by_topic(topic, BUNDLE_ENTRIES_MAX)? {
            located.push((
                location.height,
                location.transaction_index,
                location.transaction_id,
            ));
        }
    }
    located.sort();
    located.dedup();
    located.truncate(BUNDLE_ENTRIES_MAX);
    let mut entries = Vec::with_capacity(located.len());
    let mut proven = Vec::with_capacity(located.len());
    for (_, _, id) in &located {
        let (entry, checked) = rxchain_node::proof::ledger_entry(storage, id)?;
        entries.push(entry);
        proven.push(checked);
    }
    let statement = proof::statement(&proven, &subject, checked_at_ms);
    let body = proof::BundleBody {
        chain_id: node.genesis().chain_id.clone(),
        genesis_hash: hex::encode(node.genesis_hash()),
        subject,
        checked_at_ms,
        head_height: head.height,
        entries,
        statement,
    };
    Ok(proof::attest_with(body, |message_body| {
        node.attest(proof::ATTESTATION_DOMAIN, message_body)
    }))
}

/// A contract's committed record under `key`, read straight from state (the layout is the
/// contract's types crate's), without running the contract. `None` when absent or undecodable.
pub fn stored_record<T: borsh::BorshDeserialize>(
    node: &Node,
    contract: &str,
    key: &[u8],
) -> Option<T> {
    node.storage()
        .state(contract, key)
        .ok()
        .flatten()
        .and_then(|bytes| borsh::from_slice(&bytes).ok())
}

/// The pack's SGTIN EPC URN, split with the GS1 company prefix length its manufacturer
/// registered (a GTIN alone does not say where the company prefix ends). `None` when the
/// product or the manufacturer's prefix is unknown.
pub fn sgtin_urn(node: &Node, pack: &trace::PackId) -> Option<String> {
    let product: trace::Product =
        stored_record(node, trace::CONTRACT_ID, &trace::keys::product(&pack.gtin))?;
    let organization: registry::Organization = stored_record(
        node,
        registry::CONTRACT_ID,
        &registry::keys::organization(&product.manufacturer),
    )?;
    let prefix_length = organization.gs1_company_prefix?.len() as u8;
    let gtin = rxchain_gs1::Gtin::parse(&pack.gtin).ok()?;
    let sgtin = rxchain_gs1::Sgtin::new(gtin, &pack.serial).ok()?;
    Some(sgtin.to_epc_urn(rxchain_gs1::CompanyPrefixLength::new(prefix_length).ok()?))
}
