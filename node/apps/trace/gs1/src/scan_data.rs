//! Barcode scanner output: an ISO/IEC 15424 symbology identifier (`]d2`, `]Q3`, `]C1`, …)
//! followed by the data.
//!
//! The symbology identifier says whether the symbol is in GS1 mode (FNC1 in first position):
//! `]d2` (GS1 DataMatrix), `]Q3` (GS1 QR Code), `]J1` (GS1 DotCode), `]C1` (GS1-128) and `]e0`
//! (GS1 DataBar and composite) carry an element string; `]E0` (EAN-13, UPC-A, UPC-E) and `]E4`
//! (EAN-8) carry a bare GTIN; `]d1`, `]Q1` and `]J0` carry plain text, which on a pack is
//! usually a GS1 Digital Link URI.

use crate::INPUT_BYTES_MAX;
use crate::digital_link::DigitalLink;
use crate::element_string::{ApplicationIdentifier, ElementString};
use crate::error::Error;
use crate::gtin::Gtin;

/// The symbologies that carry GS1 data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Symbology {
    /// Data Matrix (`]d1` plain, `]d2` GS1).
    DataMatrix,
    /// QR Code (`]Q1` plain, `]Q3` GS1).
    QrCode,
    /// DotCode (`]J0` plain, `]J1` GS1).
    DotCode,
    /// GS1-128 (`]C1`).
    Gs1Code128,
    /// GS1 DataBar, or a linear symbol with a 2D composite component (`]e0`).
    DataBar,
    /// EAN-13, UPC-A or UPC-E (`]E0`).
    Ean13,
    /// EAN-8 (`]E4`).
    Ean8,
}

/// What a scanned symbol carried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanContent {
    /// A GS1 element string.
    ElementString(ElementString),
    /// A GTIN from an EAN/UPC symbol.
    Gtin(Gtin),
    /// A GS1 Digital Link URI in a plain-text symbol.
    DigitalLink(DigitalLink),
    /// Other plain text.
    Text(String),
}

/// A parsed scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanData {
    /// The symbology named by the identifier.
    pub symbology: Symbology,
    /// The data.
    pub content: ScanContent,
}

enum Mode {
    Gs1,
    Plain,
    Primary { digits: usize },
}

impl ScanData {
    /// Parses scanner output starting with a symbology identifier.
    pub fn parse(scan: &str) -> Result<ScanData, Error> {
        if scan.len() > INPUT_BYTES_MAX {
            return Err(Error::InputTooLong {
                maximum_bytes: INPUT_BYTES_MAX,
                found_bytes: scan.len(),
            });
        }
        if !scan.starts_with(']') || scan.len() < 3 || !scan.is_char_boundary(3) {
            return Err(Error::MissingSymbologyIdentifier);
        }
        let (identifier, data) = scan.split_at(3);
        let (symbology, mode) = match identifier {
            "]d1" => (Symbology::DataMatrix, Mode::Plain),
            "]d2" => (Symbology::DataMatrix, Mode::Gs1),
            "]Q1" => (Symbology::QrCode, Mode::Plain),
            "]Q3" => (Symbology::QrCode, Mode::Gs1),
            "]J0" => (Symbology::DotCode, Mode::Plain),
            "]J1" => (Symbology::DotCode, Mode::Gs1),
            "]C1" => (Symbology::Gs1Code128, Mode::Gs1),
            "]e0" => (Symbology::DataBar, Mode::Gs1),
            "]E0" => (Symbology::Ean13, Mode::Primary { digits: 13 }),
            "]E4" => (Symbology::Ean8, Mode::Primary { digits: 8 }),
            _ => {
                return Err(Error::UnsupportedSymbologyIdentifier {
                    found: identifier.to_owned(),
                });
            }
        };
        let content = match mode {
            Mode::Gs1 => {
                if data.is_empty() {
                    return Err(Error::EmptyScanData { symbology });
                }
                ScanContent::ElementString(ElementString::parse_unbracketed(data)?)
            }
            Mode::Primary { digits } => {
                if data.len() != digits {
                    return Err(Error::InvalidLength {
                        identifier: crate::error::IdentifierKind::Gtin,
                        expected: if digits == 13 {
                            "13 digits"
                        } else {
                            "8 digits"
                        },
                        found_characters: data.chars().count(),
                    });
                }
                ScanContent::Gtin(Gtin::parse(data)?)
            }
            Mode::Plain => {
                // Only these exact spellings: the GS1 Digital Link standard forbids mixed case.
                if ["https://", "HTTPS://", "http://", "HTTP://"]
                    .iter()
                    .any(|scheme| data.starts_with(scheme))
                {
                    ScanContent::DigitalLink(DigitalLink::parse(data)?)
                } else {
                    ScanContent::Text(data.to_owned())
                }
            }
        };
        Ok(ScanData { symbology, content })
    }

