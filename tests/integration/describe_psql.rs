//! `\d` and its family compared with psql on the demo schema (`src/demo/shop.sql`) and a
//! few more shapes (views, partitions, inheritance, policies, statistics, deferrable and
//! partial indexes): the same commands on the same database, where psql's output is the
//! contract. Lines are compared with trailing blanks trimmed (pgward's tables trim them,
//! psql pads the last column). Snapshots keep `\d TABLE`, `\d+ TABLE`, `\d INDEX` and
//! `\d SEQUENCE` reviewable.

use std::process::Command;
use std::sync::OnceLock;

use crate::util::{admin_exec, cluster, TestDb, TestShell, LOGIN};

/// More shapes than the shop has, each on objects of its own so the shop's stay as
/// `pgward demo` shows them.
const SHAPES: &str = r#"
CREATE VIEW v_customers AS SELECT id, name FROM customers;
CREATE MATERIALIZED VIEW mv_orders AS SELECT id, total FROM orders WITH NO DATA;
CREATE INDEX ON mv_orders (id);
CREATE TABLE shapes (
    id serial PRIMARY KEY,
    code text COLLATE "C" UNIQUE DEFERRABLE INITIALLY DEFERRED,
    g int GENERATED ALWAYS AS (id * 2) STORED,
    note text
);
COMMENT ON COLUMN shapes.note IS 'free text';
ALTER TABLE shapes ALTER note SET STATISTICS 500, ALTER note SET COMPRESSION pglz;
CREATE INDEX shapes_note_partial ON shapes (lower(note)) WHERE note IS NOT NULL;
ALTER TABLE shapes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON shapes FOR UPDATE TO shop_reader USING (id > 0) WITH CHECK (g > 0);
CREATE POLICY r ON shapes AS RESTRICTIVE USING (true);
CREATE STATISTICS shapes_st (ndistinct) ON id, g FROM shapes;
CREATE TRIGGER shapes_t BEFORE UPDATE ON shapes FOR EACH ROW EXECUTE FUNCTION audit_row_change();
ALTER TABLE shapes DISABLE TRIGGER shapes_t;
CREATE TABLE measures (at date, v int) PARTITION BY RANGE (at);
CREATE TABLE measures_2024 PARTITION OF measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE measures_2025 PARTITION OF measures FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE kid (extra int) INHERITS (products);
CREATE UNLOGGED TABLE scratchpad (x int) WITH (fillfactor = 70);
CREATE TABLE ruled (id int, note text);
CREATE RULE ruled_notify AS ON INSERT TO ruled DO ALSO NOTIFY ruled;
CREATE RULE ruled_keep AS ON DELETE TO ruled WHERE old.id < 0 DO INSTEAD NOTHING;
ALTER TABLE ruled DISABLE RULE ruled_keep;
CREATE PUBLICATION pub_ruled FOR TABLE ruled (id) WHERE (id > 0);
CREATE PUBLICATION pub_plain FOR TABLE ruled;
"#;

