//! EPCIS 2.0 (GS1 JSON-LD) for rxchain: the typed event model, validation of capture
//! payloads, CBV vocabularies, event hash IDs, query parameters and JSON-LD serialisation.
//! Pure functions over JSON values; storage, HTTP and the mapping to contract calls live in
//! the node.
//!
//! How the parts fit:
//!
//! * [`validate`] — [`validate_document`] reads an `EPCISDocument` (or a single event with its
//!   own `@context`, which the REST binding's capture also accepts, or an
//!   `EPCISQueryDocument`) into an [`EpcisDocument`], or returns [`Error::InvalidDocument`]
//!   listing *every* problem with its event index, `eventID`, field path
//!   (`epcisBody.eventList[2].bizStep`) and a stable [`ProblemCode`]. A capture is all or
//!   nothing, so one bad event rejects the document.
//! * [`model`] — [`Event`] over the five event types, with [`Event::epcs`],
//!   [`Event::event_id`] and the rest of what queries and contract mapping need.
//! * [`vocabulary`] — CBV 2.0 values ([`BusinessStep`], [`Disposition`], …): the three
//!   standard spellings normalise to the bare word; extensions must be IRIs.
//! * [`identifier`] — EPC URNs, EPC classes and patterns, GS1 Digital Link URIs (through
//!   `rxchain-gs1`), and the canonical form used to match a URN query against a Digital Link
//!   capture.
//! * [`time`] — RFC 3339 timestamps with mandatory offset, and `eventTimeZoneOffset`.
//! * [`context`] — the two accepted EPCIS context URLs (both mean the bundled context;
//!   nothing is fetched) and namespace prefixes for extensions.
//! * [`hash`] — the CBV 2.0 event hash ID (`ni:///sha-256;…?ver=CBV2.0`) for events captured
//!   without an `eventID`, over a SHA-256 written in this crate.
//! * [`serialize`] — [`Event::to_json_ld`], [`EpcisDocument::to_json_ld`] and
//!   [`query_document`], the `EPCISQueryDocument` `GET /events` returns, with the paging
//!   `Link` header.
//! * [`query`] — [`QueryParameters`] from a URL query string (`EQ_bizStep`, `MATCH_anyEPC`,
//!   `GE_eventTime`, `perPage`, `nextPageToken`, …) and [`QueryParameters::matches`].
//!
//! Decisions worth knowing:
//!
//! * Extension vocabulary: a `bizStep`, `disposition` or other CBV value that is not a
//!   standard word must be an absolute URI (`http(s)`, URN, or a compact IRI such as
//!   `ext1:summarising_discharge`). Bare non-CBV words (`transforming`, `in_transport`) and
//!   unknown words in the CBV's own namespaces (`urn:epcglobal:cbv:…`,
//!   `https://ref.gs1.org/cbv/BizStep-…`) are refused. Extension *keys* (event fields,
//!   `ilmd`) need a prefix the `@context` declares, or an `http(s)`/`urn` IRI.
//! * `SensorData_with_combined_events.json` (openepcis, listed valid) has a sensor report
//!   with an `exception` and no `type`. The JSON schema requires `type`, the XSD does not;
//!   rxchain requires `type` unless `exception` is present, so the file is accepted and an
//!   empty report is not.
//! * Event times are not compared with the clock here (time is an input; several GS1 and
//!   openepcis examples are dated 2026). A "not from the future" rule belongs to the node,
//!   with an allowance for the capturing system's clock.
//! * Instance identifiers (`epcList`, `childEPCs`, `parentID`, transformation inputs and
//!   outputs) must be EPC URNs or GS1 Digital Link URIs: custody on the chain is keyed on GS1
//!   identities.

pub mod context;
mod error;
pub mod hash;
pub mod identifier;
pub mod model;
pub mod query;
pub mod serialize;
mod sha256;
pub mod time;
pub mod validate;
pub mod vocabulary;

pub use error::{Error, Problem, ProblemCode};
pub use model::{
    Action, AggregationEvent, BusinessTransaction, DocumentKind, EpcisDocument, ErrorDeclaration,
    Event, EventCommon, EventType, Location, ObjectEvent, PersistentDisposition, QuantityElement,
    SensorElement, SourceOrDestination, TransactionEvent, TransformationEvent,
};
pub use query::QueryParameters;
pub use serialize::{next_page_link_header, query_document};
pub use time::{TimeZoneOffset, Timestamp};
pub use validate::{validate_document, validate_document_bytes};
pub use vocabulary::{BusinessStep, Disposition, VocabularyValue};

/// Largest capture payload accepted, in bytes. GS1's largest example is 22 KB; 8 MiB holds
/// a full [`EVENTS_PER_DOCUMENT_MAX`] of typical events while bounding parse memory.
pub const DOCUMENT_BYTES_MAX: usize = 8 * 1024 * 1024;

/// Most events in one document. Capture is all-or-nothing, so a document is one unit of
/// work for the node; bigger batches are split by the client.
pub const EVENTS_PER_DOCUMENT_MAX: usize = 10_000;

/// Most items in any one JSON array (an `epcList` of a pallet of packs is a few thousand).
pub const LIST_ITEMS_MAX: usize = 50_000;

/// Longest string value or key, in bytes (the same bound `rxchain-gs1` puts on any GS1
/// identifier; URIs and extension text are shorter in practice).
pub const STRING_BYTES_MAX: usize = 8192;

/// Deepest JSON nesting accepted (extensions and `ilmd` may nest; the standard fields need
/// fewer than ten levels).
pub const JSON_DEPTH_MAX: usize = 32;

/// Most problems reported for one document; past this the report says there were more.
pub const PROBLEMS_MAX: usize = 1000;

/// Longest problem message, in characters (messages quote the offending value).
pub const MESSAGE_CHARACTERS_MAX: usize = 300;
