//! The PostgreSQL docs' TLS recipe: a self-signed server certificate with `CA:TRUE`
//! (what `openssl req -new -x509` makes) used as its own root. verify-ca and verify-full
//! accept it when the root file holds exactly that certificate; verify-full still checks
//! the name; a root file holding it next to another certificate, or another self-signed
//! certificate, is refused. A cluster of its own, since the certificate is the server's.

use std::path::PathBuf;
use std::sync::OnceLock;

use pgward::scratch::Cluster;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

use crate::util::{admin_exec, Output, TestShell, LOGIN, PASSWORD, READER, WRITER};

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

/// A self-signed CA:TRUE certificate for `localhost`, as `openssl req -x509` makes it.
fn self_signed() -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("self-sign");
    (cert.pem(), key.serialize_pem())
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        let cluster = Cluster::start().expect("start a cluster for TLS");
        let (cert, key) = self_signed();
        let (other, _) = self_signed();
        cluster.enable_tls(&cert, &key).expect("enable TLS");
        let write = |name: &str, pem: &str| {
            let path = cluster.socket_dir().join(name);
            std::fs::write(&path, pem).expect("write a root file");
            path
        };
        let own = write("own.pem", &cert);
        let bundle = write("bundle.pem", &format!("{cert}{other}"));
        let other = write("other.pem", &other);
        admin_exec(
            &cluster,
            "postgres",
            &format!(
                "CREATE ROLE {WRITER} NOLOGIN; CREATE ROLE {READER} NOLOGIN; \
                 CREATE ROLE {LOGIN} LOGIN NOINHERIT PASSWORD '{PASSWORD}'; \
                 GRANT {WRITER}, {READER} TO {LOGIN}; \
                 GRANT pg_read_all_stats TO {READER};"
            ),
        )
        .expect("roles");
        admin_exec(&cluster, "postgres", &format!("CREATE DATABASE {DB}")).expect("database");
        Server {
            cluster,
            own,
            bundle,
            other,
        }
    })
}

fn run(host: &str, mode: &str, root: &std::path::Path) -> Output {
    let s = server();
    let conninfo = format!(
        "host={host} port={} user={LOGIN} dbname={DB} sslmode={mode} sslrootcert={}",
        s.cluster.port(),
        root.display()
    );
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
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("not valid for name"), "{out:?}");
    // Not exactly that certificate in the root file: WebPKI's verdict stands.
    let out = run("localhost", "verify-full", &s.bundle);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("CaUsedAsEndEntity"), "{out:?}");
    // Another self-signed certificate for the same name.
    let out = run("localhost", "verify-ca", &s.other);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(!encrypted(&out), "{out:?}");
}
