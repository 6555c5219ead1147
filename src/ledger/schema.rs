//! The ledger table, `pgward.ledger`, the grants a session's roles need on it, and how a
//! session finds it (and what it may do with it) from the catalog.
//!
//! The table is append-only by privilege: the write role gets `SELECT, INSERT` and
//! nothing more, the read role `SELECT`; the table belongs to whoever ran `pgward ledger
//! init` (a DBA), never to a role a pgward session can become. Its first row, of kind
//! `init`, says when the ledger started: `log verify` expects every COMMIT logged after
//! it to have its row.

use crate::conn::Client;

use crate::preview::relation::quote_ident;

/// The table, schema-qualified.
pub const TABLE: &str = "pgward.ledger";

/// The DDL `pgward ledger init` runs (in one transaction).
pub const CREATE: &str = "\
CREATE SCHEMA IF NOT EXISTS pgward;
CREATE TABLE pgward.ledger (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind              text NOT NULL DEFAULT 'commit' CHECK (kind IN ('init', 'commit')),
    committed_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    environment       text NOT NULL,
    txid              text NOT NULL,
    db_role           text NOT NULL DEFAULT CURRENT_USER,
    change_digest     text NOT NULL,
    fingerprints      text[] NOT NULL,
    statements_digest text NOT NULL,
    ticket            text,
    author            text NOT NULL,
    reviewer          text,
    request_id        text,
    log_file          text,
    log_seq           bigint,
    counts            jsonb NOT NULL DEFAULT '[]',
    again_reason      text,
    undo              text
);
CREATE INDEX ledger_fingerprints ON pgward.ledger (fingerprints);
CREATE INDEX ledger_ticket ON pgward.ledger (ticket);
COMMENT ON TABLE pgward.ledger IS 'pgward ledger v1: one row per committed change, written in the change''s own transaction';
";

/// The grants the roles of an environment need: the write role reads (run once) and
/// appends; the read role reads (`pgward ledger show`).
pub fn grants(write_role: Option<&str>, read_role: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    let mut roles: Vec<String> = Vec::new();
    for role in [write_role, read_role].into_iter().flatten() {
        let quoted = quote_ident(role);
        if !roles.contains(&quoted) {
            roles.push(quoted);
        }
    }
    if !roles.is_empty() {
        out.push(format!(
            "GRANT USAGE ON SCHEMA pgward TO {};",
            roles.join(", ")
        ));
    }
    if let Some(w) = write_role {
        out.push(format!(
            "GRANT SELECT, INSERT ON pgward.ledger TO {};",
            quote_ident(w)
        ));
    }
    if let Some(r) = read_role.filter(|r| Some(*r) != write_role) {
        out.push(format!(
            "GRANT SELECT ON pgward.ledger TO {};",
            quote_ident(r)
        ));
    }
    out
}

/// What the current role may do with the ledger, when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// `USAGE` on schema `pgward`.
    pub usage: bool,
    /// `SELECT` on the table.
    pub select: bool,
    /// `INSERT` on the table.
    pub insert: bool,
}

impl Access {
    /// Everything a session needs at COMMIT.
    pub fn writable(&self) -> bool {
        self.usage && self.select && self.insert
    }
}

/// The query of [`find`]: no parameters, so that it can also ride in one simple query
/// with the savepoint around it ([`access_of`] reads its row there).
pub const FIND_SQL: &str = "SELECT pg_catalog.has_schema_privilege(n.oid, 'USAGE'), \
        pg_catalog.has_table_privilege(c.oid, 'SELECT'), \
        pg_catalog.has_table_privilege(c.oid, 'INSERT') \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
     WHERE n.nspname OPERATOR(pg_catalog.=) 'pgward' \
       AND c.relname OPERATOR(pg_catalog.=) 'ledger' AND c.relkind OPERATOR(pg_catalog.=) 'r'";

/// Finds the ledger in the catalog (readable by every role, so a missing privilege
/// is told apart from a missing table) and the current role's privileges on it.
pub async fn find(client: &Client) -> Result<Option<Access>, tokio_postgres::Error> {
    let row = client.query_opt(FIND_SQL, &[]).await?;
    Ok(row.map(|r| Access {
        usage: r.get(0),
        select: r.get(1),
        insert: r.get(2),
    }))
}

/// [`find`]'s answer from its row as a simple query returns it (`t`/`f`); anything
/// else reads as no privilege.
pub fn access_of(row: &tokio_postgres::SimpleQueryRow) -> Access {
    let yes = |i: usize| matches!(row.try_get(i), Ok(Some("t")));
    Access {
        usage: yes(0),
        select: yes(1),
        insert: yes(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_name_each_role_once_and_quote_it() {
        assert_eq!(
            grants(Some("app_writer"), Some("Readers")),
            [
                "GRANT USAGE ON SCHEMA pgward TO \"app_writer\", \"Readers\";",
                "GRANT SELECT, INSERT ON pgward.ledger TO \"app_writer\";",
                "GRANT SELECT ON pgward.ledger TO \"Readers\";",
            ]
        );
        assert_eq!(grants(Some("w"), Some("w")).len(), 2);
        assert!(grants(None, None).is_empty());
    }
}
