//! The approval service's Ed25519 key. The key file holds one line,
//! `pgward-approver-key-v1 <64 hex digits of the seed>`, is created with mode 0600 and is
//! refused when group or others can read it (as ssh does). Shells hold only the public
//! key, 64 hex digits in their config, so no author can mint an approval.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::hex;

const TAG: &str = "pgward-approver-key-v1";

/// Why the service key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("cannot {action} approver key {path}: {source}")]
    Io {
        /// read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file exists already (keygen never overwrites a key).
    #[error("approver key {0} exists already: keygen never overwrites a key; remove it first if you mean to replace it")]
    Exists(PathBuf),
    /// The file is readable by others.
    #[error("approver key {0} is readable by group or others: run chmod 600 on it")]
    Permissions(PathBuf),
    /// The file is not a key.
    #[error("{0} is not a pgward approver key (expected `{TAG} <64 hex digits>`)")]
    Malformed(PathBuf),
    /// No randomness.
    #[error("cannot draw a random key: {0}")]
    Random(getrandom::Error),
}

/// Writes a new key to `path` (0600) and returns it.
pub fn generate(path: &Path) -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(KeyError::Random)?;
    let key = SigningKey::from_bytes(&seed);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists(path.to_path_buf())
        } else {
            KeyError::Io {
                action: "write",
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    writeln!(f, "{TAG} {}", hex::encode(&seed))
        .and_then(|()| f.sync_all())
        .map_err(|source| KeyError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        })?;
    Ok(key)
}

/// Reads the key at `path`.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::Permissions(path.to_path_buf()));
        }
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let seed = text
        .trim()
        .strip_prefix(TAG)
        .and_then(|rest| hex::decode_array::<32>(rest.trim()))
        .ok_or_else(|| KeyError::Malformed(path.to_path_buf()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The public key as shells configure it.
pub fn public_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// A public key from its 64 hex digits.
pub fn parse_public(s: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&hex::decode_array::<32>(s.trim())?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_load_and_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = generate(&path).unwrap();
        assert_eq!(load(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(matches!(generate(&path), Err(KeyError::Exists(_))));
        let public = public_hex(&key.verifying_key());
        assert_eq!(parse_public(&public), Some(key.verifying_key()));
        assert_eq!(parse_public("zz"), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(load(&path), Err(KeyError::Permissions(_))));
        }
    }
}
