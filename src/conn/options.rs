//! libpq's `options` (and `PGOPTIONS`, `PGDATESTYLE`, `PGTZ`, `PGGEQO`) as session
//! settings pgward applies itself.
//!
//! libpq sends `options` as a startup parameter; PgBouncer refuses it ("unsupported
//! startup parameter: options"), and the server would apply it for the whole session,
//! outside pgward's guarded transactions. pgward instead reads the settings out of it
//! and applies them the way it applies a user's `SET`: remembered, and `SET LOCAL` in
//! every transaction it opens ([`crate::session`]). Only settings a user could `SET` in
//! pgward are accepted ([`crate::sql::settings::check`]): one pgward owns
//! (`statement_timeout`, `role`, `default_transaction_read_only`, …) or does not know to
//! be harmless is a connection error naming it.
//!
//! The syntax is the server's (`pg_split_opts`, `ParseLongOption`): words split at
//! unescaped white space, a backslash takes the next character literally; `-c name=value`,
//! `-cname=value` and `--name=value`, with `-` in the name read as `_`. Other server
//! switches (`-e`, `-B 100`, …) are refused.

use crate::sql::settings;

use super::ConnError;

/// One setting from `options` or a shorthand variable: name (lower case, `-` read as
/// `_`) and value, as the server would take them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupSetting {
    /// The setting's name.
    pub name: String,
    /// Its value, unquoted.
    pub value: String,
    /// Where it came from, for messages: `options` or the variable's name.
    pub source: String,
}

impl StartupSetting {
    /// The `SET` statement that gives the setting the value the server would give it
    /// from `-c name=value`. One string literal does for most settings; a list of names
    /// (`search_path`, `temp_tablespaces`) is split as the server splits it, since `SET`
    /// would quote a single literal as one name.
    pub fn sql(&self) -> String {
        let name = self
            .name
            .split('.')
            .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(".");
        let literal = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let value = match self.name.as_str() {
            "search_path" | "temp_tablespaces" => split_identifiers(&self.value)
                .iter()
                .map(|v| literal(v))
                .collect::<Vec<_>>()
                .join(", "),
            _ => literal(&self.value),
        };
        format!("SET {name} TO {value}")
    }
}

/// The settings `options` holds, each checked against what a user may `SET`.
pub fn parse(options: &str, source: &str) -> Result<Vec<StartupSetting>, ConnError> {
    let words = split(options);
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let assignment = if word == "-c" {
            words.next().ok_or_else(|| {
                ConnError::Conninfo(format!("{source}: -c needs name=value after it"))
            })?
        } else if let Some(rest) = word.strip_prefix("--").or_else(|| word.strip_prefix("-c")) {
            rest.to_string()
        } else {
            return Err(ConnError::Conninfo(format!(
                "{source}: {word:?} is not supported; pgward takes only settings there (-c name=value or --name=value)"
            )));
        };
        let Some((name, value)) = assignment.split_once('=') else {
            return Err(ConnError::Conninfo(format!(
                "{source}: {assignment:?} has no value (write -c {assignment}=value)"
            )));
        };
        out.push(checked(&name.replace('-', "_"), value, source)?);
    }
    Ok(out)
}

/// A shorthand variable's setting (`PGDATESTYLE` is `datestyle`), checked.
pub fn shorthand(name: &str, value: &str, source: &str) -> Result<StartupSetting, ConnError> {
    checked(name, value, source)
}

fn checked(name: &str, value: &str, source: &str) -> Result<StartupSetting, ConnError> {
    let name = name.to_lowercase();
    if name.is_empty() {
        return Err(ConnError::Conninfo(format!(
            "{source}: a setting has no name"
        )));
    }
    settings::check(&name, "SET").map_err(|refusal| {
        ConnError::Conninfo(format!("{source}: {refusal}; remove {name} from {source}"))
    })?;
    Ok(StartupSetting {
        name,
        value: value.to_string(),
        source: source.to_string(),
    })
}

/// The server's `SplitIdentifierString` on a comma-separated list: white space around
/// an element dropped, a double-quoted element kept as written (`""` is `"`), an
/// unquoted one folded to lower case.
fn split_identifiers(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut element = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.next_if_eq(&'"').is_some() => element.push('"'),
                    '"' => break,
                    c => element.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                element.push(c);
            }
            element = element.trim_end().to_lowercase();
        }
        while chars.next_if(|c| *c != ',').is_some() {}
        out.push(element);
        if chars.next().is_none() {
            break;
        }
    }
    if out == [""] {
        out.clear();
    }
    out
}

/// The server's `pg_split_opts`: words at unescaped white space, `\x` is `x`.
fn split(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                in_word = true;
            }
            c if c.is_ascii_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, String)> {
        parse(s, "options")
            .expect("parses")
            .into_iter()
            .map(|s| (s.name, s.value))
            .collect()
    }

    #[test]
    fn the_servers_syntax() {
        assert_eq!(
            pairs("-c work_mem=64MB --search-path=a,b -cDateStyle=ISO"),
            vec![
                ("work_mem".into(), "64MB".into()),
                ("search_path".into(), "a,b".into()),
                ("datestyle".into(), "ISO".into()),
            ]
        );
        assert_eq!(
            pairs(r"-c search_path=my\ schema,public  -c app.note=a\\b"),
            vec![
                ("search_path".into(), "my schema,public".into()),
                ("app.note".into(), r"a\b".into()),
            ]
        );
        assert_eq!(pairs("  "), vec![]);
    }

    #[test]
    fn settings_pgward_owns_and_other_switches_are_refused_by_name() {
        for (options, named) in [
            ("-c statement_timeout=0", "statement_timeout"),
            ("--role=admin", "role"),
            (
                "-c default_transaction_read_only=off",
                "default_transaction_read_only",
            ),
            ("-c session_authorization=x", "session_authorization"),
            ("-c wal_level=minimal", "wal_level"),
            ("-e", "\"-e\""),
            ("-c", "-c needs"),
            ("-c work_mem", "no value"),
        ] {
            let e = parse(options, "PGOPTIONS").expect_err(options).to_string();
            assert!(e.contains(named), "{options}: {e}");
            assert!(e.contains("PGOPTIONS"), "{options}: {e}");
        }
    }

    #[test]
    fn the_set_statement_quotes_name_and_value() {
        let s = &parse("-c app.x=it's", "options").expect("parses")[0];
        assert_eq!(s.sql(), r#"SET "app"."x" TO 'it''s'"#);
        let s = &parse(r#"-c search_path="My\ Schema",Public,\ x"#, "options").expect("parses")[0];
        assert_eq!(
            s.sql(),
            r#"SET "search_path" TO 'My Schema', 'public', 'x'"#
        );
        let s = &parse("-c datestyle=SQL,\\ DMY", "options").expect("parses")[0];
        assert_eq!(s.sql(), r#"SET "datestyle" TO 'SQL, DMY'"#);
    }
}
