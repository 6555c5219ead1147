//! verify-full's host name check, by libpq's rule rather than WebPKI's.
//!
//! WebPKI only reads the subjectAltName extension, so the certificate the PostgreSQL
//! docs' `openssl req -new -x509 … -subj "/CN=localhost"` recipe makes (no SAN at all)
//! never matches, while psql accepts it. libpq (15, `fe-secure-openssl.c`):
//!
//! - the host is an IP address when it parses as IPv4 or IPv6, else a DNS name;
//! - every SAN of type dNSName is compared with the host as text, case-insensitively,
//!   or as a wildcard; every SAN of type iPAddress is compared with the host's address
//!   as bytes (never matches a DNS host);
//! - the subject's first common name is compared only when no SAN of the host's own
//!   type (DNS or IP) is present and no SAN matched: with a DNS SAN, a DNS host never
//!   falls back to the CN; an IP host does, unless there is an IP SAN;
//! - a wildcard is `*.` followed by the rest of the name: `*` stands for one or more
//!   characters without a dot, so `*.example.com` matches `db.example.com` but neither
//!   `example.com` nor `a.b.example.com`;
//! - a name with an embedded NUL is refused outright.
//!
//! The chain is WebPKI's business; this file only decides the name.

use std::net::IpAddr;

use rustls::pki_types::ServerName;
use x509_parser::extensions::GeneralName;

/// Why the server's certificate does not name the host.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameMismatch {
    /// No name in the certificate matches; the names compared, each as shown.
    #[error("server certificate for {} does not match host name \"{host}\"", .examined.join(", "))]
    NoMatch { examined: Vec<String>, host: String },
    /// The certificate names nothing.
    #[error("could not get server's host name from server certificate")]
    Nameless,
    /// A name holds a NUL byte.
    #[error("SSL certificate's name contains embedded null")]
    EmbeddedNul,
    /// The certificate could not be parsed.
    #[error("could not parse the server certificate: {0}")]
    Unparsable(String),
}

impl NameMismatch {
    /// As rustls reports it: a name mismatch names the host and what the certificate
    /// holds ("certificate not valid for name "127.0.0.1"; certificate is only valid for
    /// "localhost" (subject CN)"); anything else is a bad certificate.
    pub fn into_rustls(self, server_name: &ServerName<'_>) -> rustls::Error {
        use rustls::CertificateError;
        rustls::Error::InvalidCertificate(match self {
            NameMismatch::NoMatch { examined, .. } => CertificateError::NotValidForNameContext {
                expected: server_name.to_owned(),
                presented: examined,
            },
            NameMismatch::Nameless => CertificateError::NotValidForNameContext {
                expected: server_name.to_owned(),
                presented: Vec::new(),
            },
            NameMismatch::EmbeddedNul | NameMismatch::Unparsable(_) => {
                CertificateError::Other(rustls::OtherError(std::sync::Arc::new(self)))
            }
        })
    }
}

/// A name a certificate holds, as libpq reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Name {
    /// A SAN of type dNSName.
    Dns(String),
    /// A SAN of type iPAddress, its bytes.
    Ip(Vec<u8>),
    /// A SAN of type dNSName whose text could not be read: it counts, never matches.
    BadDns,
}

/// Checks that the certificate `der` names `host` by libpq's rule.
pub fn check(der: &[u8], host: &ServerName<'_>) -> Result<(), NameMismatch> {
    let host = match host {
        ServerName::DnsName(d) => d.as_ref().to_owned(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        other => return Err(NameMismatch::Unparsable(format!("host {other:?}"))),
    };
    let (sans, cn) = names(der)?;
    matches(&sans, cn.as_deref(), &host)
}

/// The subjectAltName DNS and IP entries and the first common name of `der`.
fn names(der: &[u8]) -> Result<(Vec<Name>, Option<String>), NameMismatch> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| NameMismatch::Unparsable(e.to_string()))?;
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| NameMismatch::Unparsable(e.to_string()))?
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(s) => Some(Name::Dns((*s).to_owned())),
                    GeneralName::IPAddress(b) => Some(Name::Ip(b.to_vec())),
                    GeneralName::Invalid(tag, _) if tag.0 == 2 => Some(Name::BadDns),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let cn = cert.subject().iter_common_name().next().map(|attr| {
        attr.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|_| String::from_utf8_lossy(attr.as_slice()).into_owned())
    });
    Ok((sans, cn))
}

/// libpq's decision over the names a certificate holds (see the module docs).
fn matches(sans: &[Name], cn: Option<&str>, host: &str) -> Result<(), NameMismatch> {
    let host_ip: Option<IpAddr> = host.parse().ok();
    let mut check_cn = true;
    let mut examined: Vec<String> = Vec::new();
    for san in sans {
        let same_type = match san {
            Name::Dns(_) | Name::BadDns => host_ip.is_none(),
            Name::Ip(_) => host_ip.is_some(),
        };
        if same_type {
            check_cn = false;
        }
        let matched = match san {
            Name::Dns(name) => {
                examined.push(format!("{name:?}"));
                name_matches(name, host)?
            }
            Name::Ip(bytes) => {
                examined.push(format!("{} (IP address)", shown_ip(bytes)));
                host_ip.is_some_and(|ip| ip_bytes(ip) == *bytes)
            }
            Name::BadDns => {
                examined.push(String::from("an unreadable DNS name"));
                false
            }
        };
        if matched {
            return Ok(());
        }
    }
    if check_cn {
        if let Some(cn) = cn {
            examined.push(format!("{cn:?} (subject CN)"));
            if name_matches(cn, host)? {
                return Ok(());
            }
        }
    }
    if examined.is_empty() {
        return Err(NameMismatch::Nameless);
    }
    Err(NameMismatch::NoMatch {
        examined,
        host: host.to_owned(),
    })
}

