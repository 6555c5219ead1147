//! The pager for results taller or wider than the terminal, as psql uses one: the
//! command in `$PSQL_PAGER` or `$PAGER` (an empty one means none), else `less -SR`,
//! started through `sh -c` with the result on its standard input, and waited for
//! before the prompt returns. Only a result bound for a terminal is paged; `\pset pager`
//! says when ([`wanted`]). A pager that cannot start, or quits early, costs nothing but
//! the paging: the result then goes to the terminal, or is dropped unread as psql drops it.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::render::pset::Pager as Mode;

/// The pager command: `$PSQL_PAGER`, `$PAGER`, else `less -SR`; `None` when the variable
/// that applies is empty or blank.
pub fn command() -> Option<String> {
    for key in ["PSQL_PAGER", "PAGER"] {
        if let Ok(v) = std::env::var(key) {
            return (!v.trim().is_empty()).then_some(v);
        }
    }
    Some("less -SR".into())
}

/// Whether a result `lines` tall and `width` wide is paged on a `rows` × `cols`
/// terminal (`None`: output is not a terminal). A result drawn in parts as it arrives
/// (`streamed`) is a thousand rows at least: taller than any terminal.
pub fn wanted(
    mode: Mode,
    terminal: Option<(u16, u16)>,
    lines: usize,
    width: usize,
    streamed: bool,
) -> bool {
    let Some((cols, rows)) = terminal else {
        return false;
    };
    match mode {
        Mode::Off => false,
        Mode::Always => true,
        Mode::On => streamed || lines >= usize::from(rows) || width > usize::from(cols),
    }
}

/// A running pager.
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Running {
    /// Starts `command` through `sh -c`, its output on the terminal.
    pub fn start(command: &str) -> std::io::Result<Running> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        Ok(Running { child, stdin })
    }

    /// Writes to the pager; a pager that quit is not an error (the rest is not read).
    pub fn write(&mut self, bytes: &[u8]) {
        if let Some(stdin) = &mut self.stdin {
            if stdin.write_all(bytes).and_then(|()| stdin.flush()).is_err() {
                self.stdin = None;
            }
        }
    }

    /// Closes the pager's input and waits until the user leaves it.
    pub fn finish(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_only_a_terminal_and_only_when_needed() {
        let term = Some((80, 24));
        assert!(!wanted(Mode::On, None, 1000, 10, true));
        assert!(!wanted(Mode::Always, None, 1, 1, false));
        assert!(!wanted(Mode::On, term, 23, 80, false));
        assert!(wanted(Mode::On, term, 24, 80, false));
        assert!(wanted(Mode::On, term, 2, 81, false));
        assert!(wanted(Mode::On, term, 2, 2, true));
        assert!(wanted(Mode::Always, term, 1, 1, false));
        assert!(!wanted(Mode::Off, term, 1000, 1000, true));
    }
}
