//! Connecting like psql: parameters from flags, a URI or conninfo string, a service file
//! ([`service`]), the `PG*` environment variables and `~/.pgpass`; several hosts with
//! `target_session_attrs` ([`failover`]); a password prompt without echo when needed;
//! TLS with psql's `sslmode` values, client certificates and channel binding;
//! keepalives; and the cancel request behind Ctrl-C. pgward opens the socket itself
//! ([`socket`]) and puts the byte bridge ([`bridge`]) between it and tokio-postgres,
//! above TLS ([`wire`]), so no text the server sends can fail a read for not being UTF-8.

pub mod backend_key;
pub mod bridge;
pub mod client;
pub mod conninfo;
pub mod failover;
mod host_name;
pub mod options;
pub mod pgpass;
pub mod secret;
pub mod service;
pub mod socket;
pub mod tls;
pub mod tls_options;
mod unnamed;
mod unsupported;
pub mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::error::DbError;
use tokio_postgres::AsyncMessage;

pub use client::Client;
pub use wire::Wire;

pub use failover::{Endpoint, TargetAttrs};
pub use secret::Secret;
pub use tls::SslMode;
pub use tokio_postgres::config::ChannelBinding;

/// Why pgward could not connect.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// A connection string or parameter is malformed.
    #[error("invalid connection parameters: {0}")]
    Conninfo(String),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server needs a password and none could be obtained.
    #[error("password required for user {user:?}, and none was given (set it in ~/.pgpass or PGPASSWORD, or run at a terminal to be prompted)")]
    PasswordRequired {
        /// The user.
        user: String,
    },
    /// The server or the network refused.
    #[error("connection to {target} failed: {message}")]
    Connect {
        /// host:port/dbname.
        target: String,
        /// What went wrong.
        message: String,
    },
    /// No host of the list answered with the kind of session asked for.
    #[error("no host fits (target_session_attrs {attrs}): {tried}")]
    NoHost {
        /// The kind asked for.
        attrs: String,
        /// Each host, and why it was passed over.
        tried: String,
    },
    /// The server does not behave as pgward requires.
    #[error("the server at {target} is not usable: {message}")]
    Unusable {
        /// host:port/dbname.
        target: String,
        /// What is wrong.
        message: String,
    },
}

/// When to ask for a password (psql's `-w` and `-W`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordPrompt {
    /// Ask when the server wants one and none is known.
    #[default]
    Auto,
    /// Never ask (`-w`).
    Never,
    /// Ask before connecting (`-W`).
    Always,
}

/// Connection parameters given on the command line.
#[derive(Debug, Clone, Default)]
pub struct ConnFlags {
    /// `-h`.
    pub host: Option<String>,
    /// `-p`.
    pub port: Option<u16>,
    /// `-U`.
    pub user: Option<String>,
    /// `-d`: a database name, a URI or a conninfo string.
    pub dbname: Option<String>,
    /// `-w` / `-W`.
    pub prompt: PasswordPrompt,
}

/// Fully resolved connection parameters.
#[derive(Debug, Clone)]
pub struct ConnParams {
    /// Host name, address, or socket directory: what TLS verifies and pgpass matches.
    pub host: String,
    /// Numeric address to connect to instead of resolving `host` (libpq's `hostaddr`).
    pub hostaddr: Option<String>,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Database.
    pub dbname: String,
    /// Password, if known before connecting.
    pub password: Option<Secret>,
    /// TLS mode.
    pub sslmode: SslMode,
    /// Root certificate file, or `system`.
    pub sslrootcert: Option<PathBuf>,
    /// Connect timeout.
    pub connect_timeout: Option<Duration>,
    /// The password file.
    pub passfile: Option<PathBuf>,
    /// When to prompt.
    pub prompt: PasswordPrompt,
    /// Failover, client certificates, channel binding and keepalives.
    pub extras: Extras,
}

/// The libpq features beyond one host and a password.
#[derive(Debug, Clone)]
pub struct Extras {
    /// Every server to try, in order (`host=a,b`); empty: just `host`/`port`.
    pub hosts: Vec<Endpoint>,
    /// What kind of session to accept.
    pub target_session_attrs: TargetAttrs,
    /// Client certificate file (PEM); else `~/.postgresql/postgresql.crt` when present.
    pub sslcert: Option<PathBuf>,
    /// Its private key (PEM, unencrypted); else `~/.postgresql/postgresql.key`.
    pub sslkey: Option<PathBuf>,
    /// SCRAM channel binding.
    pub channel_binding: ChannelBinding,
    /// TCP keepalives.
    pub keepalives: Keepalives,
    /// The caller's `application_name` (the string or `PGAPPNAME`, else
    /// `fallback_application_name`): pgward appends it to its own, which names the author
    /// and ticket and which the probe checks.
    pub application_name: Option<String>,
    /// Session settings from `options`/`PGOPTIONS`, `PGDATESTYLE`, `PGTZ` and `PGGEQO`,
    /// applied as a user's `SET` is, in every transaction pgward opens ([`options`]).
    pub settings: Vec<options::StartupSetting>,
    /// TLS versions and SNI (`ssl_min_protocol_version`, `ssl_max_protocol_version`,
    /// `sslsni`).
    pub tls: tls_options::TlsOptions,
}

