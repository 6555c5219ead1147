//! The command tag psql prints after a statement (`UPDATE 3`, `INSERT 0 2`,
//! `CREATE TABLE`). tokio-postgres reports only the row count, so the verb comes from the
//! statement itself: the main statement of a `WITH` query, as the server would name it.

use sqlparser::ast::{SetExpr, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The verb of a data-changing statement (also behind `WITH`), if it is one.
pub fn dml_verb(text: &str) -> Option<&'static str> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, text).ok()?;
    let [statement] = statements.as_slice() else {
        return None;
    };
    let body = match statement {
        Statement::Query(q) => q.body.as_ref(),
        Statement::Insert(_) => return Some("INSERT"),
        Statement::Update(_) => return Some("UPDATE"),
        Statement::Delete(_) => return Some("DELETE"),
        Statement::Merge(_) => return Some("MERGE"),
        _ => return None,
    };
    match body {
        SetExpr::Insert(_) => Some("INSERT"),
        SetExpr::Update(_) => Some("UPDATE"),
        SetExpr::Delete(_) => Some("DELETE"),
        SetExpr::Merge(_) => Some("MERGE"),
        _ => None,
    }
}

/// psql's command tag for `text` that affected `count` rows, escaped: its words come from
/// the statement as typed.
pub fn command_tag(text: &str, count: Option<u64>) -> String {
    super::escape::one_line(&tag(text, count))
}

fn tag(text: &str, count: Option<u64>) -> String {
    let n = count.unwrap_or(0);
    if let Some(verb) = dml_verb(text) {
        return if verb == "INSERT" {
            format!("INSERT 0 {n}")
        } else {
            format!("{verb} {n}")
        };
    }
    let words: Vec<String> = text
        .split_whitespace()
        .take(2)
        .map(|w| w.trim_end_matches(';').to_ascii_uppercase())
        .collect();
    let first = words.first().map(String::as_str).unwrap_or("");
    let second = words.get(1).map(String::as_str).unwrap_or("");
    match (first, count) {
        ("MOVE" | "COPY", Some(n)) => format!("{first} {n}"),
        ("FETCH" | "SELECT" | "WITH" | "TABLE" | "VALUES", Some(n)) => {
            format!("SELECT {n}")
        }
        ("DECLARE", _) => "DECLARE CURSOR".into(),
        ("CLOSE", _) if second == "ALL" => "CLOSE CURSOR ALL".into(),
        ("CLOSE", _) => "CLOSE CURSOR".into(),
        ("CREATE" | "ALTER" | "DROP" | "COMMENT" | "REFRESH", _) => words.join(" "),
        _ => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::command_tag;

    #[test]
    fn tags_like_the_server() {
        assert_eq!(command_tag("update t set a = 1", Some(3)), "UPDATE 3");
        assert_eq!(
            command_tag("insert into t values (1)", Some(1)),
            "INSERT 0 1"
        );
        assert_eq!(
            command_tag(
                "with d as (delete from t returning *) insert into u select * from d",
                Some(2)
            ),
            "INSERT 0 2"
        );
        assert_eq!(
            command_tag("create table t (a int)", Some(0)),
            "CREATE TABLE"
        );
        assert_eq!(command_tag("truncate t", Some(0)), "TRUNCATE");
        assert_eq!(command_tag("set search_path = x", None), "SET");
        assert_eq!(
            command_tag("declare c cursor for select 1", None),
            "DECLARE CURSOR"
        );
        assert_eq!(command_tag("move forward 2 in c", Some(2)), "MOVE 2");
        assert_eq!(command_tag("close c", None), "CLOSE CURSOR");
        assert_eq!(command_tag("close all", None), "CLOSE CURSOR ALL");
    }
}
