//! The byte bridge between the socket (or the TLS stream) and tokio-postgres: every
//! text field tokio-postgres decodes as `str` reaches it as valid UTF-8, whatever the
//! server sent. A SQL_ASCII database may hold any bytes (Latin-1 text from an old
//! application, say), and with `client_encoding = SQL_ASCII` (which pgward sets there,
//! see [`super::connect`]) the server sends them as stored: in values, but also in
//! column and table names, command tags, errors and notices, and settings. tokio-postgres
//! fails on such a field, so the bridge rewrites it first, each byte of an invalid
//! sequence as `\xe9` (the notation of [`crate::render::escape::bytes`]), and counts
//! every byte it escapes in [`Escapes`], which the session reads so that no capture,
//! digest or undo ever takes an escaped value for the stored one.
//!
//! It follows the protocol only as far as it must. Backend messages are framed
//! (split reads and many messages per read alike, one message buffered at most; a
//! malformed length is an io error); the ones that carry text (`T` RowDescription
//! names, `D` DataRow fields, `C` tags, `E`/`N` fields, `S` ParameterStatus, `A`
//! notifications, `v` option names) are checked with `std::str::from_utf8` and copied
//! only when one must change, so a UTF-8 stream passes unchanged. CopyData (`d`) passes
//! as it comes, never looked at: `\copy` and COPY's rows carry the stored bytes.
//! A DataRow field is text when its result format is text: a simple query's
//! RowDescription says so; in the extended protocol the formats come from the
//! frontend's Bind and apply after the matching BindComplete (tokio-postgres pipelines,
//! and an error skips to the next Sync, so the frontend's messages are queued and the
//! backend's answers consume them in order). A binary field is escaped only when its
//! type's binary form is the text itself (`text`, `varchar`, `name`, …), which
//! tokio-postgres decodes as `str` too; anything else binary (a `bytea`) passes byte
//! for byte. Where the format is not known the row passes untouched.
//!
//! Only a SQL_ASCII database sends such bytes: when the server names another
//! encoding at startup (ParameterStatus `server_encoding`), it converts every text to
//! UTF-8 itself and the bridge rewrites nothing at all, so a field it misjudged could
//! never be changed in any other database.
//!
//! On the way out, the bridge sends every frontend message through [`Unnamed`], which
//! makes each prepared statement tokio-postgres names the server's unnamed one, in every
//! database (see [`super::unnamed`]), and tells which ParseComplete to swallow on the way
//! back. Its rewritten messages wait in a bounded buffer that `poll_write`, `poll_flush`
//! and `poll_read` drain: a write is accepted only while the buffer has room, so a long
//! `\copy … from stdin` waits for the socket rather than filling memory. The
//! bookkeeping above (the request queue, the formats) follows the messages as
//! tokio-postgres wrote them and the answers it gets.
//!
//! The process id of the BackendKeyData (`K`) is recorded as it passes
//! ([`super::backend_key`]): the session compares it with `pg_backend_pid()` to tell a
//! pooler in between.
//!
//! The untyped startup phase passes untouched: an SSLRequest's one-byte answer, so
//! that the TLS connector ([`super::wire`]) can take the socket back when it is `S`,
//! and the StartupMessage.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::backend_key::BackendKey;
use super::unnamed::Unnamed;

/// What the bridge of one connection reports: how many bytes it has escaped so far (a
/// value read while this count moved may not be the stored one), and the server's last
/// command tag, which tokio-postgres reduces to a row count.
#[derive(Debug, Clone, Default)]
pub struct Escapes(Arc<Seen>);

#[derive(Debug, Default)]
struct Seen {
    count: AtomicU64,
    tag: Mutex<String>,
}

impl Escapes {
    /// Bytes escaped since the connection opened.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::SeqCst)
    }

    /// The tag of the last CommandComplete the server sent (`CREATE INDEX`,
    /// `SELECT 3`), as tokio-postgres received it: read when tokio-postgres reports the
    /// command complete, it is that command's.
    pub fn last_tag(&self) -> String {
        self.0.tag.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn add(&self, n: u64) {
        if n > 0 {
            self.0.count.fetch_add(n, Ordering::SeqCst);
        }
    }

    fn set_tag(&self, body: &[u8]) {
        let tag = body.split(|b| *b == 0).next().unwrap_or_default();
        if let Ok(mut slot) = self.0.tag.lock() {
            *slot = String::from_utf8_lossy(tag).into_owned();
        }
    }
}

/// Bytes read from the server at a time, at least.
const CHUNK: usize = 16 * 1024;
/// Read at most this much at once while a long message comes in.
const MAX_CHUNK: usize = 1024 * 1024;
/// Bytes for the server waiting to be written, at most, before a write is refused
/// until the socket takes them (one rewritten message may go past it).
const OUT_LIMIT: usize = 64 * 1024;

const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;

/// Types whose binary form is their text, which tokio-postgres reads as `str`: text,
/// varchar, bpchar, name, unknown, json.
const TEXT_TYPES: [u32; 6] = [25, 1043, 1042, 19, 705, 114];

fn malformed(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("malformed message from the server: {what}"),
    )
}

/// A stream whose backend messages hold only UTF-8 text; see the module docs.
pub struct Bridge<S> {
    inner: S,
    /// Bytes read from the server, not yet looked at.
    raw: BytesMut,
    /// Bytes looked at (and rewritten where needed), for tokio-postgres.
    ready: BytesMut,
    /// What is left of a CopyData message, passed on as it comes.
    copy_left: usize,
    /// The length of the message being waited for, to read it in few reads.
    want: usize,
    eof: bool,
    protocol: Protocol,
    escapes: Escapes,
    /// The frontend's statement names, made unnamed.
    unnamed: Unnamed,
    /// Bytes for the server, rewritten, not yet written.
    out: BytesMut,
    /// The BackendKeyData's process id, once it passed.
    key: BackendKey,
}

impl<S> Bridge<S> {
    /// A bridge over a fresh stream: the frontend starts with an untyped message.
    pub fn new(inner: S, escapes: Escapes) -> Bridge<S> {
        Bridge {
            inner,
            raw: BytesMut::new(),
            ready: BytesMut::new(),
            copy_left: 0,
            want: 0,
            eof: false,
            protocol: Protocol::default(),
            escapes,
            unnamed: Unnamed::default(),
            out: BytesMut::new(),
            key: BackendKey::default(),
        }
    }

