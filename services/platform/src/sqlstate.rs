//! What a Postgres error means, in one place: SQLSTATE classes and
//! constraint names. Stores turn the violations of the constraints they own
//! into domain errors with [`constraint`]; everything else goes through
//! [`to_error`] (via `From<sqlx::Error> for Error`).

use crate::error::Error;

/// Which kind of integrity constraint a statement violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintKind {
    /// 23505
    Unique,
    /// 23514
    Check,
    /// 23503
    ForeignKey,
    /// 23502
    NotNull,
    /// 23P01
    Exclusion,
}

/// A violated constraint: its kind and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraint<'a> {
    pub kind: ConstraintKind,
    pub name: &'a str,
}

/// The constraint `e` violated, if it is an integrity violation.
pub fn constraint(e: &sqlx::Error) -> Option<Constraint<'_>> {
    let db = e.as_database_error()?;
    let kind = match db.code()?.as_ref() {
        "23505" => ConstraintKind::Unique,
        "23514" => ConstraintKind::Check,
        "23503" => ConstraintKind::ForeignKey,
        "23502" => ConstraintKind::NotNull,
        "23P01" => ConstraintKind::Exclusion,
        _ => return None,
    };
    Some(Constraint {
        kind,
        name: db.constraint().unwrap_or_default(),
    })
}

/// True when `e` violated the constraint called `name`.
pub fn violates(e: &sqlx::Error, name: &str) -> bool {
    constraint(e).is_some_and(|c| c.name == name)
}

/// Whether `e` means the database cannot be reached or is going away (the
/// network, the pool, a shutdown or a restart), not that the query is wrong.
pub fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-03: admin or crash shutdown,
            // cannot connect now; 53300: too many connections.
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// The generic meaning of a database error the store did not map: an
/// unreachable database is UNAVAILABLE and a lost race (serialization
/// failure, deadlock) ABORTED, both for the client to retry; anything else
/// is INTERNAL, logged with its context and never shown.
pub fn to_error(e: sqlx::Error) -> Error {
    if is_unreachable(&e) {
        return Error::Unavailable(format!("database: {e}"));
    }
    let code = e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
    match code.as_deref() {
        Some("40001") | Some("40P01") => Error::Aborted("concurrent update; retry the request".into()),
        _ => Error::Internal(format!("database: {e}")),
    }
}