impl Default for Extras {
    fn default() -> Extras {
        Extras {
            hosts: Vec::new(),
            target_session_attrs: TargetAttrs::Any,
            sslcert: None,
            sslkey: None,
            channel_binding: ChannelBinding::Prefer,
            keepalives: Keepalives::default(),
            application_name: None,
            settings: Vec::new(),
            tls: tls_options::TlsOptions::default(),
        }
    }
}

/// libpq's `keepalives`, `keepalives_idle`, `keepalives_interval`, `keepalives_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalives {
    /// On unless `keepalives=0`.
    pub on: bool,
    /// Idle time before the first probe.
    pub idle: Option<Duration>,
    /// Time between probes.
    pub interval: Option<Duration>,
    /// Probes lost before the connection is dead.
    pub count: Option<u32>,
}

impl Default for Keepalives {
    fn default() -> Keepalives {
        Keepalives {
            on: true,
            idle: None,
            interval: None,
            count: None,
        }
    }
}

impl ConnParams {
    /// Merges, lowest precedence first: defaults, `PG*` variables (read through `var`),
    /// the environment's `url`, then the flags (whose `-d` may itself be a conninfo).
    pub fn resolve(
        url: Option<&str>,
        flags: &ConnFlags,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<ConnParams, ConnError> {
        // What was said explicitly: the environment's URL, then the flags.
        let mut explicit = std::collections::BTreeMap::new();
        if let Some(url) = url {
            explicit.extend(conninfo::parse(url)?);
        }
        if let Some(d) = &flags.dbname {
            if conninfo::is_conninfo(d) {
                explicit.extend(conninfo::parse(d)?);
            } else {
                explicit.insert("dbname".into(), d.clone());
            }
        }
        for (key, value) in [
            ("host", flags.host.clone()),
            ("port", flags.port.map(|p| p.to_string())),
            ("user", flags.user.clone()),
        ] {
            if let Some(v) = value {
                explicit.insert(key.into(), v);
            }
        }
        // libpq's order: explicit parameters, then the service's, then `PG*` variables.
        let mut kv = std::collections::BTreeMap::new();
        for (key, env) in [
            ("host", "PGHOST"),
            ("hostaddr", "PGHOSTADDR"),
            ("port", "PGPORT"),
            ("user", "PGUSER"),
            ("password", "PGPASSWORD"),
            ("dbname", "PGDATABASE"),
            ("sslmode", "PGSSLMODE"),
            ("sslrootcert", "PGSSLROOTCERT"),
            ("sslcert", "PGSSLCERT"),
            ("sslkey", "PGSSLKEY"),
            ("channel_binding", "PGCHANNELBINDING"),
            ("target_session_attrs", "PGTARGETSESSIONATTRS"),
            ("connect_timeout", "PGCONNECT_TIMEOUT"),
            ("passfile", "PGPASSFILE"),
            ("application_name", "PGAPPNAME"),
            ("client_encoding", "PGCLIENTENCODING"),
        ] {
            if let Some(v) = var(env).filter(|v| !v.is_empty()) {
                kv.insert(key.to_string(), v);
            }
        }
        let mut from_env = variables_without_fields(&var, &mut kv);
        let service = explicit
            .get("service")
            .cloned()
            .or_else(|| var("PGSERVICE").filter(|v| !v.is_empty()));
        if let Some(name) = service {
            let found = service::lookup(&name, &var)?;
            from_env.retain(|k| !found.contains_key(k));
            kv.extend(found);
        }
        from_env.retain(|k| !explicit.contains_key(k));
        kv.extend(explicit);
        kv.remove("service");
        let settings = startup_settings(&mut kv, &from_env, &var)?;
        unsupported::check(&mut kv, &from_env)?;
        requiressl(&mut kv)?;
        if kv.contains_key("sslpassword") {
            return Err(ConnError::Conninfo(
                "sslpassword is not supported: pgward reads only unencrypted client keys (decrypt one with `openssl pkey -in KEY -out KEY.plain`, mode 0600)".into(),
            ));
        }
        if let Some(encoding) = kv.remove("client_encoding") {
            check_client_encoding(&encoding)?;
        }
        let user = kv
            .remove("user")
            .unwrap_or_else(|| whoami::username().unwrap_or_else(|_| "postgres".into()));
        let hosts = failover::endpoints(
            kv.remove("host").as_deref(),
            kv.remove("hostaddr").as_deref(),
            kv.remove("port").as_deref(),
            default_host,
        )?;
        let first = hosts[0].clone();
        let seconds = |key: &str, kv: &mut std::collections::BTreeMap<String, String>| {
            kv.remove(key)
                .map(|t| {
                    t.parse::<u64>()
                        .map(Duration::from_secs)
                        .map_err(|_| ConnError::Conninfo(format!("invalid {key} {t:?} (seconds)")))
                })
                .transpose()
        };
        let connect_timeout = seconds("connect_timeout", &mut kv)?;
        let keepalives = Keepalives {
            on: match kv.remove("keepalives").as_deref() {
                None | Some("1") => true,
                Some("0") => false,
                Some(v) => {
                    return Err(ConnError::Conninfo(format!(
                        "invalid keepalives {v:?}: use 1 or 0"
                    )))
                }
            },
            idle: seconds("keepalives_idle", &mut kv)?,
            interval: seconds("keepalives_interval", &mut kv)?,
            count: kv
                .remove("keepalives_count")
                .map(|c| {
                    c.parse()
                        .map_err(|_| ConnError::Conninfo(format!("invalid keepalives_count {c:?}")))
                })
                .transpose()?,
        };
        let channel_binding = match kv.remove("channel_binding").as_deref() {
            None | Some("prefer") => ChannelBinding::Prefer,
            Some("require") => ChannelBinding::Require,
            Some("disable") => ChannelBinding::Disable,
            Some(v) => {
                return Err(ConnError::Conninfo(format!(
                    "invalid channel_binding {v:?}: use disable, prefer or require"
                )))
            }
        };
        Ok(ConnParams {
            dbname: kv.remove("dbname").unwrap_or_else(|| user.clone()),
            user,
            host: first.host,
            hostaddr: first.hostaddr,
            port: first.port,
            password: kv.remove("password").map(Secret::new),
            sslmode: match kv.remove("sslmode") {
                Some(m) => m.parse()?,
                None => SslMode::default(),
            },
            sslrootcert: kv.remove("sslrootcert").map(PathBuf::from),
            connect_timeout,
            passfile: kv
                .remove("passfile")
                .map(PathBuf::from)
                .or_else(|| dirs::home_dir().map(|h| h.join(".pgpass"))),
            prompt: flags.prompt,
            extras: Extras {
                hosts,
                target_session_attrs: match kv.remove("target_session_attrs") {
                    Some(t) => t.parse()?,
                    None => TargetAttrs::Any,
                },
                sslcert: kv.remove("sslcert").map(PathBuf::from),
                sslkey: kv.remove("sslkey").map(PathBuf::from),
                channel_binding,
                keepalives,
                application_name: kv
                    .remove("application_name")
                    .or_else(|| kv.remove("fallback_application_name"))
                    .filter(|a| !a.is_empty()),
                settings,
                tls: tls_options::TlsOptions::from_params(
                    kv.remove("ssl_min_protocol_version").as_deref(),
                    kv.remove("ssl_max_protocol_version").as_deref(),
                    kv.remove("sslsni").as_deref(),
                )?,
            },
        })
    }

    /// The application_name pgward connects with: its own (`own`, which names the author
    /// and ticket) first, so the server's 63-byte limit never cuts that part, then the
    /// caller's, as libpq would have sent it.
    pub fn application_name(&self, own: &str) -> String {
        match &self.extras.application_name {
            Some(theirs) => format!("{own} {theirs}"),
            None => own.to_string(),
        }
    }

    /// `host:port/dbname`, for messages.
    pub fn target(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.dbname)
    }
}

