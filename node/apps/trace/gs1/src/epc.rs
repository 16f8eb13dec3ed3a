//! EPC pure-identity URNs (GS1 EPC Tag Data Standard) as used in EPCIS events, and their
//! conversion to and from GS1 keys and Digital Link URIs.
//!
//! * SGTIN, one serialised pack: `urn:epc:id:sgtin:CompanyPrefix.IndicatorItemReference.Serial`
//! * SSCC, one case or pallet: `urn:epc:id:sscc:CompanyPrefix.ExtensionSerialReference`
//! * LGTIN, one lot of a product (an EPC class): `urn:epc:class:lgtin:CompanyPrefix.IndicatorItemReference.Lot`
//!
//! A URN splits the key's digits at the end of the GS1 company prefix, whose length (6–12
//! digits) is not recoverable from the GTIN or SSCC itself: it comes from the manufacturer's
//! registration. Going from a URN to a key drops it (and computes the check digit); going from
//! a key to a URN needs it as an input.
//!
//! Serial and lot values are GS1 character set 82; the seven characters a URN cannot hold
//! literally (`"` `%` `&` `/` `<` `>` `?`) are written as `%22 %25 %26 %2F %3C %3E %3F`.

use std::fmt;

use crate::INPUT_BYTES_MAX;
use crate::digital_link::DigitalLink;
use crate::element_string::{ApplicationIdentifier, ElementString, validate_element_value};
use crate::error::{EpcUrnProblem, Error};
use crate::gtin::{GTIN_DIGITS, Gtin, SSCC_DIGITS, Sscc};
use crate::linter::is_character_set_82;

const SGTIN_PREFIX: &str = "urn:epc:id:sgtin:";
const SSCC_PREFIX: &str = "urn:epc:id:sscc:";
const LGTIN_PREFIX: &str = "urn:epc:class:lgtin:";

/// Characters of GS1 character set 82 that a URN carries as %-escapes, with their escapes.
const ESCAPED: [(u8, &str); 7] = [
    (b'"', "%22"),
    (b'%', "%25"),
    (b'&', "%26"),
    (b'/', "%2F"),
    (b'<', "%3C"),
    (b'>', "%3E"),
    (b'?', "%3F"),
];

/// Length of a GS1 company prefix, in digits (6–12 for EPC encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyPrefixLength(u8);

impl CompanyPrefixLength {
    /// Shortest company prefix usable in an EPC.
    pub const DIGITS_MIN: u8 = 6;
    /// Longest company prefix usable in an EPC.
    pub const DIGITS_MAX: u8 = 12;

    /// Validates a length in digits.
    pub fn new(digits: u8) -> Result<Self, Error> {
        if !(Self::DIGITS_MIN..=Self::DIGITS_MAX).contains(&digits) {
            return Err(Error::InvalidCompanyPrefixLength {
                found_digits: digits,
                minimum_digits: Self::DIGITS_MIN,
                maximum_digits: Self::DIGITS_MAX,
            });
        }
        Ok(CompanyPrefixLength(digits))
    }

    /// The length in digits.
    pub fn digits(self) -> u8 {
        self.0
    }

    fn digits_usize(self) -> usize {
        usize::from(self.0)
    }
}

/// A serialised GTIN: one pack.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sgtin {
    gtin: Gtin,
    serial_number: String,
}

impl Sgtin {
    /// A GTIN with a serial number valid as AI (21) (1–20 characters of GS1 character set 82).
    pub fn new(gtin: Gtin, serial_number: &str) -> Result<Self, Error> {
        validate_element_value(ApplicationIdentifier::SERIAL_NUMBER, serial_number)?;
        Ok(Sgtin {
            gtin,
            serial_number: serial_number.to_owned(),
        })
    }

    /// The GTIN.
    pub fn gtin(&self) -> Gtin {
        self.gtin
    }

    /// The serial number (unescaped).
    pub fn serial_number(&self) -> &str {
        &self.serial_number
    }

    /// Takes AIs (01) and (21) from an element string.
    pub fn from_element_string(element_string: &ElementString) -> Result<Self, Error> {
        let gtin = element_string
            .gtin()
            .ok_or(Error::MissingApplicationIdentifier {
                application_identifier: ApplicationIdentifier::GTIN,
            })?;
        let serial_number =
            element_string
                .serial_number()
                .ok_or(Error::MissingApplicationIdentifier {
                    application_identifier: ApplicationIdentifier::SERIAL_NUMBER,
                })?;
        Sgtin::new(gtin, serial_number)
    }

