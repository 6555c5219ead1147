//! libpq parameters pgward does not implement, as data: each is a loud error when set,
//! never silently ignored, unless its value means what pgward does anyway
//! (`gssencmode=disable`, `sslcertmode=allow`, …). A parameter silently ignored would
//! connect somewhere, or somehow, other than psql does with the same settings: without
//! the revocation list the user named, without checking the server's peer user, with
//! another TLS version than the one asked for.
//!
//! Each entry names its conninfo keyword and its `PG*` variable, so both are caught the
//! same way ([`check`]); the error names whichever the user set.

use std::collections::{BTreeMap, BTreeSet};

use super::ConnError;

/// One parameter pgward does not implement.
pub(crate) struct Unsupported {
    /// Its conninfo keyword.
    pub keyword: &'static str,
    /// Its environment variable, if libpq has one.
    pub env: Option<&'static str>,
    /// The values that mean what pgward does anyway.
    pub accepted: &'static [&'static str],
    /// What pgward does instead, for the error.
    pub why: &'static str,
}

const fn entry(
    keyword: &'static str,
    env: Option<&'static str>,
    accepted: &'static [&'static str],
    why: &'static str,
) -> Unsupported {
    Unsupported {
        keyword,
        env,
        accepted,
        why,
    }
}

const GSS: &str = "pgward has no GSSAPI/Kerberos support";
const CRL: &str = "pgward does not check certificate revocation lists";

/// The table.
pub(crate) const TABLE: &[Unsupported] = &[
    entry("sslcrl", Some("PGSSLCRL"), &[], CRL),
    entry("sslcrldir", Some("PGSSLCRLDIR"), &[], CRL),
    entry(
        "requirepeer",
        Some("PGREQUIREPEER"),
        &[],
        "pgward does not check the operating-system user of the server process",
    ),
    entry(
        "require_auth",
        Some("PGREQUIREAUTH"),
        &[],
        "pgward does not restrict the server's authentication method (use channel_binding=require to insist on SCRAM)",
    ),
    entry("gssencmode", Some("PGGSSENCMODE"), &["disable"], GSS),
    entry("krbsrvname", Some("PGKRBSRVNAME"), &[], GSS),
    entry("gsslib", Some("PGGSSLIB"), &[], GSS),
    entry("gssdelegation", Some("PGGSSDELEGATION"), &["0"], GSS),
    entry(
        "sslcertmode",
        Some("PGSSLCERTMODE"),
        &["allow"],
        "pgward offers a client certificate when the server asks for one (sslcertmode=allow)",
    ),
    entry(
        "sslcompression",
        Some("PGSSLCOMPRESSION"),
        &["0"],
        "TLS compression is never used",
    ),
    entry(
        "sslnegotiation",
        Some("PGSSLNEGOTIATION"),
        &["postgres"],
        "pgward negotiates TLS the PostgreSQL way (sslnegotiation=postgres)",
    ),
    entry(
        "load_balance_hosts",
        Some("PGLOADBALANCEHOSTS"),
        &["disable"],
        "pgward tries the hosts in the order given (load_balance_hosts=disable)",
    ),
    entry(
        "min_protocol_version",
        Some("PGMINPROTOCOLVERSION"),
        &["3.0"],
        "pgward speaks protocol 3.0",
    ),
    entry(
        "max_protocol_version",
        Some("PGMAXPROTOCOLVERSION"),
        &["3.0"],
        "pgward speaks protocol 3.0",
    ),
    entry(
        "tcp_user_timeout",
        None,
        &[],
        "pgward does not set TCP_USER_TIMEOUT (keepalives are supported)",
    ),
    entry(
        "replication",
        None,
        &[],
        "pgward is not a replication client",
    ),
    entry(
        "sslkeylogfile",
        None,
        &[],
        "pgward never writes TLS keys to a file",
    ),
];

/// Whether `keyword` is in the table (accepted by the parser, decided by [`check`]).
pub(crate) fn is_listed(keyword: &str) -> bool {
    TABLE.iter().any(|u| u.keyword == keyword)
}

/// The `PG*` variables of the table, with their keywords.
pub(crate) fn variables() -> impl Iterator<Item = (&'static str, &'static str)> {
    TABLE
        .iter()
        .filter_map(|u| u.env.map(|env| (u.keyword, env)))
}

/// Removes the table's parameters from `kv`: an accepted value is dropped, anything else
/// is an error naming the variable when it came from the environment (`from_env`), else
/// the keyword.
pub(crate) fn check(
    kv: &mut BTreeMap<String, String>,
    from_env: &BTreeSet<String>,
) -> Result<(), ConnError> {
    for u in TABLE {
        let Some(value) = kv.remove(u.keyword) else {
            continue;
        };
        if u.accepted.contains(&value.as_str()) {
            continue;
        }
        let named = match u.env {
            Some(env) if from_env.contains(u.keyword) => format!("{env}={value:?}"),
            _ => format!("{}={value:?}", u.keyword),
        };
        let accepted = match u.accepted {
            [] => String::from("unset it"),
            list => format!("unset it or use {}", list.join(" or ")),
        };
        return Err(ConnError::Conninfo(format!(
            "{named} is not supported: {}; {accepted}",
            u.why
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_values_pass_and_others_are_named() {
        let mut kv = BTreeMap::from([
            ("sslcompression".to_string(), "0".to_string()),
            ("gssencmode".to_string(), "disable".to_string()),
        ]);
        check(&mut kv, &BTreeSet::new()).expect("accepted");
        assert!(kv.is_empty());

        let mut kv = BTreeMap::from([("sslcrl".to_string(), "/x".to_string())]);
        let from_env = BTreeSet::from(["sslcrl".to_string()]);
        let e = check(&mut kv, &from_env).expect_err("refused").to_string();
        assert!(e.contains("PGSSLCRL=\"/x\""), "{e}");
        let mut kv = BTreeMap::from([("gssencmode".to_string(), "require".to_string())]);
        let e = check(&mut kv, &BTreeSet::new())
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("gssencmode=\"require\"") && e.contains("use disable"),
            "{e}"
        );
    }
}
