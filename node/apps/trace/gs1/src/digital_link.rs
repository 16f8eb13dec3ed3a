//! GS1 Digital Link URIs (uncompressed, GS1 Digital Link standard 1.x).
//!
//! A Digital Link URI is `stem` + path + optional query: the stem is the scheme, a domain and
//! any path prefix the brand chooses (`https://id.gs1.org` is the canonical one); the path is
//! a primary key and its key qualifiers in their defined order (for a GTIN: 01, then 22, 10,
//! 21, or 01 then 235); the query carries data attributes such as `?17=281231`.
//!
//! Parsing follows the GS1 reference implementation (gs1-syntax-engine): the primary key is the
//! rightmost `/AI/value` pair in the path whose AI is a Digital Link primary key, everything to
//! its left is stem; values are percent-decoded (`+` is a space in the query only); query
//! parameters with non-numeric names (`linkType`, …) are kept aside, numeric ones must be known
//! AIs permitted as data attributes and not belong in the path. Values are then validated like
//! any element string.

use std::fmt;

use crate::INPUT_BYTES_MAX;
use crate::dictionary::Dictionary;
use crate::element_string::{ApplicationIdentifier, Element, ElementString, known_entry};
use crate::error::{DigitalLinkProblem, Error};
use crate::gtin::{Gtin, Sscc};

/// The stem of canonical GS1 Digital Link URIs.
pub const CANONICAL_STEM: &str = "https://id.gs1.org";

/// Characters that may appear anywhere in a URI (RFC 3986 unreserved and reserved, and `%`).
const URI_CHARACTERS: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%";
/// URI characters that may not appear in the authority (domain and port) part.
const BAD_DOMAIN_CHARACTERS: &[u8] = b"_~?#@!$&'()*+,;=%";
const SCHEMES: [&str; 4] = ["https://", "HTTPS://", "http://", "HTTP://"];

/// Lenient parsing switches; the default is the strict current standard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigitalLinkParseOptions {
    /// Accept GTIN-8, GTIN-12 and GTIN-13 in AI (01) and pad them to 14 digits, as older
    /// Digital Link encoders and some printed QR codes do.
    pub permit_zero_suppressed_gtin: bool,
}

/// A parsed or generated GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLink {
    stem: String,
    /// Path elements (primary key, then qualifiers), then data attributes.
    element_string: ElementString,
    path_element_count: usize,
    other_query_parameters: Vec<(String, Option<String>)>,
}

fn problem(problem: DigitalLinkProblem) -> Error {
    Error::InvalidDigitalLink { problem }
}

