//! The role setup the database enforces, checked once before a session opens.
//!
//! The client can be fooled by dynamic SQL in a DO body or a function; the database
//! cannot. So pgward reads, at start, every role the login can become by `SET ROLE`
//! (transitively: `pg_has_role(…, 'SET')` from PostgreSQL 16, membership before, plus
//! roles the login holds ADMIN OPTION on, since it can grant those to itself), and refuses
//! to open the environment when
//!
//! - the login can become a role beyond the configured write and read roles and the roles
//!   whose privileges they inherit (`extra_roles`): a role a configured one can only
//!   `SET ROLE` to (it is NOINHERIT, or on 16+ the grant is `INHERIT FALSE`) is extra,
//!   since dynamic SQL running as the configured role can switch to it and back,
//! - a role it can become is superuser, CREATEROLE or BYPASSRLS,
//! - a role it can become can execute a function that acts outside the transaction
//!   (dblink, postgres_fdw, server files, server-side large-object import and export),
//!   listed below as data with reasons, or holds a predefined role that reads or writes
//!   server files.
//!
//! Every role the login can become is checked, not only the configured ones: dynamic SQL
//! can `RESET ROLE` to the login or `SET ROLE` to anything reachable, act, and switch back
//! before the probe looks. Each finding belongs to one [`Risk`]; the environment opens
//! only when every finding's risk is accepted by name in `accept_risks`. A check that
//! cannot be made refuses too.

use std::fmt;

use crate::conn::Client;
use tokio_postgres::types::Type;

use crate::config::{EnvSettings, Risk};

/// The first server version (`server_version_num`) with `pg_has_role(…, 'SET')` and
/// `GRANT … WITH SET FALSE`.
const SET_OPTION_SINCE: i32 = 160_000;

/// Functions that act outside the transaction, as data: by exact name or name prefix,
/// with the risk they belong to. Only functions that exist are looked at.
const OUTSIDE: &[(Risk, Match)] = &[
    (Risk::Dblink, Match::Prefix("dblink")),
    (Risk::PostgresFdw, Match::Prefix("postgres_fdw")),
    (Risk::ServerFiles, Match::Exact("pg_read_file")),
    (Risk::ServerFiles, Match::Exact("pg_read_binary_file")),
    (Risk::ServerFiles, Match::Exact("pg_ls_dir")),
    (Risk::ServerFiles, Match::Exact("pg_stat_file")),
    // adminpack
    (Risk::ServerFiles, Match::Exact("pg_file_write")),
    (Risk::ServerFiles, Match::Exact("pg_file_rename")),
    (Risk::ServerFiles, Match::Exact("pg_file_unlink")),
    (Risk::ServerFiles, Match::Exact("pg_file_sync")),
    (Risk::ServerFiles, Match::Exact("pg_logdir_ls")),
    (Risk::LargeObjects, Match::Exact("lo_import")),
    (Risk::LargeObjects, Match::Exact("lo_export")),
];

/// Predefined roles whose privileges reach server files and programs (COPY TO/FROM a
/// file or PROGRAM): holding their privileges is the `server_files` risk.
const FILE_ROLES: &[&str] = &[
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
];

