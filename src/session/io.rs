//! Where a session's words go: results to one stream, errors, notices and warnings to
//! the other. This is the one writer to the terminal: everything passes through
//! [`Text::to_screen`], which escapes every span before pgward adds its own colour, so
//! no string from the server or the user (a value, a name, a tag, a notice, an echoed
//! statement) can drive the terminal of the shared screen. The one control sequence
//! pgward writes besides its colours is its own: the live line of a long wait is redrawn
//! in place (`\r`, erase line) on a terminal ([`Io::live_line`]).
//!
//! Query results and command tags ([`Io::result`], [`Io::result_tag`]) are drawn with
//! psql's printing options ([`Pset`]) and go where psql sends them: to the `\o` file
//! when one is set, else through the pager when the result is taller or wider than the
//! terminal ([`super::pager`]), else to the results stream.

use std::io::Write;

use crate::render::copy::CopyFormat;
use crate::render::print::{self, Part, Target};
use crate::render::pset::Pset;
use crate::render::table::Column;
use crate::render::{escape, Paint, Style, Text};

use super::pager;

/// The session's output streams and its colour decision.
pub struct Io {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    style: Style,
    live: bool,
    /// psql's printing options.
    pset: Pset,
    /// `-q`: no command tags and no confirmations of settings.
    quiet: bool,
    /// The results stream is a terminal (the pager and `\x auto` apply).
    out_terminal: bool,
    /// `\o FILE`: where results go instead.
    file: Option<Box<dyn Write>>,
    /// The pager showing the result being drawn.
    pager: Option<pager::Running>,
    /// `\gx`: the next results are expanded.
    expanded_once: bool,
    /// `\copy … TO`: rows go out as COPY data, not as a table.
    copy: Option<CopySink>,
}

/// Where `\copy … TO` writes, in which format, and how many rows so far.
struct CopySink {
    format: CopyFormat,
    /// The client file (written as it is: data, not a screen); `None`: where results go.
    file: Option<Box<dyn Write>>,
    rows: u64,
    /// The first write that failed: nothing more is written, and the command fails.
    error: Option<std::io::Error>,
}

impl Io {
    /// Results to `out`, messages to `err`, coloured when `style` says so.
    pub fn new(out: Box<dyn Write>, err: Box<dyn Write>, style: Style) -> Io {
        Io {
            out,
            err,
            style,
            live: false,
            pset: Pset::default(),
            quiet: false,
            out_terminal: false,
            file: None,
            pager: None,
            expanded_once: false,
            copy: None,
        }
    }

    /// `\copy … TO`: from now on rows are written as COPY data in `format`, to `file`
    /// (as they are) or, without one, where results go (escaped, as all screen text).
    pub fn start_copy(&mut self, format: CopyFormat, file: Option<Box<dyn Write>>) {
        self.copy = Some(CopySink {
            format,
            file,
            rows: 0,
            error: None,
        });
    }

    /// Ends `\copy … TO`: the rows written (the file is flushed and closed).
    pub fn end_copy(&mut self) -> Result<u64, std::io::Error> {
        match self.copy.take() {
            Some(CopySink { error: Some(e), .. }) => Err(e),
            Some(CopySink {
                file: Some(mut f),
                rows,
                ..
            }) => f.flush().map(|()| rows),
            Some(sink) => Ok(sink.rows),
            None => Ok(0),
        }
    }

    /// `terminal`: the results stream is a terminal, where the pager and `\x auto` apply.
    pub fn with_terminal(mut self, terminal: bool) -> Io {
        self.out_terminal = terminal;
        self
    }

    /// psql's printing options.
    pub fn pset(&self) -> &Pset {
        &self.pset
    }

    /// psql's printing options, to change.
    pub fn pset_mut(&mut self) -> &mut Pset {
        &mut self.pset
    }

    /// `-q`: command tags and confirmations are not shown.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    /// Whether `-q` is in effect.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// `\o`: results go to `file` from now on (`None`: to the results stream again);
    /// returns where they went before.
    pub fn set_output(&mut self, file: Option<Box<dyn Write>>) -> Option<Box<dyn Write>> {
        if let Some(f) = &mut self.file {
            let _ = f.flush();
        }
        std::mem::replace(&mut self.file, file)
    }

    /// `\gx`: results are expanded until this is switched off again.
    pub fn set_expanded_once(&mut self, on: bool) {
        self.expanded_once = on;
    }

