//! Whether code that ran inside one statement can have undone part of its own work: the
//! server's counters include rows that an exception block (a subtransaction) rolled
//! back, and nothing outside the statement can tell them apart, so counts are labelled
//! upper bounds exactly where such code can have run.
//!
//! A subtransaction inside a statement comes only from a PL/pgSQL `EXCEPTION` block or
//! from a function in another language (C, PL/Python, …), which pgward cannot read. So
//! the trigger functions of the tables a statement changed, and a DO block, are parsed
//! with PostgreSQL's own PL/pgSQL parser (`pg_query::parse_plpgsql`): a body that has no
//! `EXCEPTION` block, no dynamic SQL (whose text cannot be read before it runs), and
//! whose calls of functions outside `pg_catalog` all pass the same test (followed to
//! [`MAX_DEPTH`] levels) cannot undo work, and its counts are exact. Anything else, or
//! anything that cannot be read, keeps the label, with the name of what could undo.

use std::collections::HashSet;

use crate::conn::Client;
use pg_query::ParserOptions;
use serde_json::Value;

use super::PreviewError;

/// How deep calls from one function into the next are followed.
pub const MAX_DEPTH: usize = 8;

/// PL/pgSQL statement kinds that run a computed SQL string.
const DYNAMIC: &[&str] = &[
    "PLpgSQL_stmt_dynexecute",
    "PLpgSQL_stmt_dynfors",
    "PLpgSQL_stmt_open",
    "PLpgSQL_stmt_return_query",
];

/// What a PL/pgSQL or SQL body does that matters here.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Body {
    /// It has an `EXCEPTION` block.
    pub exceptions: bool,
    /// It runs SQL text built at run time (`EXECUTE`, `OPEN … FOR EXECUTE`, …).
    pub dynamic: bool,
    /// The names of the functions and procedures it calls (last name part).
    pub calls: Vec<String>,
}

/// Reads a PL/pgSQL body: `sql` is a DO block or a `CREATE FUNCTION … LANGUAGE plpgsql`
/// statement. `Err` when PostgreSQL's parser does not accept it.
pub fn plpgsql(sql: &str) -> Result<Body, String> {
    let json = pg_query::parse_plpgsql(sql).map_err(|e| e.to_string())?;
    let mut body = Body::default();
    walk_plpgsql(&json, &mut body, 0)?;
    Ok(body)
}

/// Reads the body (`prosrc`) of a PL/pgSQL trigger function, parsed as the classifier
/// parses it ([`crate::sql::plpgsql::parse_trigger_body`]).
pub fn trigger_function(source: &str) -> Result<Body, String> {
    let json = crate::sql::plpgsql::parse_trigger_body(source)?;
    let mut body = Body::default();
    walk_plpgsql(&json, &mut body, 0)?;
    Ok(body)
}

/// Reads SQL text (a SQL-language function's body): the functions it calls.
pub fn sql(text: &str, mode: ParserOptions) -> Result<Body, String> {
    let parsed = pg_query::parse(text, mode).map_err(|e| e.to_string())?;
    let tree = serde_json::to_value(&parsed.protobuf).map_err(|e| e.to_string())?;
    let mut body = Body::default();
    calls(&tree, &mut body.calls, 0)?;
    Ok(body)
}

