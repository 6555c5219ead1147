//! Where confirmations come from. The REPL asks on its own line editor; scripts ask on the
//! controlling terminal (`/dev/tty`), never on standard input, so that a piped script can
//! never confirm its own COMMIT.
//!
//! The terminal question waits on the terminal and on the signal thread at once
//! ([`super::signals::TtyWait`]), so Ctrl-C (and SIGTERM, SIGHUP) answer it with nothing,
//! as the line editor's Ctrl-C does: a blocking read would never see them, because the
//! signal handler pgward installs takes SIGINT's default action away.

use std::io::{Read, Write};
use std::os::fd::AsFd;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::signals::TtyWait;

/// Asks the person at the keyboard a question.
pub trait Confirm {
    /// The typed answer, or `None` when nobody can answer (no terminal, Ctrl-C, EOF).
    fn ask(&mut self, prompt: &str) -> Option<String>;

    /// A secret typed without echo at the controlling terminal (never standard input), or
    /// `None` when nobody can answer.
    fn ask_secret(&mut self, prompt: &str) -> Option<String> {
        rpassword::prompt_password(crate::render::escape::one_line(prompt)).ok()
    }

    /// Whether [`Confirm::ask_secret`] has a terminal to ask at, checked before anyone is
    /// asked to review a change whose code nobody could type.
    fn can_ask_secret(&self) -> bool {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .is_ok()
    }
}

/// Asks on the controlling terminal.
#[derive(Debug, Default)]
pub struct Tty;

impl Confirm for Tty {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        let mut tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let mut wait = TtyWait::start().ok()??;
        // The prompt names the environment: it stays on its line and drives nothing.
        let prompt = crate::render::escape::one_line(prompt);
        tty.write_all(prompt.as_bytes()).ok()?;
        tty.flush().ok()?;
        let mut line = Vec::new();
        loop {
            let mut fds = [
                PollFd::new(tty.as_fd(), PollFlags::POLLIN),
                PollFd::new(wait.fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return None,
            }
            let ready = |fd: &PollFd<'_>| {
                fd.revents()
                    .is_some_and(|r| !(r & !PollFlags::POLLOUT).is_empty())
            };
            let (typed, woken) = (ready(&fds[0]), ready(&fds[1]));
            if woken {
                // Ctrl-C or a terminating signal: no answer. End the echoed line.
                wait.drain();
                let _ = tty.write_all(b"\n");
                return None;
            }
            if !typed {
                continue;
            }
            let mut buf = [0u8; 256];
            match tty.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => line.extend_from_slice(&buf[..n]),
            }
            if let Some(end) = line.iter().position(|&b| b == b'\n') {
                line.truncate(end);
                let text = String::from_utf8_lossy(&line);
                return Some(text.trim_end_matches('\r').to_string());
            }
        }
    }
}

/// Nobody can answer: every confirmation is refused.
#[derive(Debug, Default)]
pub struct Nobody;

impl Confirm for Nobody {
    fn ask(&mut self, _prompt: &str) -> Option<String> {
        None
    }

    fn ask_secret(&mut self, _prompt: &str) -> Option<String> {
        None
    }

    fn can_ask_secret(&self) -> bool {
        false
    }
}
