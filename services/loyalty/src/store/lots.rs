//! Lots: created by earnings and credits, spent and expired earliest first,
//! matured on time. Callers hold the account's lock.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{EXPIRING_SOON_DAYS, EntryId, Lot, LotId, OrderLot};

/// A lot to create for an order line.
pub struct NewOrderLot {
    pub lot_id: LotId,
    pub line_id: String,
    pub units: i32,
    /// Before the tier's multiplier.
    pub base: i64,
    pub points: i64,
}

fn moves(rows: Vec<(Uuid, i64)>) -> Vec<(LotId, i64)> {
    rows.into_iter().map(|(id, p)| (LotId::from_uuid(id), p)).collect()
}

/// Creates an order's pending lots, once per line: lines that already have
/// a lot (a replayed event) are skipped. Returns the lots created.
pub async fn insert_order_lots(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    lots: &[NewOrderLot],
    placed_at: DateTime<Utc>,
    matures_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<(LotId, i64)>, Error> {
    let ids: Vec<Uuid> = lots.iter().map(|l| l.lot_id.as_uuid()).collect();
    let lines: Vec<&str> = lots.iter().map(|l| l.line_id.as_str()).collect();
    let points: Vec<i64> = lots.iter().map(|l| l.points).collect();
    let units: Vec<i32> = lots.iter().map(|l| l.units).collect();
    let base: Vec<i64> = lots.iter().map(|l| l.base).collect();
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "INSERT INTO loyalty.lots (lot_id, customer_id, source, order_id, line_id, units, base, earned, remaining,
             state, matures_at, created_at, placed_at)
         SELECT l.lot_id, $1, 'order', $2, l.line_id, l.units, l.base, l.points, l.points, 'pending', $6, $7, $10
         FROM UNNEST($3::uuid[], $4::text[], $5::bigint[], $8::int[], $9::bigint[]) AS l (lot_id, line_id, points,
             units, base)
         ON CONFLICT (order_id, line_id) WHERE source = 'order' DO NOTHING
         RETURNING lot_id, earned",
    )
    .bind(customer_id)
    .bind(order_id)
    .bind(ids)
    .bind(lines)
    .bind(points)
    .bind(matures_at)
    .bind(now)
    .bind(units)
    .bind(base)
    .bind(placed_at)
    .fetch_all(&mut *conn)
    .await?;
    Ok(moves(rows))
}

/// Creates an available lot (a grant or a positive adjustment).
pub async fn insert_credit(
    conn: &mut PgConnection,
    customer_id: &str,
    source: &str,
    lot_id: LotId,
    points: i64,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loyalty.lots (lot_id, customer_id, source, earned, remaining, state, matures_at, expires_at,
             created_at)
         VALUES ($1, $2, $3, $4, $4, 'available', $5, $6, $5)",
    )
    .bind(lot_id.as_uuid())
    .bind(customer_id)
    .bind(source)
    .bind(points)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves the maturity of an order's still-pending lots of `line_ids`; its
/// campaign bonus matures with the last of them (only ever moved later).
pub async fn set_maturity(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    line_ids: &[String],
    matures_at: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE loyalty.lots SET matures_at = $3
         WHERE order_id = $1 AND state = 'pending' AND customer_id = $4 AND source = 'order'
           AND line_id = ANY ($2)",
    )
    .bind(order_id)
    .bind(line_ids)
    .bind(matures_at)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    // In a statement of its own, to see the lines' new maturity.
    sqlx::query(
        "UPDATE loyalty.lots b SET matures_at = (
             SELECT max(l.matures_at) FROM loyalty.lots l
             WHERE l.order_id = b.order_id AND l.source = 'order' AND l.state <> 'closed')
         WHERE b.order_id = $1 AND b.customer_id = $2 AND b.source = 'bonus' AND b.state = 'pending'",
    )
    .bind(order_id)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Voids an order's pending lots: the points they had left.
pub async fn void_order_lots(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
) -> Result<Vec<(LotId, i64)>, Error> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "WITH due AS (
             SELECT lot_id, remaining FROM loyalty.lots
             WHERE order_id = $1 AND customer_id = $2 AND state = 'pending' FOR UPDATE)
         UPDATE loyalty.lots l SET state = 'closed', remaining = 0 FROM due
         WHERE l.lot_id = due.lot_id
         RETURNING l.lot_id, due.remaining",
    )
    .bind(order_id)
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(moves(rows))
}

