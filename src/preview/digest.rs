//! The change digest: one SHA-256 that binds everything a reviewer approves (DESIGN.md,
//! principle 4). Any difference between what was shown and what would be committed —
//! another server, another role, one more statement, one row more — changes it.
//!
//! Canonical form, version 2 (UTF-8, every variable field length-prefixed so that no two
//! different inputs share bytes):
//!
//! ```text
//! pgward-change-v2
//! environment:<len>:<text>
//! server:<len>:<text>
//! database:<len>:<text>
//! role:<len>:<text>
//! txid:<len>:<text>
//! statements:<n>
//! statement:<len>:<text>          (n times, in order)
//! counts:<m>
//! count:<len>:<table>:<inserted>:<updated>:<deleted>   (m times, sorted by table)
//! nets:<j>
//! net:<len>:<table>:<inserted>:<changed>:<deleted>     (j times, sorted by table;
//! net:<len>:<table>:unknown                             the net change, or unknown)
//! schema:<k>
//! change:<len>:<text>            (k times, in order: locks, rewrites, drops, catalog changes)
//! images:<64 hex digits>
//! ```
//!
//! Each line ends with `\n`; `<len>` is the byte length of the text that follows it.

use sha2::{Digest, Sha256};

/// Per-table totals, as bound by the digest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TableTotals {
    /// Table display name.
    pub table: String,
    /// Rows inserted.
    pub inserted: i64,
    /// Rows updated.
    pub updated: i64,
    /// Rows deleted.
    pub deleted: i64,
}

/// The net change of one table, as bound by the digest: rows that differ from the
/// transaction's start, or `None` when it is not known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NetTotals {
    /// Table display name.
    pub table: String,
    /// `(inserted, changed, deleted)`, or `None` when not known.
    pub net: Option<(i64, i64, i64)>,
}

/// Everything the digest binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet<'a> {
    /// Environment name.
    pub environment: &'a str,
    /// Server identity (system identifier, address and version).
    pub server: &'a str,
    /// Database name.
    pub database: &'a str,
    /// The role writes ran as.
    pub role: &'a str,
    /// Transaction id.
    pub txid: &'a str,
    /// Statement texts as typed.
    pub statements: &'a [String],
    /// Totals per table.
    pub counts: &'a [TableTotals],
    /// Net change per table.
    pub net: &'a [NetTotals],
    /// Schema and storage changes, one line each, in order.
    pub schema: &'a [String],
    /// SHA-256 over the before/after images of every statement, in order.
    pub images: [u8; 32],
}

