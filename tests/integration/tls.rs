//! TLS with psql's sslmode values against a real server with a certificate.
//!
//! These tests use a cluster of their own with TLS on (the shared one stays plain, since
//! enabling TLS there would change what `sslmode=prefer`, the default, gives every other
//! test). Its certificate is issued by a throwaway CA for the DNS name `localhost` only,
//! so connecting by `127.0.0.1` is a name mismatch: verify-full must refuse it while
//! verify-ca accepts it. `localhost` resolves to 127.0.0.1 here (checked below), where
//! the scratch server listens.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pgward::scratch::Cluster;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::util::{admin_exec, Output, TestDb, TestShell, LOGIN, PASSWORD, READER, WRITER};

/// A login that authenticates with a client certificate only.
const CERT_LOGIN: &str = "pgward_cert";
/// The test database on the TLS cluster.
const DB: &str = "t_tls";
/// What every test runs: `t` when this very session is encrypted.
const QUERY: &str = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

/// The TLS cluster and the root certificates the tests point pgward at.
struct TlsServer {
    cluster: Cluster,
    /// The CA that issued the server's certificate (PEM file).
    ca: PathBuf,
    /// An unrelated CA (PEM file).
    other_ca: PathBuf,
}

static TLS_SERVER: OnceLock<TlsServer> = OnceLock::new();

/// A CA certificate (PEM) and the issuer that signs with its key.
fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("CA key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).expect("self-sign the CA");
    (cert.pem(), Issuer::new(params, key))
}

/// The cluster with TLS on, the pgward roles as in `util::cluster()`, and database `t_tls`.
///
/// One difference in the roles: the read role is a member of `pg_read_all_stats`.
/// pg_stat_ssl hides other roles' sessions, and after `SET ROLE app_reader` the session
/// belongs to another role (`pgward_login`), so `QUERY` would find no row at all.
fn server() -> &'static TlsServer {
    TLS_SERVER.get_or_init(|| {
        let cluster = Cluster::start().expect("start a throwaway PostgreSQL cluster for TLS");

        let (ca_pem, issuer) = new_ca("pgward test CA");
        let (other_ca_pem, _) = new_ca("pgward unrelated test CA");
        let server_key = KeyPair::generate().expect("server key");
        // The DNS name only: an IP address in the SAN would let 127.0.0.1 match.
        let mut params =
            CertificateParams::new(vec!["localhost".to_string()]).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let server_cert = params
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");
        cluster
            .enable_tls(&server_cert.pem(), &server_key.serialize_pem())
            .expect("enable TLS on the scratch cluster");

        // The cluster's temp dir goes with it, so keep the client-side files there too.
        let write = |name: &str, pem: &str| {
            let path = cluster.socket_dir().join(name);
            std::fs::write(&path, pem).expect("write a CA file");
            path
        };
        let ca = write("test-ca.pem", &ca_pem);
        let other_ca = write("other-ca.pem", &other_ca_pem);

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
        .expect("create roles");
        admin_exec(&cluster, "postgres", &format!("CREATE DATABASE {DB}"))
            .expect("create the test database");

        // Client certificates: a login that authenticates with a certificate from the
        // test CA (pg_hba `cert`), the CA as the server's ssl_ca_file.
        admin_exec(
            &cluster,
            "postgres",
            &format!(
                "CREATE ROLE {CERT_LOGIN} LOGIN NOINHERIT; GRANT {WRITER}, {READER} TO {CERT_LOGIN};"
            ),
        )
        .expect("create the certificate login");
        let client_key = KeyPair::generate().expect("client key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(DnType::CommonName, CERT_LOGIN);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = params
            .signed_by(&client_key, &issuer)
            .expect("sign the client certificate");
        write("client.crt", &client_cert.pem());
        let key = write("client.key", &client_key.serialize_pem());
        std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("key mode");
        std::fs::write(cluster.data_dir().join("client-ca.pem"), &ca_pem).expect("server CA");
        let hba = cluster.data_dir().join("pg_hba.conf");
        let rules = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(
            &hba,
            format!("hostssl all {CERT_LOGIN} 127.0.0.1/32 cert\n{rules}"),
        )
        .expect("write pg_hba.conf");
        admin_exec(
            &cluster,
            "postgres",
            "ALTER SYSTEM SET ssl_ca_file = 'client-ca.pem'",
        )
        .expect("set the client CA");
        admin_exec(&cluster, "postgres", "SELECT pg_reload_conf()").expect("reload");
        TlsServer {
            cluster,
            ca,
            other_ca,
        }
    })
}

