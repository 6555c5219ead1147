//! One session-log record (format version 1) and its exact bytes.
//!
//! A record is one JSON line `{v, seq, ts, kind, …, prev, sig}`. What is signed is the
//! record without `sig`, *as written*: the line's bytes up to the `,"sig":` member, closed
//! with `}`. Signing the bytes rather than a re-serialisation means a verifier never has
//! to agree with the writer on a canonical JSON form: it cuts the `sig` member off the
//! line it read and checks the signature over exactly what remains. The signed message
//! is prefixed with [`SIGNING_CONTEXT`], so an operator signature over a log line can
//! never be replayed as a signature over anything else pgward signs.

use serde::{Deserialize, Serialize};

/// The format version written in every record's `v`.
pub const VERSION: u32 = 1;

/// Domain separation for the operator's signatures over records.
pub const SIGNING_CONTEXT: &[u8] = b"pgward-log-v1\n";

/// The `sig` member's opening, as written at the end of every line.
const SIG_OPEN: &[u8] = b",\"sig\":\"";

/// Rows changed in one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Schema-qualified table name.
    pub table: String,
    /// Rows inserted.
    pub inserted: i64,
    /// Rows updated.
    pub updated: i64,
    /// Rows deleted.
    pub deleted: i64,
}

/// Whether a commit can be undone from the rows pgward captured, decided before COMMIT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Undo {
    /// True when every changed row was captured with a key to find it by.
    pub possible: bool,
    /// Why undo is impossible, one line each; empty when it is possible.
    pub impossible: Vec<String>,
    /// The undo SQL, inline when small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// The gzip side file holding larger undo SQL, next to the log: its file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// SHA-256 (hex) of the undo SQL, inline or in the side file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Undo {
    /// One line (the ledger's `undo` column): `possible`, or `impossible: ` and every
    /// reason, separated by `; `.
    pub fn one_line(&self) -> String {
        if self.possible {
            "possible".to_string()
        } else {
            format!("impossible: {}", self.impossible.join("; "))
        }
    }
}

/// The roles a session runs under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Role writes run as.
    pub write: Option<String>,
    /// Role reads run as (the login when absent).
    pub read: Option<String>,
}