/// Decodes `%XX` escapes (and `+` as space in the query); `%` not followed by two hex digits
/// stays literal, as in the reference implementation.
fn percent_decode(text: &str, is_query: bool) -> Result<Vec<u8>, Error> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%'
            && index + 2 < bytes.len()
            && bytes[index + 1].is_ascii_hexdigit()
            && bytes[index + 2].is_ascii_hexdigit()
        {
            let value = hex_value(bytes[index + 1]) * 16 + hex_value(bytes[index + 2]);
            if value == 0 {
                return Err(problem(DigitalLinkProblem::DecodedNullCharacter));
            }
            decoded.push(value);
            index += 3;
        } else if is_query && byte == b'+' {
            decoded.push(b' ');
            index += 1;
        } else {
            decoded.push(byte);
            index += 1;
        }
    }
    Ok(decoded)
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (a space in the query
/// becomes `+`).
fn percent_encode(value: &str, is_query: bool, output: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            output.push(char::from(byte));
        } else if is_query && byte == b' ' {
            output.push('+');
        } else {
            output.push('%');
            output.push(char::from(HEX[usize::from(byte >> 4)]));
            output.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
}

/// Checks a URI up to its path: characters, scheme and domain. Returns the offset of the
/// path's first `/`.
fn check_scheme_and_domain(uri: &str) -> Result<usize, Error> {
    let bytes = uri.as_bytes();
    if let Some(position) = bytes.iter().position(|byte| !URI_CHARACTERS.contains(byte)) {
        return Err(problem(DigitalLinkProblem::IllegalCharacter {
            position,
            found: bytes[position],
        }));
    }
    let scheme_length = SCHEMES
        .iter()
        .find(|scheme| uri.starts_with(*scheme))
        .map(|scheme| scheme.len())
        .ok_or_else(|| problem(DigitalLinkProblem::UnsupportedScheme))?;
    let path_start = match bytes[scheme_length..].iter().position(|&byte| byte == b'/') {
        Some(0) | None => return Err(problem(DigitalLinkProblem::MissingDomainOrPath)),
        Some(offset) => scheme_length + offset,
    };
    if let Some(offset) = bytes[scheme_length..path_start]
        .iter()
        .position(|byte| BAD_DOMAIN_CHARACTERS.contains(byte))
    {
        let position = scheme_length + offset;
        return Err(problem(DigitalLinkProblem::IllegalDomainCharacter {
            position,
            found: bytes[position],
        }));
    }
    Ok(path_start)
}

/// Pads a zero-suppressed GTIN to 14 digits when permitted.
fn pad_gtin(
    application_identifier: ApplicationIdentifier,
    value: Vec<u8>,
    options: DigitalLinkParseOptions,
) -> Vec<u8> {
    if options.permit_zero_suppressed_gtin
        && application_identifier == ApplicationIdentifier::GTIN
        && matches!(value.len(), 8 | 12 | 13)
    {
        let mut padded = vec![b'0'; 14 - value.len()];
        padded.extend_from_slice(&value);
        return padded;
    }
    value
}

fn into_text(
    application_identifier: ApplicationIdentifier,
    value: Vec<u8>,
) -> Result<String, Error> {
    String::from_utf8(value).map_err(|error| Error::InvalidCharacter {
        application_identifier: Some(application_identifier),
        position: error.utf8_error().valid_up_to(),
        found: error.as_bytes()[error.utf8_error().valid_up_to()],
        expected: crate::error::CharacterSet::CharacterSet82,
    })
}

impl DigitalLink {
    /// Parses a URI strictly (GTINs in AI 01 must have 14 digits).
    pub fn parse(uri: &str) -> Result<DigitalLink, Error> {
        DigitalLink::parse_with_options(uri, DigitalLinkParseOptions::default())
    }

    /// Parses a URI with the given leniency.
    ///
    /// Long because it follows GS1 Digital Link 1.2's URI grammar in order: scheme and domain,
    /// primary key, key qualifiers, data attributes in the query, each with its own error.
    pub fn parse_with_options(
        uri: &str,
        options: DigitalLinkParseOptions,
    ) -> Result<DigitalLink, Error> {
        if uri.len() > INPUT_BYTES_MAX {
            return Err(Error::InputTooLong {
                maximum_bytes: INPUT_BYTES_MAX,
                found_bytes: uri.len(),
            });
        }
        let dictionary = Dictionary::get();
        let path_start = check_scheme_and_domain(uri)?;
        let without_fragment = uri.split_once('#').map_or(uri, |(before, _)| before);
        let (path, query) = match without_fragment[path_start..].split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (&without_fragment[path_start..], None),
        };

        // Walk back over "/AI/value" pairs to the rightmost primary key; the rest is stem.
        let segments: Vec<&str> = path[1..].split('/').collect();
        let mut root = None;
        let mut end = segments.len();
        while end >= 2 {
            let Ok(entry) = known_entry(segments[end - 2]) else {
                break;
            };
            if dictionary.is_digital_link_primary_key(&entry.application_identifier) {
                root = Some(end - 2);
                break;
            }
            end -= 2;
        }
        let root = root.ok_or_else(|| problem(DigitalLinkProblem::NoPrimaryKey))?;
        let stem_length = path_start
            + segments[..root]
                .iter()
                .map(|segment| segment.len() + 1)
                .sum::<usize>();
        let stem = uri[..stem_length].to_owned();

        let mut path_elements = Vec::new();
        for pair in segments[root..].chunks(2) {
            let entry = known_entry(pair[0])?;
            let application_identifier = entry.application_identifier;
            let raw_value = pair.get(1).copied().unwrap_or_default();
            if raw_value.is_empty() {
                return Err(Error::EmptyValue {
                    application_identifier,
                });
            }
            let value = pad_gtin(
                application_identifier,
                percent_decode(raw_value, false)?,
                options,
            );
            path_elements.push((
                application_identifier,
                into_text(application_identifier, value)?,
            ));
        }

        let mut attributes: Vec<(ApplicationIdentifier, String)> = Vec::new();
        let mut other_query_parameters = Vec::new();
        for parameter in query
            .unwrap_or_default()
            .split('&')
            .filter(|parameter| !parameter.is_empty())
        {
            let Some((name, raw_value)) = parameter.split_once('=') else {
                other_query_parameters.push((parameter.to_owned(), None));
                continue;
            };
            if name.is_empty() || !name.bytes().all(|byte| byte.is_ascii_digit()) {
                other_query_parameters.push((name.to_owned(), Some(raw_value.to_owned())));
                continue;
            }
            // A numeric name must be an AI: an unknown one is an error, not extra data.
            let application_identifier = known_entry(name)?.application_identifier;
            if raw_value.is_empty() {
                return Err(Error::EmptyValue {
                    application_identifier,
                });
            }
            let value = pad_gtin(
                application_identifier,
                percent_decode(raw_value, true)?,
                options,
            );
            attributes.push((
                application_identifier,
                into_text(application_identifier, value)?,
            ));
        }

        let path_identifiers: Vec<ApplicationIdentifier> = path_elements
            .iter()
            .map(|(identifier, _)| *identifier)
            .collect();
        if !dictionary.is_valid_key_qualifier_sequence(&path_identifiers) {
            return Err(problem(DigitalLinkProblem::InvalidKeyQualifierSequence {
                path: path_identifiers
                    .iter()
                    .map(ApplicationIdentifier::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            }));
        }
        for (index, (application_identifier, _)) in attributes.iter().enumerate() {
            let application_identifier = *application_identifier;
            let earlier = path_identifiers
                .iter()
                .chain(attributes[..index].iter().map(|(identifier, _)| identifier));
            if earlier
                .into_iter()
                .any(|other| *other == application_identifier)
            {
                return Err(problem(
                    DigitalLinkProblem::DuplicateApplicationIdentifier {
                        application_identifier,
                    },
                ));
            }
            let attribute_permitted = dictionary
                .entry(&application_identifier)
                .is_some_and(|entry| entry.digital_link_data_attribute);
            if !attribute_permitted {
                return Err(problem(DigitalLinkProblem::NotDataAttribute {
                    application_identifier,
                }));
            }
            // A qualifier of the key must be in the path, in its place.
            for position in 1..=path_identifiers.len() {
                let mut trial = path_identifiers.clone();
                trial.insert(position, application_identifier);
                if dictionary.is_valid_key_qualifier_sequence(&trial) {
                    return Err(problem(DigitalLinkProblem::AttributeBelongsInPath {
                        application_identifier,
                    }));
                }
            }
        }

        let path_element_count = path_elements.len();
        let element_string =
            ElementString::from_elements(path_elements.into_iter().chain(attributes))?;
        Ok(DigitalLink {
            stem,
            element_string,
            path_element_count,
            other_query_parameters,
        })
    }

    /// Builds a Digital Link URI for the data of an element string, with the given stem
    /// (`None` for the canonical `https://id.gs1.org`).
    ///
    /// The first AI that is a Digital Link primary key becomes the key; of its qualifier
    /// sequences the one matching most AIs of the element string is used (ties go to the
    /// first in the dictionary's sorted order, as in the GS1 reference implementation); every
    /// other AI becomes a query attribute (fixed-length AIs first, each group in element string
    /// order, repeats once) and must be permitted as one.
    pub fn from_element_string(
        element_string: &ElementString,
        stem: Option<&str>,
    ) -> Result<DigitalLink, Error> {
        let stem = normalise_stem(stem.unwrap_or(CANONICAL_STEM))?;
        let dictionary = Dictionary::get();
        let elements = element_string.elements();
        let key = elements
            .iter()
            .map(Element::application_identifier)
            .find(|application_identifier| {
                dictionary.is_digital_link_primary_key(application_identifier)
            })
            .ok_or_else(|| problem(DigitalLinkProblem::NoPrimaryKey))?;
        let mut best: &[ApplicationIdentifier] = &[];
        let mut best_matches = 0;
        for sequence in dictionary
            .key_qualifier_sequences()
            .iter()
            .filter(|sequence| sequence[0] == key)
        {
            if best.is_empty() {
                best = sequence;
            }
            let matches = sequence[1..]
                .iter()
                .map(|qualifier| {
                    elements
                        .iter()
                        .filter(|element| element.application_identifier() == *qualifier)
                        .count()
                })
                .sum::<usize>();
            if matches > best_matches {
                best_matches = matches;
                best = sequence;
            }
        }
        let mut ordered: Vec<(ApplicationIdentifier, String)> = Vec::new();
        for application_identifier in best {
            if let Some(value) = element_string.get(*application_identifier) {
                ordered.push((*application_identifier, value.to_owned()));
            }
        }
        let path_element_count = ordered.len();
        for fixed_length_pass in [true, false] {
            for element in elements {
                let application_identifier = element.application_identifier();
                let Some(entry) = dictionary.entry(&application_identifier) else {
                    continue;
                };
                if entry.fnc1_required == fixed_length_pass
                    || best.contains(&application_identifier)
                {
                    continue;
                }
                if ordered
                    .iter()
                    .any(|(other, _)| *other == application_identifier)
                {
                    continue;
                }
                if !entry.digital_link_data_attribute {
                    return Err(problem(DigitalLinkProblem::NotDataAttribute {
                        application_identifier,
                    }));
                }
                ordered.push((application_identifier, element.value().to_owned()));
            }
        }
        let element_string = ElementString::from_elements(ordered)?;
        Ok(DigitalLink {
            stem,
            element_string,
            path_element_count,
            other_query_parameters: Vec::new(),
        })
    }

    /// The same identifiers under another stem.
    pub fn with_stem(&self, stem: &str) -> Result<DigitalLink, Error> {
        Ok(DigitalLink {
            stem: normalise_stem(stem)?,
            ..self.clone()
        })
    }

    /// Scheme, domain and path prefix, without trailing slash.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// All GS1 data: path elements first, then data attributes.
    pub fn element_string(&self) -> &ElementString {
        &self.element_string
    }

    /// The primary key (first path element).
    pub fn primary_key(&self) -> &Element {
        &self.element_string.elements()[0]
    }

    /// Key qualifiers, in path order.
    pub fn key_qualifiers(&self) -> &[Element] {
        &self.element_string.elements()[1..self.path_element_count]
    }

    /// Data attributes from the query string.
    pub fn data_attributes(&self) -> &[Element] {
        &self.element_string.elements()[self.path_element_count..]
    }

    /// Query parameters that are not AIs (`linkType=…`, singletons), undecoded.
    pub fn other_query_parameters(&self) -> &[(String, Option<String>)] {
        &self.other_query_parameters
    }

    /// AI (01).
    pub fn gtin(&self) -> Option<Gtin> {
        self.element_string.gtin()
    }

    /// AI (00).
    pub fn sscc(&self) -> Option<Sscc> {
        self.element_string.sscc()
    }

    /// AI (21).
    pub fn serial_number(&self) -> Option<&str> {
        self.element_string.serial_number()
    }

    /// The URI under this link's stem: path in key-qualifier order, then GS1 data attributes
    /// (fixed-length AIs first), percent-encoded. Non-GS1 query parameters are left out: the
    /// URI identifies the item, not a resolver request.
    pub fn to_uri(&self) -> String {
        self.format_with_stem(&self.stem)
    }

    /// The URI under the canonical stem `https://id.gs1.org`.
    pub fn canonical_uri(&self) -> String {
        self.format_with_stem(CANONICAL_STEM)
    }

    fn format_with_stem(&self, stem: &str) -> String {
        let dictionary = Dictionary::get();
        let mut uri = stem.to_owned();
        for element in &self.element_string.elements()[..self.path_element_count] {
            uri.push('/');
            uri.push_str(element.application_identifier().as_str());
            uri.push('/');
            percent_encode(element.value(), false, &mut uri);
        }
        let attributes = self.data_attributes();
        let fixed_length = |element: &&Element| {
            dictionary
                .entry(&element.application_identifier())
                .is_some_and(|entry| !entry.fnc1_required)
        };
        let ordered = attributes
            .iter()
            .filter(fixed_length)
            .chain(attributes.iter().filter(|element| !fixed_length(element)));
        for (index, element) in ordered.enumerate() {
            uri.push(if index == 0 { '?' } else { '&' });
            uri.push_str(element.application_identifier().as_str());
            uri.push('=');
            percent_encode(element.value(), true, &mut uri);
        }
        uri
    }
}

/// Validates a stem (`http(s)://domain[/path]`) and drops a trailing slash.
fn normalise_stem(stem: &str) -> Result<String, Error> {
    let stem = stem.strip_suffix('/').unwrap_or(stem);
    // The check needs a path separator after the domain; append one for the test only.
    let with_slash = format!("{stem}/");
    let invalid = || problem(DigitalLinkProblem::InvalidStem);
    if stem.contains(['?', '#']) {
        return Err(invalid());
    }
    check_scheme_and_domain(&with_slash).map_err(|_| invalid())?;
    Ok(stem.to_owned())
}

impl fmt::Display for DigitalLink {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_uri())
    }
}

