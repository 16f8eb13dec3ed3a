//! GS1 reference vectors from gs1/gs1-syntax-engine (`shared/conformance/gs1/vectors/
//! gs1-syntax-engine.vectors.json`), read in place and run suite by suite.
//!
//! The engine's test notation is translated as follows: in `element_string_fnc1_caret`
//! inputs a leading `^` is FNC1 in first position (GS1 mode) and later `^` are FNC1
//! separators, i.e. GS (0x1D) in transmitted data; `expected_element_string` uses the same
//! notation and is compared with our unbracketed output.
//!
//! Deliberately not covered (each counted and reported as skipped):
//! * options `permitUnknownAIs` (with bracketed or Digital Link input) and
//!   `validation.UNKNOWN_AI_NOT_DL_ATTR=false`: this crate always refuses AIs the syntax
//!   dictionary does not define — on a traceability ledger an unknown AI is an error, not data.
//!   (With raw `^` data the engine cannot use unknown AIs either, so those cases are checked.)
//! * option `permitConvenienceAlphas` (`/gtin/`, `/ser/` paths): deprecated since GS1 Digital
//!   Link 1.2 and off by default in the engine; not implemented.
//! * `|` composite-component notation (a linear symbol and its 2D component given as one
//!   string): an engine convention for two separate transmissions; callers parse each
//!   message on its own.
//! * element strings without a leading `^` (no FNC1 in first position): our unbracketed parser
//!   takes the data that follows a GS1 symbology identifier, which already says "GS1 mode", so
//!   "non-GS1 data" has no counterpart there (scan data covers it through `]d1`/`]Q1`).
//! * AIs whose content rules need code lists this crate does not embed (ISO 3166 countries,
//!   ISO 4217 currencies, IBAN formats, package types, coupons): such AIs are refused with
//!   `Error::UnsupportedApplicationIdentifier`, and cases where that decides the verdict are
//!   skipped.
//!
//! Records carrying `api_note` (empty input, `ftp://`, mixed-case scheme, `991234`) are checked
//! against the engine's internal-parser verdict (invalid), which is what our parsers are: they
//! have no "plain data" fallback.

mod common;

use std::collections::BTreeSet;

use common::{Json, Tally, gs1_code_of_error, read_vector_file};
use rxchain_gs1::{
    ApplicationIdentifier, DigitalLink, DigitalLinkParseOptions, ElementString, Error, ScanContent,
    ScanData, Symbology,
};

fn records() -> Vec<Json> {
    let document = Json::parse(&read_vector_file("vectors/gs1-syntax-engine.vectors.json"));
    document.get("records").expect("records").array().to_vec()
}

fn suite(records: &[Json], name: &str) -> Vec<Json> {
    records
        .iter()
        .filter(|record| record.str("suite") == Some(name))
        .cloned()
        .collect()
}