/// How a function name is matched.
#[derive(Debug, Clone, Copy)]
enum Match {
    Exact(&'static str),
    Prefix(&'static str),
}

impl Match {
    fn matches(self, name: &str) -> bool {
        match self {
            Match::Exact(n) => name == n,
            Match::Prefix(p) => name.starts_with(p),
        }
    }

    /// The pattern for SQL's `LIKE` (with `\` escaping `_` and `%`).
    fn like(self) -> String {
        let escape = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('_', "\\_")
                .replace('%', "\\%")
        };
        match self {
            Match::Exact(n) => escape(n),
            Match::Prefix(p) => format!("{}%", escape(p)),
        }
    }
}

/// Every role the login can become, with its attributes; whether it is allowed (the
/// login itself, a configured role, or a role whose privileges a configured one
/// inherits); the grants through which it is reached from an allowed role (granted role
/// and member, in two arrays of the same order); and whether the login holds ADMIN
/// OPTION on it.
/// `$1`: the configured write and read roles. `{PRIV}` is `MEMBER` or `SET`,
/// `{DIRECT}` restricts grants to those that allow SET ROLE.
///
/// Allowed is what a configured role *inherits* (`USAGE`), not what it can *become*
/// (`{PRIV}`): a NOINHERIT write role that is a member of `power` has none of `power`'s
/// rights, but dynamic SQL running as it can `SET LOCAL ROLE power`, use them and
/// switch back before the probe looks. So `power` is an extra role.
const ROLES_TEMPLATE: &str = "\
WITH login AS (
  SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = session_user
), allowed AS (
  SELECT r.oid FROM pg_catalog.pg_roles r
  WHERE r.oid IN (SELECT oid FROM login)
     OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles c
                WHERE c.rolname = ANY ($1::pg_catalog.text[])
                  AND pg_catalog.pg_has_role(c.oid, r.oid, 'USAGE'))
), reach AS (
  SELECT r.oid FROM pg_catalog.pg_roles r, login l
  WHERE pg_catalog.pg_has_role(l.oid, r.oid, '{PRIV}')
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members m
  WHERE m.member IN (SELECT oid FROM login) AND m.admin_option
), edge AS (
  SELECT m.roleid, m.member FROM pg_catalog.pg_auth_members m
  WHERE m.member IN (SELECT oid FROM allowed)
    AND m.member IN (SELECT oid FROM reach)
    AND m.roleid NOT IN (SELECT oid FROM allowed){DIRECT}
)
SELECT r.rolname::pg_catalog.text, r.rolsuper, r.rolcreaterole, r.rolbypassrls,
       r.oid IN (SELECT oid FROM allowed),
       ARRAY(SELECT g.rolname::pg_catalog.text
             FROM edge e JOIN pg_catalog.pg_roles g ON g.oid = e.roleid
                         JOIN pg_catalog.pg_roles w ON w.oid = e.member
             WHERE pg_catalog.pg_has_role(e.roleid, r.oid, '{PRIV}')
             ORDER BY g.rolname, w.rolname),
       ARRAY(SELECT w.rolname::pg_catalog.text
             FROM edge e JOIN pg_catalog.pg_roles g ON g.oid = e.roleid
                         JOIN pg_catalog.pg_roles w ON w.oid = e.member
             WHERE pg_catalog.pg_has_role(e.roleid, r.oid, '{PRIV}')
             ORDER BY g.rolname, w.rolname),
       EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
               WHERE m.member IN (SELECT oid FROM login) AND m.roleid = r.oid AND m.admin_option)
FROM pg_catalog.pg_roles r
WHERE r.oid IN (SELECT oid FROM reach)
ORDER BY 1";

/// Functions that act outside the transaction and the roles (`$1`, the reachable ones)
/// that can execute them. `$2`: `LIKE` patterns of their names.
const FUNCTIONS_SQL: &str = "\
SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
                         pg_catalog.pg_get_function_identity_arguments(p.oid)),
       p.proname::pg_catalog.text,
       ARRAY(SELECT r.rolname::pg_catalog.text FROM pg_catalog.pg_roles r
             WHERE r.rolname = ANY ($1::pg_catalog.text[])
               AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE')
             ORDER BY 1)
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname::pg_catalog.text LIKE ANY ($2::pg_catalog.text[])
ORDER BY 1";

/// Predefined file roles (`$2`) whose privileges a reachable role (`$1`) holds.
const FILE_ROLES_SQL: &str = "\
SELECT d.rolname::pg_catalog.text,
       ARRAY(SELECT r.rolname::pg_catalog.text FROM pg_catalog.pg_roles r
             WHERE r.rolname = ANY ($1::pg_catalog.text[])
               AND pg_catalog.pg_has_role(r.oid, d.oid, 'USAGE')
             ORDER BY 1)
FROM pg_catalog.pg_roles d
WHERE d.rolname = ANY ($2::pg_catalog.text[])
ORDER BY 1";

