//! Deterministic randomised tests (fixed seeds, so failures reproduce): no parser panics on
//! arbitrary input, and valid data survives every format/parse round trip unchanged.

use rxchain_gs1::{
    ApplicationIdentifier, ChinaDrugTraceCode, CompanyPrefixLength, DigitalLink,
    DigitalLinkParseOptions, ElementString, Epc, Gtin, ScanData, Sgtin, Sscc,
};

/// xorshift64*: small, fast, and good enough to spread test inputs.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        // Bounds are small, so the modulo bias is irrelevant here.
        (self.next() % bound as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Fragments that steer random strings towards the interesting parts of each grammar.
const FRAGMENTS: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "01",
    "10",
    "17",
    "21",
    "00",
    "22",
    "235",
    "710",
    "8003",
    "99",
    "4",
    "(",
    ")",
    "\\(",
    "\u{1D}",
    "é",
    "中",
    "%",
    "%2F",
    "%00",
    "%4",
    "/",
    "?",
    "&",
    "=",
    "+",
    "#",
    "https://",
    "HTTP://",
    "id.gs1.org",
    "/01/",
    "09506000134352",
    "106141412345678908",
    "281231",
    "281200",
    "]d2",
    "]Q1",
    "]E0",
    "]C1",
    "urn:epc:id:sgtin:",
    "urn:epc:id:sscc:",
    "urn:epc:class:lgtin:",
    "0614141",
    ".",
    "812345",
    "A",
    "z",
    "-",
    "_",
    " ",
    "^",
];

/// Valid inputs of every form, which mutations then bend into near-misses.
const SEEDS: &[&str] = &[
    "(01)09506000134352(17)281231(10)ABC123(21)1234567890",
    "(00)106141412345678908(02)09506000134352(37)12",
    "(01)09506000134352(710)PZN1234(3103)000195(8003)0950600013435ABC",
    "0109506000134352172812001012345\u{1D}21SERIAL",
    "]d20109506000134352172812311012345\u{1D}21SERIAL",
    "]Q1https://id.gs1.org/01/09506000134352/10/ABC/21/123?17=281231",
    "https://brand.example.com/a/b/01/09506000134352/22/V1/10/L%2F1/21/S?17=281200&3103=000195&99=x+y",
    "https://id.gs1.org/00/106141412345678908?02=09506000134352&37=12",
    "https://id.gs1.org/414/9520123456788/254/32a%2Fb",
    "urn:epc:id:sgtin:0614141.812345.6789",
    "urn:epc:id:sscc:0614141.1234567890",
    "urn:epc:class:lgtin:4012345.012345.99%2F88",
];

/// Random text, either assembled from fragments or a valid seed with a few random edits.
fn random_text(generator: &mut Generator) -> String {
    if generator.below(4) == 0 {
        let pieces = generator.below(14);
        return (0..pieces).map(|_| *generator.pick(FRAGMENTS)).collect();
    }
    let mut characters: Vec<char> = generator.pick(SEEDS).chars().collect();
    for _ in 0..1 + generator.below(3) {
        let position = generator.below(characters.len() + 1);
        match generator.below(3) {
            0 => characters
                .splice(position..position, generator.pick(FRAGMENTS).chars())
                .for_each(drop),
            1 => {
                let end = (position + 1 + generator.below(3)).min(characters.len());
                characters
                    .splice(position.min(end)..end, std::iter::empty())
                    .for_each(drop);
            }
            _ => {
                if position < characters.len() {
                    characters[position] = generator.pick(FRAGMENTS).chars().next().unwrap_or('0');
                }
            }
        }
    }
    characters.into_iter().collect()
}

#[test]
fn parsers_never_panic_and_round_trip_what_they_accept() {
    let lenient = DigitalLinkParseOptions {
        permit_zero_suppressed_gtin: true,
    };
    for seed in [1u64, 0x5eed, 0xdead_beef, 42_424_242] {
        let mut generator = Generator(seed);
        for _ in 0..20_000 {
            let text = random_text(&mut generator);
            if let Ok(element_string) = ElementString::parse_bracketed(&text) {
                assert_eq!(
                    ElementString::parse_bracketed(&element_string.to_bracketed()).as_ref(),
                    Ok(&element_string),
                    "{text:?}"
                );
                assert_eq!(
                    ElementString::parse_unbracketed(&element_string.to_unbracketed()).as_ref(),
                    Ok(&element_string),
                    "{text:?}"
                );
            }
            if let Ok(element_string) = ElementString::parse_unbracketed(&text) {
                assert_eq!(
                    ElementString::parse_unbracketed(&element_string.to_unbracketed()).as_ref(),
                    Ok(&element_string),
                    "{text:?}"
                );
            }
            for options in [DigitalLinkParseOptions::default(), lenient] {
                if let Ok(link) = DigitalLink::parse_with_options(&text, options) {
                    let reparsed = DigitalLink::parse(&link.to_uri())
                        .unwrap_or_else(|error| panic!("{text:?} → {}: {error}", link.to_uri()));
                    assert_eq!(
                        sorted_pairs(reparsed.element_string()),
                        sorted_pairs(link.element_string()),
                        "{text:?}"
                    );
                }
            }
            if let Ok((epc, company_prefix_length)) = Epc::from_urn(&text) {
                assert_eq!(
                    Epc::from_urn(&epc.to_urn(company_prefix_length)).map(|(epc, _)| epc),
                    Ok(epc.clone()),
                    "{text:?}"
                );
                assert_eq!(
                    Epc::from_digital_link(&epc.to_digital_link()),
                    Ok(epc),
                    "{text:?}"
                );
            }
            let _ = ScanData::parse(&text);
            let _ = ElementString::parse_scan_data(&text);
            let _ = Gtin::parse(&text);
            let _ = Sscc::parse(&text);
            let _ = ChinaDrugTraceCode::parse(&text);
            let _ = ApplicationIdentifier::parse(&text);
        }
    }
}

