//! Products' meters (hours, cycles, km), as last reported.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

/// A product's meter reading, as last reported (`lock`: for a new one).
pub async fn reading(
    conn: &mut PgConnection,
    registration: Uuid,
    meter: &str,
    lock: bool,
) -> Result<Option<i64>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    Ok(sqlx::query_scalar(&format!(
        "SELECT value FROM maintenance.meters WHERE registration_id = $1 AND meter = $2{lock}"
    ))
    .bind(registration)
    .bind(meter)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Writes a meter reading; `false` when a higher one was written first
/// (a reading never goes down, whatever the order of two reports).
pub async fn put(
    conn: &mut PgConnection,
    registration: Uuid,
    meter: &str,
    value: i64,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let written = sqlx::query(
        "INSERT INTO maintenance.meters (registration_id, meter, value, reported_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (registration_id, meter) DO UPDATE SET value = EXCLUDED.value, reported_at = EXCLUDED.reported_at
             WHERE meters.value <= EXCLUDED.value",
    )
    .bind(registration)
    .bind(meter)
    .bind(value)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}
