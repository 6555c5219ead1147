//! TLS above the byte bridge, and what a connection keeps of its wire: the bridge
//! ([`super::bridge`]) must see the plaintext protocol, so it wraps the socket until
//! the server answers pgward's SSLRequest with `S`, and then the TLS stream instead
//! ([`BridgedTls`] hands the socket to tokio-postgres-rustls's connector and wraps what
//! comes back; channel binding is the TLS stream's, so `channel_binding=require` and
//! SCRAM-SHA-256-PLUS work as before). [`Wire`] keeps the TLS connector and the
//! server's address for cancel requests, which pgward sends on a socket of its own,
//! the count of bytes the bridge escaped, and the BackendKeyData's process id the
//! bridge saw ([`BackendKey`]).

use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::CancelToken;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::backend_key::BackendKey;
use super::bridge::{Bridge, Escapes};
use super::socket::{Plain, Target};

/// The TLS stream tokio-postgres-rustls makes over a socket.
type Rustls = <MakeRustlsConnect as MakeTlsConnect<Plain>>::Stream;
type RustlsConnect = <MakeRustlsConnect as MakeTlsConnect<Plain>>::TlsConnect;

/// The TLS connector that keeps the bridge above TLS.
pub struct BridgedTls(RustlsConnect);

impl BridgedTls {
    /// The connector for the server `name` (empty for a Unix socket).
    pub fn new(tls: &MakeRustlsConnect, name: &str) -> BridgedTls {
        let connect = match MakeTlsConnect::<Plain>::make_tls_connect(&mut tls.clone(), name) {
            Ok(c) => c,
            Err(never) => match never {},
        };
        BridgedTls(connect)
    }
}

impl TlsConnect<Bridge<Plain>> for BridgedTls {
    type Stream = Bridge<Rustls>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Bridge<Rustls>>> + Send>>;

    fn connect(self, stream: Bridge<Plain>) -> Self::Future {
        Box::pin(async move {
            let key = stream.backend_key().clone();
            let (socket, escapes) = stream.into_inner()?;
            let tls = self.0.connect(socket).await?;
            Ok(Bridge::new(tls, escapes).with_key(key))
        })
    }
}

/// What a connection keeps of its wire: see the module docs.
#[derive(Clone)]
pub struct Wire {
    tls: MakeRustlsConnect,
    target: Target,
    escapes: Escapes,
    key: BackendKey,
}

impl Wire {
    /// The wire of a connection to `target`.
    pub fn new(tls: MakeRustlsConnect, target: Target, escapes: Escapes, key: BackendKey) -> Wire {
        Wire {
            tls,
            target,
            escapes,
            key,
        }
    }

    /// Sends the protocol's cancel request for the query `token`'s connection runs, on
    /// a new socket to the same server, with the same TLS.
    pub async fn cancel(&self, token: &CancelToken) -> Result<(), io::Error> {
        let socket = self.target.open().await?;
        let tls = match MakeTlsConnect::<Plain>::make_tls_connect(
            &mut self.tls.clone(),
            self.target.tls_name(),
        ) {
            Ok(c) => c,
            Err(never) => match never {},
        };
        token
            .cancel_query_raw(socket, tls)
            .await
            .map_err(io::Error::other)
    }

    /// How many bytes that are not UTF-8 the bridge has shown as `\xe9` so far.
    pub fn escapes(&self) -> &Escapes {
        &self.escapes
    }

    /// The process id of the BackendKeyData that answered the startup, when one came.
    pub fn key_pid(&self) -> Option<i32> {
        self.key.pid()
    }
}
