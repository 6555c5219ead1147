//! The process id in the BackendKeyData that answered pgward's startup, as the byte bridge
//! ([`super::bridge`]) saw it go by. A server sends its backend's own pid there, so on a
//! direct connection it equals `pg_backend_pid()`; a pooler or proxy that keeps cancel
//! requests to itself (PgBouncer, in every version and pool mode) sends a cancel key of
//! its own, whose pid is not the backend's. The session compares the two at start
//! ([`crate::session::pooler`]) to know whether a connection reaches its backend directly.

use std::sync::{Arc, OnceLock};

/// The BackendKeyData process id of one connection, shared between its bridge (which
/// records it once) and the session (which reads it). Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct BackendKey(Arc<OnceLock<i32>>);

impl BackendKey {
    /// The process id the BackendKeyData carried; `None` when none came (yet), or it
    /// was too short to hold one.
    pub fn pid(&self) -> Option<i32> {
        self.0.get().copied()
    }

    /// Records the process id of a BackendKeyData `body` (Int32 process id, then the
    /// secret key). Only the first one counts: a server sends one per connection.
    pub(super) fn record(&self, body: &[u8]) {
        if let Some(pid) = body.first_chunk::<4>() {
            let _ = self.0.set(i32::from_be_bytes(*pid));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_whole_pid_is_kept() {
        let key = BackendKey::default();
        assert_eq!(key.pid(), None);
        key.record(&[0, 0, 1]);
        assert_eq!(key.pid(), None, "too short to hold a pid");
        let shared = key.clone();
        key.record(&[0, 0, 0x30, 0x39, 1, 2, 3, 4]);
        key.record(&[0, 0, 0, 7, 1, 2, 3, 4]);
        assert_eq!(shared.pid(), Some(12345));
    }
}
