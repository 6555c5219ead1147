//! The sample shop behind `pgward demo`.
//!
//! [`prepare`] starts a throwaway cluster ([`crate::scratch`]), creates the database
//! `shop` in it and loads `shop.sql`: customers, orders, order items and products with
//! deterministic data, an `audit_log` kept by a SECURITY DEFINER trigger, and the roles
//! pgward is meant to work with: a login role (`shop_login`, NOINHERIT, so it holds no
//! table privileges itself) that may only `SET ROLE` to a least-privilege writer or
//! reader role. The returned [`DemoTarget`] owns the cluster: dropping it removes
//! everything.

use std::fmt;

use tokio_postgres::{Client, NoTls};

use crate::scratch::{Cluster, ScratchError};

/// The schema, data, roles and grants of the demo shop.
pub const SHOP_SQL: &str = include_str!("shop.sql");
/// The database the demo shop lives in.
pub const DATABASE: &str = "shop";
/// The login role the demo shell connects as.
pub const LOGIN_ROLE: &str = "shop_login";
/// The password of [`LOGIN_ROLE`], as set in `shop.sql` (it is a throwaway demo).
pub const LOGIN_PASSWORD: &str = "demo";
/// The least-privilege role writes run as.
pub const WRITE_ROLE: &str = "shop_writer";
/// The read-only role reads run as.
pub const READ_ROLE: &str = "shop_reader";

/// A running demo shop and how to connect to it.
pub struct DemoTarget {
    /// The cluster; dropping the target stops and removes it.
    pub cluster: Cluster,
    /// The loopback host.
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// The database, "shop".
    pub dbname: String,
    /// The login role, "shop_login" (password authentication over TCP).
    pub user: String,
    /// The login role's password.
    pub password: String,
    /// The role writes run as, "shop_writer".
    pub write_role: String,
    /// The role reads run as, "shop_reader".
    pub read_role: String,
}

impl fmt::Debug for DemoTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoTarget")
            .field("cluster", &self.cluster)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("dbname", &self.dbname)
            .field("user", &self.user)
            .field("password", &"(redacted)")
            .field("write_role", &self.write_role)
            .field("read_role", &self.read_role)
            .finish()
    }
}

/// Why the demo shop could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The throwaway cluster did not start.
    #[error("could not start the demo's PostgreSQL cluster: {0}")]
    Cluster(#[from] ScratchError),
    /// The blocking start-up task panicked or was cancelled.
    #[error("the demo cluster's start-up task did not finish: {0}")]
    StartTask(#[from] tokio::task::JoinError),
    /// A SQL step against the demo cluster failed.
    #[error("could not {step}: {summary}")]
    Sql {
        /// What we were doing, e.g. "create the database shop".
        step: &'static str,
        /// The server's message on one line, with its SQLSTATE.
        summary: String,
        /// The driver's error (SQLSTATE via `as_db_error`).
        #[source]
        source: tokio_postgres::Error,
    },
}

impl DemoError {
    fn sql(step: &'static str) -> impl FnOnce(tokio_postgres::Error) -> DemoError {
        move |source| DemoError::Sql {
            step,
            summary: one_line(&source),
            source,
        }
    }
}

/// A driver error as one line: the server's message and SQLSTATE when there is one
/// (the driver's own Display says only "db error").
fn one_line(err: &tokio_postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        ),
        None => match std::error::Error::source(err) {
            Some(cause) => format!("{err}: {cause}"),
            None => err.to_string(),
        },
    }
}

/// Starts a throwaway cluster and loads the demo shop into it.
pub async fn prepare() -> Result<DemoTarget, DemoError> {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await??;

    let admin = connect(&cluster.conninfo("postgres"), "connect to the demo cluster").await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await
        .map_err(DemoError::sql("create the database shop"))?;
    drop(admin);

    let shop = connect(&cluster.conninfo(DATABASE), "connect to the database shop").await?;
    shop.batch_execute(SHOP_SQL)
        .await
        .map_err(DemoError::sql("load the demo shop (shop.sql)"))?;
    drop(shop);

    Ok(DemoTarget {
        host: cluster.host().to_owned(),
        port: cluster.port(),
        cluster,
        dbname: DATABASE.to_owned(),
        user: LOGIN_ROLE.to_owned(),
        password: LOGIN_PASSWORD.to_owned(),
        write_role: WRITE_ROLE.to_owned(),
        read_role: READ_ROLE.to_owned(),
    })
}

