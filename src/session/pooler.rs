//! Whether the session's connection goes through a connection pooler, and whether a
//! statement that runs alone may run there.
//!
//! A server answers a startup with BackendKeyData holding its backend's own process id,
//! so on a direct connection that pid equals `pg_backend_pid()`. PgBouncer (every version,
//! every pool mode), and most poolers and proxies, keep cancel requests to themselves and
//! answer with a cancel key of their own: its pid is not the backend's. The byte bridge
//! records the pid ([`crate::conn::backend_key`]); [`Route::detect`] compares it with the
//! backend pid the start probe read. That proves a pooler where the two differ; it cannot
//! tell the pool mode, nor see a proxy that passes the server's key through, which is
//! what the environment's `pooler` key declares ([`PoolerMode`]).
//!
//! A statement that runs alone needs the write role and its timeouts set for the session,
//! which a pool in transaction mode does not keep: the SET ROLE could stay on a pooled
//! backend that another client then gets. So [`alone_allowed`] refuses it through a
//! detected pooler unless the environment declares `pooler = "session"`, and always where
//! it declares `pooler = "transaction"`. It fails closed: a pid that could not be read
//! (no BackendKeyData, or a backend pid that is not a number) counts as a pooler.

use crate::config::PoolerMode;
use crate::render::escape::one_line;

/// How the connection reaches its server backend, as seen at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The BackendKeyData's pid is the backend's: no pooler that keeps its own cancel
    /// keys is in between.
    Direct,
    /// Through a pooler or proxy: the BackendKeyData's pid (`None`: none came) is not
    /// `pg_backend_pid()` (`backend`, as the probe read it).
    Pooler {
        /// The process id of the BackendKeyData that answered the startup.
        key_pid: Option<i32>,
        /// `pg_backend_pid()` at start, as text.
        backend: String,
    },
}

impl Route {
    /// Compares the BackendKeyData's pid with the backend pid the probe read.
    pub fn detect(key_pid: Option<i32>, backend_pid: &str) -> Route {
        match (key_pid, backend_pid.trim().parse::<i32>()) {
            (Some(key), Ok(backend)) if key == backend => Route::Direct,
            _ => Route::Pooler {
                key_pid,
                backend: backend_pid.to_string(),
            },
        }
    }

    /// Whether a pooler (or proxy) was detected.
    pub fn is_pooled(&self) -> bool {
        matches!(self, Route::Pooler { .. })
    }

    /// "through a connection pooler (cancel key pid 12345, server backend 678)", or
    /// `None` when direct.
    pub fn describe(&self) -> Option<String> {
        let Route::Pooler { key_pid, backend } = self else {
            return None;
        };
        let backend = if backend.is_empty() {
            "unknown".to_string()
        } else {
            one_line(backend)
        };
        Some(match key_pid {
            Some(key) => format!(
                "through a connection pooler (cancel key pid {key}, server backend {backend})"
            ),
            None => format!(
                "through a connection pooler or proxy (no cancel key came with the startup, server backend {backend})"
            ),
        })
    }
}

/// One line on the connection's pooler for the banner and `\conninfo`: what was
/// detected, what the environment declares, and what that means for statements that
/// run alone; `None` for a direct connection with nothing declared.
pub fn summary(route: &Route, declared: Option<PoolerMode>) -> Option<String> {
    let seen = route.describe();
    let line = match (seen, declared) {
        (None, None) => return None,
        (Some(seen), None) => format!(
            "connected {seen}: statements that run alone (VACUUM, … CONCURRENTLY) are refused; if the pool is in session mode, declare pooler = \"session\" for the environment"
        ),
        (Some(seen), Some(PoolerMode::Session)) => format!(
            "connected {seen}, declared pooler = \"session\": statements that run alone (VACUUM, … CONCURRENTLY) may run"
        ),
        (Some(seen), Some(PoolerMode::Transaction)) => format!(
            "connected {seen}, declared pooler = \"transaction\": statements that run alone (VACUUM, … CONCURRENTLY) are refused"
        ),
        (None, Some(PoolerMode::Session)) => "declared pooler = \"session\" (none detected: the cancel key is the server backend's)".to_string(),
        (None, Some(PoolerMode::Transaction)) => "declared pooler = \"transaction\" (none detected: the cancel key is the server backend's): statements that run alone (VACUUM, … CONCURRENTLY) are refused".to_string(),
    };
    Some(line)
}

/// Why a statement that runs alone may not run here, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// One line, starting with "refused:".
    pub reason: String,
    /// The fix.
    pub hint: String,
}

/// Whether `what`, a statement that runs alone, may run on `route` in environment `env`
/// that declares `declared`.
pub fn alone_allowed(
    route: &Route,
    declared: Option<PoolerMode>,
    env: &str,
    what: &str,
) -> Result<(), Refused> {
    let needs = format!(
        "refused: {what} runs alone and needs the write role set for the session, which a pool in transaction mode could leave on a pooled backend that another client gets"
    );
    let env = one_line(env);
    match (route.describe(), declared) {
        (_, Some(PoolerMode::Session)) | (None, None) => Ok(()),
        (_, Some(PoolerMode::Transaction)) => Err(Refused {
            reason: format!(
                "{needs}; environment \"{env}\" declares pooler = \"transaction\""
            ),
            hint: "connect directly to the server to run it (an environment without the pooler), or through a pool in session mode declared as pooler = \"session\"".into(),
        }),
        (Some(seen), None) => Err(Refused {
            reason: format!("{needs}; this connection goes {seen}"),
            hint: format!(
                "connect directly to the server to run it; if the pool is in session mode (PgBouncer's pool_mode = session), declare pooler = \"session\" for environment \"{env}\" in the config file"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_backends_own_pid_is_direct() {
        assert_eq!(Route::detect(Some(678), "678"), Route::Direct);
        for (key, backend) in [
            (Some(12345), "678"),
            (None, "678"),
            (Some(678), ""),
            (Some(678), "not a pid"),
            (None, ""),
        ] {
            let route = Route::detect(key, backend);
            assert!(route.is_pooled(), "{key:?} {backend:?}: fails closed");
        }
        assert_eq!(
            Route::detect(Some(12345), "678").describe().as_deref(),
            Some("through a connection pooler (cancel key pid 12345, server backend 678)")
        );
        assert_eq!(Route::Direct.describe(), None);
    }

    #[test]
    fn alone_runs_direct_or_where_a_session_pool_is_declared() {
        let pooled = Route::detect(Some(12345), "678");
        let direct = Route::Direct;
        let allowed = |r: &Route, d| alone_allowed(r, d, "prod", "VACUUM").is_ok();
        assert!(allowed(&direct, None));
        assert!(allowed(&direct, Some(PoolerMode::Session)));
        assert!(allowed(&pooled, Some(PoolerMode::Session)));
        assert!(!allowed(&pooled, None));
        assert!(!allowed(&pooled, Some(PoolerMode::Transaction)));
        assert!(
            !allowed(&direct, Some(PoolerMode::Transaction)),
            "a declared transaction pool refuses even where none is detected"
        );
        let why = alone_allowed(&pooled, None, "prod", "VACUUM").expect_err("refused");
        assert!(
            why.reason.starts_with("refused: VACUUM runs alone"),
            "{why:?}"
        );
        assert!(why.reason.contains("cancel key pid 12345"), "{why:?}");
        assert!(why.hint.contains("pooler = \"session\""), "{why:?}");
        assert_eq!(
            summary(&direct, None),
            None,
            "a direct connection says nothing"
        );
        assert!(summary(&pooled, None).is_some_and(|s| s.contains("connection pooler")));
    }
}
