//! The session's hooks into the ledger (`crate::ledger`), around COMMIT:
//!
//! - [`Session::ledger_check`], after the summary and before anyone is asked to
//!   approve or confirm: finds `pgward.ledger` (none: nothing more to do), refuses when
//!   the write role may not append to it or when the transaction itself changed it, and
//!   asks the run-once question. The same change (values included) committed here
//!   before refuses the COMMIT unless `\again REASON` (or `--again REASON`) says why;
//!   the text returned then goes at the top of what the reviewer is shown.
//! - [`Session::ledger_insert`], after the approval and the last digest check, right
//!   before the `commit_intent`: the row, under its own savepoint (so a refusal after it
//!   takes it back and leaves the transaction as the reviewer approved it), then the
//!   log's `ledger` record, whose seq the row names. The insert comes after every count
//!   and digest was taken, so it is neither the user's change nor in the digest.
//! - [`Session::ledger_withdraw`] takes the row back when COMMIT is not sent after all,
//!   and [`Session::ledger_done`] forgets the COMMIT's approval and `\again`.
//!
//! Every server call here runs under a savepoint of pgward's, so a failing ledger
//! statement never aborts the user's transaction.

use crate::ledger::lookup::{self, Previous};
use crate::ledger::{entry, schema, ChangePrint, Entry, LedgerError};
use crate::render::escape::one_line;
use crate::sql::Verdict;

use super::{OpenTx, Outcome, Session};

/// The savepoint that holds the ledger row until COMMIT.
const SAVEPOINT: &str = "pgward_ledger";

/// What the session keeps for the ledger.
#[derive(Debug, Default)]
pub struct LedgerState {
    /// `\again REASON`: for the next COMMIT.
    again_next: Option<String>,
    /// `--again REASON`: for every COMMIT of the session.
    again_always: Option<String>,
    /// The COMMIT under way was approved: request id and reviewer.
    approval: Option<(String, String)>,
    /// The COMMIT under way: the ledger is there, with this print and earlier row.
    pending: Option<Pending>,
}

#[derive(Debug, Clone)]
struct Pending {
    print: ChangePrint,
    repeats: Option<i64>,
    again: Option<String>,
}

impl Session {
    /// `\again REASON` (for the next COMMIT) or `--again REASON` (`every` COMMIT of the
    /// session): the same change may be committed here once more, for this reason.
    pub fn set_again(&mut self, reason: &str, every: bool) {
        let reason = Some(reason.trim().to_string()).filter(|r| !r.is_empty());
        if every {
            self.ledger.again_always = reason;
        } else {
            self.ledger.again_next = reason;
        }
    }

    /// `\c` moved the session to another environment: `\again` and `--again` were said
    /// of the first environment's ledger, so they lapse (true when one did).
    pub(super) fn ledger_switched(&mut self) -> bool {
        let next = self.ledger.again_next.take().is_some();
        let lapsed = self.ledger.again_always.take().is_some() || next;
        self.ledger.approval = None;
        self.ledger.pending = None;
        lapsed
    }

    /// The approval of the COMMIT under way, for its ledger row.
    pub(super) fn ledger_approved(&mut self, request_id: &str, reviewer: &str) {
        self.ledger.approval = Some((request_id.to_string(), reviewer.to_string()));
    }

