//! Session-level advisory locks outlive ROLLBACK and COMMIT: a function can take one
//! (`pg_advisory_lock`) and leave other sessions waiting on pgward's connection long after
//! the transaction that took it is gone. After every transaction pgward ends, and at
//! session end, the session looks for them in `pg_locks`, releases them
//! (`pg_advisory_unlock_all()`) and says so.

use super::{probe, Session};

impl Session {
    /// Releases the session-level advisory locks the backend still holds, saying so.
    /// Call only between transactions: inside one, transaction-level locks look the same.
    pub(super) async fn release_advisory_locks(&mut self) {
        if self.conn.client.is_closed() {
            return;
        }
        let held = match probe::advisory_locks(&self.conn.client).await {
            Ok(n) => n,
            Err(e) => {
                self.say_error(&format!(
                    "GUARD: cannot check pgward's backend for session-level advisory locks ({}); \
                     end the session (\\q) to release any",
                    crate::render::error::one_line(&e)
                ));
                return;
            }
        };
        self.release_held_advisory_locks(held).await;
    }

    /// Releases the `held` session-level advisory locks a count taken between
    /// transactions found (none: nothing to do), saying so.
    pub(super) async fn release_held_advisory_locks(&mut self, held: u64) {
        if held == 0 {
            return;
        }
        let released = self
            .conn
            .client
            .batch_execute("SELECT pg_catalog.pg_advisory_unlock_all()")
            .await;
        match released {
            Ok(()) => self.say_warn(&format!(
                "GUARD: a statement took {held} session-level advisory lock{}, which outlive{} the transaction; \
                 pgward released {} (pg_advisory_unlock_all)",
                if held == 1 { "" } else { "s" },
                if held == 1 { "s" } else { "" },
                if held == 1 { "it" } else { "them" },
            )),
            Err(e) => self.say_error(&format!(
                "GUARD: pgward's backend holds {held} session-level advisory lock(s) and could not release them ({}); \
                 end the session (\\q) to release them",
                crate::render::error::one_line(&e)
            )),
        }
    }
}
