//! The risks an environment may accept by name (`accept_risks = ["dblink", …]`).
//!
//! At start pgward checks the role setup on the server (`session::roles`): what the login
//! can become, the roles' attributes, and the functions they can execute that act outside
//! the transaction. Each finding belongs to one risk; an environment opens only when every
//! finding's risk is accepted here, one by one, so nobody accepts "everything" by accident.
//! The ids are part of the configuration interface, documented in
//! `config/pgward.example.toml` and `docs/refused.md`.

use std::fmt;

use serde::Deserialize;

/// One risk of the role setup, by the id the config file names it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// The login can become (SET ROLE) roles beyond the read and write roles and what
    /// they can become themselves.
    ExtraRoles,
    /// A role the login can become is superuser.
    Superuser,
    /// A role the login can become has CREATEROLE.
    Createrole,
    /// A role the login can become has BYPASSRLS.
    Bypassrls,
    /// A role the login can become can execute dblink functions: a second connection
    /// whose writes commit on their own.
    Dblink,
    /// A role the login can become can execute postgres_fdw's functions.
    PostgresFdw,
    /// A role the login can become can read, list or write server files
    /// (`pg_read_file`, `pg_ls_dir`, adminpack's `pg_file_write`, the
    /// `pg_read_server_files`/`pg_write_server_files`/`pg_execute_server_program` roles).
    ServerFiles,
    /// A role the login can become can execute the server-side `lo_import`/`lo_export`,
    /// which read and write server files.
    LargeObjects,
}

impl Risk {
    /// Every risk, in the order findings are reported.
    pub const ALL: [Risk; 8] = [
        Risk::ExtraRoles,
        Risk::Superuser,
        Risk::Createrole,
        Risk::Bypassrls,
        Risk::Dblink,
        Risk::PostgresFdw,
        Risk::ServerFiles,
        Risk::LargeObjects,
    ];

    /// The id the config file uses.
    pub fn id(self) -> &'static str {
        match self {
            Risk::ExtraRoles => "extra_roles",
            Risk::Superuser => "superuser",
            Risk::Createrole => "createrole",
            Risk::Bypassrls => "bypassrls",
            Risk::Dblink => "dblink",
            Risk::PostgresFdw => "postgres_fdw",
            Risk::ServerFiles => "server_files",
            Risk::LargeObjects => "large_objects",
        }
    }

    /// Why it matters, in one line.
    pub fn why(self) -> &'static str {
        match self {
            Risk::ExtraRoles => {
                "dynamic SQL can switch to such a role, act with its rights and switch back before the probe looks"
            }
            Risk::Superuser => "a superuser bypasses every check the database makes",
            Risk::Createrole => "CREATEROLE can grant itself other roles and create new ones",
            Risk::Bypassrls => "BYPASSRLS ignores row-level security policies",
            Risk::Dblink => {
                "dblink opens a second connection whose writes commit whatever pgward's transaction does"
            }
            Risk::PostgresFdw => "postgres_fdw reaches other servers from inside the transaction",
            Risk::ServerFiles => {
                "server files are read or written outside any transaction, and no ROLLBACK undoes it"
            }
            Risk::LargeObjects => {
                "server-side lo_import/lo_export read and write server files outside any transaction"
            }
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_toml() {
        #[derive(Deserialize)]
        struct T {
            r: Vec<Risk>,
        }
        let ids: Vec<String> = Risk::ALL.iter().map(|r| format!("{:?}", r.id())).collect();
        let t: T = toml::from_str(&format!("r = [{}]", ids.join(", "))).expect("parses");
        assert_eq!(t.r, Risk::ALL);
        assert!(toml::from_str::<T>("r = [\"everything\"]").is_err());
    }
}