/// A DNS SAN or CN against the host: equal ignoring ASCII case, or a wildcard match.
fn name_matches(name: &str, host: &str) -> Result<bool, NameMismatch> {
    if name.contains('\0') {
        return Err(NameMismatch::EmbeddedNul);
    }
    Ok(name.eq_ignore_ascii_case(host) || wildcard_matches(name, host))
}

/// libpq's `wildcard_certificate_match`: `*.rest` matches `x.rest` where `x` is one or
/// more characters without a dot.
fn wildcard_matches(pattern: &str, host: &str) -> bool {
    let (p, h) = (pattern.as_bytes(), host.as_bytes());
    if p.len() < 3 || !pattern.starts_with("*.") || p.len() > h.len() {
        return false;
    }
    let start = h.len() - p.len() + 1;
    if !p[1..].eq_ignore_ascii_case(&h[start..]) {
        return false;
    }
    // No dot left of where the pattern started to match.
    !h[..start].contains(&b'.')
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn shown_ip(bytes: &[u8]) -> String {
    match bytes.len() {
        4 => IpAddr::from(<[u8; 4]>::try_from(bytes).unwrap_or_default()).to_string(),
        16 => IpAddr::from(<[u8; 16]>::try_from(bytes).unwrap_or_default()).to_string(),
        _ => String::from("(invalid address)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(s: &str) -> Name {
        Name::Dns(s.to_owned())
    }

    fn ok(sans: &[Name], cn: Option<&str>, host: &str) -> bool {
        matches(sans, cn, host).is_ok()
    }

    #[test]
    fn the_common_name_counts_only_without_a_san_of_the_hosts_type() {
        // The docs' recipe: CN only.
        assert!(ok(&[], Some("localhost"), "localhost"));
        assert!(ok(&[], Some("LocalHost"), "localhost"));
        assert!(!ok(&[], Some("localhost"), "127.0.0.1"));
        // Any DNS SAN hides the CN from a DNS host.
        assert!(!ok(&[dns("other")], Some("localhost"), "localhost"));
        // ... but not from an IP host, unless there is an IP SAN.
        assert!(ok(&[dns("other")], Some("127.0.0.1"), "127.0.0.1"));
        assert!(!ok(
            &[Name::Ip(vec![10, 0, 0, 1])],
            Some("127.0.0.1"),
            "127.0.0.1"
        ));
        // An IP SAN does not hide the CN from a DNS host.
        assert!(ok(&[Name::Ip(vec![10, 0, 0, 1])], Some("db"), "db"));
    }

    #[test]
    fn ip_sans_compare_addresses_and_dns_sans_compare_text() {
        assert!(ok(&[Name::Ip(vec![127, 0, 0, 1])], None, "127.0.0.1"));
        let v6 = "::1".parse::<IpAddr>().map(ip_bytes).expect("v6");
        assert!(ok(&[Name::Ip(v6.clone())], None, "::1"));
        assert!(ok(&[Name::Ip(v6)], None, "0:0::1"));
        assert!(!ok(&[Name::Ip(vec![127, 0, 0, 1])], None, "localhost"));
        // libpq compares a DNS SAN as text even with an IP host.
        assert!(ok(&[dns("127.0.0.1")], None, "127.0.0.1"));
    }

    #[test]
    fn wildcards_stand_for_one_label() {
        assert!(ok(&[dns("*.example.com")], None, "db.example.com"));
        assert!(ok(&[dns("*.Example.COM")], None, "DB.example.com"));
        assert!(!ok(&[dns("*.example.com")], None, "example.com"));
        assert!(!ok(&[dns("*.example.com")], None, "a.b.example.com"));
        assert!(!ok(&[dns("*.example.com")], None, ".example.com"));
        assert!(!ok(&[dns("db*.example.com")], None, "db1.example.com"));
        assert!(!ok(&[dns("*")], None, "db"));
        assert!(ok(&[], Some("*.example.com"), "db.example.com"));
    }

    #[test]
    fn refusals_say_what_was_examined() {
        assert_eq!(
            matches(&[], Some("localhost"), "127.0.0.1"),
            Err(NameMismatch::NoMatch {
                examined: vec!["\"localhost\" (subject CN)".into()],
                host: "127.0.0.1".into()
            })
        );
        assert_eq!(matches(&[], None, "db"), Err(NameMismatch::Nameless));
        assert_eq!(
            matches(&[dns("a"), Name::Ip(vec![10, 0, 0, 1])], Some("db"), "db"),
            Err(NameMismatch::NoMatch {
                examined: vec!["\"a\"".into(), "10.0.0.1 (IP address)".into()],
                host: "db".into()
            })
        );
        assert_eq!(
            matches(&[dns("a\0.evil")], None, "a"),
            Err(NameMismatch::EmbeddedNul)
        );
    }

    #[test]
    fn names_are_read_from_a_real_certificate() {
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params =
            rcgen::CertificateParams::new(vec!["db.example.com".to_string()]).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        let cert = params.self_signed(&key).expect("sign");
        let (sans, cn) = names(cert.der()).expect("parse");
        assert_eq!(sans, vec![dns("db.example.com")]);
        assert_eq!(cn.as_deref(), Some("localhost"));
        let host = ServerName::try_from("localhost").expect("name");
        assert!(check(cert.der(), &host).is_err());
        let host = ServerName::try_from("db.example.com").expect("name");
        assert!(check(cert.der(), &host).is_ok());
    }
}
