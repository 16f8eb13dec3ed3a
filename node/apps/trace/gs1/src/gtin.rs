//! GTIN and SSCC: fixed-length numeric GS1 keys ending in a mod-10 check digit.
//!
//! A [`Gtin`] is always held as 14 digits: GTIN-8, GTIN-12 (UPC-A) and GTIN-13 (EAN-13) are
//! the same number left-padded with zeros, which is also how AI (01) and GS1 Digital Link
//! carry them. Keeping one form means one key per trade item on chain.

use std::fmt;
use std::str::FromStr;

use crate::error::{CharacterSet, Error, IdentifierKind};

/// Digits in a normalised GTIN (GTIN-14).
pub const GTIN_DIGITS: usize = 14;
/// Digits in an SSCC.
pub const SSCC_DIGITS: usize = 18;

/// The GS1 mod-10 check digit (as a value 0–9) for `digits`, which must be ASCII digits and
/// must not include the check digit itself.
///
/// Weights alternate 3, 1, 3, … starting from the rightmost digit, so the same routine serves
/// GTIN-8/12/13/14, SSCC, GLN and every other mod-10 GS1 key. Non-digit bytes give a
/// meaningless result: callers validate first.
pub fn compute_check_digit(digits: &[u8]) -> u8 {
    let weighted_sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(index, &digit)| {
            let value = u32::from(digit.wrapping_sub(b'0'));
            if index.is_multiple_of(2) {
                value * 3
            } else {
                value
            }
        })
        .sum();
    // The remainder is below 10, so the narrowing cannot truncate.
    ((10 - weighted_sum % 10) % 10) as u8
}

/// Checks that `digits` (ASCII, including the final check digit) are all digits and that the
/// last one is the GS1 mod-10 check digit of the others.
pub fn verify_check_digit(digits: &str) -> Result<(), Error> {
    let bytes = digits.as_bytes();
    if let Some(position) = bytes.iter().position(|byte| !byte.is_ascii_digit()) {
        return Err(Error::InvalidCharacter {
            application_identifier: None,
            position,
            found: bytes[position],
            expected: CharacterSet::Digits,
        });
    }
    let Some((&found, body)) = bytes.split_last() else {
        return Err(Error::EmptyInput);
    };
    let expected = b'0' + compute_check_digit(body);
    if found != expected {
        return Err(Error::BadCheckDigit {
            application_identifier: None,
            expected,
            found,
        });
    }
    Ok(())
}

/// A Global Trade Item Number, normalised to 14 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin([u8; GTIN_DIGITS]);

impl Gtin {
    /// Parses a GTIN-8, GTIN-12, GTIN-13 or GTIN-14 (digits only, valid check digit) and
    /// left-pads it to 14 digits.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let length = text.len();
        if !matches!(length, 8 | 12 | 13 | 14) {
            return Err(Error::InvalidLength {
                identifier: IdentifierKind::Gtin,
                expected: "8, 12, 13 or 14 digits",
                found_characters: text.chars().count(),
            });
        }
        verify_check_digit(text)?;
        let mut digits = [b'0'; GTIN_DIGITS];
        digits[GTIN_DIGITS - length..].copy_from_slice(text.as_bytes());
        Ok(Gtin(digits))
    }

    /// Builds a GTIN-14 from its first 13 digits (indicator, company prefix, item reference),
    /// computing the check digit.
    pub fn from_digits_without_check_digit(first_thirteen: &str) -> Result<Self, Error> {
        digits_with_check_digit(
            first_thirteen,
            IdentifierKind::Gtin,
            "13 digits before the check digit",
        )
        .map(Gtin)
    }

    /// The 14 digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The indicator digit (first digit of the GTIN-14; 0 for a GTIN-8/12/13).
    pub fn indicator_digit(&self) -> u8 {
        self.0[0] - b'0'
    }

    /// The check digit (0–9).
    pub fn check_digit(&self) -> u8 {
        self.0[GTIN_DIGITS - 1] - b'0'
    }

    /// The number without the leading zeros that padding to 14 digits added, down to the
    /// shortest of GTIN-8, GTIN-12 and GTIN-13 whose padding they could be (for display; the
    /// 14-digit form is the key).
    pub fn shortest_form(&self) -> &str {
        let text = self.as_str();
        text.strip_prefix("000000")
            .or_else(|| text.strip_prefix("00"))
            .or_else(|| text.strip_prefix('0'))
            .unwrap_or(text)
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Gtin {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        Gtin::parse(text)
    }
}

/// A Serial Shipping Container Code: 18 digits (extension digit, company prefix, serial
/// reference, check digit) identifying a case or pallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc([u8; SSCC_DIGITS]);

