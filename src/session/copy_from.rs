//! `\copy … FROM`: a client file's rows (or rows typed after the command) loaded as one
//! guarded write, with its preview.
//!
//! The server, not pgward, reads the COPY data: the rows are sent with the COPY protocol
//! into a temporary staging table whose columns have the target columns' own types, so
//! every value passes the same input function (and the same domain checks) as in psql's
//! `\copy`, and a bad file fails in the server's words with its line number. The staged
//! rows then reach the table through `INSERT INTO t (cols) SELECT cols FROM staging
//! ORDER BY ctid` (the file's order, so defaults and sequences are drawn as COPY draws
//! them), and that INSERT is an ordinary write of the session: classified, run under the
//! write role in the guarded transaction and the implicit savepoint, previewed with its
//! inserted rows, counted, bound into the digest, and held to `max_rows`. The staging
//! table's own counters are moved into the baseline, so it never appears in the counts,
//! and it is dropped when the load succeeded (a failure undoes it with the statement).
//!
//! What the session log, the COMMIT summary, the digest and the ledger record is the
//! `\copy` as typed with the SHA-256 of the data it read ([`CopyLoad::recorded`]), not
//! the internal INSERT: that is what the reviewer approves.
//!
//! One difference from COPY remains by construction: the rows arrive by INSERT, so a
//! rule on the table applies (COPY ignores rules). A table with INSERT rules is refused.

use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::SinkExt;
use sha2::{Digest, Sha256};
use tokio_postgres::error::SqlState;

use crate::preview::counts;
use crate::preview::relation::quote_ident;
use crate::render;
use crate::sql::{self, Verdict};

use super::{Outcome, Session, TxState};

/// The prefix every recorded `\copy` statement starts with.
pub(crate) const RECORDED_PREFIX: &str = "\\copy ";

/// How each staging table is told apart within the session.
static STAGING: AtomicU64 = AtomicU64::new(1);

/// The size of each COPY data message.
const CHUNK: usize = 64 * 1024;

/// COPY's `HEADER` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Header {
    /// No header line.
    #[default]
    No,
    /// The first line is skipped.
    Yes,
    /// The first line must name the columns (PostgreSQL 15 and later).
    Match,
}

/// The COPY options of a load; pgward writes them into the COPY statement as literals.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopyOptions {
    /// `FORMAT csv` (else text).
    pub csv: bool,
    /// `HEADER`.
    pub header: Header,
    /// `DELIMITER`.
    pub delimiter: Option<char>,
    /// `NULL`.
    pub null: Option<String>,
    /// `QUOTE` (csv).
    pub quote: Option<char>,
    /// `ESCAPE` (csv).
    pub escape: Option<char>,
    /// `ENCODING` of the data.
    pub encoding: Option<String>,
}

impl CopyOptions {
    /// The option list of the COPY statement.
    fn sql(&self) -> String {
        let mut out = vec![format!("FORMAT {}", if self.csv { "csv" } else { "text" })];
        match self.header {
            Header::No => {}
            Header::Yes => out.push("HEADER true".into()),
            Header::Match => out.push("HEADER match".into()),
        }
        let mut literal = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                out.push(format!("{name} {}", literal(&v)));
            }
        };
        literal("DELIMITER", self.delimiter.map(String::from));
        literal("NULL", self.null.clone());
        literal("QUOTE", self.quote.map(String::from));
        literal("ESCAPE", self.escape.map(String::from));
        literal("ENCODING", self.encoding.clone());
        out.join(", ")
    }
}

/// A string literal (pgward's transactions run with standard_conforming_strings on).
fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// One `\copy … FROM`, its data already read.
#[derive(Debug, Clone)]
pub struct CopyLoad {
    /// The table as typed: a possibly qualified, possibly quoted name.
    pub table: String,
    /// The column list, each name as PostgreSQL folds it; `None` for every column COPY
    /// would fill (not generated, not dropped).
    pub columns: Option<Vec<String>>,
    /// The COPY options.
    pub options: CopyOptions,
    /// The `\copy` command's arguments as typed, for the record.
    pub typed: String,
    /// Where the data came from, for messages (`orders.csv`, `standard input`).
    pub source: String,
    /// The data.
    pub data: Vec<u8>,
}

impl CopyLoad {
    /// The statement as the log, the summary, the digest and the ledger record it: the
    /// command as typed and the SHA-256 of the data it read.
    pub fn recorded(&self) -> String {
        format!(
            "{RECORDED_PREFIX}{} -- data sha256:{} ({} bytes)",
            render::escape::one_line(self.typed.trim()),
            self.data_sha256(),
            self.data.len()
        )
    }

