//! Where a session's words go: results to one stream, errors, notices and warnings to
//! the other. This is the one writer to the terminal: everything passes through
//! [`Text::to_screen`], which escapes every span before pgward adds its own colour, so
//! no string from the server or the user (a value, a name, a tag, a notice, an echoed
//! statement) can drive the terminal of the shared screen. The one control sequence
//! pgward writes besides its colours is its own: the live line of a long wait is redrawn
//! in place (`\r`, erase line) on a terminal ([`Io::live_line`]).

use std::io::Write;

use crate::render::{Paint, Style, Text};

/// The session's output streams and its colour decision.
pub struct Io {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    style: Style,
    live: bool,
}

impl Io {
    /// Results to `out`, messages to `err`, coloured when `style` says so.
    pub fn new(out: Box<dyn Write>, err: Box<dyn Write>, style: Style) -> Io {
        Io {
            out,
            err,
            style,
            live: false,
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
