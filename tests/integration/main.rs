//! pgward's one integration test binary: real PostgreSQL (one throwaway cluster for the
//! run, one database per test), the real `pgward` binary, real pseudo-terminals.

mod commit;
mod completions;
mod config;
mod describe;
mod guard;
mod pgbouncer;
mod preview;
mod preview_truth;
mod proxy;
mod repl;
mod roles;
mod screen;
mod script;
mod server_settings;
mod standby;
mod term;
mod tls;
mod tls_self_signed;
mod util;