    /// The SHA-256 of the data, in hex.
    pub fn data_sha256(&self) -> String {
        Sha256::digest(&self.data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A column the load fills: its name and its type as `format_type` prints it.
struct Target {
    name: String,
    ty: String,
    /// An identity column `GENERATED ALWAYS`: COPY stores the file's values in it.
    always: bool,
}

/// Whether `statement` is a recorded `\copy … FROM` (it is a write, though not SQL).
pub(crate) fn is_recorded_copy(statement: &str) -> bool {
    statement.starts_with(RECORDED_PREFIX)
}

impl Session {
    /// Loads `load` into its table as one guarded write (see the module docs).
    pub async fn copy_from(&mut self, load: &CopyLoad) -> Outcome {
        if self.reconnects {
            if let Some(outcome) = self.revive().await {
                return outcome;
            }
        }
        let recorded = load.recorded();
        let started = self.log_begin_statement();
        let mut outcome = self.guard_copy(load, &recorded).await;
        self.log_statement(&recorded, outcome, started);
        if !self.state.is_open() {
            self.changes.release_spills();
        }
        self.flush_notices();
        if outcome == Outcome::ConnectionLost && self.reconnects {
            outcome = self.reset().await;
        }
        if !outcome.ends_session() {
            self.conn.settle().await;
        }
        self.last_activity = std::time::Instant::now();
        outcome
    }

    async fn guard_copy(&mut self, load: &CopyLoad, recorded: &str) -> Outcome {
        if self.conn.client.is_closed() {
            return self.lost(None);
        }
        if !valid_name(&load.table) {
            self.say_error(&format!(
                "\\copy: {:?} is not a table name (schema.table, each part bare or in double quotes)",
                load.table
            ));
            return Outcome::SqlError;
        }
        // The INSERT pgward runs is what the guard judges: a refused table (the ledger,
        // say) is refused here as for a typed INSERT.
        let probe = format!("INSERT INTO {} SELECT", load.table);
        let analysis = sql::analyze(&probe, &self.settings.env.classify_options());
        let verdict = analysis.verdict;
        self.log_class(&verdict);
        match verdict {
            Verdict::Write { .. } => {}
            Verdict::Refused(r) => return self.refuse(&r),
            _ => {
                self.say_error("refused: pgward cannot tell that this \\copy only inserts rows");
                return Outcome::Refused;
            }
        }
        if let Some(outcome) = self.log_gate() {
            return outcome;
        }
        if matches!(self.state, TxState::Failed(_)) {
            return self.aborted();
        }
        if self.state == TxState::Idle {
            if let Some(outcome) = self.open_write(None).await {
                return outcome;
            }
        }
        let started = match self.begin_statement(recorded).await {
            Ok(started) => started,
            Err(outcome) => return outcome,
        };
        let outcome = self.load(load, recorded).await;
        self.end_statement(started, outcome).await
    }

    /// Stages the data, inserts it as a previewed write, drops the stage.
    async fn load(&mut self, load: &CopyLoad, recorded: &str) -> Outcome {
        let targets = match self.copy_targets(load, recorded).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        // Not `pgward_…`: the capture reserves those names for its own aliases.
        let staging = format!("copy_stage_{}", STAGING.fetch_add(1, Ordering::Relaxed));
        let columns = targets
            .iter()
            .map(|t| quote_ident(&t.name))
            .collect::<Vec<_>>()
            .join(", ");
        let create = format!(
            "CREATE TEMPORARY TABLE pg_temp.{staging} ({}) ON COMMIT DROP",
            targets
                .iter()
                .map(|t| format!("{} {}", quote_ident(&t.name), t.ty))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Err(e) = self.conn.client.batch_execute(&create).await {
            let permission = e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE);
            let outcome = self.failed(e, recorded).await;
            if permission {
                self.say_hint(
                    "\\copy … FROM stages the rows in a temporary table: grant TEMPORARY on the database to the write role",
                );
            }
            return outcome;
        }
        let copy = format!(
            "COPY pg_temp.{staging} ({columns}) FROM STDIN WITH ({})",
            load.options.sql()
        );
        let client = &self.conn.client;
        let sent = super::wait::cancellable_with_line(
            client,
            &self.conn.tls,
            // The file's rows: what the server says about them is the user's to see.
            self.conn.user_statement(async {
                let sink = client.copy_in::<_, std::io::Cursor<Vec<u8>>>(&copy).await?;
                let mut sink = std::pin::pin!(sink);
                for chunk in load.data.chunks(CHUNK) {
                    sink.send(std::io::Cursor::new(chunk.to_vec())).await?;
                }
                sink.as_mut().finish().await
            }),
            None,
        )
        .await
        .result;
        if let Err(e) = sent {
            return self.copy_failed(e, load, recorded).await;
        }
        // The stage's counters are no change of the user's: into the baseline with them.
        let oid = self
            .conn
            .client
            .query_one(
                &format!("SELECT 'pg_temp.{staging}'::pg_catalog.regclass::pg_catalog.oid"),
                &[],
            )
            .await;
        let oid: u32 = match oid.and_then(|row| row.try_get(0)) {
            Ok(oid) => oid,
            Err(e) => return self.failed(e, recorded).await,
        };
        match counts::since(&self.conn.client, &self.changes.baseline).await {
            Ok(now) => {
                let staged: Vec<_> = now.into_iter().filter(|c| c.relid == oid).collect();
                self.changes.baseline.absorb(&staged);
            }
            Err(e) => return self.counters_failed(&e).await,
        }
        // COPY takes the file's values for a GENERATED ALWAYS identity column; an INSERT
        // does so only when it says OVERRIDING SYSTEM VALUE.
        let overriding = if targets.iter().any(|t| t.always) {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let insert = format!(
            "INSERT INTO {} ({columns}){overriding} SELECT {columns} FROM pg_temp.{staging} ORDER BY ctid",
            load.table
        );
        let outcome = self.write_as(&insert, recorded, "COPY").await;
        if outcome != Outcome::Ok || !self.state.is_open() {
            return outcome;
        }
        let drop = format!("DROP TABLE pg_temp.{staging}");
        if let Err(e) = self.conn.client.batch_execute(&drop).await {
            return self.failed(e, recorded).await;
        }
        outcome
    }

    /// The columns the load fills, with their types, read from the catalog; an unknown
    /// or repeated column, or a table with INSERT rules, is an error.
    async fn copy_targets(
        &mut self,
        load: &CopyLoad,
        recorded: &str,
    ) -> Result<Vec<Target>, Outcome> {
        const COLUMNS: &str = "SELECT a.attname::pg_catalog.text, \
                    pg_catalog.format_type(a.atttypid, a.atttypmod), \
                    a.attgenerated OPERATOR(pg_catalog.<>) '', \
                    EXISTS (SELECT FROM pg_catalog.pg_rewrite r \
                        WHERE r.ev_class OPERATOR(pg_catalog.=) a.attrelid \
                          AND r.ev_type OPERATOR(pg_catalog.=) '3'), \
                    c.relname::pg_catalog.text, \
                    a.attidentity OPERATOR(pg_catalog.=) 'a' \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid \
             WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.text::pg_catalog.regclass \
               AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped \
             ORDER BY a.attnum";
        let rows = match self.conn.client.query(COLUMNS, &[&load.table]).await {
            Ok(rows) => rows,
            Err(e) => return Err(self.failed(e, recorded).await),
        };
        let mut all = Vec::with_capacity(rows.len());
        let mut rules = false;
        let mut relname = String::new();
        for row in &rows {
            let read = (|| -> Result<_, tokio_postgres::Error> {
                Ok((
                    row.try_get::<_, String>(0)?,
                    row.try_get::<_, String>(1)?,
                    row.try_get::<_, bool>(2)?,
                    row.try_get::<_, bool>(3)?,
                    row.try_get::<_, String>(4)?,
                    row.try_get::<_, bool>(5)?,
                ))
            })();
            match read {
                Ok((name, ty, generated, has_rules, rel, always)) => {
                    rules |= has_rules;
                    relname = rel;
                    all.push((Target { name, ty, always }, generated));
                }
                Err(e) => return Err(self.failed(e, recorded).await),
            }
        }
        if rules {
            self.say_error(&format!(
                "refused: {} has INSERT rules, which COPY ignores and INSERT applies: \\copy … FROM would not do what psql's does",
                render::escape::one_line(&load.table)
            ));
            self.say_hint(
                "load the rows with INSERT, whose effect through the rule the preview shows",
            );
            return Err(Outcome::Refused);
        }
        let Some(wanted) = &load.columns else {
            return Ok(all
                .into_iter()
                .filter(|(_, generated)| !generated)
                .map(|(t, _)| t)
                .collect());
        };
        let mut chosen: Vec<Target> = Vec::with_capacity(wanted.len());
        for name in wanted {
            if chosen.iter().any(|t| &t.name == name) {
                self.say_error(&format!(
                    "ERROR:  {}: column \"{}\" specified more than once",
                    SqlState::DUPLICATE_COLUMN.code(),
                    render::escape::one_line(name)
                ));
                return Err(Outcome::SqlError);
            }
            match all.iter().position(|(t, _)| &t.name == name) {
                Some(i) => {
                    let (t, _) = &all[i];
                    chosen.push(Target {
                        name: t.name.clone(),
                        ty: t.ty.clone(),
                        always: t.always,
                    });
                }
                None => {
                    self.say_error(&format!(
                        "ERROR:  {}: column \"{}\" of relation \"{}\" does not exist",
                        SqlState::UNDEFINED_COLUMN.code(),
                        render::escape::one_line(name),
                        render::escape::one_line(&relname)
                    ));
                    return Err(Outcome::SqlError);
                }
            }
        }
        Ok(chosen)
    }

    /// The server refused the data: one line naming the source and the line it stopped
    /// at, then the statement is undone like any failed one.
    async fn copy_failed(
        &mut self,
        e: tokio_postgres::Error,
        load: &CopyLoad,
        recorded: &str,
    ) -> Outcome {
        let line = e
            .as_db_error()
            .and_then(|db| db.where_())
            .and_then(copy_line);
        let summary = match (e.as_db_error(), line) {
            (Some(db), Some(n)) => Some(format!(
                "\\copy: {}, line {n}: {} ({}); nothing was loaded",
                load.source,
                db.message(),
                db.code().code()
            )),
            (Some(db), None) => Some(format!(
                "\\copy: {}: {} ({}); nothing was loaded",
                load.source,
                db.message(),
                db.code().code()
            )),
            (None, _) => None,
        };
        self.failed_as(e, recorded, crate::render::error::At::Typed, summary)
            .await
    }
}

/// The data line a COPY error names in its context (`COPY t, line 3, column a: "x"`).
fn copy_line(context: &str) -> Option<u64> {
    let at = context.find(", line ")? + ", line ".len();
    let digits: String = context[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// A possibly schema-qualified name, each part a bare identifier or a double-quoted one:
/// nothing else may reach the statements pgward builds around it.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut rest = name;
    let mut parts = 0;
    loop {
        if let Some(body) = rest.strip_prefix('"') {
            let mut end = None;
            let mut chars = body.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if matches!(chars.peek(), Some((_, '"'))) {
                        chars.next();
                        continue;
                    }
                    end = Some(i);
                    break;
                }
            }
            let Some(end) = end else { return false };
            if end == 0 {
                return false;
            }
            rest = &body[end + 1..];
        } else {
            let len = rest
                .char_indices()
                .find(|&(i, c)| {
                    !(c == '_'
                        || c.is_alphabetic()
                        || !c.is_ascii()
                        || (i > 0 && (c.is_ascii_digit() || c == '$')))
                })
                .map_or(rest.len(), |(i, _)| i);
            if len == 0 {
                return false;
            }
            rest = &rest[len..];
        }
        parts += 1;
        if parts > 3 {
            return false;
        }
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => return rest.is_empty(),
        }
    }
}

/// A column name as PostgreSQL reads it: a quoted one as written (`""` for `"`), a bare
/// one folded to lower case. `None` when it is neither.
pub fn fold_identifier(name: &str) -> Option<String> {
    let name = name.trim();
    if let Some(body) = name.strip_prefix('"') {
        let inner = body.strip_suffix('"')?;
        if inner.is_empty() || inner.replace("\"\"", "").contains('"') {
            return None;
        }
        return Some(inner.replace("\"\"", "\""));
    }
    if !valid_name(name) || name.contains('.') {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_identifiers_only() {
        for ok in [
            "t",
            "public.t",
            "\"My \"\"T\"\"\".x",
            "db.s.t",
            "_t$1",
            "été",
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "", "t;", "t x", "t--", "\"t", "\"\"", "a.b.c.d", "1t", "t.", "t(a)", "t/*",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(fold_identifier("Note").as_deref(), Some("note"));
        assert_eq!(fold_identifier("\"No\"\"te\"").as_deref(), Some("No\"te"));
        assert_eq!(fold_identifier("a.b"), None);
        assert_eq!(fold_identifier("a b"), None);
    }

    #[test]
    fn options_are_literals() {
        let o = CopyOptions {
            csv: true,
            header: Header::Match,
            delimiter: Some(';'),
            null: Some("it's".into()),
            ..CopyOptions::default()
        };
        assert_eq!(
            o.sql(),
            "FORMAT csv, HEADER match, DELIMITER ';', NULL 'it''s'"
        );
        assert_eq!(CopyOptions::default().sql(), "FORMAT text");
    }

    #[test]
    fn the_line_comes_from_the_context() {
        assert_eq!(
            copy_line("COPY copy_stage_1, line 3, column id: \"x\""),
            Some(3)
        );
        assert_eq!(copy_line("COPY copy_stage_1, line 12"), Some(12));
        assert_eq!(copy_line("SQL function"), None);
    }

    #[test]
    fn the_record_binds_the_data() {
        let load = CopyLoad {
            table: "t".into(),
            columns: None,
            options: CopyOptions::default(),
            typed: "t from 'a.csv' csv".into(),
            source: "a.csv".into(),
            data: b"1\n".to_vec(),
        };
        let r = load.recorded();
        assert!(is_recorded_copy(&r));
        assert!(r.starts_with("\\copy t from 'a.csv' csv -- data sha256:4355a46b"));
        assert!(r.ends_with("(2 bytes)"));
    }
}
