//! pgward on a real pseudo-terminal, driven as a user would drive it.
//!
//! [`Term`] starts the real binary on a pty (rexpect) with `TERM=xterm`, so the real
//! rustyline editor runs in raw mode: it waits for the prompt, types a line, waits for the
//! answer. Escape sequences are stripped from the output, the UTF-8 that rexpect hands out
//! byte by byte is put back together (so `→` matches), and every match is a substring; a
//! prompt only counts when the output ends with it and stays the end of it for a moment,
//! so rustyline's redraws of `prompt + line` are not taken for it. A failing expectation
//! prints everything the terminal showed so far.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rexpect::process::wait::WaitStatus;
use rexpect::reader::{Options, Regex};
use rexpect::session::PtySession;
use rexpect::ReadUntil;

use crate::util::{self, TestDb, PASSWORD, READER, WRITER};

/// How long starting, connecting and any ordinary step may take (2 CPUs, debug build).
pub(crate) const STEP: Duration = Duration::from_secs(10);
/// A prompt counts once nothing followed it for this long.
const SETTLE: Duration = Duration::from_millis(150);

/// How the shell is started.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// PGPASSWORD set.
    WithPassword,
    /// No PGPASSWORD, no pgpass, and terminal echo switched on: pgward must ask for the
    /// password and hide it itself.
    AskPassword,
}

/// One pgward process on a pseudo-terminal, and everything it printed.
pub(crate) struct Term {
    p: PtySession,
    /// The environment (for an ad-hoc session, the database name).
    pub(crate) env: String,
    /// The database.
    db: String,
    /// Everything the terminal showed, escape sequences stripped.
    pub(crate) transcript: String,
    /// What has not been matched yet.
    pub(crate) pending: String,
    /// Bytes of an incomplete UTF-8 sequence.
    raw: Vec<u8>,
    /// The exit status, once the process was reaped.
    exited: Option<WaitStatus>,
    /// Matches whatever output is buffered.
    drain: Regex,
}

impl Term {
    /// `pgward -d <login conninfo> --write-role app_writer --read-role app_reader` on a
    /// 250-column pty, with `home` as HOME.
    pub(crate) fn start(db: &TestDb, home: &Path, how: Start) -> Term {
        Term::start_with(db, home, how, &[])
    }

    /// As [`Term::start`], with `extra` arguments after the connection ones.
    pub(crate) fn start_with(db: &TestDb, home: &Path, how: Start, extra: &[&str]) -> Term {
        Term::start_full(db, home, how, extra, &[], None)
    }

    /// As [`Term::start_with`], with `env` set and, when `stdin` is given, standard
    /// input read from that file (not a terminal, as in a piped run; the pty stays the
    /// controlling terminal).
    pub(crate) fn start_full(
        db: &TestDb,
        home: &Path,
        how: Start,
        extra: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&Path>,
    ) -> Term {
        // A shell sets the terminal up first, then execs pgward (same pid, so Ctrl-C and
        // the exit status are pgward's): a pty starts 0x0, and rustyline would then wrap
        // at 80 columns and redraw long prompts; rexpect switches echo off, which would
        // make the password test pass even if pgward never hid the input.
        let setup = match how {
            Start::WithPassword => "stty cols 250 rows 50",
            Start::AskPassword => "stty cols 250 rows 50 echo",
        };
        let redirect = if stdin.is_some() {
            " < \"$PGWARD_TEST_STDIN\""
        } else {
            ""
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{setup} && exec \"$0\" \"$@\"{redirect}"))
            .arg(util::bin())
            .args([
                "-d",
                &db.login_conninfo(),
                "--write-role",
                WRITER,
                "--read-role",
                READER,
            ])
            .args(extra);
        util::isolate(&mut cmd, home);
        // A real terminal type: rustyline's editor, not its fallback for dumb terminals.
        cmd.env("TERM", "xterm");
        if how == Start::WithPassword {
            cmd.env("PGPASSWORD", PASSWORD);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(file) = stdin {
            cmd.env("PGWARD_TEST_STDIN", file);
        }
        let options = Options::new()
            .timeout_ms(Some(STEP.as_millis() as u64))
            .strip_ansi_escape_codes(true);
        let p = rexpect::session::spawn_with_options(cmd, options).expect("spawn pgward on a pty");
        Term {
            p,
            env: db.name.clone(),
            db: db.name.clone(),
            transcript: String::new(),
            pending: String::new(),
            raw: Vec::new(),
            exited: None,
            drain: Regex::new("(?s).*").expect("regex"),
        }
    }