/// The roles query for a server of version `server_version_num`.
pub fn roles_sql(server_version_num: i32) -> String {
    let (privilege, direct) = if server_version_num >= SET_OPTION_SINCE {
        ("SET", " AND m.set_option")
    } else {
        ("MEMBER", "")
    };
    ROLES_TEMPLATE
        .replace("{PRIV}", privilege)
        .replace("{DIRECT}", direct)
}

/// Reads one role attribute.
type Attribute = fn(&Reachable) -> bool;

/// One thing the role check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The risk it belongs to.
    pub risk: Risk,
    /// What was found, in words.
    pub what: String,
    /// SQL (or an action) that removes it.
    pub fix: Vec<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.risk, self.what)
    }
}

/// Why the environment was not opened.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The check itself could not be made: without it nothing is known, so nothing opens.
    #[error("cannot check the role setup of login {login:?}: {message}; pgward does not open an environment it could not check")]
    Query {
        /// The login.
        login: String,
        /// The server's message, on one line.
        message: String,
    },
    /// A configured role does not exist.
    #[error("the {which} role {role:?} does not exist on this server; create it, or correct {which}_role in the environment")]
    Missing {
        /// "write" or "read".
        which: &'static str,
        /// Its name.
        role: String,
    },
    /// Findings whose risks the environment does not accept.
    #[error("{}", refusal_text(.env, .login, .findings))]
    Refused {
        /// The environment.
        env: String,
        /// The login.
        login: String,
        /// What was found and not accepted.
        findings: Vec<Finding>,
    },
}

fn refusal_text(env: &str, login: &str, findings: &[Finding]) -> String {
    let mut s = format!(
        "refused to open environment {env:?}: the role setup of login {login:?} lets SQL do what pgward cannot guard \
         (dynamic SQL in a function or DO body is invisible to any client):\n"
    );
    for f in findings {
        s.push_str(&format!("  {f}\n      why: {}\n", f.risk.why()));
        for fix in &f.fix {
            s.push_str(&format!("      fix: {fix}\n"));
        }
    }
    let mut ids: Vec<&str> = findings.iter().map(|f| f.risk.id()).collect();
    ids.dedup();
    s.push_str(&format!(
        "Fix the setup (run the SQL above as an administrator), or log in as a dedicated login granted only the write and read roles \
         (see README, \"Security model\"). To accept a risk knowingly, name it in the environment's config: accept_risks = [{}]",
        ids.iter()
            .map(|i| format!("\"{i}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // Role and function names come from the server: never raw to the terminal.
    crate::render::escape::multi_line(&s)
}

/// One row of the roles query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachable {
    /// The role's name.
    pub name: String,
    /// rolsuper.
    pub superuser: bool,
    /// rolcreaterole.
    pub createrole: bool,
    /// rolbypassrls.
    pub bypassrls: bool,
    /// The login itself, a configured role, or one whose privileges a configured role
    /// inherits.
    pub allowed: bool,
    /// The grants through which it is reached from an allowed role: (granted role,
    /// member), the granted role not allowed itself.
    pub via: Vec<(String, String)>,
    /// The login holds ADMIN OPTION on it, so it can grant it to itself.
    pub admin: bool,
}

/// A function that acts outside the transaction, and who can execute it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outside {
    /// `schema.name(argument types)`.
    pub signature: String,
    /// Its bare name.
    pub name: String,
    /// Reachable roles that can execute it.
    pub executors: Vec<String>,
}

/// What the check saw on the server, before judging it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `server_version_num`.
    pub version: i32,
    /// The login (`session_user`).
    pub login: String,
    /// The configured write role.
    pub write_role: Option<String>,
    /// The configured read role.
    pub read_role: Option<String>,
    /// Every role the login can become, itself included.
    pub roles: Vec<Reachable>,
    /// Functions acting outside the transaction that some reachable role can execute.
    pub functions: Vec<Outside>,
    /// Predefined file roles, with the reachable roles holding their privileges.
    pub file_roles: Vec<(String, Vec<String>)>,
}

/// What the check accepted: findings whose risk the environment names in `accept_risks`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Each accepted risk, with what was found for it (empty when nothing was).
    pub risks: Vec<(Risk, Vec<Finding>)>,
}

