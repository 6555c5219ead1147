//! The server never holds a named prepared statement of pgward's: the frontend messages
//! tokio-postgres writes are rewritten on their way out ([`super::bridge`]) so that every
//! statement it names is the server's unnamed one. tokio-postgres prepares named
//! statements (`s0`, `s1`, … from one process-wide counter, so the same names in every
//! client): for `Client::prepare`, and for the type lookups it caches forever once a
//! result names a type it does not know (an enum, a composite, a range or array of
//! those, an extension's type). Behind PgBouncer in transaction mode, a statement left
//! on a pooled backend collides with another client's of the same name (42P05), and one
//! parsed on one backend is bound on another (26000).
//!
//! A Parse of name N is sent as a Parse of the unnamed statement, and N's text and
//! parameter types are kept. A Describe or Bind of N is sent for the unnamed statement,
//! after a Parse of N's text inserted first unless the server's unnamed statement is
//! already N's. That is known only within one Sync segment: any other Parse or a simple
//! Query replaces the unnamed statement, and after a Sync the pooler may hand the next
//! segment to another backend. A Close of N forgets N and closes the unnamed statement
//! (which is no error when there is none), so tokio-postgres gets the CloseComplete it
//! waits for. A name the bridge does not know (never parsed here) goes out as it is, for
//! the server to refuse (26000).
//!
//! A statement parsed again may not be the one tokio-postgres described: a table may
//! have changed in between, or the pooler's next backend may resolve a name otherwise.
//! The server would refuse a named statement whose result changed ("cached plan must
//! not change result type"); here the inserted Parse is followed by an inserted
//! Describe, and its parameter and row descriptions must be byte for byte the ones
//! tokio-postgres got for N, or the connection ends (an io error) before a row is
//! decoded with the wrong types or a parameter is sent as the wrong one.
//!
//! The answers of the inserted messages are swallowed, and nothing else: the server
//! answers Parses and Describes in order, so a queue of those sent, with each segment's
//! end, says which answer is whose. After an error the server skips to the Sync, so the
//! unanswered requests of that segment are dropped. An answer the queue does not expect
//! is an io error that ends the connection: tokio-postgres never gets a wrong answer.
//! Everything else passes as it comes, CopyData and the startup phase (StartupMessage,
//! SSLRequest, passwords) included; only Parse, Bind, Describe and Close are gathered
//! whole, which holds at most one message.

use std::collections::{HashMap, VecDeque};
use std::io;

use bytes::{BufMut, BytesMut};

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("malformed frontend message: {what}"),
    )
}

fn out_of_step(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the server's answers are out of step with the requests: {what}"),
    )
}

/// A named statement as tokio-postgres parsed and described it.
#[derive(Debug, Default)]
struct Named {
    /// The body of its Parse after the name (text, parameter count and types), which an
    /// inserted Parse repeats.
    parsed: Vec<u8>,
    /// The server's ParameterDescription body for it.
    params: Option<Vec<u8>>,
    /// The server's RowDescription (`T` and its body) or NoData (`n`) for it.
    rows: Option<(u8, Vec<u8>)>,
}

/// What the server still owes, in order, as far as this module cares. An answer to a
/// request inserted here is swallowed; a Describe inserted here carries the answer it
/// must get (what tokio-postgres got for the name).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owed {
    /// A ParseComplete (of this name, if named).
    Parse {
        inserted: bool,
        name: Option<Vec<u8>>,
    },
    /// The ParameterDescription of a Describe of a statement: the one expected (an
    /// inserted Describe), or one to keep for the name.
    Params {
        expect: Option<Vec<u8>>,
        name: Option<Vec<u8>>,
    },
    /// The RowDescription or NoData of a Describe: as above; of a portal, no name.
    Rows {
        expect: Option<(u8, Vec<u8>)>,
        name: Option<Vec<u8>>,
    },
    /// A ReadyForQuery: for a Sync, or for a simple Query.
    Ready { sync: bool },
}

impl Owed {
    /// A request of the extended protocol, which an error skips.
    fn skipped_by_error(&self) -> bool {
        !matches!(self, Owed::Ready { .. })
    }
}