/// What a record says: the `kind` and its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Body {
    /// The first record: who, where, with which key.
    SessionStart {
        /// Random id of the session (also in the file name).
        session_id: String,
        /// Who is typing.
        author: String,
        /// The ticket, if any.
        ticket: Option<String>,
        /// Environment name.
        env: String,
        /// Server identity (system identifier, address, version).
        server: String,
        /// Database.
        database: String,
        /// Login role.
        login: String,
        /// Read and write roles.
        roles: Roles,
        /// pgward's version.
        version: String,
        /// Client host name.
        host: String,
        /// The operator's Ed25519 public key (hex) that signs every record.
        operator_key: String,
        /// Risks the environment's `accept_risks` names, one line each as the start
        /// banner showed it (`accepted risk ID: what was found`).
        accepted_risks: Vec<String>,
    },
    /// One statement, read or write, refused ones included.
    Statement {
        /// As typed.
        text: String,
        /// How the guard classified it (read, write, ddl, transaction, session, refused, unclassified).
        class: String,
        /// ok, error or refused.
        outcome: String,
        /// Wall time in milliseconds.
        duration_ms: f64,
        /// The command tag's row count.
        rows: Option<u64>,
        /// SQLSTATE of a failure.
        sqlstate: Option<String>,
        /// The server's or pgward's message for a failure or refusal.
        error: Option<String>,
        /// The policy rule that refused it.
        rule: Option<String>,
    },
    /// What a write did, recorded right after its statement.
    Preview {
        /// Per-table counts from the server, cascades and triggers included.
        counts: Vec<Counts>,
        /// SHA-256 over the row images, when rows were captured.
        image_digest: Option<String>,
        /// The start of the rendered preview.
        excerpt: String,
        /// Whether `excerpt` was cut short.
        excerpt_truncated: bool,
    },
    /// A request sent to the approval service (filled in by the approval work).
    ApprovalRequest {
        /// The request id.
        request_id: String,
        /// The change digest asked about.
        change_digest: String,
        /// The log head the approval will cover.
        log_head: String,
    },
    /// An approval received (filled in by the approval work).
    Approval {
        /// The request id.
        request_id: String,
        /// Who approved.
        reviewer: String,
        /// When.
        approved_at: String,
        /// Until when.
        expires_at: String,
        /// The service's signed token.
        token: String,
        /// Whether the reviewer typed the approval code at the author's terminal: false
        /// where the environment sets `require_code = false` and the verified token alone
        /// sufficed. Absent in records written before pgward recorded it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code_typed: Option<bool>,
    },
    /// Written and fsynced right before COMMIT is sent.
    CommitIntent {
        /// The transaction id (`txid_current()`, with epoch).
        txid: String,
        /// The change digest shown at COMMIT.
        change_digest: String,
        /// The statements of the transaction, as typed.
        statements: Vec<String>,
        /// Totals per table.
        counts: Vec<Counts>,
        /// Whether the change can be undone, decided before COMMIT. Absent in records
        /// written before pgward recorded it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        undo: Option<Undo>,
    },
    /// The server acknowledged COMMIT.
    Commit {
        /// The transaction id.
        txid: String,
        /// The change digest that was committed.
        change_digest: String,
    },
    /// The server refused COMMIT (the transaction rolled back).
    CommitFailed {
        /// The transaction id.
        txid: String,
        /// SQLSTATE.
        sqlstate: Option<String>,
        /// The server's message.
        error: String,
    },
    /// COMMIT was sent and no answer came (connection lost).
    CommitUnknown {
        /// The transaction id, to resolve with `txid_status`.
        txid: String,
        /// What happened.
        error: String,
    },
    /// The guarded transaction was rolled back.
    Rollback {
        /// Why.
        reason: String,
    },
    /// The last record.
    SessionEnd {
        /// How the session ended.
        reason: String,
    },
    /// The change's row in the database's ledger (`pgward.ledger`), inserted in the
    /// change's own transaction; the `commit_intent` follows it.
    Ledger {
        /// The row's id.
        ledger_id: i64,
        /// The change digest the row carries.
        change_digest: String,
        /// PostgreSQL's fingerprints of the write statements, in order.
        fingerprints: Vec<String>,
        /// The digest of the exact write statements.
        statements_digest: String,
        /// The ledger row of the same change committed before, when this runs it again.
        repeats: Option<i64>,
        /// Why it runs again (`\again REASON`).
        again: Option<String>,
    },
}

impl Body {
    /// The `kind` as written.
    pub fn kind(&self) -> &'static str {
        match self {
            Body::SessionStart { .. } => "session_start",
            Body::Statement { .. } => "statement",
            Body::Preview { .. } => "preview",
            Body::ApprovalRequest { .. } => "approval_request",
            Body::Approval { .. } => "approval",
            Body::CommitIntent { .. } => "commit_intent",
            Body::Commit { .. } => "commit",
            Body::CommitFailed { .. } => "commit_failed",
            Body::CommitUnknown { .. } => "commit_unknown",
            Body::Rollback { .. } => "rollback",
            Body::SessionEnd { .. } => "session_end",
            Body::Ledger { .. } => "ledger",
        }
    }
}

/// A record with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Format version.
    pub v: u32,
    /// 1 for the first record, one more for each next.
    pub seq: u64,
    /// UTC time, RFC 3339 with milliseconds.
    pub ts: String,
    /// Kind and fields.
    #[serde(flatten)]
    pub body: Body,
    /// SHA-256 (hex) of the previous line's bytes; zeros for the first record.
    pub prev: String,
}

