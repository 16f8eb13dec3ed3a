//! The GS1 Barcode Syntax Dictionary, embedded and parsed once on first use.
//!
//! The dictionary (Apache-2.0, © GS1 AISBL; release 2026-01-27, the one the conformance
//! vectors were produced with) describes every AI: its components (character set, length,
//! linters), whether it is fixed length (no FNC1 separator needed after it), whether it may be a
//! GS1 Digital Link data attribute, which AIs it excludes or requires, and its Digital Link
//! key-qualifier sequences. Embedding the published text rather than a hand-written table keeps
//! the crate in step with GS1: updating is replacing the file (a test checks it still matches the
//! copy under `shared/conformance/gs1/raw`).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::element_string::ApplicationIdentifier;
use crate::linter::Linter;

const DICTIONARY_TEXT: &str = include_str!("gs1-syntax-dictionary.txt");

/// Character set of an AI component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComponentCharacterSet {
    /// `N`
    Numeric,
    /// `X`
    Set82,
    /// `Y`
    Set39,
    /// `Z`
    Set64,
}

impl ComponentCharacterSet {
    pub(crate) fn linter(self) -> Linter {
        match self {
            ComponentCharacterSet::Numeric => Linter::NumericCharacters,
            ComponentCharacterSet::Set82 => Linter::CharacterSet82,
            ComponentCharacterSet::Set39 => Linter::CharacterSet39,
            ComponentCharacterSet::Set64 => Linter::CharacterSet64,
        }
    }
}

/// One component of an AI's value.
#[derive(Debug, Clone)]
pub(crate) struct Component {
    pub character_set: ComponentCharacterSet,
    pub minimum_characters: usize,
    pub maximum_characters: usize,
    pub optional: bool,
    pub linters: Vec<Linter>,
}

/// An AI pattern in `ex=` / `req=` rules: digits, optionally ending in `n` wildcards ("35nn").
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub text: String,
}

impl Pattern {
    /// Whether `application_identifier` matches, the way the GS1 reference implementation
    /// matches: same length, same leading digits.
    pub(crate) fn matches(&self, application_identifier: &ApplicationIdentifier) -> bool {
        let candidate = application_identifier.as_str();
        let fixed_digits = self.text.bytes().take_while(u8::is_ascii_digit).count();
        candidate.len() == self.text.len()
            && candidate.as_bytes()[..fixed_digits] == self.text.as_bytes()[..fixed_digits]
    }
}

/// A `req=` rule: satisfied when every AI of at least one group is present.
#[derive(Debug, Clone)]
pub(crate) struct Requisite {
    pub text: String,
    pub groups: Vec<Vec<Pattern>>,
}

/// Everything the dictionary says about one AI.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub application_identifier: ApplicationIdentifier,
    pub fnc1_required: bool,
    pub digital_link_data_attribute: bool,
    pub components: Vec<Component>,
    pub exclusions: Vec<Pattern>,
    pub requisites: Vec<Requisite>,
    /// `Some` for a Digital Link primary key: its alternative qualifier sequences (a bare
    /// `dlpkey` has one empty sequence).
    pub digital_link_qualifier_alternatives: Option<Vec<Vec<ApplicationIdentifier>>>,
    pub title: String,
}

impl Entry {
    pub(crate) fn minimum_characters(&self) -> usize {
        self.components
            .iter()
            .filter(|component| !component.optional)
            .map(|component| component.minimum_characters)
            .sum()
    }

    pub(crate) fn maximum_characters(&self) -> usize {
        self.components
            .iter()
            .map(|component| component.maximum_characters)
            .sum()
    }

    /// The first content rule this crate cannot check, if any.
    pub(crate) fn unimplemented_linter(&self) -> Option<Linter> {
        self.components
            .iter()
            .flat_map(|component| component.linters.iter())
            .copied()
            .find(|linter| !linter.is_implemented())
    }
}