/// The frontend message being read.
#[derive(Debug, Default)]
struct Front {
    typed: bool,
    head: Vec<u8>,
    tag: u8,
    /// The whole message, for Parse, Bind, Describe and Close.
    whole: Option<Vec<u8>>,
    left: usize,
}

/// The de-naming of one connection; see the module docs.
#[derive(Debug, Default)]
pub struct Unnamed {
    front: Front,
    statements: HashMap<Vec<u8>, Named>,
    /// The named statement the server's unnamed statement is, in this Sync segment.
    current: Option<Vec<u8>>,
    owed: VecDeque<Owed>,
    /// The server answered this segment with an error before its Sync was written: it
    /// skips every message up to that Sync, so nothing written until then is owed.
    skipping: bool,
}

/// Splits a NUL-terminated string off `body` at `at`: the string and where the rest
/// starts.
fn cstr(body: &[u8], at: usize) -> io::Result<(&[u8], usize)> {
    let rest = body
        .get(at..)
        .ok_or_else(|| bad("a field runs past its end"))?;
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| bad("a string without its end"))?;
    Ok((&rest[..end], at + end + 1))
}

/// Appends a typed message.
fn put(out: &mut BytesMut, tag: u8, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum::<usize>() + 4;
    let len = u32::try_from(len)
        .ok()
        .filter(|l| *l <= i32::MAX as u32)
        .ok_or_else(|| bad("a message too long"))?;
    out.reserve(1 + len as usize);
    out.put_u8(tag);
    out.put_u32(len);
    for p in parts {
        out.extend_from_slice(p);
    }
    Ok(())
}

impl Unnamed {
    /// Whether no frontend message is half read: the stream may change hands.
    pub fn between_messages(&self) -> bool {
        self.front.head.is_empty() && self.front.left == 0 && self.front.whole.is_none()
    }

