//! The session's replay hook: a session started by `pgward replay` knows the change it
//! replays ([`crate::replay::Origin`]); at COMMIT, before anyone is asked, it shows the
//! origin's counts beside this transaction's and flags every difference, and what the
//! reviewer is shown starts with what is replayed from where.

use crate::replay::Origin;

use super::Session;

impl Session {
    /// This session replays `origin`.
    pub fn set_replay(&mut self, origin: Origin) {
        self.replaying = Some(origin);
    }

    /// At COMMIT of a replay: the counts there and here, shown; the text for the
    /// reviewer. Empty when the session replays nothing.
    pub(super) fn replay_check(&mut self) -> String {
        let Some(origin) = self.replaying.clone() else {
            return String::new();
        };
        let (table, differs) = origin.compare(&self.changes.totals());
        let verdict = if differs {
            "the counts DIFFER from the original's"
        } else {
            "the counts are the original's"
        };
        let head = format!("REPLAY of {}: {verdict}", origin.described());
        if differs {
            self.say_warn(&format!("{head}:\n{}", table.trim_end()));
        } else {
            self.say_note(&format!("{head}:\n{}", table.trim_end()));
        }
        format!("{head}:\n{table}")
    }
}
