//! A loopback TCP proxy in front of the test cluster that breaks the connection at
//! COMMIT, for the tests of a COMMIT whose outcome is unknown.
//!
//! It listens on 127.0.0.1:0 and forwards every connection to the cluster, reading just
//! enough of the client's side of the protocol to find message boundaries: the untyped
//! startup packet (an SSLRequest is answered `N` by the proxy itself, so the stream stays
//! readable), then typed messages. On the first simple-query message (`Q`) whose text is
//! COMMIT it acts as told, once; later connections (pgward's reconnect) pass untouched,
//! except after [`OnCommit::ForwardThenRefuse`], which closes each of them at once.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What the proxy does with the first COMMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCommit {
    /// Forwards COMMIT to the server, then closes both sides at once: the server
    /// commits, and the client never hears.
    ForwardThenDrop,
    /// Closes both sides without forwarding COMMIT: the server sees its client vanish
    /// inside the transaction and rolls it back.
    DropUnsent,
    /// Closes the client's side without forwarding COMMIT and keeps the server's side
    /// open: the transaction stays in progress, idle.
    HoldUnsent,
    /// Like [`OnCommit::ForwardThenDrop`], and from then on every new connection is
    /// closed as soon as it is accepted: the server committed, and the client can never
    /// ask it.
    ForwardThenRefuse,
}

/// The running proxy; dropping it closes what it holds.
pub struct Proxy {
    port: u16,
    fired: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    /// Starts forwarding 127.0.0.1:<port> to `upstream_port` on 127.0.0.1.
    pub fn start(upstream_port: u16, on_commit: OnCommit) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let fired = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (f, h) = (Arc::clone(&fired), Arc::clone(&held));
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if on_commit == OnCommit::ForwardThenRefuse && f.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let (f, h) = (Arc::clone(&f), Arc::clone(&h));
                thread::spawn(move || relay(client, server, on_commit, &f, &h));
            }
        });
        Proxy { port, fired, held }
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the proxy has acted on a COMMIT.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Ok(held) = self.held.lock() {
            for s in held.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

/// Copies server → client on a thread, and client → server here, message by message.
fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    on_commit: OnCommit,
    fired: &AtomicBool,
    held: &Mutex<Vec<TcpStream>>,
) {
    let (Ok(mut back_from), Ok(mut back_to)) = (server.try_clone(), client.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _ = std::io::copy(&mut back_from, &mut back_to);
        let _ = back_to.shutdown(Shutdown::Both);
    });
    // Startup: untyped packets until one that is not an SSL or GSS encryption request.
    loop {
        let Some(packet) = read_untyped(&mut client) else {
            return close(&client, &server);
        };
        let code = packet
            .get(4..8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if packet.len() == 8 && matches!(code, Some(80_877_103 | 80_877_104)) {
            if client.write_all(b"N").is_err() {
                return close(&client, &server);
            }
            continue;
        }
        if server.write_all(&packet).is_err() {
            return close(&client, &server);
        }
        break;
    }
    while let Some(message) = read_typed(&mut client) {
        let commit = message[0] == b'Q' && is_commit(&message[5..]);
        if commit && !fired.swap(true, Ordering::SeqCst) {
            match on_commit {
                OnCommit::ForwardThenDrop | OnCommit::ForwardThenRefuse => {
                    // The client's side goes first, so no answer can slip through.
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.write_all(&message);
                    let _ = server.flush();
                    return close(&client, &server);
                }
                OnCommit::DropUnsent => return close(&client, &server),
                OnCommit::HoldUnsent => {
                    let _ = client.shutdown(Shutdown::Both);
                    if let Ok(mut h) = held.lock() {
                        h.push(server);
                    }
                    return;
                }
            }
        }
        if server.write_all(&message).is_err() {
            break;
        }
    }
    close(&client, &server);
}

fn close(client: &TcpStream, server: &TcpStream) {
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
}

/// A startup-phase packet: 4-byte length (itself included), then the body.
fn read_untyped(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let n = u32::from_be_bytes(len) as usize;
    let mut packet = len.to_vec();
    packet.resize(n.max(4), 0);
    s.read_exact(&mut packet[4..]).ok()?;
    Some(packet)
}

/// A typed message: 1-byte type, 4-byte length (itself included), then the body.
fn read_typed(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).ok()?;
    let n = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut message = head.to_vec();
    message.resize(1 + n.max(4), 0);
    s.read_exact(&mut message[5..]).ok()?;
    Some(message)
}

/// The query text of a `Q` body (NUL-terminated) is COMMIT or END, after any leading
/// `/* … */` comment (pgward marks its own statements with one).
fn is_commit(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    let mut text = text.trim_end_matches('\0').trim();
    while let Some(rest) = text.strip_prefix("/*") {
        text = rest
            .split_once("*/")
            .map_or("", |(_, after)| after)
            .trim_start();
    }
    let text = text.trim().trim_end_matches(';').trim();
    text.eq_ignore_ascii_case("commit") || text.eq_ignore_ascii_case("end")
}
