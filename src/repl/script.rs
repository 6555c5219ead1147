//! The query buffer, as psql's main loop keeps it: lines are read one at a time, from
//! the prompt, a file, standard input, `\i` or `\e`, into one [`Runner`]. A line's SQL
//! has its variables expanded ([`super::vars`]) and is added to the buffer
//! ([`super::buffer`], lexed once as it grows); each statement is sent through the
//! session as soon as its `;` is read. A backslash in plain SQL ends the SQL part of the
//! line and starts a meta-command, so `select 1 \g`, `select now() \watch 2` and
//! `select 1; \dt` do what they do in psql. The statement the session classifies,
//! previews and confirms is the expanded one.
//!
//! The buffer's own meta-commands live here (`\g \gx \p \r \e \watch \i \ir \set \unset
//! \echo \timing`); `\copy` to [`super::copy`]; the output ones (`\pset \x \o …`) go to [`super::output`] with
//! their arguments read the same way; everything else goes to [`super::meta::perform`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::render::Text;
use crate::session::{Outcome, Session};
use crate::sql::{self, Verdict};

use super::buffer::Buffer;
use super::copy;
use super::meta;
use super::output;
use super::vars::{self, Vars};

/// How deep `\i` may nest before pgward assumes a loop.
const MAX_DEPTH: usize = 16;

/// What the caller does after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on; the outcome says whether the line worked.
    Go(Outcome),
    /// `\q`: leave the shell or end the script.
    Quit,
}

/// Where the lines being read come from, for `FILE:LINE:` and `\ir`.
#[derive(Debug, Clone)]
struct Source {
    name: String,
    dir: PathBuf,
    line: usize,
}

/// The query buffer and the state psql keeps beside it.
#[derive(Debug, Default)]
pub struct Runner {
    pending: Buffer,
    /// The script variables.
    pub vars: Vars,
    /// Whether `:name` is expanded in SQL (psql does so in files and piped input and at
    /// the prompt, not in `-c`).
    pub interpolate: bool,
    last: Option<String>,
    timing: bool,
    sources: Vec<Source>,
    /// `\copy … FROM STDIN` gathering the lines that follow it, up to `\.`.
    copy_in: Option<PendingCopy>,
    /// Lines come from the prompt (the REPL sets this): `\copy … FROM STDIN` asks for
    /// its data there.
    pub interactive: bool,
}

/// A `\copy … FROM STDIN` waiting for its data.
#[derive(Debug)]
struct PendingCopy {
    copy: copy::CopyFrom,
    data: Vec<u8>,
}

impl Runner {
    /// A runner that expands variables.
    pub fn new(vars: Vars) -> Runner {
        Runner {
            vars,
            interpolate: true,
            ..Runner::default()
        }
    }

    /// True when the query buffer holds nothing but white space.
    pub fn is_empty(&self) -> bool {
        self.pending.is_blank()
    }

    /// psql's `%R` for the prompt: `None` for a fresh statement, else the state the
    /// buffer ends in (`-`, `(`, `'`, `"`, `$`, `*`).
    pub fn status(&self) -> Option<char> {
        if self.is_empty() {
            None
        } else {
            Some(self.pending.context().prompt_char())
        }
    }

