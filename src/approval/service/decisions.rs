//! The approver's own decision log: every approval and rejection is appended, in the same
//! transaction that records it, as a JSON entry signed with the service's Ed25519 key and
//! chained to the previous entry by `prev` = SHA-256(previous entry ‖ "\n" ‖ its sig). A
//! trigger refuses UPDATE, DELETE and TRUNCATE, and an advisory lock orders appends from
//! several processes into one chain; [`verify`] checks chain and signatures.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use crate::approval::hex;

/// One decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Format version, 1.
    pub v: u32,
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (UTC, see `approval::time`).
    pub ts: String,
    /// `approved` or `rejected`.
    pub kind: String,
    /// The request.
    pub request_id: String,
    /// Its author (from the credential).
    pub author: String,
    /// Who decided.
    pub reviewer: String,
    /// `page` or `chat`.
    pub via: String,
    /// The environment.
    pub environment: String,
    /// The ticket.
    pub ticket: String,
    /// The change digest.
    pub change_digest: String,
    /// The session log's head.
    pub log_head: String,
    /// The token, for an approval.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub token: Option<String>,
    /// The reason, for a rejection.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    /// Hash of the previous entry; zeros for the first.
    pub prev: String,
}

fn link(entry: &str, sig: &str) -> String {
    let mut h = Sha256::new();
    h.update(entry.as_bytes());
    h.update(b"\n");
    h.update(sig.as_bytes());
    hex::encode(&h.finalize())
}

/// Appends `entry` (its `seq` and `prev` are filled here) inside the caller's open
/// transaction on `client`.
pub async fn append(
    client: &Client,
    schema: &str,
    key: &SigningKey,
    mut entry: Entry,
) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute("SELECT pg_advisory_xact_lock(hashtext('pgward approver decisions'))")
        .await?;
    let last = client
        .query_opt(
            &format!("SELECT seq, entry, sig FROM {schema}.decisions ORDER BY seq DESC LIMIT 1"),
            &[],
        )
        .await?;
    (entry.seq, entry.prev) = match last {
        Some(r) => (r.get::<_, i64>(0) + 1, link(r.get(1), r.get(2))),
        None => (1, "0".repeat(64)),
    };
    let text = serde_json::to_string(&entry).unwrap_or_default();
    let sig = hex::encode(&key.sign(text.as_bytes()).to_bytes());
    client
        .execute(
            &format!("INSERT INTO {schema}.decisions (seq, entry, sig) VALUES ($1, $2, $3)"),
            &[&entry.seq, &text, &sig],
        )
        .await?;
    Ok(())
}

/// Checks every entry's signature by `key`, sequence and link; returns how many entries.
pub fn verify(rows: &[(i64, String, String)], key: &VerifyingKey) -> Result<usize, String> {
    let mut prev = "0".repeat(64);
    for (i, (seq, text, sig)) in rows.iter().enumerate() {
        let entry: Entry =
            serde_json::from_str(text).map_err(|e| format!("entry {seq}: not an entry: {e}"))?;
        if entry.seq != *seq || *seq != i as i64 + 1 {
            return Err(format!("entry {seq}: out of sequence"));
        }
        if entry.prev != prev {
            return Err(format!("entry {seq}: does not chain to entry {}", seq - 1));
        }
        let sig_ok = hex::decode_array::<64>(sig)
            .map(|s| {
                key.verify(text.as_bytes(), &Signature::from_bytes(&s))
                    .is_ok()
            })
            .unwrap_or(false);
        if !sig_ok {
            return Err(format!("entry {seq}: bad signature"));
        }
        prev = link(text, sig);
    }
    Ok(rows.len())
}

/// Reads the whole log from the store.
pub async fn read(
    client: &Client,
    schema: &str,
) -> Result<Vec<(i64, String, String)>, tokio_postgres::Error> {
    Ok(client
        .query(
            &format!("SELECT seq, entry, sig FROM {schema}.decisions ORDER BY seq"),
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
