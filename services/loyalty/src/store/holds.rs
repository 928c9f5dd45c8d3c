//! Holds and the lots each reserved points from. Callers hold the account's
//! lock.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{LotRow, parse};
use crate::domain::{Hold, HoldId, HoldStatus, Lot, LotId, LoyaltyError};

/// Writes a hold and the points it reserved per lot, in one statement.
pub async fn insert(conn: &mut PgConnection, h: &Hold, lots: &[(LotId, i64)]) -> Result<(), Error> {
    let ids: Vec<Uuid> = lots.iter().map(|(id, _)| id.as_uuid()).collect();
    let points: Vec<i64> = lots.iter().map(|(_, p)| *p).collect();
    sqlx::query(
        "WITH hold AS (
             INSERT INTO loyalty.holds (hold_id, customer_id, points, captured, order_ref, status, expires_at,
                 created_at, resolved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))
         INSERT INTO loyalty.hold_lots (hold_id, lot_id, points)
         SELECT $1, m.lot_id, m.points FROM UNNEST($10::uuid[], $11::bigint[]) AS m (lot_id, points)",
    )
    .bind(h.hold_id.as_uuid())
    .bind(&h.customer_id)
    .bind(h.points)
    .bind(h.captured)
    .bind(&h.order_ref)
    .bind(h.status.as_str())
    .bind(h.expires_at)
    .bind(h.created_at)
    .bind(h.resolved_at)
    .bind(ids)
    .bind(points)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HoldRow {
    hold_id: Uuid,
    customer_id: String,
    points: i64,
    captured: i64,
    order_ref: String,
    status: String,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    lots: sqlx::types::Json<Vec<LotRow>>,
}

/// A hold with the points it reserved per lot (as [`Lot`]s of those
/// points), in one statement.
pub async fn get(conn: &mut PgConnection, hold_id: HoldId) -> Result<Option<(Hold, Vec<Lot>)>, Error> {
    let row: Option<HoldRow> = sqlx::query_as(
        "SELECT h.*, (SELECT COALESCE(json_agg(json_build_array(m.lot_id, m.points, l.expires_at, l.created_at)
                          ORDER BY m.lot_id), '[]')
                      FROM loyalty.hold_lots m JOIN loyalty.lots l ON l.lot_id = m.lot_id
                      WHERE m.hold_id = h.hold_id) AS lots
         FROM loyalty.holds h WHERE h.hold_id = $1",
    )
    .bind(hold_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let lots = r
        .lots
        .0
        .into_iter()
        .map(|(lot_id, points, expires_at, created_at)| Lot {
            lot_id: LotId::from_uuid(lot_id),
            remaining: points,
            expires_at,
            created_at,
        })
        .collect();
    let hold = Hold {
        hold_id: HoldId::from_uuid(r.hold_id),
        customer_id: r.customer_id,
        points: r.points,
        captured: r.captured,
        order_ref: r.order_ref,
        status: parse(&r.status, "hold status", HoldStatus::parse)?,
        expires_at: r.expires_at,
        created_at: r.created_at,
        resolved_at: r.resolved_at,
    };
    Ok(Some((hold, lots)))
}

/// Resolves a hold that is still held (anything else is a bug: callers
/// decide under the account lock).
pub async fn resolve(
    conn: &mut PgConnection,
    hold_id: HoldId,
    status: HoldStatus,
    captured: i64,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let updated = sqlx::query(
        "UPDATE loyalty.holds SET status = $2, captured = $3, resolved_at = $4
         WHERE hold_id = $1 AND status = 'held'",
    )
    .bind(hold_id.as_uuid())
    .bind(status.as_str())
    .bind(captured)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(LoyaltyError::Corrupt(format!("hold {hold_id} resolved twice")).into());
    }
    Ok(())
}

/// The customer's holds past their time, still held.
pub async fn due(conn: &mut PgConnection, customer_id: &str, now: DateTime<Utc>) -> Result<Vec<HoldId>, Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT hold_id FROM loyalty.holds WHERE customer_id = $1 AND status = 'held' AND expires_at <= $2
         ORDER BY expires_at, hold_id",
    )
    .bind(customer_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(HoldId::from_uuid).collect())
}