/// The parsed dictionary.
#[derive(Debug)]
pub(crate) struct Dictionary {
    entries: Vec<Entry>,
    index: HashMap<ApplicationIdentifier, usize>,
    /// AI length (2–4) for each two-digit prefix, 0 where no AI starts with that prefix.
    length_by_prefix: [u8; 100],
    /// Every valid Digital Link path AI sequence ("01", "01 22", "01 22 10", …), sorted as
    /// strings: the order decides ties when choosing a path for an element string.
    key_qualifier_sequences: Vec<Vec<ApplicationIdentifier>>,
}

impl Dictionary {
    pub(crate) fn get() -> &'static Dictionary {
        static DICTIONARY: OnceLock<Dictionary> = OnceLock::new();
        DICTIONARY.get_or_init(|| {
            // The text is compiled in and a unit test parses it, so failure is a build defect.
            parse(DICTIONARY_TEXT).expect("embedded GS1 syntax dictionary parses")
        })
    }

    pub(crate) fn entry(&self, application_identifier: &ApplicationIdentifier) -> Option<&Entry> {
        self.index
            .get(application_identifier)
            .map(|&index| &self.entries[index])
    }

    /// AI length implied by the first two digits of `data`, if any AI starts with them.
    pub(crate) fn application_identifier_length(&self, data: &[u8]) -> Option<usize> {
        if data.len() < 2 || !data[0].is_ascii_digit() || !data[1].is_ascii_digit() {
            return None;
        }
        let prefix = usize::from(data[0] - b'0') * 10 + usize::from(data[1] - b'0');
        match self.length_by_prefix[prefix] {
            0 => None,
            length => Some(usize::from(length)),
        }
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub(crate) fn key_qualifier_sequences(&self) -> &[Vec<ApplicationIdentifier>] {
        &self.key_qualifier_sequences
    }

    pub(crate) fn is_valid_key_qualifier_sequence(
        &self,
        sequence: &[ApplicationIdentifier],
    ) -> bool {
        self.key_qualifier_sequences
            .binary_search_by(|candidate| compare_sequences(candidate, sequence))
            .is_ok()
    }

    pub(crate) fn is_digital_link_primary_key(
        &self,
        application_identifier: &ApplicationIdentifier,
    ) -> bool {
        self.entry(application_identifier)
            .is_some_and(|entry| entry.digital_link_qualifier_alternatives.is_some())
    }
}

/// Orders sequences the way their space-joined strings sort.
pub(crate) fn compare_sequences(
    left: &[ApplicationIdentifier],
    right: &[ApplicationIdentifier],
) -> std::cmp::Ordering {
    join(left).cmp(&join(right))
}