/// The `PG*` variables with no field of their own in [`ConnParams::resolve`]'s table:
/// `PGOPTIONS`, `PGREQUIRESSL`, the TLS versions and SNI, and those of parameters pgward
/// does not implement
/// ([`unsupported`]), added to `kv` under their keywords. Returns the keywords that
/// came from the environment, so that an error can name the variable.
fn variables_without_fields(
    var: &impl Fn(&str) -> Option<String>,
    kv: &mut std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeSet<String> {
    let mut from_env = std::collections::BTreeSet::new();
    let more = [
        ("options", "PGOPTIONS"),
        ("requiressl", "PGREQUIRESSL"),
        ("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION"),
        ("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION"),
        ("sslsni", "PGSSLSNI"),
    ];
    for (key, env) in more.into_iter().chain(unsupported::variables()) {
        if let Some(v) = var(env).filter(|v| !v.is_empty()) {
            kv.insert(key.to_string(), v);
            from_env.insert(key.to_string());
        }
    }
    from_env
}

/// The settings of `options` (or `PGOPTIONS`) and of libpq's shorthand variables
/// `PGDATESTYLE`, `PGTZ` and `PGGEQO`, later ones winning as on the server (startup
/// parameters after `options`); a setting pgward owns is an error naming it.
fn startup_settings(
    kv: &mut std::collections::BTreeMap<String, String>,
    from_env: &std::collections::BTreeSet<String>,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<options::StartupSetting>, ConnError> {
    let mut settings = match kv.remove("options") {
        Some(o) if from_env.contains("options") => options::parse(&o, "PGOPTIONS")?,
        Some(o) => options::parse(&o, "options")?,
        None => Vec::new(),
    };
    for (env, name) in [
        ("PGDATESTYLE", "datestyle"),
        ("PGTZ", "timezone"),
        ("PGGEQO", "geqo"),
    ] {
        if let Some(v) = var(env).filter(|v| !v.is_empty()) {
            settings.push(options::shorthand(name, &v, env)?);
        }
    }
    Ok(settings)
}

/// libpq's deprecated `requiressl` (`PGREQUIRESSL`): `1` is `sslmode=require` unless
/// `sslmode` is set; `0` changes nothing.
fn requiressl(kv: &mut std::collections::BTreeMap<String, String>) -> Result<(), ConnError> {
    match kv.remove("requiressl").as_deref() {
        None | Some("0") => Ok(()),
        Some("1") => {
            kv.entry("sslmode".into())
                .or_insert_with(|| "require".into());
            Ok(())
        }
        Some(v) => Err(ConnError::Conninfo(format!(
            "invalid requiressl {v:?}: use 1 (sslmode=require) or 0"
        ))),
    }
}

/// pgward's connection is UTF-8 whatever the caller asks: its splitter, quoting and probe
/// rely on it, and it writes UTF-8 to the terminal. So `client_encoding` (or
/// `PGCLIENTENCODING`) may only say so; any other encoding is an error rather than
/// silently ignored, since the terminal would then get text in an encoding it was not
/// told about. The server converts from the database's own encoding. A SQL_ASCII
/// database has none to convert from: there pgward sets `client_encoding = SQL_ASCII`
/// (see [`connect`]), the server sends the stored bytes, and the ones that are not UTF-8
/// are shown as `\xe9` ([`bridge`]).
fn check_client_encoding(encoding: &str) -> Result<(), ConnError> {
    let name: String = encoding
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if matches!(name.as_str(), "utf8" | "unicode") {
        return Ok(());
    }
    Err(ConnError::Conninfo(format!(
        "client_encoding {encoding:?} is not supported: pgward reads and writes UTF-8 (the server converts from the database's encoding; in a SQL_ASCII database, bytes that are not UTF-8 are shown as \\xe9); unset PGCLIENTENCODING or set it to UTF8"
    )))
}

/// libpq's default: the Unix socket directory when there is one, else localhost.
fn default_host(port: u16) -> String {
    ["/var/run/postgresql", "/tmp"]
        .iter()
        .find(|d| {
            std::path::Path::new(d)
                .join(format!(".s.PGSQL.{port}"))
                .exists()
        })
        .map(|d| d.to_string())
        .unwrap_or_else(|| "localhost".into())
}

/// A live connection: the client, its TLS connector (for cancel requests), the
/// server's notices, delivered in order, and the server's reason when it ends the
/// connection on its own.
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The wire ([`Wire`]): what cancel requests need (the TLS connector, the server's
    /// address), and how many bytes the byte bridge escaped.
    pub tls: Wire,
    /// NOTICE, WARNING and other non-error messages from the server.
    pub notices: mpsc::UnboundedReceiver<DbError>,
    /// What was connected to.
    pub params: ConnParams,
    /// Session settings pgward changed at connect, and why (one line each).
    pub overrides: Vec<String>,
    /// The server's `server_version_num`, read once at connect.
    pub server_version: i32,
    /// The FATAL the server sent when it ended the connection between requests.
    ended: Arc<Mutex<Option<DbError>>>,
    /// Open while the user's own statement runs ([`Connection::user_statement`]): only
    /// then are notices kept.
    pub(crate) users: Arc<AtomicBool>,
}

/// [`Connection::user_statement`] with the connection's `users` flag alone, for a caller
/// that holds other parts of the connection meanwhile (the notices, to show them while
/// the rows stream).
pub async fn as_user<F: std::future::Future>(users: &AtomicBool, request: F) -> F::Output {
    struct Close<'a>(&'a AtomicBool);
    impl Drop for Close<'_> {
        fn drop(&mut self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }
    users.store(true, Ordering::SeqCst);
    let _close = Close(users);
    request.await
}

impl Connection {
    /// Runs `request`, the user's own statement (or pgward's rewrite of it, or the
    /// COMMIT of the user's change), keeping the notices the server sends meanwhile.
    /// Notices that pgward's own queries cause (a truncated identifier named again in a
    /// catalog query, a `BEGIN` warning) are dropped: the user sees what their statement
    /// said, once, as psql would show it. The server answers in order, and the
    /// connection task hands on a notice before it hands on the answer that follows it,
    /// so the notices of a request arrive while it runs.
    pub async fn user_statement<F: std::future::Future>(&self, request: F) -> F::Output {
        as_user(&self.users, request).await
    }

    /// Why the server ended the connection, in its own words: the FATAL (with DETAIL)
    /// it sent while no request was waiting (idle_in_transaction_session_timeout,
    /// pg_terminate_backend, a shutdown). tokio-postgres ends its connection task with
    /// that error and answers the next request only with "connection closed", so the
    /// task keeps it here; also the class-57 WARNING an immediate shutdown sends.
    pub fn server_reason(&self) -> Option<DbError> {
        self.ended.lock().ok().and_then(|e| e.clone())
    }

    /// Waits until the server has answered everything sent so far, before pgward waits
    /// on a person. tokio-postgres sends some requests without awaiting their answer
    /// (closing a prepared statement); while one is outstanding, a FATAL the server
    /// sends is taken as its answer and dropped, and [`Connection::server_reason`]
    /// would never see it. One empty query settles the queue: answers come in order.
    /// A failure here is the connection's, and shows at its next use. Nothing is sent
    /// when pgward's last request was a simple query, answered, with nothing sent since
    /// ([`Client::unsettled`]): its answer already settled the queue.
    pub async fn settle(&self) {
        if self.client.unsettled() {
            let _ = self.client.batch_execute("").await;
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Connects to the first server of the host list that answers and is of the kind
/// `target_session_attrs` asks for ([`failover`]), asking for a password when the
/// server wants one and none is known. With one host and no kind asked for, its own
/// error is the error; otherwise the error names every host and why it was passed over.
pub async fn connect(params: &ConnParams, application_name: &str) -> Result<Connection, ConnError> {
    let attrs = params.extras.target_session_attrs;
    let hosts = match params.extras.hosts.as_slice() {
        [] => vec![Endpoint {
            host: params.host.clone(),
            hostaddr: params.hostaddr.clone(),
            port: params.port,
        }],
        list => list.to_vec(),
    };
    if hosts.len() == 1 && attrs == TargetAttrs::Any {
        return connect_one(params, application_name).await;
    }
    let mut passed = Vec::new();
    for pass in attrs.passes() {
        for host in &hosts {
            let one = ConnParams {
                host: host.host.clone(),
                hostaddr: host.hostaddr.clone(),
                port: host.port,
                ..params.clone()
            };
            match connect_one(&one, application_name).await {
                Ok(conn) => match session_kind(&conn).await {
                    Ok((standby, read_only)) => match pass.misfit(standby, read_only) {
                        None => return Ok(conn),
                        Some(why) => passed.push(format!("{}: {why}", one.target())),
                    },
                    Err(e) => passed.push(e.to_string()),
                },
                Err(e) => passed.push(e.to_string()),
            }
        }
    }
    Err(ConnError::NoHost {
        attrs: format!("{attrs:?}"),
        tried: passed.join("; "),
    })
}

/// Whether the session is a standby's, and read-only by default.
async fn session_kind(conn: &Connection) -> Result<(bool, bool), ConnError> {
    let rows = conn
        .client
        .simple_query(
            "SELECT pg_catalog.pg_is_in_recovery()::pg_catalog.text, pg_catalog.current_setting('transaction_read_only')",
        )
        .await
        .map_err(|e| ConnError::Unusable {
            target: conn.params.target(),
            message: with_detail(&e),
        })?;
    let row = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r),
        _ => None,
    });
    Ok((
        row.and_then(|r| r.get(0)) == Some("true"),
        row.and_then(|r| r.get(1)) == Some("on"),
    ))
}

/// Connects to the one server `params` names.
async fn connect_one(params: &ConnParams, application_name: &str) -> Result<Connection, ConnError> {
    let mut params = params.clone();
    if params.password.is_none() {
        if let Some(file) = &params.passfile {
            let found = pgpass::lookup(
                file,
                pgpass::Target {
                    host: &params.host,
                    port: params.port,
                    dbname: &params.dbname,
                    user: &params.user,
                },
            );
            if let Some(w) = found.warning {
                eprintln!("WARNING: {}", crate::render::escape::multi_line(&w));
            }
            params.password = found.password;
        }
    }
    if params.prompt == PasswordPrompt::Always {
        params.password = Some(prompt_password(&params.user)?);
    }
    match try_connect(&params, application_name).await {
        Err(Attempt::NeedsPassword)
            if params.password.is_none() && params.prompt == PasswordPrompt::Auto =>
        {
            params.password = Some(prompt_password(&params.user)?);
            try_connect(&params, application_name)
                .await
                .map_err(|a| a.into_error(&params))
        }
        other => other.map_err(|a| a.into_error(&params)),
    }
}

/// Connects again with `params` as a previous connection used them (the password that
/// worked included), never prompting: pgward reconnects on its own, to ask the server
/// what became of a transaction whose connection failed after COMMIT was sent.
pub async fn reconnect(
    params: &ConnParams,
    application_name: &str,
) -> Result<Connection, ConnError> {
    let params = ConnParams {
        prompt: PasswordPrompt::Never,
        ..params.clone()
    };
    connect(&params, application_name).await
}

fn prompt_password(user: &str) -> Result<Secret, ConnError> {
    let shown = crate::render::escape::one_line(user);
    rpassword::prompt_password(format!("Password for user {shown}: "))
        .map(Secret::new)
        .map_err(|_| ConnError::PasswordRequired { user: user.into() })
}

enum Attempt {
    NeedsPassword,
    Failed(ConnError),
}

impl Attempt {
    fn into_error(self, params: &ConnParams) -> ConnError {
        match self {
            Attempt::NeedsPassword => ConnError::PasswordRequired {
                user: params.user.clone(),
            },
            Attempt::Failed(e) => e,
        }
    }
}

async fn try_connect(params: &ConnParams, application_name: &str) -> Result<Connection, Attempt> {
    let tls = tls::connector(
        params.sslmode,
        params.sslrootcert.as_deref(),
        tls::ClientCert::choose(
            params.extras.sslcert.as_deref(),
            params.extras.sslkey.as_deref(),
        ),
        &params.extras.tls,
    )
    .map_err(Attempt::Failed)?;
    let target = socket::Target::of(params).map_err(Attempt::Failed)?;
    let mut config = tokio_postgres::Config::new();
    config
        .user(&params.user)
        .dbname(&params.dbname)
        .application_name(application_name)
        .ssl_mode(params.sslmode.negotiation())
        .channel_binding(params.extras.channel_binding);
    // No `options`: PgBouncer refuses that startup parameter. The quoting rules the
    // splitter assumes (standard_conforming_strings) are set in each transaction pgward
    // opens, and the probe checks them there.
    if let Some(p) = &params.password {
        config.password(p.expose());
    }
    let failed = |message: String| {
        Attempt::Failed(ConnError::Connect {
            target: params.target(),
            message,
        })
    };
    // The socket is pgward's own, so the byte bridge sits between it and the protocol
    // (above TLS: see `wire`); host, hostaddr, connect_timeout and keepalives apply here.
    let socket = target
        .open()
        .await
        .map_err(|e| failed(format!("error connecting to server: {e}")))?;
    let escapes = bridge::Escapes::default();
    let key = backend_key::BackendKey::default();
    let stream = bridge::Bridge::new(socket, escapes.clone()).with_key(key.clone());
    let connector = wire::BridgedTls::new(&tls, target.tls_name());
    let (client, mut connection) = config.connect_raw(stream, connector).await.map_err(|e| {
        // tokio-postgres reports a password the server asked for but the config lacks
        // as a configuration error without a SQLSTATE; nothing else reads like this.
        if e.as_db_error().is_none()
            && crate::render::error::one_line(&e).contains("password missing")
        {
            Attempt::NeedsPassword
        } else {
            failed(with_detail(&e))
        }
    })?;
    // A SQL_ASCII database has no encoding to convert from: to a UTF-8 client the
    // server sends only what is valid UTF-8, and refuses a whole statement (22021)
    // over one Latin-1 byte in a value, a name or a message. With SQL_ASCII it sends
    // the stored bytes, and the bridge shows those that are not UTF-8 as `\xe9`.
    // Nothing else changes: in a SQL_ASCII database neither setting converts pgward's
    // UTF-8 input.
    let sql_ascii = connection.parameter("server_encoding") == Some("SQL_ASCII");
    let (tx, notices) = mpsc::unbounded_channel();
    let ended = Arc::new(Mutex::new(None));
    let reason = Arc::clone(&ended);
    let users = Arc::new(AtomicBool::new(false));
    let keep = Arc::clone(&users);
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    tokio::spawn(async move {
        while let Some(message) = messages.next().await {
            match message {
                // Class 57 (operator intervention) announces the end of the
                // connection: an immediate shutdown sends it as a WARNING before it
                // closes the socket. It is the reason, shown once when the end is seen.
                Ok(AsyncMessage::Notice(n)) if n.code().code().starts_with("57") => {
                    if let Ok(mut slot) = reason.lock() {
                        slot.get_or_insert(n);
                    }
                }
                Ok(AsyncMessage::Notice(n)) if keep.load(Ordering::SeqCst) => {
                    let _ = tx.send(n);
                }
                Ok(_) => {}
                Err(e) => {
                    // Stored before the connection drops, so whoever sees it closed
                    // finds the reason.
                    if let (Some(db), Ok(mut slot)) = (e.as_db_error(), reason.lock()) {
                        slot.get_or_insert_with(|| db.clone());
                    }
                    break;
                }
            }
        }
    });
    let mut conn = Connection {
        client: client.into(),
        tls: Wire::new(tls, target, escapes, key),
        notices,
        params: params.clone(),
        overrides: Vec::new(),
        server_version: 0,
        ended,
        users,
    };
    if sql_ascii {
        conn.client
            .batch_execute("SET client_encoding = 'SQL_ASCII'")
            .await
            .map_err(|e| {
                Attempt::Failed(ConnError::Unusable {
                    target: conn.params.target(),
                    message: with_detail(&e),
                })
            })?;
    }
    let look = first_look(&conn).await.map_err(Attempt::Failed)?;
    conn.overrides = standby_isolation(&conn, look.isolation.as_deref())
        .await
        .map_err(Attempt::Failed)?;
    let (more, version) = check_server(&conn, &look).map_err(Attempt::Failed)?;
    conn.overrides.extend(more);
    conn.server_version = version;
    Ok(conn)
}

/// The server's message with its DETAIL and HINT, which say why a login was refused
/// (an expired password, too many connections, a missing pg_hba.conf entry).
pub(crate) fn with_detail(e: &tokio_postgres::Error) -> String {
    let mut s = crate::render::error::one_line(e);
    if let Some(db) = e.as_db_error() {
        for (label, value) in [("DETAIL", db.detail()), ("HINT", db.hint())] {
            if let Some(v) = value {
                s.push_str(&format!("; {label}: {v}"));
            }
        }
    }
    s
}

/// The settings a new connection is checked for first, read by one statement of
/// SHOWs: SHOW takes no snapshot, so it works even where a SELECT would fail (a hot
/// standby whose `default_transaction_isolation` is serializable).
struct FirstLook {
    /// `default_transaction_isolation`.
    isolation: Option<String>,
    /// `standard_conforming_strings`.
    conforming: Option<String>,
    /// `server_version_num`.
    version: Option<String>,
}

/// Reads the [`FirstLook`] settings, one SHOW each, in one simple query.
async fn first_look(conn: &Connection) -> Result<FirstLook, ConnError> {
    let messages = conn
        .client
        .simple_query(
            "SHOW default_transaction_isolation; SHOW standard_conforming_strings; \
             SHOW server_version_num",
        )
        .await
        .map_err(|e| ConnError::Unusable {
            target: conn.params.target(),
            message: with_detail(&e),
        })?;
    let mut values = messages.iter().filter_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
        _ => None,
    });
    Ok(FirstLook {
        isolation: values.next().flatten(),
        conforming: values.next().flatten(),
        version: values.next().flatten(),
    })
}

