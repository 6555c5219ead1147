//! Property tests for the splitter and the classifier together: on any input they do not
//! panic, cut where they say they cut, lose no terminated statement, and never trust a
//! piece PostgreSQL's parser does not read as exactly one statement; the lexer fed in
//! pieces cut anywhere lexes as it does fed whole.

use proptest::prelude::*;

use super::split::Lexer;
use super::{classify, split, Verdict};

/// Bits of SQL that exercise every state of the splitter and the scan.
const FRAGMENTS: &[&str] = &[
    "'",
    "''",
    "E'",
    "e'",
    "\\",
    "\\'",
    "$$",
    "$a$",
    "$b$",
    "$1",
    "--",
    "\n",
    "/*",
    "*/",
    ";",
    "(",
    ")",
    "\"",
    "U&",
    "&",
    "select",
    "begin",
    "atomic",
    "end",
    "create",
    "function",
    "procedure",
    "or",
    "replace",
    "case",
    "do",
    "set",
    "reset",
    "role",
    "local",
    "dblink",
    "set_config",
    "é",
    "1e",
    " ",
    "x",
    "from t",
    "commit",
    "rollback",
    "delete",
    "update t",
    "with d as (",
    "for update",
    "into",
    "explain",
    "analyze",
    "vacuum",
    "savepoint",
    "all",
];

/// Statements that are complete on their own, to check that joining them with `;`
/// splits back into exactly them.
const STATEMENTS: &[&str] = &[
    "select 1",
    "update t set a='x;y'",
    "select $$;$$",
    "select $a$ $b$ ; $b$ $a$",
    "select E'\\';'",
    "select 'it''s;'",
    "select \"a;\"\"b\"",
    "select 1 -- c;\n",
    "/* ; /* ; */ */ select 2",
    "select (1; 2)",
    "create function f() returns int begin atomic select 1; end",
    "commit",
    "-- only a comment with ;\nselect 3",
];

fn sqlish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..16).prop_map(|v| v.concat())
}

fn bytes() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn check(input: &str) {
    let result = split(input);
    let mut previous_end = 0;
    for piece in &result.pieces {
        assert_eq!(
            input.get(piece.start..piece.start + piece.text.len()),
            Some(piece.text.as_str()),
            "piece not at its offset in {input:?}"
        );
        assert!(piece.start >= previous_end, "pieces overlap in {input:?}");
        previous_end = piece.start + piece.text.len();

        let verdict = classify(&piece.text);
        let parsed_one = pg_query::parse(&piece.text, 0)
            .map(|p| p.protobuf.stmts.len() == 1)
            .unwrap_or(false);
        let trusted = matches!(
            verdict,
            Verdict::Read
                | Verdict::Write { .. }
                | Verdict::Ddl
                | Verdict::Session
                | Verdict::Transaction(_)
        );
        assert!(
            parsed_one || !trusted,
            "{:?} trusted as {verdict:?} without parsing",
            piece.text
        );
    }
    if let Some(rest) = &result.rest {
        assert!(
            input.ends_with(rest.as_str()),
            "rest is not the tail of {input:?}"
        );
        let _ = classify(rest);
    }

    // Each piece was cut at a `;` with nothing open, so cutting again gives it back.
    let rejoined: String = result
        .pieces
        .iter()
        .map(|p| format!("{}\n;\n", p.text))
        .collect();
    let again = split(&rejoined);
    let texts = |s: &super::Split| s.pieces.iter().map(|p| p.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&again), texts(&result), "re-split of {input:?}");
    assert_eq!(again.rest, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes(input in bytes()) {
        check(&input);
    }

    #[test]
    fn sql_fragments(input in sqlish()) {
        check(&input);
    }

    #[test]
    fn terminated_statements_are_all_kept(
        picks in prop::collection::vec(prop::sample::select(STATEMENTS), 0..8),
        tail in prop::sample::select(STATEMENTS),
    ) {
        let input: String = picks.iter().map(|s| format!("{s};")).collect::<String>() + tail;
        let result = split(&input);
        let texts: Vec<&str> = result.pieces.iter().map(|p| p.text.as_str()).collect();
        let want: Vec<&str> = picks.iter().map(|s| s.trim()).collect();
        prop_assert_eq!(texts, want);
        prop_assert_eq!(result.rest.as_deref(), Some(tail.trim_start()));
        check(&input);
    }

    #[test]
    fn lexing_in_pieces_is_lexing_whole(
        input in sqlish(),
        cuts in prop::collection::vec(0usize..256, 0..8),
    ) {
        let mut whole = Lexer::default();
        let mut want = Vec::new();
        while let Some(e) = whole.next(&input, true) {
            want.push(e);
            if matches!(e, super::split::Event::Backslash(_)) {
                break;
            }
        }
        let mut ends: Vec<usize> = cuts
            .into_iter()
            .filter(|&c| c <= input.len() && input.is_char_boundary(c))
            .collect();
        ends.sort_unstable();
        ends.push(input.len());
        let mut lexer = Lexer::default();
        let mut got = Vec::new();
        'feed: for end in ends {
            while let Some(e) = lexer.next(&input[..end], true) {
                got.push(e);
                if matches!(e, super::split::Event::Backslash(_)) {
                    break 'feed;
                }
            }
        }
        prop_assert_eq!(got, want);
        prop_assert_eq!(lexer.context(), whole.context());
        prop_assert_eq!(lexer.rest(&input), whole.rest(&input));
        prop_assert_eq!(whole.rest(&input).map(str::to_owned), split::split_to_meta(&input).0.rest);
    }
}