    /// The same bridge recording the BackendKeyData's process id in `key` (shared with
    /// whoever reads it; the bridge above TLS takes the one of the bridge below).
    pub fn with_key(mut self, key: BackendKey) -> Bridge<S> {
        self.key = key;
        self
    }

    /// Where the BackendKeyData's process id is recorded.
    pub fn backend_key(&self) -> &BackendKey {
        &self.key
    }

    /// The stream itself, for the TLS handshake after the server's `S`. Bytes the server
    /// sent after its answer, before the handshake, are refused: a man in the middle
    /// would have put them there.
    pub fn into_inner(self) -> io::Result<(S, Escapes)> {
        if !self.raw.is_empty() || !self.ready.is_empty() {
            return Err(malformed("data after the answer to the TLS request"));
        }
        if !self.out.is_empty() || !self.unnamed.between_messages() {
            return Err(io::Error::other(
                "the TLS request was not sent whole before the handshake",
            ));
        }
        Ok((self.inner, self.escapes))
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Writes `out` to the stream until it is empty.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        S: AsyncWrite + Unpin,
    {
        while !self.out.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the server's socket took no more bytes",
                    )))
                }
                Poll::Ready(Ok(n)) => self.out.advance(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Moves what can be looked at from `raw` to `ready`.
    fn process(&mut self) -> io::Result<()> {
        loop {
            if self.copy_left > 0 {
                if self.raw.is_empty() {
                    return Ok(());
                }
                let n = self.copy_left.min(self.raw.len());
                self.ready.unsplit(self.raw.split_to(n));
                self.copy_left -= n;
                continue;
            }
            if self.protocol.answer {
                let Some(&first) = self.raw.first() else {
                    return Ok(());
                };
                self.protocol.answer = false;
                if matches!(first, b'S' | b'N' | b'G') {
                    self.ready.unsplit(self.raw.split_to(1));
                    continue;
                }
            }
            if self.raw.len() < 5 {
                return Ok(());
            }
            let tag = self.raw[0];
            let len = u32::from_be_bytes([self.raw[1], self.raw[2], self.raw[3], self.raw[4]]);
            if !(4..=i32::MAX as u32).contains(&len) {
                return Err(malformed(&format!(
                    "message {:?} of length {len}",
                    tag as char
                )));
            }
            let total = 1 + len as usize;
            if tag == b'd' {
                self.ready.unsplit(self.raw.split_to(5));
                self.copy_left = total - 5;
                continue;
            }
            if self.raw.len() < total {
                self.want = total;
                return Ok(());
            }
            self.want = 0;
            let message = self.raw.split_to(total);
            if !self.unnamed.backend(tag, &message[5..])? {
                continue;
            }
            if tag == b'K' {
                self.key.record(&message[5..]);
            }
            if tag == b'C' {
                // Before tokio-postgres sees the CommandComplete, so the tag is that
                // command's when it reports the command done.
                self.escapes.set_tag(&message[5..]);
            }
            match self.protocol.backend(tag, &message[5..])? {
                Some((body, escaped)) if !self.protocol.converting && !self.protocol.lost => {
                    let len = u32::try_from(body.len() + 4)
                        .ok()
                        .filter(|l| *l <= i32::MAX as u32)
                        .ok_or_else(|| malformed("a message too long once escaped"))?;
                    let mut out = BytesMut::with_capacity(5 + body.len());
                    out.put_u8(tag);
                    out.put_u32(len);
                    out.extend_from_slice(&body);
                    self.ready.unsplit(out);
                    self.escapes.add(escaped);
                }
                _ => self.ready.unsplit(message),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Bridge<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        // Whoever waits for an answer may not flush first (tokio-postgres's TLS request
        // does not): what it wrote goes out before anything is awaited.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        loop {
            if !this.ready.is_empty() {
                let n = buf.remaining().min(this.ready.len());
                buf.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            this.process()?;
            if !this.ready.is_empty() {
                continue;
            }
            if this.eof {
                // A message cut short: handed on as it is, for tokio-postgres to report.
                if !this.raw.is_empty() {
                    this.ready = this.raw.split();
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            let size = this
                .want
                .saturating_sub(this.raw.len())
                .clamp(CHUNK, MAX_CHUNK);
            let start = this.raw.len();
            this.raw.resize(start + size, 0);
            let mut into = ReadBuf::new(&mut this.raw[start..]);
            let polled = Pin::new(&mut this.inner).poll_read(cx, &mut into);
            let n = into.filled().len();
            this.raw.truncate(start + n);
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) if n == 0 => this.eof = true,
                Poll::Ready(Ok(())) => {}
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Bridge<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.out.len() >= OUT_LIMIT {
            match this.poll_drain(cx) {
                Poll::Ready(Ok(())) => {}
                other => return other.map(|r| r.map(|()| 0)),
            }
        }
        let n = buf.len().min(OUT_LIMIT - this.out.len());
        this.protocol.frontend(&buf[..n])?;
        this.unnamed.frontend(&buf[..n], &mut this.out)?;
        // The bytes are taken; whatever the socket does not take now waits in `out`.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

impl<S: tokio_postgres::tls::TlsStream + Unpin> tokio_postgres::tls::TlsStream for Bridge<S> {
    fn channel_binding(&self) -> tokio_postgres::tls::ChannelBinding {
        self.inner.channel_binding()
    }
}

/// Result formats: per column, or one for all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Formats {
    /// Not known: rows pass untouched.
    #[default]
    Unknown,
    All(i16),
    Each(Vec<i16>),
}

impl Formats {
    /// A Bind's result format codes: none is all text, one is for all.
    fn of_bind(codes: Vec<i16>) -> Formats {
        match codes.as_slice() {
            [] => Formats::All(0),
            [one] => Formats::All(*one),
            _ => Formats::Each(codes),
        }
    }

    fn get(&self, i: usize) -> Option<i16> {
        match self {
            Formats::Unknown => None,
            Formats::All(f) => Some(*f),
            Formats::Each(v) => v.get(i).copied(),
        }
    }
}

/// The rows now arriving: their formats and, when known, their types.
#[derive(Debug, Default)]
struct Current {
    formats: Formats,
    types: Option<Vec<u32>>,
    statement: Option<String>,
}

impl Current {
    /// Whether field `i` is text tokio-postgres decodes as `str`.
    fn is_text(&self, i: usize) -> bool {
        match self.formats.get(i) {
            Some(0) => true,
            Some(1) => self
                .types
                .as_ref()
                .and_then(|t| t.get(i))
                .is_some_and(|t| TEXT_TYPES.contains(t)),
            _ => false,
        }
    }
}

/// A frontend message still waiting for its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Query,
    Parse(String),
    Bind { statement: String, formats: Formats },
    DescribeStatement(String),
    DescribePortal,
    Sync,
}

/// The frontend message being read.
#[derive(Debug, Default)]
struct Front {
    typed: bool,
    head: Vec<u8>,
    tag: u8,
    /// The body, for the messages whose body matters.
    body: Option<Vec<u8>>,
    left: usize,
}

/// Where the conversation stands: what the frontend asked, what the rows are.
#[derive(Debug, Default)]
struct Protocol {
    front: Front,
    pending: VecDeque<Pending>,
    statements: HashMap<String, Vec<u32>>,
    current: Current,
    /// The next backend byte answers an SSLRequest (or GSSENCRequest).
    answer: bool,
    /// The server said its encoding is not SQL_ASCII (ParameterStatus at startup): it
    /// then converts every text it sends to UTF-8 itself, and the bridge rewrites
    /// nothing, so no misjudged field of any other database can ever be changed.
    converting: bool,
    /// An answer came that matches no request in [`Protocol::pending`]: the bookkeeping
    /// is out of step, and nothing is rewritten until a ReadyForQuery leaves no request
    /// waiting. tokio-postgres then fails on a byte that is not UTF-8 (closed), rather
    /// than the bridge escaping a field it took for text (open).
    lost: bool,
}

/// Reads a frontend or backend message body.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(body: &'a [u8]) -> Reader<'a> {
        Reader { body, at: 0 }
    }

    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.body.len())
            .ok_or_else(|| malformed("a field runs past its message"))?;
        let out = &self.body[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn i16(&mut self) -> io::Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> io::Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u32(&mut self) -> io::Result<u32> {
        Ok(self.i32()? as u32)
    }

    /// A NUL-terminated string, without its NUL.
    fn cstr(&mut self) -> io::Result<&'a [u8]> {
        let rest = &self.body[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| malformed("a string without its end"))?;
        self.at += end + 1;
        Ok(&rest[..end])
    }

    fn count(&mut self) -> io::Result<usize> {
        usize::try_from(self.i16()?).map_err(|_| malformed("a negative count"))
    }
}

/// `raw` with each byte of an invalid UTF-8 sequence as `\xe9`, and how many there were.
fn escape_into(raw: &[u8], out: &mut Vec<u8>) -> u64 {
    let mut escaped = 0;
    for chunk in raw.utf8_chunks() {
        out.extend_from_slice(chunk.valid().as_bytes());
        for b in chunk.invalid() {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
            escaped += 1;
        }
    }
    escaped
}

fn valid(raw: &[u8]) -> bool {
    std::str::from_utf8(raw).is_ok()
}

/// A body that is a run of C strings (with `skip` bytes before them that stay as they
/// are): rewritten when one is not UTF-8. `stop_at_nul_code` reads error fields, a code
/// byte before each string and a NUL after the last.
fn cstrings(body: &[u8], skip: usize, fields: bool) -> io::Result<Option<(Vec<u8>, u64)>> {
    if valid(body) {
        return Ok(None);
    }
    let mut r = Reader::new(body);
    let mut out = Vec::with_capacity(body.len() + 16);
    out.extend_from_slice(r.take(skip.min(body.len()))?);
    let mut escaped = 0;
    while r.at < body.len() {
        if fields {
            let code = r.take(1)?[0];
            out.push(code);
            if code == 0 {
                continue;
            }
        }
        escaped += escape_into(r.cstr()?, &mut out);
        out.push(0);
    }
    Ok((escaped > 0).then_some((out, escaped)))
}

impl Protocol {
    /// Takes in what the frontend wrote.
    fn frontend(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let front = &mut self.front;
            if front.left == 0 && front.body.is_none() {
                let head = if front.typed { 5 } else { 8 };
                let n = (head - front.head.len()).min(bytes.len());
                front.head.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if front.head.len() < head {
                    return Ok(());
                }
                self.frontend_head()?;
                continue;
            }
            let n = front.left.min(bytes.len());
            if let Some(body) = front.body.as_mut() {
                body.extend_from_slice(&bytes[..n]);
            }
            front.left -= n;
            bytes = &bytes[n..];
            if front.left == 0 {
                self.frontend_done()?;
            }
        }
        Ok(())
    }

    fn frontend_head(&mut self) -> io::Result<()> {
        let front = &mut self.front;
        let h = std::mem::take(&mut front.head);
        if front.typed {
            let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]);
            let left = (len as usize).checked_sub(4).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "bad frontend message")
            })?;
            front.tag = h[0];
            front.left = left;
            front.body = matches!(h[0], b'B' | b'D' | b'P').then(|| Vec::with_capacity(left));
            match h[0] {
                b'Q' => self.pending.push_back(Pending::Query),
                b'S' => self.pending.push_back(Pending::Sync),
                _ => {}
            }
        } else {
            let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
            let code = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            front.left = (len as usize).checked_sub(8).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "bad startup message")
            })?;
            front.tag = 0;
            front.body = None;
            match code {
                SSL_REQUEST | GSSENC_REQUEST => self.answer = true,
                CANCEL_REQUEST => {}
                _ => front.typed = true,
            }
        }
        if self.front.left == 0 {
            self.frontend_done()?;
        }
        Ok(())
    }

    fn frontend_done(&mut self) -> io::Result<()> {
        let Some(body) = self.front.body.take() else {
            return Ok(());
        };
        let bad = |_| io::Error::new(io::ErrorKind::InvalidInput, "bad frontend message");
        let mut r = Reader::new(&body);
        let name = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        match self.front.tag {
            b'P' => {
                let statement = name(r.cstr().map_err(bad)?);
                self.pending.push_back(Pending::Parse(statement));
            }
            b'D' => {
                let kind = r.take(1).map_err(bad)?[0];
                let statement = name(r.cstr().map_err(bad)?);
                self.pending.push_back(match kind {
                    b'S' => Pending::DescribeStatement(statement),
                    _ => Pending::DescribePortal,
                });
            }
            b'B' => {
                let (statement, formats) = bind(&body).map_err(bad)?;
                self.pending.push_back(Pending::Bind {
                    statement,
                    formats: Formats::of_bind(formats),
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Takes in one backend message; returns its new body when one of its strings had
    /// to be escaped, and how many bytes were.
    fn backend(&mut self, tag: u8, body: &[u8]) -> io::Result<Option<(Vec<u8>, u64)>> {
        match tag {
            b'1' => {
                if let Some(Pending::Parse(name)) = self.pending.front() {
                    self.statements.remove(name);
                    self.pending.pop_front();
                } else {
                    self.lost = true;
                }
                Ok(None)
            }
            b'2' => {
                self.current = match self.pending.front() {
                    Some(Pending::Bind { .. }) => match self.pending.pop_front() {
                        Some(Pending::Bind { statement, formats }) => Current {
                            formats,
                            types: self.statements.get(&statement).cloned(),
                            statement: Some(statement),
                        },
                        _ => Current::default(),
                    },
                    _ => {
                        self.lost = true;
                        Current::default()
                    }
                };
                Ok(None)
            }
            // CopyInResponse, CopyBothResponse: a COPY started by an Execute. The server
            // ignores a Sync that reaches it in copy mode, and tokio-postgres's `copy_in`
            // sends one right after its Execute (and another after CopyDone), so that
            // first Sync gets no ReadyForQuery of its own.
            b'G' | b'W' => {
                if matches!(self.pending.front(), Some(Pending::Sync)) {
                    self.pending.pop_front();
                }
                Ok(None)
            }
            b'n' => {
                if matches!(
                    self.pending.front(),
                    Some(Pending::DescribeStatement(_) | Pending::DescribePortal)
                ) {
                    self.pending.pop_front();
                }
                Ok(None)
            }
            b'E' => {
                if !matches!(self.pending.front(), Some(Pending::Query)) {
                    // The server skips to the next Sync.
                    while !matches!(
                        self.pending.front(),
                        None | Some(Pending::Sync | Pending::Query)
                    ) {
                        self.pending.pop_front();
                    }
                }
                cstrings(body, 0, true)
            }
            b'Z' => {
                while let Some(p) = self.pending.pop_front() {
                    if matches!(p, Pending::Sync | Pending::Query) {
                        break;
                    }
                }
                if self.pending.is_empty() {
                    self.lost = false;
                }
                self.current = Current::default();
                Ok(None)
            }
            b'T' => self.row_description(body),
            b'D' => self.data_row(body),
            b'C' => cstrings(body, 0, false),
            b'N' => cstrings(body, 0, true),
            b'S' => {
                if let Some(value) = body.strip_prefix(b"server_encoding\0") {
                    self.converting = value.split(|b| *b == 0).next() != Some(b"SQL_ASCII");
                }
                cstrings(body, 0, false)
            }
            b'A' => cstrings(body, 4, false),
            b'v' => cstrings(body, 8, false),
            _ => Ok(None),
        }
    }

    fn row_description(&mut self, body: &[u8]) -> io::Result<Option<(Vec<u8>, u64)>> {
        let mut r = Reader::new(body);
        let n = r.count()?;
        let mut types = Vec::with_capacity(n);
        let mut formats = Vec::with_capacity(n);
        let mut names_valid = true;
        for _ in 0..n {
            names_valid &= valid(r.cstr()?);
            r.take(6)?;
            types.push(r.u32()?);
            r.take(6)?;
            formats.push(r.i16()?);
        }
        match self.pending.front().cloned() {
            Some(Pending::Query) => {
                self.current = Current {
                    formats: Formats::Each(formats),
                    types: Some(types),
                    statement: None,
                };
            }
            Some(Pending::DescribeStatement(name)) => {
                self.pending.pop_front();
                if self.current.statement.as_deref() == Some(name.as_str()) {
                    self.current.types = Some(types.clone());
                }
                self.statements.insert(name, types);
            }
            Some(Pending::DescribePortal) => {
                self.pending.pop_front();
                self.current.formats = Formats::Each(formats);
                self.current.types = Some(types);
            }
            _ => self.lost = true,
        }
        if names_valid {
            return Ok(None);
        }
        let mut r = Reader::new(body);
        let mut out = Vec::with_capacity(body.len() + 16);
        out.extend_from_slice(r.take(2)?);
        let mut escaped = 0;
        for _ in 0..n {
            escaped += escape_into(r.cstr()?, &mut out);
            out.push(0);
            out.extend_from_slice(r.take(18)?);
        }
        Ok(Some((out, escaped)))
    }

    fn data_row(&mut self, body: &[u8]) -> io::Result<Option<(Vec<u8>, u64)>> {
        let fields = || -> io::Result<Vec<Option<(usize, usize)>>> {
            let mut r = Reader::new(body);
            let n = r.count()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let len = r.i32()?;
                if len < 0 {
                    out.push(None);
                } else {
                    let start = r.at;
                    r.take(len as usize)?;
                    out.push(Some((start, len as usize)));
                }
            }
            Ok(out)
        };
        if self.current.formats == Formats::Unknown {
            return Ok(None);
        }
        let fields = fields()?;
        let bad = |(i, f): (usize, &Option<(usize, usize)>)| {
            f.is_some_and(|(s, l)| self.current.is_text(i) && !valid(&body[s..s + l]))
        };
        if !fields.iter().enumerate().any(bad) {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(body.len() + 16);
        out.extend_from_slice(&body[..2]);
        let mut escaped = 0;
        for (i, f) in fields.iter().enumerate() {
            match f {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some((s, l)) => {
                    let value = &body[*s..s + l];
                    if self.current.is_text(i) && !valid(value) {
                        let mut fixed = Vec::with_capacity(l + 16);
                        escaped += escape_into(value, &mut fixed);
                        let len = i32::try_from(fixed.len())
                            .map_err(|_| malformed("a value too long once escaped"))?;
                        out.extend_from_slice(&len.to_be_bytes());
                        out.extend_from_slice(&fixed);
                    } else {
                        out.extend_from_slice(&(*l as i32).to_be_bytes());
                        out.extend_from_slice(value);
                    }
                }
            }
        }
        Ok(Some((out, escaped)))
    }
}

/// A Bind's statement name and result format codes.
fn bind(body: &[u8]) -> io::Result<(String, Vec<i16>)> {
    let mut r = Reader::new(body);
    r.cstr()?;
    let statement = String::from_utf8_lossy(r.cstr()?).into_owned();
    let n = r.count()?;
    r.take(2 * n)?;
    for _ in 0..r.count()? {
        let len = r.i32()?;
        if len > 0 {
            r.take(len as usize)?;
        }
    }
    let n = r.count()?;
    let formats = (0..n).map(|_| r.i16()).collect::<io::Result<_>>()?;
    Ok((statement, formats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stream that answers reads from a script of chunks and keeps what is written.
    struct Script {
        reads: VecDeque<Vec<u8>>,
        written: Vec<u8>,
    }

    impl AsyncRead for Script {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if let Some(chunk) = self.reads.pop_front() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.reads.push_front(chunk[n..].to_vec());
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Script {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            // Takes at most 3 bytes at a time: the frontend parser sees split writes.
            let n = buf.len().min(3);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn message(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![tag];
        m.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn startup() -> Vec<u8> {
        let mut body = 196_608u32.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0u\0\0");
        let mut m = (body.len() as u32 + 4).to_be_bytes().to_vec();
        m.extend_from_slice(&body);
        m
    }

    fn row_description(columns: &[(&[u8], u32, i16)]) -> Vec<u8> {
        let mut b = (columns.len() as i16).to_be_bytes().to_vec();
        for (name, oid, format) in columns {
            b.extend_from_slice(name);
            b.push(0);
            b.extend_from_slice(&[0; 6]);
            b.extend_from_slice(&oid.to_be_bytes());
            b.extend_from_slice(&[0; 6]);
            b.extend_from_slice(&format.to_be_bytes());
        }
        message(b'T', &b)
    }

    fn data_row(values: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = (values.len() as i16).to_be_bytes().to_vec();
        for v in values {
            match v {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        message(b'D', &b)
    }

    fn bind_message(statement: &str, formats: &[i16]) -> Vec<u8> {
        let mut b = b"\0".to_vec();
        b.extend_from_slice(statement.as_bytes());
        b.push(0);
        b.extend_from_slice(&1i16.to_be_bytes());
        b.extend_from_slice(&1i16.to_be_bytes());
        b.extend_from_slice(&1i16.to_be_bytes());
        b.extend_from_slice(&3i32.to_be_bytes());
        b.extend_from_slice(b"\xe9\0\xff");
        b.extend_from_slice(&(formats.len() as i16).to_be_bytes());
        for f in formats {
            b.extend_from_slice(&f.to_be_bytes());
        }
        message(b'B', &b)
    }

    /// Writes `sent`, then reads everything the server's `chunks` make; the server got
    /// `written`.
    fn run(sent: &[Vec<u8>], written: &[u8], chunks: Vec<Vec<u8>>) -> (Vec<u8>, u64) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let escapes = Escapes::default();
            let mut bridge = Bridge::new(
                Script {
                    reads: chunks.into(),
                    written: Vec::new(),
                },
                escapes.clone(),
            );
            for m in sent {
                bridge.write_all(m).await.expect("write");
            }
            let mut out = Vec::new();
            bridge.read_to_end(&mut out).await.expect("read");
            assert_eq!(bridge.get_ref().written, written, "what the server got");
            (out, escapes.count())
        })
    }

    /// Every way of cutting `stream` into reads gives `expected`.
    /// Writes pass as they are.
    fn each_split(sent: &[Vec<u8>], stream: &[u8], expected: &[u8], escaped: u64) {
        each_split_writing(sent, &sent.concat(), stream, expected, escaped);
    }

    /// Every way of cutting `stream` into reads gives `expected`, and the server got
    /// `written`.
    fn each_split_writing(
        sent: &[Vec<u8>],
        written: &[u8],
        stream: &[u8],
        expected: &[u8],
        escaped: u64,
    ) {
        let whole = run(sent, written, vec![stream.to_vec()]);
        assert_eq!(whole, (expected.to_vec(), escaped));
        let bytes = run(sent, written, stream.iter().map(|b| vec![*b]).collect());
        assert_eq!(bytes, (expected.to_vec(), escaped), "one byte per read");
        for cut in 1..stream.len() {
            let two = vec![stream[..cut].to_vec(), stream[cut..].to_vec()];
            let got = run(sent, written, two);
            assert_eq!(got, (expected.to_vec(), escaped), "cut at {cut}");
        }
    }

    #[test]
    fn utf8_passes_unchanged_and_latin1_text_is_escaped_however_it_is_split() {
        let query = message(b'Q', b"select\0");
        let ok = [
            row_description(&[(b"name", 25, 0)]),
            data_row(&[Some("café".as_bytes()), None]),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        each_split(&[startup(), query.clone()], &ok, &ok, 0);

        let latin1 = [
            message(b'S', b"application_name\0caf\xe9\0"),
            row_description(&[(b"\xe9t\xe9", 25, 0), (b"b", 17, 1)]),
            data_row(&[Some(b"caf\xe9"), Some(b"\xe9\xff")]),
            message(b'N', b"SNOTICE\0Mvalue caf\xe9\0\0"),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        let expected = [
            message(b'S', b"application_name\0caf\\xe9\0"),
            row_description(&[(b"\\xe9t\\xe9", 25, 0), (b"b", 17, 1)]),
            // The bytea is binary: byte for byte.
            data_row(&[Some(b"caf\\xe9"), Some(b"\xe9\xff")]),
            message(b'N', b"SNOTICE\0Mvalue caf\\xe9\0\0"),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        each_split(&[startup(), query], &latin1, &expected, 5);
    }

    #[test]
    fn a_copy_from_stdin_keeps_the_requests_in_step() {
        // tokio-postgres's copy_in: Bind, Execute, Sync; the data, CopyDone, Sync. The
        // server ignores the first Sync (it arrives in copy mode): one ReadyForQuery.
        let copy = [
            bind_message("s1", &[1]),
            message(b'E', b"\0\0\0\0\0"),
            message(b'S', b""),
            message(b'd', b"1\n"),
            message(b'c', b""),
            message(b'S', b""),
        ]
        .concat();
        // Then query_typed: Parse, Bind (binary results), Describe statement, Execute,
        // Sync. Its int4 holds a byte that is not UTF-8: binary, so untouched.
        let typed = [
            message(b'P', b"\0select\0\0\0"),
            bind_message("", &[1]),
            message(b'D', b"S\0"),
            message(b'E', b"\0\0\0\0\0"),
            message(b'S', b""),
        ]
        .concat();
        let stream = [
            message(b'2', b""),
            message(b'G', b"\0\0\0"),
            message(b'C', b"COPY 1\0"),
            message(b'Z', b"T"),
            message(b'1', b""),
            message(b'2', b""),
            message(b't', b"\0\0"),
            row_description(&[(b"n", 23, 0)]),
            data_row(&[Some(b"\x80\0\0\x01")]),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"T"),
        ]
        .concat();
        // And a simple query after it, whose Latin-1 text is still escaped: the
        // requests and answers are in step.
        let query = message(b'Q', b"select\0");
        let text = |value: &[u8]| {
            [
                row_description(&[(b"name", 25, 0)]),
                data_row(&[Some(value)]),
                message(b'C', b"SELECT 1\0"),
                message(b'Z', b"T"),
            ]
            .concat()
        };
        let sent = [startup(), copy, typed, query];
        each_split(
            &sent,
            &[stream.clone(), text(b"caf\xe9")].concat(),
            &[stream, text(b"caf\\xe9")].concat(),
            1,
        );
    }

    #[test]
    fn an_answer_out_of_step_stops_every_rewrite_until_in_step_again() {
        // A BindComplete no Bind asked for: the bridge no longer knows which rows are
        // text, so even a text row passes as it came (tokio-postgres then refuses it).
        let query = message(b'Q', b"select\0");
        let stream = [
            message(b'2', b""),
            row_description(&[(b"name", 25, 0)]),
            data_row(&[Some(b"caf\xe9")]),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        each_split(&[startup(), query], &stream, &stream, 0);
    }

    #[test]
    fn a_server_that_converts_to_utf8_has_nothing_rewritten() {
        // Any encoding but SQL_ASCII: the server converts, so even bytes that are not
        // UTF-8 (which only a misjudged binary field could hold) pass as they came.
        let query = message(b'Q', b"select\0");
        let stream = [
            message(b'S', b"server_encoding\0UTF8\0"),
            row_description(&[(b"name", 25, 0)]),
            data_row(&[Some(b"caf\xe9")]),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        each_split(&[startup(), query.clone()], &stream, &stream, 0);
        // SQL_ASCII: the same row is escaped.
        let ascii = [
            message(b'S', b"server_encoding\0SQL_ASCII\0"),
            row_description(&[(b"name", 25, 0)]),
            data_row(&[Some(b"caf\xe9")]),
        ]
        .concat();
        let expected = [
            message(b'S', b"server_encoding\0SQL_ASCII\0"),
            row_description(&[(b"name", 25, 0)]),
            data_row(&[Some(b"caf\\xe9")]),
        ]
        .concat();
        each_split(&[startup(), query], &ascii, &expected, 1);
    }

    #[test]
    fn bind_formats_decide_which_fields_are_text() {
        // Prepared: Parse, Describe, Sync; then Bind (binary results), Execute, Sync;
        // then Bind of all text, Execute, Sync.
        // The server gets them unnamed, each Bind after a Parse of its own.
        let parse = message(b'P', b"s1\0select\0\0\0");
        let unnamed = message(b'P', b"\0select\0\0\0");
        let describe = message(b'D', b"Ss1\0");
        let sync = message(b'S', b"");
        let execute = message(b'E', b"\0\0\0\0\0");
        let sent = [
            startup(),
            parse,
            describe,
            sync.clone(),
            bind_message("s1", &[1]),
            execute.clone(),
            sync.clone(),
            bind_message("s1", &[0, 1]),
            execute.clone(),
            sync.clone(),
        ];
        let written = [
            startup(),
            unnamed.clone(),
            message(b'D', b"S\0"),
            sync.clone(),
            unnamed.clone(),
            bind_message("", &[1]),
            execute.clone(),
            sync.clone(),
            unnamed,
            bind_message("", &[0, 1]),
            execute,
            sync,
        ]
        .concat();
        // The ParseComplete of each inserted Parse is the server's alone.
        let answers = |inserted: &[u8], text: &[u8], bytea: &[u8]| {
            [
                inserted.to_vec(),
                message(b'2', b""),
                data_row(&[Some(text), Some(bytea)]),
                message(b'C', b"SELECT 1\0"),
                message(b'Z', b"I"),
            ]
            .concat()
        };
        let rows = |text: &[u8], bytea: &[u8]| {
            [
                message(b'2', b""),
                data_row(&[Some(text), Some(bytea)]),
                message(b'C', b"SELECT 1\0"),
                message(b'Z', b"I"),
            ]
            .concat()
        };
        let described = [
            message(b'1', b""),
            message(b't', b"\0\0"),
            row_description(&[(b"t", 25, 0), (b"b", 17, 0)]),
            message(b'Z', b"I"),
        ]
        .concat();
        let one = message(b'1', b"");
        let stream = [
            described.clone(),
            answers(&one, b"\xe9", b"\xe9"),
            answers(&one, b"\xe9", b"\xe9"),
        ]
        .concat();
        // Binary text is text to tokio-postgres; binary bytea never changes.
        let expected = [described, rows(b"\\xe9", b"\xe9"), rows(b"\\xe9", b"\xe9")].concat();
        each_split_writing(&sent, &written, &stream, &expected, 2);
    }

    #[test]
    fn a_named_statement_stays_unnamed_through_errors_queries_and_its_close() {
        // Pipelined after the prepare: a Bind whose inserted Parse fails (the table was
        // dropped on this backend), a Bind that works, a simple Query, a Bind after it,
        // and the Close.
        let sync = message(b'S', b"");
        let execute = message(b'E', b"\0\0\0\0\0");
        let query = message(b'Q', b"select 2\0");
        let unnamed = message(b'P', b"\0select 1\0\0\0");
        let sent = [
            startup(),
            message(b'P', b"s3\0select 1\0\0\0"),
            message(b'D', b"Ss3\0"),
            sync.clone(),
            bind_message("s3", &[0]),
            execute.clone(),
            sync.clone(),
            bind_message("s3", &[0]),
            execute.clone(),
            query.clone(),
            bind_message("s3", &[0]),
            execute.clone(),
            sync.clone(),
            message(b'C', b"Ss3\0"),
            sync.clone(),
        ];
        let written = [
            startup(),
            unnamed.clone(),
            message(b'D', b"S\0"),
            sync.clone(),
            unnamed.clone(),
            bind_message("", &[0]),
            execute.clone(),
            sync.clone(),
            unnamed.clone(),
            bind_message("", &[0]),
            execute.clone(),
            query,
            unnamed,
            bind_message("", &[0]),
            execute,
            sync.clone(),
            message(b'C', b"S\0"),
            sync,
        ]
        .concat();
        let one = message(b'1', b"");
        let selected = |value: &[u8]| {
            [
                message(b'2', b""),
                data_row(&[Some(value)]),
                message(b'C', b"SELECT 1\0"),
            ]
            .concat()
        };
        let ready = message(b'Z', b"I");
        let error = message(b'E', b"SERROR\0C42P01\0\0");
        let described = [
            one.clone(),
            message(b't', b"\0\0"),
            row_description(&[(b"t", 25, 0)]),
            ready.clone(),
        ]
        .concat();
        let simple = [
            row_description(&[(b"n", 25, 0)]),
            data_row(&[Some(b"\xe9")]),
            message(b'C', b"SELECT 1\0"),
        ]
        .concat();
        let stream = [
            described.clone(),
            error.clone(),
            ready.clone(),
            one.clone(),
            selected(b"\xe9"),
            simple.clone(),
            ready.clone(),
            one,
            selected(b"\xe9"),
            ready.clone(),
            message(b'3', b""),
            ready.clone(),
        ]
        .concat();
        // No inserted ParseComplete reaches tokio-postgres, and the text rows are
        // still matched with their Binds.
        let expected = [
            described,
            error,
            ready.clone(),
            selected(b"\\xe9"),
            [
                row_description(&[(b"n", 25, 0)]),
                data_row(&[Some(b"\\xe9")]),
                message(b'C', b"SELECT 1\0"),
            ]
            .concat(),
            ready.clone(),
            selected(b"\\xe9"),
            ready.clone(),
            message(b'3', b""),
            ready,
        ]
        .concat();
        each_split_writing(&sent, &written, &stream, &expected, 3);
    }

    #[test]
    fn a_parse_complete_out_of_step_ends_the_connection() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let e = rt.block_on(async {
            let mut bridge = Bridge::new(
                Script {
                    reads: vec![[message(b'1', b""), message(b'1', b"")].concat()].into(),
                    written: Vec::new(),
                },
                Escapes::default(),
            );
            for m in [startup(), message(b'P', b"\0x\0\0\0"), message(b'S', b"")] {
                bridge.write_all(&m).await.expect("write");
            }
            let mut out = Vec::new();
            bridge.read_to_end(&mut out).await
        });
        assert_eq!(
            e.expect_err("out of step").kind(),
            io::ErrorKind::InvalidData
        );
    }

    /// A stream that takes nothing until it is opened, and reads what is put in `reads`.
    struct Stalled {
        open: bool,
        written: Vec<u8>,
        reads: std::collections::VecDeque<Vec<u8>>,
    }

    impl AsyncRead for Stalled {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match self.reads.pop_front() {
                Some(r) => {
                    buf.put_slice(&r);
                    Poll::Ready(Ok(()))
                }
                None => Poll::Pending,
            }
        }
    }

    impl AsyncWrite for Stalled {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            if !self.open {
                return Poll::Pending;
            }
            self.written.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn a_long_copy_waits_for_the_socket_and_passes_untouched() {
        // A `\copy … from stdin` of 1 MiB of CopyData while the socket takes nothing:
        // the bridge takes at most its limit, then says Pending; once the socket takes
        // bytes again, all of it arrives as written.
        let mut sent = [startup(), message(b'Q', b"copy t from stdin\0")].concat();
        let row = message(b'd', &[b'P'; 1000]);
        for _ in 0..1024 {
            sent.extend_from_slice(&row);
        }
        sent.extend_from_slice(&message(b'c', b""));
        let mut bridge = Bridge::new(
            Stalled {
                open: false,
                written: Vec::new(),
                reads: Default::default(),
            },
            Escapes::default(),
        );
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut at = 0;
        loop {
            match Pin::new(&mut bridge).poll_write(&mut cx, &sent[at..]) {
                Poll::Ready(Ok(n)) => at += n,
                Poll::Pending => break,
                Poll::Ready(Err(e)) => panic!("write: {e}"),
            }
        }
        assert!(at < sent.len(), "the bridge stopped taking bytes");
        assert!(bridge.out.len() <= OUT_LIMIT, "{}", bridge.out.len());
        bridge.inner.open = true;
        while at < sent.len() {
            match Pin::new(&mut bridge).poll_write(&mut cx, &sent[at..]) {
                Poll::Ready(Ok(n)) => at += n,
                other => panic!("write: {other:?}"),
            }
        }
        assert!(Pin::new(&mut bridge).poll_flush(&mut cx).is_ready());
        assert!(
            bridge.inner.written == sent,
            "CopyData passes byte for byte"
        );
    }

    #[test]
    fn an_error_skips_the_binds_of_its_sync() {
        let sync = message(b'S', b"");
        let execute = message(b'E', b"\0\0\0\0\0");
        // The first Bind fails; the second, after its Sync, binds all binary.
        let sent = [
            startup(),
            bind_message("x", &[0]),
            execute.clone(),
            sync.clone(),
            bind_message("x", &[1]),
            execute,
            sync,
        ];
        let stream = [
            message(b'E', b"SERROR\0C26000\0\0"),
            message(b'Z', b"I"),
            message(b'2', b""),
            data_row(&[Some(b"\xe9")]),
            message(b'C', b"SELECT 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        each_split(&sent, &stream, &stream, 0);
    }

    #[test]
    fn copy_data_and_the_tls_answer_pass_untouched() {
        let mut ssl = 8u32.to_be_bytes().to_vec();
        ssl.extend_from_slice(&SSL_REQUEST.to_be_bytes());
        let query = message(b'Q', b"copy t to stdout\0");
        let stream = [
            b"N".to_vec(),
            message(b'H', b"\0\0\0"),
            message(b'd', b"caf\xe9\n"),
            message(b'c', b""),
            message(b'C', b"COPY 1\0"),
            message(b'Z', b"I"),
        ]
        .concat();
        each_split(&[ssl, startup(), query], &stream, &stream, 0);
    }

    #[test]
    fn the_backend_key_pid_is_recorded_and_passes_unchanged() {
        let mut key_data = 12345i32.to_be_bytes().to_vec();
        key_data.extend_from_slice(&[9, 8, 7, 6]);
        let stream = [
            message(b'R', &0i32.to_be_bytes()),
            message(b'K', &key_data),
            message(b'Z', b"I"),
        ]
        .concat();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for per_read in [stream.len(), 1, 7] {
            let key = BackendKey::default();
            let out = rt.block_on(async {
                let mut bridge = Bridge::new(
                    Script {
                        reads: stream.chunks(per_read).map(<[u8]>::to_vec).collect(),
                        written: Vec::new(),
                    },
                    Escapes::default(),
                )
                .with_key(key.clone());
                bridge.write_all(&startup()).await.expect("write");
                let mut out = Vec::new();
                bridge.read_to_end(&mut out).await.expect("read");
                out
            });
            assert_eq!(out, stream, "{per_read} bytes per read");
            assert_eq!(key.pid(), Some(12345), "{per_read} bytes per read");
        }
    }

    #[test]
    fn a_malformed_length_is_an_error_not_a_panic() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for bad in [vec![b'Z', 0, 0, 0, 2], vec![b'D', 0xff, 0, 0, 0]] {
            let e = rt.block_on(async {
                let mut bridge = Bridge::new(
                    Script {
                        reads: vec![bad].into(),
                        written: Vec::new(),
                    },
                    Escapes::default(),
                );
                let mut out = Vec::new();
                bridge.read_to_end(&mut out).await
            });
            assert_eq!(e.expect_err("malformed").kind(), io::ErrorKind::InvalidData);
        }
        // A DataRow whose field runs past its end, with the formats known.
        let sent = [startup(), message(b'Q', b"x\0")];
        let stream = [
            row_description(&[(b"a", 25, 0)]),
            message(b'D', b"\0\x01\0\0\0\x09ab"),
        ]
        .concat();
        let rt2 = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let e = rt2.block_on(async {
            let mut bridge = Bridge::new(
                Script {
                    reads: vec![stream].into(),
                    written: Vec::new(),
                },
                Escapes::default(),
            );
            for m in &sent {
                bridge.write_all(m).await.expect("write");
            }
            let mut out = Vec::new();
            bridge.read_to_end(&mut out).await
        });
        assert_eq!(e.expect_err("malformed").kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn data_after_the_tls_answer_is_refused() {
        let mut ssl = 8u32.to_be_bytes().to_vec();
        ssl.extend_from_slice(&SSL_REQUEST.to_be_bytes());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        for (answer, ok) in [(&b"S"[..], true), (&b"Sinjected"[..], false)] {
            let bridge = rt.block_on(async {
                let mut bridge = Bridge::new(
                    Script {
                        reads: vec![answer.to_vec()].into(),
                        written: Vec::new(),
                    },
                    Escapes::default(),
                );
                bridge.write_all(&ssl).await.expect("write");
                let mut one = [0u8];
                bridge.read_exact(&mut one).await.expect("answer");
                assert_eq!(&one, b"S");
                bridge
            });
            assert_eq!(bridge.into_inner().is_ok(), ok, "{answer:?}");
        }
    }

    /// query_typed with a large parameter whose Parse fails: the ErrorResponse is read
    /// while the tail (Describe, Execute, Sync) waits behind the full buffer.
    #[test]
    fn the_tail_written_after_the_error_keeps_the_connection() {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let mut b = Bridge::new(
            Stalled {
                open: true,
                written: Vec::new(),
                reads: Default::default(),
            },
            Escapes::default(),
        );
        assert!(matches!(
            Pin::new(&mut b).poll_write(&mut cx, &startup()),
            Poll::Ready(Ok(_))
        ));
        b.inner.open = false;
        let p = message(b'P', b"\0selec $1\0\0\x01\0\0\0\x19");
        let bind_len = 131_072 - 2 * p.len();
        let l = bind_len - 17;
        let mut body = b"\0\0\0\0\0\x01".to_vec();
        body.extend_from_slice(&(l as i32).to_be_bytes());
        body.extend(std::iter::repeat_n(b'x', l));
        body.extend_from_slice(b"\0\0");
        let bind = message(b'B', &body);
        assert_eq!(bind.len(), bind_len);
        let tail = [
            message(b'D', b"S\0"),
            message(b'E', b"\0\0\0\0\0"),
            message(b'S', b""),
        ]
        .concat();
        let all = [p.clone(), bind, tail].concat();
        let mut at = 0;
        while let Poll::Ready(r) = Pin::new(&mut b).poll_write(&mut cx, &all[at..]) {
            at += r.expect("write");
        }
        assert_eq!(
            all.len() - at,
            7 + 10 + 5,
            "only the tail waits: at {at} of {}, out {}",
            all.len(),
            b.out.len()
        );
        // The server's answer to the failed Parse.
        b.inner
            .reads
            .push_back(message(b'E', b"SERROR\0C42601\0\0"));
        let mut space = [0u8; 256];
        let mut rb = ReadBuf::new(&mut space);
        assert!(matches!(
            Pin::new(&mut b).poll_read(&mut cx, &mut rb),
            Poll::Ready(Ok(()))
        ));
        b.inner.open = true;
        while at < all.len() {
            match Pin::new(&mut b).poll_write(&mut cx, &all[at..]) {
                Poll::Ready(Ok(n)) => at += n,
                other => panic!("{other:?}"),
            }
        }
        // The server skipped to the Sync: one ReadyForQuery.
        b.inner.reads.push_back(message(b'Z', b"I"));
        let mut rb = ReadBuf::new(&mut space);
        let r = Pin::new(&mut b).poll_read(&mut cx, &mut rb);
        assert!(matches!(r, Poll::Ready(Ok(()))), "connection ended: {r:?}");
    }
}