/// A hot standby cannot run serializable transactions, so a
/// `default_transaction_isolation = serializable` there would fail pgward's first query.
/// SHOW takes no snapshot, so it works even then ([`first_look`] read `isolation`); the
/// session default becomes REPEATABLE READ (what a standby offers instead, as the
/// server's own hint says).
async fn standby_isolation(
    conn: &Connection,
    isolation: Option<&str>,
) -> Result<Vec<String>, ConnError> {
    let show = |name: &'static str| async move {
        let rows = conn
            .client
            .simple_query(&format!("SHOW {name}"))
            .await
            .map_err(|e| ConnError::Unusable {
                target: conn.params.target(),
                message: with_detail(&e),
            })?;
        Ok::<_, ConnError>(rows.into_iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        }))
    };
    if isolation != Some("serializable") {
        return Ok(Vec::new());
    }
    // in_hot_standby exists from PostgreSQL 14; on 13 a read-only default transaction
    // is the sign (and REPEATABLE READ is harmless for pgward's own queries anyway).
    let standby = match show("in_hot_standby").await {
        Ok(v) => v.as_deref() == Some("on"),
        Err(_) => show("transaction_read_only").await?.as_deref() == Some("on"),
    };
    if !standby {
        return Ok(Vec::new());
    }
    conn.client
        .batch_execute("SET default_transaction_isolation = 'repeatable read'")
        .await
        .map_err(|e| ConnError::Unusable {
            target: conn.params.target(),
            message: with_detail(&e),
        })?;
    Ok(vec![
        "default_transaction_isolation = serializable with repeatable read for this session: a standby cannot run serializable transactions"
            .into(),
    ])
}