/// Conninfo for the login role on the TLS cluster via `host`, plus `extra`.
fn conninfo(host: &str, extra: &str) -> String {
    let port = server().cluster.port();
    format!("host={host} port={port} user={LOGIN} dbname={DB} {extra}")
}

/// `sslrootcert=<path>`.
fn rootcert(path: &Path) -> String {
    format!("sslrootcert={}", path.display())
}

/// The shell with `-d <conninfo>`, running the query as the read role.
fn shell(conninfo: &str) -> TestShell {
    TestShell::bare()
        .args([
            "-d",
            conninfo,
            "--write-role",
            WRITER,
            "--read-role",
            READER,
        ])
        .args(["-c", QUERY])
        .env("PGPASSWORD", PASSWORD)
}

/// The `ssl` column the query printed: `t` or `f`.
fn ssl_column(out: &Output) -> Option<&str> {
    out.stdout
        .lines()
        .map(str::trim)
        .find(|line| *line == "t" || *line == "f")
}

/// Asserts a successful run that printed `expected` for the session's `ssl`.
#[track_caller]
fn assert_ssl(out: &Output, expected: &str) {
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(ssl_column(out), Some(expected), "{out:?}");
    // The bridge above TLS keeps the cancel key's pid the one below it saw: a direct
    // connection, encrypted or not, is never taken for a pooler.
    assert!(!out.stderr.contains("connection pooler"), "{out:?}");
}

/// Asserts a refused connection (exit code 3) that printed no result and said `why`.
#[track_caller]
fn assert_refused(out: &Output, why: &str) {
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(ssl_column(out), None, "{out:?}");
    assert!(out.stderr.contains(why), "expected {why:?} in: {out:?}");
}

/// rustls's complaint about a certificate for other names.
const NAME_MISMATCH: &str = "not valid for name \"127.0.0.1\"";
/// rustls's complaint about a certificate from an untrusted CA.
const UNKNOWN_ISSUER: &str = "UnknownIssuer";

#[test]
fn localhost_resolves_to_the_servers_loopback_address() {
    let addrs: Vec<_> = ("localhost", 5432)
        .to_socket_addrs()
        .expect("resolve localhost")
        .map(|a| a.ip().to_string())
        .collect();
    // Other addresses (::1) are harmless: tokio-postgres tries each in turn.
    assert!(addrs.iter().any(|a| a == "127.0.0.1"), "{addrs:?}");
}

#[test]
fn sslmode_disable_is_plain() {
    assert_ssl(&shell(&conninfo("127.0.0.1", "sslmode=disable")).run(), "f");
}

#[test]
fn sslmode_prefer_encrypts_when_the_server_can() {
    assert_ssl(&shell(&conninfo("127.0.0.1", "sslmode=prefer")).run(), "t");
}

#[test]
fn default_sslmode_is_prefer() {
    assert_ssl(&shell(&conninfo("127.0.0.1", "")).run(), "t");
}

#[test]
fn sslmode_require_without_root_cert_encrypts() {
    assert_ssl(&shell(&conninfo("127.0.0.1", "sslmode=require")).run(), "t");
}

#[test]
fn sslmode_require_with_a_foreign_root_cert_checks_the_chain() {
    // libpq: with a root certificate, require behaves like verify-ca.
    let s = server();
    let extra = format!("sslmode=require {}", rootcert(&s.other_ca));
    assert_refused(&shell(&conninfo("localhost", &extra)).run(), UNKNOWN_ISSUER);
}

#[test]
fn verify_ca_accepts_the_chain_whatever_the_host_name() {
    let s = server();
    let extra = format!("sslmode=verify-ca {}", rootcert(&s.ca));
    assert_ssl(&shell(&conninfo("127.0.0.1", &extra)).run(), "t");
    assert_ssl(&shell(&conninfo("localhost", &extra)).run(), "t");
}

#[test]
fn verify_full_checks_the_host_name() {
    let s = server();
    let extra = format!("sslmode=verify-full {}", rootcert(&s.ca));
    assert_ssl(&shell(&conninfo("localhost", &extra)).run(), "t");
    // The certificate names `localhost` only, not the address.
    let out = shell(&conninfo("127.0.0.1", &extra)).run();
    assert_refused(&out, NAME_MISMATCH);
    assert!(out.stderr.contains("127.0.0.1"), "{out:?}");
}

#[test]
fn verify_ca_refuses_a_certificate_from_another_ca() {
    let s = server();
    let extra = format!("sslmode=verify-ca {}", rootcert(&s.other_ca));
    assert_refused(&shell(&conninfo("localhost", &extra)).run(), UNKNOWN_ISSUER);
    let extra = format!("sslmode=verify-full {}", rootcert(&s.other_ca));
    assert_refused(&shell(&conninfo("localhost", &extra)).run(), UNKNOWN_ISSUER);
}

