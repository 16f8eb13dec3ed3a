//! Linter (AI component rule) vectors from gs1/gs1-syntax-dictionary
//! (`shared/conformance/gs1/vectors/gs1-syntax-dictionary.linter-vectors.tsv`), read in place.
//!
//! Each row names a linter, an input, the verdict, the reference implementation's error code
//! and the highlighted part of the input (`*…*`). We compare all three.
//!
//! Deliberately not covered (counted and reported as skipped):
//! * linters that need external code lists or coupon formats (`iso3166`, `iso3166999`,
//!   `iso3166alpha2`, `iso4217`, `iban`, `packagetype`, `couponcode`, `couponposoffer`): this
//!   crate does not embed those lists and refuses the AIs that use them;
//! * rows with a `condition` (they only hold with the unit-test mock GS1 company prefix lookup,
//!   which a default build, and this crate, do not have).

mod common;

use common::{Tally, gs1_code, read_vector_file, unescape_tsv};
use rxchain_gs1::linter::Linter;

/// The input with the part at `position`/`length` wrapped in `*`, as the reference
/// implementation marks errors (comparing markings, not offsets, because data containing `*`
/// can make the marking ambiguous).
fn mark(input: &[u8], position: usize, length: usize) -> Vec<u8> {
    let end = (position + length).min(input.len());
    let start = position.min(end);
    let mut marked = input[..start].to_vec();
    marked.push(b'*');
    marked.extend_from_slice(&input[start..end]);
    marked.push(b'*');
    marked.extend_from_slice(&input[end..]);
    marked
}

#[test]
fn linters_match_the_reference_implementation() {
    let text = read_vector_file("vectors/gs1-syntax-dictionary.linter-vectors.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    assert_eq!(
        header,
        [
            "linter",
            "input",
            "valid",
            "expected",
            "expected_highlight",
            "condition",
            "source"
        ]
    );
    let mut tally = Tally::new("gs1-syntax-dictionary linter vectors");
    let mut rows = 0;
    for (index, line) in lines.enumerate() {
        rows += 1;
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 7, "row {}: {line:?}", index + 2);
        let (name, input, valid, expected, marked, condition) = (
            fields[0],
            unescape_tsv(fields[1]),
            fields[2] == "true",
            fields[3],
            unescape_tsv(fields[4]),
            fields[5],
        );
        let identifier = format!(
            "row {} {name} {:?}",
            index + 2,
            String::from_utf8_lossy(&input)
        );
        let linter = Linter::from_dictionary_name(name)
            .unwrap_or_else(|| panic!("{identifier}: unknown linter name"));
        if !linter.is_implemented() {
            tally.skip(&format!("{name}: code list or coupon format not embedded"));
            continue;
        }
        if !condition.is_empty() {
            tally.skip("condition: needs the unit-test mock GCP lookup");
            continue;
        }
        let result = linter.check(&input);
        tally.case();
        tally.check(&identifier, result.is_ok() == valid, || {
            format!("expected valid={valid}, got {result:?}")
        });
        if let Err(failure) = result {
            let code = gs1_code(failure.kind);
            tally.check(&format!("{identifier} code"), code == expected, || {
                format!("expected {expected}, got {code}")
            });
            let found = mark(&input, failure.position, failure.length);
            tally.check(&format!("{identifier} highlight"), found == marked, || {
                format!(
                    "expected {:?}, got {:?}",
                    String::from_utf8_lossy(&marked),
                    String::from_utf8_lossy(&found)
                )
            });
        }
    }
    assert_eq!(rows, 5671, "the linter vector file changed: review");
    tally.finish(1900);
}