impl Accepted {
    /// One line per accepted risk, for the start banner and `\conninfo`.
    pub fn lines(&self) -> Vec<String> {
        self.risks
            .iter()
            .map(|(risk, found)| {
                if found.is_empty() {
                    format!("accepted risk {risk}: not present on this server")
                } else {
                    let what: Vec<&str> = found.iter().map(|f| f.what.as_str()).collect();
                    format!("accepted risk {risk}: {}", what.join("; "))
                }
            })
            .collect()
    }
}

/// Reads the role setup of the login `client` is connected as and judges it against
/// `env`: the accepted findings, or why the environment must not open.
pub async fn check(client: &Client, env: &EnvSettings) -> Result<Accepted, RoleError> {
    let row = client
        .query_typed(
            "SELECT session_user::pg_catalog.text, \
                    pg_catalog.current_setting('server_version_num')::pg_catalog.int4",
            &[],
        )
        .await
        .map_err(|e| query_error("?", &e))?;
    let (login, version) = row
        .first()
        .map_or((String::new(), 0), |r| (r.get(0), r.get(1)));
    check_known(client, env, &login, version).await
}

/// [`check`] for a session that knows its login (`session_user`, from the probe) and the
/// server's `server_version_num` (from the connection's own check) already, so neither
/// is asked for again.
pub async fn check_known(
    client: &Client,
    env: &EnvSettings,
    login: &str,
    version: i32,
) -> Result<Accepted, RoleError> {
    let seen = read(client, env, login, version).await?;
    judge(&seen, &env.name, &env.accept_risks)
}

// Every query here runs as an unnamed statement (`query_typed`): a named one outlives
// its transaction on a pooled backend (PgBouncer in transaction mode), where another
// client may trip over it.

