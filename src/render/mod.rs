//! What people read: result tables ([`table`]), server errors shown like psql's
//! ([`error`]), and terminal colour decisions ([`style`]).

pub mod error;
pub mod style;
pub mod table;

pub use style::Style;