    /// The element string `(01)…(21)…`.
    pub fn to_element_string(&self) -> ElementString {
        element_string(&[
            (ApplicationIdentifier::GTIN, self.gtin.as_str()),
            (ApplicationIdentifier::SERIAL_NUMBER, &self.serial_number),
        ])
    }

    /// `urn:epc:id:sgtin:…` with the company prefix of the given length.
    pub fn to_epc_urn(&self, company_prefix_length: CompanyPrefixLength) -> String {
        format!(
            "{SGTIN_PREFIX}{}.{}",
            split_gtin(&self.gtin, company_prefix_length),
            escape(&self.serial_number)
        )
    }

    /// Parses `urn:epc:id:sgtin:…`, returning the SGTIN and the company prefix length the URN
    /// was written with.
    pub fn from_epc_urn(urn: &str) -> Result<(Self, CompanyPrefixLength), Error> {
        let fields = fields(urn, SGTIN_PREFIX, 3)?;
        let (gtin, company_prefix_length) = join_gtin(fields[0], fields[1])?;
        Ok((
            Sgtin::new(gtin, &unescape(fields[2])?)?,
            company_prefix_length,
        ))
    }
}

/// A GTIN with a batch or lot number: the EPC class used for lot-level quantities and recalls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lgtin {
    gtin: Gtin,
    lot: String,
}

impl Lgtin {
    /// A GTIN with a lot valid as AI (10).
    pub fn new(gtin: Gtin, lot: &str) -> Result<Self, Error> {
        validate_element_value(ApplicationIdentifier::BATCH_OR_LOT, lot)?;
        Ok(Lgtin {
            gtin,
            lot: lot.to_owned(),
        })
    }

    /// The GTIN.
    pub fn gtin(&self) -> Gtin {
        self.gtin
    }

    /// The batch or lot (unescaped).
    pub fn lot(&self) -> &str {
        &self.lot
    }

    /// The element string `(01)…(10)…`.
    pub fn to_element_string(&self) -> ElementString {
        element_string(&[
            (ApplicationIdentifier::GTIN, self.gtin.as_str()),
            (ApplicationIdentifier::BATCH_OR_LOT, &self.lot),
        ])
    }

    /// `urn:epc:class:lgtin:…` with the company prefix of the given length.
    pub fn to_epc_urn(&self, company_prefix_length: CompanyPrefixLength) -> String {
        format!(
            "{LGTIN_PREFIX}{}.{}",
            split_gtin(&self.gtin, company_prefix_length),
            escape(&self.lot)
        )
    }

    /// Parses `urn:epc:class:lgtin:…`.
    pub fn from_epc_urn(urn: &str) -> Result<(Self, CompanyPrefixLength), Error> {
        let fields = fields(urn, LGTIN_PREFIX, 3)?;
        let (gtin, company_prefix_length) = join_gtin(fields[0], fields[1])?;
        Ok((
            Lgtin::new(gtin, &unescape(fields[2])?)?,
            company_prefix_length,
        ))
    }
}

impl Sscc {
    /// `urn:epc:id:sscc:…` with the company prefix of the given length.
    pub fn to_epc_urn(&self, company_prefix_length: CompanyPrefixLength) -> String {
        let digits = self.as_str();
        let length = company_prefix_length.digits_usize();
        format!(
            "{SSCC_PREFIX}{}.{}{}",
            &digits[1..=length],
            &digits[..1],
            &digits[length + 1..SSCC_DIGITS - 1]
        )
    }

    /// Parses `urn:epc:id:sscc:…`.
    pub fn from_epc_urn(urn: &str) -> Result<(Self, CompanyPrefixLength), Error> {
        let fields = fields(urn, SSCC_PREFIX, 2)?;
        let company_prefix_length = check_digit_fields(fields[0], fields[1], SSCC_DIGITS - 1)?;
        let first_seventeen = format!("{}{}{}", &fields[1][..1], fields[0], &fields[1][1..]);
        Ok((
            Sscc::from_digits_without_check_digit(&first_seventeen)?,
            company_prefix_length,
        ))
    }
}

/// Any of the EPC identities this crate handles.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Epc {
    /// A serialised pack.
    Sgtin(Sgtin),
    /// A logistic unit.
    Sscc(Sscc),
    /// A lot of a product.
    Lgtin(Lgtin),
}

