//! The module's subcommands of the `rxchain` binary: pack labels, the EPCIS capture token, and
//! the offline check of a proof bundle. The composition root (`cli`) flattens [`Command`] into
//! its own list, so they read `rxchain label …`, `rxchain capture-token …`, `rxchain verify …`;
//! everything they do is here, beside the code they drive.

use crate::label::{self, LabelError};
use crate::proof::{BundleError, ProofBundle, step_name, verify_bundle};
use clap::Subcommand;
use rxchain_genesis::keystore::read_key;
use rxchain_genesis::{Genesis, GenesisError};
use rxchain_pages::{Language, date_time};
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make a pack's label: the QR code (SVG or PNG) of its GS1 Digital Link, or the NDEF record
    /// for an NFC tag. The format follows the output file's extension (.svg, .png, .ndef).
    Label {
        /// Base of the Digital Link URI, e.g. https://verify.example.com
        #[arg(long)]
        base: String,
        #[arg(long)]
        gtin: String,
        #[arg(long)]
        serial: String,
        #[arg(long)]
        lot: Option<String>,
        /// YYMMDD.
        #[arg(long)]
        expiry: Option<String>,
        #[arg(long, default_value_t = 8)]
        module_pixels: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the bearer token that authorizes EPCIS capture with a member key (on a node that
    /// holds that key in `capture_keys`).
    CaptureToken {
        #[arg(long)]
        key: PathBuf,
    },
    /// Check a proof bundle (the JSON answer of a pack's verification URL) offline.
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// The chain's genesis file.
        #[arg(long)]
        genesis: PathBuf,
    },
}

/// Why a subcommand failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("'{0}' is not a GTIN-14 with a valid check digit")]
    InvalidGtin(String),
    #[error("the output file must end in .svg, .png or .ndef")]
    UnknownLabelFormat,
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error("{path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the file is not a proof bundle: {0}")]
    NotABundle(serde_json::Error),
    #[error("the bundle does NOT verify: {0}")]
    DoesNotVerify(BundleError),
}

