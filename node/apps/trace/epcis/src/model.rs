//! The typed EPCIS 2.0 model: documents and the five event types.
//!
//! Values are kept as captured (identifier spellings, timestamps with their offsets) so that a
//! document serialised back is the same document; normalisation happens where it is needed
//! (query matching, event hash). Open parts of the standard (user extensions, `ilmd`, sensor
//! reports, master data in the header) are validated and then kept as JSON.

use serde_json::{Map, Number, Value};

use crate::context::Namespaces;
use crate::time::{TimeZoneOffset, Timestamp};
use crate::vocabulary::{
    BusinessStep, BusinessTransactionType, Disposition, ErrorReason, SourceDestinationType,
};

/// What the top-level JSON object was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `EPCISDocument`, the normal capture payload.
    Document,
    /// `EPCISQueryDocument`, a query result (accepted so that results can be re-validated).
    QueryDocument,
    /// A bare event with its own `@context`, as the REST binding's capture also accepts.
    SingleEvent,
}

/// A validated EPCIS document (or single event).
#[derive(Debug, Clone, PartialEq)]
pub struct EpcisDocument {
    /// Kind of the top-level object.
    pub kind: DocumentKind,
    /// `@context` entries, as an array (a single string or object becomes one entry).
    pub context: Vec<Value>,
    /// Prefixes in scope for the document.
    pub namespaces: Namespaces,
    /// Document `id`.
    pub id: Option<String>,
    /// `schemaVersion` (required for `EPCISDocument`).
    pub schema_version: Option<String>,
    /// `creationDate` (required for `EPCISDocument`).
    pub creation_date: Option<Timestamp>,
    /// `instanceIdentifier` (pseudo-SBDH header field).
    pub instance_identifier: Option<String>,
    /// `sender` (pseudo-SBDH header field).
    pub sender: Option<String>,
    /// `receiver` (pseudo-SBDH header field).
    pub receiver: Option<String>,
    /// `epcisHeader` (master data), kept as JSON.
    pub header: Option<Value>,
    /// `queryName` of a query document.
    pub query_name: Option<String>,
    /// `subscriptionID` of a query document.
    pub subscription_id: Option<String>,
    /// Namespaced top-level extension fields.
    pub extensions: Map<String, Value>,
    /// The events, in document order.
    pub events: Vec<Event>,
}

/// The five EPCIS 2.0 event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// `ObjectEvent`.
    Object,
    /// `AggregationEvent`.
    Aggregation,
    /// `TransformationEvent`.
    Transformation,
    /// `AssociationEvent`.
    Association,
    /// `TransactionEvent`.
    Transaction,
}

impl EventType {
    /// All five, in the order the standard introduces them.
    pub const ALL: [EventType; 5] = [
        EventType::Object,
        EventType::Aggregation,
        EventType::Transaction,
        EventType::Transformation,
        EventType::Association,
    ];

    /// The JSON `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Object => "ObjectEvent",
            EventType::Aggregation => "AggregationEvent",
            EventType::Transformation => "TransformationEvent",
            EventType::Association => "AssociationEvent",
            EventType::Transaction => "TransactionEvent",
        }
    }

    /// The event type named by a JSON `type` value.
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|event_type| event_type.as_str() == name)
    }
}

/// `action`: what the event does to the objects' existence or relationships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Created, or added to the parent.
    Add,
    /// Seen, unchanged.
    Observe,
    /// Ended, or removed from the parent.
    Delete,
}

impl Action {
    /// The JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    /// The action named by a JSON value (upper case only, as the schema has it).
    pub fn from_name(name: &str) -> Option<Action> {
        match name {
            "ADD" => Some(Action::Add),
            "OBSERVE" => Some(Action::Observe),
            "DELETE" => Some(Action::Delete),
            _ => None,
        }
    }
}

/// One element of a quantity list: how much of a class of objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantityElement {
    /// `epcClass`: LGTIN, EPC pattern or Digital Link of a GTIN (with or without lot).
    pub epc_class: String,
    /// `quantity`, as the JSON number given (integer or decimal).
    pub quantity: Option<Number>,
    /// `uom`: UN/ECE Recommendation 20 code; absent means a count of items.
    pub unit_of_measure: Option<String>,
}

/// `readPoint` or `bizLocation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `id`: SGLN URN, Digital Link (`/414/…`) or another URI.
    pub id: String,
    /// Namespaced extension fields.
    pub extensions: Map<String, Value>,
}

/// An element of `bizTransactionList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessTransaction {
    /// `type`, optional.
    pub transaction_type: Option<BusinessTransactionType>,
    /// `bizTransaction`: the transaction's URI.
    pub id: String,
}