impl std::str::FromStr for DigitalLink {
    type Err = Error;
    fn from_str(uri: &str) -> Result<Self, Error> {
        DigitalLink::parse(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pharmaceutical_pack_link() {
        let link =
            DigitalLink::parse("https://id.gs1.org/01/09506000134352/10/ABC/21/123?17=281231")
                .unwrap();
        assert_eq!(link.stem(), "https://id.gs1.org");
        assert_eq!(link.primary_key().value(), "09506000134352");
        assert_eq!(link.key_qualifiers().len(), 2);
        assert_eq!(link.data_attributes()[0].value(), "281231");
        assert_eq!(
            link.element_string().to_bracketed(),
            "(01)09506000134352(10)ABC(21)123(17)281231"
        );
        assert_eq!(
            link.to_uri(),
            "https://id.gs1.org/01/09506000134352/10/ABC/21/123?17=281231"
        );
    }

    #[test]
    fn custom_domain_and_path_prefix_are_stem() {
        let link = DigitalLink::parse(
            "https://brand.example.com/products/01/09506000134352/21/A%2FB?linkType=gs1:pip",
        )
        .unwrap();
        assert_eq!(link.stem(), "https://brand.example.com/products");
        assert_eq!(link.serial_number(), Some("A/B"));
        assert_eq!(
            link.canonical_uri(),
            "https://id.gs1.org/01/09506000134352/21/A%2FB"
        );
        assert_eq!(
            link.other_query_parameters(),
            &[("linkType".to_owned(), Some("gs1:pip".to_owned()))]
        );
    }

    #[test]
    fn element_string_to_canonical_link_orders_the_path() {
        let element_string =
            ElementString::parse_bracketed("(21)123(17)281231(10)ABC(01)09506000134352").unwrap();
        let link = DigitalLink::from_element_string(&element_string, None).unwrap();
        assert_eq!(
            link.to_uri(),
            "https://id.gs1.org/01/09506000134352/10/ABC/21/123?17=281231"
        );
        assert_eq!(DigitalLink::parse(&link.to_uri()).unwrap(), link);
    }

    #[test]
    fn structural_errors() {
        assert_eq!(
            DigitalLink::parse("https://id.gs1.org/01/09506000134352/21/123/10/ABC"),
            Err(problem(DigitalLinkProblem::InvalidKeyQualifierSequence {
                path: "01 21 10".to_owned()
            }))
        );
        assert_eq!(
            DigitalLink::parse("https://id.gs1.org/01/09506000134352?10=ABC"),
            Err(problem(DigitalLinkProblem::AttributeBelongsInPath {
                application_identifier: ApplicationIdentifier::BATCH_OR_LOT
            }))
        );
        assert_eq!(
            DigitalLink::parse("ftp://id.gs1.org/01/09506000134352"),
            Err(problem(DigitalLinkProblem::UnsupportedScheme))
        );
        assert_eq!(
            DigitalLink::parse("https://id.gs1.org/10/ABC"),
            Err(problem(DigitalLinkProblem::NoPrimaryKey))
        );
        assert!(matches!(
            DigitalLink::parse("https://id.gs1.org/01/9506000134352"),
            Err(Error::TooShort { .. })
        ));
        let lenient = DigitalLinkParseOptions {
            permit_zero_suppressed_gtin: true,
        };
        assert_eq!(
            DigitalLink::parse_with_options("https://id.gs1.org/01/9506000134352", lenient)
                .unwrap()
                .gtin()
                .unwrap()
                .as_str(),
            "09506000134352"
        );
    }

    #[test]
    fn query_values_decode_plus_as_space_and_encode_it_back() {
        let element_string = ElementString::parse_bracketed("(01)09506000134352(99)A+B").unwrap();
        let link = DigitalLink::from_element_string(&element_string, Some("https://example.com/"))
            .unwrap();
        assert_eq!(
            link.to_uri(),
            "https://example.com/01/09506000134352?99=A%2BB"
        );
        assert_eq!(
            DigitalLink::parse(&link.to_uri())
                .unwrap()
                .element_string()
                .get(ApplicationIdentifier::parse("99").unwrap()),
            Some("A+B")
        );
    }
}
