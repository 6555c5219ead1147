//! The hash chain: each record's `prev` is the SHA-256 of the previous line's bytes (the
//! line as written, without its newline), and the first record's `prev` is all zeros.
//! Changing, removing, inserting or reordering any line therefore breaks the `prev` of
//! the line after it, and the last line is covered by its own signature.

use sha2::{Digest, Sha256};

/// The `prev` of the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// SHA-256 of one line's bytes, without the newline.
pub fn line_hash(line: &[u8]) -> [u8; 32] {
    Sha256::digest(line).into()
}

/// Where a log stands: the last record's seq and the hash a next record must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Seq of the last record written (0 before the first).
    pub seq: u64,
    /// SHA-256 of the last line (zeros before the first).
    pub hash: [u8; 32],
}

impl Default for Head {
    fn default() -> Head {
        Head {
            seq: 0,
            hash: GENESIS,
        }
    }
}

impl Head {
    /// The hash as hex, as approvals cite it.
    pub fn hex(&self) -> String {
        super::hex::encode(&self.hash)
    }

    /// The head after `line` was appended.
    pub fn next(&self, line: &[u8]) -> Head {
        Head {
            seq: self.seq + 1,
            hash: line_hash(line),
        }
    }
}
