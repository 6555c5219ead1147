//! What people read: result tables ([`table`]), command tags ([`tag`]), server errors shown like psql's
//! ([`error`]), and terminal colour decisions ([`style`]).

pub mod error;
pub mod escape;
pub mod style;
pub mod table;
pub mod tag;

pub use style::Style;
