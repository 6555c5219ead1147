//! COMMIT's approval, where the environment has `require_approval` and an `[approval]`
//! service: the request goes to the service with the author's credential, the shell
//! waits (bounded, Ctrl-C returns to the open transaction) with a live line showing that
//! row locks are held, then checks the token (signature by the configured key over this
//! request id, digest and log head; expiry; reviewer ≠ author; allow-list) and has the
//! reviewer type the approval code, masked, at the terminal (never standard input; three
//! tries). Every failure refuses the COMMIT in one line and leaves the transaction open;
//! the caller re-checks counts and digest just before COMMIT. A statement that runs
//! alone (`standalone.rs`) is approved the same way, as a [`Subject`] of its own.

use std::time::{Duration, Instant};

use crate::approval::protocol::{ApprovalRequest, Status, TableCount, VERSION};
use crate::approval::verify::{verify, Verified};
use crate::approval::{code, hex, time, ApprovalClient, ApprovalError};
use crate::config::ApprovalSettings;

use super::{OpenTx, Outcome, Session, TxState};

/// How often the shell asks the service while it waits.
const POLL: Duration = Duration::from_millis(500);

/// What the reviewer is asked to approve: a transaction's change set, or one statement
/// that runs alone.
pub(super) struct Subject<'a> {
    /// The role the statements run as.
    pub role: &'a str,
    /// The statements, as typed.
    pub statements: &'a [String],
    /// Rows changed per table (none for a statement that runs alone).
    pub counts: Vec<TableCount>,
    /// The transaction id, or what stands for it.
    pub txid: &'a str,
    /// The digest the token must bind.
    pub digest: &'a str,
    /// The summary the author saw.
    pub summary: &'a str,
    /// Whether an open transaction holds locks while the shell waits (a statement that
    /// runs alone has not started, and holds none).
    pub holds_locks: bool,
}

impl Session {
    /// COMMIT's authorisation: a second person's approval where the environment has an
    /// approval service (the approved digest comes back), else the author's own
    /// confirmation (`None`). The connection is checked afterwards either way.
    pub(super) async fn authorize_commit(
        &mut self,
        tx: &OpenTx,
        xid: &str,
        summary: &str,
    ) -> Result<Option<String>, Outcome> {
        let approval = match &self.settings.env.approval {
            Some(a) if self.settings.env.require_approval => a.clone(),
            _ => return self.confirm_commit().await.map(|()| None),
        };
        let digest = self.change_set_digest(tx, xid);
        let subject = Subject {
            role: &tx.role,
            statements: &tx.statements,
            counts: self
                .changes
                .totals()
                .into_iter()
                .map(|t| TableCount {
                    table: t.table,
                    inserted: t.inserted,
                    updated: t.updated,
                    deleted: t.deleted,
                })
                .collect(),
            txid: xid,
            digest: &digest,
            summary,
            holds_locks: true,
        };
        match self.approve(&approval, subject).await {
            // Approved: the next step (`still_summarised`) fires deferred work again and
            // probes in the same statement, before anything is claimed.
            Ok(_) => Ok(Some(digest)),
            Err(e) => {
                if let Some(outcome) = self.check_open().await {
                    return Err(outcome);
                }
                Err(self.not_approved(&e))
            }
        }
    }

    /// Just before COMMIT: the digest recomputed over the counts read from the server
    /// again must be the approved one, or the approval is void. The counts are those
    /// `still_summarised` read right before, with the probe, after the approval; nothing
    /// runs in the transaction between the two.
    pub(super) async fn still_approved(
        &mut self,
        xid: &str,
        approved: &str,
    ) -> Result<(), Outcome> {
        let TxState::Open(tx) = &self.state else {
            return Err(Outcome::Refused);
        };
        let tx = tx.clone();
        let now = self.change_set_digest(&tx, xid);
        if now == approved {
            return Ok(());
        }
        Err(self.not_approved(&ApprovalError::Changed(format!(
            "digest now {}, approved {}",
            &now[..12.min(now.len())],
            &approved[..12.min(approved.len())]
        ))))
    }

    /// An approval that did not happen: one line, and the transaction stays open.
    fn not_approved(&mut self, e: &ApprovalError) -> Outcome {
        self.say_error(&format!(
            "COMMIT refused: {e}; the transaction is still open, nothing was committed"
        ));
        self.say_hint("ROLLBACK discards it; COMMIT asks for approval again");
        Outcome::Refused
    }