    /// `pgward ARGS` on a 250-column pty with PGPASSWORD, `home` as HOME and `vars` set;
    /// `env` is the environment name the prompt shows.
    pub(crate) fn start_args(
        db: &TestDb,
        home: &Path,
        env: &str,
        args: &[&str],
        vars: &[(&str, &str)],
    ) -> Term {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("stty cols 250 rows 50 && exec \"$0\" \"$@\"")
            .arg(util::bin())
            .args(args);
        util::isolate(&mut cmd, home);
        cmd.env("TERM", "xterm").env("PGPASSWORD", PASSWORD);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let options = Options::new()
            .timeout_ms(Some(STEP.as_millis() as u64))
            .strip_ansi_escape_codes(true);
        let p = rexpect::session::spawn_with_options(cmd, options).expect("spawn pgward on a pty");
        Term {
            p,
            env: env.to_string(),
            db: db.name.clone(),
            transcript: String::new(),
            pending: String::new(),
            raw: Vec::new(),
            exited: None,
            drain: Regex::new("(?s).*").expect("regex"),
        }
    }

    /// Started with PGPASSWORD, up to the first prompt.
    pub(crate) fn ready(db: &TestDb, home: &Path) -> Term {
        let mut t = Term::start(db, home, Start::WithPassword);
        t.expect("type \\? for help, \\q to quit.");
        t.prompt(READER, "=>");
        t
    }

    /// After `\c`: the prompt names environment `env` and `db`'s database.
    pub(crate) fn switched(&mut self, env: &str, db: &TestDb) {
        self.env = env.to_string();
        self.db = db.name.clone();
    }

    /// The prompt for `role` and transaction marker `marker`.
    fn prompt_text(&self, role: &str, marker: &str) -> String {
        format!("[{}] {role}@{}{marker} ", self.env, self.db)
    }

    /// Takes in whatever the terminal showed since, and notes when the process ended.
    pub(crate) fn pump(&mut self) {
        // Everything available, without waiting: `.*` also matches the empty buffer.
        // (Not `try_read`: it splits the buffer byte-wise and panics on non-ASCII output.)
        let all = ReadUntil::Regex(self.drain.clone());
        if let Ok((_, got)) = self.p.reader.read_until(&all) {
            // rexpect hands out each byte as one char: put the UTF-8 back together,
            // keeping an incomplete sequence at the end for the next read.
            self.raw
                .extend(got.chars().map(|c| u8::try_from(c).unwrap_or(b'?')));
            let valid = match std::str::from_utf8(&self.raw) {
                Ok(_) => self.raw.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => self.raw.len(),
            };
            let text = String::from_utf8_lossy(&self.raw[..valid]).into_owned();
            self.raw.drain(..valid);
            self.transcript.push_str(&text);
            self.pending.push_str(&text);
        }
        if self.exited.is_none() {
            match self.p.process.status() {
                Some(WaitStatus::StillAlive) | None => {}
                Some(s) => self.exited = Some(s),
            }
        }
    }

    /// Panics with `what` and the whole terminal transcript.
    #[track_caller]
    pub(crate) fn fail(&mut self, what: &str) -> ! {
        std::thread::sleep(Duration::from_millis(100));
        self.pump();
        panic!(
            "{what}\n(process: {})\n===== terminal so far =====\n{}\n===== not yet matched =====\n{}\n===========================",
            match &self.exited {
                None => "still running".to_string(),
                Some(s) => format!("{s:?}"),
            },
            self.transcript.replace('\r', ""),
            self.pending.replace('\r', ""),
        );
    }

    /// Asserts `ok`, showing the terminal when it does not hold.
    #[track_caller]
    pub(crate) fn ensure(&mut self, ok: bool, what: &str) {
        if !ok {
            self.fail(&format!("assertion failed: {what}"));
        }
    }

