//! The run-once question, asked inside the committing transaction before anyone is asked
//! to approve: which committed changes in this database had the same statement
//! fingerprints, and of those which were the same change, values included
//! (see [`super::fingerprint`] for why the two differ).

use crate::conn::Client;

use super::entry::COLUMNS;
use super::{ChangePrint, LedgerError, Stored};

/// Earlier commits of a change like this one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Previous {
    /// The same change, values included: running it again needs `\again`.
    pub same: Vec<Stored>,
    /// The same statement shapes with other values: shown, nothing more.
    pub same_shape: Vec<Stored>,
}

/// Looks `print` up in the ledger (every environment name: the ledger is the
/// database's, however it was reached).
pub async fn previous(client: &Client, print: &ChangePrint) -> Result<Previous, LedgerError> {
    if print.fingerprints.is_empty() {
        return Ok(Previous::default());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM pgward.ledger WHERE kind = 'commit' AND fingerprints = $1 ORDER BY id"
    );
    let rows = client
        .query(&sql, &[&print.fingerprints])
        .await
        .map_err(|e| LedgerError::server("cannot look the change up in pgward.ledger", &e))?;
    let mut found = Previous::default();
    for row in &rows {
        let stored = Stored::from_row(row)?;
        if stored.statements_digest == print.exact {
            found.same.push(stored);
        } else {
            found.same_shape.push(stored);
        }
    }
    Ok(found)
}

/// Promotion (`promote_from`): the ledger of the earlier environment `settings` is asked,
/// on a connection of its own, in `BEGIN READ ONLY` as its read role, for a committed
/// change with the same statement fingerprints. The newest such row, the same change
/// (values included) preferred; `Ok(None)` when it has none; `Err` (one line) when it
/// cannot be asked or has no ledger.
pub async fn promoted(
    settings: &crate::config::Settings,
    print: &ChangePrint,
) -> Result<Option<Stored>, String> {
    let conn = crate::conn::connect(&settings.conn, "pgward promote_from")
        .await
        .map_err(|e| e.to_string())?;
    let client = &conn.client;
    let mut begin = String::from("BEGIN READ ONLY");
    if let Some(role) = settings
        .env
        .read_role
        .as_deref()
        .or(settings.env.write_role.as_deref())
    {
        begin.push_str(&format!(
            "; SET LOCAL ROLE {}",
            crate::preview::relation::quote_ident(role)
        ));
    }
    client
        .batch_execute(&begin)
        .await
        .map_err(|e| crate::render::error::one_line(&e))?;
    let found = async {
        match super::schema::find(client)
            .await
            .map_err(|e| crate::render::error::one_line(&e))?
        {
            None => Err(format!(
                "environment {} has no {}",
                settings.env.name,
                super::schema::TABLE
            )),
            Some(_) => previous(client, print).await.map_err(|e| e.to_string()),
        }
    }
    .await;
    let _ = client.batch_execute("ROLLBACK").await;
    let found = found?;
    Ok(found.same.last().or(found.same_shape.last()).cloned())
}
