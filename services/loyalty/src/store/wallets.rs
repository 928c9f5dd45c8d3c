//! Store-credit wallets, their lots, holds and ledger, in the `loyalty`
//! schema's `wallets` and `credit_*` tables. A wallet row is its lock:
//! every change of a wallet locks it first. Entries are only written by
//! [`post`], which moves the wallet's balances in the same statement; the
//! wallet's checks stop any overdraft there.

use aftercare_kernel::{Currency, DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{LotRow, MovedRow, parse};
use crate::domain::{
    Changes, CreditEntry, CreditHold, CreditLot, Entry, EntryId, EntryKind, Hold, HoldId, HoldStatus, Lot, LotFlow,
    LotId, LotMovement, LoyaltyError, Wallet,
};

fn currency(code: &str) -> Result<Currency, LoyaltyError> {
    parse(code, "currency", Currency::from_code)
}

fn lots(rows: Vec<LotRow>) -> Vec<Lot> {
    rows.into_iter()
        .map(|(lot_id, remaining, expires_at, created_at)| Lot {
            lot_id: LotId::from_uuid(lot_id),
            remaining,
            expires_at,
            created_at,
        })
        .collect()
}

/// Locks the wallet, creating it on first use; whether a hold of it is
/// past its time (to be given back before anything is taken).
pub async fn lock(
    conn: &mut PgConnection,
    customer_id: &str,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "INSERT INTO loyalty.wallets (customer_id, currency_code, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (customer_id, currency_code) DO UPDATE SET customer_id = EXCLUDED.customer_id
         RETURNING EXISTS (SELECT 1 FROM loyalty.credit_holds
                           WHERE customer_id = $1 AND currency_code = $2 AND status = 'held' AND expires_at <= $3)",
    )
    .bind(customer_id)
    .bind(currency.code())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?)
}

/// Locks the wallet a hold belongs to; `None` for an unknown hold.
pub async fn lock_by_hold(conn: &mut PgConnection, hold_id: HoldId) -> Result<Option<()>, Error> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT w.customer_id FROM loyalty.wallets w
         WHERE (w.customer_id, w.currency_code) =
               (SELECT customer_id, currency_code FROM loyalty.credit_holds WHERE hold_id = $1)
         FOR UPDATE OF w",
    )
    .bind(hold_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(drop))
}

/// Locks a wallet unless another transaction holds it (the job's way).
pub async fn try_lock(conn: &mut PgConnection, customer_id: &str, currency: Currency) -> Result<bool, Error> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT customer_id FROM loyalty.wallets WHERE customer_id = $1 AND currency_code = $2
         FOR UPDATE SKIP LOCKED",
    )
    .bind(customer_id)
    .bind(currency.code())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Writes the lot a refund credits, unless that refund credited one