async fn read(
    client: &Client,
    env: &EnvSettings,
    login: &str,
    version: i32,
) -> Result<Seen, RoleError> {
    let login = login.to_string();
    let fail = |e: tokio_postgres::Error| query_error(&login, &e);
    let configured: Vec<String> = [&env.write_role, &env.read_role]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    // Both configured roles in one query: those the server does not know.
    let missing: Vec<String> = client
        .query_typed(
            "SELECT ARRAY(SELECT r FROM pg_catalog.unnest($1::pg_catalog.text[]) AS r \
                          WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles \
                                            WHERE rolname OPERATOR(pg_catalog.=) r))",
            &[(&configured, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(fail)?
        .first()
        .map(|r| r.get(0))
        // No row reads as every role missing: refused.
        .unwrap_or_else(|| configured.clone());
    for (which, role) in [("write", &env.write_role), ("read", &env.read_role)] {
        let Some(role) = role else { continue };
        if missing.contains(role) {
            return Err(RoleError::Missing {
                which,
                role: role.clone(),
            });
        }
    }
    let roles: Vec<Reachable> = client
        .query_typed(&roles_sql(version), &[(&configured, Type::TEXT_ARRAY)])
        .await
        .map_err(fail)?
        .iter()
        .map(|r| Reachable {
            name: r.get(0),
            superuser: r.get(1),
            createrole: r.get(2),
            bypassrls: r.get(3),
            allowed: r.get(4),
            via: r
                .get::<_, Vec<String>>(5)
                .into_iter()
                .zip(r.get::<_, Vec<String>>(6))
                .collect(),
            admin: r.get(7),
        })
        .collect();
    let names: Vec<String> = roles.iter().map(|r| r.name.clone()).collect();
    let patterns: Vec<String> = OUTSIDE.iter().map(|(_, m)| m.like()).collect();
    let functions = client
        .query_typed(
            FUNCTIONS_SQL,
            &[(&names, Type::TEXT_ARRAY), (&patterns, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(fail)?
        .iter()
        .map(|r| Outside {
            signature: r.get(0),
            name: r.get(1),
            executors: r.get(2),
        })
        .filter(|f| !f.executors.is_empty())
        .collect();
    let file_roles: Vec<String> = FILE_ROLES.iter().map(|s| s.to_string()).collect();
    let file_roles = client
        .query_typed(
            FILE_ROLES_SQL,
            &[(&names, Type::TEXT_ARRAY), (&file_roles, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(fail)?
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, Vec<String>>(1)))
        .filter(|(_, holders)| !holders.is_empty())
        .collect();
    Ok(Seen {
        version,
        login,
        write_role: env.write_role.clone(),
        read_role: env.read_role.clone(),
        roles,
        functions,
        file_roles,
    })
}

fn query_error(login: &str, e: &tokio_postgres::Error) -> RoleError {
    RoleError::Query {
        login: login.to_string(),
        message: crate::render::error::one_line(e),
    }
}

/// Every finding in `seen`, in [`Risk::ALL`] order.
pub fn findings(seen: &Seen) -> Vec<Finding> {
    let login = ident(&seen.login);
    let mut out = Vec::new();
    let extra: Vec<&Reachable> = seen.roles.iter().filter(|r| !r.allowed).collect();
    if !extra.is_empty() {
        let mut names: Vec<String> = extra
            .iter()
            .take(10)
            .map(|r| format!("{:?}", r.name))
            .collect();
        if extra.len() > names.len() {
            names.push(format!("and {} more", extra.len() - names.len()));
        }
        let beyond = match (&seen.write_role, &seen.read_role) {
            (Some(w), Some(r)) => format!("the write role {w:?} and the read role {r:?}"),
            (Some(w), None) => format!("the write role {w:?} (no read role is configured)"),
            (None, Some(r)) => format!("the read role {r:?} (no write role is configured)"),
            (None, None) => "itself (no write or read role is configured)".to_string(),
        };
        let mut grants: Vec<(&str, &str)> = extra
            .iter()
            .flat_map(|r| r.via.iter().map(|(g, m)| (g.as_str(), m.as_str())))
            .collect();
        grants.sort_unstable();
        grants.dedup();
        let mut fix: Vec<String> = grants
            .iter()
            .map(|(g, m)| {
                let (g, m) = (ident(g), ident(m));
                if seen.version >= SET_OPTION_SINCE {
                    format!(
                        "REVOKE {g} FROM {m};  -- or keep the membership without SET ROLE: GRANT {g} TO {m} WITH SET FALSE;"
                    )
                } else {
                    format!("REVOKE {g} FROM {m};")
                }
            })
            .collect();
        for r in extra.iter().filter(|r| r.admin) {
            // The login can grant it to itself.
            fix.push(format!(
                "REVOKE ADMIN OPTION FOR {} FROM {login};",
                ident(&r.name)
            ));
        }
        fix.push(
            "or log in as a dedicated login that is granted only the write and read roles"
                .to_string(),
        );
        out.push(Finding {
            risk: Risk::ExtraRoles,
            what: format!(
                "login {:?} can SET ROLE to {} beyond {beyond} and the roles whose privileges they inherit",
                seen.login,
                names.join(", ")
            ),
            fix,
        });
    }
    let attributes: [(Risk, &str, Attribute); 3] = [
        (Risk::Superuser, "SUPERUSER", |r| r.superuser),
        (Risk::Createrole, "CREATEROLE", |r| r.createrole),
        (Risk::Bypassrls, "BYPASSRLS", |r| r.bypassrls),
    ];
    for (risk, attribute, has) in attributes {
        let holders: Vec<&Reachable> = seen.roles.iter().filter(|r| has(r)).collect();
        if holders.is_empty() {
            continue;
        }
        let names: Vec<String> = holders.iter().map(|r| format!("{:?}", r.name)).collect();
        out.push(Finding {
            risk,
            what: format!(
                "{} {} {attribute}, and login {:?} can become {}",
                names.join(", "),
                if holders.len() == 1 { "is" } else { "are" },
                seen.login,
                if holders.len() == 1 { "it" } else { "them" },
            ),
            fix: holders
                .iter()
                .map(|r| format!("ALTER ROLE {} NO{attribute};", ident(&r.name)))
                .collect(),
        });
    }
    for risk in [
        Risk::Dblink,
        Risk::PostgresFdw,
        Risk::ServerFiles,
        Risk::LargeObjects,
    ] {
        let functions: Vec<&Outside> = seen
            .functions
            .iter()
            .filter(|f| {
                OUTSIDE
                    .iter()
                    .any(|(r, m)| *r == risk && m.matches(&f.name))
            })
            .collect();
        let file_roles: Vec<&(String, Vec<String>)> = if risk == Risk::ServerFiles {
            seen.file_roles.iter().collect()
        } else {
            Vec::new()
        };
        if functions.is_empty() && file_roles.is_empty() {
            continue;
        }
        // Grouped by who can execute them: one line, and one REVOKE, per group.
        let mut groups: Vec<(&Vec<String>, Vec<&str>)> = Vec::new();
        for f in &functions {
            match groups.iter_mut().find(|(who, _)| **who == f.executors) {
                Some((_, sigs)) => sigs.push(&f.signature),
                None => groups.push((&f.executors, vec![&f.signature])),
            }
        }
        let mut what: Vec<String> = groups
            .iter()
            .map(|(who, sigs)| {
                let shown: Vec<&str> = sigs.iter().take(3).copied().collect();
                let more = match sigs.len().saturating_sub(shown.len()) {
                    0 => String::new(),
                    n => format!(" and {n} more"),
                };
                format!("{} can execute {}{more}", list(who), shown.join(", "))
            })
            .collect();
        what.extend(
            file_roles
                .iter()
                .map(|(role, holders)| format!("{} {role:?}'s privileges", has_list(holders))),
        );
        let mut fix: Vec<String> = groups
            .iter()
            .map(|(who, sigs)| {
                let from: Vec<String> = std::iter::once("PUBLIC".to_string())
                    .chain(who.iter().map(|e| ident(e)))
                    .collect();
                format!(
                    "REVOKE EXECUTE ON FUNCTION {} FROM {};",
                    sigs.join(", "),
                    from.join(", ")
                )
            })
            .collect();
        fix.extend(file_roles.iter().map(|(role, holders)| {
            format!(
                "REVOKE {role} FROM {};  -- where granted; a superuser always has it",
                holders
                    .iter()
                    .map(|h| ident(h))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }));
        out.push(Finding {
            risk,
            what: what.join("; "),
            fix,
        });
    }
    out
}

/// Splits the findings into accepted ones and refused ones: `Err` when any is refused.
pub fn judge(seen: &Seen, env: &str, accept: &[Risk]) -> Result<Accepted, RoleError> {
    let all = findings(seen);
    let refused: Vec<Finding> = all
        .iter()
        .filter(|f| !accept.contains(&f.risk))
        .cloned()
        .collect();
    if !refused.is_empty() {
        return Err(RoleError::Refused {
            env: env.to_string(),
            login: seen.login.clone(),
            findings: refused,
        });
    }
    let mut risks: Vec<Risk> = accept.to_vec();
    risks.sort_unstable();
    risks.dedup();
    Ok(Accepted {
        risks: risks
            .into_iter()
            .map(|risk| {
                let found = all.iter().filter(|f| f.risk == risk).cloned().collect();
                (risk, found)
            })
            .collect(),
    })
}

fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn has_list(names: &[String]) -> String {
    format!(
        "{} {}",
        list(names),
        if names.len() == 1 { "has" } else { "have" }
    )
}

/// An identifier as SQL, quoted only when it must be: the fixes are for people to read.
fn ident(name: &str) -> String {
    const RESERVED: &[&str] = &[
        "all",
        "current_role",
        "current_user",
        "default",
        "group",
        "none",
        "public",
        "role",
        "session_user",
        "user",
    ];
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain {
        name.to_string()
    } else {
        crate::preview::relation::quote_ident(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A role reached through `via`, each granted to the login `ops`.
    fn role(name: &str, allowed: bool, via: &[&str]) -> Reachable {
        Reachable {
            name: name.into(),
            superuser: false,
            createrole: false,
            bypassrls: false,
            allowed,
            via: via
                .iter()
                .map(|s| (s.to_string(), "ops".to_string()))
                .collect(),
            admin: false,
        }
    }

    fn seen(version: i32, roles: Vec<Reachable>) -> Seen {
        Seen {
            version,
            login: "ops".into(),
            write_role: Some("app_writer".into()),
            read_role: Some("app_reader".into()),
            roles,
            functions: Vec::new(),
            file_roles: Vec::new(),
        }
    }

    fn passing() -> Vec<Reachable> {
        vec![
            role("app_reader", true, &[]),
            role("app_writer", true, &[]),
            role("ops", true, &[]),
        ]
    }

    #[test]
    fn sql_before_16_uses_membership() {
        let sql = roles_sql(150_004);
        assert!(sql.contains("pg_has_role(l.oid, r.oid, 'MEMBER')"), "{sql}");
        assert!(!sql.contains("'SET'"), "{sql}");
        assert!(!sql.contains("set_option"), "{sql}");
        assert!(!sql.contains('{'), "{sql}");
    }

    #[test]
    fn sql_from_16_uses_the_set_option() {
        let sql = roles_sql(160_000);
        assert!(sql.contains("pg_has_role(l.oid, r.oid, 'SET')"), "{sql}");
        assert!(sql.contains("pg_has_role(c.oid, r.oid, 'USAGE')"), "{sql}");
        assert!(sql.contains("AND m.set_option"), "{sql}");
        assert!(!sql.contains("'MEMBER'"), "{sql}");
        assert!(!sql.contains('{'), "{sql}");
    }

    #[test]
    fn every_query_is_one_statement_postgresql_parses() {
        for sql in [
            roles_sql(150_000),
            roles_sql(160_000),
            FUNCTIONS_SQL.to_string(),
            FILE_ROLES_SQL.to_string(),
        ] {
            let parsed = pg_query::parse(&sql, pg_query::ParserOptions::default())
                .unwrap_or_else(|e| panic!("{e}: {sql}"));
            assert_eq!(parsed.protobuf.stmts.len(), 1, "{sql}");
        }
    }

    #[test]
    fn like_patterns_escape_underscores() {
        assert_eq!(Match::Exact("lo_import").like(), "lo\\_import");
        assert_eq!(Match::Prefix("postgres_fdw").like(), "postgres\\_fdw%");
        assert!(Match::Prefix("dblink").matches("dblink_exec"));
        assert!(!Match::Exact("lo_import").matches("lo_import2"));
    }

    #[test]
    fn the_recommended_setup_passes() {
        let accepted = judge(&seen(150_000, passing()), "prod", &[]).expect("passes");
        assert!(accepted.lines().is_empty());
    }

    #[test]
    fn an_extra_role_is_refused_with_the_fix_for_the_version() {
        let mut roles = passing();
        roles.push(role("admin", false, &["admin"]));
        roles.push(role("pg_monitor", false, &["admin"]));
        let err = judge(&seen(150_000, roles.clone()), "prod", &[]).expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("\"admin\", \"pg_monitor\""), "{text}");
        assert!(text.contains("REVOKE admin FROM ops;"), "{text}");
        assert!(!text.contains("WITH SET FALSE"), "{text}");
        assert!(text.contains("accept_risks = [\"extra_roles\"]"), "{text}");
        let text = judge(&seen(160_000, roles.clone()), "prod", &[])
            .expect_err("refused")
            .to_string();
        assert!(
            text.contains("GRANT admin TO ops WITH SET FALSE;"),
            "{text}"
        );
        let accepted = judge(&seen(150_000, roles), "prod", &[Risk::ExtraRoles]).expect("ok");
        let lines = accepted.lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("accepted risk extra_roles: login"),
            "{lines:?}"
        );
    }

    #[test]
    fn a_role_reached_through_the_write_role_is_fixed_at_that_grant() {
        let mut roles = passing();
        roles.push(Reachable {
            via: vec![("power".into(), "app_writer".into())],
            ..role("power", false, &[])
        });
        let text = judge(&seen(150_000, roles.clone()), "prod", &[])
            .expect_err("refused")
            .to_string();
        assert!(text.contains("\"power\""), "{text}");
        assert!(text.contains("REVOKE power FROM app_writer;"), "{text}");
        assert!(!text.contains("FROM ops;"), "{text}");
        let text = judge(&seen(160_000, roles), "prod", &[])
            .expect_err("refused")
            .to_string();
        assert!(
            text.contains("GRANT power TO app_writer WITH SET FALSE;"),
            "{text}"
        );
    }

    #[test]
    fn admin_option_alone_is_an_extra_role() {
        let mut roles = passing();
        roles.push(Reachable {
            admin: true,
            ..role("Admins", false, &[])
        });
        let text = judge(&seen(150_000, roles), "prod", &[])
            .expect_err("refused")
            .to_string();
        assert!(
            text.contains("REVOKE ADMIN OPTION FOR \"Admins\" FROM ops;"),
            "{text}"
        );
    }

    #[test]
    fn attributes_are_refused_each_by_its_own_risk() {
        let mut roles = passing();
        roles[1].superuser = true;
        roles[2].bypassrls = true;
        let s = seen(150_000, roles);
        let found: Vec<Risk> = findings(&s).iter().map(|f| f.risk).collect();
        assert_eq!(found, [Risk::Superuser, Risk::Bypassrls]);
        let err = judge(&s, "prod", &[Risk::Superuser]).expect_err("bypassrls not accepted");
        match err {
            RoleError::Refused { findings, .. } => {
                assert_eq!(findings.len(), 1);
                assert_eq!(findings[0].risk, Risk::Bypassrls);
                assert_eq!(findings[0].fix, ["ALTER ROLE ops NOBYPASSRLS;"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(judge(&s, "prod", &[Risk::Superuser, Risk::Bypassrls]).is_ok());
    }

    #[test]
    fn functions_outside_the_transaction_are_refused_by_their_risk() {
        let mut s = seen(150_000, passing());
        s.functions = vec![
            Outside {
                signature: "public.dblink_connect(text)".into(),
                name: "dblink_connect".into(),
                executors: vec!["app_writer".into(), "ops".into()],
            },
            Outside {
                signature: "public.dblink_exec(text, text)".into(),
                name: "dblink_exec".into(),
                executors: vec!["app_writer".into(), "ops".into()],
            },
            Outside {
                signature: "pg_catalog.lo_export(oid, text)".into(),
                name: "lo_export".into(),
                executors: vec!["app_reader".into()],
            },
        ];
        s.file_roles = vec![("pg_write_server_files".into(), vec!["app_writer".into()])];
        let found = findings(&s);
        let risks: Vec<Risk> = found.iter().map(|f| f.risk).collect();
        assert_eq!(risks, [Risk::Dblink, Risk::ServerFiles, Risk::LargeObjects]);
        assert_eq!(
            found[0].fix,
            ["REVOKE EXECUTE ON FUNCTION public.dblink_connect(text), public.dblink_exec(text, text) FROM PUBLIC, app_writer, ops;"]
        );
        assert!(found[1].what.contains("pg_write_server_files"), "{found:?}");
        let accepted = judge(
            &s,
            "prod",
            &[
                Risk::LargeObjects,
                Risk::Dblink,
                Risk::ServerFiles,
                Risk::Dblink,
            ],
        )
        .expect("all accepted");
        assert_eq!(accepted.risks.len(), 3);
    }

    #[test]
    fn an_accepted_risk_that_is_absent_says_so() {
        let accepted = judge(&seen(150_000, passing()), "prod", &[Risk::Dblink]).expect("ok");
        assert_eq!(
            accepted.lines(),
            ["accepted risk dblink: not present on this server"]
        );
    }

    #[test]
    fn identifiers_are_quoted_only_when_needed() {
        assert_eq!(ident("app_writer"), "app_writer");
        assert_eq!(ident("user"), "\"user\"");
        assert_eq!(ident("Ops Team"), "\"Ops Team\"");
    }
}
