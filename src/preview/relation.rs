//! A table as the preview names it: its oid, its display name, and its quoted SQL name.
//!
//! Table names are hostile input (`"we""ird; drop"` is a legal table name), so every
//! name that goes into generated SQL text passes through [`quote_ident`], and tables
//! are looked up by oid, never by splicing a user-typed name into SQL.

use crate::conn::Client;

use super::error::PreviewError;

/// A relation, identified by oid, with what the preview needs to name and query it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The relation's oid.
    pub relid: u32,
    /// Its schema.
    pub schema: String,
    /// Its name within the schema.
    pub name: String,
    /// `pg_class.relkind`: `r` table, `p` partitioned table, `v` view, …
    pub kind: String,
}

impl Relation {
    /// Looks a relation up by oid.
    pub async fn by_oid(client: &Client, relid: u32) -> Result<Relation, PreviewError> {
        let row = client
            .query_opt(
                "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, \
                        c.relkind::pg_catalog.text \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n \
                   ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
                 WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
                &[&relid],
            )
            .await?
            .ok_or(PreviewError::NoSuchTable { relid })?;
        Ok(Relation {
            relid,
            schema: row.try_get(0)?,
            name: row.try_get(1)?,
            kind: row.try_get(2)?,
        })
    }

    /// Looks a relation up by oid, with whether it has partitions or inheritance
    /// children, in one query.
    pub async fn by_oid_with_children(
        client: &Client,
        relid: u32,
    ) -> Result<(Relation, bool), PreviewError> {
        let row = client
            .query_opt(
                "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, \
                        c.relkind::pg_catalog.text, \
                        EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i \
                                WHERE i.inhparent OPERATOR(pg_catalog.=) c.oid) \
                 FROM pg_catalog.pg_class c \
                 JOIN pg_catalog.pg_namespace n \
                   ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
                 WHERE c.oid OPERATOR(pg_catalog.=) $1::pg_catalog.oid",
                &[&relid],
            )
            .await?
            .ok_or(PreviewError::NoSuchTable { relid })?;
        let relation = Relation {
            relid,
            schema: row.try_get(0)?,
            name: row.try_get(1)?,
            kind: row.try_get(2)?,
        };
        Ok((relation, row.try_get(3)?))
    }

    /// `schema.table`, with the schema omitted when it is `public`.
    pub fn display(&self) -> String {
        display_name(&self.schema, &self.name)
    }

    /// `"schema"."table"`, safe to splice into SQL text.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    /// The relation in a FROM clause: `ONLY` for plain tables, whose inheritance
    /// children foreign keys never reach; partitioned tables are scanned whole.
    pub fn from_item(&self) -> String {
        if self.kind == "p" {
            self.quoted()
        } else {
            format!("ONLY {}", self.quoted())
        }
    }
}

/// `schema.table`, with the schema omitted when it is `public`, each name quoted as
/// PostgreSQL's `quote_ident` would (so `public."s2.accounts"` and `s2.accounts` read
/// differently, as they are). Names are hostile input too: control characters in them
/// are shown escaped.
pub fn display_name(schema: &str, name: &str) -> String {
    let name = crate::render::escape::one_line(&display_ident(name));
    if schema == "public" {
        name
    } else {
        format!(
            "{}.{name}",
            crate::render::escape::one_line(&display_ident(schema))
        )
    }
}

/// An identifier as PostgreSQL's `quote_ident` shows it: bare when it is lower case
/// letters, digits, `_` and `$` not starting with a digit or `$`, and no keyword other
/// than an unreserved one (PostgreSQL's own scanner says which); quoted otherwise.
pub fn display_ident(ident: &str) -> String {
    let plain = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    let keyword = || {
        use pg_query::protobuf::KeywordKind;
        match pg_query::scan_tokens(ident) {
            Ok(tokens) => tokens.first().is_none_or(|t| {
                t.keyword_kind != KeywordKind::NoKeyword as i32
                    && t.keyword_kind != KeywordKind::UnreservedKeyword as i32
            }),
            Err(_) => true,
        }
    };
    if plain && !keyword() {
        ident.to_string()
    } else {
        quote_ident(ident)
    }
}

/// An identifier quoted for SQL text: `we"ird` → `"we""ird"`.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_identifiers() {
        assert_eq!(quote_ident("orders"), "\"orders\"");
        assert_eq!(quote_ident("we\"ird; drop"), "\"we\"\"ird; drop\"");
        assert_eq!(quote_ident(""), "\"\"");
    }

    #[test]
    fn omits_the_public_schema() {
        assert_eq!(display_name("public", "orders"), "orders");
        assert_eq!(display_name("billing", "invoices"), "billing.invoices");
    }

    #[test]
    fn quotes_names_as_postgresql_does() {
        assert_eq!(display_name("public", "s2.accounts"), "\"s2.accounts\"");
        assert_eq!(display_name("s2", "accounts"), "s2.accounts");
        assert_eq!(display_name("public", "Orders"), "\"Orders\"");
        assert_eq!(display_name("public", "user"), "\"user\"");
        assert_eq!(display_name("public", "select"), "\"select\"");
        assert_eq!(display_name("public", "between"), "\"between\"");
        assert_eq!(display_name("public", "name"), "name");
        assert_eq!(display_name("public", "a$1"), "a$1");
        assert_eq!(display_name("public", "1a"), "\"1a\"");
        assert_eq!(display_name("public", ""), "\"\"");
        assert_eq!(display_name("public", "a b"), "\"a b\"");
        assert_eq!(display_name("we\"ird", "x"), "\"we\"\"ird\".x");
    }
}
