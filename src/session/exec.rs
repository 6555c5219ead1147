//! Running one statement the way pgward must: prepared first with the extended protocol,
//! so the server itself refuses text holding more than one statement, then executed as a
//! simple query so that every value comes back as PostgreSQL's own text. Ctrl-C sends the
//! protocol's cancel request and the statement ends with SQLSTATE 57014.
//!
//! In a SQL_ASCII database the rows come as COPY's text instead ([`Via::Copy`], see
//! [`super::copy_rows`]), so bytes that are not UTF-8 are shown escaped, never refused,
//! and each value says whether it was. Everything else the server sends there (column
//! names, the rows of SHOW, EXPLAIN or FETCH, tags, messages) passes the byte bridge
//! ([`crate::conn::bridge`]), which escapes such bytes the same way and counts them.
//!
//! Reads stream ([`run_streaming`]): rows are drawn as they arrive, [`FETCH_COUNT`] at a
//! time, so memory stays flat whatever the row count. Only the last batch is held back
//! until the statement (and the probe after it) is done, so a result that fits in one
//! batch is shown only once the session has checked it, exactly as before.

use futures_util::StreamExt;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::copy_rows::{self, CopiedRow, Malformed};
use crate::conn::bridge::Escapes;
use crate::preview::images::{ImageError, ImageSink, Images, RowFields};
use crate::render::print::Part;
use crate::render::table::Column;

/// Why a capturing statement could not be run.
#[derive(Debug)]
pub enum CaptureError {
    /// The server refused it.
    Db(tokio_postgres::Error),
    /// Its rows could not be taken in.
    Image(ImageError),
    /// Its rows came as COPY data that could not be read.
    Copy(Malformed),
}

impl From<tokio_postgres::Error> for CaptureError {
    fn from(e: tokio_postgres::Error) -> Self {
        CaptureError::Db(e)
    }
}

impl From<Malformed> for CaptureError {
    fn from(e: Malformed) -> Self {
        CaptureError::Copy(e)
    }
}

/// Why a statement could not be run.
#[derive(Debug)]
pub enum Failure {
    /// The server refused it (or the connection failed).
    Db(tokio_postgres::Error),
    /// The server refused it as sent inside COPY's wrapper ([`copy_rows::wrap`]): its
    /// position counts [`COPY_PREFIX_CHARS`] characters before the typed statement.
    InCopy(tokio_postgres::Error),
    /// Its rows came as COPY data that could not be read (PostgreSQL never sends such).
    Copy(Malformed),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Db(e)
    }
}

/// An error of a statement sent inside COPY's wrapper ([`copy_rows::wrap`]).
#[derive(Debug)]
pub struct InCopy(pub tokio_postgres::Error);

/// The characters COPY's wrapper puts before the statement (`COPY (`).
pub const COPY_PREFIX_CHARS: u32 = copy_rows::PREFIX.len() as u32;

impl From<InCopy> for Failure {
    fn from(e: InCopy) -> Self {
        Failure::InCopy(e.0)
    }
}

impl From<InCopy> for CaptureError {
    /// A capture's error is located in the typed statement afresh (see
    /// `Session::capture_failed`), wherever it was sent.
    fn from(e: InCopy) -> Self {
        CaptureError::Db(e.0)
    }
}

impl Failure {
    /// The server's error, however the statement was sent.
    pub fn db(&self) -> Option<&tokio_postgres::Error> {
        match self {
            Failure::Db(e) | Failure::InCopy(e) => Some(e),
            Failure::Copy(_) => None,
        }
    }
}

impl From<Malformed> for Failure {
    fn from(e: Malformed) -> Self {
        Failure::Copy(e)
    }
}

/// How rows travel from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The simple query protocol's text (the server checks it is UTF-8).
    Simple,
    /// COPY's text with the stored bytes, for a SQL_ASCII database ([`copy_rows`]).
    Copy,
}

impl Via {
    /// The way for a database of this `server_encoding`.
    pub fn for_encoding(server_encoding: &str) -> Via {
        if server_encoding.eq_ignore_ascii_case("SQL_ASCII") {
            Via::Copy
        } else {
            Via::Simple
        }
    }
}

/// How many rows a streamed read draws at a time (psql's `FETCH_COUNT`).
pub const FETCH_COUNT: usize = 1000;