/// Connects without TLS (the cluster is on loopback) and drives the connection on
/// a background task, which ends when the client is dropped.
async fn connect(conninfo: &str, step: &'static str) -> Result<Client, DemoError> {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls)
        .await
        .map_err(DemoError::sql(step))?;
    tokio::spawn(connection);
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_postgres::error::SqlState;

    /// Connects as the login role with its password over TCP.
    async fn login(target: &DemoTarget) -> Client {
        let conninfo = format!(
            "host={} port={} dbname={} user={} password={}",
            target.host, target.port, target.dbname, target.user, target.password
        );
        let (client, connection) = tokio_postgres::connect(&conninfo, NoTls)
            .await
            .expect("password login as shop_login");
        tokio::spawn(connection);
        client
    }

    fn code(err: &tokio_postgres::Error) -> Option<&SqlState> {
        err.code()
    }

    async fn count(client: &Client, sql: &str) -> i64 {
        client.query_one(sql, &[]).await.expect(sql).get(0)
    }

    #[tokio::test]
    async fn demo_shop_enforces_roles_cascades_and_audits() {
        let target = prepare().await.expect("prepare the demo");
        assert_eq!(target.dbname, "shop");
        assert_eq!(target.user, "shop_login");
        assert_eq!(target.write_role, "shop_writer");
        assert_eq!(target.read_role, "shop_reader");
        assert!(!format!("{target:?}").contains(&format!("\"{}\"", target.password)));

        // A wrong password is refused (scram over TCP, not trust).
        let wrong = format!(
            "host={} port={} dbname=shop user=shop_login password=wrong",
            target.host, target.port
        );
        assert!(tokio_postgres::connect(&wrong, NoTls).await.is_err());

        let client: crate::conn::Client = login(&target).await.into();

        // The demo's roles pass pgward's role check with nothing to accept.
        let env = crate::config::EnvSettings::new(
            "demo",
            &crate::config::Environment::ad_hoc(
                Some(target.write_role.clone()),
                Some(target.read_role.clone()),
            ),
        );
        let accepted = crate::session::roles::check(&client, &env)
            .await
            .expect("the demo passes the role check");
        assert!(accepted.lines().is_empty(), "{accepted:?}");

        // NOINHERIT: no privileges of its own before SET ROLE.
        let err = client
            .query_one("SELECT count(*) FROM customers", &[])
            .await
            .expect_err("shop_login must not read customers directly");
        assert_eq!(code(&err), Some(&SqlState::INSUFFICIENT_PRIVILEGE));

        client
            .batch_execute("SET ROLE shop_writer")
            .await
            .expect("SET ROLE shop_writer");
        assert_eq!(count(&client, "SELECT count(*) FROM customers").await, 1000);
        assert_eq!(count(&client, "SELECT count(*) FROM orders").await, 5000);
        assert_eq!(
            count(&client, "SELECT count(*) FROM order_items").await,
            15000
        );
        assert_eq!(count(&client, "SELECT count(*) FROM audit_log").await, 0);
        // Totals are consistent with the items.
        let mismatched = count(
            &client,
            "SELECT count(*) FROM orders o WHERE total <> \
             (SELECT sum(quantity * unit_price) FROM order_items i WHERE i.order_id = o.id)",
        )
        .await;
        assert_eq!(mismatched, 0);

        // The writer cannot touch the audit log directly.
        let err = client
            .batch_execute("DELETE FROM audit_log")
            .await
            .expect_err("audit_log must not be writable by shop_writer");
        assert_eq!(code(&err), Some(&SqlState::INSUFFICIENT_PRIVILEGE));

        // Deleting a customer cascades to orders and items; the trigger logs it.
        let victim: i64 = client
            .query_one(
                "SELECT customer_id FROM orders GROUP BY customer_id ORDER BY customer_id LIMIT 1",
                &[],
            )
            .await
            .expect("a customer with orders")
            .get(0);
        let orders: i64 = client
            .query_one(
                "SELECT count(*) FROM orders WHERE customer_id = $1",
                &[&victim],
            )
            .await
            .expect("count orders")
            .get(0);
        assert!(orders > 0);
        let deleted = client
            .execute("DELETE FROM customers WHERE id = $1", &[&victim])
            .await
            .expect("delete a customer as shop_writer");
        assert_eq!(deleted, 1);
        let left: i64 = client
            .query_one(
                "SELECT (SELECT count(*) FROM orders WHERE customer_id = $1) \
                      + (SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id \
                         WHERE o.customer_id = $1)",
                &[&victim],
            )
            .await
            .expect("count leftovers")
            .get(0);
        assert_eq!(left, 0);
        assert!(count(&client, "SELECT count(*) FROM order_items").await < 15000);
        let rows = client
            .query(
                "SELECT table_name, op, count(*), min(changed_by), min(login_user) \
                 FROM audit_log GROUP BY 1, 2 ORDER BY 1, 2",
                &[],
            )
            .await
            .expect("read audit_log");
        let summary: Vec<(String, String, i64, String, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        let writer = || "shop_writer".to_owned();
        let login_user = || "shop_login".to_owned();
        assert_eq!(
            summary,
            vec![
                (
                    "customers".into(),
                    "DELETE".into(),
                    1,
                    writer(),
                    login_user()
                ),
                (
                    "orders".into(),
                    "DELETE".into(),
                    orders,
                    writer(),
                    login_user()
                ),
            ]
        );
        let logged_row: Option<i64> = client
            .query_one(
                "SELECT row_id FROM audit_log WHERE table_name = 'customers'",
                &[],
            )
            .await
            .expect("audit row")
            .get(0);
        assert_eq!(logged_row, Some(victim));

        // New rows get ids past the seeded ones.
        let new_id: i64 = client
            .query_one(
                "INSERT INTO customers (email, name, country) \
                 VALUES ('new@example.com', 'New Customer', 'DE') RETURNING id",
                &[],
            )
            .await
            .expect("insert a customer as shop_writer")
            .get(0);
        assert!(new_id > 1000);

        // The reader reads but cannot write.
        client
            .batch_execute("SET ROLE shop_reader")
            .await
            .expect("SET ROLE shop_reader");
        assert!(count(&client, "SELECT count(*) FROM customers").await > 0);
        let err = client
            .execute("UPDATE customers SET name = name WHERE id = $1", &[&new_id])
            .await
            .expect_err("shop_reader must not update");
        assert_eq!(code(&err), Some(&SqlState::INSUFFICIENT_PRIVILEGE));

        // Nobody but the owner may create objects in public.
        client
            .batch_execute("RESET ROLE")
            .await
            .expect("RESET ROLE");
        let err = client
            .batch_execute("CREATE TABLE public.sneaky (id int)")
            .await
            .expect_err("shop_login must not create tables");
        assert_eq!(code(&err), Some(&SqlState::INSUFFICIENT_PRIVILEGE));
    }
}
