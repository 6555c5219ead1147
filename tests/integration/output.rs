//! psql's output controls, with psql itself as the contract: the same query on the same
//! database through psql 15 and through pgward, with the same flags or meta-commands,
//! must print the same bytes (NULLs, `'NULL'` and `''`, newlines, tabs, wide
//! characters, right-aligned numbers, expanded records, csv quoting, footers). The
//! pager and `\errverbose` run on a real pseudo-terminal.

use std::path::Path;

use crate::term::{Start, Term};
use crate::util::{self, cluster, TestDb, TestShell, READER, WRITER};

/// psql on `db` as the superuser (the query results do not depend on the role), its
/// standard output.
fn psql(db: &TestDb, args: &[&str], input: &str) -> String {
    let out = util::psql_piped(&cluster().conninfo(&db.name), args, &[], input);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Everything a format can get wrong: NULL beside the strings `'NULL'` and `''` and a
/// blank, a value on two lines, tabs, wide characters in a value and a header,
/// numbers (right-aligned in aligned output), and what csv must quote.
const MIXED: &str = "select id, qty * 1.5 as amount, n, s, e, nl, tab, wide as \"wide 名\", q \
     from (values \
       (1, 10, null::text, 'NULL', '', E'two\\nlines', E'a\\tb', '日本語', 'q\"c,d'), \
       (22, -3, 'x', null, ' ', 'one', E'\\t', 'ü', E'\\\\.'), \
       (333, 0, '', '', null, E'\\n', E'x\\ty\\tz', '', null)) \
       as v(id, qty, n, s, e, nl, tab, wide, q) order by id";

#[test]
fn output_flags_print_what_psql_prints() {
    let db = TestDb::new("out_flags");
    let sets: &[&[&str]] = &[
        &[],
        &["-x"],
        &["-A"],
        &["-t"],
        &["-A", "-t"],
        &["--csv"],
        &["--csv", "-t"],
        &["--csv", "-x"],
        &["-A", "-F", ",", "-R", ";"],
        &["-A", "-x"],
        &["-t", "-x"],
        &["-P", "border=0"],
        &["-P", "border=2"],
        &["-x", "-P", "border=0"],
        &["-x", "-P", "border=2"],
        &["-P", "null=(null)"],
        &["--csv", "-P", "null=NULL"],
        &["-P", "footer=off"],
        &["-P", "title=Mixed values"],
        &["-x", "-P", "title=Mixed values"],
    ];
    for flags in sets {
        for query in [MIXED, "select 1 as a where false", "select from items"] {
            let theirs = psql(&db, &[flags, &["-c", query][..]].concat(), "");
            let ours = TestShell::new(&db).args(*flags).args(["-c", query]).run();
            assert_eq!(ours.code, 0, "{flags:?} {query}: {ours:?}");
            assert_eq!(ours.stdout, theirs, "pgward {flags:?} -c {query:?}");
        }
    }
}

#[test]
fn results_drawn_in_parts_match_psql_with_fetch_count() {
    // 2,500 rows arrive in three parts: each aligned on its own widths, the header once,
    // one footer, exactly as psql draws them with FETCH_COUNT=1000.
    let db = TestDb::new("out_parts");
    let query = "select g as id, repeat('x', g % 7) as pad, case when g % 3 = 0 then null \
                 else g * 1.25 end as amount from generate_series(1, 2500) g";
    for flags in [&[][..], &["-x"], &["-A"], &["--csv"], &["-t"]] {
        let theirs = psql(
            &db,
            &[&["-v", "FETCH_COUNT=1000"], flags, &["-c", query]].concat(),
            "",
        );
        let ours = TestShell::new(&db).args(flags).args(["-c", query]).run();
        assert_eq!(ours.code, 0, "{ours:?}");
        assert_eq!(ours.stdout, theirs, "pgward {flags:?}");
    }
}

#[test]
fn output_meta_commands_answer_and_print_as_psql() {
    let db = TestDb::new("out_meta");
    let dir = tempfile::tempdir().expect("dir");
    let file = |who: &str| dir.path().join(format!("{who}.txt"));
    let script = |who: &str| {
        format!(
            "\\pset null (null)\n\
             select null as a, 1 as b;\n\
             \\pset null\n\
             \\pset format csv\n\
             select null as a, 'x,y' as b;\n\
             \\pset format u\n\
             \\pset fieldsep ,\n\
             select 1 as a, 2 as b;\n\
             \\a\n\
             \\x\n\
             select 1 as a, 2 as b;\n\
             \\x auto\n\
             select 1 as a, 2 as b;\n\
             \\x off\n\
             \\t\n\
             select 1 as a, 2 as b;\n\
             \\t\n\
             \\C 'A title'\n\
             select 1 as a, 2 as b;\n\
             \\C\n\
             \\pset border 2\n\
             select id, note from items order by id limit 2;\n\
             \\pset border 1\n\
             \\pset footer off\n\
             select 1 as a;\n\
             \\pset footer\n\
             \\pset tuples_only on\n\
             \\pset tuples_only\n\
             \\pset recordsep\n\
             \\pset expanded\n\
             \\pset expanded off\n\
             \\pset pager off\n\
             \\pset pager always\n\
             \\pset pager\n\
             select id, qty from items where id = 3 \\gx\n\
             select 2 as b;\n\
             \\g\n\
             \\pset csv_fieldsep ;\n\
             \\pset format csv\n\
             select 1 as a, 'p;q' as b;\n\
             \\f :\n\
             \\pset format aligned\n\
             \\o {out}\n\
             select id, note from items where id <= 2 order by id;\n\
             \\echo not in the file\n\
             \\o\n\
             select 'after' as c;\n\
             select 5 as five \\g {out}.g\n",
            out = file(who).display()
        )
    };
    let theirs = psql(&db, &[], &script("psql"));
    let ours = TestShell::new(&db).stdin(&script("pgward")).run();
    assert_eq!(ours.code, 0, "{ours:?}");
    assert_eq!(ours.stdout, theirs);
    for suffix in ["", ".g"] {
        let read = |who: &str| {
            std::fs::read_to_string(format!("{}{suffix}", file(who).display())).expect("file")
        };
        assert_eq!(read("pgward"), read("psql"), "the \\o and \\g files");
    }
    assert!(read_lines(&file("pgward")).contains(&"  1 | item 1".to_string()));
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn pset_lists_its_options_as_psql_does() {
    // psql lists more options than pgward draws: every line pgward shows is psql's.
    let db = TestDb::new("out_list");
    let script = "\\pset null '-'\n\\pset format csv\n\\x auto\n\\pset\n";
    let theirs = psql(&db, &[], script);
    let ours = TestShell::new(&db).stdin(script).run();
    assert_eq!(ours.code, 0, "{ours:?}");
    let listed: Vec<&str> = ours.stdout.lines().skip(3).collect();
    assert_eq!(listed.len(), 11, "{}", ours.stdout);
    for line in listed {
        assert!(
            theirs.lines().any(|l| l == line),
            "{line:?} not in\n{theirs}"
        );
    }
}

#[test]
fn quiet_and_output_file_flags_as_psql() {
    let db = TestDb::new("out_quiet");
    for flags in [&["-q"][..], &[]] {
        for query in ["set work_mem = '1MB'", "select 1 as one"] {
            let theirs = psql(&db, &[flags, &["-c", query]].concat(), "");
            let ours = TestShell::new(&db).args(flags).args(["-c", query]).run();
            assert_eq!(ours.stdout, theirs, "pgward {flags:?} -c {query:?}");
        }
    }
    let dir = tempfile::tempdir().expect("dir");
    let (a, b) = (dir.path().join("psql.out"), dir.path().join("pgward.out"));
    let theirs = psql(&db, &["-o", &a.display().to_string(), "-c", MIXED], "");
    let ours = TestShell::new(&db)
        .args(["-o", &b.display().to_string(), "-c", MIXED])
        .run();
    assert_eq!((ours.code, ours.stdout.as_str()), (0, theirs.as_str()));
    assert_eq!(
        std::fs::read_to_string(&b).expect("pgward -o"),
        std::fs::read_to_string(&a).expect("psql -o")
    );
    // A bad printing option stops pgward before it connects.
    let out = TestShell::new(&db)
        .args(["-P", "format=html", "-c", "select 1"])
        .run();
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("html"), "{out:?}");
}

#[test]
fn pager_starts_on_a_tall_result_only_on_a_terminal() {
    let db = TestDb::new("out_pager");
    let home = tempfile::tempdir().expect("home");
    // The pager marks every line it shows.
    let pager = "sed 's/^/PAGED: /'";
    let mut t = Term::start_full(
        &db,
        home.path(),
        Start::WithPassword,
        &[],
        &[("PAGER", pager)],
        None,
    );
    t.expect("type \\? for help, \\q to quit.");
    t.prompt(READER, "=>");
    // 60 lines on a 50-line terminal: paged.
    t.line("select g as n from generate_series(1, 60) g;");
    t.expect("PAGED: (60 rows)");
    t.prompt(READER, "=>");
    // A short result is not.
    t.line("select 'short' as s;");
    let out = t.expect("(1 row)");
    t.ensure(!out.contains("PAGED:"), "a short result is not paged");
    t.prompt(READER, "=>");
    // Wider than the 250-column terminal: paged.
    t.line("select repeat('w', 300) as wide;");
    t.expect("PAGED: (1 row)");
    t.prompt(READER, "=>");
    // \x auto: too wide for the terminal, so expanded (and then narrow enough).
    t.line("\\pset pager off");
    t.expect("Pager usage is off.");
    t.prompt(READER, "=>");
    t.line("\\x auto");
    t.prompt(READER, "=>");
    t.line("select repeat('a', 200) as a, repeat('b', 100) as b;");
    t.expect("-[ RECORD 1 ]");
    t.prompt(READER, "=>");
    t.line("select g as n from generate_series(1, 60) g;");
    let out = t.expect("(60 rows)");
    t.ensure(!out.contains("PAGED:"), "\\pset pager off: not paged");
    t.prompt(READER, "=>");
    t.line("\\pset pager always");
    t.prompt(READER, "=>");
    t.line("select 'short' as s;");
    t.expect("PAGED: (1 row)");
    t.prompt(READER, "=>");
    t.quit();

    // Output to a pipe is never paged, whatever \pset pager says.
    let marker = home.path().join("pager-ran");
    let out = TestShell::new(&db)
        .env("PAGER", &format!("touch {}; cat", marker.display()))
        .stdin("\\pset pager always\nselect g from generate_series(1, 100) g;\n")
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("(100 rows)"), "{out:?}");
    assert!(!marker.exists(), "the pager ran for a pipe");
}