/// Runs one of the module's subcommands, printing its answer on standard output.
pub fn run(command: Command) -> Result<(), CommandError> {
    match command {
        Command::Label {
            base,
            gtin,
            serial,
            lot,
            expiry,
            module_pixels,
            out,
        } => {
            let uri = make_label(
                &base,
                &gtin,
                &serial,
                lot.as_deref(),
                expiry.as_deref(),
                module_pixels,
                &out,
            )?;
            println!("{uri}");
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::CaptureToken { key } => {
            let key = read_key(&key)?.signing_key;
            println!("{}", crate::epcis::capture_token(&key));
            Ok(())
        }
        Command::Verify { bundle, genesis } => {
            print!("{}", verify_file(&bundle, &genesis)?);
            Ok(())
        }
    }
}

/// Writes a pack's label to `out` in the format its extension names; returns the URI encoded.
pub fn make_label(
    base: &str,
    gtin: &str,
    serial: &str,
    lot: Option<&str>,
    expiry: Option<&str>,
    module_pixels: usize,
    out: &Path,
) -> Result<String, CommandError> {
    if !rxchain_trace_types::is_valid_gtin14(gtin) {
        return Err(CommandError::InvalidGtin(gtin.into()));
    }
    let uri = label::digital_link_uri(base, gtin, lot, serial, expiry);
    let bytes = match out.extension().and_then(|extension| extension.to_str()) {
        Some("svg") => label::qr_svg(&uri, module_pixels)?.into_bytes(),
        Some("png") => label::qr_png(&uri, module_pixels)?,
        Some("ndef") => label::ndef_uri_record(&uri)?,
        _ => return Err(CommandError::UnknownLabelFormat),
    };
    std::fs::write(out, bytes).map_err(|source| CommandError::File {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(uri)
}

/// Checks a bundle file against a genesis file; returns the report a person reads: what is
/// proven, what one validator attests, and what is not proven.
pub fn verify_file(bundle_path: &Path, genesis_path: &Path) -> Result<String, CommandError> {
    let genesis = Genesis::load(genesis_path)?;
    let text = std::fs::read_to_string(bundle_path).map_err(|source| CommandError::File {
        path: bundle_path.to_path_buf(),
        source,
    })?;
    let bundle: ProofBundle = serde_json::from_str(&text).map_err(CommandError::NotABundle)?;
    let validators: Vec<[u8; 32]> = genesis
        .validators
        .iter()
        .map(|validator| validator.public_key.0)
        .collect();
    let verified = verify_bundle(&bundle, &genesis.chain_id, &genesis.hash(), &validators)
        .map_err(CommandError::DoesNotVerify)?;
    let statement = &verified.statement;
    let mut report = format!(
        "VERIFIED against genesis {} (chain {})\n\n",
        hex::encode(genesis.hash()),
        genesis.chain_id
    );
    report.push_str("Proven by finality certificates of the chain's validators:\n");
    report.push_str(&format!(
        "  {} ledger entries, each a transaction included in a final block (Merkle proofs of the\n",
        verified.entries.len()
    ));
    report.push_str(
        "  transaction and its receipt against the block header, header signed by a validator quorum).\n",
    );
    report.push_str(&format!(
        "  pack {} / {}\n",
        statement.pack.gtin, statement.pack.serial
    ));
    if let Some(product) = &statement.product {
        report.push_str(&format!(
            "  product: {} {} ({}), registered by {}\n",
            product.name, product.strength, product.approval_number, product.manufacturer
        ));
    }
    for item in &statement.timeline {
        report.push_str(&format!(
            "  block {:>6}  {}  {:<14} by {}\n",
            item.height,
            date_time(Language::English, item.time_ms),
            step_name(&item.step),
            item.organization
        ));
    }
    report.push_str(&format!(
        "\nAttested by validator {} (its signature covers the whole bundle):\n",
        verified.attested_by
    ));
    report.push_str(&format!(
        "  checked at {}, label lot {:?} expiry {:?}\n",
        date_time(Language::English, bundle.body.checked_at_ms),
        bundle.body.subject.scanned_lot,
        bundle.body.subject.scanned_expiry
    ));
    report.push_str(&format!(
        "  verdict: {} — {}\n\n",
        statement.verdict.code.as_str(),
        statement.verdict.summary
    ));
    report.push_str(&format!(
        "Not proven: that no later event exists after block {} (the bundle shows the chain up to that\n",
        bundle.body.head_height
    ));
    report.push_str(
        "height), and the pack's current state beyond its events (proofs of current state come with\n",
    );
    report.push_str("the sparse Merkle state tree).\n");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_refuse_bad_codes_and_formats() {
        let directory = tempfile::tempdir().unwrap();
        let svg = directory.path().join("label.svg");
        assert!(matches!(
            make_label(
                "https://v.example",
                "09506000134353",
                "A",
                None,
                None,
                4,
                &svg
            ),
            Err(CommandError::InvalidGtin(_))
        ));
        assert!(matches!(
            make_label(
                "https://v.example",
                "09506000134352",
                "A",
                None,
                None,
                4,
                &directory.path().join("label.gif")
            ),
            Err(CommandError::UnknownLabelFormat)
        ));
        let uri = make_label(
            "https://v.example",
            "09506000134352",
            "A",
            Some("L1"),
            None,
            4,
            &svg,
        )
        .unwrap();
        assert_eq!(uri, "https://v.example/01/09506000134352/10/L1/21/A");
        assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    }

    #[test]
    fn a_file_that_is_not_a_bundle_is_named_so() {
        let directory = tempfile::tempdir().unwrap();
        let bundle = directory.path().join("bundle.json");
        std::fs::write(&bundle, "{\"not\": \"a bundle\"}").unwrap();
        let consortium = rxchain_genesis::dev::create_dev_consortium(
            &directory.path().join("consortium"),
            &rxchain_genesis::dev::DevOptions::default(),
        )
        .unwrap();
        assert!(matches!(
            verify_file(&bundle, &consortium.genesis_path),
            Err(CommandError::NotABundle(_))
        ));
    }
}