    /// The element string, if the symbol carried one (directly or via a Digital Link URI).
    pub fn element_string(&self) -> Option<&ElementString> {
        match &self.content {
            ScanContent::ElementString(element_string) => Some(element_string),
            ScanContent::DigitalLink(link) => Some(link.element_string()),
            ScanContent::Gtin(_) | ScanContent::Text(_) => None,
        }
    }
}

impl ScanData {
    /// The GS1 data as an element string (an EAN/UPC GTIN becomes AI (01)).
    pub fn into_element_string(self) -> Result<ElementString, Error> {
        match self.content {
            ScanContent::ElementString(element_string) => Ok(element_string),
            ScanContent::DigitalLink(link) => Ok(link.element_string().clone()),
            ScanContent::Gtin(gtin) => {
                ElementString::from_elements([(ApplicationIdentifier::GTIN, gtin.as_str())])
            }
            ScanContent::Text(_) => Err(Error::NotGs1Data {
                symbology: self.symbology,
            }),
        }
    }
}

/// Formats an element string as GS1 DataMatrix scanner output (`]d2` + unbracketed data).
pub fn to_data_matrix_scan(element_string: &ElementString) -> String {
    format!("]d2{}", element_string.to_unbracketed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_data_matrix_from_a_pack() {
        let scan = "]d201095060001343521728123110ABC123\u{1D}21SN0001";
        let parsed = ScanData::parse(scan).unwrap();
        assert_eq!(parsed.symbology, Symbology::DataMatrix);
        let element_string = parsed.element_string().unwrap();
        assert_eq!(element_string.serial_number(), Some("SN0001"));
        assert_eq!(to_data_matrix_scan(element_string), scan);
    }

    #[test]
    fn qr_code_with_digital_link() {
        let parsed =
            ScanData::parse("]Q1https://id.gs1.org/01/09506000134352/10/ABC/21/123?17=281231")
                .unwrap();
        let element_string = parsed.element_string().unwrap();
        assert_eq!(element_string.gtin().unwrap().as_str(), "09506000134352");
        assert_eq!(element_string.expiration_date().unwrap().month(), 12);
    }

    #[test]
    fn ean_13_and_errors() {
        assert_eq!(
            ScanData::parse("]E09506000134352").unwrap().content,
            ScanContent::Gtin(Gtin::parse("09506000134352").unwrap())
        );
        assert_eq!(
            ScanData::parse("0109506000134352"),
            Err(Error::MissingSymbologyIdentifier)
        );
        assert!(matches!(
            ScanData::parse("]X9abc"),
            Err(Error::UnsupportedSymbologyIdentifier { .. })
        ));
        assert_eq!(
            ScanData::parse("]d2"),
            Err(Error::EmptyScanData {
                symbology: Symbology::DataMatrix
            })
        );
        assert_eq!(
            ScanData::parse("]Q1TEXT").unwrap().content,
            ScanContent::Text("TEXT".to_owned())
        );
        assert_eq!(
            ElementString::parse_scan_data("]Q1TEXT"),
            Err(Error::NotGs1Data {
                symbology: Symbology::QrCode
            })
        );
        assert_eq!(
            ElementString::parse_scan_data("]E09506000134352")
                .unwrap()
                .to_bracketed(),
            "(01)09506000134352"
        );
    }
}
