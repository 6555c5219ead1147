//! The digest an approval of a statement that runs alone binds (CREATE INDEX
//! CONCURRENTLY, VACUUM, …). Such a statement has no transaction, no row counts and no
//! before/after images to bind, so the reviewer approves its exact text where it runs:
//! environment, server identity, database, role and ticket. Any other text, place or
//! ticket is another digest, and the token the service signed over it does not verify.
//!
//! Canonical form, version 1 (UTF-8, every field length-prefixed so that no two
//! different inputs share bytes; its own first line, so it can never equal a change
//! digest of a transaction):
//!
//! ```text
//! pgward-standalone-v1
//! environment:<len>:<text>
//! server:<len>:<text>
//! database:<len>:<text>
//! role:<len>:<text>
//! ticket:<len>:<text>
//! statement:<len>:<text>
//! ```

use sha2::{Digest, Sha256};

/// Everything an approval of a statement that runs alone binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Standalone<'a> {
    /// Environment name.
    pub environment: &'a str,
    /// Server identity (system identifier, address and version).
    pub server: &'a str,
    /// Database name.
    pub database: &'a str,
    /// The role the statement runs as.
    pub role: &'a str,
    /// The ticket (empty when none).
    pub ticket: &'a str,
    /// The statement, as typed.
    pub statement: &'a str,
}

impl Standalone<'_> {
    /// The canonical bytes.
    pub(crate) fn canonical(&self) -> Vec<u8> {
        let mut out = String::from("pgward-standalone-v1\n");
        for (label, value) in [
            ("environment", self.environment),
            ("server", self.server),
            ("database", self.database),
            ("role", self.role),
            ("ticket", self.ticket),
            ("statement", self.statement),
        ] {
            out.push_str(&format!("{label}:{}:{value}\n", value.len()));
        }
        out.into_bytes()
    }

    /// The digest, as 64 lower-case hex digits.
    pub(crate) fn digest(&self) -> String {
        crate::preview::digest::hex(&Sha256::digest(self.canonical()).into())
    }
}

#[cfg(test)]
mod tests {
    use super::Standalone;

    fn base() -> Standalone<'static> {
        Standalone {
            environment: "prod",
            server: "7301 10.0.0.5:5432 PostgreSQL 17.2",
            database: "shop",
            role: "app_writer",
            ticket: "OPS-1",
            statement: "CREATE INDEX CONCURRENTLY i ON items (qty)",
        }
    }

    #[test]
    fn every_field_is_bound() {
        let d = base().digest();
        assert_eq!(d.len(), 64);
        assert_eq!(d, base().digest(), "deterministic");
        let others = [
            Standalone {
                environment: "staging",
                ..base()
            },
            Standalone {
                server: "7302 10.0.0.5:5432 PostgreSQL 17.2",
                ..base()
            },
            Standalone {
                database: "shop2",
                ..base()
            },
            Standalone {
                role: "app_owner",
                ..base()
            },
            Standalone {
                ticket: "OPS-2",
                ..base()
            },
            Standalone {
                statement: "CREATE INDEX CONCURRENTLY i ON items (qty) ",
                ..base()
            },
        ];
        for other in others {
            assert_ne!(other.digest(), d, "{other:?}");
        }
    }

    #[test]
    fn fields_cannot_slide_into_each_other() {
        let a = Standalone {
            ticket: "OPS-1\nstatement:3:abc",
            statement: "",
            ..base()
        };
        let b = Standalone {
            ticket: "OPS-1",
            statement: "abc",
            ..base()
        };
        assert_ne!(a.digest(), b.digest());
    }
}
