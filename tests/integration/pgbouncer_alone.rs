//! Statements that run alone (VACUUM, CREATE INDEX CONCURRENTLY) through a real PgBouncer
//! (Debian's, started by `pgbouncer::start`). pgward needs the write role set for the
//! session to run them, which a pool in transaction mode could leave on a pooled backend
//! that another client gets. PgBouncer answers the startup with a cancel key of its own,
//! whose pid is not `pg_backend_pid()`: pgward sees the pooler and refuses such
//! statements up front (before the summary, the approval, anything set or logged as
//! intent) unless the environment declares `pooler = "session"`. Each case runs with an
//! approval service whose reviewer approves whatever comes, so a statement that is not
//! refused up front would run; the superuser then checks the catalog, the statistics,
//! the approver's decisions and every backend of the pool.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::approval_util::*;
use crate::pgbouncer::{start, Bouncer};
use crate::util::{self, cluster, TestDb, TestShell, LOGIN, PASSWORD, WRITER};

const CIC: &str = "CREATE INDEX CONCURRENTLY items_qty ON items (qty);\n";
const VACUUM: &str = "VACUUM items;\n";

/// A database whose `items` the write role owns (VACUUM and an index need the owner).
fn owned_db(name: &str) -> TestDb {
    let db = TestDb::new(name);
    db.exec(&format!(
        "ALTER TABLE items OWNER TO {WRITER}; GRANT CREATE ON SCHEMA public TO {WRITER}"
    ));
    db
}

/// The login's conninfo through `bouncer`.
fn via(bouncer: &Bouncer, db: &TestDb) -> String {
    format!(
        "host={} port={} user={LOGIN} dbname={}",
        cluster().host(),
        bouncer.port,
        db.name
    )
}

/// `items_qty` as the catalog has it: `"valid"`, `"invalid"` or `"absent"`.
fn index(db: &TestDb) -> String {
    db.value(
        "SELECT CASE WHEN i.indisvalid THEN 'valid' ELSE 'invalid' END \
         FROM pg_catalog.pg_index i WHERE i.indexrelid = pg_catalog.to_regclass('items_qty')",
    )
    .unwrap_or_else(|| "absent".into())
}

/// What a VACUUM of `items` leaves: `pg_class.relallvisible` (0 until a VACUUM sets the
/// visibility map of the freshly filled table) and `pg_stat_user_tables.vacuum_count`.
fn vacuumed(db: &TestDb) -> String {
    db.value(
        "SELECT c.relallvisible || ':' || s.vacuum_count FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = 'items'",
    )
    .unwrap_or_default()
}

/// Environment `t` reaching `db` through `bouncer`, approved by `ap`, with `pooler`
/// (a line such as `pooler = "session"`, or nothing).
fn env(home: &Path, db: &TestDb, bouncer: &Bouncer, ap: &Approver, pooler: &str) -> String {
    let cfg = config(
        home,
        db,
        &ap.url(),
        &ap.public_key(),
        "require_code = false",
    );
    let text = std::fs::read_to_string(&cfg)
        .expect("read config")
        .replace(&db.login_conninfo(), &via(bouncer, db))
        .replace(
            "require_approval = true\n",
            &format!("require_approval = true\n{pooler}\n"),
        );
    std::fs::write(&cfg, text).expect("write config");
    cfg.display().to_string()
}

/// A reviewer who approves every request that comes until told to stop; how many came.
fn approve_any(ap: &Approver) -> (Arc<AtomicBool>, JoinHandle<usize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&stop);
    let url = ap.url();
    let reviewer = std::thread::spawn(move || {
        let r = Reviewer::login(&url, "bob", REVIEWER_PW)
            .unwrap_or_else(|a| panic!("login: {}", a.status));
        let mut approved = 0;
        while !done.load(Ordering::SeqCst) {
            if let Some(id) = r.next_pending(Duration::from_millis(300)) {
                assert_eq!(r.approve(&id).0, 303, "approved");
                approved += 1;
            }
        }
        approved
    });
    (stop, reviewer)
}

/// Runs `script` in environment `t` of `cfg` while `ap`'s reviewer approves anything:
/// the output, the session log's record kinds, and how many requests were approved.
fn run(cfg: &str, ap: &Approver, script: &str) -> (util::Output, Vec<String>, usize) {
    let cred = ap.author("alice");
    let (stop, reviewer) = approve_any(ap);
    let logs = tempfile::tempdir().expect("log dir");
    let out = shell(Path::new(cfg), &cred, script)
        .args(["--log-dir"])
        .arg_path(logs.path())
        .run();
    stop.store(true, Ordering::SeqCst);
    let approved = reviewer.join().expect("reviewer");
    let mut kinds = Vec::new();
    for entry in std::fs::read_dir(logs.path()).expect("log dir") {
        let path = entry.expect("entry").path();
        kinds.extend(
            util::records(&path)
                .iter()
                .map(|r| r["kind"].as_str().unwrap_or("").to_string()),
        );
    }
    (out, kinds, approved)
}

