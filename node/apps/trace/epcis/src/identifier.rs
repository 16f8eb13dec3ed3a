//! Identifier checks for EPCs, EPC classes, locations and other URIs in events.
//!
//! * EPC URNs (`urn:epc:id:…`, GS1 Tag Data Standard pure identities): SGTIN, SSCC and LGTIN
//!   are parsed by `rxchain-gs1` (check digits, character set 82 and escapes); the other
//!   GS1 schemes (SGLN, GRAI, GIAI, GSRN, GSRNP, GDTI, CPI, SGCN, GINC, GSIN, ITIP, UPUI,
//!   PGLN, GID) are checked for their shape: field count, digit fields and the total number
//!   of digits of company prefix plus reference, and the length of serial fields.
//! * EPC patterns (`urn:epc:idpat:…`) have the same shape with trailing fields `*`.
//! * GS1 Digital Link URIs, on any domain, are parsed by `rxchain-gs1`.
//!
//! Instance-level identifiers (`epcList`, `childEPCs`, `parentID`, input/output lists) must be
//! EPC URNs or GS1 Digital Link URIs: the chain's custody rules are keyed on GS1 identities,
//! so a private URI there could never be traced. Locations, sources, destinations and
//! business transactions may also be other absolute URIs, as the standard allows.

use rxchain_gs1::{DigitalLink, Epc};

use crate::context::Namespaces;

const EPC_INSTANCE_PREFIX: &str = "urn:epc:id:";
const EPC_PATTERN_PREFIX: &str = "urn:epc:idpat:";
const EPC_CLASS_PREFIX: &str = "urn:epc:class:";

/// Longest company prefix plus reference, for schemes whose first fields are all digits.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// Digits of the company prefix (6–12).
    CompanyPrefix,
    /// Digits continuing the key after the company prefix.
    Reference,
    /// A serial or reference in the URN-escaped GS1 character set, at most this long.
    Text(usize),
    /// Digits only, at most this many.
    Digits(usize),
    /// Exactly this many digits.
    FixedDigits(usize),
}

/// Shape of a pure-identity scheme: its fields, and the digit total of company prefix plus
/// reference where the key has a fixed length.
struct Scheme {
    name: &'static str,
    fields: &'static [Field],
    key_digits: Option<usize>,
}

const SCHEMES: &[Scheme] = &[
    Scheme {
        name: "sgtin",
        fields: &[Field::CompanyPrefix, Field::Reference, Field::Text(20)],
        key_digits: Some(13),
    },
    Scheme {
        name: "sscc",
        fields: &[Field::CompanyPrefix, Field::Reference],
        key_digits: Some(17),
    },
    Scheme {
        name: "sgln",
        fields: &[Field::CompanyPrefix, Field::Reference, Field::Text(20)],
        key_digits: Some(12),
    },
    Scheme {
        name: "grai",
        fields: &[Field::CompanyPrefix, Field::Reference, Field::Text(16)],
        key_digits: Some(12),
    },
    Scheme {
        name: "giai",
        fields: &[Field::CompanyPrefix, Field::Text(24)],
        key_digits: None,
    },
    Scheme {
        name: "gsrn",
        fields: &[Field::CompanyPrefix, Field::Reference],
        key_digits: Some(17),
    },
    Scheme {
        name: "gsrnp",
        fields: &[Field::CompanyPrefix, Field::Reference],
        key_digits: Some(17),
    },
    Scheme {
        name: "gdti",
        fields: &[Field::CompanyPrefix, Field::Reference, Field::Text(17)],
        key_digits: Some(12),
    },
    Scheme {
        name: "cpi",
        fields: &[Field::CompanyPrefix, Field::Text(24), Field::Digits(12)],
        key_digits: None,
    },
    Scheme {
        name: "sgcn",
        fields: &[Field::CompanyPrefix, Field::Reference, Field::Digits(12)],
        key_digits: Some(12),
    },
    Scheme {
        name: "ginc",
        fields: &[Field::CompanyPrefix, Field::Text(24)],
        key_digits: None,
    },
    Scheme {
        name: "gsin",
        fields: &[Field::CompanyPrefix, Field::Reference],
        key_digits: Some(16),
    },
    Scheme {
        name: "itip",
        fields: &[
            Field::CompanyPrefix,
            Field::Reference,
            Field::FixedDigits(2),
            Field::FixedDigits(2),
            Field::Text(20),
        ],
        key_digits: Some(13),
    },
    Scheme {
        name: "upui",
        fields: &[Field::CompanyPrefix, Field::Reference, Field::Text(28)],
        key_digits: Some(13),
    },
    Scheme {
        name: "pgln",
        fields: &[Field::CompanyPrefix, Field::Reference],
        key_digits: Some(12),
    },
    Scheme {
        name: "gid",
        fields: &[Field::Digits(9), Field::Digits(8), Field::Digits(11)],
        key_digits: None,
    },
];

