//! Where in a statement PostgreSQL's parser found its syntax error: the position the
//! server would send, so the caret under a syntax error that pgward reports without
//! sending anything (see `Analysis::syntax_error`) sits where psql's does.
//!
//! libpg_query knows the position, but the `pg_query` crate keeps only the message.
//! The parser is LALR(1): it reports an error at the first token that no valid statement
//! can continue with, and the same error for every longer prefix of the text, while a
//! shorter prefix is either a whole statement or ends too early ("at end of input"). So
//! the erring token is the first whose prefix gives the full text's message, found by
//! bisection over the tokens (a few parses, on the error path only). An error in the
//! scanner itself (an unterminated quoted string) has no tokens to bisect over; there the
//! same holds character by character, since every longer prefix holds the same
//! unterminated token.

/// The 1-based character position of the syntax error `message` that `sql` raised, as
/// the server reports it; `None` when it cannot be placed.
pub fn syntax_position(sql: &str, message: &str) -> Option<u32> {
    let chars = |bytes: usize| u32::try_from(sql[..bytes].chars().count()).ok();
    if message == "syntax error at end of input" {
        return chars(sql.len()).map(|n| n + 1);
    }
    let head = head(message)?;
    let same = |end: usize| match pg_query::parse(&sql[..end], 0) {
        Err(pg_query::Error::Parse(m)) => head_is(&m, head),
        _ => false,
    };
    match pg_query::scan(sql) {
        Ok(scanned) => {
            let tokens: Vec<(usize, usize)> = scanned
                .tokens
                .iter()
                .filter_map(|t| {
                    Some((usize::try_from(t.start).ok()?, usize::try_from(t.end).ok()?))
                })
                .filter(|&(start, end)| start < end && end <= sql.len())
                .collect();
            let first = first_true(tokens.len(), |i| same(tokens[i].1))?;
            chars(tokens[first].0).map(|n| n + 1)
        }
        Err(_) => {
            let ends: Vec<usize> = sql
                .char_indices()
                .map(|(at, c)| at + c.len_utf8())
                .collect();
            let first = first_true(ends.len(), |i| same(ends[i]))?;
            u32::try_from(first + 1).ok()
        }
    }
}

/// The message before ` at or near "…"`, which names the token at the cut and so differs
/// between a prefix and the whole text; `None` for a message that names no token.
fn head(message: &str) -> Option<&str> {
    message.split_once(" at or near ").map(|(h, _)| h)
}

fn head_is(message: &str, expected: &str) -> bool {
    head(message) == Some(expected)
}

/// The least `i < n` for which `pred` holds, given that it holds for every index after
/// one that holds; `None` when it holds nowhere.
fn first_true(n: usize, mut pred: impl FnMut(usize) -> bool) -> Option<usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    (lo < n).then_some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(sql: &str) -> String {
        match pg_query::parse(sql, 0) {
            Err(pg_query::Error::Parse(m)) => m,
            other => panic!("{sql:?} parsed: {other:?}"),
        }
    }

    /// The positions psql 15 shows for these statements (the server's own).
    #[test]
    fn positions_are_the_servers() {
        for (sql, position) in [
            ("select 1 +", 11),
            ("select 1 + ", 12),
            ("select 1 +  -- c", 17),
            ("select (1", 10),
            ("select 1 from from", 15),
            ("select 'abc", 8),
            ("selec 2", 1),
            ("select 'é' from from", 17),
            ("update t set a = 1 whre b = 2", 20),
        ] {
            assert_eq!(
                syntax_position(sql, &message(sql)),
                Some(position),
                "{sql:?}: {}",
                message(sql)
            );
        }
    }
}
