//! pgward's one integration test binary: real PostgreSQL (one throwaway cluster for the
//! run, one database per test), the real `pgward` binary, real pseudo-terminals.

mod approval;
mod approval_alone;
mod approval_page;
mod approval_service;
mod approval_util;
mod check;
mod commit;
mod completions;
mod config;
mod describe;
mod describe_psql;
mod faults;
mod guard;
mod guard_parse;
mod log;
mod output;
mod pgbouncer;
mod preview;
mod preview_truth;
mod proxy;
mod reconnect;
mod repl;
mod roles;
mod screen;
mod script;
mod server_settings;
mod standby;
mod stream;
mod term;
mod tls;
mod tls_self_signed;
mod undo;
mod util;
