//! Where confirmations come from. The REPL asks on its own line editor; scripts ask on the
//! controlling terminal (`/dev/tty`), never on standard input, so that a piped script can
//! never confirm its own COMMIT.

use std::io::{BufRead, Write};

/// Asks the person at the keyboard a question.
pub trait Confirm {
    /// The typed answer, or `None` when nobody can answer (no terminal, Ctrl-C, EOF).
    fn ask(&mut self, prompt: &str) -> Option<String>;
}

/// Asks on the controlling terminal.
#[derive(Debug, Default)]
pub struct Tty;

impl Confirm for Tty {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let mut writer = tty.try_clone().ok()?;
        // The prompt names the environment: it stays on its line and drives nothing.
        let prompt = crate::render::escape::one_line(prompt);
        writer.write_all(prompt.as_bytes()).ok()?;
        writer.flush().ok()?;
        let mut line = String::new();
        match std::io::BufReader::new(tty).read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
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
}
