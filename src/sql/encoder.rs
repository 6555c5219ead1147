//! Test: pgward's patch to libpg_query's protobuf encoder (vendor/pg_query,
//! PGWARD-PATCH.md) changes no byte of what it writes. The protobuf bytes of every
//! statement in `testdata/encoder.sql`, and of a few PL/pgSQL expressions, type names and
//! deeply nested statements, must have the SHA-256 and length that the unpatched encoder
//! gave them, recorded in `testdata/encoder.sha256`.
//!
//! With `PGWARD_ENCODER_CORPUS=DIR` it also prints one SHA-256 over the bytes of every
//! statement of every `.sql` file under DIR (run with `--nocapture`): run it with and
//! without the patch's encoder hunk, the two must be the same.
//!
//! To record that file again (after a pg_query upgrade, whose new PostgreSQL parser may
//! change the bytes), build without the patch's encoder hunk and run this test with
//! `PGWARD_RECORD_ENCODER=1`; PGWARD-PATCH.md says how.

use std::fmt::Write as _;

use pg_query::ParserOptions;
use sha2::{Digest, Sha256};

const SQL_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/sql/testdata/encoder.sql");
const RECORDED_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/sql/testdata/encoder.sha256"
);

/// Every case: a label, the text, and the parser mode it is parsed in.
fn cases() -> Vec<(String, String, ParserOptions)> {
    let mut cases = Vec::new();
    let sql = std::fs::read_to_string(SQL_PATH).expect("encoder.sql read");
    let statements = pg_query::split_with_parser(&sql).expect("encoder.sql splits");
    for (i, sql) in statements.iter().enumerate() {
        let sql = sql.trim();
        if !sql.is_empty() {
            cases.push((
                format!("statement {}", i + 1),
                sql.to_string(),
                ParserOptions::DEFAULT,
            ));
        }
    }
    let expressions = [
        ("a + 1 > b AND NOT c", ParserOptions::PLPGSQL_EXPR),
        (
            "(SELECT max(x) FROM t) IS NULL",
            ParserOptions::PLPGSQL_EXPR,
        ),
        ("format('%I', r.name) || $1", ParserOptions::PLPGSQL_EXPR),
        ("a := b + 1", ParserOptions::PLPGSQL_ASSIGN1),
        ("a.b := c[1]", ParserOptions::PLPGSQL_ASSIGN2),
        ("a.b.c := 0", ParserOptions::PLPGSQL_ASSIGN3),
        ("double precision[]", ParserOptions::TYPE_NAME),
        ("timestamp(3) with time zone", ParserOptions::TYPE_NAME),
    ];
    for (text, mode) in expressions {
        cases.push((format!("mode {}", mode.bits()), text.to_string(), mode));
    }
    // Deep nesting: expressions, sub-selects and lists (the encoder recurses per node).
    let depth = 200;
    cases.push((
        "nested parentheses".into(),
        format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth)),
        ParserOptions::DEFAULT,
    ));
    cases.push((
        "nested sub-selects".into(),
        format!(
            "SELECT {}1{}",
            "(SELECT ".repeat(depth / 4),
            ")".repeat(depth / 4)
        ),
        ParserOptions::DEFAULT,
    ));
    cases.push((
        "long list".into(),
        format!(
            "SELECT * FROM t WHERE a IN ({})",
            (0..2000)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ParserOptions::DEFAULT,
    ));
    cases
}

/// One line per case: SHA-256 of its protobuf bytes, their length, its label.
fn digests() -> String {
    let mut out = String::new();
    for (label, text, mode) in cases() {
        let bytes = pg_query::parse_protobuf_bytes(&text, mode)
            .unwrap_or_else(|e| panic!("{label} does not parse ({e}): {text}"));
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        writeln!(out, "{hash} {} {label}", bytes.len()).expect("a String takes a write");
    }
    out
}

/// The `.sql` files under `dir`, sorted, at any depth.
fn sql_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("PGWARD_ENCODER_CORPUS is a directory")
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sql_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "sql") {
            out.push(path);
        }
    }
}

/// One SHA-256 over every statement's bytes (each with its length) in every file under
/// `dir`, cut by PostgreSQL's scanner; a statement the parser rejects adds its error.
fn corpus_digest(dir: &std::path::Path) -> (usize, usize, String) {
    let mut files = Vec::new();
    sql_files(dir, &mut files);
    let (mut hash, mut statements, mut parsed) = (Sha256::new(), 0, 0);
    for path in files {
        let text = String::from_utf8_lossy(&std::fs::read(&path).expect("file read")).into_owned();
        let Ok(pieces) = pg_query::split_with_scanner(&text) else {
            continue;
        };
        for sql in pieces {
            statements += 1;
            match pg_query::parse_protobuf_bytes(sql, 0) {
                Ok(bytes) => {
                    parsed += 1;
                    hash.update((bytes.len() as u64).to_le_bytes());
                    hash.update(&bytes);
                }
                Err(e) => {
                    hash.update(u64::MAX.to_le_bytes());
                    hash.update(e.to_string().as_bytes());
                }
            }
        }
    }
    let digest = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    (statements, parsed, digest)
}

#[test]
fn protobuf_bytes_are_the_unpatched_encoders() {
    if let Some(dir) = std::env::var_os("PGWARD_ENCODER_CORPUS") {
        let (statements, parsed, digest) = corpus_digest(std::path::Path::new(&dir));
        eprintln!("encoder: {statements} statements ({parsed} parsed), SHA-256 {digest}");
    }
    let now = digests();
    if std::env::var_os("PGWARD_RECORD_ENCODER").is_some() {
        std::fs::write(RECORDED_PATH, &now).expect("encoder.sha256 written");
        return;
    }
    let recorded = std::fs::read_to_string(RECORDED_PATH).expect("encoder.sha256 read");
    for (got, want) in now.lines().zip(recorded.lines()) {
        assert_eq!(
            got, want,
            "protobuf bytes differ from the unpatched encoder's"
        );
    }
    assert_eq!(now.lines().count(), recorded.lines().count());
}
