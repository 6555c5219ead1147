//! libpq's connection service file: named groups of connection parameters.
//!
//! A service name comes from `service=` in the connection string or from `PGSERVICE`.
//! As in libpq, the per-user file (`PGSERVICEFILE`, else `~/.pg_service.conf`) is
//! searched first and the system-wide one (`PGSYSCONFDIR/pg_service.conf`, else
//! Debian's `/etc/postgresql-common/pg_service.conf`) only when the user file does not
//! define the service; a service defined nowhere is an error, never silently ignored.
//! Its parameters rank below the connection string and flags, above the `PG*`
//! variables (libpq's `conninfo_add_defaults`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{conninfo, ConnError};

/// Where Debian's libpq looks when `PGSYSCONFDIR` is not set.
const SYSCONFDIR: &str = "/etc/postgresql-common";

/// The parameters of service `name`, read through `var` for the `PG*` variables.
pub fn lookup(
    name: &str,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConnError> {
    let set = |k: &str| var(k).filter(|v| !v.is_empty());
    let user = match set("PGSERVICEFILE") {
        Some(f) => {
            let f = PathBuf::from(f);
            if !f.exists() {
                return Err(ConnError::Conninfo(format!(
                    "service file {:?} not found (PGSERVICEFILE)",
                    f.display().to_string()
                )));
            }
            Some(f)
        }
        None => dirs::home_dir().map(|h| h.join(".pg_service.conf")),
    };
    let system = PathBuf::from(set("PGSYSCONFDIR").unwrap_or_else(|| SYSCONFDIR.into()))
        .join("pg_service.conf");
    for file in user.iter().chain(std::iter::once(&system)) {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ConnError::Conninfo(format!(
                    "cannot read service file {:?}: {e}",
                    file.display().to_string()
                )))
            }
        };
        if let Some(found) = parse(&text, name, file)? {
            return Ok(found);
        }
    }
    Err(ConnError::Conninfo(format!(
        "definition of service {name:?} not found (searched {} and {})",
        user.map_or_else(|| "no user file".into(), |u| u.display().to_string()),
        system.display()
    )))
}

/// Service `name` in a service file's `text`: `None` when the file does not define it.
pub fn parse(
    text: &str,
    name: &str,
    file: &Path,
) -> Result<Option<BTreeMap<String, String>>, ConnError> {
    let syntax = |n: usize, why: &str| {
        ConnError::Conninfo(format!(
            "syntax error in service file {:?}, line {n}: {why}",
            file.display().to_string()
        ))
    };
    let mut found: Option<BTreeMap<String, String>> = None;
    let mut inside = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            let section = section
                .strip_suffix(']')
                .ok_or_else(|| syntax(i + 1, "unterminated [section]"))?;
            if found.is_some() {
                // The service's group ended; libpq stops at the next one.
                break;
            }
            inside = section == name;
            if inside {
                found = Some(BTreeMap::new());
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(syntax(i + 1, "expected key=value"));
        };
        if !inside {
            continue;
        }
        let key = key.trim();
        if key == "service" {
            return Err(syntax(
                i + 1,
                "nested service specifications are not supported",
            ));
        }
        if let Some(map) = found.as_mut() {
            map.insert(key.to_string(), value.trim().to_string());
        }
    }
    if let Some(map) = &found {
        conninfo::check_known(map)
            .map_err(|e| ConnError::Conninfo(format!("service {name:?}: {e}")))?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n[other]\nhost=elsewhere\n\n[shop]\nhost = db.internal\nport=6432\ndbname=shop\n[last]\nport=1\n";

    #[test]
    fn finds_its_group_only() {
        let m = parse(FILE, "shop", Path::new("f"))
            .expect("parses")
            .expect("defined");
        assert_eq!(m["host"], "db.internal");
        assert_eq!(m["port"], "6432");
        assert_eq!(m["dbname"], "shop");
        assert_eq!(m.len(), 3);
        assert!(parse(FILE, "nope", Path::new("f"))
            .expect("parses")
            .is_none());
    }

    #[test]
    fn refuses_what_libpq_refuses() {
        assert!(parse("[a]\nhost\n", "a", Path::new("f")).is_err());
        assert!(parse("[a]\nservice=b\n", "a", Path::new("f")).is_err());
        assert!(parse("[a]\nsslmod=require\n", "a", Path::new("f")).is_err());
    }

    #[test]
    fn user_file_first_then_system_and_missing_is_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let user = dir.path().join("user.conf");
        std::fs::write(&user, "[a]\nport=1\n").expect("write");
        std::fs::write(
            dir.path().join("pg_service.conf"),
            "[a]\nport=2\n[b]\nport=3\n",
        )
        .expect("write");
        let (u, d) = (user.display().to_string(), dir.path().display().to_string());
        let var = move |k: &str| match k {
            "PGSERVICEFILE" => Some(u.clone()),
            "PGSYSCONFDIR" => Some(d.clone()),
            _ => None,
        };
        assert_eq!(lookup("a", &var).expect("a")["port"], "1");
        assert_eq!(lookup("b", &var).expect("b")["port"], "3");
        assert!(lookup("c", &var).is_err());
    }
}