fn join(sequence: &[ApplicationIdentifier]) -> String {
    sequence
        .iter()
        .map(ApplicationIdentifier::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses the GS1 Barcode Syntax Dictionary's text format. Long because it is one pass over
/// the format's line kinds (entries, flags, specifications, attributes).
fn parse(text: &str) -> Result<Dictionary, String> {
    let mut entries = Vec::new();
    for (line_index, line) in text.lines().enumerate() {
        let line_number = line_index + 1;
        let (specification, title) = match line.split_once('#') {
            Some((specification, title)) => (specification, title.trim()),
            None => (line, ""),
        };
        let mut tokens = specification.split_whitespace().peekable();
        let Some(range) = tokens.next() else { continue };
        let mut flags = "";
        if let Some(token) = tokens.peek()
            && !token.starts_with(['N', 'X', 'Y', 'Z', '['])
            && token.bytes().all(|byte| !byte.is_ascii_alphanumeric())
        {
            flags = token;
            tokens.next();
        }
        let mut components = Vec::new();
        let mut exclusions = Vec::new();
        let mut requisites = Vec::new();
        let mut qualifier_alternatives = None;
        for token in tokens {
            if token.starts_with(['N', 'X', 'Y', 'Z', '[']) {
                components.push(
                    parse_component(token)
                        .map_err(|problem| format!("line {line_number}: {problem}"))?,
                );
            } else if let Some(list) = token.strip_prefix("ex=") {
                exclusions.extend(list.split(',').map(|text| Pattern {
                    text: text.to_owned(),
                }));
            } else if let Some(list) = token.strip_prefix("req=") {
                let groups = list
                    .split(',')
                    .map(|group| {
                        group
                            .split('+')
                            .map(|text| Pattern {
                                text: text.to_owned(),
                            })
                            .collect()
                    })
                    .collect();
                requisites.push(Requisite {
                    text: list.to_owned(),
                    groups,
                });
            } else if token == "dlpkey" {
                qualifier_alternatives = Some(vec![Vec::new()]);
            } else if let Some(list) = token.strip_prefix("dlpkey=") {
                let alternatives = list
                    .split('|')
                    .map(|alternative| {
                        alternative
                            .split(',')
                            .map(ApplicationIdentifier::parse)
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|error| format!("line {line_number}: {error}"))?;
                qualifier_alternatives = Some(alternatives);
            } else {
                return Err(format!("line {line_number}: unexpected token {token:?}"));
            }
        }
        if components.is_empty() {
            return Err(format!("line {line_number}: AI {range} has no components"));
        }
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let width = first.len();
        let first_value: u32 = first
            .parse()
            .map_err(|_| format!("line {line_number}: bad AI {first:?}"))?;
        let last_value: u32 = last
            .parse()
            .map_err(|_| format!("line {line_number}: bad AI {last:?}"))?;
        for value in first_value..=last_value {
            let application_identifier = ApplicationIdentifier::parse(&format!("{value:0width$}"))
                .map_err(|error| format!("line {line_number}: {error}"))?;
            entries.push(Entry {
                application_identifier,
                fnc1_required: !flags.contains('*'),
                digital_link_data_attribute: flags.contains('?'),
                components: components.clone(),
                exclusions: exclusions.clone(),
                requisites: requisites.clone(),
                digital_link_qualifier_alternatives: qualifier_alternatives.clone(),
                title: title.to_owned(),
            });
        }
    }

    let mut index = HashMap::new();
    let mut length_by_prefix = [0u8; 100];
    for (position, entry) in entries.iter().enumerate() {
        let digits = entry.application_identifier.as_str().as_bytes();
        let prefix = usize::from(digits[0] - b'0') * 10 + usize::from(digits[1] - b'0');
        // Lengths are 2–4, so the narrowing is lossless.
        let length = digits.len() as u8;
        if length_by_prefix[prefix] != 0 && length_by_prefix[prefix] != length {
            return Err(format!("AIs starting {prefix:02} have different lengths"));
        }
        length_by_prefix[prefix] = length;
        if index
            .insert(entry.application_identifier, position)
            .is_some()
        {
            return Err(format!("AI {} defined twice", entry.application_identifier));
        }
    }

    let mut key_qualifier_sequences = Vec::new();
    for entry in &entries {
        let Some(alternatives) = &entry.digital_link_qualifier_alternatives else {
            continue;
        };
        for alternative in alternatives {
            // Any order-preserving selection of the qualifiers may follow the key.
            let selections = 1usize << alternative.len();
            for mask in 0..selections {
                let mut sequence = vec![entry.application_identifier];
                sequence.extend(
                    alternative
                        .iter()
                        .enumerate()
                        .filter(|(bit, _)| mask & (1 << bit) != 0)
                        .map(|(_, qualifier)| *qualifier),
                );
                key_qualifier_sequences.push(sequence);
            }
        }
    }
    key_qualifier_sequences.sort_by(|left, right| compare_sequences(left, right));
    key_qualifier_sequences.dedup();

    Ok(Dictionary {
        entries,
        index,
        length_by_prefix,
        key_qualifier_sequences,
    })
}

fn parse_component(token: &str) -> Result<Component, String> {
    let mut parts = token.split(',');
    let mut specification = parts.next().unwrap_or_default();
    let optional = specification.starts_with('[');
    if optional {
        specification = specification
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .ok_or_else(|| format!("unbalanced brackets in {token:?}"))?;
    }
    let character_set = match specification.as_bytes().first() {
        Some(b'N') => ComponentCharacterSet::Numeric,
        Some(b'X') => ComponentCharacterSet::Set82,
        Some(b'Y') => ComponentCharacterSet::Set39,
        Some(b'Z') => ComponentCharacterSet::Set64,
        _ => return Err(format!("unknown character set in {token:?}")),
    };
    let lengths = &specification[1..];
    let (minimum_characters, maximum_characters) = match lengths.strip_prefix("..") {
        Some(maximum) => (
            1,
            maximum
                .parse()
                .map_err(|_| format!("bad length in {token:?}"))?,
        ),
        None => {
            let length = lengths
                .parse()
                .map_err(|_| format!("bad length in {token:?}"))?;
            (length, length)
        }
    };
    let linters = parts
        .map(|name| {
            Linter::from_dictionary_name(name).ok_or_else(|| format!("unknown linter {name:?}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Component {
        character_set,
        minimum_characters,
        maximum_characters,
        optional,
        linters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identifier(text: &str) -> ApplicationIdentifier {
        ApplicationIdentifier::parse(text).unwrap()
    }

    #[test]
    fn embedded_dictionary_parses_with_expected_shape() {
        let dictionary = Dictionary::get();
        assert!(
            dictionary.entries().len() > 500,
            "{} entries",
            dictionary.entries().len()
        );
        let gtin = dictionary.entry(&identifier("01")).unwrap();
        assert!(!gtin.fnc1_required);
        assert!(gtin.digital_link_data_attribute);
        assert_eq!(gtin.minimum_characters(), 14);
        assert_eq!(
            gtin.components[0].linters,
            vec![Linter::CheckDigit, Linter::CompanyPrefixAtSecondPosition]
        );
        assert_eq!(gtin.title, "GTIN");
        let serial = dictionary.entry(&identifier("21")).unwrap();
        assert!(serial.fnc1_required);
        assert!(!serial.digital_link_data_attribute);
        assert_eq!(serial.maximum_characters(), 20);
        assert!(dictionary.entry(&identifier("3105")).is_some());
        assert!(dictionary.entry(&identifier("3106")).is_none());
        assert!(dictionary.entry(&identifier("714")).is_some());
        assert_eq!(dictionary.application_identifier_length(b"235XYZ"), Some(3));
        assert_eq!(dictionary.application_identifier_length(b"89"), None);
    }

    #[test]
    fn gtin_key_qualifier_sequences() {
        let dictionary = Dictionary::get();
        for valid in [
            &["01"][..],
            &["01", "22", "10", "21"],
            &["01", "10", "21"],
            &["01", "21"],
            &["01", "235"],
            &["00"],
        ] {
            let sequence: Vec<_> = valid.iter().map(|text| identifier(text)).collect();
            assert!(
                dictionary.is_valid_key_qualifier_sequence(&sequence),
                "{valid:?}"
            );
        }
        for invalid in [
            &["01", "21", "10"][..],
            &["01", "22", "235"],
            &["00", "10"],
            &["10"],
        ] {
            let sequence: Vec<_> = invalid.iter().map(|text| identifier(text)).collect();
            assert!(
                !dictionary.is_valid_key_qualifier_sequence(&sequence),
                "{invalid:?}"
            );
        }
    }

    #[test]
    fn patterns_match_like_the_reference_implementation() {
        let pattern = Pattern {
            text: "35nn".to_owned(),
        };
        assert!(pattern.matches(&identifier("3512")));
        assert!(!pattern.matches(&identifier("351")));
        assert!(!pattern.matches(&identifier("3612")));
        assert!(
            Pattern {
                text: "01".to_owned()
            }
            .matches(&identifier("01"))
        );
    }
}
