//! GS1 identifiers for pharmaceutical traceability: parsing, validation and conversion of the
//! codes printed on drug packs, cases and pallets. Pure functions over strings, no I/O.
//!
//! How the parts fit:
//!
//! * [`gtin`] — [`Gtin`] (GTIN-8/12/13/14, normalised to 14 digits) and [`Sscc`], with the
//!   GS1 mod-10 check digit.
//! * [`element_string`] — [`ElementString`]: the AI/value pairs of a GS1 barcode, in bracketed
//!   syntax `(01)…(17)…(10)…(21)…` or as raw scanner data with GS (0x1D) separators, validated
//!   against the GS1 Barcode Syntax Dictionary (embedded by the private `dictionary` module)
//!   using the content rules in [`linter`].
//! * [`scan_data`] — [`ScanData`]: scanner output with its symbology identifier (`]d2` GS1
//!   DataMatrix, `]Q3`/`]Q1` QR, `]C1` GS1-128, `]E0` EAN-13, …).
//! * [`digital_link`] — [`DigitalLink`]: GS1 Digital Link URIs, parsed (custom domains and path
//!   prefixes included) and written in canonical form, converted to and from element strings.
//! * [`epc`] — EPC URNs used by EPCIS (`urn:epc:id:sgtin:`, `urn:epc:id:sscc:`,
//!   `urn:epc:class:lgtin:`) and their conversion to and from keys and Digital Link URIs, given
//!   the GS1 company prefix length from the manufacturer's registration.
//! * [`china_trace_code`] — [`ChinaDrugTraceCode`]: China's 20-digit drug trace code.
//!
//! All failures are reported through the single [`Error`] enum, whose variants say which AI,
//! which position and which rule.
//!
//! ```
//! use rxchain_gs1::{CompanyPrefixLength, DigitalLink, ElementString, Epc};
//!
//! // A GS1 DataMatrix on a pack, as the scanner sends it (GS = 0x1D ends the lot).
//! let pack = ElementString::parse_scan_data("]d2010061414112345217281200101234AB\u{1D}216789")?;
//! assert_eq!(pack.gtin().unwrap().as_str(), "00614141123452");
//! assert_eq!(pack.expiration_date().unwrap().resolved_day(2025), 31); // day 00: end of month
//!
//! let link = DigitalLink::from_element_string(&pack, None)?;
//! assert_eq!(link.to_uri(), "https://id.gs1.org/01/00614141123452/10/1234AB/21/6789?17=281200");
//!
//! let company_prefix_length = CompanyPrefixLength::new(7)?; // from the manufacturer's registration
//! let urn = Epc::from_digital_link(&link)?.to_urn(company_prefix_length);
//! assert_eq!(urn, "urn:epc:id:sgtin:0614141.012345.6789");
//! # Ok::<(), rxchain_gs1::Error>(())
//! ```
//!
//! Conformance: the tests in `tests/` run the GS1 reference vectors from
//! `shared/conformance/gs1` (gs1-syntax-engine, gs1-syntax-dictionary linters, digital-link.js)
//! in place and report how many cases were checked and which were skipped and why.

pub mod china_trace_code;
mod dictionary;
pub mod digital_link;
pub mod element_string;
pub mod epc;
mod error;
pub mod gtin;
pub mod linter;
pub mod scan_data;

pub use china_trace_code::ChinaDrugTraceCode;
pub use digital_link::{DigitalLink, DigitalLinkParseOptions};
pub use element_string::{ApplicationIdentifier, Element, ElementString, Gs1Date};
pub use epc::{CompanyPrefixLength, Epc, Lgtin, Sgtin};
pub use error::{
    CharacterSet, DateProblem, DigitalLinkProblem, EpcUrnProblem, Error, IdentifierKind,
};
pub use gtin::{Gtin, Sscc};
pub use scan_data::{ScanContent, ScanData, Symbology};

/// Longest input accepted by any parser, in bytes. The largest GS1 carriers hold a few
/// thousand characters (a QR Code at most 4,296 alphanumerics); anything longer is not a
/// scan and is refused before any work is done.
pub const INPUT_BYTES_MAX: usize = 8192;

/// Most AIs in one element string (the GS1 reference implementation's limit).
pub const ELEMENT_STRING_ELEMENTS_MAX: usize = 64;