#[test]
fn verify_full_with_the_system_roots_refuses_a_private_ca() {
    assert_refused(
        &shell(&conninfo(
            "localhost",
            "sslmode=verify-full sslrootcert=system",
        ))
        .run(),
        UNKNOWN_ISSUER,
    );
}

#[test]
fn verify_modes_without_any_root_cert_are_refused() {
    for mode in ["verify-full", "verify-ca"] {
        let shell = shell(&conninfo("localhost", &format!("sslmode={mode}")));
        assert!(!shell.home().join(".postgresql/root.crt").exists());
        let out = shell.run();
        assert_refused(&out, "sslrootcert");
    }
}

#[test]
fn root_cert_in_its_default_place_is_used() {
    let s = server();
    let place = |shell: &TestShell| {
        let dir = shell.home().join(".postgresql");
        std::fs::create_dir_all(&dir).expect("mkdir ~/.postgresql");
        std::fs::copy(&s.ca, dir.join("root.crt")).expect("copy root.crt");
    };
    let ok = shell(&conninfo("localhost", "sslmode=verify-full"));
    place(&ok);
    assert_ssl(&ok.run(), "t");
    // It is really checked against: the name mismatch still fails.
    let mismatch = shell(&conninfo("127.0.0.1", "sslmode=verify-full"));
    place(&mismatch);
    assert_refused(&mismatch.run(), NAME_MISMATCH);
}

#[test]
fn pgsslmode_and_pgsslrootcert_are_honoured() {
    let s = server();
    let ca = s.ca.to_string_lossy().into_owned();
    let run = |host: &str| {
        shell(&conninfo(host, ""))
            .env("PGSSLMODE", "verify-full")
            .env("PGSSLROOTCERT", &ca)
            .run()
    };
    assert_ssl(&run("localhost"), "t");
    assert_refused(&run("127.0.0.1"), NAME_MISMATCH);
    // With the root certificate in the conninfo and only the mode from the environment.
    let run = |host: &str| {
        shell(&conninfo(host, &rootcert(&s.ca)))
            .env("PGSSLMODE", "verify-full")
            .run()
    };
    assert_ssl(&run("localhost"), "t");
    assert_refused(&run("127.0.0.1"), NAME_MISMATCH);
}

#[test]
fn conninfo_sslmode_overrides_pgsslmode() {
    let out = shell(&conninfo("127.0.0.1", "sslmode=disable"))
        .env("PGSSLMODE", "verify-full")
        .run();
    assert_ssl(&out, "f");
}

#[test]
fn require_against_a_server_without_tls_is_refused() {
    // The shared cluster has TLS off.
    let db = TestDb::new("tls_require_plain_server");
    let conninfo = format!("{} sslmode=require", db.login_conninfo());
    let out = shell(&conninfo).run();
    assert_refused(&out, "server does not support TLS");
    // The same server is fine without TLS (the row is hidden from app_reader there).
    let conninfo = format!("{} sslmode=prefer", db.login_conninfo());
    let out = shell(&conninfo).run();
    assert_eq!(out.code, 0, "{out:?}");
}

// Regression tests for libpq behaviours pgward once got wrong.

/// libpq connects to `hostaddr` but verifies the certificate (and looks up ~/.pgpass)
/// with `host` (pgward once checked `hostaddr` instead).
#[test]
fn hostaddr_keeps_host_for_verify_full() {
    let s = server();
    let extra = format!("hostaddr=127.0.0.1 sslmode=verify-full {}", rootcert(&s.ca));
    assert_ssl(&shell(&conninfo("localhost", &extra)).run(), "t");
}

/// sslmode=disable never uses a root certificate, so a missing one (say a stale
/// PGSSLROOTCERT) must not stop the connection.
#[test]
fn disable_ignores_a_missing_root_cert() {
    let out = shell(&conninfo(
        "127.0.0.1",
        "sslmode=disable sslrootcert=/nonexistent/ca.pem",
    ))
    .run();
    assert_ssl(&out, "f");
}

#[test]
fn channel_binding_require_over_tls_with_scram() {
    assert_ssl(
        &shell(&conninfo(
            "127.0.0.1",
            "sslmode=require channel_binding=require",
        ))
        .run(),
        "t",
    );
    // Without TLS there is nothing to bind to: refused, as libpq refuses it.
    let out = shell(&conninfo(
        "127.0.0.1",
        "sslmode=disable channel_binding=require",
    ))
    .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(ssl_column(&out), None, "{out:?}");
}