#[test]
fn errverbose_shows_the_last_server_error_in_full() {
    let db = TestDb::new("out_errverbose");
    let before = db.items();
    let home = tempfile::tempdir().expect("home");
    let mut t = Term::ready(&db, home.path());
    t.line("\\errverbose");
    t.expect("There is no previous error.");
    t.prompt(READER, "=>");
    t.line("select 1/0;");
    t.expect("division by zero");
    t.prompt(READER, "=>");
    t.line("\\errverbose");
    t.expect("ERROR:  22012: division by zero");
    t.expect("LOCATION:  int4div, int.c:");
    t.prompt(READER, "=>");
    // A unique violation inside the guarded transaction: the names the server attached.
    t.line("update items set qty = 0 where id = 5;");
    t.prompt(WRITER, "=*>");
    t.line("insert into items values (1, 1, 'dup');");
    t.expect("duplicate key value");
    t.prompt(WRITER, "=*>");
    t.line("\\errverbose");
    t.expect("ERROR:  23505: duplicate key value violates unique constraint \"items_pkey\"");
    t.expect("DETAIL:  Key (id)=(1) already exists.");
    t.expect("SCHEMA NAME:  public");
    t.expect("TABLE NAME:  items");
    t.expect("CONSTRAINT NAME:  items_pkey");
    t.expect("LOCATION:  ");
    t.prompt(WRITER, "=*>");
    t.line("rollback;");
    t.prompt(READER, "=>");
    t.quit();
    assert_eq!(db.items(), before, "nothing was committed");
}