/// Characters a URN field may hold literally (GS1 character set 82 minus those written as
/// %-escapes, and minus `.`, the field separator).
fn is_urn_field_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || "!'()*+,-:;=_".contains(character)
}

fn check_text_field(field: &str, maximum: usize) -> Result<(), String> {
    let bytes = field.as_bytes();
    let mut index = 0;
    let mut characters = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let escape = field.get(index..index + 3).unwrap_or_default();
            if !matches!(
                escape,
                "%22" | "%25" | "%26" | "%2F" | "%3C" | "%3E" | "%3F"
            ) {
                return Err(format!(
                    "{field:?} has an escape other than %22 %25 %26 %2F %3C %3E %3F"
                ));
            }
            index += 3;
        } else {
            if !is_urn_field_character(char::from(bytes[index])) {
                return Err(format!("{field:?} has a character outside the GS1 URN set"));
            }
            index += 1;
        }
        characters += 1;
    }
    if characters == 0 || characters > maximum {
        return Err(format!("{field:?} must be 1 to {maximum} characters"));
    }
    Ok(())
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// Checks the fields after `urn:epc:id:scheme:` (or `idpat`, where trailing fields may be
/// `*`).
fn check_scheme_fields(scheme: &Scheme, body: &str, is_pattern: bool) -> Result<(), String> {
    let fields: Vec<&str> = body.splitn(scheme.fields.len(), '.').collect();
    if fields.len() != scheme.fields.len() {
        return Err(format!(
            "{} needs {} dot-separated fields, found {}",
            scheme.name,
            scheme.fields.len(),
            fields.len()
        ));
    }
    let mut wildcard_seen = false;
    for (field, kind) in fields.iter().zip(scheme.fields) {
        if is_pattern && *field == "*" {
            wildcard_seen = true;
            continue;
        }
        if wildcard_seen {
            return Err(format!(
                "in an EPC pattern only trailing fields may be *, found {field:?} after one"
            ));
        }
        match kind {
            Field::CompanyPrefix => {
                if !all_digits(field) || !(6..=12).contains(&field.len()) {
                    return Err(format!("company prefix {field:?} must be 6 to 12 digits"));
                }
            }
            Field::Reference => {
                // An SSCC or GSRN reference carries the extension digit; a GTIN one the
                // indicator; either way digits only, possibly none (12-digit GLN prefix).
                if !field.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(format!("reference {field:?} must be digits"));
                }
            }
            Field::Text(maximum) => check_text_field(field, *maximum)?,
            Field::Digits(maximum) => {
                if !all_digits(field) || field.len() > *maximum {
                    return Err(format!("{field:?} must be 1 to {maximum} digits"));
                }
            }
            Field::FixedDigits(count) => {
                if !all_digits(field) || field.len() != *count {
                    return Err(format!("{field:?} must be exactly {count} digits"));
                }
            }
        }
    }
    if let Some(key_digits) = scheme.key_digits
        && fields.len() >= 2
        && fields[0] != "*"
        && fields[1] != "*"
    {
        let found = fields[0].len() + fields[1].len();
        if found != key_digits {
            return Err(format!(
                "company prefix and reference of an {} must total {key_digits} digits, found {found}",
                scheme.name
            ));
        }
    }
    Ok(())
}

