//! The connection's socket, opened by pgward rather than by tokio-postgres so that the
//! byte bridge ([`super::bridge`]) can sit between it and the protocol: a Unix socket
//! in a directory (`host=/var/run/postgresql`), or TCP to `hostaddr` when given, else to
//! each address the host name resolves to in turn, as libpq does. `connect_timeout`
//! bounds each attempt; TCP gets `TCP_NODELAY` and libpq's keepalives (on unless
//! `keepalives=0`, idle two hours unless `keepalives_idle` says otherwise). Cancel
//! requests open a socket the same way.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use super::{ConnError, ConnParams, Keepalives};

/// A socket to the server, before any TLS.
#[derive(Debug)]
pub enum Plain {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix-domain socket.
    Unix(UnixStream),
}

/// Where the server is, and how to reach it.
#[derive(Debug, Clone)]
pub struct Target {
    host: String,
    hostaddr: Option<IpAddr>,
    port: u16,
    connect_timeout: Option<Duration>,
    keepalives: Keepalives,
}

impl Target {
    /// The one server `params` names.
    pub fn of(params: &ConnParams) -> Result<Target, ConnError> {
        let hostaddr = params
            .hostaddr
            .as_ref()
            .map(|a| {
                a.parse().map_err(|_| {
                    ConnError::Conninfo(format!("hostaddr {a:?} is not a numeric IP address"))
                })
            })
            .transpose()?;
        Ok(Target {
            host: params.host.clone(),
            hostaddr,
            port: params.port,
            connect_timeout: params.connect_timeout,
            keepalives: params.extras.keepalives,
        })
    }

    /// A Unix socket directory rather than a host.
    fn is_unix(&self) -> bool {
        self.host.starts_with('/') && self.hostaddr.is_none()
    }

    /// The name TLS verifies: the host name; none for a Unix socket.
    pub fn tls_name(&self) -> &str {
        if self.host.starts_with('/') {
            ""
        } else {
            &self.host
        }
    }

    /// Opens the socket.
    pub async fn open(&self) -> io::Result<Plain> {
        if self.is_unix() {
            let path = Path::new(&self.host).join(format!(".s.PGSQL.{}", self.port));
            return timed(self.connect_timeout, UnixStream::connect(path))
                .await
                .map(Plain::Unix);
        }
        let addrs: Vec<SocketAddr> = match self.hostaddr {
            Some(ip) => vec![SocketAddr::new(ip, self.port)],
            None => tokio::net::lookup_host((self.host.as_str(), self.port))
                .await?
                .collect(),
        };
        let mut last = io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve any addresses",
        );
        for addr in addrs {
            match timed(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    if self.keepalives.on {
                        let mut keepalive = socket2::TcpKeepalive::new().with_time(
                            self.keepalives
                                .idle
                                .unwrap_or(Duration::from_secs(2 * 60 * 60)),
                        );
                        if let Some(d) = self.keepalives.interval {
                            keepalive = keepalive.with_interval(d);
                        }
                        if let Some(n) = self.keepalives.count {
                            keepalive = keepalive.with_retries(n);
                        }
                        socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
                    }
                    return Ok(Plain::Tcp(stream));
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

async fn timed<T>(
    limit: Option<Duration>,
    connect: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, connect)
            .await
            .unwrap_or_else(|_| {
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection timed out",
                ))
            }),
        None => connect.await,
    }
}

impl AsyncRead for Plain {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Plain::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Plain {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Plain::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_flush(cx),
            Plain::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Plain::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Plain::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
