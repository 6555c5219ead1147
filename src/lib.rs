//! pgward: a guarded interactive SQL shell for PostgreSQL.
//!
//! Every statement a user types, pipes or loads goes through one [`session::Session`]:
//! it is split, classified, checked against the policy table and run inside a
//! transaction that pgward opened itself, under a least-privilege role and timeouts.
//! Nothing commits except through pgward's own intercepted COMMIT.
//!
//! # Layout
//!
//! - [`audit`]: the signed, hash-chained session log: records, keys, writer, verify, export.
//! - [`ledger`]: `pgward.ledger`, one row per committed change written in its own
//!   transaction, the run-once lookup, `pgward ledger init|show`, and the cross-check of
//!   logs against it.
//! - [`approval`]: two-person approval: protocol v1 types, token, code, client, and the
//!   built-in approval service `pgward approver`.
//! - [`cli`]: command-line flags (clap).
//! - [`config`]: the TOML file model and the validated [`config::Settings`].
//! - [`conn`]: connection parameters like libpq's (URI, conninfo, `PG*`, pgpass), the
//!   socket, TLS, cancel, and the byte bridge that shows a SQL_ASCII database's bytes that
//!   are not UTF-8 as `\xe9` wherever the server sends them ([`conn::bridge`]), records
//!   the cancel key's process id ([`conn::backend_key`]), and sends every prepared
//!   statement tokio-postgres names as the unnamed one (`conn::unnamed`), so no pooled
//!   backend keeps a name.
//! - [`sql`]: the client-side splitter and the classifier.
//! - [`policy`]: the refused list, as data.
//! - [`check`]: `pgward check`, the classifier and policy over files, with no connection.
//! - [`preview`]: what each write did (diff, counts, cascades, DDL facts) and the
//!   change digest, shown before COMMIT.
//! - [`session`]: the guarded transaction state machine, the identity probe, whether the
//!   connection goes through a pooler ([`session::pooler`]), the role
//!   check that refuses a role setup the database does not enforce, the COMMIT path
//!   (deferred work, the cancellable COMMIT, an unknown outcome resolved), the reconnect
//!   when the server ends the connection, the switch to another environment (`\c`), the
//!   rows of a SQL_ASCII database read as COPY's text ([`session::copy_rows`]), and
//!   [`session::Io`], the one writer to the terminal, and the signals (Ctrl-C,
//!   SIGTERM, SIGHUP) that reach the session.
//! - [`render`]: result tables and server errors, as psql shows them, and the escaping
//!   and typed colour ([`render::Text`]) every string passes on its way to the screen.
//! - [`repl`]: the interactive line editor, prompt and meta-commands.
//! - [`scratch`]: throwaway PostgreSQL clusters for tests and `pgward demo`.
//! - [`demo`]: the sample shop schema behind `pgward demo`.
//! - [`replay`]: `pgward replay`, a committed change from its log run again in another
//!   environment.
//! - [`undo`]: `pgward undo`, a committed change undone with the undo SQL its log
//!   stored, refused when its rows changed since.
//! - [`run`]: the entry point the binary calls.

pub mod approval;
pub mod audit;
pub mod check;
pub mod cli;
pub mod config;
pub mod conn;
pub mod demo;
pub mod error;
pub mod ledger;
pub mod policy;
pub mod preview;
pub mod render;
pub mod repl;
pub mod replay;
pub mod run;
pub mod scratch;
pub mod session;
pub mod sql;
pub mod undo;

pub use error::{Error, ExitCode};
pub use run::run;
