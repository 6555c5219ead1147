//! The names completion offers (schemas, relations and their columns, functions), read
//! from the server in the background so the prompt never waits for them.
//!
//! The loader runs on a thread of its own with a connection of its own, opened with the
//! session's parameters (never prompting). It sends only the fixed catalog queries below,
//! in a `READ ONLY` transaction it rolls back, so it cannot change anything and never
//! touches the guarded session's connection, its transaction or its probe. It loads once
//! at start and again when asked ([`Loader::refresh`], after DDL or the end of a
//! transaction, since the other connection sees committed catalogs only). Until the
//! first load finishes, and if it fails, completion offers keywords and meta-commands.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use crate::conn::ConnParams;

/// The `application_name` of the catalog's connection, so a DBA (and a test) can tell
/// it from the session's own.
pub const APPLICATION_NAME: &str = "pgward (completion)";

/// A relation completion knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relation {
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// Whether its name alone finds it (`search_path`).
    pub visible: bool,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// A name as completion offers it, prepared once when the catalog loads so that a
/// completion over thousands of names is a plain scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Name {
    /// As the catalog spells it.
    pub raw: String,
    /// As it must be typed (double-quoted where needed).
    pub shown: String,
    /// Lower case, for matching a typed prefix in any case.
    folded: String,
    /// A mixed-case name matches only as written, as psql's completion does.
    exact: bool,
}

impl Name {
    /// `raw`, prepared.
    pub fn new(raw: &str) -> Name {
        let exact = raw.chars().any(char::is_uppercase) && raw.chars().any(char::is_lowercase);
        Name {
            raw: raw.to_string(),
            shown: super::complete::quote(raw),
            folded: raw.to_lowercase(),
            exact,
        }
    }

    /// Whether the name starts with what was typed.
    pub fn matches(&self, prefix: &str) -> bool {
        if self.exact {
            self.raw.starts_with(prefix)
        } else {
            prefix.len() <= self.folded.len()
                && self.folded.is_char_boundary(prefix.len())
                && self.folded[..prefix.len()].eq_ignore_ascii_case(prefix)
        }
    }
}

/// Everything completion knows about the database.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Schema names.
    pub schemas: Vec<String>,
    /// Relations (tables, views, materialized views, foreign tables, sequences).
    pub relations: Vec<Relation>,
    /// Function names visible on the search path.
    pub functions: Vec<String>,
    /// Relation name (lower case) → indexes into `relations`.
    by_name: HashMap<String, Vec<usize>>,
    /// The visible relations' names, sorted as shown, without repeats.
    pub visible: Vec<Name>,
    /// The schemas' names, prepared.
    pub schema_names: Vec<Name>,
    /// The functions' names, prepared.
    pub function_names: Vec<Name>,
}

impl Catalog {
    /// A catalog of these names.
    pub fn new(schemas: Vec<String>, relations: Vec<Relation>, functions: Vec<String>) -> Catalog {
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in relations.iter().enumerate() {
            by_name.entry(r.name.to_lowercase()).or_default().push(i);
        }
        let mut visible: Vec<Name> = relations
            .iter()
            .filter(|r| r.visible)
            .map(|r| Name::new(&r.name))
            .collect();
        visible.sort_by(|a, b| a.shown.cmp(&b.shown));
        visible.dedup_by(|a, b| a.shown == b.shown);
        let mut schema_names: Vec<Name> = schemas.iter().map(|s| Name::new(s)).collect();
        schema_names.sort_by(|a, b| a.shown.cmp(&b.shown));
        Catalog {
            schema_names,
            function_names: functions.iter().map(|f| Name::new(f)).collect(),
            visible,
            schemas,
            relations,
            functions,
            by_name,
        }
    }

    /// The relation `schema.name` or, without a schema, the visible one named `name`
    /// (the first of several when none is visible). Names compare as SQL folds them.
    pub fn relation(&self, schema: Option<&str>, name: &str) -> Option<&Relation> {
        let found = self.by_name.get(&name.to_lowercase())?;
        let mut candidates = found.iter().map(|&i| &self.relations[i]);
        match schema {
            Some(s) => candidates.find(|r| r.schema.eq_ignore_ascii_case(s)),
            None => {
                let all: Vec<&Relation> = candidates.collect();
                all.iter()
                    .find(|r| r.visible)
                    .or_else(|| all.first())
                    .copied()
            }
        }
    }
}

/// The catalog as last loaded, shared with the line editor.
pub type Shared = Arc<Mutex<Arc<Catalog>>>;

