//! Key files: one Ed25519 signing key per file, TOML, readable by the owner only.
//!
//! A key file names the key's purpose (`name`), the organization it acts for, and holds the
//! 32-byte secret seed and public key in hex. Files are created with mode 0600 inside folders
//! with mode 0700, because anyone who reads the file can sign as that member or validator.

use crate::GenesisError;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    name: String,
    organization: String,
    public_key: String,
    secret_key: String,
}

/// A signing key read from a key file.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub name: String,
    pub organization: String,
    pub signing_key: SigningKey,
}

/// Creates `dir` (mode 0700) when missing.
pub fn create_private_dir(dir: &Path) -> Result<(), GenesisError> {
    std::fs::create_dir_all(dir).map_err(|source| GenesisError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        GenesisError::Write {
            path: dir.to_path_buf(),
            source,
        }
    })
}

/// Writes a new key file `dir/<name>.key` (mode 0600); refuses to overwrite an existing one.
pub fn write_key(
    dir: &Path,
    name: &str,
    organization: &str,
    signing_key: &SigningKey,
) -> Result<PathBuf, GenesisError> {
    create_private_dir(dir)?;
    let path = dir.join(format!("{name}.key"));
    let file = KeyFile {
        name: name.to_string(),
        organization: organization.to_string(),
        public_key: hex::encode(signing_key.verifying_key().as_bytes()),
        secret_key: hex::encode(signing_key.to_bytes()),
    };
    let text = toml::to_string(&file).expect("key file serializes");
    let mut handle = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| GenesisError::Write {
            path: path.clone(),
            source,
        })?;
    handle
        .write_all(text.as_bytes())
        .and_then(|()| handle.sync_all())
        .map_err(|source| GenesisError::Write {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

/// Reads a key file and checks that its public key matches its secret.
pub fn read_key(path: &Path) -> Result<StoredKey, GenesisError> {
    let key_error = |message: String| GenesisError::KeyFile {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| GenesisError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: KeyFile = toml::from_str(&text).map_err(|error| key_error(error.to_string()))?;
    let secret: [u8; 32] = hex::decode(file.secret_key.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| key_error("secret_key is not 64 hex digits".into()))?;
    let signing_key = SigningKey::from_bytes(&secret);
    if hex::encode(signing_key.verifying_key().as_bytes()) != file.public_key.trim() {
        return Err(key_error("public_key does not belong to secret_key".into()));
    }
    Ok(StoredKey {
        name: file.name,
        organization: file.organization,
        signing_key,
    })
}

/// A fresh random signing key from the operating system's generator.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}