    /// Empties the query buffer (Ctrl-C at the prompt, `\r`); data being gathered for
    /// `\copy … FROM STDIN` is dropped, and nothing of it is loaded.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.copy_in = None;
    }

    /// True while the lines read are data for `\copy … FROM STDIN` (psql's `>>` prompt).
    pub fn copying(&self) -> bool {
        self.copy_in.is_some()
    }

    /// The end of the input while `\copy … FROM STDIN` gathers data ends the data, as
    /// `\.` would; otherwise nothing.
    pub fn end_of_input(&mut self, rt: &tokio::runtime::Runtime, session: &mut Session) -> Flow {
        match self.copy_in.take() {
            Some(p) => Flow::Go(copy::load(rt, session, &p.copy, Some(p.data))),
            None => Flow::Go(Outcome::Ok),
        }
    }

    /// Runs a whole script, `name` being what `FILE:LINE:` calls it, stopping at the
    /// first line that does not succeed (psql's ON_ERROR_STOP, pgward's default). A
    /// statement left unfinished at the end is an error, not sent.
    pub fn script(
        &mut self,
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        text: &str,
        name: &str,
        dir: &Path,
    ) -> Flow {
        if self.sources.len() >= MAX_DEPTH {
            session.io().say_error(&format!(
                "pgward: {name}: files include each other more than {MAX_DEPTH} deep"
            ));
            return Flow::Go(Outcome::SqlError);
        }
        self.sources.push(Source {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            line: 0,
        });
        let saved = std::mem::take(&mut self.pending);
        let mut flow = Flow::Go(Outcome::Ok);
        for line in text.lines() {
            if let Some(s) = self.sources.last_mut() {
                s.line += 1;
            }
            flow = self.one_line(rt, session, line);
            if flow != Flow::Go(Outcome::Ok) {
                break;
            }
        }
        if flow == Flow::Go(Outcome::Ok) {
            // A file's end ends `\copy … FROM STDIN` data.
            flow = self.end_of_input(rt, session);
        }
        self.copy_in = None;
        if flow == Flow::Go(Outcome::Ok) && !self.is_empty() {
            // The session says the statement is unterminated and sends nothing of it.
            let rest = std::mem::take(&mut self.pending);
            flow = Flow::Go(self.run(rt, session, rest.as_str()));
        }
        if let Flow::Go(outcome) = flow {
            if outcome != Outcome::Ok && !outcome.ends_session() {
                self.say_where(session);
            }
        }
        self.sources.pop();
        self.pending = saved;
        flow
    }

    /// Reads one line (or several, as a recalled history entry holds them) typed at the
    /// prompt.
    pub fn line(
        &mut self,
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        text: &str,
    ) -> Flow {
        let mut flow = Flow::Go(Outcome::Ok);
        for line in text.split('\n') {
            flow = self.one_line(rt, session, line);
            if flow != Flow::Go(Outcome::Ok) {
                self.pending.clear();
                break;
            }
        }
        flow
    }

    /// Says `FILE:LINE:` of the line a script stopped at, as psql does.
    fn say_where(&self, session: &mut Session) {
        if let Some(s) = self.sources.last() {
            session.io().say_error(&format!(
                "pgward:{}:{}: the script stops at this line",
                s.name, s.line
            ));
        }
    }

    fn one_line(
        &mut self,
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        line: &str,
    ) -> Flow {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(pending) = &mut self.copy_in {
            // Data lines are COPY's, not SQL: no variables, no meta-commands.
            if line != "\\." {
                pending.data.extend_from_slice(line.as_bytes());
                pending.data.push(b'\n');
                return Flow::Go(Outcome::Ok);
            }
            return self.end_of_input(rt, session);
        }
        let meta_part = self.cut(line);
        if meta_part.is_none() {
            self.pending.push_str("\n");
        }
        let outcome = self.send_complete(rt, session);
        if outcome != Outcome::Ok {
            return Flow::Go(outcome);
        }
        match meta_part {
            Some(m) => self.meta(rt, session, &m),
            None => Flow::Go(Outcome::Ok),
        }
    }

    /// Adds the SQL part of `line` to the buffer, variables expanded, and returns the
    /// meta-command that follows a backslash in plain SQL. Whether a backslash or `:name`
    /// is in plain SQL is the lexer's state at the end of the buffer, which has lexed
    /// each byte once, as it was added.
    fn cut(&mut self, line: &str) -> Option<String> {
        let mut i = 0;
        while let Some(rel) = line.get(i..).and_then(|t| t.find(['\\', ':'])) {
            let at = i + rel;
            self.pending.push_str(&line[i..at]);
            let tail = &line[at..];
            if tail.starts_with("::") {
                self.pending.push_str("::");
                i = at + 2;
                continue;
            }
            if tail.starts_with('\\') {
                if self.pending.context().is_code() {
                    return Some(tail.to_string());
                }
                self.pending.push_str("\\");
                i = at + 1;
                continue;
            }
            match vars::reference(tail, &self.vars) {
                Some((value, len)) if self.interpolate && self.pending.context().is_code() => {
                    self.pending.push_str(&value);
                    i = at + len;
                }
                _ => {
                    self.pending.push_str(":");
                    i = at + 1;
                }
            }
        }
        self.pending.push_str(line.get(i..).unwrap_or_default());
        None
    }

    /// Sends every complete statement in the buffer, one at a time; keeps the tail.
    /// What a failing statement leaves unsent is dropped with the tail.
    fn send_complete(&mut self, rt: &tokio::runtime::Runtime, session: &mut Session) -> Outcome {
        for ready in self.pending.take_complete() {
            let outcome = self.run(rt, session, &ready.text);
            self.last = Some(ready.statement);
            if outcome != Outcome::Ok {
                self.pending.clear();
                return outcome;
            }
        }
        Outcome::Ok
    }

    /// Sends `text` through the session, timed when `\timing` is on.
    fn run(&mut self, rt: &tokio::runtime::Runtime, session: &mut Session, text: &str) -> Outcome {
        let started = Instant::now();
        let outcome = rt.block_on(session.execute(text));
        if self.timing && !outcome.ends_session() {
            session.io().say_out(&timing_line(started.elapsed()));
        }
        outcome
    }

    /// The buffer `\g`, `\watch`, `\p` and `\e` act on: the query buffer, else the last
    /// statement sent.
    fn current(&self) -> Option<String> {
        if self.is_empty() {
            self.last.clone()
        } else {
            Some(self.pending.as_str().trim_end().to_string())
        }
    }

    fn meta(&mut self, rt: &tokio::runtime::Runtime, session: &mut Session, line: &str) -> Flow {
        let command = line.split_whitespace().next().unwrap_or("\\");
        let raw = line[command.len()..].trim();
        const OWN: [&str; 21] = [
            "\\c",
            "\\connect",
            "\\g",
            "\\gset",
            "\\gx",
            "\\go",
            "\\watch",
            "\\p",
            "\\print",
            "\\r",
            "\\reset",
            "\\e",
            "\\edit",
            "\\i",
            "\\include",
            "\\ir",
            "\\include_relative",
            "\\set",
            "\\unset",
            "\\echo",
            "\\timing",
        ];
        if command == "\\copy" {
            // psql reads \copy's arguments as the whole rest of the line.
            if let Ok(copy::Copy::From(c)) = copy::parse(raw) {
                // STDIN is the lines that follow in a file or at the prompt; with -c,
                // pgward's standard input, as in psql.
                if c.source == copy::FromSource::Stdin
                    && (self.interactive || !self.sources.is_empty())
                {
                    if self.interactive && self.sources.is_empty() {
                        session.io().say_out(
                            "Enter data to be copied followed by a newline.\nEnd with a backslash and a period on a line by itself, or an EOF signal.",
                        );
                    }
                    self.copy_in = Some(PendingCopy {
                        copy: c,
                        data: Vec::new(),
                    });
                    return Flow::Go(Outcome::Ok);
                }
            }
            return Flow::Go(copy::perform(rt, session, raw));
        }
        let output = output::COMMANDS.contains(&command);
        if !OWN.contains(&command) && !output {
            // The other meta-commands read their arguments themselves (describe's
            // patterns keep their quotes).
            return match meta::perform(rt, session, line) {
                meta::Step::Quit => Flow::Quit,
                meta::Step::Continue(outcome) => Flow::Go(outcome),
            };
        }
        let args = match vars::meta_args(raw, &self.vars) {
            Ok(a) => a,
            Err(message) => {
                session.io().say_error(&format!("{command}: {message}"));
                return Flow::Go(Outcome::SqlError);
            }
        };
        if output {
            return Flow::Go(output::perform(session, command, &args));
        }
        let ok = Flow::Go(Outcome::Ok);
        match command {
            "\\g" | "\\go" | "\\gx" => {
                // `\g FILE`: this result to FILE; `\gx`: this result expanded.
                let file = match args.first() {
                    Some(f) if f.starts_with('|') => {
                        return invalid(
                            session,
                            command,
                            "sending results to a command is not supported; give a file name",
                        )
                    }
                    Some(f) => match output::open(f) {
                        Ok(w) => Some(w),
                        Err(message) => return invalid(session, command, &message),
                    },
                    None => None,
                };
                match self.current() {
                    Some(q) => {
                        self.pending.clear();
                        let before = file.map(|w| session.io().set_output(Some(w)));
                        session.io().set_expanded_once(command == "\\gx");
                        let outcome = self.run(rt, session, &format!("{q}\n;"));
                        session.io().set_expanded_once(false);
                        if let Some(before) = before {
                            session.io().set_output(before);
                        }
                        self.last = Some(q);
                        Flow::Go(outcome)
                    }
                    None => invalid(session, command, "the query buffer is empty"),
                }
            }
            "\\gset" => self.gset(rt, session, args.first().map_or("", String::as_str)),
            "\\watch" => self.watch(rt, session, &args),
            "\\c" | "\\connect" => self.connect(rt, session, command, &args),
            "\\p" | "\\print" => {
                match self.current() {
                    Some(q) => session.io().say_out(&q),
                    None => session.io().say_out("Query buffer is empty."),
                }
                ok
            }
            "\\r" | "\\reset" => {
                self.pending.clear();
                session.io().say_out("Query buffer reset (cleared).");
                ok
            }
            "\\e" | "\\edit" => self.edit(rt, session, &args),
            "\\i" | "\\include" | "\\ir" | "\\include_relative" => {
                let Some(file) = args.first() else {
                    return invalid(session, command, "missing required argument");
                };
                let mut path = PathBuf::from(file);
                if command.starts_with("\\ir") || command == "\\include_relative" {
                    if let (true, Some(s)) = (path.is_relative(), self.sources.last()) {
                        path = s.dir.join(path);
                    }
                }
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                        let name = path.display().to_string();
                        self.script(rt, session, &text, &name, &dir)
                    }
                    Err(e) => invalid(session, command, &format!("{}: {e}", path.display())),
                }
            }
            "\\set" => {
                let Some(name) = args.first() else {
                    for (k, v) in self.vars.iter() {
                        session.io().say_out(&format!("{k} = '{v}'"));
                    }
                    return ok;
                };
                if !vars::valid_name(name) {
                    return invalid(
                        session,
                        command,
                        &format!("invalid variable name: \"{name}\""),
                    );
                }
                let value: String = args[1..].concat();
                self.vars.set(name, &value);
                ok
            }
            "\\unset" => match args.as_slice() {
                [name] => {
                    self.vars.unset(name);
                    ok
                }
                _ => invalid(session, command, "takes one variable name"),
            },
            "\\echo" => {
                let (newline, words) = match args.first().map(String::as_str) {
                    Some("-n") => (false, &args[1..]),
                    _ => (true, &args[..]),
                };
                let mut text = words.join(" ");
                if newline {
                    text.push('\n');
                }
                session.io().out(&Text::plain(text));
                ok
            }
            "\\timing" => {
                self.timing = match args.first().map(|s| s.to_ascii_lowercase()).as_deref() {
                    None => !self.timing,
                    Some("on" | "true" | "yes" | "1") => true,
                    Some("off" | "false" | "no" | "0") => false,
                    Some(other) => {
                        return invalid(
                            session,
                            command,
                            &format!("unrecognized value \"{other}\": Boolean expected"),
                        )
                    }
                };
                if !session.io().is_quiet() {
                    session.io().say_out(&format!(
                        "Timing is {}.",
                        if self.timing { "on" } else { "off" }
                    ));
                }
                ok
            }
            _ => match meta::perform(rt, session, line) {
                meta::Step::Quit => Flow::Quit,
                meta::Step::Continue(outcome) => Flow::Go(outcome),
            },
        }
    }

    /// `\gset [PREFIX]`: runs the buffer, which must be a read returning one row, and
    /// sets a variable named PREFIX plus each column's name to its value (unsets it for
    /// NULL), as psql does. The read goes through the guard like any other; a write is
    /// refused unsent.
    fn gset(&mut self, rt: &tokio::runtime::Runtime, session: &mut Session, prefix: &str) -> Flow {
        let Some(q) = self.current() else {
            return invalid(session, "\\gset", "the query buffer is empty");
        };
        self.pending.clear();
        self.last = Some(q.clone());
        let done = match rt.block_on(session.read_rows(&q)) {
            Ok(done) => done,
            Err(outcome) => return Flow::Go(outcome),
        };
        let row = match done.rows.as_slice() {
            [row] => row,
            [] => {
                session.io().say_error("no rows returned for \\gset");
                return Flow::Go(Outcome::SqlError);
            }
            _ => {
                session
                    .io()
                    .say_error("more than one row returned for \\gset");
                return Flow::Go(Outcome::SqlError);
            }
        };
        for (column, value) in done.columns.iter().zip(row) {
            let name = format!("{prefix}{}", column.name);
            match value {
                Some(v) => self.vars.set(&name, v),
                None => self.vars.unset(&name),
            }
        }
        Flow::Go(Outcome::Ok)
    }

    /// `\c ENV`: the session moves to another environment of the config file
    /// ([`Session::switch_environment`]). Only typed at the prompt: a script runs in the
    /// environment it was started in, so what it does was reviewed for that one.
    fn connect(
        &mut self,
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        command: &str,
        args: &[String],
    ) -> Flow {
        if !self.interactive || !self.sources.is_empty() {
            session.io().say_error(&format!(
                "{command}: refused: a script runs in the environment it was started in; start pgward with --env ENV instead"
            ));
            return Flow::Go(Outcome::Refused);
        }
        let [name] = args else {
            let known = session.settings().environments.join(", ");
            let known = if known.is_empty() {
                "none".to_string()
            } else {
                known
            };
            return invalid(
                session,
                command,
                &format!("takes one environment name from the config file (configured: {known})"),
            );
        };
        Flow::Go(rt.block_on(session.switch_environment(name)))
    }

    /// `\watch [SECONDS]`: runs the buffer (a read) again and again until Ctrl-C or an
    /// error. A write is refused: it would repeat a change nobody previewed.
    fn watch(
        &mut self,
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        args: &[String],
    ) -> Flow {
        let seconds = match args
            .first()
            .map(|a| a.trim_start_matches("i=").parse::<f64>())
        {
            None => 2.0,
            Some(Ok(s)) if s.is_finite() && s > 0.0 => s,
            Some(_) => {
                session
                    .io()
                    .say_error("\\watch: the interval must be a number of seconds above 0");
                return Flow::Go(Outcome::SqlError);
            }
        };
        let Some(query) = self.current() else {
            session
                .io()
                .say_error("\\watch cannot be used with an empty query");
            return Flow::Go(Outcome::SqlError);
        };
        self.pending.clear();
        self.last = Some(query.clone());
        let text = format!("{query}\n;");
        let split = sql::split(&text);
        let reads = !split.pieces.is_empty()
            && split
                .pieces
                .iter()
                .all(|p| matches!(sql::classify(&p.text), Verdict::Read));
        if !reads {
            session.io().say_error("\\watch runs reads only: the statement would repeat a change, or pgward cannot tell that it only reads");
            return Flow::Go(Outcome::Refused);
        }
        loop {
            session.io().say_out(&format!("(every {seconds}s)\n"));
            let outcome = self.run(rt, session, &text);
            if outcome != Outcome::Ok {
                return Flow::Go(outcome);
            }
            let interrupted = rt.block_on(async {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs_f64(seconds)) => false,
                    _ = tokio::signal::ctrl_c() => true,
                }
            });
            if interrupted {
                return Flow::Go(Outcome::Ok);
            }
        }
    }

    /// `\e [FILE]`: the buffer (or the last statement, or FILE) in `$PSQL_EDITOR`,
    /// `$EDITOR` or `$VISUAL` (else `vi`); what comes back is read as typed lines, so a
    /// statement ending in `;` runs through the guard and the rest stays in the buffer.
    fn edit(
        &mut self,
        rt: &tokio::runtime::Runtime,
        session: &mut Session,
        args: &[String],
    ) -> Flow {
        let editor = ["PSQL_EDITOR", "EDITOR", "VISUAL"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "vi".to_string());
        let (path, _keep) = match args.first() {
            Some(file) => (PathBuf::from(file), None),
            None => {
                let file = match tempfile::Builder::new()
                    .prefix("pgward-")
                    .suffix(".sql")
                    .tempfile()
                {
                    Ok(f) => f,
                    Err(e) => {
                        session
                            .io()
                            .say_error(&format!("\\e: cannot create a temporary file: {e}"));
                        return Flow::Go(Outcome::SqlError);
                    }
                };
                let mut body = self.current().unwrap_or_default();
                if !body.is_empty() && !body.ends_with('\n') {
                    body.push('\n');
                }
                if let Err(e) = std::fs::write(file.path(), body) {
                    session
                        .io()
                        .say_error(&format!("\\e: cannot write {}: {e}", file.path().display()));
                    return Flow::Go(Outcome::SqlError);
                }
                (file.path().to_path_buf(), Some(file))
            }
        };
        let quoted = format!("'{}'", path.display().to_string().replace('\'', "'\\''"));
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} {quoted}"))
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                session.io().say_error(&format!(
                    "\\e: the editor {editor} ended with {s}; nothing was run"
                ));
                return Flow::Go(Outcome::SqlError);
            }
            Err(e) => {
                session
                    .io()
                    .say_error(&format!("\\e: cannot start the editor {editor}: {e}"));
                return Flow::Go(Outcome::SqlError);
            }
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                session
                    .io()
                    .say_error(&format!("\\e: cannot read {}: {e}", path.display()));
                return Flow::Go(Outcome::SqlError);
            }
        };
        self.pending.clear();
        let mut flow = Flow::Go(Outcome::Ok);
        for line in text.lines() {
            flow = self.one_line(rt, session, line);
            if flow != Flow::Go(Outcome::Ok) {
                self.pending.clear();
                break;
            }
        }
        flow
    }
}