/// The background loader: holds the way to ask it for a refresh.
#[derive(Debug)]
pub struct Loader {
    wake: mpsc::Sender<()>,
    /// What completion reads.
    pub catalog: Shared,
}

impl Loader {
    /// Starts loading with `params` on a thread of its own; a connection that cannot be
    /// opened leaves the catalog empty, and completion offers keywords.
    pub fn start(params: &ConnParams) -> Loader {
        let catalog: Shared = Arc::default();
        let (wake, asked) = mpsc::channel::<()>();
        let shared = catalog.clone();
        let params = params.clone();
        let _ = std::thread::Builder::new()
            .name("pgward-catalog".into())
            .spawn(move || load_loop(&params, &shared, &asked));
        // The first load.
        let _ = wake.send(());
        Loader { wake, catalog }
    }

    /// Asks for the catalog to be read again; returns at once.
    pub fn refresh(&self) {
        let _ = self.wake.send(());
    }
}

fn load_loop(params: &ConnParams, shared: &Shared, asked: &mpsc::Receiver<()>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let mut conn = None;
    // Each wake-up reloads once, however many refreshes were asked meanwhile.
    while asked.recv().is_ok() {
        while asked.try_recv().is_ok() {}
        if conn
            .as_ref()
            .is_none_or(|c: &crate::conn::Connection| c.client.is_closed())
        {
            conn = rt
                .block_on(crate::conn::reconnect(params, APPLICATION_NAME))
                .ok();
        }
        let Some(c) = &conn else { continue };
        if let Ok(loaded) = rt.block_on(load(&c.client)) {
            if let Ok(mut slot) = shared.lock() {
                *slot = Arc::new(loaded);
            }
        }
    }
}

/// Reads the catalog in one read-only transaction, rolled back.
pub async fn load(client: &crate::conn::Client) -> Result<Catalog, tokio_postgres::Error> {
    client
        .batch_execute("BEGIN READ ONLY; SET LOCAL statement_timeout = '30s'")
        .await?;
    let result = read(client).await;
    let _ = client.batch_execute("ROLLBACK").await;
    result
}

async fn read(client: &crate::conn::Client) -> Result<Catalog, tokio_postgres::Error> {
    let schemas = client
        .query(
            "SELECT n.nspname::pg_catalog.text FROM pg_catalog.pg_namespace n \
             WHERE n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp)' ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    // One row per column (or per relation without columns), in relation order.
    let rows = client
        .query(
            "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, \
               pg_catalog.pg_table_is_visible(c.oid), a.attname::pg_catalog.text \
             FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace \
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid \
               AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
             WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f,S}'::pg_catalog.\"char\"[]) \
               AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema' \
               AND n.nspname OPERATOR(pg_catalog.!~) '^pg_' \
             ORDER BY c.oid, a.attnum",
            &[],
        )
        .await?;
    let mut relations: Vec<Relation> = Vec::new();
    for r in &rows {
        let (schema, name): (String, String) = (r.get(0), r.get(1));
        let column: Option<String> = r.get(3);
        let same = relations
            .last()
            .is_some_and(|l| l.name == name && l.schema == schema);
        if !same {
            relations.push(Relation {
                schema,
                name,
                visible: r.get(2),
                columns: Vec::new(),
            });
        }
        if let (Some(c), Some(last)) = (column, relations.last_mut()) {
            last.columns.push(c);
        }
    }
    let functions = client
        .query(
            "SELECT DISTINCT p.proname::pg_catalog.text FROM pg_catalog.pg_proc p \
             WHERE pg_catalog.pg_function_is_visible(p.oid) ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    Ok(Catalog::new(schemas, relations, functions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_resolve_as_sql_folds_names() {
        let rel = |schema: &str, name: &str, visible: bool| Relation {
            schema: schema.into(),
            name: name.into(),
            visible,
            columns: vec![],
        };
        let c = Catalog::new(
            vec![],
            vec![
                rel("sales", "orders", false),
                rel("public", "orders", true),
                rel("x", "Odd", false),
            ],
            vec![],
        );
        assert_eq!(
            c.relation(None, "ORDERS").map(|r| r.schema.as_str()),
            Some("public")
        );
        assert_eq!(
            c.relation(Some("sales"), "orders")
                .map(|r| r.schema.as_str()),
            Some("sales")
        );
        assert_eq!(
            c.relation(None, "odd").map(|r| r.name.as_str()),
            Some("Odd")
        );
        assert!(c.relation(None, "nosuch").is_none());
    }
}