    /// Waits up to `limit` for `needle`; returns what came before it.
    #[track_caller]
    pub(crate) fn expect_within(&mut self, needle: &str, limit: Duration) -> String {
        let start = Instant::now();
        let mut gone_since: Option<Instant> = None;
        loop {
            self.pump();
            if let Some(i) = self.pending.find(needle) {
                let before = self.pending[..i].to_string();
                self.pending.drain(..i + needle.len());
                return before;
            }
            if start.elapsed() > limit {
                self.fail(&format!("expected {needle:?} within {limit:?}"));
            }
            if self.exited.is_some() {
                // Let the last output drain, then give up.
                let since = *gone_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_millis(500) {
                    self.fail(&format!("expected {needle:?}, but pgward exited"));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for `needle` (ordinary step timeout); returns what came before it.
    #[track_caller]
    pub(crate) fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, STEP)
    }

    /// Waits for the prompt of `role` with transaction marker `marker`; returns what came
    /// before it (the previous answer), carriage returns removed. Rustyline redraws
    /// `prompt + line` while a line is edited (multi-line input, history), so only a
    /// prompt that ends the output and stays the end of it for a moment counts.
    #[track_caller]
    pub(crate) fn prompt(&mut self, role: &str, marker: &str) -> String {
        let p = self.prompt_text(role, marker);
        let start = Instant::now();
        let mut quiet: Option<(usize, Instant)> = None;
        loop {
            self.pump();
            // After the prompt, rustyline moves the cursor: `\r` and an escape, stripped.
            let shown = self.pending.trim_end_matches('\r');
            if shown.ends_with(&p) {
                let len = self.pending.len();
                match quiet {
                    Some((l, since)) if l == len => {
                        if since.elapsed() >= SETTLE {
                            let before = shown[..shown.len() - p.len()].replace('\r', "");
                            self.pending.clear();
                            return before;
                        }
                    }
                    _ => quiet = Some((len, Instant::now())),
                }
            } else {
                quiet = None;
            }
            if start.elapsed() > STEP {
                self.fail(&format!("expected the prompt {p:?} within {STEP:?}"));
            }
            if self.exited.is_some() && quiet.is_none() {
                std::thread::sleep(Duration::from_millis(300));
                self.pump();
                if !self.pending.trim_end_matches('\r').ends_with(&p) {
                    self.fail(&format!("expected the prompt {p:?}, but pgward exited"));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text` without Enter.
    pub(crate) fn send(&mut self, text: &str) {
        self.p.send(text).expect("write to the pty");
        self.p.flush().expect("flush the pty");
    }

    /// Types `line` and Enter (a carriage return, as a terminal sends it).
    pub(crate) fn line(&mut self, line: &str) {
        self.send(&format!("{line}\r"));
    }

    /// Presses Ctrl-`c`.
    pub(crate) fn ctrl(&mut self, c: char) {
        self.p.send_control(c).expect("write to the pty");
    }

    /// The process id (pgward's: the shell execs it).
    pub(crate) fn pid(&self) -> i32 {
        self.p.process.child_pid.as_raw()
    }

    /// Sends `signal` to pgward.
    pub(crate) fn signal(&mut self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), signal)
            .expect("send a signal to pgward");
    }

    /// Waits for the process to end, however it ends.
    #[track_caller]
    pub(crate) fn wait_end(&mut self) -> WaitStatus {
        let start = Instant::now();
        loop {
            self.pump();
            if let Some(status) = self.exited {
                std::thread::sleep(Duration::from_millis(100));
                self.pump();
                return status;
            }
            if start.elapsed() > STEP {
                self.fail(&format!("pgward did not end within {STEP:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the process to end; its exit code.
    #[track_caller]
    pub(crate) fn exit_code(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            self.pump();
            match self.exited {
                Some(WaitStatus::Exited(_, code)) => {
                    std::thread::sleep(Duration::from_millis(100));
                    self.pump();
                    return code;
                }
                Some(other) => self.fail(&format!("pgward did not exit normally: {other:?}")),
                None => {}
            }
            if start.elapsed() > STEP {
                self.fail(&format!("pgward did not exit within {STEP:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Quits with `\q` and checks exit code 0.
    #[track_caller]
    pub(crate) fn quit(&mut self) {
        self.line("\\q");
        let code = self.exit_code();
        self.ensure(code == 0, &format!("exit code {code}, expected 0"));
    }
}
