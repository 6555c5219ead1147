//! The password file (`~/.pgpass`, or `$PGPASSFILE`), read as libpq reads it.
//!
//! Lines are `hostname:port:database:username:password`; `*` matches anything, `\:` and
//! `\\` escape, `#` starts a comment line. As in libpq, a file readable by group or others
//! is ignored with a warning, and a Unix-socket host matches the name `localhost`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::Secret;

/// What to match a password file line against.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Host name, or a socket directory (starting with `/`).
    pub host: &'a str,
    /// Port.
    pub port: u16,
    /// Database name.
    pub dbname: &'a str,
    /// User name.
    pub user: &'a str,
}

/// Result of a lookup: maybe a password, maybe a warning for the user.
#[derive(Debug, Default)]
pub struct Lookup {
    /// The password of the first matching line.
    pub password: Option<Secret>,
    /// Why the file was ignored, if it was.
    pub warning: Option<String>,
}

/// Looks `target` up in the file at `path`. A missing file is not an error.
pub fn lookup(path: &Path, target: Target<'_>) -> Lookup {
    let Ok(meta) = std::fs::metadata(path) else {
        return Lookup::default();
    };
    if !meta.is_file() {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file {} is not a plain file",
                path.display()
            )),
        };
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file {} has group or world access; permissions should be u=rw (0600) or less; ignoring it",
                path.display()
            )),
        };
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Lookup::default();
    };
    Lookup {
        password: find(&text, target),
        warning: None,
    }
}

/// Finds the password for `target` in the text of a password file.
pub fn find(text: &str, target: Target<'_>) -> Option<Secret> {
    let host = if target.host.starts_with('/') {
        "localhost"
    } else {
        target.host
    };
    let port = target.port.to_string();
    let wanted = [host, port.as_str(), target.dbname, target.user];
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .find_map(|line| {
            let fields = fields(line);
            if fields.len() < 5 {
                return None;
            }
            let matches = wanted
                .iter()
                .zip(&fields)
                .all(|(want, field)| field == "*" || field == want);
            matches.then(|| Secret::new(fields[4..].join(":")))
        })
}

fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.trim_end_matches('\r').chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(n);
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# comment\n\
        db.example:5432:shop:alice:first\n\
        *:*:shop:bob:with\\:colon:and more\n\
        localhost:5433:*:*:socket\n";

    fn pw(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
        find(
            FILE,
            Target {
                host,
                port,
                dbname: db,
                user,
            },
        )
        .map(|s| s.expose().to_string())
    }

    #[test]
    fn matches_like_libpq() {
        assert_eq!(
            pw("db.example", 5432, "shop", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            pw("other", 1, "shop", "bob").as_deref(),
            Some("with:colon:and more")
        );
        assert_eq!(
            pw("/var/run/postgresql", 5433, "x", "y").as_deref(),
            Some("socket")
        );
        assert_eq!(pw("db.example", 5432, "shop", "mallory"), None);
    }

    #[test]
    fn ignores_world_readable_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pgpass");
        std::fs::write(&path, FILE).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let t = Target {
            host: "db.example",
            port: 5432,
            dbname: "shop",
            user: "alice",
        };
        let l = lookup(&path, t);
        assert!(l.password.is_none());
        assert!(l.warning.is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(
            lookup(&path, t)
                .password
                .map(|s| s.expose().to_string())
                .as_deref(),
            Some("first")
        );
    }
}