    /// The terminal's size (columns, rows) when results go to a terminal.
    fn terminal(&self) -> Option<(u16, u16)> {
        if !self.out_terminal || self.file.is_some() {
            return None;
        }
        let (cols, rows) = crossterm::terminal::size().ok()?;
        // psql takes $COLUMNS over the terminal's own width.
        let cols = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<u16>().ok())
            .filter(|c| *c > 0)
            .unwrap_or(cols);
        Some((cols, rows))
    }

    /// Draws a piece of a query result with the printing options, and sends it to the
    /// `\o` file, the pager or the results stream. The pager starts with the first
    /// piece of a result that needs it and is waited for after the last.
    pub fn result(&mut self, columns: &[Column], rows: &[Vec<Option<String>>], part: Part) {
        if let Some(sink) = &mut self.copy {
            let mut data = String::new();
            if part.start && sink.format.header {
                data.push_str(&sink.format.header_line(columns));
            }
            sink.format.rows(rows, &mut data);
            sink.rows += rows.len() as u64;
            match &mut sink.file {
                Some(_) if sink.error.is_some() => {}
                Some(f) => sink.error = f.write_all(data.as_bytes()).err(),
                None => self.write_result(escape::multi_line(&data).as_bytes()),
            }
            return;
        }
        self.draw(columns, rows, part, &self.pset.clone(), None);
    }

    /// A describe page (`\d NAME`) as psql prints one: the user's `\pset` and `\x`
    /// with `title` above and, when given, the page's own `footers` instead of `(N rows)`.
    /// `never_expanded` pages ignore `\x`, as psql's do. Title and footers come
    /// escaped to one line each
    /// ([`crate::repl::describe::page::Page`] does that).
    pub fn result_page(
        &mut self,
        title: Option<String>,
        columns: &[Column],
        rows: &[Vec<Option<String>>],
        footers: Option<&[String]>,
        never_expanded: bool,
    ) {
        let mut pset = self.pset.clone();
        pset.title = title;
        // psql's describe commands set nullPrint to NULL: an empty cell, whatever
        // `\pset null` says.
        pset.null.clear();
        if never_expanded {
            pset.expanded = crate::render::pset::Expanded::Off;
        }
        self.draw(columns, rows, Part::WHOLE, &pset, footers);
    }

    fn draw(
        &mut self,
        columns: &[Column],
        rows: &[Vec<Option<String>>],
        part: Part,
        pset: &crate::render::pset::Pset,
        footers: Option<&[String]>,
    ) {
        let terminal = self.terminal();
        let target = Target {
            pset,
            columns: terminal.map_or(0, |(c, _)| usize::from(c)),
            force_expanded: self.expanded_once,
            footers,
        };
        let text = escape::multi_line(&print::table(columns, rows, target, part));
        if part.start && self.pager.is_none() {
            self.start_pager(&text, terminal, !part.stop);
        }
        self.write_result(text.as_bytes());
        if part.stop {
            if let Some(p) = self.pager.take() {
                p.finish();
            }
        }
    }

    /// Starts the pager for `text` (the first piece of it when `streamed`) when
    /// `\pset pager` and the terminal's size call for one.
    fn start_pager(&mut self, text: &str, terminal: Option<(u16, u16)>, streamed: bool) {
        if terminal.is_none() {
            return;
        }
        let (lines, width) = measure(text);
        if pager::wanted(self.pset.pager, terminal, lines, width, streamed) {
            if let Some(command) = pager::command() {
                match pager::Running::start(&command) {
                    Ok(p) => self.pager = Some(p),
                    Err(e) => self.say_warn(&format!(
                        "pgward: cannot start the pager {}: {e}",
                        escape::one_line(&command)
                    )),
                }
            }
        }
    }

    /// Text drawn as a result (a function's source, `\h` help), where results go: the
    /// `\o` file, the pager when it is taller or wider than the terminal, or the results
    /// stream. Escaped like everything else.
    pub fn result_text(&mut self, text: &str) {
        let text = escape::multi_line(text);
        let paged = self.pager.is_none();
        if paged {
            self.start_pager(&text, self.terminal(), false);
        }
        self.write_result(text.as_bytes());
        if paged {
            if let Some(p) = self.pager.take() {
                p.finish();
            }
        }
    }

    /// The width of the terminal results are shown on; `None` when they do not go to
    /// one. Unlike a table's width this ignores `\o` and `$COLUMNS`, as psql's `\h`
    /// list does.
    pub fn screen_width(&self) -> Option<u16> {
        if !self.out_terminal {
            return None;
        }
        crossterm::terminal::size().ok().map(|(cols, _)| cols)
    }

    /// A command tag (`INSERT 0 1`), where results go; not with `-q`.
    pub fn result_tag(&mut self, tag: &str) {
        if !self.quiet {
            let line = format!("{}\n", escape::one_line(tag));
            self.write_result(line.as_bytes());
        }
    }

    fn write_result(&mut self, bytes: &[u8]) {
        if let Some(p) = &mut self.pager {
            p.write(bytes);
        } else if let Some(f) = &mut self.file {
            let _ = f.write_all(bytes).and_then(|()| f.flush());
        } else {
            let _ = self.out.write_all(bytes);
            let _ = self.out.flush();
        }
    }

    /// `live`: the message stream is a terminal, where a live line can be redrawn in
    /// place.
    pub fn with_live(mut self, live: bool) -> Io {
        self.live = live;
        self
    }

    /// Whether a live line is redrawn in place (else written once per line).
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Shows `s` as the live line on the message stream: on a terminal it replaces the
    /// line in place, elsewhere it is written as a line of its own.
    pub fn live_line(&mut self, s: &str) {
        let shown = Text::plain(crate::render::escape::one_line(s)).to_screen(self.style);
        let _ = if self.live {
            write!(self.err, "\r\x1b[2K{shown}")
        } else {
            writeln!(self.err, "{shown}")
        };
        let _ = self.err.flush();
    }

    /// Erases the live line on a terminal; elsewhere there is nothing to erase.
    pub fn erase_live_line(&mut self) {
        if self.live {
            let _ = write!(self.err, "\r\x1b[2K");
            let _ = self.err.flush();
        }
    }

    /// Whether output is coloured.
    pub fn style(&self) -> Style {
        self.style
    }

    /// Writes `text` to the results stream as it is (no newline added).
    pub fn out(&mut self, text: &Text) {
        let s = text.to_screen(self.style);
        let _ = self.out.write_all(s.as_bytes());
        let _ = self.out.flush();
    }

    /// Writes `text` to the message stream as it is (no newline added).
    pub fn err(&mut self, text: &Text) {
        let s = text.to_screen(self.style);
        let _ = self.err.write_all(s.as_bytes());
        let _ = self.err.flush();
    }

    /// A line of results.
    pub fn say_out(&mut self, s: &str) {
        let mut t = Text::plain(s);
        t.push("\n");
        self.out(&t);
    }

    /// Message text, as it is.
    pub fn say_err(&mut self, s: &str) {
        self.err(&Text::plain(s));
    }

    /// An error line, in the error colour.
    pub fn say_error(&mut self, s: &str) {
        self.painted_line(s, Paint::Error);
    }

    /// A warning line, in the warning colour.
    pub fn say_warn(&mut self, s: &str) {
        self.painted_line(s, Paint::Warn);
    }

    /// `HINT:  …`
    pub fn say_hint(&mut self, s: &str) {
        self.err(&Text::plain(format!("HINT:  {s}\n")));
    }

    /// `NOTE:  …`
    pub fn say_note(&mut self, s: &str) {
        self.err(&Text::plain(format!("NOTE:  {s}\n")));
    }

    fn painted_line(&mut self, s: &str, paint: Paint) {
        let mut t = Text::painted(s, paint);
        t.push("\n");
        self.err(&t);
    }
}

/// Lines and widest line of `text`, in terminal columns.
fn measure(text: &str) -> (usize, usize) {
    use unicode_width::UnicodeWidthStr;
    text.lines()
        .fold((0, 0), |(n, w), line| (n + 1, w.max(line.width())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_say_escapes() {
        let (out, err) = (Shared::default(), Shared::default());
        let mut io = Io::new(
            Box::new(out.clone()),
            Box::new(err.clone()),
            Style { color: true },
        );
        let hostile = "x\u{1b}[2J\u{202e}\u{1b}[1;5r";
        io.say_out(hostile);
        io.say_err(hostile);
        io.say_error(hostile);
        io.say_warn(hostile);
        io.say_hint(hostile);
        io.say_note(hostile);
        let out = String::from_utf8(out.0.borrow().clone()).expect("utf8");
        let err = String::from_utf8(err.0.borrow().clone()).expect("utf8");
        assert_eq!(out, "x\\x1b[2J\\u{202e}\\x1b[1;5r\n");
        let plain = crate::render::text::without_colour(&err);
        assert_eq!(crate::render::text::foreign(&plain), None, "{err:?}");
        assert_eq!(plain.matches("x\\x1b[2J\\u{202e}\\x1b[1;5r").count(), 5);
    }
}
