//! libpq's `ssl_min_protocol_version`, `ssl_max_protocol_version` and `sslsni` (and
//! their `PG*` variables), as rustls settings.
//!
//! rustls speaks TLS 1.2 and 1.3 only. A minimum of `TLSv1` or `TLSv1.1` therefore means
//! TLS 1.2 (libpq's own default minimum), which is stricter, never weaker; a maximum below
//! TLS 1.2 cannot be honoured and is an error naming it, as is a minimum above the
//! maximum (libpq: "invalid SSL protocol version range"). `sslsni=0` sends no host name
//! in the handshake. Values are case-insensitive, as libpq's.

use rustls::SupportedProtocolVersion;

use super::ConnError;

/// The TLS versions and SNI a connection uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept TLS 1.2.
    pub tls12: bool,
    /// Accept TLS 1.3.
    pub tls13: bool,
    /// Send the host name (SNI).
    pub sni: bool,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions {
            tls12: true,
            tls13: true,
            sni: true,
        }
    }
}

/// A protocol version as libpq names it: 0 for TLSv1 … 3 for TLSv1.3.
fn version(key: &str, value: &str) -> Result<u8, ConnError> {
    match value.to_ascii_lowercase().as_str() {
        "tlsv1" => Ok(0),
        "tlsv1.1" => Ok(1),
        "tlsv1.2" => Ok(2),
        "tlsv1.3" => Ok(3),
        _ => Err(ConnError::Conninfo(format!(
            "invalid {key} {value:?}: use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3"
        ))),
    }
}

impl TlsOptions {
    /// From the parameters' values, each `None` when not given (an empty maximum is no
    /// maximum, as in libpq).
    pub fn from_params(
        min: Option<&str>,
        max: Option<&str>,
        sni: Option<&str>,
    ) -> Result<TlsOptions, ConnError> {
        let min = min
            .map(|v| version("ssl_min_protocol_version", v))
            .transpose()?
            .unwrap_or(2);
        let max = max
            .filter(|v| !v.is_empty())
            .map(|v| version("ssl_max_protocol_version", v))
            .transpose()?
            .unwrap_or(3);
        if max < 2 {
            return Err(ConnError::Conninfo(format!(
                "ssl_max_protocol_version TLSv1{} is not supported: pgward speaks TLS 1.2 and 1.3 only; use TLSv1.2 or TLSv1.3",
                if max == 1 { ".1" } else { "" }
            )));
        }
        if min > max {
            return Err(ConnError::Conninfo(
                "invalid SSL protocol version range: ssl_min_protocol_version is above ssl_max_protocol_version".into(),
            ));
        }
        let sni = match sni {
            None | Some("1") => true,
            Some("0") => false,
            Some(v) => {
                return Err(ConnError::Conninfo(format!(
                    "invalid sslsni {v:?}: use 1 or 0"
                )))
            }
        };
        Ok(TlsOptions {
            tls12: min <= 2,
            tls13: max >= 3,
            sni,
        })
    }

    /// The rustls versions to offer.
    pub fn versions(&self) -> Vec<&'static SupportedProtocolVersion> {
        let mut v = Vec::new();
        if self.tls13 {
            v.push(&rustls::version::TLS13);
        }
        if self.tls12 {
            v.push(&rustls::version::TLS12);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(min: Option<&str>, max: Option<&str>) -> Result<(bool, bool), String> {
        TlsOptions::from_params(min, max, None)
            .map(|o| (o.tls12, o.tls13))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn libpqs_range_as_rustls_versions() {
        assert_eq!(opts(None, None), Ok((true, true)));
        assert_eq!(opts(Some("TLSv1"), None), Ok((true, true)));
        assert_eq!(opts(Some("tlsv1.3"), None), Ok((false, true)));
        assert_eq!(opts(None, Some("TLSv1.2")), Ok((true, false)));
        assert_eq!(opts(None, Some("")), Ok((true, true)));
        assert!(opts(Some("TLSv1.3"), Some("TLSv1.2"))
            .unwrap_err()
            .contains("range"));
        assert!(opts(None, Some("TLSv1.1"))
            .unwrap_err()
            .contains("ssl_max_protocol_version TLSv1.1"));
        assert!(opts(Some("SSLv3"), None)
            .unwrap_err()
            .contains("ssl_min_protocol_version"));
        assert!(!TlsOptions::from_params(None, None, Some("0")).unwrap().sni);
    }
}
