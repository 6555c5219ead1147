//! The command tag psql prints after a statement (`UPDATE 3`, `INSERT 0 2`,
//! `CREATE INDEX`). The server names it in CommandComplete, which the byte bridge keeps
//! ([`crate::conn::bridge::Escapes::last_tag`]) because tokio-postgres reduces it to a
//! row count; psql prints that tag as it is, and so does pgward. Only a data-changing
//! statement is named from the statement as typed (the main statement of a `WITH`
//! query): pgward may have run it rewritten, as a capture whose own tag is `SELECT n`.
//! Where the server's tag is not at hand, the statement's first words stand in.

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

/// psql's command tag for `text` that affected `count` rows, escaped: the server's
/// `tag` when pgward has it, except for a data-changing statement, whose verb comes from
/// the statement as typed.
pub fn command_tag(text: &str, count: Option<u64>, server: Option<&str>) -> String {
    super::escape::one_line(&tag(text, count, server))
}

fn tag(text: &str, count: Option<u64>, server: Option<&str>) -> String {
    let n = count.unwrap_or(0);
    if let Some(verb) = dml_verb(text) {
        return if verb == "INSERT" {
            format!("INSERT 0 {n}")
        } else {
            format!("{verb} {n}")
        };
    }
    if let Some(server) = server.filter(|t| !t.is_empty()) {
        return server.to_string();
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

    /// The tag without the server's.
    fn guess(text: &str, count: Option<u64>) -> String {
        command_tag(text, count, None)
    }

    #[test]
    fn the_servers_tag_wins_except_for_a_change_pgward_may_have_rewritten() {
        let server = Some("CREATE INDEX");
        assert_eq!(
            command_tag("create unique index i on t (a)", Some(0), server),
            "CREATE INDEX"
        );
        assert_eq!(
            command_tag("create table t2 as select 1", Some(1), Some("SELECT 1")),
            "SELECT 1"
        );
        // A capture's own tag is `SELECT n`: the typed verb names the change.
        assert_eq!(
            command_tag("update t set a = 1", Some(2), Some("SELECT 2")),
            "UPDATE 2"
        );
        // The tag reaches the screen escaped, like everything from the server.
        assert!(!command_tag("notify x", None, Some("NOTIFY\u{1b}[2J")).contains('\u{1b}'));
        assert_eq!(command_tag("vacuum", None, Some("")), "VACUUM");
    }

    #[test]
    fn tags_like_the_server() {
        assert_eq!(guess("update t set a = 1", Some(3)), "UPDATE 3");
        assert_eq!(guess("insert into t values (1)", Some(1)), "INSERT 0 1");
        assert_eq!(
            guess(
                "with d as (delete from t returning *) insert into u select * from d",
                Some(2)
            ),
            "INSERT 0 2"
        );
        assert_eq!(guess("create table t (a int)", Some(0)), "CREATE TABLE");
        assert_eq!(guess("truncate t", Some(0)), "TRUNCATE");
        assert_eq!(guess("set search_path = x", None), "SET");
        assert_eq!(
            guess("declare c cursor for select 1", None),
            "DECLARE CURSOR"
        );
        assert_eq!(guess("move forward 2 in c", Some(2)), "MOVE 2");
        assert_eq!(guess("close c", None), "CLOSE CURSOR");
        assert_eq!(guess("close all", None), "CLOSE CURSOR ALL");
    }
}
