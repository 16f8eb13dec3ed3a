//! The system contracts' committed wasm is exactly what their sources build to.

use std::process::Command;

#[test]
fn committed_wasm_matches_a_rebuild_of_the_sources() {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).contains("wasm32-unknown-unknown"))
        .unwrap_or(false);
    if !installed {
        // .ci/run installs the target, so CI always runs the comparison.
        eprintln!("wasm32-unknown-unknown is not installed; skipping the rebuild comparison");
        return;
    }
    let manifest = std::path::PathBuf::from(rxchain_tests::manifest_dir());
    let root = manifest.parent().unwrap();
    let output = Command::new("bash")
        .arg(root.join("contracts/build-system-contracts.sh"))
        .arg("--check")
        .current_dir(root)
        .output()
        .expect("the build script runs");
    assert!(
        output.status.success(),
        "committed wasm differs from the sources' build:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn genesis_and_modules_embed_the_committed_wasm() {
    let manifest = std::path::PathBuf::from(rxchain_tests::manifest_dir());
    let root = manifest.parent().unwrap();
    assert_eq!(
        std::fs::read(root.join("contracts/wasm/registry.wasm")).unwrap(),
        rxchain_genesis::REGISTRY_WASM
    );
    assert_eq!(
        std::fs::read(root.join("contracts/wasm/trace.wasm")).unwrap(),
        rxchain_trace::TRACE_WASM
    );
}
