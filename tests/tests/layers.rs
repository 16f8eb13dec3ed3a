//! The direction of dependencies: the chain core names no domain.
//!
//! Reads `cargo metadata` of the workspace and checks every package's dependencies (normal,
//! build and dev) against the layers of `docs/ARCHITECTURE.md`: a core crate (the node, the
//! consensus engines, the contract host and ABI types, genesis) never depends on a domain
//! crate (anything under `node/apps/`, `contracts/system/` or `commerce/`), and no library
//! depends on the composition root (`cli`).

use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Core,
    Domain,
    CompositionRoot,
    Tests,
}

fn workspace_root() -> PathBuf {
    Path::new(&rxchain_tests::manifest_dir())
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// The layer of the package whose manifest is at `manifest` (a path inside the workspace).
fn layer_of(manifest: &Path) -> Layer {
    let relative = manifest
        .strip_prefix(workspace_root())
        .unwrap_or_else(|_| panic!("{} is outside the workspace", manifest.display()));
    let text = relative.to_string_lossy().replace('\\', "/");
    if text.starts_with("node/apps/")
        || text.starts_with("contracts/system/")
        || text.starts_with("commerce/")
    {
        Layer::Domain
    } else if text.starts_with("cli/") {
        Layer::CompositionRoot
    } else if text.starts_with("tests/") {
        Layer::Tests
    } else {
        assert!(
            [
                "node/",
                "consensus/",
                "contracts/host/",
                "contracts/types/",
                "genesis/"
            ]
            .iter()
            .any(|core| text.starts_with(core)),
            "{text}: a package outside every known layer; add it to docs/ARCHITECTURE.md and here"
        );
        Layer::Core
    }
}

fn metadata() -> Value {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

/// A workspace package, its layer, and its dependencies inside the workspace with theirs.
type Package = (String, Layer, Vec<(String, Layer)>);

/// Every workspace package; dependencies outside the workspace (crates.io) are left out.
fn packages() -> Vec<Package> {
    let metadata = metadata();
    let packages = metadata["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().expect("name").to_string();
            let layer = layer_of(Path::new(
                package["manifest_path"].as_str().expect("manifest path"),
            ));
            let dependencies = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter_map(|dependency| {
                    let path = dependency["path"].as_str()?;
                    let manifest = Path::new(path).join("Cargo.toml");
                    Some((
                        dependency["name"].as_str().expect("name").to_string(),
                        layer_of(&manifest),
                    ))
                })
                .collect();
            (name, layer, dependencies)
        })
        .collect()
}

#[test]
fn the_core_depends_on_no_domain_and_nothing_on_the_composition_root() {
    let packages = packages();
    let layers: Vec<Layer> = packages.iter().map(|(_, layer, _)| *layer).collect();
    // The test means something only while each layer has members.
    for expected in [
        Layer::Core,
        Layer::Domain,
        Layer::CompositionRoot,
        Layer::Tests,
    ] {
        assert!(layers.contains(&expected), "no package in {expected:?}");
    }
    let mut violations = Vec::new();
    for (name, layer, dependencies) in &packages {
        for (dependency, dependency_layer) in dependencies {
            let forbidden = match layer {
                Layer::Core => *dependency_layer != Layer::Core,
                Layer::Domain => {
                    matches!(dependency_layer, Layer::CompositionRoot | Layer::Tests)
                }
                Layer::CompositionRoot => *dependency_layer == Layer::Tests,
                Layer::Tests => false,
            };
            if forbidden {
                violations.push(format!(
                    "{name} ({layer:?}) depends on {dependency} ({dependency_layer:?})"
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_layers_are_read_from_paths() {
    let root = workspace_root();
    assert_eq!(layer_of(&root.join("node/Cargo.toml")), Layer::Core);
    assert_eq!(
        layer_of(&root.join("node/apps/trace/Cargo.toml")),
        Layer::Domain
    );
    assert_eq!(
        layer_of(&root.join("node/apps/trace/gs1/Cargo.toml")),
        Layer::Domain
    );
    assert_eq!(layer_of(&root.join("commerce/Cargo.toml")), Layer::Domain);
    assert_eq!(
        layer_of(&root.join("cli/Cargo.toml")),
        Layer::CompositionRoot
    );
}
