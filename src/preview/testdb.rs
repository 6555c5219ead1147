//! Test support: one throwaway cluster for all preview tests, a fresh database per test.

use std::sync::OnceLock;

use tokio_postgres::NoTls;

use crate::conn::Client;

use crate::scratch::Cluster;

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// The shared cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| Cluster::start().expect("start a scratch cluster"))
}

/// Creates database `name` (dropping a leftover of that name) and connects to it as
/// the superuser; `setup` runs first, as one batch.
pub async fn fresh(name: &str, setup: &str) -> Client {
    let cluster = cluster();
    let admin = connect(&cluster.conninfo("postgres")).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\""))
        .await
        .expect("drop a leftover test database");
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    let client = connect(&cluster.conninfo(name)).await;
    client
        .batch_execute(setup)
        .await
        .expect("set up the schema");
    client
}

/// Connects and drives the connection on the current runtime.
pub async fn connect(conninfo: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls)
        .await
        .expect("connect to the scratch cluster");
    tokio::spawn(connection);
    client.into()
}

/// The oid of table `name`, which must exist.
pub async fn oid(client: &crate::conn::Client, name: &str) -> u32 {
    crate::preview::counts::resolve_table(client, name)
        .await
        .expect("resolve")
        .expect("table exists")
        .0
}
