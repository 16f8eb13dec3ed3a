//! GS1 identifiers for drug traceability (being written).
