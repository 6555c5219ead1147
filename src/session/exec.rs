//! Running one statement the way pgward must: prepared first with the extended protocol,
//! so the server itself refuses text holding more than one statement, then executed as a
//! simple query so that every value comes back as PostgreSQL's own text. Ctrl-C sends the
//! protocol's cancel request and the statement ends with SQLSTATE 57014.

use futures_util::StreamExt;
use tokio_postgres::{Client, SimpleQueryMessage};
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
async fn cancellable<T>(
    client: &Client,
    tls: &MakeRustlsConnect,
    work: impl std::future::Future<Output = T>,
) -> T {
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => result,
        _ = tokio::signal::ctrl_c() => {
            let _ = client.cancel_token().cancel_query(tls.clone()).await;
            work.await
        }
    }
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
        let statement = client.prepare(sql).await.map_err(CaptureError::Db)?;
        let user = statement.columns().len().saturating_sub(pgward_columns);
        let columns: Vec<Column> = statement
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
        let stream = client
            .simple_query_raw(sql)
            .await
            .map_err(CaptureError::Db)?;
        tokio::pin!(stream);
        while let Some(message) = stream.next().await {
            match message.map_err(CaptureError::Db)? {
                SimpleQueryMessage::Row(row) => {
                    if user > 0 {
                        out.rows
                            .push((0..user).map(|i| row.get(i).map(str::to_string)).collect());
                    }
                    sink.push_simple(&row).map_err(CaptureError::Image)?;
                }
                SimpleQueryMessage::CommandComplete(n) => out.count = Some(n),
                _ => {}
            }
        }
        let images = sink.finish().map_err(CaptureError::Image)?;
        Ok((out, images))
    };
    cancellable(client, tls, work).await
}

async fn run_uncancellable(client: &Client, sql: &str) -> Result<Executed, tokio_postgres::Error> {
    let statement = client.prepare(sql).await?;
    let columns = statement
        .columns()
        .iter()
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
                out.rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => out.count = Some(n),
            SimpleQueryMessage::RowDescription(_) => {}
            _ => {}
        }
    }
    Ok(out)
}
