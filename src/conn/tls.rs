//! TLS for connections, with psql's `sslmode` values on top of rustls.
//!
//! | sslmode       | encryption          | certificate check                          |
//! |---------------|---------------------|--------------------------------------------|
//! | `disable`     | never               | —                                          |
//! | `prefer`      | if the server can   | none (as libpq without a root certificate) |
//! | `require`     | always              | none, or chain if `sslrootcert` is given   |
//! | `verify-ca`   | always              | chain to `sslrootcert`                      |
//! | `verify-full` | always              | chain to `sslrootcert` and host name        |
//!
//! The host name is checked by libpq's rule, not WebPKI's ([`super::host_name`]): a
//! certificate without a subjectAltName of the host's type is matched by its subject's
//! common name, as the docs' `-subj "/CN=localhost"` recipe needs.
//!
//! `sslrootcert` defaults to `~/.postgresql/root.crt` as in libpq; `sslrootcert=system`
//! uses the bundled Mozilla roots. A client certificate (`sslcert`/`sslkey`, else
//! `~/.postgresql/postgresql.crt` and `.key` when both are there) is offered when the
//! server asks for one; as in libpq, the key file must not be readable by group or others.
//!
//! The PostgreSQL docs' own recipe makes a self-signed server certificate with
//! `CA:TRUE` and uses it as its own root. WebPKI refuses a CA certificate as an end
//! entity (`CaUsedAsEndEntity`); OpenSSL, and so psql, accepts it. pgward accepts it only
//! when the root file holds exactly that one certificate and the server sends it alone:
//! the certificate is then pinned, its validity was checked before WebPKI stopped, the
//! handshake proves the server holds its key, and verify-full still checks the name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls_options::TlsOptions;
use super::{host_name, ConnError};

/// psql's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, unverified.
    #[default]
    Prefer,
    /// TLS always.
    Require,
    /// TLS, certificate chain verified.
    VerifyCa,
    /// TLS, chain and host name verified.
    VerifyFull,
}

impl std::str::FromStr for SslMode {
    type Err = ConnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(ConnError::Conninfo(format!(
                "invalid sslmode {other:?}: use disable, prefer, require, verify-ca or verify-full"
            )))
            }
        })
    }
}

impl SslMode {
    /// The mode tokio-postgres negotiates with; verification is ours.
    pub fn negotiation(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client certificate and its key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate (PEM; a chain may follow it).
    pub cert: PathBuf,
    /// The private key (PEM, unencrypted).
    pub key: PathBuf,
}

impl ClientCert {
    /// libpq's choice: the files named, else the default files when the certificate is
    /// there. A named certificate must exist (checked when it is loaded).
    pub fn choose(cert: Option<&Path>, key: Option<&Path>) -> Option<ClientCert> {
        let dir = dirs::home_dir().map(|h| h.join(".postgresql"));
        let cert = match cert {
            Some(c) => c.to_path_buf(),
            None => dir
                .as_ref()
                .map(|d| d.join("postgresql.crt"))
                .filter(|c| c.exists())?,
        };
        let key = match key {
            Some(k) => k.to_path_buf(),
            None => dir.map(|d| d.join("postgresql.key"))?,
        };
        Some(ClientCert { cert, key })
    }

    fn load(
        &self,
    ) -> Result<
        (
            Vec<CertificateDer<'static>>,
            rustls::pki_types::PrivateKeyDer<'static>,
        ),
        ConnError,
    > {
        let shown = |p: &Path| p.display().to_string();
        let certs = std::fs::read(&self.cert)
            .map_err(|e| {
                ConnError::Tls(format!(
                    "could not open certificate file {:?} (sslcert): {e}",
                    shown(&self.cert)
                ))
            })
            .and_then(|bytes| {
                rustls_pemfile::certs(&mut bytes.as_slice())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| {
                        ConnError::Tls(format!("bad certificate in {:?}: {e}", shown(&self.cert)))
                    })
            })?;
        if certs.is_empty() {
            return Err(ConnError::Tls(format!(
                "no certificate in {:?} (sslcert)",
                shown(&self.cert)
            )));
        }
        let meta = std::fs::metadata(&self.key).map_err(|e| {
            ConnError::Tls(format!(
                "certificate present, but not private key file {:?} (sslkey): {e}",
                shown(&self.key)
            ))
        })?;
        if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o077 != 0 {
            return Err(ConnError::Tls(format!(
                "private key file {:?} has group or world access; it must be u=rw (0600) or less",
                shown(&self.key)
            )));
        }
        let bytes = std::fs::read(&self.key).map_err(|e| {
            ConnError::Tls(format!(
                "could not read {:?} (sslkey): {e}",
                shown(&self.key)
            ))
        })?;
        let key = rustls_pemfile::private_key(&mut bytes.as_slice())
            .map_err(|e| ConnError::Tls(format!("bad key in {:?}: {e}", shown(&self.key))))?
            .ok_or_else(|| {
                ConnError::Tls(format!(
                    "no unencrypted private key in {:?} (sslkey; an encrypted key needs sslpassword, which pgward does not support)",
                    shown(&self.key)
                ))
            })?;
        Ok((certs, key))
    }
}

