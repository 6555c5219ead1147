//! COMMIT's approval, where the environment has `require_approval` and an `[approval]`
//! service: the request goes to the service with the author's credential, the shell
//! waits (bounded, Ctrl-C returns to the open transaction) with a live line showing that
//! row locks are held, then checks the token (signature by the configured key over this
//! request id, digest and log head; expiry; reviewer ≠ author; allow-list) and has the
//! reviewer type the approval code, masked, at the terminal (never standard input; three
//! tries). Every failure refuses the COMMIT in one line and leaves the transaction open;
//! the caller re-checks counts and digest just before COMMIT.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::approval::protocol::{ApprovalRequest, Status, TableCount, VERSION};
use crate::approval::verify::{verify, Verified};
use crate::approval::{code, hex, time, ApprovalClient, ApprovalError};
use crate::config::ApprovalSettings;

use super::{OpenTx, Session};

/// How often the shell asks the service while it waits.
const POLL: Duration = Duration::from_millis(500);

impl Session {
    /// Asks the approval service to approve `digest` of `tx` (transaction `txid`), whose
    /// summary the author saw as `summary`. `Ok` only for a verified approval whose code
    /// was typed (or that needs none).
    pub(super) async fn approve(
        &mut self,
        approval: &ApprovalSettings,
        tx: &OpenTx,
        txid: &str,
        digest: &str,
        summary: &str,
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
            role: tx.role.clone(),
            author: self.settings.author.clone(),
            ticket: self.settings.ticket.clone().unwrap_or_default(),
            statements: tx.statements.clone(),
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
            preview_excerpt: summary.chars().take(16_000).collect(),
            change_digest: digest.to_string(),
            log_head: self.log_head(),
            txid: txid.to_string(),
            expires_at: time::format(time::now_unix() + wait.as_secs().max(1) as i64),
        };
        self.log_approval_request(&request);
        let created = client.submit(&request).await?;
        self.say_err(&format!(
            "Approval requested from {}: the reviewer opens\n  {}\n",
            client.base(),
            crate::render::escape::one_line(&created.review_url)
        ));
        let (reviewer, approved_at, token) = self.wait_for(&client, &request, wait).await?;
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
        Ok(verified)
    }

    /// Polls until a decision, the deadline or Ctrl-C.
    async fn wait_for(
        &mut self,
        client: &ApprovalClient,
        request: &ApprovalRequest,
        wait: Duration,
    ) -> Result<(String, String, String), ApprovalError> {
        let start = Instant::now();
        let live = std::io::stderr().is_terminal();
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
            let line = format!(
                "waiting for approval: {} elapsed · row locks held{} · {} left · Ctrl-C stops waiting",
                clock(elapsed),
                if locked > 0 {
                    format!(" on {locked} row{}", if locked == 1 { "" } else { "s" })
                } else {
                    String::new()
                },
                clock(wait - elapsed)
            );
            if live {
                let _ = write!(self.io.err, "\r{line}\x1b[K");
                let _ = self.io.err.flush();
            } else if !announced {
                announced = true;
                self.say_err(&format!("{line}\n"));
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL.min(wait - elapsed)) => {}
                _ = &mut ctrl_c => break Err(ApprovalError::Interrupted),
            }
        };
        if live {
            let _ = write!(self.io.err, "\r\x1b[K");
            let _ = self.io.err.flush();
        }
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
    // HOOK(session-log): return the log's head once the session log (issue 7) is wired in.
    fn log_head(&self) -> String {
        "0".repeat(64)
    }

    /// Records the request in the session log before it is sent.
    // HOOK(session-log): append an `approval_request` record.
    fn log_approval_request(&mut self, _request: &ApprovalRequest) {}

    /// Records the verified approval in the session log before COMMIT.
    // HOOK(session-log): append an `approval` record (reviewer, token, whether a code was typed).
    fn log_approval(&mut self, _request: &ApprovalRequest, _verified: &Verified, _code: bool) {}
}

fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}
