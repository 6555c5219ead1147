//! What people read: query results in psql's formats ([`print`], with the options of
//! [`pset`]) or as COPY data ([`copy`]), result tables ([`table`]), command tags ([`tag`]), server errors shown like psql's
//! ([`error`]), text on its way to the screen ([`text`]) with everything from outside
//! escaped ([`escape`]), and terminal colour decisions ([`style`]).

pub mod copy;
pub mod error;
pub mod escape;
pub mod print;
pub mod pset;
pub mod style;
pub mod table;
pub mod tag;
pub mod text;

#[cfg(test)]
mod props;

pub use style::Style;
pub use text::{Paint, Text};