/// What a statement returned.
#[derive(Debug, Default, Clone)]
pub struct Executed {
    /// The result columns; empty for statements that return no rows.
    pub columns: Vec<Column>,
    /// The rows not shown yet, as text; `None` is NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The row count of the command tag.
    pub count: Option<u64>,
    /// Rows already drawn, in batches, while the statement ran.
    pub printed: u64,
    /// The statement returned a result set (a `SELECT` of no columns too), as opposed
    /// to a command tag alone.
    pub tuples: bool,
    /// How many values held bytes that are not UTF-8 and are shown as `\xe9`, not as
    /// stored ([`Via::Copy`]); through the simple query protocol, how many bytes the
    /// byte bridge escaped in the statement's answer ([`crate::conn::bridge`]).
    pub escaped: u64,
    /// The server's command tag, when the statement ran as typed through the simple
    /// query protocol (not as COPY's rows, not as a capture); see
    /// [`crate::render::tag::command_tag`].
    pub tag: Option<String>,
}

impl Executed {
    /// The piece of the result still to show: all of it, or, when earlier batches were
    /// drawn already, the last batch (no header; the footer counts every row).
    pub fn last_part(&self) -> Part {
        Part {
            start: self.printed == 0,
            stop: true,
            prior: self.printed,
        }
    }
}

/// Where a streamed read hands each full batch: its columns, rows and place.
pub type Draw<'a> = dyn FnMut(&[Column], &[Vec<Option<String>>], Part) + 'a;

/// Describes, then runs `sql`, inside a transaction or outside one (a session setting,
/// a statement that runs alone): every row kept; cancels it on Ctrl-C.
pub async fn run(
    client: &Client,
    tls: &crate::conn::Wire,
    sql: &str,
    via: Via,
) -> Result<Executed, Failure> {
    cancellable(
        client,
        tls,
        stream_rows(
            client,
            tls.escapes(),
            Run { sql, via },
            0,
            |_| Ok(true),
            None,
        ),
    )
    .await
}

/// As [`run`], handing the rows to `out` drawn in batches of [`FETCH_COUNT`] as they arrive;
/// the last batch stays in [`Executed::rows`] for [`Executed::last_part`].
pub async fn run_streaming(
    client: &Client,
    tls: &crate::conn::Wire,
    sql: &str,
    via: Via,
    out: &mut Draw<'_>,
) -> Result<Executed, Failure> {
    let work = stream_rows(
        client,
        tls.escapes(),
        Run { sql, via },
        0,
        |_| Ok(true),
        Some(out),
    );
    cancellable(client, tls, work).await
}

/// Awaits `work`; on Ctrl-C (or SIGTERM, SIGHUP: see [`super::signals`]) sends the protocol's cancel request and keeps awaiting it,
/// so the statement ends with query_canceled (57014). A failed cancel request leaves
/// the statement running to its statement_timeout, which is the most we can do.
/// The same path as COMMIT's, without its live line (see [`super::wait`]).
async fn cancellable<T>(
    client: &Client,
    tls: &crate::conn::Wire,
    work: impl std::future::Future<Output = T>,
) -> T {
    super::wait::cancellable_with_line(client, tls, work, None)
        .await
        .result
}

/// Runs a capturing statement: its rows stream into `sink` (pgward's trailing columns)
/// and the user's own RETURNING columns, if any, come back as the result.
pub async fn run_capture(
    client: &Client,
    tls: &crate::conn::Wire,
    sql: &str,
    via: Via,
    mut sink: ImageSink,
    pgward_columns: usize,
) -> Result<(Executed, Images), CaptureError> {
    let work = async {
        let each = |row: &dyn RowFields| {
            sink.push_fields(row)
                .map(|()| true)
                .map_err(CaptureError::Image)
        };
        let mut out = stream_rows(
            client,
            tls.escapes(),
            Run { sql, via },
            pgward_columns,
            each,
            None,
        )
        .await?;
        // The capture's own tag counts pgward's rows too: the typed statement names it.
        out.tag = None;
        let images = sink.finish().map_err(CaptureError::Image)?;
        Ok((out, images))
    };
    cancellable(client, tls, work).await
}

