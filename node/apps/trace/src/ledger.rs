//! What the traceability module reads from the chain, all through the chain client: a pack's
//! ledger entries with their proof material, and records answered by the trace and registry
//! contracts' queries.

use crate::Trace;
use crate::proof::{self, BUNDLE_ENTRIES_MAX, ProofBundle, Subject};
use rxchain_contract_types::{abi, registry};
use rxchain_node::client::{ChainClient, ClientError};
use rxchain_node::hash::Hash;
use rxchain_trace_types as trace;
use std::collections::HashMap;

/// Builds the verification answer for a pack: its ledger entries with proofs (the product's
/// registration, every event of the pack, the recalls of its lot), the statement derived from
/// them, attested by this node's validator key.
pub fn prove_pack(
    trace_state: &Trace,
    subject: Subject,
    checked_at_ms: u64,
) -> Result<ProofBundle, ClientError> {
    let client = trace_state.client();
    let chain = client.chain()?;
    let head = client.head()?;
    let pack = trace::PackId {
        gtin: subject.gtin.clone(),
        serial: subject.serial.clone(),
    };
    let mut found = client.events(
        &trace::topics::product(&subject.gtin),
        None,
        BUNDLE_ENTRIES_MAX,
    )?;
    let pack_events = client.events(&trace::topics::pack(&pack), None, BUNDLE_ENTRIES_MAX)?;
    // Recalls are lot events: the pack's lot is in its commissioning event, the first of its
    // events, and a lot never changes.
    let lot = pack_events.iter().find_map(|located| {
        if located.event.contract != trace::CONTRACT_ID {
            return None;
        }
        match trace::ContractEvent::decode(&located.event.data)? {
            trace::ContractEvent::Pack(trace::TraceEvent {
                step: trace::TraceStep::Commissioning { lot, .. },
                ..
            }) => Some(lot),
            _ => None,
        }
    });
    found.extend(pack_events);
    if let Some(lot) = lot {
        found.extend(client.events(
            &trace::topics::recall_of_lot(&subject.gtin, &lot),
            None,
            BUNDLE_ENTRIES_MAX,
        )?);
    }
    let mut located: Vec<(u64, u32, Hash)> = found
        .into_iter()
        .map(|found| {
            let location = found.location;
            (
                location.height,
                location.transaction_index,
                location.transaction_id,
            )
        })
        .collect();
    located.sort();
    located.dedup();
    located.truncate(BUNDLE_ENTRIES_MAX);
    let mut entries = Vec::with_capacity(located.len());
    let mut proven = Vec::with_capacity(located.len());
    for (_, _, id) in &located {
        // The check (certificate, Merkle paths) is the reader's: `rxchain verify`, or whoever
        // else receives the bundle, derives the statement again from checked entries. Here the
        // node's own answers only need decoding.
        let (entry, decoded) = client.decoded_ledger_entry(id)?;
        proven.push(decoded);
        entries.push(entry);
    }
    let statement = proof::statement(&proven, &subject, checked_at_ms).to_value();
    let body = proof::BundleBody {
        chain_id: chain.chain_id,
        genesis_hash: hex::encode(chain.genesis_hash),
        subject,
        checked_at_ms,
        head_height: head.height,
        entries,
        statement,
    };
    Ok(proof::attest_with(body, |bytes| {
        trace_state
            .context()
            .attest(proof::ATTESTATION_DOMAIN, bytes)
    }))
}

/// A record a contract query answers for `arguments`; `None` when the contract says it does not
/// exist.
pub fn query_record<T: borsh::BorshDeserialize>(
    client: &dyn ChainClient,
    contract: &str,
    query: &str,
    arguments: &impl borsh::BorshSerialize,
) -> Result<Option<T>, ClientError> {
    let arguments = borsh::to_vec(arguments).expect("arguments encode");
    match client.query(contract, query, &arguments) {
        Ok(bytes) => borsh::from_slice(&bytes).map(Some).map_err(|error| {
            ClientError::Node(format!(
                "{contract}.{query} answered undecodable bytes: {error}"
            ))
        }),
        Err(ClientError::QueryFailed { code, .. }) if code == abi::error_code::NOT_FOUND => {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The GS1 company prefix length of each product's manufacturer, looked up once per GTIN (an
/// EPC query renders many events of few products).
#[derive(Debug, Default)]
pub struct CompanyPrefixes {
    by_gtin: HashMap<String, Option<u8>>,
}

impl CompanyPrefixes {
    fn prefix_length(&mut self, client: &dyn ChainClient, gtin: &str) -> Option<u8> {
        if let Some(known) = self.by_gtin.get(gtin) {
            return *known;
        }
        let length = (|| {
            let product: trace::Product = query_record(
                client,
                trace::CONTRACT_ID,
                "product",
                &trace::GtinArgs { gtin: gtin.into() },
            )
            .ok()??;
            let organization: registry::Organization = query_record(
                client,
                registry::CONTRACT_ID,
                "organization",
                &registry::OrganizationIdArgs {
                    id: product.manufacturer,
                },
            )
            .ok()??;
            Some(organization.gs1_company_prefix?.len() as u8)
        })();
        self.by_gtin.insert(gtin.to_string(), length);
        length
    }

    /// The pack's SGTIN EPC URN, split with the GS1 company prefix length its manufacturer
    /// registered (a GTIN alone does not say where the company prefix ends). `None` when the
    /// product or the manufacturer's prefix is unknown.
    pub fn sgtin_urn(&mut self, client: &dyn ChainClient, pack: &trace::PackId) -> Option<String> {
        let prefix_length = self.prefix_length(client, &pack.gtin)?;
        let gtin = rxchain_gs1::Gtin::parse(&pack.gtin).ok()?;
        let sgtin = rxchain_gs1::Sgtin::new(gtin, &pack.serial).ok()?;
        Some(sgtin.to_epc_urn(rxchain_gs1::CompanyPrefixLength::new(prefix_length).ok()?))
    }
}
