//! Verifying a session log: every line parses as a version-1 record, `seq` counts up
//! from 1, every `prev` is the SHA-256 of the line before, every signature verifies
//! under the operator key of the `session_start`, and the log ends with `session_end`
//! with every `commit_intent` followed by its outcome.
//!
//! The result names the *first* record that breaks. One pass checks structure and the
//! chain in order; signatures are checked in batches on every core (the cost that
//! dominates), and a failing batch is re-checked one by one to find its first bad
//! record. A change inside record N breaks N's signature, and N+1's `prev` only after
//! it, so the first failure is always the changed record itself.

use ed25519_dalek::{Signature, VerifyingKey};

use super::chain::Head;
use super::record::{self, Body, Record, VERSION};

/// What is wrong with the first broken record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// 1-based line number (equal to the record's `seq` in an intact log).
    pub line: usize,
    /// Why, in one line.
    pub reason: String,
}

/// A `commit_intent` whose outcome the log does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIntent {
    /// Its line.
    pub line: usize,
    /// The transaction id, for `txid_status`.
    pub txid: String,
    /// Whether a `commit_unknown` followed it (COMMIT was sent, no answer came).
    pub unknown: bool,
}

/// How the log ends, when its chain is intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// With `session_end`.
    Ended,
    /// The last line has no newline: the writer was interrupted mid-line.
    PartialLine {
        /// The incomplete line.
        line: usize,
    },
    /// The last record is not `session_end`: the session was killed, or records were cut off.
    NoSessionEnd {
        /// The last record's line.
        last: usize,
    },
}

/// The outcome of verifying one log.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The records up to the first break (all of them when intact).
    pub records: Vec<Record>,
    /// The operator key (hex) named by `session_start`.
    pub operator_key: Option<String>,
    /// The first broken record.
    pub broken: Option<Break>,
    /// How the log ends (meaningful when not broken).
    pub ending: Ending,
    /// Intents without an outcome.
    pub open_intents: Vec<OpenIntent>,
    /// The head of the intact prefix.
    pub head: Head,
}

impl Verification {
    /// Intact and complete: the chain holds, the session ended, every COMMIT has its outcome.
    pub fn intact(&self) -> bool {
        self.broken.is_none() && self.ending == Ending::Ended && self.open_intents.is_empty()
    }
}

/// Verifies `bytes`, a whole log file. With `pinned`, the log must be signed by that key.
pub fn verify(bytes: &[u8], pinned: Option<&VerifyingKey>) -> Verification {
    let mut v = Verification {
        records: Vec::new(),
        operator_key: None,
        broken: None,
        ending: Ending::Ended,
        open_intents: Vec::new(),
        head: Head::default(),
    };
    let mut key: Option<VerifyingKey> = None;
    let mut signed: Vec<Signed> = Vec::new();
    let mut ended = false;
    let mut structural: Option<Break> = None;
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let partial = match lines.pop() {
        Some(last) if !last.is_empty() => Some(last),
        _ => None,
    };
    let total = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        match check_line(line, n, &v.head, key.as_ref(), ended) {
            Err(reason) => {
                structural = Some(Break { line: n, reason });
                break;
            }
            Ok((rec, unsigned, sig)) => {
                if n == 1 {
                    let Body::SessionStart { operator_key, .. } = &rec.body else {
                        unreachable_start(&mut structural);
                        break;
                    };
                    match super::key::public_from_hex(operator_key) {
                        Some(k) => {
                            if let Some(p) = pinned.filter(|p| **p != k) {
                                structural = Some(Break {
                                    line: 1,
                                    reason: format!(
                                        "signed by operator key {operator_key}, not the expected {}",
                                        super::hex::encode(p.as_bytes())
                                    ),
                                });
                                break;
                            }
                            key = Some(k);
                            v.operator_key = Some(operator_key.clone());
                        }
                        None => {
                            structural = Some(Break {
                                line: 1,
                                reason: "session_start has no valid operator_key".into(),
                            });
                            break;
                        }
                    }
                }
                if let Some(b) = track_commit(&rec, n, &mut v.open_intents) {
                    structural = Some(b);
                    break;
                }
                ended = matches!(rec.body, Body::SessionEnd { .. });
                signed.push((record::signing_message(&unsigned), sig));
                v.head = v.head.next(line);
                v.records.push(rec);
            }
        }
    }
    let bad_sig = key.and_then(|k| first_bad_signature(&k, &signed));
    v.broken = match (bad_sig, structural) {
        (Some(s), Some(b)) if s < b.line => Some(sig_break(s)),
        (Some(s), None) => Some(sig_break(s)),
        (_, b) => b,
    };
    if let Some(b) = &v.broken {
        v.records.truncate(b.line - 1);
        return v;
    }
    v.ending = if partial.is_some() {
        Ending::PartialLine { line: total + 1 }
    } else if !ended {
        Ending::NoSessionEnd { last: total }
    } else {
        Ending::Ended
    };
    if total == 0 && partial.is_none() {
        v.broken = Some(Break {
            line: 1,
            reason: "the log is empty".into(),
        });
    }
    v
}