impl Sscc {
    /// Parses 18 digits with a valid check digit.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() != SSCC_DIGITS {
            return Err(Error::InvalidLength {
                identifier: IdentifierKind::Sscc,
                expected: "18 digits",
                found_characters: text.chars().count(),
            });
        }
        verify_check_digit(text)?;
        let mut digits = [b'0'; SSCC_DIGITS];
        digits.copy_from_slice(text.as_bytes());
        Ok(Sscc(digits))
    }

    /// Builds an SSCC from its first 17 digits, computing the check digit.
    pub fn from_digits_without_check_digit(first_seventeen: &str) -> Result<Self, Error> {
        digits_with_check_digit(
            first_seventeen,
            IdentifierKind::Sscc,
            "17 digits before the check digit",
        )
        .map(Sscc)
    }

    /// The 18 digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The extension digit (first digit).
    pub fn extension_digit(&self) -> u8 {
        self.0[0] - b'0'
    }
}

impl fmt::Display for Sscc {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Sscc {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        Sscc::parse(text)
    }
}

/// `N - 1` digits followed by their GS1 check digit: the shared work of building a GTIN-14 or
/// an SSCC from the digits before the check digit.
fn digits_with_check_digit<const N: usize>(
    text: &str,
    identifier: IdentifierKind,
    expected: &'static str,
) -> Result<[u8; N], Error> {
    let bytes = text.as_bytes();
    if bytes.len() != N - 1 {
        return Err(Error::InvalidLength {
            identifier,
            expected,
            found_characters: text.chars().count(),
        });
    }
    if let Some(position) = bytes.iter().position(|byte| !byte.is_ascii_digit()) {
        return Err(Error::InvalidCharacter {
            application_identifier: None,
            position,
            found: bytes[position],
            expected: CharacterSet::Digits,
        });
    }
    let mut digits = [b'0'; N];
    digits[..N - 1].copy_from_slice(bytes);
    digits[N - 1] = b'0' + compute_check_digit(bytes);
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_good_gtin_14() {
        let gtin = Gtin::parse("09506000134352").unwrap();
        assert_eq!(gtin.as_str(), "09506000134352");
        assert_eq!(gtin.indicator_digit(), 0);
        assert_eq!(gtin.check_digit(), 2);
        assert_eq!(gtin.shortest_form(), "9506000134352");
    }

    #[test]
    fn shorter_gtins_are_padded_to_14_digits() {
        assert_eq!(
            Gtin::parse("9506000134352").unwrap().as_str(),
            "09506000134352"
        );
        assert_eq!(
            Gtin::parse("416000336108").unwrap().as_str(),
            "00416000336108"
        );
        assert_eq!(Gtin::parse("02345673").unwrap().as_str(), "00000002345673");
        assert_eq!(Gtin::parse("02345673").unwrap().shortest_form(), "02345673");
        assert_eq!(
            Gtin::parse("416000336108").unwrap().shortest_form(),
            "416000336108"
        );
    }

    #[test]
    fn bad_check_digit_names_expected_and_found() {
        assert_eq!(
            Gtin::parse("09506000134353"),
            Err(Error::BadCheckDigit {
                application_identifier: None,
                expected: b'2',
                found: b'3'
            })
        );
    }

    #[test]
    fn wrong_lengths_and_characters_are_rejected() {
        assert!(matches!(
            Gtin::parse("123"),
            Err(Error::InvalidLength {
                found_characters: 3,
                ..
            })
        ));
        assert!(matches!(
            Gtin::parse("095060001343521"),
            Err(Error::InvalidLength { .. })
        ));
        assert!(matches!(
            Gtin::parse("0950600013435A"),
            Err(Error::InvalidCharacter {
                position: 13,
                found: b'A',
                ..
            })
        ));
        assert!(matches!(
            Gtin::parse("０９５０６０００"),
            Err(Error::InvalidLength { .. })
        ));
    }

    #[test]
    fn check_digit_computation_matches_published_examples() {
        assert_eq!(compute_check_digit(b"0950600013435"), 2);
        assert_eq!(compute_check_digit(b"10614141234567890"), 8);
        assert_eq!(compute_check_digit(b"0061414112345"), 2);
        assert_eq!(compute_check_digit(b"0234567"), 3);
        assert!(verify_check_digit("106141412345678908").is_ok());
    }

    #[test]
    fn gtin_from_thirteen_digits_gets_its_check_digit() {
        assert_eq!(
            Gtin::from_digits_without_check_digit("0061414112345")
                .unwrap()
                .as_str(),
            "00614141123452"
        );
    }

    #[test]
    fn known_good_sscc() {
        let sscc = Sscc::parse("106141412345678908").unwrap();
        assert_eq!(sscc.extension_digit(), 1);
        assert_eq!(
            Sscc::from_digits_without_check_digit("10614141234567890").unwrap(),
            sscc
        );
        assert!(matches!(
            Sscc::parse("106141412345678909"),
            Err(Error::BadCheckDigit { expected: b'8', .. })
        ));
        assert!(matches!(
            Sscc::parse("10614141234567890"),
            Err(Error::InvalidLength { .. })
        ));
    }
}