/// Runs the capture of a statement with data-modifying WITH ([`crate::preview::cte`]):
/// each row tagged with a part streams into that part's sink (`sinks[part - 1]`), and
/// the main query's rows, if any, come back as the result. The row count is the main
/// query's rows, or the main INSERT, UPDATE or DELETE's (the last part's images).
pub async fn run_parts(
    client: &Client,
    tls: &crate::conn::Wire,
    sql: &str,
    via: Via,
    mut sinks: Vec<ImageSink>,
    main_query: bool,
) -> Result<(Executed, Vec<Images>), CaptureError> {
    use crate::preview::cte::COLUMNS;
    use crate::preview::images::CapturedRow;
    let work = async {
        let mut user_rows = 0u64;
        let each = |row: &dyn RowFields| {
            let malformed = || {
                CaptureError::Image(ImageError::Columns {
                    expected: COLUMNS.join(", "),
                    found: (0..row.width())
                        .filter_map(|i| row.name(i))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            };
            let base = row
                .width()
                .checked_sub(COLUMNS.len())
                .ok_or_else(malformed)?;
            let named = COLUMNS
                .iter()
                .enumerate()
                .all(|(i, name)| row.name(base + i) == Some(*name));
            if !named {
                return Err(malformed());
            }
            let value = |i: usize| {
                if !row.exact(base + i) {
                    return Err(CaptureError::Image(ImageError::NotUtf8));
                }
                row.text(base + i).ok_or_else(malformed)
            };
            let Some(part) = value(0)? else {
                user_rows += 1;
                return Ok(true);
            };
            let sink = part
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| sinks.get_mut(i))
                .ok_or_else(malformed)?;
            sink.push(CapturedRow {
                old: value(1)?,
                new: value(2)?,
                inserted: None,
                ctid: value(3)?,
                distinct: None,
            })
            .map_err(CaptureError::Image)?;
            Ok(false)
        };
        let mut out = stream_rows(
            client,
            tls.escapes(),
            Run { sql, via },
            COLUMNS.len(),
            each,
            None,
        )
        .await?;
        let images = sinks
            .into_iter()
            .map(ImageSink::finish)
            .collect::<Result<Vec<Images>, ImageError>>()
            .map_err(CaptureError::Image)?;
        out.count = Some(if main_query {
            user_rows
        } else {
            images.last().map_or(0, |i| i.total)
        });
        // The capture's own tag counts the parts' rows too: the typed statement names it.
        out.tag = None;
        Ok((out, images))
    };
    cancellable(client, tls, work).await
}

/// Starts `copy` ([`copy_rows::wrap`]), or says that COPY cannot run this statement
/// (`None`): the server refuses some queries inside COPY that it runs on their own (a
/// view's rules, `SELECT INTO`) with 0A000 (feature not supported), and that is no
/// reason to fail the read. Such a refusal comes before the statement runs (while
/// COPY is set up, before its data begins), so nothing of it happened; a savepoint
/// taken first undoes the aborted state, and the statement then runs as a simple query
/// like any other. Outside a transaction block there is no aborted state to undo. With
/// the stream comes whether the savepoint was taken: it is released once the data has
/// been read (its work is the statement's, and RELEASE keeps it).
async fn copy_or_not(
    client: &Client,
    copy: &str,
) -> Result<Option<(tokio_postgres::CopyOutStream, bool)>, InCopy> {
    use crate::conn::client::marked;
    use tokio_postgres::error::SqlState;
    let savepoint = match client.batch_execute(&marked("SAVEPOINT pgward_copy")).await {
        Ok(()) => true,
        Err(e) if e.code() == Some(&SqlState::NO_ACTIVE_SQL_TRANSACTION) => false,
        Err(e) => return Err(InCopy(e)),
    };
    match client.copy_out(copy).await {
        Ok(stream) => Ok(Some((stream, savepoint))),
        Err(e) if e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED) => {
            if savepoint {
                client
                    .batch_execute(&marked(
                        "ROLLBACK TO SAVEPOINT pgward_copy; RELEASE SAVEPOINT pgward_copy",
                    ))
                    .await
                    .map_err(InCopy)?;
            }
            Ok(None)
        }
        Err(e) => Err(InCopy(e)),
    }
}

/// What [`stream_rows`] runs: the text and how its rows travel.
#[derive(Debug, Clone, Copy)]
struct Run<'a> {
    sql: &'a str,
    via: Via,
}

/// The result columns of `sql`, from tokio-postgres's `prepare` (a Parse and a Describe;
/// nothing runs, and the server refuses text holding two statements there), closed right
/// after. tokio-postgres names the statement, but the connection's bridge sends it as
/// the server's unnamed statement (`conn::unnamed`): inside a transaction or outside
/// one, behind PgBouncer in transaction mode too, no backend keeps a name for another
/// client to meet.
async fn describe(
    client: &Client,
    sql: &str,
) -> Result<Vec<(String, tokio_postgres::types::Type)>, tokio_postgres::Error> {
    let statement = client.prepare(sql).await?;
    Ok(statement
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_().clone()))
        .collect())
}