fn unreachable_start(structural: &mut Option<Break>) {
    *structural = Some(Break {
        line: 1,
        reason: "the first record is not session_start".into(),
    });
}

fn sig_break(line: usize) -> Break {
    Break {
        line,
        reason: "the signature does not verify under the operator key of session_start (the record was changed, or signed by another key)".into(),
    }
}

type Checked = (Record, Vec<u8>, Signature);

/// A signed message and its signature.
type Signed = (Vec<u8>, Signature);

/// Structure and chain of line `n`.
fn check_line(
    line: &[u8],
    n: usize,
    head: &Head,
    key: Option<&VerifyingKey>,
    ended: bool,
) -> Result<Checked, String> {
    if line.is_empty() {
        return Err("empty line".into());
    }
    let (unsigned, sig) = record::split_line(line).map_err(|e| e.to_string())?;
    let rec: Record = serde_json::from_slice(&unsigned)
        .map_err(|e| format!("not a valid version-1 record: {e}"))?;
    if rec.v != VERSION {
        return Err(format!(
            "format version {} (this pgward reads {VERSION})",
            rec.v
        ));
    }
    if rec.seq != n as u64 {
        return Err(format!(
            "seq is {}, expected {n} (a record before it was removed, or records were reordered)",
            rec.seq
        ));
    }
    if rec.prev != head.hex() {
        return Err(format!(
            "prev does not match the SHA-256 of line {} (the line before it was changed, removed or moved)",
            n - 1
        ));
    }
    if ended {
        return Err("a record follows session_end".into());
    }
    let is_start = matches!(rec.body, Body::SessionStart { .. });
    if (n == 1) != is_start {
        return Err(if n == 1 {
            "the first record is not session_start".into()
        } else {
            "a second session_start".into()
        });
    }
    if n > 1 && key.is_none() {
        return Err("no operator key to check signatures with".into());
    }
    Ok((rec, unsigned, Signature::from_bytes(&sig)))
}

/// Pairs commit intents with outcomes; an outcome without its intent breaks the log.
fn track_commit(rec: &Record, n: usize, open: &mut Vec<OpenIntent>) -> Option<Break> {
    // A `commit_unknown` may be followed by the fate pgward learned on a new connection.
    let outcome = |txid: &str, open: &mut Vec<OpenIntent>, unknown: bool| match open
        .iter()
        .position(|i| i.txid == txid && !(unknown && i.unknown))
    {
        Some(p) if unknown => {
            open[p].unknown = true;
            None
        }
        Some(p) => {
            open.remove(p);
            None
        }
        None => Some(Break {
            line: n,
            reason: format!("a COMMIT outcome for transaction {txid} without its commit_intent"),
        }),
    };
    match &rec.body {
        Body::CommitIntent { txid, .. } => {
            open.push(OpenIntent {
                line: n,
                txid: txid.clone(),
                unknown: false,
            });
            None
        }
        Body::Commit { txid, .. } | Body::CommitFailed { txid, .. } => outcome(txid, open, false),
        Body::CommitUnknown { txid, .. } => outcome(txid, open, true),
        _ => None,
    }
}

/// The line (1-based) of the first record whose signature fails.
fn first_bad_signature(key: &VerifyingKey, signed: &[Signed]) -> Option<usize> {
    const BATCH: usize = 256;
    let chunks: Vec<(usize, &[Signed])> = signed
        .chunks(BATCH)
        .enumerate()
        .map(|(i, c)| (i * BATCH, c))
        .collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(chunks.len().max(1));
    let check = |(start, chunk): &(usize, &[Signed])| -> Option<usize> {
        let messages: Vec<&[u8]> = chunk.iter().map(|(m, _)| m.as_slice()).collect();
        let sigs: Vec<Signature> = chunk.iter().map(|(_, s)| *s).collect();
        let keys = vec![*key; chunk.len()];
        if ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok() {
            return None;
        }
        // Fail closed: a batch that fails with no single culprit fails at its start.
        let culprit = chunk
            .iter()
            .position(|(m, s)| key.verify_strict(m, s).is_err())
            .unwrap_or(0);
        Some(start + culprit + 1)
    };
    if workers <= 1 {
        return chunks.iter().find_map(check);
    }
    let per = chunks.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().find_map(check)))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok().flatten())
            .min()
    })
}
