//! Warranty claims a visit can be booked for, as warranty's events told
//! them (never its tables).

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

/// A claim as maintenance knows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claim {
    pub claim_id: String,
    pub registration_id: Uuid,
    pub customer_id: String,
    /// Not rejected, canceled, resolved or closed.
    pub open: bool,
    /// As warranty names it ("APPROVED").
    pub status: String,
}

impl Claim {
    /// Whether a visit may be booked for it: approved, or in service.
    pub fn takes_visits(&self) -> bool {
        self.open && matches!(self.status.as_str(), "APPROVED" | "IN_SERVICE")
    }
}

/// Keeps a filed claim (once: a repeat of the event changes nothing).
pub async fn filed(
    conn: &mut PgConnection,
    claim_id: &str,
    registration_id: Uuid,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO maintenance.claims (claim_id, registration_id, customer_id, open, updated_at)
         VALUES ($1, $2, $3, true, $4) ON CONFLICT (claim_id) DO NOTHING",
    )
    .bind(claim_id)
    .bind(registration_id)
    .bind(customer_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A known claim's new status (one filed before maintenance followed
/// claims is not known, and stays so).
pub async fn set_status(
    conn: &mut PgConnection,
    claim_id: &str,
    status: &str,
    open: bool,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query("UPDATE maintenance.claims SET status = $2, open = $3, updated_at = $4 WHERE claim_id = $1")
        .bind(claim_id)
        .bind(status)
        .bind(open)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A claim; `lock`: against another booking for it at once.
pub async fn get(conn: &mut PgConnection, claim_id: &str, lock: bool) -> Result<Option<Claim>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    Ok(sqlx::query_as(&format!(
        "SELECT claim_id, registration_id, customer_id, open, status FROM maintenance.claims WHERE claim_id = $1{lock}"
    ))
    .bind(claim_id)
    .fetch_optional(&mut *conn)
    .await?)
}