/// already (then `false`). The wallet must be locked.
pub async fn insert_lot(conn: &mut PgConnection, lot: &CreditLot) -> Result<bool, Error> {
    let r = &lot.refund;
    let inserted = sqlx::query(
        "INSERT INTO loyalty.credit_lots (lot_id, customer_id, currency_code, refund_id, return_id, order_id,
             amount, remaining, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)
         ON CONFLICT (refund_id) DO NOTHING",
    )
    .bind(lot.lot_id.as_uuid())
    .bind(&r.customer_id)
    .bind(r.amount.currency().code())
    .bind(&r.refund_id)
    .bind(&r.return_id)
    .bind(&r.order_id)
    .bind(crate::domain::wallet::minor(r.amount))
    .bind(lot.expires_at)
    .bind(lot.created_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// The wallet's lots that can be spent now, earliest expiry first, as few
/// as cover `amount` (all of them when they do not).
pub async fn spendable(
    conn: &mut PgConnection,
    customer_id: &str,
    currency: Currency,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Lot>, Error> {
    let rows: Vec<LotRow> = sqlx::query_as(
        "SELECT lot_id, remaining, expires_at, created_at FROM (
             SELECT lot_id, remaining, expires_at, created_at,
                 sum(remaining) OVER (ORDER BY expires_at NULLS LAST, created_at, lot_id) - remaining AS before
             FROM loyalty.credit_lots
             WHERE customer_id = $1 AND currency_code = $2 AND remaining > 0
               AND (expires_at IS NULL OR expires_at > $3)) s
         WHERE before < $4
         ORDER BY expires_at NULLS LAST, created_at, lot_id",
    )
    .bind(customer_id)
    .bind(currency.code())
    .bind(now)
    .bind(amount)
    .fetch_all(&mut *conn)
    .await?;
    Ok(lots(rows))
}

/// Writes an entry with the lots it moved, moves those lots as its flow
/// says, and moves the wallet's balances, in one statement. The wallet
/// must exist (and be locked); a wallet entry moves no pending points and
/// no debt.
pub async fn post(conn: &mut PgConnection, c: &CreditEntry) -> Result<(), Error> {
    let e = &c.entry;
    let ch = e.changes;
    if ch.pending != 0 || ch.debt != 0 {
        return Err(LoyaltyError::Corrupt(format!("a wallet entry with pending or debt: {:?}", e.kind)).into());
    }
    let lot_ids: Vec<Uuid> = e.lots.iter().map(|l| l.lot_id.as_uuid()).collect();
    let amounts: Vec<i64> = e.lots.iter().map(|l| l.points).collect();
    let updated = sqlx::query(
        "WITH entry AS (
             INSERT INTO loyalty.credit_entries (entry_id, customer_id, currency_code, kind, available_change,
                 held_change, credited_change, refund_id, hold_id, reason, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)),
         moved AS (
             INSERT INTO loyalty.credit_entry_lots (entry_id, lot_id, amount)
             SELECT $1, m.lot_id, m.amount FROM UNNEST($13::uuid[], $14::bigint[]) AS m (lot_id, amount)),
         flowed AS (
             UPDATE loyalty.credit_lots l SET remaining = l.remaining - $15 * m.amount
             FROM UNNEST($13::uuid[], $14::bigint[]) AS m (lot_id, amount)
             WHERE l.lot_id = m.lot_id AND $15 <> 0)
         UPDATE loyalty.wallets
         SET available = available + $5, held = held + $6, credited = credited + $7, updated_at = $12
         WHERE customer_id = $2 AND currency_code = $3",
    )
    .bind(e.entry_id.as_uuid())
    .bind(&e.customer_id)
    .bind(c.currency.code())
    .bind(e.kind.as_str())
    .bind(ch.available)
    .bind(ch.held)
    .bind(ch.lifetime)
    .bind(c.refund_id.as_deref())
    .bind(e.hold_id.map(|h| h.as_uuid()))
    .bind(&e.reason)
    .bind(&e.actor)
    .bind(e.at)
    .bind(lot_ids)
    .bind(amounts)
    .bind(match e.flow {
        LotFlow::Recorded => 0i64,
        LotFlow::Out => 1,
        LotFlow::In => -1,
    })
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(LoyaltyError::Corrupt(format!("entry for {} without a wallet", e.customer_id)).into());
    }
    Ok(())
}

/// Writes a hold and the amounts it reserved per lot, in one statement.
pub async fn insert_hold(conn: &mut PgConnection, c: &CreditHold, lots: &[(LotId, i64)]) -> Result<(), Error> {
    let h = &c.hold;
    let ids: Vec<Uuid> = lots.iter().map(|(id, _)| id.as_uuid()).collect();
    let amounts: Vec<i64> = lots.iter().map(|(_, a)| *a).collect();
    sqlx::query(
        "WITH hold AS (
             INSERT INTO loyalty.credit_holds (hold_id, customer_id, currency_code, amount, captured, order_ref,
                 status, expires_at, created_at, resolved_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10))
         INSERT INTO loyalty.credit_hold_lots (hold_id, lot_id, amount)
         SELECT $1, m.lot_id, m.amount FROM UNNEST($11::uuid[], $12::bigint[]) AS m (lot_id, amount)",
    )
    .bind(h.hold_id.as_uuid())
    .bind(&h.customer_id)
    .bind(c.currency.code())
    .bind(h.points)
    .bind(h.captured)
    .bind(&h.order_ref)
    .bind(h.status.as_str())
    .bind(h.expires_at)
    .bind(h.created_at)
    .bind(h.resolved_at)
    .bind(ids)
    .bind(amounts)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct HoldRow {
    hold_id: Uuid,
    customer_id: String,
    currency_code: String,
    amount: i64,
    captured: i64,
    order_ref: String,
    status: String,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    lots: sqlx::types::Json<Vec<LotRow>>,
}

/// A hold with the amounts it reserved per lot (as [`Lot`]s of those
/// amounts), in one statement.
pub async fn get_hold(conn: &mut PgConnection, hold_id: HoldId) -> Result<Option<(CreditHold, Vec<Lot>)>, Error> {
    let row: Option<HoldRow> = sqlx::query_as(
        "SELECT h.*, (SELECT COALESCE(json_agg(json_build_array(m.lot_id, m.amount, l.expires_at, l.created_at)
                          ORDER BY m.lot_id), '[]')
                      FROM loyalty.credit_hold_lots m JOIN loyalty.credit_lots l ON l.lot_id = m.lot_id
                      WHERE m.hold_id = h.hold_id) AS lots
         FROM loyalty.credit_holds h WHERE h.hold_id = $1",
    )
    .bind(hold_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let hold = CreditHold {
        currency: currency(&r.currency_code)?,
        hold: Hold {
            hold_id: HoldId::from_uuid(r.hold_id),
            customer_id: r.customer_id,
            points: r.amount,
            captured: r.captured,
            order_ref: r.order_ref,
            status: parse(&r.status, "hold status", HoldStatus::parse)?,
            expires_at: r.expires_at,
            created_at: r.created_at,
            resolved_at: r.resolved_at,
        },
    };
    Ok(Some((hold, lots(r.lots.0))))
}