#[test]
fn copy_to_a_file_or_stdout_writes_what_psql_writes_through_the_read_guard() {
    let db = TestDb::new("out_copy");
    db.exec(&format!(
        "CREATE TABLE cx (id int, t text, n text, d numeric); \
         INSERT INTO cx VALUES (1, E'a\\tb\\\\c\\nd', null, 1.50), (2, '', 'NULL', -3), \
           (3, 'q\"x,y', E'\\\\.', 0); \
         GRANT SELECT ON cx TO {READER};"
    ));
    let dir = tempfile::tempdir().expect("dir");
    let before = db.items();
    for source in [
        "cx",
        "cx (t, id)",
        "(select id, t from cx where id < 3 order by id)",
    ] {
        for options in [
            "",
            "with (format csv, header)",
            "csv header delimiter ';' null 'NULL'",
            "(header true, null '-')",
        ] {
            let (a, b) = (dir.path().join("psql"), dir.path().join("pgward"));
            let copy = |path: &Path| format!("\\copy {source} to '{}' {options}", path.display());
            let theirs = psql(&db, &["-c", &copy(&a)], "");
            let ours = TestShell::new(&db).args(["-c", &copy(&b)]).run();
            assert_eq!(ours.code, 0, "{ours:?}");
            assert_eq!(ours.stdout, theirs, "{source} {options}");
            assert_eq!(
                std::fs::read(&b).expect("pgward's file"),
                std::fs::read(&a).expect("psql's file"),
                "\\copy {source} to FILE {options}"
            );
        }
        let copy = format!("\\copy {source} to stdout csv header");
        let theirs = psql(&db, &["-c", &copy], "");
        let ours = TestShell::new(&db).args(["-c", &copy]).run();
        assert_eq!(
            (ours.code, ours.stdout.as_str()),
            (0, theirs.as_str()),
            "{copy}"
        );
    }
    // The query is a read, run by the read role: a write inside is refused, and so is
    // a query as the target of \copy FROM; the data is as it was.
    for copy in [
        "\\copy (delete from items returning *) to stdout",
        "\\copy (select 1) from '/dev/null'",
        "\\copy items to program 'cat'",
    ] {
        let out = TestShell::new(&db).args(["-c", copy]).run();
        assert_eq!(out.code, 2, "{copy}: {out:?}");
    }
    let out = TestShell::new(&db)
        .args(["-c", "\\copy (select current_user) to stdout"])
        .run();
    assert_eq!(out.stdout, format!("{READER}\n"), "{out:?}");
    assert_eq!(db.items(), before);
}

