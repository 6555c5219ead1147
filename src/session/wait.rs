//! Waiting on the server with the author able to end the wait: Ctrl-C sends the
//! protocol's cancel request (as psql does) and the wait goes on until the server
//! answers. Every statement pgward runs for the author waits here.
//!
//! Where no timeout applies, the author also sees the wait. COMMIT is the case:
//! `statement_timeout` does not cover commit processing, so a COMMIT waiting for a
//! synchronous standby that never answers waits forever. Once such a wait has lasted
//! longer than a moment, a line shows how long it has been waiting and that Ctrl-C
//! cancels it: on a terminal redrawn in place and erased at the end, elsewhere written
//! once, plainly.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

/// How long a wait lasts before the live line appears.
const MOMENT: Duration = Duration::from_secs(1);
/// How often the live line is redrawn.
const REDRAW: Duration = Duration::from_millis(500);

/// How a wait ended.
#[derive(Debug)]
pub struct Waited<T> {
    /// What the work returned.
    pub result: T,
    /// A cancel request was sent (the author pressed Ctrl-C).
    pub cancel_sent: bool,
}

/// Where the live line goes: the session's one writer, which redraws it in place on a
/// terminal.
pub struct Line<'a> {
    /// The session's output.
    pub io: &'a mut super::Io,
    /// What is being waited for, e.g. "COMMIT".
    pub what: &'a str,
}

impl Line<'_> {
    fn text(&self, waited: Duration, cancel_sent: bool) -> String {
        let secs = waited.as_secs();
        if cancel_sent {
            format!(
                "{}: waiting for the server, {secs}s; cancel request sent, waiting for its answer",
                self.what
            )
        } else {
            format!(
                "{}: waiting for the server, {secs}s (Ctrl-C cancels the wait)",
                self.what
            )
        }
    }

    fn draw(&mut self, waited: Duration, cancel_sent: bool) {
        let text = self.text(waited, cancel_sent);
        self.io.live_line(&text);
    }

    fn erase(&mut self) {
        self.io.erase_live_line();
    }
}

/// Awaits `work`; Ctrl-C sends the cancel request for `client`'s running query and the
/// wait continues until the server answers. `line`, when given, shows the wait once it
/// lasts (statements, whose results follow, go without one).
pub async fn cancellable_with_line<T>(
    client: &Client,
    tls: &crate::conn::Wire,
    work: impl std::future::Future<Output = T>,
    mut line: Option<Line<'_>>,
) -> Waited<T> {
    let start = Instant::now();
    let mut redraw = tokio::time::interval_at((start + MOMENT).into(), REDRAW);
    // Ctrl-C, SIGTERM and SIGHUP all come through pgward's signal thread.
    let ctrl_c = super::signals::interrupted();
    tokio::pin!(work, ctrl_c);
    let mut cancel_sent = false;
    let mut shown = false;
    loop {
        tokio::select! {
            result = &mut work => {
                if let Some(line) = line.as_mut().filter(|_| shown) {
                    line.erase();
                }
                return Waited { result, cancel_sent };
            }
            _ = &mut ctrl_c, if !cancel_sent => {
                cancel_sent = true;
                // A failed cancel request leaves the wait as it was; the author sees the
                // line go on and can end pgward from outside.
                let _ = tls.cancel(&client.cancel_token()).await;
                if let Some(line) = line.as_mut() {
                    line.draw(start.elapsed(), true);
                    shown = true;
                }
            }
            _ = redraw.tick(), if line.is_some() => {
                // Off a terminal, the line is written once, and again after a cancel.
                if let Some(line) = line.as_mut().filter(|l| l.io.is_live() || !shown) {
                    line.draw(start.elapsed(), cancel_sent);
                    shown = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_how_long_and_how_to_cancel() {
        let mut io = crate::session::Io::new(
            Box::new(Vec::new()),
            Box::new(Vec::new()),
            crate::render::Style::plain(),
        );
        let line = Line {
            io: &mut io,
            what: "COMMIT",
        };
        assert_eq!(
            line.text(Duration::from_millis(3400), false),
            "COMMIT: waiting for the server, 3s (Ctrl-C cancels the wait)"
        );
        assert!(line
            .text(Duration::from_secs(5), true)
            .contains("cancel request sent"));
    }
}