    /// The run-once check; see the module docs. `Ok(text)` to show the reviewer first
    /// (empty when there is nothing to say); `Err` refuses the COMMIT, the transaction
    /// still open.
    pub(super) async fn ledger_check(&mut self, tx: &OpenTx) -> Result<String, Outcome> {
        self.ledger.pending = None;
        self.ledger.approval = None;
        let client = &self.conn.client;
        let found = find_under_savepoint(client).await;
        let access = match found {
            Ok(Some(access)) => access,
            Ok(None) => {
                // No ledger here: no row and no run-once, but promotion still holds.
                let print = ChangePrint::of(&self.write_statements(tx));
                let again = self.again();
                return self
                    .promotion(&print, again.as_deref())
                    .await
                    .map(|(shown, _)| shown);
            }
            Err(e) => return Err(self.ledger_failed(&e)),
        };
        if !access.writable() {
            let grants = schema::grants(
                self.settings.env.write_role.as_deref(),
                self.settings.env.read_role.as_deref(),
            );
            let refused = self.ledger_refused(&format!(
                "this database has {} but write role {} may not read and append to it",
                schema::TABLE,
                tx.role
            ));
            self.say_hint(&format!("a DBA grants it: {}", one_line(&grants.join(" "))));
            return Err(refused);
        }
        if self
            .changes
            .totals()
            .iter()
            .any(|t| t.table == schema::TABLE)
        {
            return Err(self.ledger_refused(&format!(
                "the transaction itself changed {}, which only pgward's COMMIT appends to",
                schema::TABLE
            )));
        }
        let print = ChangePrint::of(&self.write_statements(tx));
        let client = &self.conn.client;
        let found = match under_savepoint(client, lookup::previous(client, &print)).await {
            Ok(found) => found,
            Err(e) => return Err(self.ledger_failed(&e)),
        };
        let again = self.again();
        let (mut shown, repeats) = self.run_once(&found, again.as_deref())?;
        let (promotion, unpromoted) = self.promotion(&print, again.as_deref()).await?;
        shown.push_str(&promotion);
        self.ledger.pending = Some(Pending {
            print,
            repeats,
            again: (repeats.is_some() || unpromoted).then_some(again).flatten(),
        });
        Ok(shown)
    }