/// Refuses servers too old for pgward (from what [`first_look`] read); returns the
/// settings it overrides in its transactions, and the server's `server_version_num`.
fn check_server(conn: &Connection, look: &FirstLook) -> Result<(Vec<String>, i32), ConnError> {
    let unusable = |message: String| ConnError::Unusable {
        target: conn.params.target(),
        message,
    };
    if look.conforming.is_none() || look.version.is_none() {
        return Err(unusable("no answer to the settings check".into()));
    }
    let mut overrides = Vec::new();
    if look.conforming.as_deref() != Some("on") {
        overrides.push(
            "standard_conforming_strings = off: pgward sets it on in each of its transactions (its quoting rules need it)"
                .to_string(),
        );
    }
    let version: i32 = look
        .version
        .as_deref()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version < 130000 {
        return Err(unusable(format!(
            "PostgreSQL {version} is too old: pgward needs 13 or later"
        )));
    }
    Ok((overrides, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn precedence_is_env_then_url_then_flags() {
        let flags = ConnFlags {
            port: Some(7000),
            ..ConnFlags::default()
        };
        let p = ConnParams::resolve(
            Some("postgresql://app@db.example:6000/shop?sslmode=verify-full"),
            &flags,
            vars(&[
                ("PGHOST", "envhost"),
                ("PGUSER", "envuser"),
                ("PGSSLMODE", "disable"),
            ]),
        )
        .expect("resolves");
        assert_eq!(p.host, "db.example");
        assert_eq!(p.port, 7000);
        assert_eq!(p.user, "app");
        assert_eq!(p.dbname, "shop");
        assert_eq!(p.sslmode, SslMode::VerifyFull);
    }

    #[test]
    fn dbname_flag_may_be_conninfo() {
        let flags = ConnFlags {
            dbname: Some("host=h dbname=d user=u".into()),
            ..ConnFlags::default()
        };
        let p = ConnParams::resolve(None, &flags, vars(&[])).expect("resolves");
        assert_eq!(
            (p.host.as_str(), p.dbname.as_str(), p.user.as_str()),
            ("h", "d", "u")
        );
        assert_eq!(format!("{:?}", p.password), "None");
    }

    #[test]
    fn client_encoding_may_only_be_utf8() {
        let flags = ConnFlags::default();
        for ok in [
            vars(&[("PGCLIENTENCODING", "UTF8")]),
            vars(&[("PGCLIENTENCODING", "utf-8")]),
            vars(&[("PGCLIENTENCODING", "Unicode")]),
        ] {
            assert!(ConnParams::resolve(None, &flags, ok).is_ok());
        }
        let e = ConnParams::resolve(None, &flags, vars(&[("PGCLIENTENCODING", "LATIN1")]))
            .expect_err("LATIN1");
        assert!(e.to_string().contains("\"LATIN1\" is not supported"), "{e}");
        let flags = ConnFlags {
            dbname: Some("dbname=d client_encoding=WIN1252".into()),
            ..ConnFlags::default()
        };
        assert!(ConnParams::resolve(None, &flags, vars(&[])).is_err());
    }

    #[test]
    fn bad_sslmode_is_refused() {
        let flags = ConnFlags {
            dbname: Some("sslmode=verify-fulll".into()),
            ..ConnFlags::default()
        };
        assert!(ConnParams::resolve(None, &flags, vars(&[])).is_err());
    }
}
