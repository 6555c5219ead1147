//! Verifying a session log: every line parses as a version-1 record, `seq` counts up
//! from 1, every `prev` is the SHA-256 of the line before, every signature verifies
//! under the operator key of the `session_start`, every embedded approval token verifies
//! under the approver's key and binds the request id, change digest and log head of the
//! `approval_request` it follows, and the log ends with `session_end` with every
//! `commit_intent` followed by its outcome.
//!
//! The result names the *first* record that breaks. The per-line work (parsing, the
//! line's hash, its signature) is independent from line to line, so it runs in chunks
//! on every core: each chunk's signatures are checked straight from the lines (the
//! signing context, the line's bytes up to its `sig` member, the closing brace: no
//! copy) in batches under the one operator key ([`super::batch`]), a failing batch one
//! by one to find its first bad record. One
//! pass in order then checks what links records (seq, prev, the start, commit intents,
//! approvals). A change inside record N breaks N's signature, and N+1's `prev` only
//! after it, so the first failure is always the changed record itself.

use ed25519_dalek::{Signature, VerifyingKey};

use super::batch::Signed;
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
    /// Approval tokens that verified.
    pub approvals: usize,
    /// Lines of approvals whose token could not be checked: no approver key was given.
    pub unchecked_approvals: Vec<usize>,
}

impl Verification {
    /// Intact and complete: the chain holds, every approval token was checked, the
    /// session ended, every COMMIT has its outcome.
    pub fn intact(&self) -> bool {
        self.broken.is_none()
            && self.ending == Ending::Ended
            && self.open_intents.is_empty()
            && self.unchecked_approvals.is_empty()
    }
}

/// Verifies `bytes`, a whole log file. With `pinned`, the log must be signed by that key.
/// Approval tokens are not checked (they count as unchecked): see [`verify_with`].
pub fn verify(bytes: &[u8], pinned: Option<&VerifyingKey>) -> Verification {
    verify_with(bytes, pinned, None)
}

