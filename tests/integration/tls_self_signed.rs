//! The PostgreSQL docs' TLS recipe, run as the docs print it: `openssl req -new -x509
//! -days 365 -nodes -text -out server.crt -keyout server.key -subj "/CN=localhost"` makes
//! a self-signed certificate with `CA:TRUE` and no subjectAltName, used as its own root.
//! verify-ca and verify-full accept it when the root file holds exactly that certificate;
//! verify-full matches the host against the subject's CN as libpq does (no SAN), and
//! refuses another name, as psql 15 does in the same test; a root file holding it next to
//! another certificate, or another self-signed certificate, is refused. A CA-signed
//! server certificate with only a CN is matched the same way. Clusters of their own,
//! since the certificate is the server's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pgward::scratch::Cluster;

use crate::util::{
    admin_exec, psql_piped, session_logs, Output, TestShell, LOGIN, PASSWORD, READER, WRITER,
};

const DB: &str = "t_tls_self";
const QUERY: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

struct Server {
    cluster: Cluster,
    /// Exactly the server's certificate.
    own: PathBuf,
    /// The server's certificate and another one.
    bundle: PathBuf,
    /// Another self-signed CA:TRUE certificate for the same name.
    other: PathBuf,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static CA_SIGNED: OnceLock<(Cluster, PathBuf)> = OnceLock::new();

/// Runs `openssl` with `args` in `dir`.
#[track_caller]
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (script/deps)");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// The docs' recipe, verbatim, in a fresh directory: (certificate, key) as PEM text.
fn docs_recipe() -> (String, String) {
    let dir = tempfile::tempdir().expect("dir");
    openssl(
        dir.path(),
        &[
            "req",
            "-new",
            "-x509",
            "-days",
            "365",
            "-nodes",
            "-text",
            "-out",
            "server.crt",
            "-keyout",
            "server.key",
            "-subj",
            "/CN=localhost",
        ],
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("read");
    (read("server.crt"), read("server.key"))
}

/// A CA made with the docs' recipe and a server certificate it signed with only
/// `CN=localhost` (v3, no SAN): (root, certificate, key) as PEM text.
fn ca_signed() -> (String, String, String) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    openssl(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-days",
            "365",
            "-nodes",
            "-out",
            "root.crt",
            "-keyout",
            "root.key",
            "-subj",
            "/CN=pgward test root",
        ],
    );
    openssl(
        d,
        &[
            "req",
            "-new",
            "-nodes",
            "-out",
            "server.csr",
            "-keyout",
            "server.key",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(d.join("v3.ext"), "basicConstraints=CA:FALSE\n").expect("ext file");
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-days",
            "365",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-extfile",
            "v3.ext",
            "-out",
            "server.crt",
        ],
    );
    let read = |name: &str| std::fs::read_to_string(d.join(name)).expect("read");
    (read("root.crt"), read("server.crt"), read("server.key"))
}

fn roles_and_database(cluster: &Cluster) {
    admin_exec(
        cluster,
        "postgres",
        &format!(
            "CREATE ROLE {WRITER} NOLOGIN; CREATE ROLE {READER} NOLOGIN; \
             CREATE ROLE {LOGIN} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
             GRANT {WRITER}, {READER} TO {LOGIN}; \
             GRANT pg_read_all_stats TO {READER};"
        ),
    )
    .expect("roles");
    admin_exec(cluster, "postgres", &format!("CREATE DATABASE {DB}")).expect("database");
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let cluster = Cluster::start().expect("start a cluster for TLS");
        let (cert, key) = docs_recipe();
        let (other, _) = docs_recipe();
        cluster.enable_tls(&cert, &key).expect("enable TLS");
        let write = |name: &str, pem: &str| {
            let path = cluster.socket_dir().join(name);
            std::fs::write(&path, pem).expect("write a root file");
            path
        };
        let own = write("own.pem", &cert);
        let bundle = write("bundle.pem", &format!("{cert}{other}"));
        let other = write("other.pem", &other);
        roles_and_database(&cluster);
        Server {
            cluster,
            own,
            bundle,
            other,
        }
    })
}

fn conninfo(cluster: &Cluster, host: &str, mode: &str, root: &Path) -> String {
    format!(
        "host={host} port={} user={LOGIN} dbname={DB} sslmode={mode} sslrootcert={}",
        cluster.port(),
        root.display()
    )
}

fn run(host: &str, mode: &str, root: &Path) -> Output {
    run_on(&server().cluster, host, mode, root)
}

fn run_on(cluster: &Cluster, host: &str, mode: &str, root: &Path) -> Output {
    let conninfo = conninfo(cluster, host, mode, root);
    TestShell::bare()
        .args([
            "-d",
            &conninfo,
            "--write-role",
            WRITER,
            "--read-role",
            READER,
        ])
        .args(["-c", QUERY])
        .env("PGPASSWORD", PASSWORD)
        .run()
}

