//! What a write did, shown before anyone commits: per-table counts ([`counts`]), the
//! capture of before/after images by rewriting the statement ([`rewrite`], [`images`],
//! read field by field by [`record`]), where before-images are spilled ([`spill`]), the
//! row-level diff ([`diff`]), whether a column changed and which output settings blur
//! it ([`distinct`]), the cascade collector ([`cascade`]), how rows are keyed
//! ([`keys`]), a write target's catalog facts in one query ([`facts`]), kept per
//! connection while the catalog's fingerprint says they hold ([`fact_cache`]), statements with
//! data-modifying WITH captured part by part ([`cte`], [`part`]), the transaction's net
//! change per table ([`net`]), the order undo inserts rows back in ([`parents_first`]), DDL
//! facts ([`ddl`]),
//! whether work undone inside a statement can be in its counts ([`partial_undo`]), and
//! the change digest that binds them ([`digest`]).

pub mod cascade;
pub mod cascade_images;
pub mod conflict;
pub mod constant;
pub mod counts;
pub mod cte;
pub mod ddl;
pub mod diff;
pub mod digest;
pub mod distinct;
pub mod eligible;
pub mod error;
pub mod fact_cache;
pub mod facts;
pub mod guard_view;
pub mod images;
pub mod keys;
pub mod merge;
pub mod net;
pub mod parents_first;
pub mod part;
pub mod partial_undo;
pub mod record;
pub mod relation;
pub mod revert;
pub mod rewrite;
pub mod spill;
pub mod statement;
pub mod truncate;

#[cfg(test)]
mod testdb;

pub use error::PreviewError;
