//! SQL text handling on the client: cutting input into statements ([`split()`]) and
//! deciding what each statement is ([`classify()`]) before anything reaches the server.
//!
//! - [`split`](mod@split): the psql-compatible splitter.
//! - [`classify`](mod@classify): the verdict for one statement (explicit match, catch-all refuses).
//! - `forbidden`: the token scan that refuses names and phrases even in unparsed text.
//! - `settings`: which run-time settings a user may change.
//! - `walk`: the risk of a whole statement tree.
//! - `do_block`: DO blocks, which sqlparser cannot parse.
//! - [`plan`]: the verdict from the server's EXPLAIN for what sqlparser cannot parse.

pub mod classify;
mod do_block;
pub mod forbidden;
pub mod plan;
mod settings;
pub mod split;
mod walk;

pub use classify::{classify, verdict_from_plan, TxControl, Verdict};
pub use split::{is_complete, split, Piece, Split};

#[cfg(test)]
mod props;