impl Epc {
    /// Parses any supported EPC URN.
    pub fn from_urn(urn: &str) -> Result<(Epc, CompanyPrefixLength), Error> {
        if urn.starts_with(SGTIN_PREFIX) {
            Sgtin::from_epc_urn(urn).map(|(sgtin, length)| (Epc::Sgtin(sgtin), length))
        } else if urn.starts_with(SSCC_PREFIX) {
            Sscc::from_epc_urn(urn).map(|(sscc, length)| (Epc::Sscc(sscc), length))
        } else if urn.starts_with(LGTIN_PREFIX) {
            Lgtin::from_epc_urn(urn).map(|(lgtin, length)| (Epc::Lgtin(lgtin), length))
        } else {
            Err(Error::InvalidEpcUrn {
                problem: EpcUrnProblem::UnsupportedScheme,
            })
        }
    }

    /// The URN, with the company prefix of the given length.
    pub fn to_urn(&self, company_prefix_length: CompanyPrefixLength) -> String {
        match self {
            Epc::Sgtin(sgtin) => sgtin.to_epc_urn(company_prefix_length),
            Epc::Sscc(sscc) => sscc.to_epc_urn(company_prefix_length),
            Epc::Lgtin(lgtin) => lgtin.to_epc_urn(company_prefix_length),
        }
    }

    /// The element string of the identity.
    pub fn to_element_string(&self) -> ElementString {
        match self {
            Epc::Sgtin(sgtin) => sgtin.to_element_string(),
            Epc::Sscc(sscc) => element_string(&[(ApplicationIdentifier::SSCC, sscc.as_str())]),
            Epc::Lgtin(lgtin) => lgtin.to_element_string(),
        }
    }

    /// The canonical GS1 Digital Link URI (`https://id.gs1.org/01/…/21/…`, `/00/…`,
    /// `/01/…/10/…`).
    pub fn to_digital_link(&self) -> DigitalLink {
        // Identities hold validated keys and values, for which a path always exists.
        DigitalLink::from_element_string(&self.to_element_string(), None)
            .expect("EPC identities map to Digital Link paths")
    }

    /// The identity a Digital Link URI names: an SSCC (00), an SGTIN (01 with 21) or an LGTIN
    /// (01 with 10 and no 21). Other keys have no EPC form here.
    pub fn from_digital_link(link: &DigitalLink) -> Result<Epc, Error> {
        Epc::from_element_string(link.element_string())
    }

    /// As [`Epc::from_digital_link`], from an element string.
    pub fn from_element_string(element_string: &ElementString) -> Result<Epc, Error> {
        if let Some(sscc) = element_string.sscc() {
            return Ok(Epc::Sscc(sscc));
        }
        let gtin = element_string
            .gtin()
            .ok_or(Error::MissingApplicationIdentifier {
                application_identifier: ApplicationIdentifier::GTIN,
            })?;
        if let Some(serial_number) = element_string.serial_number() {
            return Ok(Epc::Sgtin(Sgtin::new(gtin, serial_number)?));
        }
        match element_string.batch_or_lot() {
            Some(lot) => Ok(Epc::Lgtin(Lgtin::new(gtin, lot)?)),
            None => Err(Error::MissingApplicationIdentifier {
                application_identifier: ApplicationIdentifier::SERIAL_NUMBER,
            }),
        }
    }
}

impl fmt::Display for CompanyPrefixLength {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} digits", self.0)
    }
}

/// Converts a Digital Link URI to the EPC URN of the identity it names.
pub fn digital_link_to_epc_urn(
    link: &DigitalLink,
    company_prefix_length: CompanyPrefixLength,
) -> Result<String, Error> {
    Ok(Epc::from_digital_link(link)?.to_urn(company_prefix_length))
}

/// Converts an EPC URN to the canonical Digital Link URI of the same identity.
pub fn epc_urn_to_digital_link(urn: &str) -> Result<DigitalLink, Error> {
    Ok(Epc::from_urn(urn)?.0.to_digital_link())
}

fn element_string(elements: &[(ApplicationIdentifier, &str)]) -> ElementString {
    // Callers pass keys and values that were validated when their types were built.
    ElementString::from_elements(elements.iter().copied())
        .expect("validated identity forms an element string")
}

/// "CompanyPrefix.IndicatorItemReference" for a GTIN.
fn split_gtin(gtin: &Gtin, company_prefix_length: CompanyPrefixLength) -> String {
    let digits = gtin.as_str();
    let length = company_prefix_length.digits_usize();
    format!(
        "{}.{}{}",
        &digits[1..=length],
        &digits[..1],
        &digits[length + 1..GTIN_DIGITS - 1]
    )
}