/// The customer's lots that can be spent now, earliest expiry first, as few
/// as cover `points` (all of them when they do not).
pub async fn spendable(
    conn: &mut PgConnection,
    customer_id: &str,
    points: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Lot>, Error> {
    let rows: Vec<super::LotRow> = sqlx::query_as(
        "SELECT lot_id, remaining, expires_at, created_at FROM (
             SELECT lot_id, remaining, expires_at, created_at,
                 sum(remaining) OVER (ORDER BY expires_at NULLS LAST, created_at, lot_id) - remaining AS before
             FROM loyalty.lots
             WHERE customer_id = $1 AND state = 'available' AND remaining > 0
               AND (expires_at IS NULL OR expires_at > $3)) s
         WHERE before < $2
         ORDER BY expires_at NULLS LAST, created_at, lot_id",
    )
    .bind(customer_id)
    .bind(points)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(lot_id, remaining, expires_at, created_at)| Lot {
            lot_id: LotId::from_uuid(lot_id),
            remaining,
            expires_at,
            created_at,
        })
        .collect())
}

/// All the customer's points that can be spent now.
pub async fn spendable_total(conn: &mut PgConnection, customer_id: &str, now: DateTime<Utc>) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(sum(remaining), 0)::bigint FROM loyalty.lots
         WHERE customer_id = $1 AND state = 'available' AND remaining > 0
           AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(customer_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

/// Makes the customer's pending lots due by `now` available; they expire
/// `expiry_months` after they matured (never when 0), counted in UTC like
/// every other date here (month ends clamp: 31 January + 1 month is 28 or
/// 29 February). The lots and points.
pub async fn mature_due(
    conn: &mut PgConnection,
    customer_id: &str,
    expiry_months: i32,
    now: DateTime<Utc>,
) -> Result<(Vec<(LotId, i64)>, Option<DateTime<Utc>>), Error> {
    let rows: Vec<super::MovedRow> = sqlx::query_as(
        "UPDATE loyalty.lots
         SET state = 'available',
             expires_at = CASE WHEN $2 = 0 THEN NULL
                          ELSE ((matures_at AT TIME ZONE 'UTC') + make_interval(months => $2)) AT TIME ZONE 'UTC'
                          END
         WHERE customer_id = $1 AND state = 'pending' AND matures_at <= $3
         RETURNING lot_id, remaining, expires_at",
    )
    .bind(customer_id)
    .bind(expiry_months)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let earliest = rows.iter().filter_map(|(_, _, e)| *e).min();
    Ok((
        rows.into_iter().map(|(id, p, _)| (LotId::from_uuid(id), p)).collect(),
        earliest,
    ))
}

/// Expires what the customer's available lots have left past their expiry.
pub async fn expire_due(
    conn: &mut PgConnection,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<(LotId, i64)>, Error> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "WITH due AS (
             SELECT lot_id, remaining FROM loyalty.lots
             WHERE customer_id = $1 AND state = 'available' AND remaining > 0 AND expires_at <= $2
             FOR UPDATE)
         UPDATE loyalty.lots l SET remaining = 0 FROM due
         WHERE l.lot_id = due.lot_id
         RETURNING l.lot_id, due.remaining",
    )
    .bind(customer_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(moves(rows))
}

/// Marks the customer's lots expiring within `days` of `now` as warned
/// about, once: their points and the earliest expiry, if any.
pub async fn notify_expiring(
    conn: &mut PgConnection,
    customer_id: &str,
    now: DateTime<Utc>,
    days: i64,
) -> Result<Option<(i64, DateTime<Utc>)>, Error> {
    let (points, earliest): (Option<i64>, Option<DateTime<Utc>>) = sqlx::query_as(
        "WITH warned AS (
             UPDATE loyalty.lots SET expiry_notified = true
             WHERE customer_id = $1 AND state = 'available' AND remaining > 0 AND NOT expiry_notified
               AND expires_at > $2 AND expires_at <= $3
             RETURNING remaining, expires_at)
         SELECT sum(remaining)::bigint, min(expires_at) FROM warned",
    )
    .bind(customer_id)
    .bind(now)
    .bind(now + aftercare_kernel::Duration::days(days))
    .fetch_one(&mut *conn)
    .await?;
    Ok(points.zip(earliest))
}

