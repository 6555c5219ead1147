//! The operator's Ed25519 key, which signs every record of every session log.
//!
//! The key file holds one line, `pgward-operator-key-v1 <64 hex digits of the seed>`,
//! and is created with mode 0600 (and refused when group or others can read it, as ssh
//! does), so the key cannot be read by other users of the machine. The public key is
//! written into each log's `session_start`, so a log verifies on any machine; pin the
//! expected operator with `pgward log verify --key HEX`.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

const TAG: &str = "pgward-operator-key-v1";

/// Why the operator key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No key file.
    #[error("no operator key at {path}: create one with `pgward keygen`")]
    Missing {
        /// Where pgward looked.
        path: PathBuf,
    },
    /// The file could not be read or written.
    #[error("cannot {action} operator key {path}: {source}")]
    Io {
        /// read or write.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a pgward operator key.
    #[error("{path} is not a pgward operator key (expected one line `{TAG} <64 hex digits>`)")]
    Malformed {
        /// The file.
        path: PathBuf,
    },
    /// Others may read the key.
    #[error("operator key {path} is readable by others (mode {mode:o}): run `chmod 600 {path}`")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// keygen would overwrite a key.
    #[error("{path} already exists: pgward keygen never overwrites a key (move it away first)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// No randomness.
    #[error("cannot get random bytes for a key: {0}")]
    Random(String),
}

/// The operator's signing key.
pub struct OperatorKey {
    key: SigningKey,
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorKey({})", self.public_hex())
    }
}

impl OperatorKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<OperatorKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(OperatorKey {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A key from its 32-byte seed (tests and benchmarks).
    pub fn from_seed(seed: [u8; 32]) -> OperatorKey {
        OperatorKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Loads the key at `path`.
    pub fn load(path: &Path) -> Result<OperatorKey, KeyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing { path: path.into() })
            }
            Err(source) => {
                return Err(KeyError::Io {
                    action: "read",
                    path: path.into(),
                    source,
                })
            }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(meta) = std::fs::metadata(path) {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::Exposed {
                        path: path.into(),
                        mode,
                    });
                }
            }
        }
        let malformed = || KeyError::Malformed { path: path.into() };
        let mut words = text.split_whitespace();
        if words.next() != Some(TAG) {
            return Err(malformed());
        }
        let seed: [u8; 32] = words
            .next()
            .and_then(|h| super::hex::decode_lower(h.as_bytes()))
            .and_then(|v| v.try_into().ok())
            .ok_or_else(malformed)?;
        if words.next().is_some() {
            return Err(malformed());
        }
        Ok(OperatorKey::from_seed(seed))
    }

    /// Writes the key to `path` (mode 0600, parent directories 0700), never over a file.
    pub fn save(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            action: "write",
            path: path.into(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = match options.open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(KeyError::Exists { path: path.into() })
            }
            Err(e) => return Err(io(e)),
        };
        let line = format!("{TAG} {}\n", super::hex::encode(&self.key.to_bytes()));
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        super::hex::encode(self.key.verifying_key().as_bytes())
    }

    /// The public key.
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// Parses a hex public key.
pub fn public_from_hex(hex: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = super::hex::decode_lower(hex.as_bytes())?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Creates `dir` and its parents; a directory pgward creates is private (0700).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/operator.key");
        let key = OperatorKey::generate().unwrap();
        key.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(
            OperatorKey::load(&path).unwrap().public_hex(),
            key.public_hex()
        );
        assert!(matches!(key.save(&path), Err(KeyError::Exists { .. })));
        assert!(matches!(
            OperatorKey::load(&dir.path().join("none")),
            Err(KeyError::Missing { .. })
        ));
        std::fs::write(dir.path().join("bad"), "hello").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let bad = dir.path().join("bad");
            std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(matches!(
                OperatorKey::load(&bad),
                Err(KeyError::Malformed { .. })
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                OperatorKey::load(&path),
                Err(KeyError::Exposed { .. })
            ));
        }
    }
}