fn join_gtin(
    company_prefix: &str,
    indicator_item_reference: &str,
) -> Result<(Gtin, CompanyPrefixLength), Error> {
    let company_prefix_length =
        check_digit_fields(company_prefix, indicator_item_reference, GTIN_DIGITS - 1)?;
    let first_thirteen = format!(
        "{}{}{}",
        &indicator_item_reference[..1],
        company_prefix,
        &indicator_item_reference[1..]
    );
    Ok((
        Gtin::from_digits_without_check_digit(&first_thirteen)?,
        company_prefix_length,
    ))
}

/// Checks the company prefix and the reference field: digits only, together `total_digits`
/// long, reference at least one digit (it holds the indicator or extension digit).
fn check_digit_fields(
    company_prefix: &str,
    reference: &str,
    total_digits: usize,
) -> Result<CompanyPrefixLength, Error> {
    for (field_number, field) in [(1, company_prefix), (2, reference)] {
        if field.is_empty() || !field.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(Error::InvalidEpcUrn {
                problem: EpcUrnProblem::NonDigit { field_number },
            });
        }
    }
    let found_digits = company_prefix.len() + reference.len();
    if found_digits != total_digits {
        return Err(Error::InvalidEpcUrn {
            problem: EpcUrnProblem::DigitCount {
                expected_digits: total_digits,
                found_digits,
            },
        });
    }
    // The length is at most the total (≤ 17), so it fits in a u8.
    CompanyPrefixLength::new(company_prefix.len() as u8)
}

/// Strips `prefix` and splits the rest into `count` fields at the first `count - 1` dots (a
/// serial or lot may itself contain dots).
fn fields<'a>(urn: &'a str, prefix: &str, count: usize) -> Result<Vec<&'a str>, Error> {
    if urn.len() > INPUT_BYTES_MAX {
        return Err(Error::InputTooLong {
            maximum_bytes: INPUT_BYTES_MAX,
            found_bytes: urn.len(),
        });
    }
    let rest = urn.strip_prefix(prefix).ok_or(Error::InvalidEpcUrn {
        problem: EpcUrnProblem::UnsupportedScheme,
    })?;
    let fields: Vec<&str> = rest.splitn(count, '.').collect();
    if fields.len() != count {
        return Err(Error::InvalidEpcUrn {
            problem: EpcUrnProblem::FieldCount {
                expected: count,
                found: fields.len(),
            },
        });
    }
    Ok(fields)
}

fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        match ESCAPED
            .iter()
            .find(|(byte, _)| char::from(*byte) == character)
        {
            Some((_, escape)) => escaped.push_str(escape),
            None => escaped.push(character),
        }
    }
    escaped
}

