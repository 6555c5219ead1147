//! Two-person approval, protocol version 1 (`../shared/DESIGN.md`, "Approval protocol";
//! shipped behaviour in `docs/approval.md`).
//!
//! The shell side: the wire types ([`protocol`]), the token's canonical bytes and Ed25519
//! check ([`token`], [`verify`]), the code the reviewer types ([`code`]), the HTTP client
//! ([`client`]) and the author's credential ([`credential`]). The built-in approval service,
//! `pgward approver`, lives in [`service`].

pub mod client;
pub mod code;
pub mod credential;
mod error;
pub mod hex;
pub mod key;
pub mod protocol;
pub mod service;
pub mod time;
pub mod token;
pub mod verify;

pub use client::ApprovalClient;
pub use error::ApprovalError;
pub use protocol::{ApprovalRequest, Created, Status, TableCount};
