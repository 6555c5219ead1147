//! Constants of the user's statement, printed again for a read pgward runs beside it
//! (the pre-read of an upsert's conflict rows, the rows around a MERGE).
//!
//! Only a constant as PostgreSQL's own parser (libpg_query) read it is printed: an
//! integer, a numeric, a boolean, NULL or a string. Nothing is evaluated, so reading
//! the same values a second time calls no function and cannot change what the
//! statement does. A string is printed as an escape string (`E'…'` with `\` and `'`
//! doubled), which reads the same whatever `standard_conforming_strings` says. Bit
//! strings, casts and expressions are not constants here: the caller then does not
//! capture, and says why.

use pg_query::protobuf::a_const::Val;
use pg_query::NodeEnum;

/// The SQL text of `node` when it is a plain constant; `None` otherwise.
pub fn sql(node: Option<&NodeEnum>) -> Option<String> {
    let Some(NodeEnum::AConst(constant)) = node else {
        return None;
    };
    if constant.isnull {
        return Some("NULL".into());
    }
    match constant.val.as_ref()? {
        Val::Ival(i) => Some(i.ival.to_string()),
        // A numeric literal keeps its digits exactly as typed.
        Val::Fval(f)
            if f.fval
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            Some(f.fval.clone())
        }
        Val::Fval(_) => None,
        Val::Boolval(b) => Some(if b.boolval { "true" } else { "false" }.into()),
        Val::Sval(s) => Some(format!(
            "E'{}'",
            s.sval.replace('\\', "\\\\").replace('\'', "''")
        )),
        Val::Bsval(_) => None,
    }
}

/// Whether `node` is the constant NULL.
pub fn is_null(node: Option<&NodeEnum>) -> bool {
    matches!(node, Some(NodeEnum::AConst(c)) if c.isnull)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_value(sql_text: &str) -> Option<String> {
        let parsed = pg_query::parse(
            &format!("SELECT {sql_text}"),
            pg_query::ParserOptions::DEFAULT,
        )
        .expect("parse");
        let Some(NodeEnum::SelectStmt(select)) = parsed.protobuf.stmts[0]
            .stmt
            .as_ref()
            .and_then(|s| s.node.as_ref())
        else {
            panic!("select");
        };
        let Some(NodeEnum::ResTarget(target)) = select.target_list[0].node.as_ref() else {
            panic!("target");
        };
        sql(target.val.as_ref().and_then(|v| v.node.as_ref()))
    }

    #[test]
    fn constants_print_as_postgresql_read_them() {
        assert_eq!(first_value("42").as_deref(), Some("42"));
        assert_eq!(first_value("-7").as_deref(), Some("-7"));
        assert_eq!(first_value("1.50").as_deref(), Some("1.50"));
        assert_eq!(first_value("1e3").as_deref(), Some("1e3"));
        assert_eq!(first_value("99999999999").as_deref(), Some("99999999999"));
        assert_eq!(first_value("true").as_deref(), Some("true"));
        assert_eq!(first_value("NULL").as_deref(), Some("NULL"));
        assert_eq!(first_value("'it''s'").as_deref(), Some("E'it''s'"));
        assert_eq!(first_value(r"E'a\\b\n'").as_deref(), Some("E'a\\\\b\n'"));
        assert_eq!(first_value(r"'a\b'").as_deref(), Some(r"E'a\\b'"));
        assert_eq!(first_value("$q$x'y$q$").as_deref(), Some("E'x''y'"));
        for not_constant in ["B'101'", "'1'::int", "1 + 1", "now()", "x"] {
            assert_eq!(first_value(not_constant), None, "{not_constant}");
        }
    }
}