#[test]
fn client_certificate_authenticates() {
    let dir = server().cluster.socket_dir().to_path_buf();
    let port = server().cluster.port();
    let info = format!(
        "host=127.0.0.1 port={port} user={CERT_LOGIN} dbname={DB} sslmode=verify-ca {} sslcert={} sslkey={}",
        rootcert(&server().ca),
        dir.join("client.crt").display(),
        dir.join("client.key").display(),
    );
    let run = |info: &str| {
        TestShell::bare()
            .args(["-d", info, "--write-role", WRITER, "--read-role", READER])
            .args(["-c", QUERY])
            .run()
    };
    // The server reloads pg_hba.conf and its CA on its own time: wait for it.
    let start = std::time::Instant::now();
    let out = loop {
        let out = run(&info);
        if out.code == 0 || start.elapsed() > std::time::Duration::from_secs(15) {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // No password anywhere: the certificate is the credential.
    assert_ssl(&out, "t");

    // Without the certificate the same login is refused by the server.
    let bare = info.split(" sslcert=").next().expect("prefix").to_string();
    let out = run(&bare);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(ssl_column(&out), None, "{out:?}");

    // A key readable by others is refused before connecting, as libpq refuses it.
    let open_key = dir.join("open.key");
    std::fs::copy(dir.join("client.key"), &open_key).expect("copy key");
    std::fs::set_permissions(
        &open_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .expect("mode");
    let out = run(&info.replace("client.key", "open.key"));
    assert_refused(&out, "group or world access");
}

/// The byte bridge sits above TLS: over an encrypted session to a SQL_ASCII database, a
/// Latin-1 column name and value read escaped, as over a plain socket; with `prefer`
/// too, where the bridge hands the socket to TLS after the server's `S`.
#[test]
fn latin1_in_a_sql_ascii_database_reads_escaped_over_tls() {
    let s = server();
    let db = "t_tls_ascii";
    for sql in [
        format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        format!(
            "CREATE DATABASE {db} ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
        ),
    ] {
        admin_exec(&s.cluster, "postgres", &sql).expect("create the SQL_ASCII database");
    }
    admin_exec(
        &s.cluster,
        db,
        &format!(
            "DO $$ BEGIN EXECUTE format('CREATE TABLE wide (%I text)', E'\\xe9t\\xe9'); END $$; \
             INSERT INTO wide VALUES (E'caf\\xe9'); GRANT SELECT ON wide TO {READER};"
        ),
    )
    .expect("fixture");
    let port = s.cluster.port();
    for mode in ["require", "prefer"] {
        let out = TestShell::bare()
            .args([
                "-d",
                &format!("host=localhost port={port} user={LOGIN} dbname={db} sslmode={mode}"),
                "--write-role",
                WRITER,
                "--read-role",
                READER,
                "-A",
                "-c",
                "select (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl, * from wide",
            ])
            .env("PGPASSWORD", PASSWORD)
            .run();
        assert_eq!(out.code, 0, "{mode}: {out:?}");
        assert!(
            out.stdout.contains("ssl|\\xe9t\\xe9\nt|caf\\xe9\n"),
            "{mode}: {out:?}"
        );
    }
}

/// libpq's TLS version range and `sslsni`, from the string or the `PG*` variables: the
/// server reports the version the session negotiated.
#[test]
fn tls_versions_and_sni_follow_libpqs_parameters() {
    let version = |extra: &str, env: &[(&str, &str)]| {
        let mut t = TestShell::bare()
            .args([
                "-d",
                &conninfo("127.0.0.1", &format!("sslmode=require {extra}")),
                "--write-role",
                WRITER,
                "--read-role",
                READER,
            ])
            .args([
                "-c",
                "select version as tls from pg_stat_ssl where pid = pg_backend_pid()",
            ])
            .env("PGPASSWORD", PASSWORD);
        for (k, v) in env {
            t = t.env(k, v);
        }
        t.run()
    };
    let shows = |out: &Output, want: &str| {
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stdout.lines().any(|l| l.trim() == want),
            "expected {want}: {out:?}"
        );
    };
    shows(&version("ssl_max_protocol_version=TLSv1.2", &[]), "TLSv1.2");
    shows(&version("ssl_min_protocol_version=TLSv1.3", &[]), "TLSv1.3");
    shows(
        &version("", &[("PGSSLMAXPROTOCOLVERSION", "TLSv1.2")]),
        "TLSv1.2",
    );
    shows(
        &version("sslsni=0", &[("PGSSLMINPROTOCOLVERSION", "tlsv1.3")]),
        "TLSv1.3",
    );
    // What rustls cannot do is an error naming it, with nothing run.
    let out = version("ssl_max_protocol_version=TLSv1.1", &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("ssl_max_protocol_version"), "{out:?}");
    assert!(!out.stdout.contains("TLS"), "{out:?}");
}