    /// Asks the approval service to approve `subject`. `Ok` only for a verified approval
    /// whose code was typed (or that needs none).
    pub(super) async fn approve(
        &mut self,
        approval: &ApprovalSettings,
        subject: Subject<'_>,
    ) -> Result<Verified, ApprovalError> {
        if approval.require_code && !self.confirm.can_ask_secret() {
            return Err(ApprovalError::NoTerminal);
        }
        let client = ApprovalClient::new(
            &approval.url,
            approval.credential.clone(),
            approval.ca_file.as_deref(),
        )
        .map_err(ApprovalError::Credential)?;
        let request_id = hex::random(16).map_err(|e| {
            ApprovalError::Credential(format!("no randomness for a request id: {e}"))
        })?;
        let wait = approval.wait;
        let request = ApprovalRequest {
            version: VERSION,
            request_id,
            environment: self.settings.env.name.clone(),
            server: self.server.clone(),
            database: self.settings.conn.dbname.clone(),
            role: subject.role.to_string(),
            author: self.settings.author.clone(),
            ticket: self.settings.ticket.clone().unwrap_or_default(),
            statements: subject.statements.to_vec(),
            counts: subject.counts,
            preview_excerpt: subject.summary.chars().take(16_000).collect(),
            change_digest: subject.digest.to_string(),
            log_head: self.log_head(),
            txid: subject.txid.to_string(),
            expires_at: time::format(time::now_unix() + wait.as_secs().max(1) as i64),
        };
        self.log_approval_request(&request);
        let created = client.submit(&request).await?;
        self.say_err(&format!(
            "Approval requested from {}: the reviewer opens\n  {}\n",
            client.base(),
            crate::render::escape::one_line(&created.review_url)
        ));
        let (reviewer, approved_at, token) = self
            .wait_for(&client, &request, wait, subject.holds_locks)
            .await?;
        let verified = verify(
            &request,
            &approval.public_key,
            &approval.reviewers,
            &self.settings.author,
            time::now_unix(),
            &Verified {
                reviewer,
                approved_at,
                token,
            },
        )?;
        if approval.require_code {
            self.ask_code(&verified)?;
        } else {
            self.say_note(&format!(
                "approved by {}; this environment sets require_code = false, so the verified token suffices without a typed code",
                verified.reviewer
            ));
        }
        self.log_approval(&request, &verified, approval.require_code);
        self.ledger_approved(&request.request_id, &verified.reviewer);
        Ok(verified)
    }

    /// Polls until a decision, the deadline or Ctrl-C.
    async fn wait_for(
        &mut self,
        client: &ApprovalClient,
        request: &ApprovalRequest,
        wait: Duration,
        holds_locks: bool,
    ) -> Result<(String, String, String), ApprovalError> {
        let start = Instant::now();
        let live = self.io.is_live();
        let locked: i64 = request.counts.iter().map(|c| c.updated + c.deleted).sum();
        let mut announced = false;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let result = loop {
            match client.status(&request.request_id).await {
                Ok(Status::Pending) => {}
                Ok(Status::Approved {
                    reviewer,
                    approved_at,
                    token,
                }) => break Ok((reviewer, approved_at, token)),
                Ok(Status::Rejected { reviewer, reason }) => {
                    break Err(ApprovalError::Rejected {
                        reviewer: crate::render::escape::one_line(&reviewer),
                        reason: crate::render::escape::one_line(&reason),
                    })
                }
                Ok(Status::Expired) => break Err(ApprovalError::Expired),
                Err(e) => break Err(e),
            }
            let elapsed = start.elapsed();
            if elapsed >= wait {
                break Err(ApprovalError::TimedOut(clock(wait)));
            }
            let locks = match (holds_locks, locked) {
                (false, _) => "nothing runs yet, no locks held".to_string(),
                (true, 0) => "row locks held".to_string(),
                (true, n) => format!("row locks held on {n} row{}", if n == 1 { "" } else { "s" }),
            };
            let line = format!(
                "waiting for approval: {} elapsed · {locks} · {} left · Ctrl-C stops waiting",
                clock(elapsed),
                clock(wait - elapsed)
            );
            if live || !announced {
                announced = true;
                self.io.live_line(&line);
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL.min(wait - elapsed)) => {}
                _ = &mut ctrl_c => break Err(ApprovalError::Interrupted),
            }
        };
        self.io.erase_live_line();
        result
    }

    /// The reviewer types the code, masked, at the terminal: three tries.
    fn ask_code(&mut self, verified: &Verified) -> Result<(), ApprovalError> {
        let expected = code::derive(&verified.token).ok_or(ApprovalError::BadToken)?;
        self.say_err(&format!(
            "Approved by {}. {}, type the approval code shown to you.\n",
            verified.reviewer, verified.reviewer
        ));
        for attempt in 1..=3 {
            let typed = self
                .confirm
                .ask_secret(&format!("Approval code ({attempt} of 3): "))
                .ok_or(ApprovalError::NoTerminal)?;
            if code::matches(&expected, &typed) {
                return Ok(());
            }
            if attempt < 3 {
                self.say_error("wrong approval code");
            }
        }
        Err(ApprovalError::WrongCode)
    }

    /// The session log's head, which the token binds.
    fn log_head(&self) -> String {
        self.log
            .head()
            .map(|h| crate::audit::hex::encode(&h.hash))
            .unwrap_or_else(|| "0".repeat(64))
    }

    /// Records the request in the session log before it is sent.
    fn log_approval_request(&mut self, request: &ApprovalRequest) {
        self.log_record(crate::audit::Body::ApprovalRequest {
            request_id: request.request_id.clone(),
            change_digest: request.change_digest.clone(),
            log_head: request.log_head.clone(),
        });
    }

    /// Records the verified approval in the session log before COMMIT.
    /// `code_typed` false says so in the record: the environment sets `require_code =
    /// false`, and the verified token alone sufficed.
    fn log_approval(&mut self, request: &ApprovalRequest, verified: &Verified, code_typed: bool) {
        self.log_record(crate::audit::Body::Approval {
            request_id: request.request_id.clone(),
            reviewer: verified.reviewer.clone(),
            approved_at: verified.approved_at.clone(),
            expires_at: request.expires_at.clone(),
            token: verified.token.clone(),
            code_typed: Some(code_typed),
        });
    }
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}