    /// Takes in what tokio-postgres wrote; appends what the server is to get to `out`.
    pub fn frontend(&mut self, mut bytes: &[u8], out: &mut BytesMut) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.front.left == 0 && self.front.whole.is_none() {
                let head = if self.front.typed { 5 } else { 8 };
                let n = (head - self.front.head.len()).min(bytes.len());
                self.front.head.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if self.front.head.len() == head {
                    self.head(out)?;
                }
                continue;
            }
            let n = self.front.left.min(bytes.len());
            match self.front.whole.as_mut() {
                Some(whole) => whole.extend_from_slice(&bytes[..n]),
                None => out.extend_from_slice(&bytes[..n]),
            }
            self.front.left -= n;
            bytes = &bytes[n..];
            if self.front.left == 0 {
                if let Some(whole) = self.front.whole.take() {
                    self.message(&whole, out)?;
                }
            }
        }
        Ok(())
    }

    /// Queues what the server owes for a message written, unless the server is skipping
    /// it after an error ([`Unnamed::skipping`]); a Sync ends that, and is owed its
    /// ReadyForQuery.
    fn owe(&mut self, owed: Owed) {
        if matches!(owed, Owed::Ready { sync: true }) {
            self.skipping = false;
        }
        if !self.skipping {
            self.owed.push_back(owed);
        }
    }

    /// A message's head is in: decides whether it is gathered or passes as it comes.
    fn head(&mut self, out: &mut BytesMut) -> io::Result<()> {
        let h = std::mem::take(&mut self.front.head);
        if !self.front.typed {
            let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            let code = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            self.front.left = (len as usize)
                .checked_sub(8)
                .ok_or_else(|| bad("a startup message too short"))?;
            if !matches!(code, SSL_REQUEST | GSSENC_REQUEST | CANCEL_REQUEST) {
                self.front.typed = true;
            }
            out.extend_from_slice(&h);
            return Ok(());
        }
        let tag = h[0];
        let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]);
        self.front.tag = tag;
        self.front.left = (len as usize)
            .checked_sub(4)
            .ok_or_else(|| bad("a length under 4"))?;
        match tag {
            b'P' | b'B' | b'D' | b'C' => {
                if self.front.left == 0 {
                    return Err(bad("an empty Parse, Bind, Describe or Close"));
                }
                self.front.whole = Some(Vec::with_capacity(self.front.left));
                return Ok(());
            }
            b'S' => {
                self.current = None;
                self.owe(Owed::Ready { sync: true });
            }
            b'Q' => {
                self.current = None;
                self.owe(Owed::Ready { sync: false });
            }
            _ => {}
        }
        out.extend_from_slice(&h);
        Ok(())
    }

    /// A whole Parse, Bind, Describe or Close (its body): what the server gets instead.
    fn message(&mut self, body: &[u8], out: &mut BytesMut) -> io::Result<()> {
        let tag = self.front.tag;
        match tag {
            b'P' => {
                let (name, rest) = cstr(body, 0)?;
                let parsed = &body[rest..];
                if name.is_empty() {
                    self.current = None;
                    self.owe(Owed::Parse {
                        inserted: false,
                        name: None,
                    });
                    return put(out, tag, &[body]);
                }
                let named = Named {
                    parsed: parsed.to_vec(),
                    ..Named::default()
                };
                self.statements.insert(name.to_vec(), named);
                self.current = Some(name.to_vec());
                self.owe(Owed::Parse {
                    inserted: false,
                    name: Some(name.to_vec()),
                });
                put(out, tag, &[b"\0", parsed])
            }
            b'B' => {
                let (portal, at) = cstr(body, 0)?;
                let (name, rest) = cstr(body, at)?;
                if !self.use_statement(name, out)? {
                    return put(out, tag, &[body]);
                }
                put(out, tag, &[portal, b"\0\0", &body[rest..]])
            }
            b'D' | b'C' => {
                let kind = body[0];
                let (name, rest) = cstr(body, 1)?;
                if rest != body.len() {
                    return Err(bad("bytes after a Describe or Close"));
                }
                if kind != b'S' {
                    if tag == b'D' {
                        self.owe(Owed::Rows {
                            expect: None,
                            name: None,
                        });
                    }
                    return put(out, tag, &[body]);
                }
                if tag == b'C' {
                    // The unnamed statement is closed for any name: it is no error
                    // when there is none, and the CloseComplete is what was asked.
                    self.statements.remove(name);
                    self.current = None;
                    return put(out, tag, &[b"S\0"]);
                }
                let unnamed = self.use_statement(name, out)?;
                let named = (!name.is_empty()).then(|| name.to_vec());
                self.owe(Owed::Params {
                    expect: None,
                    name: named.clone(),
                });
                self.owe(Owed::Rows {
                    expect: None,
                    name: named,
                });
                match unnamed {
                    true => put(out, tag, &[b"S\0"]),
                    false => put(out, tag, &[body]),
                }
            }
            _ => put(out, tag, &[body]),
        }
    }

    /// Makes the server's unnamed statement `name`'s, inserting its Parse (and a
    /// Describe that checks it, once `name` was described) when it is not already;
    /// false when the message goes out as it is (the unnamed statement, or a name never
    /// parsed here, for the server to refuse). The caller queues its own requests after.
    fn use_statement(&mut self, name: &[u8], out: &mut BytesMut) -> io::Result<bool> {
        if name.is_empty() {
            return Ok(false);
        }
        let Some(named) = self.statements.get(name) else {
            return Ok(false);
        };
        if self.current.as_deref() == Some(name) {
            return Ok(true);
        }
        put(out, b'P', &[b"\0", &named.parsed])?;
        let described = match (&named.params, &named.rows) {
            (Some(params), Some(rows)) => Some((params.clone(), rows.clone())),
            _ => None,
        };
        let name = Some(name.to_vec());
        self.owe(Owed::Parse {
            inserted: true,
            name: name.clone(),
        });
        if let Some((params, rows)) = described {
            put(out, b'D', &[b"S\0"])?;
            self.owe(Owed::Params {
                expect: Some(params),
                name: name.clone(),
            });
            self.owe(Owed::Rows {
                expect: Some(rows),
                name: name.clone(),
            });
        }
        self.current = name;
        Ok(true)
    }

    /// Takes in a backend message: whether tokio-postgres gets it (false: the answer
    /// to an inserted request, swallowed).
    pub fn backend(&mut self, tag: u8, body: &[u8]) -> io::Result<bool> {
        match tag {
            b'1' => match self.owed.pop_front() {
                Some(Owed::Parse { inserted, .. }) => Ok(!inserted),
                _ => Err(out_of_step("a ParseComplete no Parse asked for")),
            },
            b't' => match self.owed.pop_front() {
                Some(Owed::Params {
                    expect: Some(expect),
                    name,
                }) => same(&expect[..] == body, name).map(|()| false),
                Some(Owed::Params { expect: None, name }) => {
                    if let Some(named) = name.and_then(|n| self.statements.get_mut(&n)) {
                        named.params = Some(body.to_vec());
                    }
                    Ok(true)
                }
                _ => Err(out_of_step("a ParameterDescription no Describe asked for")),
            },
            b'T' | b'n' => match self.owed.front() {
                Some(Owed::Rows { .. }) => match self.owed.pop_front() {
                    Some(Owed::Rows {
                        expect: Some((t, expect)),
                        name,
                    }) => same(t == tag && expect[..] == *body, name).map(|()| false),
                    Some(Owed::Rows { expect: None, name }) => {
                        if let Some(named) = name.and_then(|n| self.statements.get_mut(&n)) {
                            named.rows = Some((tag, body.to_vec()));
                        }
                        Ok(true)
                    }
                    _ => Err(out_of_step("a RowDescription no Describe asked for")),
                },
                // The rows of a simple query.
                Some(Owed::Ready { sync: false }) if tag == b'T' => Ok(true),
                _ => Err(out_of_step("a RowDescription no Describe asked for")),
            },
            b'E' => {
                // The server skips to the next Sync: the rest of the segment's requests
                // get no answer, and a statement whose own Parse failed does not exist.
                while let Some(owed) = self.owed.front().filter(|o| o.skipped_by_error()) {
                    if let Owed::Parse {
                        inserted: false,
                        name: Some(name),
                    } = owed
                    {
                        self.statements.remove(name);
                    }
                    self.owed.pop_front();
                }
                // Nothing left to answer: the segment's Sync is not written yet, and
                // what is written before it is skipped too.
                if self.owed.is_empty() {
                    self.skipping = true;
                }
                Ok(true)
            }
            // A COPY started by an Execute: the server ignores a Sync that reaches it in
            // copy mode, and tokio-postgres's `copy_in` sends one right after its Execute.
            b'G' | b'W' => {
                if self.owed.front() == Some(&Owed::Ready { sync: true }) {
                    self.owed.pop_front();
                }
                Ok(true)
            }
            b'Z' => match self.owed.pop_front() {
                // The ReadyForQuery after authentication answers nothing sent.
                None | Some(Owed::Ready { .. }) => Ok(true),
                Some(_) => Err(out_of_step("a ReadyForQuery before a request's answer")),
            },
            _ => Ok(true),
        }
    }
}

