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
//! `sslrootcert` defaults to `~/.postgresql/root.crt` as in libpq; `sslrootcert=system`
//! uses the bundled Mozilla roots.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::ConnError;

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

/// Builds the TLS connector for `mode` and the root certificate setting.
pub fn connector(mode: SslMode, rootcert: Option<&Path>) -> Result<MakeRustlsConnect, ConnError> {
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
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnError::Tls(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (roots, mode) {
        (Some(roots), SslMode::VerifyFull) => webpki(roots)?,
        (Some(roots), SslMode::VerifyCa | SslMode::Require) => Arc::new(ChainOnly(webpki(roots)?)),
        // libpq: prefer/require without a root certificate encrypt but do not verify.
        (_, _) => Arc::new(Unverified(provider())),
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
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

fn webpki(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>, ConnError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| ConnError::Tls(e.to_string()))
}

/// verify-ca: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
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