/// Every backend the pool holds for `db`, visited through `bouncer` (one client per
/// backend, each inside a transaction so that each gets a backend of its own), is as a
/// fresh direct login finds one: the login's role, its timeouts, no placeholder of
/// pgward's. Returns how many backends were visited.
fn pool_is_clean(bouncer: &Bouncer, db: &TestDb) -> usize {
    const LOOK: &str = "SELECT pg_catalog.pg_backend_pid()::text, current_user, \
         pg_catalog.current_setting('statement_timeout'), \
         pg_catalog.current_setting('lock_timeout'), \
         coalesce(pg_catalog.current_setting('pgward.alone', true), '')";
    let pooled: Vec<String> = util::admin_rows(
        cluster(),
        &db.name,
        &format!(
            "SELECT pid::text FROM pg_catalog.pg_stat_activity \
             WHERE usename = '{LOGIN}' AND datname = '{}'",
            db.name
        ),
    )
    .into_iter()
    .filter_map(|r| r.into_iter().next().flatten())
    .collect();
    let rt = rt();
    rt.block_on(async {
        let connect = |conninfo: String| async move {
            let (client, conn) = tokio_postgres::connect(
                &format!("{conninfo} password={PASSWORD}"),
                tokio_postgres::NoTls,
            )
            .await
            .expect("connect");
            tokio::spawn(conn);
            client
        };
        let row = |messages: Vec<tokio_postgres::SimpleQueryMessage>| {
            messages
                .into_iter()
                .find_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                        (0..r.len())
                            .map(|i| r.get(i).unwrap_or("").to_string())
                            .collect::<Vec<_>>(),
                    ),
                    _ => None,
                })
                .expect("a row")
        };
        let direct = connect(db.login_conninfo()).await;
        let fresh = row(direct.simple_query(LOOK).await.expect("look"));
        let mut clients = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..pooled.len().max(1) {
            let client = connect(via(bouncer, db)).await;
            let mut r = row(client
                .simple_query(&format!("BEGIN; {LOOK}"))
                .await
                .expect("look through the pool"));
            let pid = r.remove(0);
            assert_eq!(
                r[..],
                fresh[1..],
                "backend {pid} of the pool is as a fresh login's"
            );
            seen.push(pid);
            clients.push(client);
        }
        for pid in &pooled {
            assert!(seen.contains(pid), "pooled backend {pid} visited: {seen:?}");
        }
        for client in clients {
            client.batch_execute("ROLLBACK").await.expect("rollback");
        }
        seen.len()
    })
}

/// `script` through `bouncer` is refused up front: exit code 2 (refused), the reason
/// names `because`, no summary was shown, nothing was asked of the approver, and the
/// log holds no intent.
fn refused(cfg: &str, ap: &Approver, script: &str, because: &str) {
    let (out, kinds, approved) = run(cfg, ap, script);
    let what = script.split(" items").next().unwrap_or(script);
    assert_eq!(out.code, 2, "{script}: {out:?}");
    assert!(
        out.stderr.contains(&format!("refused: {what} runs alone")) && out.stderr.contains(because),
        "{script}: the reason names {because:?}: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("pooler = \"session\""),
        "the hint names the key: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("CANNOT BE ROLLED BACK"),
        "refused before the summary: {}",
        out.stderr
    );
    assert_eq!(approved, 0, "{script}: no approval was asked for");
    for kind in ["approval_request", "commit_intent", "commit"] {
        assert!(!kinds.iter().any(|k| k == kind), "{script}: {kinds:?}");
    }
    assert!(kinds.iter().any(|k| k == "statement"), "{kinds:?}");
}

#[test]
fn alone_through_a_transaction_pool_is_refused() {
    let db = owned_db("bouncer_alone_tx");
    let bouncer = start("transaction");
    let ap = Approver::start("bouncer_alone_tx");
    let home = tempfile::tempdir().expect("home");
    let before = vacuumed(&db);
    assert!(before.starts_with("0:"), "not vacuumed yet: {before}");

    let cfg = env(home.path(), &db, &bouncer, &ap, "");
    refused(
        &cfg,
        &ap,
        VACUUM,
        "through a connection pooler (cancel key pid",
    );
    refused(
        &cfg,
        &ap,
        CIC,
        "through a connection pooler (cancel key pid",
    );
    // Declared: refused whatever was detected.
    let cfg = env(home.path(), &db, &bouncer, &ap, "pooler = \"transaction\"");
    refused(&cfg, &ap, CIC, "declares pooler = \"transaction\"");

    assert_eq!(index(&db), "absent", "no index was built");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(vacuumed(&db), before, "no VACUUM ran");
    assert_eq!(ap.log_entries(), 0, "the approver decided nothing");
    assert!(pool_is_clean(&bouncer, &db) >= 1);
}