/// Says what is wrong with `command` and fails.
fn invalid(session: &mut Session, command: &str, message: &str) -> Flow {
    session.io().say_error(&format!("{command}: {message}"));
    Flow::Go(Outcome::SqlError)
}

/// psql's `\timing` line: `Time: 0.512 ms`, with minutes and seconds past a second.
fn timing_line(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("Time: {ms:.3} ms")
    } else {
        let secs = elapsed.as_secs_f64();
        let minutes = (secs / 60.0).floor();
        format!(
            "Time: {ms:.3} ms ({:02}:{:06.3})",
            minutes as u64,
            secs - minutes * 60.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{timing_line, Runner};
    use crate::repl::vars::Vars;
    use crate::sql;
    use std::time::Duration;

    /// The SQL part `cut` adds to an empty buffer, and the meta-command after it.
    fn cut(line: &str) -> (String, Option<String>) {
        let mut r = Runner::default();
        let meta = r.cut(line);
        (r.pending.as_str().to_string(), meta)
    }

    #[test]
    fn backslash_ends_the_sql_part_only_in_plain_sql() {
        assert_eq!(
            cut("select 1 \\g"),
            ("select 1 ".into(), Some("\\g".into()))
        );
        assert_eq!(
            cut("select 1; \\dt"),
            ("select 1; ".into(), Some("\\dt".into()))
        );
        assert_eq!(cut("select '\\g'"), ("select '\\g'".into(), None));
        assert_eq!(cut("select 1 -- \\g"), ("select 1 -- \\g".into(), None));
        assert_eq!(cut("-- \\g"), ("-- \\g".into(), None));
        assert_eq!(
            cut("select $$\\g$$ \\gx"),
            ("select $$\\g$$ ".into(), Some("\\gx".into()))
        );
        assert_eq!(
            cut("select (1 \\g"),
            ("select (1 ".into(), Some("\\g".into()))
        );
        assert_eq!(
            cut("select E'\\' \\g' \\g"),
            ("select E'\\' \\g' ".into(), Some("\\g".into()))
        );
        assert_eq!(
            cut("create function f() returns int language sql begin atomic select 1 \\g"),
            (
                "create function f() returns int language sql begin atomic select 1 ".into(),
                Some("\\g".into())
            )
        );
    }

    #[test]
    fn a_string_open_from_an_earlier_line_hides_the_backslash() {
        let mut r = Runner::default();
        r.pending.push_str("select 'a\n");
        assert_eq!(r.status(), Some('\''));
        assert_eq!(r.cut("\\g' \\p"), Some("\\p".into()));
        assert_eq!(r.pending.as_str(), "select 'a\n\\g' ");
    }

    #[test]
    fn variables_expand_in_plain_sql_only() {
        let mut vars = Vars::default();
        vars.set("x", "'v'");
        let mut r = Runner::new(vars);
        let line = "select :x, ':x', $$:x$$, \":x\", /* :x */ :'x', :x::text, (:x) -- :x";
        assert_eq!(r.cut(line), None);
        assert_eq!(
            r.pending.as_str(),
            "select 'v', ':x', $$:x$$, \":x\", /* :x */ '''v''', 'v'::text, ('v') -- :x"
        );
    }

    /// Feeds `text` to the runner line by line as a script reads it, without a server:
    /// the statements each line completes, as they would be sent.
    fn read(r: &mut Runner, text: &str) -> Vec<String> {
        let mut sent = Vec::new();
        for line in text.lines() {
            if let Some(meta) = r.cut(line) {
                panic!("no meta-command expected: {meta}");
            }
            r.pending.push_str("\n");
            sent.extend(r.pending.take_complete().into_iter().map(|s| s.text));
        }
        sent
    }

    #[test]
    fn reading_lexes_each_byte_once_however_long_the_open_statement() {
        // A 5,000-line PL/pgSQL body with `:=` on every line, a set variable's `:x`
        // (not expanded inside the dollar quote) and backslashes in a string: each `:x`
        // and backslash asks whether it is in plain SQL, and each line whether it ended
        // a statement. Lexing the open statement again for either (as the reader once
        // did, up to seven times per question) is quadratic here.
        let mut vars = Vars::default();
        vars.set("x", "1");
        let mut r = Runner::new(vars);
        let mut body = String::from(
            "create function f() returns int language plpgsql as $body$\ndeclare v int := 0;\nbegin\n",
        );
        for n in 0..5_000 {
            body.push_str(&format!("  v := v + {n} + :x + length(E'\\\\\\'');\n"));
        }
        body.push_str("  return v;\nend\n$body$;\n");
        let before = sql::split::lexed::total();
        let sent = read(&mut r, &body);
        let lexed = sql::split::lexed::total() - before;
        assert_eq!(
            sent,
            [body.clone()],
            "one statement, sent whole and unexpanded"
        );
        assert!(
            lexed <= body.len(),
            "{lexed} bytes lexed for a statement of {}",
            body.len()
        );

        // One statement with 10,000 `::` casts and half as many `:x` expanded in plain
        // SQL, on one line; then twice that over 10,000 lines.
        let mut r = Runner::new(r.vars.clone());
        let cast = "  + :x::int::bigint";
        let one_line = format!("select 0{};", cast.repeat(5_000));
        let many_lines = format!("select 0\n{}\n;", format!("{cast}\n").repeat(10_000));
        for text in [one_line, many_lines] {
            let before = sql::split::lexed::total();
            let sent = read(&mut r, &text);
            let lexed = sql::split::lexed::total() - before;
            assert_eq!(sent.len(), 1);
            assert_eq!(sent[0].matches("::").count(), text.matches("::").count());
            assert!(!sent[0].contains(":x"), "every :x expanded");
            assert!(
                lexed <= sent[0].len(),
                "{lexed} bytes lexed for a statement of {}",
                sent[0].len()
            );
        }
    }

    #[test]
    fn timing_as_psql_prints_it() {
        assert_eq!(timing_line(Duration::from_micros(512)), "Time: 0.512 ms");
        assert_eq!(
            timing_line(Duration::from_millis(61_500)),
            "Time: 61500.000 ms (01:01.500)"
        );
    }
}