fn option_names(record: &Json) -> BTreeSet<String> {
    record
        .get("options")
        .map(|options| options.keys().into_iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn id(record: &Json) -> String {
    record.str("id").unwrap_or("?").to_owned()
}

fn input(record: &Json) -> &str {
    record.str("input").unwrap_or_default()
}

fn expected_valid(record: &Json) -> bool {
    record.bool("valid").expect("engine records have a verdict")
}

/// `^…` notation to transmitted data; `None` without FNC1 in first position.
fn caret_to_data(text: &str) -> Option<String> {
    text.strip_prefix('^')
        .map(|rest| rest.replace('^', "\u{1D}"))
}

fn data_to_caret(element_string: &ElementString) -> String {
    format!(
        "^{}",
        element_string.to_unbracketed().replace('\u{1D}', "^")
    )
}

fn pairs(element_string: &ElementString) -> Vec<(String, String)> {
    element_string
        .elements()
        .iter()
        .map(|element| {
            (
                element.application_identifier().to_string(),
                element.value().to_owned(),
            )
        })
        .collect()
}

const SKIP_UNKNOWN_AIS: &str = "permitUnknownAIs: unknown AIs are always refused";
const SKIP_CONVENIENCE_ALPHAS: &str =
    "permitConvenienceAlphas: deprecated /gtin/-style paths not implemented";
const SKIP_CODE_LIST: &str =
    "AI needs a code list not embedded (country, currency, IBAN, package type, coupon)";
const SKIP_COMPOSITE: &str = "'|' composite-component notation (two transmissions in one string)";

/// Compares verdict, extracted AIs and the `^` element string of a parse result.
fn compare_element_string(tally: &mut Tally, record: &Json, result: &Result<ElementString, Error>) {
    let identifier = id(record);
    let valid = expected_valid(record);
    if let Err(Error::UnsupportedApplicationIdentifier { .. }) = result {
        tally.skip(SKIP_CODE_LIST);
        return;
    }
    tally.case();
    tally.check(&identifier, result.is_ok() == valid, || {
        format!(
            "{:?}: expected valid={valid}, got {result:?}",
            input(record)
        )
    });
    let (Ok(element_string), true) = (result, valid) else {
        return;
    };
    if let Some(expected) = record
        .get("expected_ais")
        .filter(|value| **value != Json::Null)
    {
        let expected = expected.pairs();
        let found = pairs(element_string);
        tally.check(&format!("{identifier} AIs"), found == expected, || {
            format!("expected {expected:?}, got {found:?}")
        });
    }
    if let Some(expected) = record.str("expected_element_string") {
        let found = data_to_caret(element_string);
        tally.check(
            &format!("{identifier} element string"),
            found == expected,
            || format!("expected {expected:?}, got {found:?}"),
        );
    }
}

#[test]
fn digital_link_uri_to_element_string() {
    let mut tally = Tally::new("gs1-syntax-engine dl_uri_to_element_string");
    for record in suite(&records(), "dl_uri_to_element_string") {
        let options = option_names(&record);
        if options.contains("permitConvenienceAlphas") {
            tally.skip(SKIP_CONVENIENCE_ALPHAS);
            continue;
        }
        if options.contains("permitUnknownAIs") {
            tally.skip(SKIP_UNKNOWN_AIS);
            continue;
        }
        let parse_options = DigitalLinkParseOptions {
            permit_zero_suppressed_gtin: options.contains("permitZeroSuppressedGTINinDLuris"),
        };
        let result = DigitalLink::parse_with_options(input(&record), parse_options)
            .map(|link| link.element_string().clone());
        compare_element_string(&mut tally, &record, &result);
    }
    tally.finish(110);
}

#[test]
fn element_string_to_digital_link_uri() {
    let mut tally = Tally::new("gs1-syntax-engine element_string_to_dl_uri");
    for record in suite(&records(), "element_string_to_dl_uri") {
        if option_names(&record).contains("permitUnknownAIs") {
            tally.skip(SKIP_UNKNOWN_AIS);
            continue;
        }
        let stem = record
            .str("stem")
            .filter(|stem| !stem.starts_with("(default"));
        let result = ElementString::parse_bracketed(input(&record))
            .and_then(|element_string| DigitalLink::from_element_string(&element_string, stem));
        let valid = expected_valid(&record);
        tally.case();
        tally.check(&id(&record), result.is_ok() == valid, || {
            format!(
                "{:?}: expected valid={valid}, got {result:?}",
                input(&record)
            )
        });
        if let (Ok(link), Some(expected)) = (&result, record.str("expected_dl_uri")) {
            let found = link.to_uri();
            tally.check(&format!("{} URI", id(&record)), found == expected, || {
                format!("expected {expected}, got {found}")
            });
            // What we write must read back to the same data.
            let reparsed = DigitalLink::parse(&found).map(|link| link.element_string().clone());
            tally.check(
                &format!("{} reparse", id(&record)),
                reparsed.as_ref() == Ok(link.element_string()),
                || format!("{found} reparsed as {reparsed:?}"),
            );
        }
    }
    tally.finish(18);
}

#[test]
fn bracketed_to_element_string() {
    let mut tally = Tally::new("gs1-syntax-engine bracketed_ai_to_element_string");
    for record in suite(&records(), "bracketed_ai_to_element_string") {
        let result = ElementString::parse_bracketed(input(&record));
        compare_element_string(&mut tally, &record, &result);
    }
    tally.finish(25);
}

#[test]
fn bracketed_lint_errors() {
    let mut tally = Tally::new("gs1-syntax-engine bracketed_ai_lint");
    for record in suite(&records(), "bracketed_ai_lint") {
        let result = ElementString::parse_bracketed(input(&record));
        if let Err(Error::UnsupportedApplicationIdentifier { .. }) = result {
            tally.skip(SKIP_CODE_LIST);
            continue;
        }
        let valid = expected_valid(&record);
        tally.case();
        tally.check(&id(&record), result.is_ok() == valid, || {
            format!(
                "{:?}: expected valid={valid}, got {result:?}",
                input(&record)
            )
        });
        if let (Err(error), Some(expected)) = (&result, record.str("expected_error")) {
            let found = gs1_code_of_error(error);
            tally.check(
                &format!("{} error", id(&record)),
                found == Some(expected),
                || format!("expected {expected}, got {found:?} ({error})"),
            );
        }
    }
    tally.finish(35);
}

#[test]
fn unbracketed_element_strings() {
    let mut tally = Tally::new("gs1-syntax-engine element_string_validate");
    for record in suite(&records(), "element_string_validate") {
        // With raw data the engine cannot admit unknown AIs either (their length is unknown),
        // so permitUnknownAIs changes nothing here and those cases are checked.
        let Some(data) = caret_to_data(input(&record)) else {
            tally.skip("no FNC1 in first position: not expressible, the symbology identifier conveys GS1 mode");
            continue;
        };
        let result = ElementString::parse_unbracketed(&data);
        compare_element_string(&mut tally, &record, &result);
    }
    tally.finish(65);
}

fn symbology_name(symbology: Symbology) -> &'static str {
    match symbology {
        Symbology::DataMatrix => "DM",
        Symbology::QrCode => "QR",
        Symbology::DotCode => "DotCode",
        Symbology::Gs1Code128 => "GS1_128_CCA",
        Symbology::DataBar => "DataBarExpanded",
        Symbology::Ean13 => "EAN13",
        Symbology::Ean8 => "EAN8",
        _ => "?",
    }
}

/// The engine's data string escapes a leading `^` (after any backslashes) in plain data.
fn engine_plain_text(text: &str) -> String {
    let backslashes = text.bytes().take_while(|&byte| byte == b'\\').count();
    if text.as_bytes().get(backslashes) == Some(&b'^') {
        format!("\\{text}")
    } else {
        text.to_owned()
    }
}

#[test]
fn scan_data() {
    let mut tally = Tally::new("gs1-syntax-engine scan_data_to_element_string");
    for record in suite(&records(), "scan_data_to_element_string") {
        let scan = input(&record);
        if scan.contains('|') {
            tally.skip(SKIP_COMPOSITE);
            continue;
        }
        let result = ScanData::parse(scan);
        let valid = expected_valid(&record);
        tally.case();
        tally.check(&id(&record), result.is_ok() == valid, || {
            format!("{scan:?}: expected valid={valid}, got {result:?}")
        });
        let Ok(parsed) = result else { continue };
        if let Some(expected) = record.str("expected_symbology") {
            let found = symbology_name(parsed.symbology);
            tally.check(
                &format!("{} symbology", id(&record)),
                found == expected,
                || format!("expected {expected}, got {found}"),
            );
        }
        if let Some(expected) = record.str("expected_data_string") {
            let found = match &parsed.content {
                ScanContent::ElementString(element_string) => data_to_caret(element_string),
                ScanContent::Gtin(gtin) => gtin.shortest_form().to_owned(),
                ScanContent::DigitalLink(_) => scan[3..].to_owned(),
                ScanContent::Text(text) => engine_plain_text(text),
                other => format!("unexpected content {other:?}"),
            };
            tally.check(&format!("{} data", id(&record)), found == expected, || {
                format!("expected {expected:?}, got {found:?}")
            });
        }
    }
    tally.finish(50);
}

#[test]
fn human_readable_interpretation() {
    let mut tally = Tally::new("gs1-syntax-engine hri");
    for record in suite(&records(), "hri") {
        let options = option_names(&record);
        let text = input(&record);
        if text.contains('|') {
            tally.skip(SKIP_COMPOSITE);
            continue;
        }
        if options.contains("permitUnknownAIs") {
            tally.skip(SKIP_UNKNOWN_AIS);
            continue;
        }
        let result = match record.str("input_format") {
            Some("element_string_fnc1_caret") => {
                ElementString::parse_unbracketed(&caret_to_data(text).expect("GS1 mode"))
            }
            Some("bracketed_ai") => ElementString::parse_bracketed(text),
            _ => DigitalLink::parse(text).map(|link| link.element_string().clone()),
        };
        let expected: Vec<String> = record
            .get("expected_hri")
            .expect("hri")
            .array()
            .iter()
            .map(|line| line.as_str().unwrap_or_default().to_owned())
            .collect();
        let found = result.as_ref().map(|element_string| {
            if options.contains("includeDataTitlesInHRI") {
                element_string.human_readable_interpretation_with_titles()
            } else {
                element_string.human_readable_interpretation()
            }
        });
        tally.case();
        tally.check(&id(&record), found.as_ref() == Ok(&expected), || {
            format!("expected {expected:?}, got {found:?}")
        });
    }
    tally.finish(5);
}

/// AIs written in a bracketed input, known or not.
fn bracketed_application_identifiers(text: &str) -> Vec<String> {
    text.split('(')
        .skip(1)
        .filter_map(|part| {
            part.split_once(')')
                .map(|(identifier, _)| identifier.to_owned())
        })
        .collect()
}

#[test]
fn association_rules() {
    let mut tally = Tally::new("gs1-syntax-engine ai_association_rules");
    for record in suite(&records(), "ai_association_rules") {
        let text = input(&record);
        // Every record was run with permitUnknownAIs; it only matters where an unknown AI occurs.
        let all_known = bracketed_application_identifiers(text)
            .iter()
            .all(|identifier| {
                ApplicationIdentifier::parse(identifier)
                    .map(|parsed| parsed.is_known())
                    .unwrap_or(false)
            });
        if !all_known {
            tally.skip("uses an AI unknown to the syntax dictionary (needs permitUnknownAIs)");
            continue;
        }
        let rule = record.str("rule").unwrap_or_default();
        let result = ElementString::parse_bracketed(text).and_then(|element_string| {
            if rule == "validateAIrequisites" {
                element_string.check_requisites()
            } else {
                Ok(())
            }
        });
        let valid = expected_valid(&record);
        tally.case();
        tally.check(&id(&record), result.is_ok() == valid, || {
            format!("{text:?} ({rule}): expected valid={valid}, got {result:?}")
        });
        if let Err(error) = &result {
            let right_rule = match rule {
                "validateAIrepeats" => matches!(error, Error::ConflictingRepeat { .. }),
                "validateAImutex" => matches!(error, Error::MutuallyExclusive { .. }),
                "validateAIrequisites" => matches!(error, Error::RequisiteMissing { .. }),
                "validateDigSigRequiresSerialisedKey" => {
                    matches!(error, Error::DigitalSignatureRequiresSerial { .. })
                }
                _ => false,
            };
            tally.check(&format!("{} rule", id(&record)), right_rule, || {
                format!("{rule} expected, got {error:?}")
            });
        }
    }
    tally.finish(60);
}

#[test]
fn every_engine_record_belongs_to_a_suite_tested_here() {
    let known = [
        "dl_uri_to_element_string",
        "element_string_to_dl_uri",
        "bracketed_ai_to_element_string",
        "bracketed_ai_lint",
        "element_string_validate",
        "scan_data_to_element_string",
        "hri",
        "ai_association_rules",
    ];
    let records = records();
    assert_eq!(
        records.len(),
        490,
        "the engine vector file changed: review the suites"
    );
    for record in &records {
        let suite = record.str("suite").unwrap_or_default();
        assert!(
            known.contains(&suite),
            "{}: suite {suite} has no test",
            id(record)
        );
    }
}
