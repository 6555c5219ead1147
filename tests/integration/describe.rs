//! psql's describe meta-commands (`\d`, `\dt`, `\dv`, `\di`, `\df`, `\dn`, `\du`, `\l`)
//! through `-c`, `-f` and piped input: what they list, hostile patterns that must stay
//! data, a hostile `search_path` that must not change the catalog queries, and `\q`
//! ending a script.

use crate::util::{TestDb, TestShell, LOGIN, READER, WRITER};

/// The rows of the result table whose first cell is `first`, as trimmed cells.
fn rows_starting(stdout: &str, first: &str) -> Vec<Vec<String>> {
    stdout
        .lines()
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.len() > 1 && cells[0] == first)
        .collect()
}

fn describe(db: &TestDb, args: &[&str]) -> crate::util::Output {
    let mut shell = TestShell::new(db);
    for a in args {
        shell = shell.args(["-c", a]);
    }
    shell.run()
}

#[test]
fn dt_lists_tables_without_system_schemas() {
    let db = TestDb::new("describe_dt");
    let out = describe(&db, &["\\dt"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("List of relations"), "{out:?}");
    let rows = rows_starting(&out.stdout, "public");
    assert_eq!(rows.len(), 1, "{out:?}");
    assert_eq!(rows[0][1], "items");
    assert_eq!(rows[0][2], "table");
    assert!(!out.stdout.contains("pg_catalog"), "{out:?}");
    assert!(out.stdout.contains("(1 row)"), "{out:?}");

    // A pattern naming the system schema shows it, like psql.
    let out = describe(&db, &["\\dt pg_catalog.pg_clas?"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(rows_starting(&out.stdout, "pg_catalog").len(), 1, "{out:?}");

    // Wildcards and schema-qualified patterns.
    for pattern in ["it*", "public.items", "*.ITEMS", "?tems", "\"items\""] {
        let out = describe(&db, &[&format!("\\dt {pattern}")]);
        assert_eq!(out.code, 0, "{pattern}: {out:?}");
        assert_eq!(
            rows_starting(&out.stdout, "public").len(),
            1,
            "{pattern}: {out:?}"
        );
    }
    let out = describe(&db, &["\\dt \"ITEMS\""]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("Did not find any relation named \"\"ITEMS\"\"."),
        "{out:?}"
    );
}

#[test]
fn d_items_shows_columns_indexes_constraints_and_triggers() {
    let db = TestDb::new("describe_d_items");
    db.exec(
        "ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty >= 0), \
           ALTER COLUMN note SET DEFAULT 'none'; \
         CREATE INDEX items_note ON items (note); \
         CREATE TABLE orders (id int PRIMARY KEY, item_id int REFERENCES items (id)); \
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'; \
         CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch();",
    );
    let out = describe(&db, &["\\d items"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Table \"public.items\"\n"), "{out:?}");
    let id = rows_starting(&out.stdout, "id");
    assert_eq!(id.len(), 1, "{out:?}");
    assert_eq!(id[0][1], "integer");
    assert_eq!(id[0][3], "not null");
    let qty = rows_starting(&out.stdout, "qty");
    assert_eq!(
        (qty[0][1].as_str(), qty[0][3].as_str()),
        ("integer", "not null")
    );
    let note = rows_starting(&out.stdout, "note");
    assert_eq!(note[0][1], "text");
    assert_eq!(note[0][3], "");
    assert_eq!(note[0][4], "'none'::text");
    for footer in [
        "Indexes:\n    \"items_pkey\" PRIMARY KEY, btree (id)\n    \"items_note\" btree (note)\n",
        "Check constraints:\n    \"qty_positive\" CHECK (qty >= 0)\n",
        "Referenced by:\n    TABLE \"orders\" CONSTRAINT \"orders_item_id_fkey\" FOREIGN KEY (item_id) REFERENCES items(id)\n",
        "Triggers:\n    items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()\n",
    ] {
        assert!(out.stdout.contains(footer), "{footer}\n{out:?}");
    }

    // And from the other side: the foreign key of orders.
    let out = describe(&db, &["\\d public.orders"]);
    assert!(
        out.stdout.contains(
            "Foreign-key constraints:\n    \"orders_item_id_fkey\" FOREIGN KEY (item_id) REFERENCES items(id)\n"
        ),
        "{out:?}"
    );

    // A wildcard may match several relations: each gets its page, in name order.
    let out = describe(&db, &["\\d *s"]);
    assert_eq!(out.code, 0, "{out:?}");
    let items = out.stdout.find("Table \"public.items\"");
    let orders = out.stdout.find("Table \"public.orders\"");
    assert!(items.is_some() && items < orders, "{out:?}");

    // Nothing matches: psql's words on the error stream, and a failed command.
    let out = describe(&db, &["\\d nosuch"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("Did not find any relation named \"nosuch\"."),
        "{out:?}"
    );
}

#[test]
fn d_without_name_and_the_other_listings() {
    let db = TestDb::new("describe_lists");
    db.exec(
        "CREATE SCHEMA sales; CREATE VIEW cheap AS SELECT * FROM items WHERE qty < 30; \
         CREATE SEQUENCE tickets;",
    );
    let out = describe(&db, &["\\d"]);
    assert_eq!(out.code, 0, "{out:?}");
    let kinds: Vec<(String, String)> = rows_starting(&out.stdout, "public")
        .into_iter()
        .map(|r| (r[1].clone(), r[2].clone()))
        .collect();
    for want in [
        ("cheap", "view"),
        ("items", "table"),
        ("tickets", "sequence"),
    ] {
        assert!(
            kinds.contains(&(want.0.to_string(), want.1.to_string())),
            "{want:?}: {out:?}"
        );
    }

    let out = describe(&db, &["\\dv", "\\di", "\\dn", "\\l t_describe*"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(rows_starting(&out.stdout, "public")
        .iter()
        .any(|r| r[1] == "cheap"));
    assert!(
        rows_starting(&out.stdout, "public")
            .iter()
            .any(|r| r[1] == "items_pkey" && r[2] == "index" && r[4] == "items"),
        "{out:?}"
    );
    assert_eq!(rows_starting(&out.stdout, "sales").len(), 1, "{out:?}");
    assert_eq!(
        rows_starting(&out.stdout, "t_describe_lists").len(),
        1,
        "{out:?}"
    );
}

#[test]
fn df_lists_a_new_function() {
    let db = TestDb::new("describe_df");
    db.exec(
        "CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql AS 'SELECT i + 1'; \
         CREATE PROCEDURE noop() LANGUAGE sql AS 'SELECT 1';",
    );
    let out = describe(&db, &["\\df"]);
    assert_eq!(out.code, 0, "{out:?}");
    let rows = rows_starting(&out.stdout, "public");
    assert!(
        rows.contains(&vec![
            "public".to_string(),
            "add_one".to_string(),
            "integer".to_string(),
            "i integer".to_string(),
            "func".to_string()
        ]),
        "{out:?}"
    );
    assert!(
        rows.iter().any(|r| r[1] == "noop" && r[4] == "proc"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("pg_catalog"), "{out:?}");
    let out = describe(&db, &["\\df add*"]);
    assert_eq!(rows_starting(&out.stdout, "public").len(), 1, "{out:?}");
}

#[test]
fn du_lists_roles_and_memberships() {
    let db = TestDb::new("describe_du");
    let out = describe(&db, &["\\du"]);
    assert_eq!(out.code, 0, "{out:?}");
    let writer = rows_starting(&out.stdout, WRITER);
    assert_eq!(writer.len(), 1, "{out:?}");
    assert_eq!(writer[0][1], "Cannot login", "{out:?}");
    let login = rows_starting(&out.stdout, LOGIN);
    assert_eq!(login[0][1], "No inheritance", "{out:?}");
    assert_eq!(login[0][2], format!("{{{READER},{WRITER}}}"), "{out:?}");
    let out = describe(&db, &["\\du app_*"]);
    assert_eq!(rows_starting(&out.stdout, READER).len(), 1, "{out:?}");
    assert!(rows_starting(&out.stdout, LOGIN).is_empty(), "{out:?}");
}

#[test]
fn hostile_patterns_are_data() {
    let db = TestDb::new("describe_hostile");
    let before = db.items();
    let hostile = [
        "'x;drop table items;--",
        "x';drop/**/table/**/items;--",
        "\"x';drop table items;--\"",
        "x'||(select/**/1)||'",
        "a\\'b",
        "\\';drop/**/table/**/items;--",
        "$$;drop/**/table/**/items;$$",
        "\"unterminated';drop table items;--",
        "(a|b)+[",
        "x;y",
    ];
    for pattern in hostile {
        for command in ["\\dt", "\\d", "\\df", "\\dn", "\\du", "\\l", "\\di", "\\dv"] {
            let line = format!("{command} {pattern}");
            let out = describe(&db, &[&line]);
            // No row names items: the pattern is echoed only in psql's "not found" line.
            assert!(!out.stdout.contains("items"), "{line}: {out:?}");
            assert!(!out.stderr.contains("ERROR"), "{line}: {out:?}");
            match command {
                "\\d" => {
                    assert_eq!(out.code, 1, "{line}: {out:?}");
                    assert!(
                        out.stderr.contains("Did not find any relation named"),
                        "{line}: {out:?}"
                    );
                }
                "\\dt" | "\\di" | "\\dv" => {
                    assert_eq!(out.code, 0, "{line}: {out:?}");
                    assert!(
                        out.stderr.contains("Did not find any relation named"),
                        "{line}: {out:?}"
                    );
                }
                _ => {
                    assert_eq!(out.code, 0, "{line}: {out:?}");
                    assert!(out.stdout.contains("(0 rows)"), "{line}: {out:?}");
                }
            }
        }
    }
    assert_eq!(db.value("SELECT count(*) FROM items").as_deref(), Some("5"));
    assert_eq!(db.items(), before);

    // Regex metacharacters outside quotes are literal, so names holding them are found.
    db.exec("CREATE TABLE \"we(ird)+\" (x int);");
    let out = describe(&db, &["\\dt we(ird)+"]);
    assert_eq!(rows_starting(&out.stdout, "public").len(), 1, "{out:?}");
    assert!(out.stdout.contains("we(ird)+"), "{out:?}");
}

#[test]
fn hostile_search_path_does_not_change_the_queries() {
    let db = TestDb::new("describe_search_path");
    db.exec(
        "CREATE SCHEMA evil; GRANT USAGE ON SCHEMA evil TO PUBLIC; \
         CREATE TABLE evil.pg_class (oid oid, relname name, relkind \"char\", relnamespace oid, relowner oid); \
         INSERT INTO evil.pg_class VALUES (1, 'hacked_table', 'r', 2200, 10); \
         GRANT SELECT ON evil.pg_class TO PUBLIC; \
         CREATE FUNCTION evil.format_type(oid, integer) RETURNS text LANGUAGE sql AS $$SELECT 'HACKED'$$; \
         CREATE FUNCTION evil.pg_get_userbyid(oid) RETURNS name LANGUAGE sql AS $$SELECT 'HACKED'::name$$; \
         CREATE FUNCTION evil.pg_table_is_visible(oid) RETURNS boolean LANGUAGE sql AS 'SELECT true'; \
         CREATE FUNCTION evil.yes(oid, oid) RETURNS boolean LANGUAGE sql AS 'SELECT true'; \
         CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = evil.yes);",
    );
    let set = "set search_path = evil, pg_catalog, public";
    // The control: unqualified names do reach the hostile objects.
    let out = describe(&db, &[set, "select format_type(23, -1) as t"]);
    assert!(out.stdout.contains("HACKED"), "{out:?}");

    let out = describe(&db, &[set, "\\d items", "\\dt", "\\d"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("HACKED"), "{out:?}");
    assert!(!out.stdout.contains("hacked_table"), "{out:?}");
    assert_eq!(rows_starting(&out.stdout, "id")[0][1], "integer", "{out:?}");
    assert_eq!(rows_starting(&out.stdout, "note").len(), 1, "{out:?}");
    // `\dt` lists the real public tables (items), not the decoy row of evil.pg_class.
    let tables: Vec<String> = rows_starting(&out.stdout, "public")
        .into_iter()
        .map(|r| r[1].clone())
        .collect();
    assert!(tables.iter().all(|t| t == "items"), "{out:?}");
}

#[test]
fn meta_commands_run_in_scripts_and_q_ends_them() {
    let db = TestDb::new("describe_scripts");
    let out = TestShell::new(&db)
        .stdin("select 41 + 1 as answer;\n\\dt\n  \\q\nselect 'after quit' as late;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("42"), "{out:?}");
    assert_eq!(rows_starting(&out.stdout, "public").len(), 1, "{out:?}");
    assert!(!out.stdout.contains("after quit"), "{out:?}");

    // A backslash inside an unfinished statement is SQL, not a meta-command.
    let out = TestShell::new(&db)
        .stdin("select 'line one\n\\dt inside a string' as s;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\\dt inside a string"), "{out:?}");
    assert!(!out.stdout.contains("List of relations"), "{out:?}");

    // -f, and -c with several meta-commands; \q stops later -c strings too.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("s.sql");
    std::fs::write(&file, "\\conninfo\n\\dn\nselect 1 as one;\n").expect("write");
    let out = TestShell::new(&db)
        .args(["-f".as_ref(), file.as_os_str()])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("You are connected"), "{out:?}");
    assert!(out.stdout.contains("List of schemas"), "{out:?}");
    assert!(out.stdout.contains("(1 row)"), "{out:?}");

    let out = describe(&db, &["\\?", "\\q", "select 'nope' as n"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\\dt[S+] [PATTERN]"), "{out:?}");
    assert!(!out.stdout.contains("nope"), "{out:?}");

    // An unknown meta-command or an unusable pattern stops the script with code 1.
    let out = describe(&db, &["\\nosuch", "select 'nope' as n"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("invalid command \\nosuch"), "{out:?}");
    assert!(!out.stdout.contains("nope"), "{out:?}");
    let out = describe(&db, &["\\dt a.b.c"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("too many dotted names"), "{out:?}");
}

#[test]
fn describe_inside_a_write_transaction_sees_it() {
    let db = TestDb::new("describe_in_tx");
    let before = db.items();
    let out = TestShell::new(&db)
        .stdin("insert into items values (6, 60, 'six');\n\\d items\nrollback;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Table \"public.items\"\n"), "{out:?}");
    assert_eq!(rows_starting(&out.stdout, "note")[0][1], "text", "{out:?}");
    assert!(out.stdout.contains("PRIMARY KEY, btree (id)"), "{out:?}");
    assert!(out.stdout.ends_with("ROLLBACK\n"), "{out:?}");
    assert_eq!(db.items(), before);
}
