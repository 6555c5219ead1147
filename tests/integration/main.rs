//! pgward's one integration test binary: real PostgreSQL (one throwaway cluster for the
//! run, one database per test), the real `pgward` binary, real pseudo-terminals.

mod commit;
mod completions;
mod config;
mod describe;
mod faults;
mod guard;
mod preview;
mod preview_truth;
mod proxy;
mod repl;
mod roles;
mod screen;
mod script;
mod stream;
mod term;
mod tls;
mod util;
