//! The wire types of approval protocol version 1 (`../shared/DESIGN.md`, "Approval
//! protocol"): the request the shell POSTs, the service's answer to it, and the status the
//! shell polls. The service checks a request with [`ApprovalRequest::check`] before it
//! stores anything, so every approver enforces the same limits.

use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// Largest request body an approver accepts, and the shell sends.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Largest answer the shell reads from an approver.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Rows changed in one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableCount {
    /// Schema-qualified table name.
    pub table: String,
    /// Rows inserted.
    pub inserted: i64,
    /// Rows updated.
    pub updated: i64,
    /// Rows deleted.
    pub deleted: i64,
}

/// `POST {url}/requests`: what the reviewer is asked to approve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRequest {
    /// Protocol version, [`VERSION`].
    pub version: u32,
    /// Random id chosen by the shell; a service accepts each id once.
    pub request_id: String,
    /// Environment name from the shell's config.
    pub environment: String,
    /// Server identity (system identifier, address).
    pub server: String,
    /// Database.
    pub database: String,
    /// The role the writes ran as.
    pub role: String,
    /// Who the shell says is typing. Informational: the service takes the author from the
    /// credential, never from this field.
    pub author: String,
    /// The ticket.
    pub ticket: String,
    /// The statements, as typed.
    pub statements: Vec<String>,
    /// Rows changed per table.
    pub counts: Vec<TableCount>,
    /// The change summary the author saw (plain text).
    pub preview_excerpt: String,
    /// The change digest (hex SHA-256), which the token binds.
    pub change_digest: String,
    /// The session log's head (hex SHA-256), which the token binds.
    pub log_head: String,
    /// The transaction id.
    pub txid: String,
    /// When the request lapses (see [`super::time`]).
    pub expires_at: String,
}

impl ApprovalRequest {
    /// Why a service must not store this request, if it must not.
    pub fn check(&self) -> Result<(), String> {
        if self.version != VERSION {
            return Err(format!(
                "protocol version {} is not supported (this service speaks {VERSION})",
                self.version
            ));
        }
        if !is_request_id(&self.request_id) {
            return Err("request_id must be 16 to 64 letters, digits, - or _".into());
        }
        for (what, v) in [
            ("change_digest", &self.change_digest),
            ("log_head", &self.log_head),
        ] {
            if v.len() != 64 || super::hex::decode(v).is_none() {
                return Err(format!("{what} must be 64 hex digits"));
            }
        }
        if super::time::parse(&self.expires_at).is_none() {
            return Err("expires_at must be a UTC time like 2026-01-31T12:00:00Z".into());
        }
        if self.statements.is_empty() {
            return Err("statements must not be empty".into());
        }
        for (what, v) in [
            ("environment", &self.environment),
            ("ticket", &self.ticket),
            ("txid", &self.txid),
        ] {
            if v.is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
                return Err(format!("{what} must be 1 to 200 printable characters"));
            }
        }
        Ok(())
    }
}

/// Whether `id` is a well-formed request id.
pub fn is_request_id(id: &str) -> bool {
    (16..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `201` answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The id the shell sent.
    pub request_id: String,
    /// Where the reviewer reviews it.
    pub review_url: String,
}

/// `GET {url}/requests/{id}`: where the request stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    /// Nobody has decided yet.
    Pending,
    /// A reviewer approved; `token` signs the approval (see [`super::token`]).
    Approved {
        /// Who approved.
        reviewer: String,
        /// When (see [`super::time`]).
        approved_at: String,
        /// Hex Ed25519 signature.
        token: String,
    },
    /// A reviewer rejected, with a reason.
    Rejected {
        /// Who rejected.
        reviewer: String,
        /// Why.
        reason: String,
    },
    /// Nobody decided in time.
    Expired,
}

/// An error answer: `{"error": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One line a user can act on.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_spelling() {
        let s: Status = serde_json::from_str(
            r#"{"status":"rejected","reviewer":"bob","reason":"wrong table"}"#,
        )
        .unwrap();
        assert_eq!(
            s,
            Status::Rejected {
                reviewer: "bob".into(),
                reason: "wrong table".into()
            }
        );
        assert_eq!(
            serde_json::to_string(&Status::Expired).unwrap(),
            r#"{"status":"expired"}"#
        );
        assert!(serde_json::from_str::<Status>(r#"{"status":"maybe"}"#).is_err());
    }

    #[test]
    fn request_ids() {
        assert!(is_request_id("0123456789abcdef"));
        assert!(!is_request_id("short"));
        assert!(!is_request_id("0123456789abcdef/../x"));
    }
}