impl ChangeSet<'_> {
    /// The canonical bytes.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = String::from("pgward-change-v2\n");
        for (label, value) in [
            ("environment", self.environment),
            ("server", self.server),
            ("database", self.database),
            ("role", self.role),
            ("txid", self.txid),
        ] {
            out.push_str(&format!("{label}:{}:{value}\n", value.len()));
        }
        out.push_str(&format!("statements:{}\n", self.statements.len()));
        for s in self.statements {
            out.push_str(&format!("statement:{}:{s}\n", s.len()));
        }
        let mut counts = self.counts.to_vec();
        counts.sort();
        out.push_str(&format!("counts:{}\n", counts.len()));
        for c in &counts {
            out.push_str(&format!(
                "count:{}:{}:{}:{}:{}\n",
                c.table.len(),
                c.table,
                c.inserted,
                c.updated,
                c.deleted
            ));
        }
        let mut net = self.net.to_vec();
        net.sort();
        out.push_str(&format!("nets:{}\n", net.len()));
        for n in &net {
            let figure = match n.net {
                Some((i, c, d)) => format!("{i}:{c}:{d}"),
                None => "unknown".to_string(),
            };
            out.push_str(&format!("net:{}:{}:{figure}\n", n.table.len(), n.table));
        }
        out.push_str(&format!("schema:{}\n", self.schema.len()));
        for line in self.schema {
            out.push_str(&format!("change:{}:{line}\n", line.len()));
        }
        out.push_str(&format!("images:{}\n", hex(&self.images)));
        out.into_bytes()
    }

    /// The digest, as 64 lower-case hex digits.
    pub fn digest(&self) -> String {
        hex(&Sha256::digest(self.canonical()).into())
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Folds per-statement image digests (in order) into the one the change digest binds.
#[derive(Debug, Clone, Default)]
pub struct ImagesDigest(Sha256);

impl ImagesDigest {
    /// Adds one statement's image digest; `None` for a statement shown as counts only.
    pub fn add(&mut self, statement: Option<&[u8; 32]>) {
        match statement {
            Some(d) => {
                self.0.update(b"images\n");
                self.0.update(d);
            }
            None => self.0.update(b"counts-only\n"),
        }
    }

    /// The folded digest.
    pub fn finish(&self) -> [u8; 32] {
        self.0.clone().finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<String>, Vec<TableTotals>) {
        (
            vec![
                "delete from customers where id = 7".to_string(),
                "update orders set status = 'x'".to_string(),
            ],
            vec![
                TableTotals {
                    table: "orders".into(),
                    inserted: 0,
                    updated: 2,
                    deleted: 3,
                },
                TableTotals {
                    table: "customers".into(),
                    inserted: 0,
                    updated: 0,
                    deleted: 1,
                },
            ],
        )
    }

    #[test]
    fn canonical_form_is_pinned() {
        let (statements, counts) = sample();
        let schema = vec!["statement 2: takes ACCESS EXCLUSIVE on orders".to_string()];
        let net = vec![
            NetTotals {
                table: "orders".into(),
                net: None,
            },
            NetTotals {
                table: "customers".into(),
                net: Some((0, 0, 1)),
            },
        ];
        let set = ChangeSet {
            environment: "prod",
            server: "7400000000000000001 10.0.0.5:5432 PostgreSQL 15.18",
            database: "shop",
            role: "app_writer",
            txid: "726",
            statements: &statements,
            counts: &counts,
            net: &net,
            schema: &schema,
            images: [0xab; 32],
        };
        let text = String::from_utf8(set.canonical()).expect("utf-8");
        assert_eq!(
            text,
            "pgward-change-v2\n\
             environment:4:prod\n\
             server:50:7400000000000000001 10.0.0.5:5432 PostgreSQL 15.18\n\
             database:4:shop\n\
             role:10:app_writer\n\
             txid:3:726\n\
             statements:2\n\
             statement:34:delete from customers where id = 7\n\
             statement:30:update orders set status = 'x'\n\
             counts:2\n\
             count:9:customers:0:0:1\n\
             count:6:orders:0:2:3\n\
             nets:2\n\
             net:9:customers:0:0:1\n\
             net:6:orders:unknown\n\
             schema:1\n\
             change:45:statement 2: takes ACCESS EXCLUSIVE on orders\n\
             images:abababababababababababababababababababababababababababababababab\n"
        );
        assert_eq!(set.digest(), hex(&Sha256::digest(text.as_bytes()).into()));
        assert_eq!(set.digest().len(), 64);
    }

    #[test]
    fn any_difference_changes_the_digest() {
        let (statements, counts) = sample();
        let net = vec![NetTotals {
            table: "orders".into(),
            net: Some((0, 2, 0)),
        }];
        let no_net = vec![NetTotals {
            table: "orders".into(),
            net: Some((0, 0, 0)),
        }];
        let unknown = vec![NetTotals {
            table: "orders".into(),
            net: None,
        }];
        let base = ChangeSet {
            environment: "prod",
            server: "s",
            database: "shop",
            role: "app_writer",
            txid: "726",
            statements: &statements,
            counts: &counts,
            net: &net,
            schema: &[],
            images: [0; 32],
        };
        let mut more = counts.clone();
        more[0].deleted += 1;
        let fewer = &statements[..1];
        let drop_line = vec!["statement 1: drops audit".to_string()];
        for other in [
            ChangeSet {
                role: "postgres",
                ..base.clone()
            },
            ChangeSet {
                txid: "727",
                ..base.clone()
            },
            ChangeSet {
                counts: &more,
                ..base.clone()
            },
            ChangeSet {
                statements: fewer,
                ..base.clone()
            },
            ChangeSet {
                images: [1; 32],
                ..base.clone()
            },
            ChangeSet {
                schema: &drop_line,
                ..base.clone()
            },
            ChangeSet {
                net: &no_net,
                ..base.clone()
            },
            ChangeSet {
                net: &unknown,
                ..base.clone()
            },
            ChangeSet {
                net: &[],
                ..base.clone()
            },
        ] {
            assert_ne!(other.digest(), base.digest());
        }
    }
}