/// Whether a statement parsed again was described as before: an io error when not.
fn same(same: bool, name: Option<Vec<u8>>) -> io::Result<()> {
    if same {
        return Ok(());
    }
    let name = String::from_utf8_lossy(name.as_deref().unwrap_or_default()).into_owned();
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "prepared statement {name:?} no longer has the parameters or columns it was \
             prepared with (a table changed, or the pooler's backend resolves it otherwise); \
             the connection is closed rather than read its rows with the wrong types"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn parse(name: &str, query: &str, types: &[u32]) -> Vec<u8> {
        let mut b = format!("{name}\0{query}\0").into_bytes();
        b.extend_from_slice(&(types.len() as i16).to_be_bytes());
        for t in types {
            b.extend_from_slice(&t.to_be_bytes());
        }
        message(b'P', &b)
    }

    fn bind(portal: &str, name: &str) -> Vec<u8> {
        let mut b = format!("{portal}\0{name}\0").into_bytes();
        b.extend_from_slice(&[0, 1, 0, 1, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7, 0, 1, 0, 1]);
        message(b'B', &b)
    }

    fn describe(kind: u8, name: &str) -> Vec<u8> {
        let mut b = vec![kind];
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        message(b'D', &b)
    }

    fn close(kind: u8, name: &str) -> Vec<u8> {
        let mut b = vec![kind];
        b.extend_from_slice(name.as_bytes());
        b.push(0);
        message(b'C', &b)
    }

    fn sync() -> Vec<u8> {
        message(b'S', b"")
    }

    fn execute() -> Vec<u8> {
        message(b'E', b"\0\0\0\0\0")
    }

    fn startup() -> Vec<u8> {
        let mut body = 196_608u32.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0u\0\0");
        let mut m = (body.len() as u32 + 4).to_be_bytes().to_vec();
        m.extend_from_slice(&body);
        m
    }

    /// What the server gets for `sent`, written whole, one byte at a time and cut at
    /// every point (all the same).
    fn sent_as(sent: &[Vec<u8>]) -> (Vec<u8>, Unnamed) {
        let all = sent.concat();
        let run = |cuts: &[usize]| {
            let mut u = Unnamed::default();
            let mut out = BytesMut::new();
            let mut at = 0;
            for &cut in cuts.iter().chain([all.len()].iter()) {
                u.frontend(&all[at..cut], &mut out).expect("frontend");
                at = cut;
            }
            assert!(u.between_messages());
            (out.to_vec(), u)
        };
        let (whole, u) = run(&[]);
        let bytes: Vec<usize> = (1..all.len()).collect();
        assert_eq!(run(&bytes).0, whole, "one byte per write");
        for cut in 1..all.len() {
            assert_eq!(run(&[cut]).0, whole, "cut at {cut}");
        }
        (whole, u)
    }

    /// Which of the backend `tags` reach tokio-postgres.
    fn answered(u: &mut Unnamed, tags: &[u8]) -> io::Result<Vec<u8>> {
        let mut passed = Vec::new();
        for &t in tags {
            if u.backend(t, b"")? {
                passed.push(t);
            }
        }
        Ok(passed)
    }

    /// Writes `sent` (one byte at a time), then answers with `answers`: what the
    /// server got, and the tags tokio-postgres gets.
    fn exchange(
        u: &mut Unnamed,
        sent: &[Vec<u8>],
        answers: &[(u8, &[u8])],
    ) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let mut out = BytesMut::new();
        for b in sent.concat() {
            u.frontend(&[b], &mut out)?;
        }
        let mut passed = Vec::new();
        for (tag, body) in answers {
            if u.backend(*tag, body)? {
                passed.push(*tag);
            }
        }
        Ok((out.to_vec(), passed))
    }

    #[test]
    fn a_prepared_statement_is_unnamed_and_parsed_again_in_each_segment() {
        // tokio-postgres's prepare, then two queries of it, then the Close on drop.
        let mut u = Unnamed::default();
        let unnamed = parse("", "select $1::int4", &[23]);
        let params: &[u8] = b"\0\x01\0\0\0\x17";
        let rows: &[u8] = b"\0\x01int4\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0";
        let prepare = [
            startup(),
            parse("s7", "select $1::int4", &[23]),
            describe(b'S', "s7"),
            sync(),
        ];
        let described = [(b'1', &b""[..]), (b't', params), (b'T', rows), (b'Z', b"I")];
        let (out, passed) = exchange(&mut u, &prepare, &described).expect("in step");
        let expected = [startup(), unnamed.clone(), describe(b'S', ""), sync()].concat();
        assert_eq!((out, passed), (expected, b"1tTZ".to_vec()));
        // Each query: the Parse and a Describe inserted, their answers swallowed.
        for _ in 0..2 {
            let query = [bind("", "s7"), execute(), sync()];
            let answers = [
                (b'1', &b""[..]),
                (b't', params),
                (b'T', rows),
                (b'2', b""),
                (b'D', b"\0\x01\0\0\0\x04\0\0\0\x07"),
                (b'C', b"SELECT 1\0"),
                (b'Z', b"I"),
            ];
            let (out, passed) = exchange(&mut u, &query, &answers).expect("in step");
            let expected = [
                unnamed.clone(),
                describe(b'S', ""),
                bind("", ""),
                execute(),
                sync(),
            ]
            .concat();
            assert_eq!((out, passed), (expected, b"2DCZ".to_vec()));
        }
        let (out, passed) = exchange(
            &mut u,
            &[close(b'S', "s7"), sync()],
            &[(b'3', b""), (b'Z', b"I")],
        )
        .expect("in step");
        assert_eq!(
            (out, passed),
            ([close(b'S', ""), sync()].concat(), b"3Z".to_vec())
        );
        assert!(u.owed.is_empty());
        assert!(u.statements.is_empty(), "the Close forgets the statement");
    }

    #[test]
    fn a_statement_described_otherwise_when_parsed_again_ends_the_connection() {
        // The table changed between the prepare and the query: its column is now int8.
        let mut u = Unnamed::default();
        let int4: &[u8] = b"\0\x01v\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0";
        let int8: &[u8] = b"\0\x01v\0\0\0\x40\0\0\x01\0\0\0\x14\0\x08\xff\xff\xff\xff\0\0";
        let prepare = [
            startup(),
            parse("s1", "select v from t", &[]),
            describe(b'S', "s1"),
            sync(),
        ];
        let described = [
            (b'1', &b""[..]),
            (b't', b"\0\0"),
            (b'T', int4),
            (b'Z', b"I"),
        ];
        exchange(&mut u, &prepare, &described).expect("in step");
        let query = [bind("", "s1"), execute(), sync()];
        let answers = [(b'1', &b""[..]), (b't', b"\0\0"), (b'T', int8)];
        let e = exchange(&mut u, &query, &answers).expect_err("changed");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // NoData instead of the rows is a change too.
        let mut u = Unnamed::default();
        exchange(&mut u, &prepare, &described).expect("in step");
        let answers = [(b'1', &b""[..]), (b't', b"\0\0"), (b'n', b"")];
        assert!(exchange(&mut u, &query, &answers).is_err());
    }

    #[test]
    fn within_a_segment_the_unnamed_statement_is_reused_until_replaced() {
        // Bind twice after the Parse in one segment: no insert. A Parse of the unnamed
        // statement and a simple Query each replace it.
        let sent = [
            startup(),
            parse("s1", "select 1", &[]),
            bind("", "s1"),
            bind("p", "s1"),
            parse("", "select 2", &[]),
            bind("", "s1"),
            sync(),
            bind("", "s1"),
            message(b'Q', b"select 3\0"),
            bind("", "s1"),
            sync(),
        ];
        let (out, mut u) = sent_as(&sent);
        let again = parse("", "select 1", &[]);
        let expected = [
            startup(),
            again.clone(),
            bind("", ""),
            bind("p", ""),
            parse("", "select 2", &[]),
            again.clone(),
            bind("", ""),
            sync(),
            again.clone(),
            bind("", ""),
            message(b'Q', b"select 3\0"),
            again,
            bind("", ""),
            sync(),
        ]
        .concat();
        assert_eq!(out, expected);
        let server = b"122112Z12TDCZ12Z";
        assert_eq!(answered(&mut u, server).expect("in step"), b"12212Z2TDCZ2Z");
    }

    #[test]
    fn an_error_drops_the_unanswered_parses_of_its_segment_only() {
        // Pipelined: the first segment's inserted Parse fails; the second segment's
        // answers still pass and are swallowed right.
        let sent = [
            startup(),
            parse("s1", "select 1", &[]),
            sync(),
            bind("", "s1"),
            parse("s2", "select 2", &[]),
            bind("", "s2"),
            execute(),
            sync(),
            bind("", "s1"),
            execute(),
            sync(),
        ];
        let (_, mut u) = sent_as(&sent);
        let server = b"1ZEZ12DCZ";
        assert_eq!(answered(&mut u, server).expect("in step"), b"1ZEZ2DCZ");
        assert!(u.owed.is_empty());
        // s2's own Parse got no answer: it does not exist, so it is not parsed again.
        assert!(!u.statements.contains_key(&b"s2"[..]));
        assert!(u.statements.contains_key(&b"s1"[..]));
    }

    #[test]
    fn an_answer_out_of_step_is_an_error() {
        let (_, mut u) = sent_as(&[startup(), parse("", "select 1", &[]), sync()]);
        assert!(answered(&mut u, b"11").is_err(), "a ParseComplete too many");
        let (_, mut u) = sent_as(&[startup(), parse("s1", "select 1", &[]), sync()]);
        assert!(
            answered(&mut u, b"Z").is_err(),
            "the ReadyForQuery too early"
        );
    }

    #[test]
    fn close_of_a_portal_and_describe_of_a_portal_pass() {
        let sent = [
            startup(),
            parse("s1", "select 1", &[]),
            bind("p", "s1"),
            describe(b'P', "p"),
            close(b'P', "p"),
            close(b'S', "s1"),
            sync(),
            // An unknown name goes out as it is, for the server to refuse.
            bind("", "s9"),
            sync(),
        ];
        let (out, _) = sent_as(&sent);
        let expected = [
            startup(),
            parse("", "select 1", &[]),
            bind("p", ""),
            describe(b'P', "p"),
            close(b'P', "p"),
            close(b'S', ""),
            sync(),
            bind("", "s9"),
            sync(),
        ]
        .concat();
        assert_eq!(out, expected);
    }

    #[test]
    fn copy_data_and_the_startup_phase_pass_untouched() {
        let mut ssl = 8u32.to_be_bytes().to_vec();
        ssl.extend_from_slice(&SSL_REQUEST.to_be_bytes());
        // CopyData holding what looks like a Parse of a named statement.
        let copy = message(b'd', &parse("s1", "x", &[]));
        let sent = [
            ssl,
            startup(),
            message(b'p', b"secret\0"),
            message(b'Q', b"copy t from stdin\0"),
            copy,
            message(b'c', b""),
        ];
        let (out, mut u) = sent_as(&sent);
        assert_eq!(out, sent.concat());
        assert_eq!(answered(&mut u, b"RZGCZ").expect("in step"), b"RZGCZ");
    }

    #[test]
    fn a_copy_from_an_execute_consumes_the_ignored_sync() {
        // tokio-postgres's copy_in of a prepared statement: the Sync after the Execute
        // reaches the server in copy mode and gets no ReadyForQuery.
        let sent = [
            startup(),
            parse("s1", "copy t from stdin", &[]),
            describe(b'S', "s1"),
            sync(),
            bind("", "s1"),
            execute(),
            sync(),
            message(b'd', b"1\n"),
            message(b'c', b""),
            sync(),
            bind("", "s1"),
            sync(),
        ];
        let (_, mut u) = sent_as(&sent);
        let server = b"1tnZ12GCZ12Z";
        assert_eq!(answered(&mut u, server).expect("in step"), b"1tnZ2GCZ2Z");
        assert!(u.owed.is_empty());
    }

    /// tokio-postgres's query_typed: Parse "", Bind, Describe S "", Execute, Sync. The
    /// Parse fails and its ErrorResponse is read before the bridge took the Describe
    /// (the bounded buffer said Pending after a large Bind). The server skips the rest
    /// up to the Sync and answers it with one ReadyForQuery.
    #[test]
    fn what_follows_in_the_segment_is_not_owed() {
        let mut u = Unnamed::default();
        let mut out = BytesMut::new();
        let first = [
            startup(),
            message(b'P', b"\0selec 1\0\0\0"),
            message(b'B', b"\0\0\0\0\0\0\0\0"),
        ]
        .concat();
        u.frontend(&first, &mut out).unwrap();
        assert!(u.backend(b'E', b"").unwrap());
        let rest = [
            message(b'D', b"S\0"),
            message(b'E', b"\0\0\0\0\0"),
            message(b'S', b""),
        ]
        .concat();
        u.frontend(&rest, &mut out).unwrap();
        // The server's only answer to the rest: ReadyForQuery.
        let z = u.backend(b'Z', b"I");
        assert!(z.is_ok(), "connection ended: {z:?}; owed {:?}", u.owed);
    }
}