/// Describes `sql` ([`describe`]), then streams its
/// rows as text: every row is offered to `each`, and all but the last `trailing`
/// columns (pgward's own) go into the result when `each` keeps it; with `draw`, each
/// full batch of [`FETCH_COUNT`] rows is drawn there and dropped.
async fn stream_rows<E: From<tokio_postgres::Error> + From<Malformed> + From<InCopy>>(
    client: &Client,
    escapes: &Escapes,
    run: Run<'_>,
    trailing: usize,
    mut each: impl FnMut(&dyn RowFields) -> Result<bool, E>,
    mut draw: Option<&mut Draw<'_>>,
) -> Result<Executed, E> {
    let Run { sql, via } = run;
    let described = describe(client, sql).await?;
    let user = described.len().saturating_sub(trailing);
    let columns = described
        .iter()
        .take(user)
        .map(|(name, ty)| Column::new(name, ty))
        .collect();
    let names: Vec<String> = described.into_iter().map(|(name, _)| name).collect();
    let mut out = Executed {
        columns,
        ..Executed::default()
    };
    // Called with each row's values for the result, after `each` took the row and
    // said whether to keep it.
    let mut take = |out: &mut Executed, values: Vec<Option<String>>, keep: bool| {
        // A result of no columns still has rows (psql draws `--` and a count);
        // pgward's own capture columns alone are not a result.
        if keep && (user > 0 || trailing == 0) {
            out.rows.push(values);
        }
        if let Some(draw) = draw.as_deref_mut() {
            if out.rows.len() >= FETCH_COUNT {
                let part = Part {
                    start: out.printed == 0,
                    stop: false,
                    prior: out.printed,
                };
                draw(&out.columns, &out.rows, part);
                out.printed += out.rows.len() as u64;
                out.rows.clear();
            }
        }
    };
    let copy = match via {
        Via::Copy if !names.is_empty() => copy_rows::wrap(sql),
        _ => None,
    };
    let stream = match copy {
        Some(copy) => copy_or_not(client, &copy).await?,
        None => None,
    };
    if let Some((stream, savepoint)) = stream {
        out.tuples = trailing == 0 || user > 0;
        tokio::pin!(stream);
        let mut decoder = copy_rows::Decoder::new(names.len());
        while let Some(chunk) = stream.next().await {
            for row in decoder.push(&chunk.map_err(InCopy)?)? {
                let keep = each(&CopiedRow {
                    names: &names,
                    values: &row.values,
                    escaped: &row.escaped,
                })?;
                if keep {
                    let shown = row.escaped.iter().filter(|&&i| i < user).count();
                    out.escaped += shown as u64;
                }
                let mut values = row.values;
                values.truncate(user);
                take(&mut out, values, keep);
            }
        }
        out.count = Some(decoder.finish()?);
        if savepoint {
            let release = crate::conn::client::marked("RELEASE SAVEPOINT pgward_copy");
            client.batch_execute(&release).await.map_err(InCopy)?;
        }
        return Ok(out);
    }
    // Here the byte bridge shows bytes that are not UTF-8 as `\xe9` (see
    // `crate::conn::bridge`): a row read once its count moved may hold such text, not
    // the stored value, and says so ([`RowFields::exact`]), so no capture takes it in.
    let start = escapes.count();
    let stream = client.simple_query_raw(sql).await?;
    tokio::pin!(stream);
    while let Some(message) = stream.next().await {
        match message? {
            SimpleQueryMessage::RowDescription(_) => out.tuples = trailing == 0 || user > 0,
            SimpleQueryMessage::Row(row) => {
                let exact = escapes.count() == start;
                let keep = each(&Bridged { row: &row, exact })?;
                let values = match keep {
                    true => (0..user).map(|i| row.get(i).map(str::to_string)).collect(),
                    false => Vec::new(),
                };
                take(&mut out, values, keep);
            }
            SimpleQueryMessage::CommandComplete(n) => {
                out.count = Some(n);
                out.tag = Some(escapes.last_tag());
            }
            _ => {}
        }
    }
    out.escaped += escapes.count() - start;
    Ok(out)
}

/// A row of the simple query protocol, and whether its text is as stored: false once
/// the byte bridge escaped anything of the statement's answer so far.
struct Bridged<'a> {
    row: &'a tokio_postgres::SimpleQueryRow,
    exact: bool,
}

impl RowFields for Bridged<'_> {
    fn width(&self) -> usize {
        self.row.width()
    }

    fn name(&self, index: usize) -> Option<&str> {
        self.row.name(index)
    }

    fn text(&self, index: usize) -> Option<Option<&str>> {
        self.row.text(index)
    }

    fn exact(&self, _index: usize) -> bool {
        self.exact
    }
}
