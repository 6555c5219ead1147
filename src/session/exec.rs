//! Running one statement the way pgward must: prepared first with the extended protocol,
//! so the server itself refuses text holding more than one statement, then executed as a
//! simple query so that every value comes back as PostgreSQL's own text. Ctrl-C sends the
//! protocol's cancel request and the statement ends with SQLSTATE 57014.

use futures_util::StreamExt;
use tokio_postgres::{Client, SimpleQueryMessage, SimpleQueryRow};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::preview::images::{ImageError, ImageSink, Images};
use crate::render::table::Column;

/// Why a capturing statement could not be run.
#[derive(Debug)]
pub enum CaptureError {
    /// The server refused it.
    Db(tokio_postgres::Error),
    /// Its rows could not be taken in.
    Image(ImageError),
}

impl From<tokio_postgres::Error> for CaptureError {
    fn from(e: tokio_postgres::Error) -> Self {
        CaptureError::Db(e)
    }
}

/// What a statement returned.
#[derive(Debug, Default)]
pub struct Executed {
    /// The result columns; empty for statements that return no rows.
    pub columns: Vec<Column>,
    /// The rows, as text; `None` is NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// The row count of the command tag.
    pub count: Option<u64>,
}

/// Prepares, then runs `sql`; cancels it on Ctrl-C.
pub async fn run(
    client: &Client,
    tls: &MakeRustlsConnect,
    sql: &str,
) -> Result<Executed, tokio_postgres::Error> {
    cancellable(client, tls, run_uncancellable(client, sql)).await
}

/// Awaits `work`; on Ctrl-C sends the protocol's cancel request and keeps awaiting it,
/// so the statement ends with query_canceled (57014). A failed cancel request leaves
/// the statement running to its statement_timeout, which is the most we can do.
/// The same path as COMMIT's, without its live line (see [`super::wait`]).
async fn cancellable<T>(
    client: &Client,
    tls: &MakeRustlsConnect,
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
    tls: &MakeRustlsConnect,
    sql: &str,
    mut sink: ImageSink,
    pgward_columns: usize,
) -> Result<(Executed, Images), CaptureError> {
    let work = async {
        let out = stream_rows(client, sql, pgward_columns, |row| {
            sink.push_simple(row).map_err(CaptureError::Image)
        })
        .await?;
        let images = sink.finish().map_err(CaptureError::Image)?;
        Ok((out, images))
    };
    cancellable(client, tls, work).await
}

async fn run_uncancellable(client: &Client, sql: &str) -> Result<Executed, tokio_postgres::Error> {
    stream_rows(client, sql, 0, |_| Ok(())).await
}

/// Prepares `sql` (so the server refuses text holding two statements), then streams its
/// rows as text: every row is offered to `each`, and all but the last `trailing`
/// columns (pgward's own) go into the result.
async fn stream_rows<E: From<tokio_postgres::Error>>(
    client: &Client,
    sql: &str,
    trailing: usize,
    mut each: impl FnMut(&SimpleQueryRow) -> Result<(), E>,
) -> Result<Executed, E> {
    let statement = client.prepare(sql).await?;
    let user = statement.columns().len().saturating_sub(trailing);
    let columns = statement
        .columns()
        .iter()
        .take(user)
        .map(|c| Column::new(c.name(), c.type_()))
        .collect();
    drop(statement);
    let mut out = Executed {
        columns,
        ..Executed::default()
    };
    let stream = client.simple_query_raw(sql).await?;
    tokio::pin!(stream);
    while let Some(message) = stream.next().await {
        match message? {
            SimpleQueryMessage::Row(row) => {
                if user > 0 {
                    out.rows
                        .push((0..user).map(|i| row.get(i).map(str::to_string)).collect());
                }
                each(&row)?;
            }
            SimpleQueryMessage::CommandComplete(n) => out.count = Some(n),
            _ => {}
        }
    }
    Ok(out)
}
