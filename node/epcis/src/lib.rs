//! EPCIS 2.0 documents for drug traceability (being written).