/// Checks an EPC pure-identity URN (`urn:epc:id:…`).
pub fn check_epc_urn(urn: &str) -> Result<(), String> {
    let Some(rest) = urn.strip_prefix(EPC_INSTANCE_PREFIX) else {
        return Err(format!("{urn:?} is not an EPC URN (urn:epc:id:…)"));
    };
    let (scheme_name, body) = rest.split_once(':').unwrap_or((rest, ""));
    let Some(scheme) = SCHEMES.iter().find(|scheme| scheme.name == scheme_name) else {
        return Err(format!(
            "{urn:?}: EPC scheme {scheme_name:?} is not supported"
        ));
    };
    check_scheme_fields(scheme, body, false).map_err(|reason| format!("{urn:?}: {reason}"))?;
    if matches!(scheme_name, "sgtin" | "sscc") {
        Epc::from_urn(urn).map_err(|error| format!("{urn:?}: {error}"))?;
    }
    Ok(())
}

/// GS1 keys whose Digital Link URIs must pass every GS1 rule (check digits, lengths,
/// character sets): SSCC and GTIN, the keys custody on the chain is recorded against.
const STRICT_DIGITAL_LINK_KEYS: [&str; 2] = ["00", "01"];

/// Parses a GS1 Digital Link URI. `Ok(None)` is a URI `rxchain-gs1` refuses whose primary
/// key is not one of [`STRICT_DIGITAL_LINK_KEYS`] (GRAI, GIAI, GLN, GDTI, …): those are
/// checked for shape only (`/{AI}/{value}`), as their URN forms are. openepcis examples
/// listed as valid carry GRAIs with wrong check digits.
fn parse_digital_link(uri: &str) -> Result<Option<DigitalLink>, String> {
    match DigitalLink::parse(uri) {
        Ok(link) => Ok(Some(link)),
        Err(error) => {
            let after_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
            let path = after_scheme.split(['?', '#']).next().unwrap_or_default();
            let segments: Vec<&str> = path.split('/').skip(1).collect();
            let primary_key = segments.windows(2).find(|pair| {
                (2..=4).contains(&pair[0].len())
                    && pair[0].bytes().all(|byte| byte.is_ascii_digit())
                    && !pair[1].is_empty()
            });
            match primary_key {
                Some(pair) if !STRICT_DIGITAL_LINK_KEYS.contains(&pair[0]) => Ok(None),
                _ => Err(format!(
                    "{uri:?} is not a valid GS1 Digital Link URI: {error}"
                )),
            }
        }
    }
}

fn is_http_uri(text: &str) -> bool {
    let lowercase = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lowercase.starts_with("http://") || lowercase.starts_with("https://")
}

/// Checks an instance-level identifier: an EPC URN or a GS1 Digital Link URI naming one
/// object (a GTIN needs its serial number).
pub fn check_instance_identifier(text: &str) -> Result<(), String> {
    if text.starts_with(EPC_INSTANCE_PREFIX) {
        return check_epc_urn(text);
    }
    if text.starts_with(EPC_CLASS_PREFIX) || text.starts_with(EPC_PATTERN_PREFIX) {
        return Err(format!("{text:?} names a class or pattern, not one object"));
    }
    if is_http_uri(text) {
        let Some(link) = parse_digital_link(text)? else {
            return Ok(());
        };
        if link.gtin().is_some() && link.serial_number().is_none() {
            return Err(format!(
                "{text:?} names a product (GTIN without serial number), not one object"
            ));
        }
        return Ok(());
    }
    Err(format!(
        "{text:?} is neither an EPC URN (urn:epc:id:…) nor a GS1 Digital Link URI"
    ))
}

