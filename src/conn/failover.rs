//! Several hosts and `target_session_attrs`, as libpq handles them.
//!
//! `host=a,b port=1,2` (or a URI with several hosts) lists servers to try in order; one
//! port serves every host, otherwise there must be one per host. A host that cannot be
//! reached, or whose session is not of the kind `target_session_attrs` asks for, is
//! skipped; `prefer-standby` tries every host for a standby first, then any. The error,
//! when none fits, names each host and why. pgward checks the kind itself, after login,
//! with `pg_is_in_recovery()` and `transaction_read_only`, so every libpq value works
//! (tokio-postgres knows only `any` and `read-write`).

use super::ConnError;

/// One server to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Host name, address or socket directory.
    pub host: String,
    /// Numeric address to use instead of resolving `host`.
    pub hostaddr: Option<String>,
    /// Port.
    pub port: u16,
}

/// libpq's `target_session_attrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetAttrs {
    /// Any server.
    #[default]
    Any,
    /// A session that accepts writes by default.
    ReadWrite,
    /// A session that is read-only by default.
    ReadOnly,
    /// Not in recovery.
    Primary,
    /// In recovery (a hot standby).
    Standby,
    /// A standby if any host is one, else any.
    PreferStandby,
}

impl std::str::FromStr for TargetAttrs {
    type Err = ConnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "any" => TargetAttrs::Any,
            "read-write" => TargetAttrs::ReadWrite,
            "read-only" => TargetAttrs::ReadOnly,
            "primary" => TargetAttrs::Primary,
            "standby" => TargetAttrs::Standby,
            "prefer-standby" => TargetAttrs::PreferStandby,
            other => {
                return Err(ConnError::Conninfo(format!(
                    "invalid target_session_attrs {other:?}: use any, read-write, read-only, primary, standby or prefer-standby"
                )))
            }
        })
    }
}

impl TargetAttrs {
    /// The passes over the host list: what each pass accepts.
    pub fn passes(self) -> Vec<TargetAttrs> {
        match self {
            TargetAttrs::PreferStandby => vec![TargetAttrs::Standby, TargetAttrs::Any],
            other => vec![other],
        }
    }

    /// Why a session that is (or is not) `standby` and `read_only` does not fit, in
    /// libpq's words; `None` when it fits.
    pub fn misfit(self, standby: bool, read_only: bool) -> Option<&'static str> {
        match self {
            TargetAttrs::Any | TargetAttrs::PreferStandby => None,
            TargetAttrs::ReadWrite if read_only => Some("session is read-only"),
            TargetAttrs::ReadOnly if !read_only => Some("session is not read-only"),
            TargetAttrs::Primary if standby => Some("server is in hot standby mode"),
            TargetAttrs::Standby if !standby => Some("server is not in hot standby mode"),
            _ => None,
        }
    }
}

/// The servers to try, from the comma-separated `host`, `hostaddr` and `port` values;
/// `default_host` gives a missing host for its port.
pub fn endpoints(
    host: Option<&str>,
    hostaddr: Option<&str>,
    port: Option<&str>,
    default_host: impl Fn(u16) -> String,
) -> Result<Vec<Endpoint>, ConnError> {
    let list = |s: Option<&str>| -> Vec<String> {
        s.map(|s| s.split(',').map(|p| p.trim().to_string()).collect())
            .unwrap_or_default()
    };
    let (hosts, addrs, ports) = (list(host), list(hostaddr), list(port));
    if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
        return Err(ConnError::Conninfo(format!(
            "could not match {} host names to {} hostaddr values",
            hosts.len(),
            addrs.len()
        )));
    }
    let n = hosts.len().max(addrs.len()).max(1);
    let ports: Vec<u16> = match ports.len() {
        0 => vec![5432; n],
        1 => vec![port_number(&ports[0])?; n],
        m if m == n => ports
            .iter()
            .map(|p| port_number(p))
            .collect::<Result<_, _>>()?,
        m => {
            return Err(ConnError::Conninfo(format!(
                "could not match {m} port numbers to {n} hosts"
            )))
        }
    };
    Ok((0..n)
        .map(|i| {
            let addr = addrs.get(i).filter(|a| !a.is_empty()).cloned();
            let host = hosts
                .get(i)
                .filter(|h| !h.is_empty())
                .cloned()
                .or_else(|| addr.clone())
                .unwrap_or_else(|| default_host(ports[i]));
            Endpoint {
                host,
                hostaddr: addr,
                port: ports[i],
            }
        })
        .collect())
}

fn port_number(p: &str) -> Result<u16, ConnError> {
    if p.is_empty() {
        return Ok(5432);
    }
    p.parse()
        .map_err(|_| ConnError::Conninfo(format!("invalid port {p:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(_: u16) -> String {
        "/tmp".into()
    }

    #[test]
    fn one_port_serves_every_host_or_one_each() {
        let e = endpoints(Some("a,b"), None, Some("6432"), local).expect("ok");
        assert_eq!(
            e.iter()
                .map(|e| (e.host.as_str(), e.port))
                .collect::<Vec<_>>(),
            [("a", 6432), ("b", 6432)]
        );
        let e = endpoints(Some("a,,c"), None, Some("1,,3"), local).expect("ok");
        assert_eq!(
            e.iter()
                .map(|e| (e.host.as_str(), e.port))
                .collect::<Vec<_>>(),
            [("a", 1), ("/tmp", 5432), ("c", 3)]
        );
        assert!(endpoints(Some("a,b,c"), None, Some("1,2"), local).is_err());
        assert!(endpoints(Some("a"), None, Some("x"), local).is_err());
    }

    #[test]
    fn kinds_fit_as_libpq_says() {
        use TargetAttrs::*;
        assert_eq!(ReadWrite.misfit(false, true), Some("session is read-only"));
        assert_eq!(
            Primary.misfit(true, true),
            Some("server is in hot standby mode")
        );
        assert_eq!(Standby.misfit(true, true), None);
        assert_eq!(
            ReadOnly.misfit(false, false),
            Some("session is not read-only")
        );
        assert_eq!(PreferStandby.passes(), [Standby, Any]);
        assert!("primary".parse::<TargetAttrs>().is_ok());
        assert!("master".parse::<TargetAttrs>().is_err());
    }
}