    /// Promotion: where the environment sets `promote_from`, the earlier environment's
    /// ledger must hold the change's fingerprints, or `\again` must say why not. The
    /// text for the reviewer, and whether the change skipped the earlier environment.
    async fn promotion(
        &mut self,
        print: &ChangePrint,
        again: Option<&str>,
    ) -> Result<(String, bool), Outcome> {
        let Some(earlier) = self.settings.env.promote_from.clone() else {
            return Ok((String::new(), false));
        };
        if print.fingerprints.is_empty() {
            return Ok((String::new(), false));
        }
        let settings =
            crate::ledger::command::env_settings(&earlier, self.settings.config_path.as_deref());
        let found = match settings {
            Ok(settings) => lookup::promoted(&settings, print).await,
            Err(e) => Err(e.to_string()),
        };
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                return Err(self.ledger_refused(&format!(
                    "this environment promotes from {earlier}, whose ledger cannot be asked ({e})"
                )))
            }
        };
        if let Some(row) = found {
            self.say_note(&format!(
                "promoted from {}: the same statements were committed there {}",
                one_line(&earlier),
                one_line(&row.described())
            ));
            return Ok((
                format!(
                    "Promoted from {}: committed there {}.\n",
                    one_line(&earlier),
                    one_line(&row.described())
                ),
                false,
            ));
        }
        let said = format!(
            "this change never committed in {}, which this environment promotes from (promote_from)",
            one_line(&earlier)
        );
        match again {
            None => {
                self.say_error(&format!(
                    "COMMIT refused: {said}; the transaction is still open, nothing was committed"
                ));
                self.say_hint(&format!(
                    "run it in {} first, or \\again REASON (--again REASON for a script) says why not; ROLLBACK discards it",
                    one_line(&earlier)
                ));
                Err(Outcome::Refused)
            }
            Some(why) => {
                self.say_warn(&format!(
                    "NOT PROMOTED: {said}; committing it because: {}",
                    one_line(why)
                ));
                Ok((
                    format!(
                        "NOT PROMOTED: {said}. The author commits it because: {}\n",
                        one_line(why)
                    ),
                    true,
                ))
            }
        }
    }

    /// Says what the ledger knows of this change; `Err` when it ran before and no
    /// `\again` reason was given.
    fn run_once(
        &mut self,
        found: &Previous,
        again: Option<&str>,
    ) -> Result<(String, Option<i64>), Outcome> {
        for earlier in found.same_shape.iter().rev().take(1) {
            self.say_note(&format!(
                "a change with the same statement fingerprints (other values) was committed to this database {}",
                one_line(&earlier.described())
            ));
        }
        let Some(last) = found.same.last() else {
            return Ok((String::new(), None));
        };
        let times = found.same.len();
        let said = format!(
            "this exact change was already committed to this database{} {}",
            if times > 1 {
                format!(" {times} times, last")
            } else {
                String::new()
            },
            one_line(&last.described())
        );
        match again {
            None => {
                self.say_error(&format!(
                    "COMMIT refused: {said}; the transaction is still open, nothing was committed"
                ));
                self.say_hint(
                    "\\again REASON (or --again REASON for a script) commits it once more, and says why to the reviewer and in the log; ROLLBACK discards it",
                );
                Err(Outcome::Refused)
            }
            Some(why) => {
                self.say_warn(&format!(
                    "RUN AGAIN: {said}; committing it once more because: {}",
                    one_line(why)
                ));
                Ok((
                    format!(
                        "RUN AGAIN: {said}. The author runs it again because: {}\n",
                        one_line(why)
                    ),
                    Some(last.id),
                ))
            }
        }
    }

    /// Appends the ledger row and the log's `ledger` record; `Ok(true)` when a row was
    /// written (it is held by a savepoint until COMMIT), `Ok(false)` without a ledger.
    pub(super) async fn ledger_insert(&mut self, xid: &str, digest: &str) -> Result<bool, Outcome> {
        let Some(pending) = self.ledger.pending.clone() else {
            return Ok(false);
        };
        let Some(head) = self.log.head() else {
            return Err(self.ledger_refused("the session log cannot record the ledger row"));
        };
        let log_seq = head.seq + 1;
        let (reviewer, request_id) = match &self.ledger.approval {
            Some((id, reviewer)) => (Some(reviewer.clone()), Some(id.clone())),
            None => (None, None),
        };
        let entry = Entry {
            environment: self.settings.env.name.clone(),
            txid: xid.to_string(),
            change_digest: digest.to_string(),
            print: pending.print.clone(),
            ticket: self.settings.ticket.clone(),
            author: self.settings.author.clone(),
            reviewer,
            request_id,
            log_file: self
                .log
                .path()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            log_seq: i64::try_from(log_seq).ok(),
            counts: self.changes.totals(),
            again_reason: pending.again.clone(),
            undo: Some(super::undo::availability(&self.changes).one_line()),
        };
        let client = &self.conn.client;
        let inserted = async {
            client
                .batch_execute(&format!("SAVEPOINT {SAVEPOINT}"))
                .await?;
            entry::insert(client, &entry).await
        }
        .await;
        let id = match inserted {
            Ok(id) => id,
            Err(e) => {
                if e.is_closed() || self.conn.client.is_closed() || super::commit::fatal(&e) {
                    return Err(self.lost(Some(&e)));
                }
                self.ledger_withdraw(true).await;
                let why = crate::render::error::one_line(&e);
                return Err(
                    self.ledger_refused(&format!("the ledger row could not be written ({why})"))
                );
            }
        };
        let logged = self.log_record(crate::audit::Body::Ledger {
            ledger_id: id,
            change_digest: digest.to_string(),
            fingerprints: pending.print.fingerprints.clone(),
            statements_digest: pending.print.exact.clone(),
            repeats: pending.repeats,
            again: pending.again.clone(),
        });
        if !logged || self.log.head().map(|h| h.seq) != Some(log_seq) {
            self.ledger_withdraw(true).await;
            return Err(self.ledger_refused("the session log could not record the ledger row"));
        }
        Ok(true)
    }

    /// Takes the ledger row back (COMMIT is not sent after all): the transaction is
    /// again exactly what was approved.
    pub(super) async fn ledger_withdraw(&mut self, written: bool) {
        if written {
            let _ = self
                .conn
                .client
                .batch_execute(&format!(
                    "ROLLBACK TO SAVEPOINT {SAVEPOINT}; RELEASE SAVEPOINT {SAVEPOINT}"
                ))
                .await;
        }
    }

    /// COMMIT was sent (whatever the answer): its approval and `\again` are used up.
    pub(super) fn ledger_done(&mut self) {
        self.ledger.approval = None;
        self.ledger.again_next = None;
        self.ledger.pending = None;
    }

    /// The `\again` reason in force for this COMMIT.
    fn again(&self) -> Option<String> {
        self.ledger
            .again_next
            .clone()
            .or_else(|| self.ledger.again_always.clone())
    }

    /// The statements of `tx` that wrote: what identifies the change.
    fn write_statements(&self, tx: &OpenTx) -> Vec<String> {
        let options = self.settings.env.classify_options();
        tx.statements
            .iter()
            .filter(|s| {
                super::copy_from::is_recorded_copy(s)
                    || matches!(
                        crate::sql::analyze(s, &options).verdict,
                        Verdict::Write { .. } | Verdict::Ddl
                    )
            })
            .cloned()
            .collect()
    }

    /// A ledger query failed: a lost connection is reported as such (the server rolled
    /// the transaction back); anything else refuses the COMMIT.
    fn ledger_failed(&mut self, e: &LedgerError) -> Outcome {
        if self.conn.client.is_closed() {
            return self.lost(None);
        }
        self.ledger_refused(&e.to_string())
    }

    /// Refuses the COMMIT for a ledger reason: one line, the transaction stays open.
    fn ledger_refused(&mut self, why: &str) -> Outcome {
        self.say_error(&format!(
            "COMMIT refused: {}; the transaction is still open, nothing was committed",
            one_line(why)
        ));
        Outcome::Refused
    }
}

