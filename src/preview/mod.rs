//! What a write did, shown before anyone commits: per-table counts ([`counts`]), the
//! cascade collector ([`cascade`]), how rows are keyed ([`keys`]), DDL facts ([`ddl`]),
//! and the change digest that binds them ([`digest`]).

pub mod cascade;
pub mod counts;
pub mod ddl;
pub mod digest;
pub mod error;
pub mod keys;
pub mod relation;

#[cfg(test)]
mod testdb;

pub use error::PreviewError;