/// The demo schema in database `t_describe_demo`, plus [`SHAPES`]. The demo's roles are
/// cluster-wide: they are created once, and the script runs without its CREATE ROLE lines.
fn demo_db() -> TestDb {
    static ROLES: OnceLock<()> = OnceLock::new();
    ROLES.get_or_init(|| {
        admin_exec(
            cluster(),
            "postgres",
            "CREATE ROLE shop_writer NOLOGIN; CREATE ROLE shop_reader NOLOGIN; \
             CREATE ROLE shop_login LOGIN NOINHERIT; GRANT shop_writer, shop_reader TO shop_login;",
        )
        .expect("create the demo roles");
    });
    let db = TestDb::new("describe_demo");
    let script: String = pgward::demo::SHOP_SQL
        .lines()
        .filter(|l| {
            !l.starts_with("CREATE ROLE ") && !l.starts_with("GRANT shop_writer, shop_reader TO")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    db.exec("DROP TABLE items");
    db.exec(&script);
    db.exec(SHAPES);
    db.exec(&format!(
        "GRANT CONNECT ON DATABASE {} TO {LOGIN}; ANALYZE;",
        db.name
    ));
    db
}

/// psql's output for `commands`, as the superuser.
fn psql(db: &TestDb, commands: &[&str]) -> (String, String) {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-P", "pager=off", "-d", &cluster().conninfo(&db.name)]);
    for c in commands {
        cmd.args(["-c", c]);
    }
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .output()
        .expect("psql is installed (it is the contract)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// pgward's output for `commands`, through the guard as the test login.
fn pgward(db: &TestDb, commands: &[&str]) -> crate::util::Output {
    let mut shell = TestShell::new(db);
    for c in commands {
        shell = shell.args(["-c", c]);
    }
    shell.run()
}

fn trimmed(s: &str) -> String {
    s.lines().map(|l| format!("{}\n", l.trim_end())).collect()
}

#[track_caller]
fn same_as_psql(db: &TestDb, commands: &[&str]) {
    let ours = pgward(db, commands);
    let (theirs, _) = psql(db, commands);
    let (a, b) = (trimmed(&ours.stdout), trimmed(&theirs));
    if a != b {
        let at = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(a.lines().count().min(b.lines().count()));
        let show = |s: &str| {
            s.lines()
                .skip(at.saturating_sub(3))
                .take(8)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{commands:?}: pgward differs from psql at line {}\n--- pgward:\n{}\n--- psql:\n{}\n--- stderr: {}",
            at + 1,
            show(&a),
            show(&b),
            ours.stderr
        );
    }
}

#[test]
fn describe_matches_psql_on_the_demo_schema() {
    let db = demo_db();
    for name in [
        "orders",
        "customers",
        "order_items",
        "products",
        "audit_log",
        "orders_pkey",
        "customers_email_key",
        "orders_id_seq",
        "v_customers",
        "mv_orders",
        "shapes",
        "shapes_note_partial",
        "shapes_code_key",
        "shapes_id_seq",
        "measures",
        "measures_2024",
        "kid",
        "scratchpad",
        "ruled",
        "public.order*",
    ] {
        same_as_psql(&db, &[&format!("\\d {name}"), &format!("\\d+ {name}")]);
    }
    same_as_psql(
        &db,
        &[
            "\\d",
            "\\dt",
            "\\ds",
            "\\dv",
            "\\dm",
            "\\di",
            "\\dx",
            "\\dp",
            "\\dT",
            "\\dt public.ord*",
            "\\di *pkey",
            "\\sf audit_row_change",
            "\\dtS pg_catalog.pg_am*",
            "\\dS pg_catalog.pg_roles",
            "\\dS+ pg_catalog.pg_am",
        ],
    );

    // Nothing found: psql's words, and the command fails as psql's does.
    let ours = pgward(&db, &["\\d nosuch"]);
    let (_, theirs) = psql(&db, &["\\d nosuch"]);
    assert_eq!(ours.code, 1, "{ours:?}");
    assert!(ours.stderr.contains(theirs.trim()), "{ours:?} vs {theirs}");

    for (snapshot, command) in [
        ("describe_table", "\\d orders"),
        ("describe_table_verbose", "\\d+ orders"),
        ("describe_index", "\\d orders_pkey"),
        ("describe_sequence", "\\d orders_id_seq"),
    ] {
        let out = pgward(&db, &[command]);
        assert_eq!(out.code, 0, "{out:?}");
        insta::assert_snapshot!(snapshot, out.stdout);
    }
    // One database for both: tests run in parallel, and each would drop the other's.
    describe_honours_expanded_and_the_output_format_as_psql_does(&db);
}

/// `\x` and `\pset` as psql applies them to describe output: a table's or an index's
/// page is never expanded, a sequence's and a listing's are; every format, border,
/// tuples only and footer setting; NULL is never `\pset null` in describe output.
fn describe_honours_expanded_and_the_output_format_as_psql_does(db: &TestDb) {
    for settings in [
        &["\\x"][..],
        &["\\pset format unaligned"],
        &["\\pset format csv"],
        &["\\pset border 2"],
        &["\\pset border 0"],
        &["\\x", "\\pset format unaligned"],
        &["\\x", "\\pset border 2"],
        &["\\pset tuples_only on"],
        &["\\pset footer off"],
        &["\\pset null (null)"],
    ] {
        for command in [
            "\\d orders",
            "\\d+ shapes",
            "\\d orders_pkey",
            "\\d orders_id_seq",
            "\\dt",
        ] {
            let mut commands = settings.to_vec();
            commands.push(command);
            same_as_psql(db, &commands);
        }
    }
}

/// psql names a relation's tablespace when it is not the database's default:
/// `Tablespace: "name"` under a table, a materialized view, an index or a partitioned
/// table, and `, tablespace "name"` after an index in a table's list. The tablespace
/// is created as the superuser in a directory of the throwaway cluster's own.
#[test]
fn describe_names_a_tablespace_as_psql_does() {
    use std::os::unix::fs::MetadataExt;
    let c = cluster();
    // No base backup of the shared cluster (the standby test) while it has a tablespace;
    // the tablespace and what uses it are dropped again, also when an assertion fails.
    let _held = crate::util::tablespace_lock();
    struct DropTablespace(&'static pgward::scratch::Cluster, String);
    impl Drop for DropTablespace {
        fn drop(&mut self) {
            let _ = admin_exec(
                self.0,
                "postgres",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.1),
            );
            let _ = admin_exec(self.0, "postgres", "DROP TABLESPACE IF EXISTS ts_describe");
        }
    }
    let parent = c.data_dir().parent().expect("the cluster's directory");
    let dir = parent.join("ts_describe");
    std::fs::create_dir_all(&dir).expect("tablespace directory");
    let owner = std::fs::metadata(parent).expect("owner of the cluster's directory");
    std::os::unix::fs::chown(&dir, Some(owner.uid()), Some(owner.gid()))
        .expect("the server's user owns the tablespace directory");
    let db = TestDb::new("describe_tablespace");
    let _cleanup = DropTablespace(c, db.name.clone());
    // CREATE TABLESPACE cannot run in a transaction block: a statement of its own.
    let _ = admin_exec(c, "postgres", "DROP TABLESPACE IF EXISTS ts_describe");
    admin_exec(
        c,
        "postgres",
        &format!("CREATE TABLESPACE ts_describe LOCATION '{}'", dir.display()),
    )
    .expect("create the tablespace");
    db.exec(
        "CREATE TABLE spaced (id int PRIMARY KEY USING INDEX TABLESPACE ts_describe, v int) \
           TABLESPACE ts_describe; \
         CREATE INDEX spaced_v ON spaced (v) WITH (fillfactor = 70); \
         CREATE INDEX items_qty ON items (qty) TABLESPACE ts_describe; \
         CREATE MATERIALIZED VIEW spaced_mv TABLESPACE ts_describe AS SELECT id FROM spaced; \
         CREATE TABLE spaced_p (a int) PARTITION BY RANGE (a) TABLESPACE ts_describe; \
         CREATE TABLE spaced_p1 PARTITION OF spaced_p FOR VALUES FROM (0) TO (10); \
         CREATE INDEX spaced_p_a ON spaced_p (a) TABLESPACE ts_describe;",
    );
    db.exec(&format!("GRANT CONNECT ON DATABASE {} TO {LOGIN}", db.name));
    for name in [
        "spaced",
        "spaced_pkey",
        "spaced_v",
        "items",
        "items_qty",
        "spaced_mv",
        "spaced_p",
        "spaced_p1",
        "spaced_p_a",
    ] {
        same_as_psql(&db, &[&format!("\\d {name}"), &format!("\\d+ {name}")]);
    }
    let out = pgward(&db, &["\\d spaced"]);
    assert!(
        out.stdout.contains("Tablespace: \"ts_describe\""),
        "the footer is there to compare: {out:?}"
    );
}