fn walk_plpgsql(value: &Value, body: &mut Body, depth: usize) -> Result<(), String> {
    if depth > 2000 {
        return Err("a body nested too deeply".into());
    }
    match value {
        Value::Array(items) => {
            for item in items {
                walk_plpgsql(item, body, depth + 1)?;
            }
        }
        Value::Object(map) => {
            for (key, child) in map {
                match key.as_str() {
                    "exceptions" if !child.is_null() => body.exceptions = true,
                    "PLpgSQL_expr" => {
                        let query = child
                            .get("query")
                            .and_then(Value::as_str)
                            .ok_or("an expression without text")?;
                        let mode = child
                            .get("parseMode")
                            .and_then(Value::as_i64)
                            .and_then(|m| i32::try_from(m).ok())
                            .unwrap_or(0);
                        let inner = sql(query, ParserOptions::from(mode))?;
                        body.calls.extend(inner.calls);
                        continue;
                    }
                    kind if DYNAMIC.contains(&kind) => {
                        let computed = match kind {
                            "PLpgSQL_stmt_open" | "PLpgSQL_stmt_return_query" => {
                                child.get("dynquery").is_some_and(|q| !q.is_null())
                            }
                            _ => true,
                        };
                        body.dynamic |= computed;
                    }
                    _ => {}
                }
                walk_plpgsql(child, body, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The last name part of every function call in a parse tree.
fn calls(value: &Value, out: &mut Vec<String>, depth: usize) -> Result<(), String> {
    if depth > 2000 {
        return Err("a statement nested too deeply".into());
    }
    match value {
        Value::Array(items) => {
            for item in items {
                calls(item, out, depth + 1)?;
            }
        }
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get("funcname") {
                if let Some(name) = parts
                    .last()
                    .and_then(|p| p.pointer("/node/String/sval"))
                    .and_then(Value::as_str)
                {
                    out.push(name.to_string());
                }
            }
            for child in map.values() {
                calls(child, out, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// One function as the catalog has it.
struct Function {
    oid: u32,
    name: String,
    language: String,
    /// `pg_get_functiondef`, for PL/pgSQL.
    definition: Option<String>,
    /// `prosrc`, for SQL and PL/pgSQL.
    source: Option<String>,
    /// It returns `trigger`.
    trigger: bool,
}

const FUNCTION_COLUMNS: &str = "p.oid, p.proname::pg_catalog.text, l.lanname::pg_catalog.text, \
     CASE WHEN l.lanname OPERATOR(pg_catalog.=) 'plpgsql' \
          THEN pg_catalog.pg_get_functiondef(p.oid) END, \
     CASE WHEN l.lanname OPERATOR(pg_catalog.=) ANY (ARRAY['sql', 'plpgsql']::pg_catalog.name[]) \
          THEN p.prosrc END, \
     p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype \
     FROM pg_catalog.pg_proc p \
     JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang \
     JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace";

fn functions(rows: &[tokio_postgres::Row]) -> Result<Vec<Function>, PreviewError> {
    rows.iter()
        .map(|r| {
            Ok(Function {
                oid: r.try_get(0)?,
                name: r.try_get(1)?,
                language: r.try_get(2)?,
                definition: r.try_get(3)?,
                source: r.try_get(4)?,
                trigger: r.try_get(5)?,
            })
        })
        .collect()
}

/// Why work done by the enabled user triggers on `relids` (and what they call) can
/// have been undone inside the statement; `None` when none of them can undo any.
pub async fn triggers(client: &Client, relids: &[u32]) -> Result<Option<String>, PreviewError> {
    let rows = client
        .query(
            &format!(
                "SELECT DISTINCT {FUNCTION_COLUMNS} \
                 JOIN pg_catalog.pg_trigger t ON t.tgfoid OPERATOR(pg_catalog.=) p.oid \
                 WHERE t.tgrelid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.oid[]) \
                   AND NOT t.tgisinternal \
                   AND t.tgenabled OPERATOR(pg_catalog.<>) 'D'"
            ),
            &[&relids],
        )
        .await?;
    let mut seen = HashSet::new();
    follow(client, functions(&rows)?, &mut seen, 0, "trigger function").await
}

/// Why the DO block `text` (or what it calls) can undo work inside itself; `None` when
/// it cannot.
pub async fn do_block(client: &Client, text: &str) -> Result<Option<String>, PreviewError> {
    let body = match plpgsql(text) {
        Ok(body) => body,
        Err(e) => return Ok(Some(format!("its PL/pgSQL body could not be read ({e})"))),
    };
    if let Some(why) = own(&body, "the DO block") {
        return Ok(Some(why));
    }
    let mut seen = HashSet::new();
    callees(client, &body.calls, &mut seen, 0).await
}

/// Why the functions the statement `text` calls (outside `pg_catalog`, and what they
/// call) can undo work inside it; `None` when none can.
pub async fn statement(client: &Client, text: &str) -> Result<Option<String>, PreviewError> {
    let body = match sql(text, ParserOptions::default()) {
        Ok(body) => body,
        Err(e) => return Ok(Some(format!("the statement could not be read ({e})"))),
    };
    let mut seen = HashSet::new();
    callees(client, &body.calls, &mut seen, 0).await
}

/// What in `body` itself can undo work.
fn own(body: &Body, what: &str) -> Option<String> {
    if body.exceptions {
        return Some(format!(
            "{what} has an EXCEPTION block, and rows it undoes are still counted by the server"
        ));
    }
    if body.dynamic {
        return Some(format!(
            "{what} runs dynamic SQL, which pgward cannot read, and rows it undoes would still be counted by the server"
        ));
    }
    None
}

async fn callees(
    client: &Client,
    names: &[String],
    seen: &mut HashSet<u32>,
    depth: usize,
) -> Result<Option<String>, PreviewError> {
    if names.is_empty() {
        return Ok(None);
    }
    let mut names: Vec<String> = names.to_vec();
    names.sort();
    names.dedup();
    let rows = client
        .query(
            &format!(
                "SELECT {FUNCTION_COLUMNS} \
                 WHERE p.proname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]) \
                   AND n.nspname OPERATOR(pg_catalog.<>) ALL \
                       (ARRAY['pg_catalog', 'information_schema']::pg_catalog.name[])"
            ),
            &[&names],
        )
        .await?;
    // Built-in functions that run SQL text handed to them.
    if let Some(name) = names
        .iter()
        .find(|n| n.starts_with("query_to_xml") || n.starts_with("cursor_to_xml"))
    {
        return Ok(Some(format!(
            "{name}() runs SQL text, which pgward cannot read, and rows undone there would still be counted by the server"
        )));
    }
    follow(client, functions(&rows)?, seen, depth + 1, "function").await
}

/// Checks `found` and, recursively, what they call.
fn follow<'a>(
    client: &'a Client,
    found: Vec<Function>,
    seen: &'a mut HashSet<u32>,
    depth: usize,
    what: &'a str,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<String>, PreviewError>> + Send + 'a>,
> {
    Box::pin(async move {
        let mut next = Vec::new();
        for f in found {
            if !seen.insert(f.oid) {
                continue;
            }
            let label = format!("{what} {}()", f.name);
            if depth > MAX_DEPTH {
                return Ok(Some(format!(
                    "{label} is called more than {MAX_DEPTH} levels deep, where pgward stops reading, and rows undone there would still be counted by the server"
                )));
            }
            let body = match (f.language.as_str(), &f.definition, &f.source) {
                ("plpgsql", _, Some(src)) if f.trigger => trigger_function(src),
                ("plpgsql", Some(def), _) => plpgsql(def),
                ("sql", _, Some(src)) if !src.trim().is_empty() => {
                    sql(src, ParserOptions::default())
                }
                // A BEGIN ATOMIC body is parsed by the server already: its calls are in
                // pg_depend, but reading them there is not worth it; be careful.
                _ => Err(format!("it is written in {}", f.language)),
            };
            let body = match body {
                Ok(body) => body,
                Err(e) => {
                    return Ok(Some(format!(
                        "{label} cannot be read ({e}), and rows it undoes in a subtransaction would still be counted by the server"
                    )))
                }
            };
            if let Some(why) = own(&body, &label) {
                return Ok(Some(why));
            }
            next.extend(body.calls);
        }
        callees(client, &next, seen, depth).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(body: &str) -> String {
        body.to_string()
    }

    #[test]
    fn exception_blocks_and_dynamic_sql_are_found() {
        let plain = trigger_function(&function(
            "BEGIN IF NEW.x > 1 THEN DELETE FROM t WHERE id = NEW.id; END IF; RETURN NEW; END",
        ))
        .expect("parses");
        assert_eq!(plain, Body::default());
        let caught = trigger_function(&function(
            "BEGIN BEGIN INSERT INTO t VALUES (1); EXCEPTION WHEN unique_violation THEN NULL; END; RETURN NEW; END",
        ))
        .expect("parses");
        assert!(caught.exceptions);
        // RAISE EXCEPTION is not an exception block.
        let raise = trigger_function("BEGIN RAISE EXCEPTION 'no'; END;").expect("parses");
        assert!(!raise.exceptions);
        let dynamic = trigger_function(&function(
            "BEGIN EXECUTE 'DELETE FROM ' || TG_TABLE_NAME; RETURN NEW; END -- $pgward$",
        ))
        .expect("parses");
        assert!(dynamic.dynamic);
        let block = plpgsql("DO $$ BEGIN DELETE FROM t; EXCEPTION WHEN others THEN NULL; END $$")
            .expect("parses");
        assert!(block.exceptions);
    }

    #[test]
    fn calls_are_collected_from_statements_and_expressions() {
        let body = trigger_function(
            "BEGIN NEW.y := helper(NEW.x); PERFORM audit.note(NEW.id); IF helper(NEW.x) THEN INSERT INTO t VALUES (lower('a')); END IF; RETURN NEW; END;",
        )
        .expect("parses");
        let mut calls = body.calls.clone();
        calls.sort();
        calls.dedup();
        assert_eq!(calls, ["helper", "lower", "note"]);
        // A function that is not a trigger parses as itself.
        let f = plpgsql(
            "CREATE FUNCTION g(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN x := bump(x); RETURN x; END $$",
        )
        .expect("parses");
        assert_eq!(f.calls, ["bump"]);
        let sql_body = sql(
            "SELECT bump($1); UPDATE t SET n = n + 1",
            ParserOptions::default(),
        )
        .expect("parses");
        assert_eq!(sql_body.calls, ["bump"]);
    }
}
