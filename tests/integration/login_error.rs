//! A refused login keeps the server's DETAIL and HINT: a one-shot server on
//! `127.0.0.1:0` reads the startup packet and answers it with the ErrorResponse a
//! PostgreSQL server sends (severity, SQLSTATE, message, detail, hint), as a server at
//! its connection limit or with a misconfigured login would. pgward must show all of it
//! and exit with the connection error's code, with nothing run.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::util::{session_logs, TestShell, PASSWORD, READER, WRITER};

const DETAIL: &str = "Role \"ops\" has 3 connections of its limit of 3.";
const HINT: &str = "Close an idle session, or ask the DBA to raise CONNECTION LIMIT.";

/// Accepts one connection, reads its startup packet and answers with a FATAL
/// ErrorResponse carrying DETAIL and HINT. Returns the port.
fn refusing_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        // The startup packet: its length, then the rest.
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut rest = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        if stream.read_exact(&mut rest).is_err() {
            return;
        }
        let mut fields = Vec::new();
        for (code, value) in [
            (b'S', "FATAL"),
            (b'V', "FATAL"),
            (b'C', "53300"),
            (b'M', "too many connections for role \"ops\""),
            (b'D', DETAIL),
            (b'H', HINT),
        ] {
            fields.push(code);
            fields.extend_from_slice(value.as_bytes());
            fields.push(0);
        }
        fields.push(0);
        let mut message = vec![b'E'];
        message.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
        message.extend_from_slice(&fields);
        let _ = stream.write_all(&message);
        let _ = stream.flush();
    });
    port
}

#[test]
fn a_refused_login_shows_the_servers_detail_and_hint() {
    let port = refusing_server();
    let t = TestShell::bare();
    let home = t.home().to_path_buf();
    let out = t
        .args([
            "-d",
            &format!("host=127.0.0.1 port={port} user=ops dbname=shop sslmode=disable"),
            "--write-role",
            WRITER,
            "--read-role",
            READER,
            "-c",
            "select 1",
        ])
        .env("PGPASSWORD", PASSWORD)
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("53300") || out.stderr.contains("too many connections"),
        "{out:?}"
    );
    assert!(out.stderr.contains(&format!("DETAIL: {DETAIL}")), "{out:?}");
    assert!(out.stderr.contains(&format!("HINT: {HINT}")), "{out:?}");
    assert!(out.stdout.is_empty(), "nothing ran: {out:?}");
    assert!(session_logs(&home).is_empty(), "no session began: {out:?}");
}

/// The same against a real server: a database whose CONNECT privilege the login lacks
/// refuses it with 42501 and a DETAIL, which pgward shows as psql does.
#[test]
fn a_real_servers_refusal_keeps_its_detail() {
    let db = crate::util::TestDb::new("le_connect");
    db.exec(&format!(
        "REVOKE CONNECT ON DATABASE {} FROM PUBLIC",
        db.name
    ));
    let t = TestShell::new(&db);
    let home = t.home().to_path_buf();
    let out = t.args(["-c", "select 1"]).run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("42501"), "{out:?}");
    assert!(
        out.stderr.contains("DETAIL:")
            && out.stderr.contains("User does not have CONNECT privilege."),
        "{out:?}"
    );
    assert!(out.stdout.is_empty(), "nothing ran: {out:?}");
    assert!(session_logs(&home).is_empty(), "no session began: {out:?}");
}
