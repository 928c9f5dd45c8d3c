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

/// The generic meaning of a database error the store did not map: a lost
/// race (serialization failure, deadlock) is ABORTED so the client retries;
/// anything else is INTERNAL, logged with its context and never shown.
pub fn to_error(e: sqlx::Error) -> Error {
    let code = e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
    match code.as_deref() {
        Some("40001") | Some("40P01") => Error::Aborted("concurrent update; retry the request".into()),
        _ => Error::Internal(format!("database: {e}")),
    }
}
