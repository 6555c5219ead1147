//! The warning at the prompt before the server ends an idle open transaction.
//!
//! pgward sets `idle_in_transaction_session_timeout` in every transaction it opens; when
//! the author leaves an open transaction alone that long, the server ends the connection
//! and rolls the transaction back. While the prompt waits, a timer thread prints one
//! warning through rustyline's external printer (above the prompt, the line being typed
//! kept) shortly before that happens. The session itself says what happened afterwards.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustyline::ExternalPrinter;

/// The longest head start the warning gets.
const MAX_LEAD: Duration = Duration::from_secs(60);

/// A pending warning; dropping it (the prompt was answered) cancels it.
pub struct IdleWarning {
    _stop: mpsc::Sender<()>,
}

/// When to warn for a transaction the server ends at `deadline` after `idle` of
/// idleness: a fifth of the timeout ahead, at most a minute, at least a second.
pub fn warn_at(deadline: Instant, idle: Duration) -> Instant {
    let lead = (idle / 5).clamp(Duration::from_secs(1).min(idle / 2), MAX_LEAD);
    deadline.checked_sub(lead).unwrap_or(deadline)
}

/// The warning text.
pub fn message(left: Duration, idle: Duration) -> String {
    format!(
        "WARNING: the open transaction ends in {} (idle_in_transaction_session_timeout = {}): the server will roll it back; run a statement, COMMIT or ROLLBACK before then",
        seconds(left),
        seconds(idle)
    )
}

fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Starts the timer: at [`warn_at`], unless cancelled first, `printer` prints the
/// warning. Nothing is printed once the deadline has passed.
pub fn start<P>(mut printer: P, deadline: Instant, idle: Duration) -> IdleWarning
where
    P: ExternalPrinter + Send + 'static,
{
    let (stop, stopped) = mpsc::channel::<()>();
    let at = warn_at(deadline, idle);
    std::thread::spawn(move || {
        let wait = at.saturating_duration_since(Instant::now());
        // Anything but a timeout means the prompt was answered: no warning.
        if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
            let left = deadline.saturating_duration_since(Instant::now());
            if !left.is_zero() {
                let _ = printer.print(message(left, idle));
            }
        }
    });
    IdleWarning { _stop: stop }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_a_fifth_ahead_within_bounds() {
        let now = Instant::now();
        let at = |idle: u64| {
            let idle = Duration::from_millis(idle);
            (now + idle) - warn_at(now + idle, idle)
        };
        assert_eq!(at(30_000), Duration::from_secs(6));
        assert_eq!(at(600_000), Duration::from_secs(60));
        assert_eq!(at(3_000), Duration::from_secs(1));
        assert_eq!(at(1_000), Duration::from_millis(500));
    }

    #[test]
    fn message_names_the_setting_and_time_left() {
        let m = message(Duration::from_millis(600), Duration::from_secs(3));
        assert!(m.contains("ends in 0.6s"), "{m}");
        assert!(
            m.contains("idle_in_transaction_session_timeout = 3s"),
            "{m}"
        );
    }
}