/// Checks a class-level identifier (`epcClass`): an LGTIN, an EPC pattern, or a GS1 Digital
/// Link URI of a GTIN, optionally with a lot.
pub fn check_class_identifier(text: &str) -> Result<(), String> {
    if text.starts_with(EPC_CLASS_PREFIX) {
        return Epc::from_urn(text)
            .map(|_| ())
            .map_err(|error| format!("{text:?}: {error}"));
    }
    if let Some(rest) = text.strip_prefix(EPC_PATTERN_PREFIX) {
        let (scheme_name, body) = rest.split_once(':').unwrap_or((rest, ""));
        let Some(scheme) = SCHEMES.iter().find(|scheme| scheme.name == scheme_name) else {
            return Err(format!(
                "{text:?}: EPC scheme {scheme_name:?} is not supported"
            ));
        };
        return check_scheme_fields(scheme, body, true)
            .map_err(|reason| format!("{text:?}: {reason}"));
    }
    if is_http_uri(text) {
        let Some(link) = parse_digital_link(text)? else {
            return Ok(());
        };
        if link.serial_number().is_some() {
            return Err(format!(
                "{text:?} names one object (it has a serial number), not a class"
            ));
        }
        return Ok(());
    }
    Err(format!(
        "{text:?} is not an EPC class (urn:epc:class:…, urn:epc:idpat:…) nor a GS1 Digital Link URI"
    ))
}

/// Checks an identifier that may be an EPC URN, a GS1 Digital Link URI or another absolute
/// URI (locations, parties, business transactions): EPC URNs and Digital Link URIs on the
/// GS1 resolver are held to their formats.
pub fn check_general_identifier(text: &str, namespaces: &Namespaces) -> Result<(), String> {
    if text.starts_with(EPC_INSTANCE_PREFIX) {
        return check_epc_urn(text);
    }
    if text.starts_with("urn:epc:") {
        return Err(format!("{text:?} is not an EPC pure-identity URN"));
    }
    let lowercase = text.get(..19).unwrap_or(text).to_ascii_lowercase();
    if lowercase.starts_with("https://id.gs1.org/") {
        return parse_digital_link(text).map(|_| ());
    }
    check_absolute_uri(text, namespaces)
}

/// Checks that `text` is an absolute URI (or a compact IRI with a declared prefix).
pub fn check_absolute_uri(text: &str, namespaces: &Namespaces) -> Result<(), String> {
    namespaces.check_uri_value(text)
}

/// The form identifiers are compared in: GS1 Digital Link URIs on any domain and the EPC
/// URNs `rxchain-gs1` converts (SGTIN, SSCC, LGTIN) become the canonical
/// `https://id.gs1.org/…` URI, so that a query by URN finds an event captured with a Digital
/// Link and back. Other identifiers are compared as written.
pub fn canonical_identifier(text: &str) -> String {
    if text.starts_with("urn:epc:") {
        if let Ok((epc, _)) = Epc::from_urn(text) {
            return epc.to_digital_link().canonical_uri();
        }
        return text.to_owned();
    }
    if is_http_uri(text)
        && let Ok(link) = DigitalLink::parse(text)
    {
        return link.canonical_uri();
    }
    text.to_owned()
}