fn unescape(field: &str) -> Result<String, Error> {
    let bytes = field.as_bytes();
    let mut value = String::with_capacity(bytes.len());
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        if byte == b'%' {
            let escape = field.get(position..position + 3).unwrap_or_default();
            let (character, _) = ESCAPED
                .iter()
                .find(|(_, candidate)| candidate.eq_ignore_ascii_case(escape))
                .ok_or(Error::InvalidEpcUrn {
                    problem: EpcUrnProblem::InvalidEscape { position },
                })?;
            value.push(char::from(*character));
            position += 3;
        } else if is_character_set_82(byte) && !ESCAPED.iter().any(|(escaped, _)| *escaped == byte)
        {
            value.push(char::from(byte));
            position += 1;
        } else {
            return Err(Error::InvalidEpcUrn {
                problem: EpcUrnProblem::IllegalCharacter {
                    position,
                    found: byte,
                },
            });
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(digits: u8) -> CompanyPrefixLength {
        CompanyPrefixLength::new(digits).unwrap()
    }

    #[test]
    fn sgtin_urn_round_trip_with_the_tag_data_standard_example() {
        let (sgtin, company_prefix_length) =
            Sgtin::from_epc_urn("urn:epc:id:sgtin:0614141.812345.6789").unwrap();
        assert_eq!(sgtin.gtin().as_str(), "80614141123458");
        assert_eq!(company_prefix_length, length(7));
        assert_eq!(
            sgtin.to_epc_urn(company_prefix_length),
            "urn:epc:id:sgtin:0614141.812345.6789"
        );
    }

    #[test]
    fn brief_example_gtin_00614141123452_serial_6789() {
        let sgtin = Sgtin::new(Gtin::parse("00614141123452").unwrap(), "6789").unwrap();
        let urn = sgtin.to_epc_urn(length(7));
        assert_eq!(urn, "urn:epc:id:sgtin:0614141.012345.6789");
        let (back, _) = Sgtin::from_epc_urn(&urn).unwrap();
        assert_eq!(back, sgtin);
        let link = Epc::Sgtin(sgtin.clone()).to_digital_link();
        assert_eq!(
            link.to_uri(),
            "https://id.gs1.org/01/00614141123452/21/6789"
        );
        assert_eq!(digital_link_to_epc_urn(&link, length(7)).unwrap(), urn);
        assert_eq!(epc_urn_to_digital_link(&urn).unwrap(), link);
    }

    #[test]
    fn sscc_urn_round_trip() {
        let sscc = Sscc::parse("106141412345678908").unwrap();
        let urn = sscc.to_epc_urn(length(7));
        assert_eq!(urn, "urn:epc:id:sscc:0614141.1234567890");
        assert_eq!(Sscc::from_epc_urn(&urn).unwrap(), (sscc, length(7)));
        assert_eq!(
            epc_urn_to_digital_link(&urn).unwrap().to_uri(),
            "https://id.gs1.org/00/106141412345678908"
        );
    }

    #[test]
    fn serial_characters_are_escaped() {
        let sgtin = Sgtin::new(Gtin::parse("09506000134352").unwrap(), "A/B%C?\"&<>.x").unwrap();
        let urn = sgtin.to_epc_urn(length(7));
        assert_eq!(
            urn,
            "urn:epc:id:sgtin:9506000.013435.A%2FB%25C%3F%22%26%3C%3E.x"
        );
        assert_eq!(Sgtin::from_epc_urn(&urn).unwrap().0, sgtin);
    }

    #[test]
    fn lgtin_class_urn() {
        let (lgtin, _) = Lgtin::from_epc_urn("urn:epc:class:lgtin:4012345.012345.998877").unwrap();
        assert_eq!(lgtin.gtin().as_str(), "04012345123456");
        assert_eq!(lgtin.lot(), "998877");
        assert_eq!(
            Epc::Lgtin(lgtin).to_digital_link().to_uri(),
            "https://id.gs1.org/01/04012345123456/10/998877"
        );
    }

    #[test]
    fn malformed_urns() {
        let invalid = |urn| Epc::from_urn(urn).unwrap_err();
        assert_eq!(
            invalid("urn:epc:id:sgln:0614141.12345.0"),
            Error::InvalidEpcUrn {
                problem: EpcUrnProblem::UnsupportedScheme
            }
        );
        assert_eq!(
            invalid("urn:epc:id:sgtin:0614141.81234.6789"),
            Error::InvalidEpcUrn {
                problem: EpcUrnProblem::DigitCount {
                    expected_digits: 13,
                    found_digits: 12
                }
            }
        );
        assert_eq!(
            invalid("urn:epc:id:sgtin:0614141.812345"),
            Error::InvalidEpcUrn {
                problem: EpcUrnProblem::FieldCount {
                    expected: 3,
                    found: 2
                }
            }
        );
        assert_eq!(
            invalid("urn:epc:id:sgtin:06141A1.812345.1"),
            Error::InvalidEpcUrn {
                problem: EpcUrnProblem::NonDigit { field_number: 1 }
            }
        );
        assert_eq!(
            invalid("urn:epc:id:sgtin:0614141.812345.a%41"),
            Error::InvalidEpcUrn {
                problem: EpcUrnProblem::InvalidEscape { position: 1 }
            }
        );
        assert_eq!(
            invalid("urn:epc:id:sgtin:0614141.812345.a/b"),
            Error::InvalidEpcUrn {
                problem: EpcUrnProblem::IllegalCharacter {
                    position: 1,
                    found: b'/'
                }
            }
        );
        assert!(matches!(
            invalid("urn:epc:id:sgtin:06141.81234567.1"),
            Error::InvalidCompanyPrefixLength {
                found_digits: 5,
                ..
            }
        ));
        assert!(matches!(
            invalid("urn:epc:id:sgtin:0614141.812345.123456789012345678901"),
            Error::TooLong { .. }
        ));
        assert!(CompanyPrefixLength::new(13).is_err());
    }
}
