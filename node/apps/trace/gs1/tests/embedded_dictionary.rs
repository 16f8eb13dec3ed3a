//! The syntax dictionary compiled into the crate must be the one the conformance vectors were
//! produced with (`shared/conformance/gs1/raw/gs1-syntax-dictionary.engine-embedded.txt`,
//! release 2026-01-27). Updating one without the other fails here.

mod common;

#[test]
fn embedded_dictionary_is_the_conformance_release() {
    let embedded = include_str!("../src/gs1-syntax-dictionary.txt");
    let reference = common::read_vector_file("raw/gs1-syntax-dictionary.engine-embedded.txt");
    assert!(
        embedded == reference,
        "src/gs1-syntax-dictionary.txt differs from the conformance copy"
    );
    assert!(embedded.contains("# Release: 2026-01-27"));
}