/// An element of `sourceList` or `destinationList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOrDestination {
    /// `type`: owning party, possessing party, location, or an extension.
    pub kind: SourceDestinationType,
    /// `source` or `destination`: the party or location URI.
    pub id: String,
}

/// `persistentDisposition`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersistentDisposition {
    /// Dispositions that hold from this event on.
    pub set: Vec<Disposition>,
    /// Dispositions that no longer hold.
    pub unset: Vec<Disposition>,
}

/// `errorDeclaration`: this event is declared to be in error.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorDeclaration {
    /// `declarationTime`.
    pub declaration_time: Timestamp,
    /// `reason`.
    pub reason: Option<ErrorReason>,
    /// `correctiveEventIDs`.
    pub corrective_event_ids: Vec<String>,
    /// Namespaced extension fields.
    pub extensions: Map<String, Value>,
}

/// An element of `sensorElementList`. Metadata and reports are validated field by field
/// (types, vocabularies, date-times, URIs) and kept as JSON: they have two dozen optional
/// fields each and rxchain only stores and returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorElement {
    /// `sensorMetadata`.
    pub metadata: Option<Map<String, Value>>,
    /// `sensorReport` (at least one).
    pub reports: Vec<Map<String, Value>>,
    /// Namespaced extension fields.
    pub extensions: Map<String, Value>,
}

/// Fields every event type has (what the standard calls the common event fields, plus the
/// "why/where" fields all five types share).
#[derive(Debug, Clone, PartialEq)]
pub struct EventCommon {
    /// `eventID`.
    pub event_id: Option<String>,
    /// `eventTime`.
    pub event_time: Timestamp,
    /// `eventTimeZoneOffset`.
    pub event_time_zone_offset: TimeZoneOffset,
    /// `recordTime` (normally set by the repository, not the capturing client).
    pub record_time: Option<Timestamp>,
    /// `certificationInfo` URIs.
    pub certification_info: Vec<String>,
    /// `errorDeclaration`.
    pub error_declaration: Option<ErrorDeclaration>,
    /// `bizStep`.
    pub business_step: Option<BusinessStep>,
    /// `disposition`.
    pub disposition: Option<Disposition>,
    /// `readPoint`.
    pub read_point: Option<Location>,
    /// `bizLocation`.
    pub business_location: Option<Location>,
    /// `bizTransactionList`.
    pub business_transactions: Vec<BusinessTransaction>,
    /// `sourceList`.
    pub sources: Vec<SourceOrDestination>,
    /// `destinationList`.
    pub destinations: Vec<SourceOrDestination>,
    /// `sensorElementList`.
    pub sensor_elements: Vec<SensorElement>,
    /// Namespaced user extension fields at event level.
    pub extensions: Map<String, Value>,
    /// An event-level `@context`, if the event carried one inside a document.
    pub context: Option<Value>,
    /// Prefixes in scope for this event (document and event context), needed to read its
    /// compact IRIs once it is stored apart from its document.
    pub namespaces: Namespaces,
}

/// `ObjectEvent`: something happened to objects.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectEvent {
    /// Common fields.
    pub common: EventCommon,
    /// `action`.
    pub action: Action,
    /// `epcList`.
    pub epc_list: Vec<String>,
    /// `quantityList`.
    pub quantity_list: Vec<QuantityElement>,
    /// `persistentDisposition`.
    pub persistent_disposition: Option<PersistentDisposition>,
    /// `ilmd`: instance/lot master data, namespaced keys only (ADD events only).
    pub ilmd: Option<Map<String, Value>>,
}

/// `AggregationEvent` or `AssociationEvent`: children put into, seen in, or taken out of a
/// parent.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregationEvent {
    /// Common fields.
    pub common: EventCommon,
    /// `action`.
    pub action: Action,
    /// `parentID`.
    pub parent_id: Option<String>,
    /// `childEPCs`.
    pub child_epcs: Vec<String>,
    /// `childQuantityList`.
    pub child_quantity_list: Vec<QuantityElement>,
}

/// `TransactionEvent`: objects tied to or untied from business transactions.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionEvent {
    /// Common fields (`business_transactions` has at least one element).
    pub common: EventCommon,
    /// `action`.
    pub action: Action,
    /// `parentID`.
    pub parent_id: Option<String>,
    /// `epcList`.
    pub epc_list: Vec<String>,
    /// `quantityList`.
    pub quantity_list: Vec<QuantityElement>,
}

