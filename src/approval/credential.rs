//! The author's own credential for the approval service: a per-author token (minted by
//! `pgward approver author add`) read from a file or an environment variable. The service
//! takes the author from this credential, never from the request body, so nobody
//! approves their own change under a second name.

use std::path::Path;

use crate::conn::Secret;

/// Reads the credential from `file`, else from the variable `env` (read through `var`).
pub fn load(
    file: Option<&Path>,
    env: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Secret, String> {
    let (text, from) = match (file, env) {
        (Some(p), _) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if let Ok(meta) = std::fs::metadata(p) {
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(format!(
                            "approval credential file {} is readable by group or others: run chmod 600 on it",
                            p.display()
                        ));
                    }
                }
            }
            let t = std::fs::read_to_string(p).map_err(|e| {
                format!("cannot read approval credential file {}: {e}", p.display())
            })?;
            (t, p.display().to_string())
        }
        (None, Some(name)) => match var(name) {
            Some(t) => (t, format!("${name}")),
            None => {
                return Err(format!(
                    "approval credential variable ${name} is not set; export it (ask the approver's operator for a credential)"
                ))
            }
        },
        (None, None) => {
            return Err("no approval credential: set approval.credential_file or approval.credential_env".into())
        }
    };
    let token = text.trim();
    if token.is_empty() || token.len() > 200 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "approval credential in {from} is empty or malformed"
        ));
    }
    Ok(Secret::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_env_or_file() {
        let v = |k: &str| (k == "TOK").then(|| " pgw_abc\n".to_string());
        assert_eq!(load(None, Some("TOK"), v).unwrap().expose(), "pgw_abc");
        assert!(load(None, Some("NOPE"), v).is_err());
        assert!(load(None, None, v).is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c");
        std::fs::write(&p, "pgw_x\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(load(Some(&p), None, v).is_err());
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(load(Some(&p), None, v).unwrap().expose(), "pgw_x");
    }
}