impl Record {
    /// The bytes that are signed: the record without `sig`, as it will be written.
    pub fn unsigned_bytes(&self) -> Vec<u8> {
        // Serialising plain strings, numbers and lists cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The message the operator key signs for a record whose unsigned bytes are `unsigned`.
pub fn signing_message(unsigned: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + unsigned.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(unsigned);
    m
}

/// The line for `unsigned` (ending in `}`) with signature `sig` appended as `sig`.
pub fn signed_line(unsigned: &[u8], sig: &[u8; 64]) -> Vec<u8> {
    let mut line = unsigned.to_vec();
    append_sig(&mut line, sig);
    line
}

/// Turns `buf`, which ends with a record's closing `}`, into its signed line: the `}`
/// becomes `,"sig":"<128 hex>"}`. No allocation beyond `buf`'s own growth.
pub fn append_sig(buf: &mut Vec<u8>, sig: &[u8; 64]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    if buf.last() == Some(&b'}') {
        buf.pop();
    }
    buf.reserve(SIG_OPEN.len() + 130);
    buf.extend_from_slice(SIG_OPEN);
    for b in sig {
        buf.push(DIGITS[usize::from(b >> 4)]);
        buf.push(DIGITS[usize::from(b & 15)]);
    }
    buf.extend_from_slice(b"\"}");
}

/// Why a line does not split into unsigned bytes and a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// No `,"sig":"<128 hex>"}` at the end.
    #[error("the line does not end with a \"sig\" member of 128 lowercase hex digits")]
    NoSignature,
}

/// Splits a line into the unsigned bytes (the record without `sig`, closed with `}`) and
/// the signature.
pub fn split_line(line: &[u8]) -> Result<(Vec<u8>, [u8; 64]), LineError> {
    let (body, sig) = split_sig(line)?;
    let mut unsigned = Vec::with_capacity(body.len() + 1);
    unsigned.extend_from_slice(body);
    unsigned.push(b'}');
    Ok((unsigned, sig))
}

/// Splits a line into its bytes before the `sig` member (the unsigned record without its
/// closing `}`: no copy) and the signature.
pub fn split_sig(line: &[u8]) -> Result<(&[u8], [u8; 64]), LineError> {
    let tail = SIG_OPEN.len() + 128 + 2;
    if line.len() < tail + 1 || !line.ends_with(b"\"}") {
        return Err(LineError::NoSignature);
    }
    let start = line.len() - tail;
    if &line[start..start + SIG_OPEN.len()] != SIG_OPEN {
        return Err(LineError::NoSignature);
    }
    let hex = &line[start + SIG_OPEN.len()..line.len() - 2];
    let mut sig = [0u8; 64];
    for (out, pair) in sig.iter_mut().zip(hex.chunks(2)) {
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        *out = nibble(pair[0])
            .zip(nibble(pair[1]))
            .map(|(h, l)| h << 4 | l)
            .ok_or(LineError::NoSignature)?;
    }
    Ok((&line[..start], sig))
}

/// The current time as the `ts` of a record: UTC, RFC 3339, milliseconds.
pub fn timestamp(t: std::time::SystemTime) -> String {
    let since = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Howard Hinnant's days-to-civil conversion (proleptic Gregorian, UTC).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_rfc3339() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_764_107_045_123);
        assert_eq!(timestamp(t), "2025-11-25T21:44:05.123Z");
        assert_eq!(timestamp(std::time::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = std::time::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(timestamp(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn fields_are_written_in_order() {
        let r = Record {
            v: VERSION,
            seq: 1,
            ts: "t".into(),
            body: Body::Rollback { reason: "r".into() },
            prev: "00".into(),
        };
        assert_eq!(
            String::from_utf8(r.unsigned_bytes()).unwrap(),
            r#"{"v":1,"seq":1,"ts":"t","kind":"rollback","reason":"r","prev":"00"}"#
        );
    }

    #[test]
    fn unknown_fields_and_kinds_are_refused() {
        let ok = r#"{"v":1,"seq":1,"ts":"t","kind":"rollback","reason":"r","prev":"00"}"#;
        assert!(serde_json::from_str::<Record>(ok).is_ok());
        let extra = r#"{"v":1,"seq":1,"ts":"t","kind":"rollback","reason":"r","x":1,"prev":"00"}"#;
        assert!(serde_json::from_str::<Record>(extra).is_err());
        let kind = r#"{"v":1,"seq":1,"ts":"t","kind":"nothing","prev":"00"}"#;
        assert!(serde_json::from_str::<Record>(kind).is_err());
    }

    #[test]
    fn a_line_splits_back_into_what_was_signed() {
        let unsigned = br#"{"v":1,"prev":"00"}"#.to_vec();
        let line = signed_line(&unsigned, &[7u8; 64]);
        assert!(line.ends_with(b"\"}"));
        let (back, sig) = split_line(&line).unwrap();
        assert_eq!(back, unsigned);
        assert_eq!(sig, [7u8; 64]);
        let mut upper = line.clone();
        let n = upper.len();
        upper[n - 3] = b'F';
        assert!(split_line(&upper).is_err());
        assert!(split_line(&line[..n - 1]).is_err());
    }
}