/// Whether an EPC in an event matches a query value (EPCIS 2.0 §8.2.7.1.1): equal after
/// canonicalisation, or covered by an `urn:epc:idpat:` pattern.
pub fn identifier_matches(event_value: &str, query_value: &str) -> bool {
    if let Some(pattern) = query_value.strip_prefix(EPC_PATTERN_PREFIX) {
        let Some(instance) = event_value.strip_prefix(EPC_INSTANCE_PREFIX) else {
            return false;
        };
        let (pattern_scheme, pattern_body) = pattern.split_once(':').unwrap_or((pattern, ""));
        let (instance_scheme, instance_body) = instance.split_once(':').unwrap_or((instance, ""));
        if pattern_scheme != instance_scheme {
            return false;
        }
        let pattern_fields: Vec<&str> = pattern_body.split('.').collect();
        let instance_fields: Vec<&str> = instance_body.splitn(pattern_fields.len(), '.').collect();
        return pattern_fields.len() == instance_fields.len()
            && pattern_fields
                .iter()
                .zip(&instance_fields)
                .all(|(pattern_field, field)| *pattern_field == "*" || pattern_field == field);
    }
    event_value == query_value
        || canonical_identifier(event_value) == canonical_identifier(query_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_urns_of_every_gs1_scheme_in_the_examples() {
        for urn in [
            "urn:epc:id:sgtin:4012345.012345.12",
            "urn:epc:id:sscc:4012345.0000000333",
            "urn:epc:id:grai:4012345.66666.87",
            "urn:epc:id:giai:4012345.AAbb",
            "urn:epc:id:gsrn:4012345.9876540000",
            "urn:epc:id:gsrnp:4012345.0000098765",
            "urn:epc:id:gdti:4012345.55555.98",
            "urn:epc:id:cpi:4012345.ABC.123",
            "urn:epc:id:sgcn:4012345.99999.44",
            "urn:epc:id:ginc:4012345.333",
            "urn:epc:id:gsin:4012345.999987654",
            "urn:epc:id:itip:4012345.012345.01.02.999",
            "urn:epc:id:upui:4012345.012345.AB12",
            "urn:epc:id:sgln:0614141.07346.1234",
            "urn:epc:id:pgln:4012345.00225",
        ] {
            check_epc_urn(urn).unwrap_or_else(|error| panic!("{error}"));
        }
    }

    #[test]
    fn malformed_epc_urns() {
        for urn in [
            "urn:epc:id:sgtin:4012345.01234.12",
            "urn:epc:id:sgtin:4012345.012345",
            "urn:epc:id:sgln:0614141.07346",
            "urn:epc:id:grai:12345.6666666.87",
            "urn:epc:id:foo:1.2.3",
            "urn:epc:id:sgtin:4012345.012345.a b",
            "urn:epc:id:gsrn:4012345.98765",
        ] {
            assert!(check_epc_urn(urn).is_err(), "{urn} accepted");
        }
    }

    #[test]
    fn instances_and_classes() {
        assert!(check_instance_identifier("https://id.gs1.org/01/09521141012345/21/2017").is_ok());
        assert!(check_instance_identifier("https://id.gs1.org/00/040123450000003338").is_ok());
        assert!(check_instance_identifier("https://id.gs1.org/01/09521141012345").is_err());
        assert!(check_instance_identifier("urn:epc:class:lgtin:4012345.012345.998877").is_err());
        assert!(check_instance_identifier("https://example.com/thing/1").is_err());
        // Wrong check digits: refused for a GTIN, shape-checked only for a GRAI.
        assert!(check_instance_identifier("https://id.gs1.org/01/09521141012346/21/2017").is_err());
        assert!(
            check_instance_identifier("https://id.example.com/8003/030013450007718765").is_ok()
        );
        assert!(check_class_identifier("https://id.gs1.org/01/09521141012345").is_ok());
        assert!(check_class_identifier("urn:epc:class:lgtin:4012345.012345.998877").is_ok());
        assert!(check_class_identifier("urn:epc:idpat:sgtin:4012345.066666.*").is_ok());
        assert!(check_class_identifier("urn:epc:idpat:itip:4012345.012345.01.02.*").is_ok());
        assert!(check_class_identifier("urn:epc:idpat:sgtin:*.066666.1").is_err());
        assert!(check_class_identifier("urn:epc:id:sgtin:4012345.012345.12").is_err());
    }

    #[test]
    fn urn_and_digital_link_match_each_other_and_patterns() {
        assert!(identifier_matches(
            "urn:epc:id:sgtin:0614141.107346.2017",
            "https://id.gs1.org/01/10614141073464/21/2017"
        ));
        assert!(identifier_matches(
            "https://example.com/01/10614141073464/21/2017",
            "urn:epc:id:sgtin:0614141.107346.2017"
        ));
        assert!(identifier_matches(
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:idpat:sgtin:0614141.107346.*"
        ));
        assert!(!identifier_matches(
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:idpat:sgtin:0614141.107347.*"
        ));
        assert!(!identifier_matches(
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:id:sgtin:0614141.107346.2018"
        ));
    }
}
