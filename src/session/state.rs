//! The guarded transaction's states: idle, open, or failed (psql's `=>`, `=*>`, `=!>`).

/// An open guarded transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTx {
    /// The role pgward switched to.
    pub role: String,
    /// `transaction_timestamp()`, which identifies the transaction to the probe.
    pub xact_start: String,
    /// User savepoints, innermost last.
    pub savepoints: Vec<String>,
    /// Statements run in the transaction, as typed.
    pub statements: Vec<String>,
    /// The transaction runs at READ COMMITTED (or READ UNCOMMITTED).
    pub read_committed: bool,
    /// The application_name pgward set for the transaction, as the server keeps it.
    pub application_name: String,
}

impl OpenTx {
    /// A transaction just opened under `role`.
    pub fn new(role: String, xact_start: String) -> OpenTx {
        OpenTx {
            role,
            xact_start,
            savepoints: Vec::new(),
            statements: Vec::new(),
            read_committed: false,
            application_name: String::new(),
        }
    }
}

/// Where the session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxState {
    /// No transaction: reads run in their own read-only transaction.
    Idle,
    /// A guarded write transaction is open.
    Open(OpenTx),
    /// A statement failed inside the transaction; only ROLLBACK [TO] is accepted.
    Failed(OpenTx),
}

impl TxState {
    /// True when a transaction is open or failed.
    pub fn is_open(&self) -> bool {
        !matches!(self, TxState::Idle)
    }

    /// psql's prompt marker: `=>`, `=*>` or `=!>`.
    pub fn marker(&self) -> &'static str {
        match self {
            TxState::Idle => "=>",
            TxState::Open(_) => "=*>",
            TxState::Failed(_) => "=!>",
        }
    }
}