/// Resolves a hold that is still held (callers decide under the lock).
pub async fn resolve_hold(
    conn: &mut PgConnection,
    hold_id: HoldId,
    status: HoldStatus,
    captured: i64,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let updated = sqlx::query(
        "UPDATE loyalty.credit_holds SET status = $2, captured = $3, resolved_at = $4
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

/// The wallet's holds past their time, still held.
pub async fn lapsed_holds(
    conn: &mut PgConnection,
    customer_id: &str,
    currency: Currency,
    now: DateTime<Utc>,
) -> Result<Vec<HoldId>, Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT hold_id FROM loyalty.credit_holds
         WHERE customer_id = $1 AND currency_code = $2 AND status = 'held' AND expires_at <= $3
         ORDER BY expires_at, hold_id",
    )
    .bind(customer_id)
    .bind(currency.code())
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(HoldId::from_uuid).collect())
}

/// Wallets with a hold past its time, at most `limit`.
pub async fn with_lapsed_holds(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(String, Currency)>, Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT customer_id, currency_code FROM loyalty.credit_holds
         WHERE status = 'held' AND expires_at <= $1
         GROUP BY customer_id, currency_code ORDER BY min(expires_at) LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(customer, code)| Ok((customer, currency(&code)?)))
        .collect()
}

/// The customer's wallets, by currency code.
pub async fn wallets(conn: &mut PgConnection, customer_id: &str) -> Result<Vec<Wallet>, Error> {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT currency_code, available, held, credited FROM loyalty.wallets
         WHERE customer_id = $1 ORDER BY currency_code",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(code, available, held, credited)| {
            Ok(Wallet {
                currency: currency(&code)?,
                available,
                held,
                credited,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    entry_id: Uuid,
    customer_id: String,
    currency_code: String,
    kind: String,
    available_change: i64,
    held_change: i64,
    credited_change: i64,
    refund_id: Option<String>,
    hold_id: Option<Uuid>,
    reason: String,
    actor: String,
    at: DateTime<Utc>,
    lots: sqlx::types::Json<Vec<MovedRow>>,
}

fn entry(r: EntryRow) -> Result<CreditEntry, LoyaltyError> {
    Ok(CreditEntry {
        currency: currency(&r.currency_code)?,
        refund_id: r.refund_id,
        entry: Entry {
            entry_id: EntryId::from_uuid(r.entry_id),
            customer_id: r.customer_id,
            kind: parse(&r.kind, "entry kind", EntryKind::parse)?,
            changes: Changes {
                available: r.available_change,
                held: r.held_change,
                lifetime: r.credited_change,
                ..Changes::default()
            },
            order_id: None,
            hold_id: r.hold_id.map(HoldId::from_uuid),
            reason: r.reason,
            actor: r.actor,
            at: r.at,
            lots: r
                .lots
                .0
                .into_iter()
                .map(|(lot_id, points, expires_at)| LotMovement {
                    lot_id: LotId::from_uuid(lot_id),
                    points,
                    expires_at,
                })
                .collect(),
            flow: LotFlow::Recorded,
        },
    })
}

/// A customer's wallet entries (of one currency, or all), newest first,
/// after `cursor`, in one statement.
pub async fn list_entries(
    conn: &mut PgConnection,
    customer_id: &str,
    currency: Option<Currency>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<CreditEntry>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT e.entry_id, e.customer_id, e.currency_code, e.kind, e.available_change, e.held_change,
             e.credited_change, e.refund_id, e.hold_id, e.reason, e.actor, e.at,
             (SELECT COALESCE(json_agg(json_build_array(m.lot_id, m.amount, l.expires_at) ORDER BY m.lot_id), '[]')
              FROM loyalty.credit_entry_lots m JOIN loyalty.credit_lots l ON l.lot_id = m.lot_id
              WHERE m.entry_id = e.entry_id) AS lots
         FROM loyalty.credit_entries e
         WHERE e.customer_id = $1 AND ($2::text IS NULL OR e.currency_code = $2)
           AND ($3::timestamptz IS NULL OR (e.at, e.entry_id) < ($3, $4))
         ORDER BY e.at DESC, e.entry_id DESC LIMIT $5",
    )
    .bind(customer_id)
    .bind(currency.map(|c| c.code()))
    .bind(cursor.map(|c| c.at))
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(entry).collect::<Result<_, _>>()?)
}