/// Customers with something due by `now`, at most `limit`: a hold past its
/// time, a lot to mature or expire or to warn about, a tier never reviewed
/// (a new account, or after a program change), a tier above the lowest not
/// reviewed for a day (its 12 months move on), a grace period over.
pub async fn due_customers(conn: &mut PgConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT customer_id FROM loyalty.holds WHERE status = 'held' AND expires_at <= $1
         UNION
         SELECT customer_id FROM loyalty.lots WHERE state = 'pending' AND matures_at <= $1
         UNION
         SELECT customer_id FROM loyalty.lots
         WHERE state = 'available' AND remaining > 0 AND expires_at <= $1
         UNION
         SELECT customer_id FROM loyalty.lots
         WHERE state = 'available' AND remaining > 0 AND NOT expiry_notified AND expires_at <= $3
         UNION
         SELECT customer_id FROM loyalty.accounts
         WHERE tier_checked_at IS NULL OR (tier IS NOT NULL AND tier_checked_at <= $4)
         UNION
         SELECT customer_id FROM loyalty.accounts
         WHERE tier_below_since <= $1 - make_interval(days => (SELECT tier_grace_days FROM loyalty.program))
         LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .bind(now + aftercare_kernel::Duration::days(EXPIRING_SOON_DAYS))
    .bind(now - aftercare_kernel::Duration::days(1))
    .fetch_all(&mut *conn)
    .await?)
}

/// An order's lots for a reversal, locked; a lot past its expiry reads as
/// empty (its points are gone, whether or not the job has written so).
pub async fn order_lots(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<OrderLot>, Error> {
    let rows: Vec<OrderLotRow> = sqlx::query_as(
        "SELECT lot_id, line_id, source = 'bonus' AS bonus, base, earned, units, reversed_units, reversed,
             CASE WHEN expires_at <= $3 THEN 0 ELSE remaining END AS remaining, state = 'pending' AS pending,
             expires_at, created_at
         FROM loyalty.lots WHERE order_id = $1 AND customer_id = $2 AND state <> 'closed'
         ORDER BY line_id FOR UPDATE",
    )
    .bind(order_id)
    .bind(customer_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| OrderLot {
            lot_id: LotId::from_uuid(r.lot_id),
            line_id: r.line_id,
            bonus: r.bonus,
            base: r.base,
            earned: r.earned,
            units: r.units,
            reversed_units: r.reversed_units,
            reversed: r.reversed,
            remaining: r.remaining,
            pending: r.pending,
            expires_at: r.expires_at,
            created_at: r.created_at,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct OrderLotRow {
    lot_id: Uuid,
    line_id: String,
    bonus: bool,
    base: Option<i64>,
    earned: i64,
    units: i32,
    reversed_units: i32,
    reversed: i64,
    remaining: i64,
    pending: bool,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

/// Records how many units and points of each lot refunds took back so far.
pub async fn set_reversed(conn: &mut PgConnection, reversed: &[(LotId, i32, i64)]) -> Result<(), Error> {
    let ids: Vec<Uuid> = reversed.iter().map(|(id, ..)| id.as_uuid()).collect();
    let units: Vec<i32> = reversed.iter().map(|(_, u, _)| *u).collect();
    let points: Vec<i64> = reversed.iter().map(|(.., p)| *p).collect();
    sqlx::query(
        "UPDATE loyalty.lots l SET reversed_units = r.units, reversed = r.points
         FROM UNNEST($1::uuid[], $2::int[], $3::bigint[]) AS r (lot_id, units, points)
         WHERE l.lot_id = r.lot_id",
    )
    .bind(ids)
    .bind(units)
    .bind(points)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Claims a refund for reversal: `false` when it was applied before.
pub async fn claim_refund(
    conn: &mut PgConnection,
    refund_id: &str,
    customer_id: &str,
    order_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let claimed = sqlx::query(
        "INSERT INTO loyalty.refunds (refund_id, customer_id, order_id, at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (refund_id) DO NOTHING",
    )
    .bind(refund_id)
    .bind(customer_id)
    .bind(order_id)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}

/// Links a claimed refund to the entry that took its points back.
pub async fn link_refund(conn: &mut PgConnection, refund_id: &str, entry_id: EntryId) -> Result<(), Error> {
    sqlx::query("UPDATE loyalty.refunds SET entry_id = $2 WHERE refund_id = $1")
        .bind(refund_id)
        .bind(entry_id.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Creates an order's campaign bonus lot, once per order: the points, or
/// `None` when the order has one already.
pub async fn insert_bonus_lot(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    campaign_id: &str,
    points: i64,
    matures_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<(LotId, i64)>, Error> {
    let row: Option<(Uuid, i64)> = sqlx::query_as(
        "INSERT INTO loyalty.lots (lot_id, customer_id, source, order_id, line_id, units, earned, remaining, state,
             matures_at, created_at)
         VALUES ($1, $2, 'bonus', $3, $4, 1, $5, $5, 'pending', $6, $7)
         ON CONFLICT (order_id) WHERE source = 'bonus' DO NOTHING
         RETURNING lot_id, earned",
    )
    .bind(LotId::new().as_uuid())
    .bind(customer_id)
    .bind(order_id)
    .bind(campaign_id)
    .bind(points)
    .bind(matures_at)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id, p)| (LotId::from_uuid(id), p)))
}