/// [`verify`], checking approval tokens under `approver`, the approval service's key.
pub fn verify_with(
    bytes: &[u8],
    pinned: Option<&VerifyingKey>,
    approver: Option<&VerifyingKey>,
) -> Verification {
    let mut v = Verification {
        records: Vec::new(),
        operator_key: None,
        broken: None,
        ending: Ending::Ended,
        open_intents: Vec::new(),
        head: Head::default(),
        approvals: 0,
        unchecked_approvals: Vec::new(),
    };
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let partial = match lines.pop() {
        Some(last) if !last.is_empty() => Some(last),
        _ => None,
    };
    let total = lines.len();
    // The operator key comes from the first record; every signature is checked under it.
    let key = match lines.first().map(|l| operator(l, pinned)) {
        Some(Ok(k)) => Some(k),
        Some(Err(reason)) => {
            v.broken = Some(Break { line: 1, reason });
            return v;
        }
        None => None,
    };
    v.operator_key = key.map(|k| super::hex::encode(k.as_bytes()));
    let checked = check_lines(&lines, key.as_ref());
    let mut links = Links::default();
    let mut structural: Option<Break> = None;
    let mut bad_sig: Option<usize> = None;
    let mut prev_hash = Head::default();
    'chunks: for chunk in checked {
        if bad_sig.is_none() {
            bad_sig = chunk.bad_sig;
        }
        for (offset, item) in chunk.lines.into_iter().enumerate() {
            let n = chunk.start + offset + 1;
            let linked = item.and_then(|(rec, hash)| {
                links.check(&rec, n, &prev_hash, approver, &mut v)?;
                Ok((rec, hash))
            });
            match linked {
                Err(reason) => {
                    structural = Some(Break { line: n, reason });
                    break 'chunks;
                }
                Ok((rec, hash)) => {
                    prev_hash = Head {
                        seq: prev_hash.seq + 1,
                        hash,
                    };
                    v.records.push(rec);
                }
            }
        }
    }
    v.head = prev_hash;
    v.broken = match (bad_sig, structural) {
        (Some(s), Some(b)) if s < b.line => Some(sig_break(s)),
        (Some(s), None) => Some(sig_break(s)),
        (_, b) => b,
    };
    if let Some(b) = &v.broken {
        v.records.truncate(b.line - 1);
        v.open_intents.retain(|i| i.line < b.line);
        v.unchecked_approvals.retain(|l| *l < b.line);
        v.head = Head {
            seq: (b.line - 1) as u64,
            hash: match b.line {
                1 => super::chain::GENESIS,
                l => super::chain::line_hash(lines[l - 2]),
            },
        };
        return v;
    }
    v.ending = if partial.is_some() {
        Ending::PartialLine { line: total + 1 }
    } else if !links.ended {
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

/// The operator key the first line names (and `pinned`, if given, must be).
fn operator(line: &[u8], pinned: Option<&VerifyingKey>) -> Result<VerifyingKey, String> {
    let (unsigned, _) = record::split_line(line).map_err(|e| e.to_string())?;
    let rec: Record = serde_json::from_slice(&unsigned)
        .map_err(|e| format!("not a valid version-1 record: {e}"))?;
    let Body::SessionStart { operator_key, .. } = &rec.body else {
        return Err("the first record is not session_start".into());
    };
    let k = super::key::public_from_hex(operator_key)
        .ok_or_else(|| "session_start has no valid operator_key".to_string())?;
    match pinned.filter(|p| **p != k) {
        Some(p) => Err(format!(
            "signed by operator key {operator_key}, not the expected {}",
            super::hex::encode(p.as_bytes())
        )),
        None => Ok(k),
    }
}

fn sig_break(line: usize) -> Break {
    Break {
        line,
        reason: "the signature does not verify under the operator key of session_start (the record was changed, or signed by another key)".into(),
    }
}

/// One line, parsed and hashed, or why it is not a record.
type Line = Result<(Record, [u8; 32]), String>;

/// What one chunk of lines came to.
struct Chunk {
    /// Index of its first line.
    start: usize,
    /// Its lines, up to the first that is not a record.
    lines: Vec<Line>,
    /// The first line (1-based, in the log) whose signature fails.
    bad_sig: Option<usize>,
}

/// Lines per chunk: large enough to amortise a batch and a thread, small enough to spread
/// the work over the cores; each chunk's signatures are one batch. Measured with
/// `cargo bench --bench log` (docs/benchmarks.md): the one-key batch costs less per
/// signature as it grows, 4096 about 10% less than 256; finding the culprit in a batch
/// that fails is a one-by-one check, paid only by a broken log.
const CHUNK: usize = 4096;
/// Signatures per batch.
const BATCH: usize = CHUNK;

/// Parses, hashes and signature-checks `lines` in chunks on every core; chunks come back
/// in order.
fn check_lines(lines: &[&[u8]], key: Option<&VerifyingKey>) -> Vec<Chunk> {
    let chunks: Vec<(usize, &[&[u8]])> = lines
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, c)| (i * CHUNK, c))
        .collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(chunks.len())
        .max(1);
    if workers == 1 {
        return chunks
            .iter()
            .map(|(s, c)| check_chunk(*s, c, key))
            .collect();
    }
    // Each worker takes the next chunk not yet taken, so a core slowed by other work
    // on the machine takes fewer.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Option<Chunk>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (chunks, next) = (&chunks, &next);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((s, c)) = chunks.get(i) else {
                            return done;
                        };
                        done.push(check_chunk(*s, c, key));
                    }
                })
            })
            .collect();
        let mut all: Vec<Option<Chunk>> = (0..chunks.len()).map(|_| None).collect();
        for h in handles {
            // A worker that panicked leaves its chunks empty: they fail below.
            for c in h.join().unwrap_or_default() {
                let i = c.start / CHUNK;
                all[i] = Some(c);
            }
        }
        all
    });
    out.iter_mut()
        .enumerate()
        .map(|(i, c)| {
            c.take().unwrap_or(Chunk {
                start: i * CHUNK,
                lines: vec![Err("this part of the log could not be checked".into())],
                bad_sig: Some(i * CHUNK + 1),
            })
        })
        .collect()
}

