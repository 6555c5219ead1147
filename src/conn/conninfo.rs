//! Parsing libpq connection strings: `postgresql://` URIs and `key=value` conninfo.
//!
//! pgward parses these itself instead of through tokio-postgres because psql's
//! `sslmode=verify-ca|verify-full` and `sslrootcert` must be understood, and because
//! parameters from several sources (flags, the string, `PG*` variables, defaults) are
//! merged the way libpq merges them.

use std::collections::BTreeMap;

use percent_encoding::percent_decode_str;

use super::ConnError;

/// Keywords pgward understands; anything else in a connection string is an error, so a
/// typo in `sslmode` cannot silently weaken TLS.
const KNOWN: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "connect_timeout",
    "application_name",
    "passfile",
    "service",
    "target_session_attrs",
    "sslcert",
    "sslkey",
    "sslpassword",
    "channel_binding",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "client_encoding",
    "options",
    "requiressl",
    "fallback_application_name",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslsni",
];

/// True when `s` looks like a connection string rather than a plain database name.
pub fn is_conninfo(s: &str) -> bool {
    s.starts_with("postgresql://") || s.starts_with("postgres://") || s.contains('=')
}

/// Parses a URI or `key=value` string into libpq keywords.
pub fn parse(s: &str) -> Result<BTreeMap<String, String>, ConnError> {
    let map = if let Some(rest) = s
        .strip_prefix("postgresql://")
        .or_else(|| s.strip_prefix("postgres://"))
    {
        parse_uri(rest)?
    } else {
        parse_keywords(s)?
    };
    check_known(&map)?;
    Ok(map)
}

/// Refuses any keyword pgward does not understand, naming it: a parameter silently
/// ignored would connect somewhere, or somehow, other than the user asked.
pub fn check_known(map: &BTreeMap<String, String>) -> Result<(), ConnError> {
    for key in map.keys() {
        // The parameters pgward does not implement are refused by name, with why, once
        // the sources are merged (an accepted value may pass).
        if !KNOWN.contains(&key.as_str()) && !super::unsupported::is_listed(key) {
            return Err(ConnError::Conninfo(format!(
                "unsupported connection parameter {key:?} (pgward knows: {})",
                KNOWN.join(", ")
            )));
        }
    }
    Ok(())
}

fn decode(s: &str) -> Result<String, ConnError> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ConnError::Conninfo(format!("invalid percent-encoding in {s:?}")))
}

fn parse_uri(rest: &str) -> Result<BTreeMap<String, String>, ConnError> {
    let mut map = BTreeMap::new();
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = main.split_once('/').unwrap_or((main, ""));
    let hostport = match authority.rsplit_once('@') {
        Some((cred, hostport)) => {
            let (user, password) = match cred.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (cred, None),
            };
            if !user.is_empty() {
                map.insert("user".into(), decode(user)?);
            }
            if let Some(p) = password {
                map.insert("password".into(), decode(p)?);
            }
            hostport
        }
        None => authority,
    };
    if !hostport.is_empty() {
        // Several hosts, comma-separated, each with its own optional port: libpq's
        // multi-host URI, kept as the `host=a,b port=1,2` lists of a conninfo string.
        let (mut hosts, mut ports) = (Vec::new(), Vec::new());
        for one in hostport.split(',') {
            let (host, port) = if let Some(v6) = one.strip_prefix('[') {
                let (h, after) = v6
                    .split_once(']')
                    .ok_or_else(|| ConnError::Conninfo("unterminated [ in URI host".into()))?;
                (h, after.strip_prefix(':'))
            } else {
                match one.rsplit_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (one, None),
                }
            };
            hosts.push(decode(host)?);
            ports.push(decode(port.unwrap_or(""))?);
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            map.insert("host".into(), hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            map.insert("port".into(), ports.join(","));
        }
    }
    if !path.is_empty() {
        map.insert("dbname".into(), decode(path)?);
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| ConnError::Conninfo(format!("URI parameter {pair:?} has no value")))?;
        map.insert(decode(k)?, decode(v)?);
    }
    Ok(map)
}

fn parse_keywords(s: &str) -> Result<BTreeMap<String, String>, ConnError> {
    let mut map = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(map);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(ConnError::Conninfo(format!(
                "missing \"=\" after {key:?} in connection info string"
            )));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => match chars.next() {
                        Some(c) => value.push(c),
                        None => break,
                    },
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => {
                        return Err(ConnError::Conninfo(
                            "unterminated quoted string in connection info string".into(),
                        ))
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(s: &str) -> Vec<(String, String)> {
        parse(s).expect("parses").into_iter().collect()
    }

    #[test]
    fn uri_with_everything() {
        let m = get("postgresql://al%40ice:p%3Ass@db.example:6543/shop?sslmode=verify-full&sslrootcert=/ca.pem");
        let want: Vec<(String, String)> = [
            ("dbname", "shop"),
            ("host", "db.example"),
            ("password", "p:ss"),
            ("port", "6543"),
            ("sslmode", "verify-full"),
            ("sslrootcert", "/ca.pem"),
            ("user", "al@ice"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(m, want);
    }

    #[test]
    fn multi_host_uri() {
        let m =
            parse("postgresql://a:1,b,[::1]:3/db?target_session_attrs=read-write").expect("parses");
        assert_eq!(m["host"], "a,b,::1");
        assert_eq!(m["port"], "1,,3");
        assert_eq!(m["target_session_attrs"], "read-write");
    }

    #[test]
    fn keywords_with_quotes() {
        let m = parse("host=/tmp  dbname = 'my db' password='it\\'s' port=5433").expect("parses");
        assert_eq!(m["host"], "/tmp");
        assert_eq!(m["dbname"], "my db");
        assert_eq!(m["password"], "it's");
        assert_eq!(m["port"], "5433");
    }

    #[test]
    fn rejects_unknown_and_broken() {
        assert!(parse("sslmod=require").is_err());
        assert!(parse("host").is_err());
        assert!(parse("password='open").is_err());
        assert!(parse("postgresql://h/db?sslmode").is_err());
    }
}