#[test]
fn alone_through_a_session_pool_runs_only_where_declared() {
    let db = owned_db("bouncer_alone_session");
    let bouncer = start("session");
    let ap = Approver::start("bouncer_alone_session");
    let home = tempfile::tempdir().expect("home");
    let before = vacuumed(&db);

    let cfg = env(home.path(), &db, &bouncer, &ap, "");
    refused(
        &cfg,
        &ap,
        VACUUM,
        "through a connection pooler (cancel key pid",
    );
    refused(
        &cfg,
        &ap,
        CIC,
        "through a connection pooler (cancel key pid",
    );
    assert_eq!(index(&db), "absent");
    assert_eq!(ap.log_entries(), 0, "the approver decided nothing");

    // The DBA declares the pool's mode: it runs, approved, and the banner says why.
    let cfg = env(home.path(), &db, &bouncer, &ap, "pooler = \"session\"");
    let (out, kinds, approved) = run(&cfg, &ap, CIC);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("declared pooler = \"session\": statements that run alone"),
        "{}",
        out.stderr
    );
    assert_eq!(approved, 1);
    assert!(kinds.iter().any(|k| k == "commit"), "{kinds:?}");
    assert_eq!(index(&db), "valid", "the index was built, valid");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(vacuumed(&db), before, "the refused VACUUM never ran");
    assert!(pool_is_clean(&bouncer, &db) >= 1);
}

/// A transaction pool wrongly declared `pooler = "session"`: pgward trusts the
/// declaration, and its second line ([`keeps_backend`] in `standalone.rs`) can only
/// catch a pool that hands out another backend between round trips. A quiet pool (one
/// client here) hands back the same backend, so the statement runs; what holds either
/// way is that the RESET with its probe put that backend back, so no backend of the
/// pool is left with the write role or pgward's timeouts.
#[test]
fn transaction_pool_declared_as_session_leaves_no_backend_as_the_write_role() {
    let db = owned_db("bouncer_alone_misdeclared");
    let bouncer = start("transaction");
    let ap = Approver::start("bouncer_alone_misdeclared");
    let home = tempfile::tempdir().expect("home");
    let cfg = env(home.path(), &db, &bouncer, &ap, "pooler = \"session\"");
    let (out, kinds, approved) = run(&cfg, &ap, CIC);
    assert_eq!(approved, 1, "{out:?}");
    match out.code {
        0 => {
            assert_eq!(index(&db), "valid", "{out:?}");
            assert!(kinds.iter().any(|k| k == "commit"), "{kinds:?}");
        }
        2 => {
            // The pool handed out another backend: refused before anything was set.
            assert!(out.stderr.contains("GUARD: "), "{out:?}");
            assert_eq!(index(&db), "absent", "{out:?}");
        }
        _ => panic!("neither ran nor refused: {out:?}"),
    }
    assert!(pool_is_clean(&bouncer, &db) >= 1);
}

/// The banner and `\conninfo` say that the connection goes through a pooler, naming
/// both pids; a direct connection claims none.
#[test]
fn banner_and_conninfo_name_the_pooler_only_when_there_is_one() {
    let db = TestDb::new("bouncer_banner");
    let direct = TestShell::new(&db).args(["-c", "\\conninfo"]).run();
    assert_eq!(direct.code, 0, "{direct:?}");
    assert!(
        direct.stdout.contains("You are connected to database"),
        "{direct:?}"
    );
    assert!(!direct.stdout.contains("pooler"), "{direct:?}");
    assert!(!direct.stderr.contains("pooler"), "{direct:?}");

    for mode in ["session", "transaction"] {
        let bouncer = start(mode);
        let out = TestShell::new(&db)
            .args(["-p", &bouncer.port.to_string(), "-c", "\\conninfo"])
            .run();
        assert_eq!(out.code, 0, "{mode}: {out:?}");
        assert!(
            out.stderr
                .contains("NOTE:  connected through a connection pooler (cancel key pid "),
            "{mode}: the banner: {}",
            out.stderr
        );
        let line = out
            .stdout
            .lines()
            .find(|l| l.starts_with("Connected through a connection pooler (cancel key pid "))
            .unwrap_or_else(|| panic!("{mode}: \\conninfo: {}", out.stdout));
        // The two pids it names differ, and the server's is a backend of the login.
        let pids: Vec<&str> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(pids.len(), 2, "{line}");
        assert_ne!(pids[0], pids[1], "{line}");
        assert_eq!(
            db.value(&format!(
                "SELECT usename FROM pg_catalog.pg_stat_activity WHERE pid = {}",
                pids[1]
            ))
            .as_deref(),
            Some(LOGIN),
            "{mode}: the server backend named is the pool's: {line}"
        );
    }
}