/// One chunk: each line's record and hash, and the first bad signature.
fn check_chunk(start: usize, lines: &[&[u8]], key: Option<&VerifyingKey>) -> Chunk {
    // Each signed message is the context, the line up to its `sig` member, and the
    // closing `}`: checked in those pieces, straight from the line.
    let mut signed: Vec<Signed<'_>> = Vec::with_capacity(lines.len());
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    // The record without `sig`, closed, for the parser: one buffer for the chunk.
    let mut unsigned: Vec<u8> = Vec::new();
    for line in lines {
        let parsed = (|| {
            if line.is_empty() {
                return Err("empty line".to_string());
            }
            let (body, sig) = record::split_sig(line).map_err(|e| e.to_string())?;
            unsigned.clear();
            unsigned.extend_from_slice(body);
            unsigned.push(b'}');
            let rec: Record = serde_json::from_slice(&unsigned)
                .map_err(|e| format!("not a valid version-1 record: {e}"))?;
            signed.push(Signed {
                message: [record::SIGNING_CONTEXT, body, b"}"],
                sig: Signature::from_bytes(&sig),
            });
            Ok((rec, super::chain::line_hash(line)))
        })();
        let stop = parsed.is_err();
        out.push(parsed);
        if stop {
            break;
        }
    }
    let bad_sig = key.and_then(|k| {
        signed.chunks(BATCH).enumerate().find_map(|(i, batch)| {
            if super::batch::verify_same_key(k, batch) {
                return None;
            }
            // Fail closed: a batch that fails with no single culprit fails at its start.
            let culprit = batch
                .iter()
                .position(|s| k.verify_strict(&s.message(), &s.sig).is_err())
                .unwrap_or(0);
            Some(start + i * BATCH + culprit + 1)
        })
    });
    Chunk {
        start,
        lines: out,
        bad_sig,
    }
}

/// What links records to each other, checked in order.
#[derive(Default)]
struct Links {
    /// Whether `session_end` was seen.
    ended: bool,
    /// The last `approval_request`: request id, change digest, log head.
    request: Option<(String, String, String)>,
    /// The change digest the last approval approved, until a COMMIT intent uses it.
    approved: Option<String>,
}

impl Links {
    /// Checks record `rec`, line `n`, whose predecessor's head is `head`.
    fn check(
        &mut self,
        rec: &Record,
        n: usize,
        head: &Head,
        approver: Option<&VerifyingKey>,
        v: &mut Verification,
    ) -> Result<(), String> {
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
        if self.ended {
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
        if let Some(b) = track_commit(rec, n, &mut v.open_intents) {
            return Err(b.reason);
        }
        match &rec.body {
            Body::ApprovalRequest {
                request_id,
                change_digest,
                log_head,
            } => {
                if *log_head != rec.prev {
                    return Err("approval_request names a log head that is not the log's head before it (the approval would witness another history)".into());
                }
                self.request = Some((request_id.clone(), change_digest.clone(), log_head.clone()));
                self.approved = None;
            }
            Body::Approval {
                request_id,
                reviewer,
                approved_at,
                expires_at,
                token,
                ..
            } => {
                let Some((id, digest, log_head)) =
                    self.request.take().filter(|(id, ..)| id == request_id)
                else {
                    return Err(format!(
                        "an approval for request {request_id} that does not follow its approval_request"
                    ));
                };
                let bound = crate::approval::token::Approval {
                    request_id: &id,
                    change_digest: &digest,
                    log_head: &log_head,
                    reviewer,
                    approved_at,
                    expires_at,
                };
                match approver {
                    Some(k) if bound.verify(k, token) => v.approvals += 1,
                    Some(k) => {
                        return Err(format!(
                            "the approval token does not verify under the approver key {} for request {id}, change digest {digest} and log head {log_head} (the token, the approval or its request was changed, or another service signed it)",
                            super::hex::encode(k.as_bytes())
                        ))
                    }
                    None => v.unchecked_approvals.push(n),
                }
                self.approved = Some(digest);
            }
            Body::CommitIntent { change_digest, .. } => {
                if let Some(approved) = self.approved.take() {
                    if approved != *change_digest {
                        return Err(format!(
                            "commit_intent's change digest {change_digest} is not the approved {approved}"
                        ));
                    }
                }
            }
            Body::Rollback { .. } => self.approved = None,
            _ => {}
        }
        self.ended = matches!(rec.body, Body::SessionEnd { .. });
        Ok(())
    }
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