#[test]
fn a_diff_shows_null_as_pset_null_says_and_numbers_right_aligned() {
    let db = TestDb::new("out_diff");
    db.exec(&format!(
        "CREATE DOMAIN money_cents AS bigint; \
         CREATE TABLE dx (id int PRIMARY KEY, code text, price numeric, cents money_cents, note text); \
         INSERT INTO dx VALUES (1, '007', 10.50, 5, NULL), (22, 'x', 7, 12345, '(null)'); \
         GRANT SELECT, UPDATE ON dx TO {WRITER};"
    ));
    let out = TestShell::new(&db)
        .stdin(
            "\\pset null (null)\n\
             update dx set price = price * 100, cents = cents + 1, \
               note = case when id = 1 then '(null)' else null end, code = code || '1' where id > 0;\n",
        )
        .run();
    // psql right-aligns the numbers (a domain over bigint too) and leaves text left,
    // digits or not; NULL is the \pset null text, and the string equal to it is quoted.
    let grid = out
        .stdout
        .split_once("UPDATE dx: 2 rows updated (showing 2)\n")
        .map(|(_, g)| g.lines().take(4).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default();
    assert_eq!(
        grid,
        " id |    code    |      price      |     cents     |       note\n\
         ----+------------+-----------------+---------------+-------------------\n\
         \x20 1 | 007 → 0071 | 10.50 → 1050.00 |         5 → 6 | (null) → '(null)'\n\
         \x2022 | x → x1     |         7 → 700 | 12345 → 12346 | '(null)' → (null)",
        "{out:?}"
    );
    assert_eq!(
        db.value("SELECT string_agg(coalesce(note, '-'), ',' ORDER BY id) FROM dx")
            .as_deref(),
        Some("-,(null)"),
        "nothing was committed"
    );
}

/// psql's short flags combine as psql's do, a value-taking one last: `-tc 'select 1'`,
/// `-tAc …`, `-xc …` print what psql prints (before, `-t` was pgward's ticket and read
/// "c" as its value).
#[test]
fn combined_short_flags_mean_what_they_mean_to_psql() {
    let db = TestDb::new("out_combined");
    for (flags, query) in [
        ("-tc", "select 1"),
        ("-tAc", "select 1, 'x' as b"),
        ("-Atc", "select 2"),
        ("-xc", "select 3 as n, 'y' as s"),
        ("-qAtc", "select 4"),
    ] {
        let theirs = psql(&db, &[flags, query], "");
        let ours = TestShell::new(&db).args([flags, query]).run();
        assert_eq!(ours.code, 0, "{flags} {query}: {ours:?}");
        assert_eq!(ours.stdout, theirs, "pgward {flags} {query:?}");
    }
}