fn encrypted(out: &Output) -> bool {
    out.code == 0 && out.stdout.lines().any(|l| l.trim() == "t")
}

#[test]
fn the_docs_self_signed_certificate_is_its_own_root() {
    let s = server();
    let out = run("localhost", "verify-full", &s.own);
    assert!(encrypted(&out), "{out:?}");
    let out = run("127.0.0.1", "verify-ca", &s.own);
    assert!(encrypted(&out), "{out:?}");
    let out = run("localhost", "require", &s.own);
    assert!(encrypted(&out), "{out:?}");
}

#[test]
fn everything_else_is_still_refused() {
    let s = server();
    // verify-full still checks the name.
    let out = run("127.0.0.1", "verify-full", &s.own);
    refused_for_the_name(&out, "127.0.0.1");
    // Not exactly that certificate in the root file: WebPKI's verdict stands.
    let out = run("localhost", "verify-full", &s.bundle);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("CaUsedAsEndEntity"), "{out:?}");
    // Another self-signed certificate for the same name.
    let out = run("localhost", "verify-ca", &s.other);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(!encrypted(&out), "{out:?}");
}

/// psql 15 with the same conninfo and query: (exit code, stdout, stderr).
fn psql(cluster: &Cluster, host: &str, mode: &str, root: &Path) -> (i32, String, String) {
    let out = psql_piped(
        &conninfo(cluster, host, mode, root),
        &["-At", "-c", QUERY],
        &[("PGPASSWORD", PASSWORD)],
        "",
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Refused at connect: exit code 3, the host and the certificate's one name (its CN)
/// named, no row.
#[track_caller]
fn refused_for_the_name(out: &Output, host: &str) {
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains(&format!(
            "certificate not valid for name \"{host}\"; certificate is only valid for \"localhost\" (subject CN)"
        )),
        "{out:?}"
    );
    assert!(out.stdout.trim().is_empty(), "nothing ran: {out:?}");
}

#[test]
fn the_docs_recipe_matches_by_common_name_like_psql() {
    let s = server();
    // No subjectAltName in what the recipe makes: the CN is the name.
    let pem = std::fs::read_to_string(&s.own).expect("own");
    assert!(pem.contains("Subject: CN = localhost"), "{pem}");
    assert!(!pem.contains("Subject Alternative Name"), "{pem}");

    let out = run("localhost", "verify-full", &s.own);
    assert!(encrypted(&out), "{out:?}");
    let (code, stdout, stderr) = psql(&s.cluster, "localhost", "verify-full", &s.own);
    assert_eq!((code, stdout.trim()), (0, "t"), "psql: {stderr}");

    // Another name for the same server: both refuse.
    let t = TestShell::bare();
    let home = t.home().to_path_buf();
    let out = t
        .args([
            "-d",
            &conninfo(&s.cluster, "127.0.0.1", "verify-full", &s.own),
        ])
        .args(["--write-role", WRITER, "--read-role", READER, "-c", QUERY])
        .env("PGPASSWORD", PASSWORD)
        .run();
    refused_for_the_name(&out, "127.0.0.1");
    assert!(session_logs(&home).is_empty(), "no session began");
    let (code, _, stderr) = psql(&s.cluster, "127.0.0.1", "verify-full", &s.own);
    assert_eq!(code, 2, "psql refuses too: {stderr}");
    assert!(
        stderr.contains("does not match host name \"127.0.0.1\""),
        "{stderr}"
    );
}

#[test]
fn a_ca_signed_certificate_with_only_a_common_name_is_matched_by_it() {
    let (cluster, root) = CA_SIGNED.get_or_init(|| {
        let cluster = Cluster::start().expect("start a cluster for TLS");
        let (root, cert, key) = ca_signed();
        cluster.enable_tls(&cert, &key).expect("enable TLS");
        let path = cluster.socket_dir().join("root.pem");
        std::fs::write(&path, root).expect("root file");
        roles_and_database(&cluster);
        (cluster, path)
    });
    let out = run_on(cluster, "localhost", "verify-full", root);
    assert!(encrypted(&out), "{out:?}");
    let (code, stdout, stderr) = psql(cluster, "localhost", "verify-full", root);
    assert_eq!((code, stdout.trim()), (0, "t"), "psql: {stderr}");
    let out = run_on(cluster, "127.0.0.1", "verify-full", root);
    refused_for_the_name(&out, "127.0.0.1");
    let (code, _, _) = psql(cluster, "127.0.0.1", "verify-full", root);
    assert_eq!(code, 2);
    // verify-ca does not check the name.
    let out = run_on(cluster, "127.0.0.1", "verify-ca", root);
    assert!(encrypted(&out), "{out:?}");
}
