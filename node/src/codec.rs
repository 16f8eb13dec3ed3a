//! JSON ⇄ canonical bytes for contract calls, query results and events.
//!
//! Contracts take and return borsh bytes; people and programs write JSON. Each contract that
//! speaks JSON has one [`ContractCodec`], written beside its types by whoever owns the contract:
//! the registry's is here (the registry is the chain's own identity contract), each domain
//! module brings its own ([`crate::app::AppModule::codecs`]). [`Codecs`] holds them all, by
//! contract id, for the API and the CLI.

use crate::receipt::Event;
use rxchain_contract_types::registry;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why JSON did not become canonical bytes, or bytes did not become JSON.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("no JSON format is known for contract '{0}'")]
    UnknownContract(String),
    #[error("no JSON argument format is known for {contract}.{method}")]
    UnknownMethod { contract: String, method: String },
    #[error("no JSON result format is known for {contract}.{query}")]
    UnknownQuery { contract: String, query: String },
    /// The JSON does not have the method's argument shape.
    #[error("{0}")]
    InvalidArguments(String),
    /// The bytes are not the canonical encoding of the expected type.
    #[error("the bytes do not decode: {0}")]
    Undecodable(String),
}

/// The JSON face of one contract.
pub trait ContractCodec: Send + Sync {
    /// The contract this codec speaks for.
    fn contract_id(&self) -> &'static str;
    /// The canonical argument bytes of a method or query (named without the `m_`/`q_` export
    /// prefix) from JSON.
    fn encode_arguments(&self, method: &str, arguments: Value) -> Result<Vec<u8>, CodecError>;
    /// A query's return bytes as JSON.
    fn decode_result(&self, query: &str, bytes: &[u8]) -> Result<Value, CodecError>;
    /// An event's payload as JSON; `None` when it does not decode.
    fn decode_event(&self, event: &Event) -> Option<Value>;
}

/// Canonical bytes of `T` read from JSON (for codecs' method tables).
pub fn encode_json<T: serde::de::DeserializeOwned + borsh::BorshSerialize>(
    arguments: Value,
) -> Result<Vec<u8>, CodecError> {
    let value: T = serde_json::from_value(arguments)
        .map_err(|error| CodecError::InvalidArguments(error.to_string()))?;
    Ok(borsh::to_vec(&value).expect("a value in memory encodes"))
}

/// JSON of the `T` whose canonical bytes are `bytes` (for codecs' result tables).
pub fn decode_json<T: borsh::BorshDeserialize + serde::Serialize>(
    bytes: &[u8],
) -> Result<Value, CodecError> {
    let value =
        T::try_from_slice(bytes).map_err(|error| CodecError::Undecodable(error.to_string()))?;
    serde_json::to_value(value).map_err(|error| CodecError::Undecodable(error.to_string()))
}

/// Every contract codec the node and its modules know, by contract id.
#[derive(Clone, Default)]
pub struct Codecs {
    by_contract: BTreeMap<&'static str, Arc<dyn ContractCodec>>,
}

impl std::fmt::Debug for Codecs {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_list()
            .entries(self.by_contract.keys())
            .finish()
    }
}

impl Codecs {
    /// The registry's codec and `others`. Two codecs for one contract is a composition error.
    pub fn new(others: impl IntoIterator<Item = Arc<dyn ContractCodec>>) -> Codecs {
        let mut by_contract: BTreeMap<&'static str, Arc<dyn ContractCodec>> = BTreeMap::new();
        for codec in
            std::iter::once(Arc::new(RegistryCodec) as Arc<dyn ContractCodec>).chain(others)
        {
            let contract = codec.contract_id();
            assert!(
                by_contract.insert(contract, codec).is_none(),
                "two codecs for contract '{contract}'"
            );
        }
        Codecs { by_contract }
    }

    fn codec(&self, contract: &str) -> Result<&dyn ContractCodec, CodecError> {
        self.by_contract
            .get(contract)
            .map(|codec| codec.as_ref())
            .ok_or_else(|| CodecError::UnknownContract(contract.into()))
    }

    pub fn encode_arguments(
        &self,
        contract: &str,
        method: &str,
        arguments: Value,
    ) -> Result<Vec<u8>, CodecError> {
        self.codec(contract)
            .map_err(|_| CodecError::UnknownMethod {
                contract: contract.into(),
                method: method.into(),
            })?
            .encode_arguments(method, arguments)
    }

    pub fn decode_result(
        &self,
        contract: &str,
        query: &str,
        bytes: &[u8],
    ) -> Result<Value, CodecError> {
        self.codec(contract)?.decode_result(query, bytes)
    }

    /// An event's payload as JSON, when its contract has a codec and the payload decodes.
    pub fn decode_event(&self, event: &Event) -> Option<Value> {
        self.codec(&event.contract).ok()?.decode_event(event)
    }
}

/// The registry contract's JSON: organizations, members, governance proposals.
#[derive(Debug)]
pub struct RegistryCodec;

impl ContractCodec for RegistryCodec {
    fn contract_id(&self) -> &'static str {
        registry::CONTRACT_ID
    }

    fn encode_arguments(&self, method: &str, arguments: Value) -> Result<Vec<u8>, CodecError> {
        match method {
            "propose" => encode_json::<registry::ProposeArgs>(arguments),
            "approve" | "proposal" => encode_json::<registry::ProposalIdArgs>(arguments),
            "organization" => encode_json::<registry::OrganizationIdArgs>(arguments),
            "member" => encode_json::<registry::PublicKeyArgs>(arguments),
            _ => Err(CodecError::UnknownMethod {
                contract: registry::CONTRACT_ID.into(),
                method: method.into(),
            }),
        }
    }

    fn decode_result(&self, query: &str, bytes: &[u8]) -> Result<Value, CodecError> {
        match query {
            "organization" => decode_json::<registry::Organization>(bytes),
            "member" => decode_json::<registry::Member>(bytes),
            "proposal" => decode_json::<registry::Proposal>(bytes),
            _ => Err(CodecError::UnknownQuery {
                contract: registry::CONTRACT_ID.into(),
                query: query.into(),
            }),
        }
    }

    fn decode_event(&self, event: &Event) -> Option<Value> {
        decode_json::<registry::Proposal>(&event.data).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_contracts_and_methods_are_named() {
        let codecs = Codecs::new([]);
        assert_eq!(
            codecs.encode_arguments("nothing", "m", json!({})),
            Err(CodecError::UnknownMethod {
                contract: "nothing".into(),
                method: "m".into()
            })
        );
        assert!(matches!(
            codecs.encode_arguments(registry::CONTRACT_ID, "nope", json!({})),
            Err(CodecError::UnknownMethod { .. })
        ));
        assert!(matches!(
            codecs.encode_arguments(registry::CONTRACT_ID, "organization", json!({"wrong": 1})),
            Err(CodecError::InvalidArguments(_))
        ));
        assert!(matches!(
            codecs.decode_result(registry::CONTRACT_ID, "member", &[1, 2, 3]),
            Err(CodecError::Undecodable(_))
        ));
    }

    #[test]
    #[should_panic(expected = "two codecs for contract 'registry'")]
    fn a_contract_has_one_codec() {
        Codecs::new([Arc::new(RegistryCodec) as Arc<dyn ContractCodec>]);
    }
}