/// Builds the TLS connector for `mode`, the root certificate setting, the client
/// certificate and the TLS versions and SNI ([`TlsOptions`]).
pub fn connector(
    mode: SslMode,
    rootcert: Option<&Path>,
    client: Option<ClientCert>,
    options: &TlsOptions,
) -> Result<MakeRustlsConnect, ConnError> {
    let default_root = dirs::home_dir().map(|h| h.join(".postgresql/root.crt"));
    let verifying = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
    let root: Option<PathBuf> = match rootcert {
        // As libpq: only the verifying modes insist on the file; prefer and require
        // use it when it is there (and then check the chain), disable never reads it.
        Some(_) if mode == SslMode::Disable => None,
        Some(p) if verifying || p.as_os_str() == "system" || p.exists() => Some(p.to_path_buf()),
        Some(_) => None,
        None if mode == SslMode::Disable => None,
        None => default_root.filter(|p| p.exists()),
    };
    let roots = match (&root, mode) {
        (None, SslMode::VerifyCa | SslMode::VerifyFull) => {
            return Err(ConnError::Tls(format!(
                "sslmode={} needs a root certificate: set sslrootcert (or put one at ~/.postgresql/root.crt)",
                if mode == SslMode::VerifyCa { "verify-ca" } else { "verify-full" }
            )))
        }
        (Some(p), _) if p.as_os_str() == "system" => Some(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }),
        (Some(p), _) => Some(load_roots(p)?),
        (None, _) => None,
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&options.versions())
        .map_err(|e| ConnError::Tls(e.to_string()))?;
    let pinned = match &root {
        Some(p) if p.as_os_str() != "system" => sole_certificate(p)?,
        _ => None,
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (roots, mode) {
        (Some(roots), SslMode::VerifyFull) => Arc::new(Chain {
            webpki: webpki(roots)?,
            check_name: true,
            pinned,
        }),
        (Some(roots), SslMode::VerifyCa | SslMode::Require) => Arc::new(Chain {
            webpki: webpki(roots)?,
            check_name: false,
            pinned,
        }),
        // libpq: prefer/require without a root certificate encrypt but do not verify.
        (_, _) => Arc::new(Unverified(provider())),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client.filter(|_| mode != SslMode::Disable) {
        Some(client) => {
            let (certs, key) = client.load()?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| ConnError::Tls(format!("client certificate: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = options.sni;
    Ok(MakeRustlsConnect::new(config))
}

fn load_roots(path: &Path) -> Result<RootCertStore, ConnError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConnError::Tls(format!("cannot read sslrootcert {}: {e}", path.display())))?;
    let mut store = RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut bytes.as_slice()) {
        let cert = cert.map_err(|e| {
            ConnError::Tls(format!("invalid certificate in {}: {e}", path.display()))
        })?;
        store.add(cert).map_err(|e| {
            ConnError::Tls(format!("unusable certificate in {}: {e}", path.display()))
        })?;
    }
    if store.is_empty() {
        return Err(ConnError::Tls(format!(
            "sslrootcert {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(store)
}

/// The certificate of a root file that holds exactly one.
fn sole_certificate(path: &Path) -> Result<Option<CertificateDer<'static>>, ConnError> {
    let bytes = std::fs::read(path)
        .map_err(|e| ConnError::Tls(format!("cannot read sslrootcert {}: {e}", path.display())))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut bytes.as_slice())
        .filter_map(Result::ok)
        .collect();
    Ok(match <[_; 1]>::try_from(certs) {
        Ok([only]) => Some(only),
        Err(_) => None,
    })
}

/// WebPKI's verdict was only that a CA certificate is used as the end entity.
fn only_ca_as_end_entity(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => matches!(
            other.0.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

fn webpki(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>, ConnError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| ConnError::Tls(e.to_string()))
}

/// The chain must lead to a trusted root; verify-full also checks the name (verify-ca
/// and require with a root file do not). A self-signed CA certificate that is the root
/// file's only certificate is accepted as its own root (see the module docs).
#[derive(Debug)]
struct Chain {
    webpki: Arc<WebPkiServerVerifier>,
    check_name: bool,
    pinned: Option<CertificateDer<'static>>,
}

impl Chain {
    /// The chain alone: WebPKI's verdict with its name check set aside (WebPKI checks the
    /// name last, after the chain), and the pinned self-signed CA accepted as its own
    /// root. The name is [`host_name::check`]'s, by libpq's rule.
    fn chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Ok(_) => Ok(()),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(()),
            // WebPKI checked the validity period before it stopped.
            Err(e)
                if only_ca_as_end_entity(&e)
                    && intermediates.is_empty()
                    && self.pinned.as_ref().is_some_and(|p| p == end_entity) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

impl ServerCertVerifier for Chain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.chain(end_entity, intermediates, server_name, ocsp, now)?;
        if self.check_name {
            host_name::check(end_entity, server_name).map_err(|e| e.into_rustls(server_name))?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// prefer/require without a root certificate: encrypted, the certificate is not checked
/// (libpq's behaviour), but the handshake signature still is.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
