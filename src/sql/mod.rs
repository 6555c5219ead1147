//! SQL text handling on the client: cutting input into statements ([`split()`]) and
//! deciding what each statement is ([`classify()`], [`analyze()`]) before anything reaches
//! the server. Classification uses PostgreSQL's own parser (`pg_query`).
//!
//! - [`split`](mod@split): the psql-compatible splitter (boundaries and completeness; each
//!   piece must then be exactly one statement to PostgreSQL's parser), and its lexer,
//!   resumable between any two bytes, which the query buffer feeds line by line.
//! - [`classify`](mod@classify): the verdict for one statement (explicit match, catch-all refuses).
//! - [`batch`]: many statements classified at once, on every core, in order.
//! - [`verdict`]: the verdict, risk and analysis types the classifier's parts share.
//! - [`fast`]: plain reads and writes decided on PostgreSQL's summary of the statement,
//!   without the whole tree (the same analysis, checked against the full path).
//! - `tree`: the walk over every node of a parse tree.
//! - `plpgsql`: DO blocks and function bodies, statement by statement.
//! - [`functions`]: functions known by name (refused, surviving ROLLBACK, writing).
//! - [`prepared`]: the prepared statements seen so far, which give an EXECUTE its class.
//! - [`created`]: the functions created so far, whose body's class a call of them takes.
//! - [`cursors`]: the cursors a file declared, whose DECLARE's refusal a FETCH takes.
//! - [`settings`]: which run-time settings a user may change.
//! - [`unbounded`]: the UPDATEs and DELETEs inside WITH that have no WHERE.
//! - [`locks`]: the table lock each schema change takes.
//! - [`syntax_position`](mod@syntax_position): where the parser found a syntax error, for the caret.

pub mod batch;
pub mod classify;
pub mod created;
pub mod cursors;
pub mod fast;
pub mod functions;
pub mod locks;
pub(crate) mod plpgsql;
pub mod prepared;
pub mod settings;
pub mod split;
pub mod syntax_position;
mod tree;
pub mod unbounded;
pub mod verdict;

pub use batch::analyze_all;
pub use classify::{analyze, analyze_tree, classify, fingerprint};
pub use created::Created;
pub use cursors::Cursors;
pub use prepared::Prepared;
pub use settings::{setting_change, SettingChange};
pub use split::{is_complete, split, Piece, Split};
pub use verdict::{Analysis, Named, Options, TxControl, Verdict, OPAQUE_DYNAMIC};

#[cfg(test)]
mod corpus;
#[cfg(test)]
mod encoder;
#[cfg(test)]
mod props;