/// Runs a ledger query under a savepoint of its own: a failure is rolled back to it, and
/// the user's transaction goes on unharmed.
/// [`schema::find`] under its own savepoint, as [`under_savepoint`] runs a query, but
/// the savepoint, the query and the release in one simple query (one statement in the
/// server log). On an error the savepoint is rolled back to and released, as there.
async fn find_under_savepoint(
    client: &crate::conn::Client,
) -> Result<Option<schema::Access>, LedgerError> {
    let sql = format!(
        "SAVEPOINT pgward_ledger_lookup; {}; RELEASE SAVEPOINT pgward_ledger_lookup",
        schema::FIND_SQL
    );
    match client.simple_query(&sql).await {
        Ok(messages) => Ok(messages.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => Some(schema::access_of(r)),
            _ => None,
        })),
        Err(e) => {
            client
                .batch_execute(
                    "ROLLBACK TO SAVEPOINT pgward_ledger_lookup; RELEASE SAVEPOINT pgward_ledger_lookup",
                )
                .await
                .map_err(|e| LedgerError::server("cannot release a savepoint", &e))?;
            Err(LedgerError::server("cannot read the catalog", &e))
        }
    }
}

async fn under_savepoint<T>(
    client: &crate::conn::Client,
    query: impl std::future::Future<Output = Result<T, LedgerError>>,
) -> Result<T, LedgerError> {
    client
        .batch_execute("SAVEPOINT pgward_ledger_lookup")
        .await
        .map_err(|e| LedgerError::server("cannot set a savepoint", &e))?;
    let result = query.await;
    let end = match result {
        Ok(_) => "RELEASE SAVEPOINT pgward_ledger_lookup",
        Err(_) => {
            "ROLLBACK TO SAVEPOINT pgward_ledger_lookup; RELEASE SAVEPOINT pgward_ledger_lookup"
        }
    };
    client
        .batch_execute(end)
        .await
        .map_err(|e| LedgerError::server("cannot release a savepoint", &e))?;
    result
}
