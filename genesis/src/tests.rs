use super::*;
use crate::dev::{DevOptions, create_dev_consortium};
use std::os::unix::fs::PermissionsExt;

/// A module's contract for these tests: genesis checks its hash, not what it does.
const TEST_WASM: &[u8] = b"\0asm\x01\0\0\0\0\x05\x04test";

fn dev() -> (tempfile::TempDir, dev::DevConsortium, String) {
    let dir = tempfile::tempdir().unwrap();
    let consortium = create_dev_consortium(
        dir.path(),
        &DevOptions {
            system_contracts: vec![SystemContract {
                id: "trace",
                wasm: TEST_WASM,
            }],
            ..DevOptions::default()
        },
    )
    .unwrap();
    let text = std::fs::read_to_string(&consortium.genesis_path).unwrap();
    (dir, consortium, text)
}

fn error_field(text: &str, base: &Path) -> String {
    match Genesis::from_toml(text, base) {
        Err(GenesisError::Invalid { field, .. }) => field,
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn dev_consortium_loads_with_five_organizations_the_registry_and_module_contracts() {
    let (_dir, consortium, _) = dev();
    let genesis = Genesis::load(&consortium.genesis_path).unwrap();
    assert_eq!(genesis.organizations.len(), 5);
    assert_eq!(genesis.members.len(), 5);
    assert_eq!(genesis.validators.len(), 1);
    let ids: Vec<_> = genesis.contracts.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["registry", "trace"]);
    // Loading twice gives the same identity.
    assert_eq!(
        Genesis::load(&consortium.genesis_path).unwrap().hash(),
        genesis.hash()
    );
}

#[test]
fn key_files_are_private_and_read_back() {
    let (_dir, consortium, _) = dev();
    let path = consortium.member_key("anxin-pharmacy");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(&consortium.keystore)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    let key = keystore::read_key(&path).unwrap();
    assert_eq!(key.organization, "anxin-pharmacy");
    let genesis = Genesis::load(&consortium.genesis_path).unwrap();
    let public = rxchain_contract_types::PublicKeyBytes(key.signing_key.verifying_key().to_bytes());
    assert_eq!(
        genesis.member(&public).unwrap().organization,
        "anxin-pharmacy"
    );
}

#[test]
fn validation_errors_name_the_field() {
    let (dir, _consortium, text) = dev();
    let base = dir.path();
    assert_eq!(
        error_field(
            &text.replacen("roles = [\"distributor\"]", "roles = [\"distributer\"]", 1),
            base
        ),
        "organizations[1].roles"
    );
    assert_eq!(
        error_field(
            &text.replacen("kind = \"solo\"", "kind = \"paxos\"", 1),
            base
        ),
        "consensus.kind"
    );
    assert_eq!(
        error_field(
            &text.replacen("chain_id = \"rxchain-dev\"", "chain_id = \"\"", 1),
            base
        ),
        "chain_id"
    );
    // Every chain has the registry: it holds the identities and roles admission checks.
    assert_eq!(
        error_field(
            &text.replacen("id = \"registry\"", "id = \"registrar\"", 1),
            base
        ),
        "contracts"
    );
    // A wasm file whose bytes differ from the pinned hash.
    std::fs::write(base.join("contracts/trace.wasm"), b"\0asm\x01\0\0\0").unwrap();
    assert_eq!(error_field(&text, base), "contracts[1].code_hash");
}

#[test]
fn member_of_an_unknown_organization_is_refused() {
    let (dir, _consortium, text) = dev();
    let broken = text.replacen(
        "organization = \"kangda-distribution\"",
        "organization = \"nobody\"",
        1,
    );
    assert_eq!(error_field(&broken, dir.path()), "members[1].organization");
}

#[test]
fn unknown_fields_are_syntax_errors() {
    let (dir, _consortium, text) = dev();
    let broken = text.replacen("chain_id", "colour = 1\nchain_id", 1);
    assert!(matches!(
        Genesis::from_toml(&broken, dir.path()),
        Err(GenesisError::Syntax(_))
    ));
}

#[test]
fn key_file_with_mismatched_public_key_is_refused() {
    let (_dir, consortium, _) = dev();
    let path = consortium.member_key("huaxin-pharma");
    let text = std::fs::read_to_string(&path).unwrap();
    let other = keystore::generate();
    let public_line = text
        .lines()
        .find(|line| line.starts_with("public_key"))
        .unwrap();
    let tampered = text.replace(
        public_line,
        &format!(
            "public_key = \"{}\"",
            hex::encode(other.verifying_key().as_bytes())
        ),
    );
    std::fs::write(&path, tampered).unwrap();
    assert!(matches!(
        keystore::read_key(&path),
        Err(GenesisError::KeyFile { .. })
    ));
}