/// `TransformationEvent`: inputs consumed, outputs produced (repackaging, compounding).
#[derive(Debug, Clone, PartialEq)]
pub struct TransformationEvent {
    /// Common fields.
    pub common: EventCommon,
    /// `transformationID`.
    pub transformation_id: Option<String>,
    /// `inputEPCList`.
    pub input_epc_list: Vec<String>,
    /// `inputQuantityList`.
    pub input_quantity_list: Vec<QuantityElement>,
    /// `outputEPCList`.
    pub output_epc_list: Vec<String>,
    /// `outputQuantityList`.
    pub output_quantity_list: Vec<QuantityElement>,
    /// `persistentDisposition`.
    pub persistent_disposition: Option<PersistentDisposition>,
    /// `ilmd` of the outputs.
    pub ilmd: Option<Map<String, Value>>,
}

/// Any EPCIS 2.0 event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `ObjectEvent`.
    Object(ObjectEvent),
    /// `AggregationEvent`.
    Aggregation(AggregationEvent),
    /// `TransformationEvent`.
    Transformation(TransformationEvent),
    /// `AssociationEvent` (same fields as an aggregation; the parent is not a container).
    Association(AggregationEvent),
    /// `TransactionEvent`.
    Transaction(TransactionEvent),
}

impl Event {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            Event::Object(_) => EventType::Object,
            Event::Aggregation(_) => EventType::Aggregation,
            Event::Transformation(_) => EventType::Transformation,
            Event::Association(_) => EventType::Association,
            Event::Transaction(_) => EventType::Transaction,
        }
    }

    /// The common fields.
    pub fn common(&self) -> &EventCommon {
        match self {
            Event::Object(event) => &event.common,
            Event::Aggregation(event) | Event::Association(event) => &event.common,
            Event::Transformation(event) => &event.common,
            Event::Transaction(event) => &event.common,
        }
    }

    /// The common fields, mutably (to set `recordTime` or a computed `eventID` at capture).
    pub fn common_mut(&mut self) -> &mut EventCommon {
        match self {
            Event::Object(event) => &mut event.common,
            Event::Aggregation(event) | Event::Association(event) => &mut event.common,
            Event::Transformation(event) => &mut event.common,
            Event::Transaction(event) => &mut event.common,
        }
    }

    /// `eventID` as captured, if any (see [`Event::hash_id`] for events without one).
    pub fn event_id(&self) -> Option<&str> {
        self.common().event_id.as_deref()
    }

    /// `eventTime`.
    pub fn event_time(&self) -> &Timestamp {
        &self.common().event_time
    }

    /// `action` (a transformation has none).
    pub fn action(&self) -> Option<Action> {
        match self {
            Event::Object(event) => Some(event.action),
            Event::Aggregation(event) | Event::Association(event) => Some(event.action),
            Event::Transaction(event) => Some(event.action),
            Event::Transformation(_) => None,
        }
    }

    /// `bizStep`.
    pub fn business_step(&self) -> Option<&BusinessStep> {
        self.common().business_step.as_ref()
    }

    /// `disposition`.
    pub fn disposition(&self) -> Option<&Disposition> {
        self.common().disposition.as_ref()
    }

    /// `parentID`, for the types that have one.
    pub fn parent_id(&self) -> Option<&str> {
        match self {
            Event::Aggregation(event) | Event::Association(event) => event.parent_id.as_deref(),
            Event::Transaction(event) => event.parent_id.as_deref(),
            Event::Object(_) | Event::Transformation(_) => None,
        }
    }

    /// The EPCs `MATCH_epc` looks at: `epcList` or `childEPCs`.
    pub fn primary_epcs(&self) -> &[String] {
        match self {
            Event::Object(event) => &event.epc_list,
            Event::Transaction(event) => &event.epc_list,
            Event::Aggregation(event) | Event::Association(event) => &event.child_epcs,
            Event::Transformation(_) => &[],
        }
    }

    /// Every EPC the event mentions (`MATCH_anyEPC`): `epcList`, `childEPCs`, `parentID`,
    /// `inputEPCList`, `outputEPCList`.
    pub fn epcs(&self) -> Vec<&str> {
        let mut epcs: Vec<&str> = self.parent_id().into_iter().collect();
        epcs.extend(self.primary_epcs().iter().map(String::as_str));
        if let Event::Transformation(event) = self {
            epcs.extend(event.input_epc_list.iter().map(String::as_str));
            epcs.extend(event.output_epc_list.iter().map(String::as_str));
        }
        epcs
    }

    /// Every EPC class in the event's quantity lists.
    pub fn epc_classes(&self) -> Vec<&str> {
        let lists: Vec<&[QuantityElement]> = match self {
            Event::Object(event) => vec![&event.quantity_list],
            Event::Transaction(event) => vec![&event.quantity_list],
            Event::Aggregation(event) | Event::Association(event) => {
                vec![&event.child_quantity_list]
            }
            Event::Transformation(event) => {
                vec![&event.input_quantity_list, &event.output_quantity_list]
            }
        };
        lists
            .into_iter()
            .flatten()
            .map(|element| element.epc_class.as_str())
            .collect()
    }
}