fn sorted_pairs(element_string: &ElementString) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = element_string
        .elements()
        .iter()
        .map(|element| {
            (
                element.application_identifier().to_string(),
                element.value().to_owned(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// GS1 character set 82.
const CHARACTER_SET_82: &[u8] =
    b"!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn random_value(generator: &mut Generator, maximum_characters: usize) -> String {
    let length = 1 + generator.below(maximum_characters);
    (0..length)
        .map(|_| char::from(*generator.pick(CHARACTER_SET_82)))
        .collect()
}

fn random_gtin(generator: &mut Generator) -> Gtin {
    let digits: String = (0..13)
        .map(|_| char::from(b'0' + generator.below(10) as u8))
        .collect();
    Gtin::from_digits_without_check_digit(&digits).expect("13 digits")
}

#[test]
fn valid_pack_data_round_trips_through_every_form() {
    let mut generator = Generator(0x6751);
    for _ in 0..5_000 {
        let gtin = random_gtin(&mut generator);
        let serial = random_value(&mut generator, 20);
        let lot = random_value(&mut generator, 20);
        let expiry = format!(
            "{:02}{:02}{:02}",
            generator.below(100),
            1 + generator.below(12),
            generator.below(29)
        );
        let mut elements = vec![
            (ApplicationIdentifier::GTIN, gtin.to_string()),
            (ApplicationIdentifier::EXPIRATION_DATE, expiry),
            (ApplicationIdentifier::BATCH_OR_LOT, lot),
            (ApplicationIdentifier::SERIAL_NUMBER, serial.clone()),
            (
                ApplicationIdentifier::REIMBURSEMENT_NUMBER_GERMANY,
                random_value(&mut generator, 20),
            ),
        ];
        // Shuffle (Fisher–Yates) so every order of AIs is exercised.
        for index in (1..elements.len()).rev() {
            let other = generator.below(index + 1);
            elements.swap(index, other);
        }
        let element_string = ElementString::from_elements(elements.clone())
            .unwrap_or_else(|error| panic!("{elements:?}: {error}"));
        element_string
            .check_requisites()
            .expect("a GTIN satisfies every requisite here");
        assert_eq!(
            ElementString::parse_bracketed(&element_string.to_bracketed()),
            Ok(element_string.clone())
        );
        assert_eq!(
            ElementString::parse_unbracketed(&element_string.to_unbracketed()),
            Ok(element_string.clone())
        );
        assert_eq!(
            ElementString::parse_scan_data(&format!("]d2{}", element_string.to_unbracketed())),
            Ok(element_string.clone())
        );

        let link = DigitalLink::from_element_string(
            &element_string,
            Some("https://brand.example.com/products"),
        )
        .unwrap_or_else(|error| panic!("{element_string}: {error}"));
        let reparsed = DigitalLink::parse(&link.to_uri())
            .unwrap_or_else(|error| panic!("{}: {error}", link.to_uri()));
        assert_eq!(reparsed, link);
        assert_eq!(
            sorted_pairs(reparsed.element_string()),
            sorted_pairs(&element_string)
        );
        assert!(
            link.canonical_uri()
                .starts_with(&format!("https://id.gs1.org/01/{gtin}/10/")),
            "{}",
            link.canonical_uri()
        );

        let sgtin = Sgtin::new(gtin, &serial).expect("valid serial");
        let company_prefix_length =
            CompanyPrefixLength::new(6 + generator.below(7) as u8).expect("6..=12");
        let urn = sgtin.to_epc_urn(company_prefix_length);
        assert_eq!(
            Sgtin::from_epc_urn(&urn),
            Ok((sgtin.clone(), company_prefix_length)),
            "{urn}"
        );
        assert_eq!(
            Epc::from_digital_link(&link).map(|epc| epc.to_urn(company_prefix_length)),
            Ok(urn)
        );
    }
}
