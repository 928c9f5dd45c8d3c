//! Accounts and the ledger. An account row is the customer's lock: every
//! change of a customer's points locks it first, so they serialize. Entries
//! are only written by [`post`], which moves the account's balances by the
//! entry's changes in the same statement; the account's checks (no balance
//! below zero) stop any overdraft there, whatever the caller computed.

use aftercare_kernel::{DateTime, Duration, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use super::program::{TIERS_JSON, TierRow};
use super::{MovedRow, parse};
use crate::domain::{
    Account, Changes, EXPIRING_SOON_DAYS, Entry, EntryId, EntryKind, HoldId, LotFlow, LotId, LotMovement, LoyaltyError,
    Standing, Tier, TierStatus,
};

/// The locked account, and whether anything of it fell due (a hold past
/// its time, a lot to mature or expire), to be settled before use.
///
/// `debt` is the row as locked. `due` is read in the locking statement's
/// snapshot, so it can miss what the transaction that held the lock made
/// due just before: spending reads lots past their expiry as empty
/// anyway, and the job settles the rest.
pub struct Locked {
    pub debt: i64,
    pub due: bool,
    pub standing: Standing,
    /// The program's version, so a cached program can be used.
    pub program_version: i32,
}

/// Locks the customer's account, creating it on first use, in one
/// statement.
pub async fn lock(conn: &mut PgConnection, customer_id: &str, now: DateTime<Utc>) -> Result<Locked, Error> {
    let row: LockedRow = sqlx::query_as(
        "INSERT INTO loyalty.accounts (customer_id, created_at, updated_at) VALUES ($1, $2, $2)
         ON CONFLICT (customer_id) DO UPDATE SET customer_id = EXCLUDED.customer_id
         RETURNING customer_id, debt, tier, tier_below_since,
             (SELECT version FROM loyalty.program) AS program_version,
             EXISTS (SELECT 1 FROM loyalty.holds
                     WHERE customer_id = $1 AND status = 'held' AND expires_at <= $2)
             OR EXISTS (SELECT 1 FROM loyalty.lots
                        WHERE customer_id = $1 AND state = 'pending' AND matures_at <= $2)
             OR EXISTS (SELECT 1 FROM loyalty.lots
                        WHERE customer_id = $1 AND state = 'available' AND remaining > 0 AND expires_at <= $2)
             AS due",
    )
    .bind(customer_id)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.into())
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    customer_id: String,
    debt: i64,
    tier: Option<String>,
    tier_below_since: Option<DateTime<Utc>>,
    program_version: i32,
    due: bool,
}

impl From<LockedRow> for Locked {
    fn from(r: LockedRow) -> Locked {
        Locked {
            debt: r.debt,
            due: r.due,
            standing: Standing {
                tier: r.tier,
                below_since: r.tier_below_since,
            },
            program_version: r.program_version,
        }
    }
}

/// Locks the account a hold belongs to, in one statement: its customer and
/// the lock, or `None` for an unknown hold. What fell due is not read: a
/// capture or release settles nothing.
pub async fn lock_by_hold(conn: &mut PgConnection, hold_id: HoldId) -> Result<Option<(String, Locked)>, Error> {
    let row: Option<LockedRow> = sqlx::query_as(
        "SELECT a.customer_id, a.debt, a.tier, a.tier_below_since,
             (SELECT version FROM loyalty.program) AS program_version, false AS due
         FROM loyalty.accounts a
         WHERE a.customer_id = (SELECT customer_id FROM loyalty.holds WHERE hold_id = $1)
         FOR UPDATE OF a",
    )
    .bind(hold_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.customer_id.clone(), r.into())))
}

/// Locks an existing account unless another transaction holds it: the
/// background job's way, so it never queues behind a checkout. Its tier
/// standing, or `None` when skipped.
pub async fn try_lock(conn: &mut PgConnection, customer_id: &str) -> Result<Option<Standing>, Error> {
    let row: Option<(Option<String>, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT tier, tier_below_since FROM loyalty.accounts WHERE customer_id = $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(customer_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(tier, below_since)| Standing { tier, below_since }))
}

/// A locked account's debt.
pub async fn debt(conn: &mut PgConnection, customer_id: &str) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT debt FROM loyalty.accounts WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The account's columns; all NULL for an account never used (the read
/// still returns the program's tiers).
#[derive(sqlx::FromRow)]
struct AccountRow {
    available: Option<i64>,
    pending: Option<i64>,
    held: Option<i64>,
    debt: Option<i64>,
    lifetime_earned: Option<i64>,
    tier: Option<String>,
    tier_below_since: Option<DateTime<Utc>>,
    qualifying: i64,
    expiring: sqlx::types::Json<Vec<(i64, DateTime<Utc>)>>,
}

/// A customer's qualifying spend at `now`, in base points: what their
/// orders placed in the last 12 months earned before multipliers, less the
/// share of refunded units, voided orders left out.
const QUALIFYING: &str = "(SELECT COALESCE(sum(q.base * (q.units - q.reversed_units) / q.units), 0)::bigint
     FROM loyalty.lots q
     WHERE q.customer_id = $1 AND q.source = 'order' AND q.state <> 'closed'
       AND q.placed_at > ($2::timestamptz AT TIME ZONE 'UTC' - interval '12 months') AT TIME ZONE 'UTC')";

pub async fn qualifying(conn: &mut PgConnection, customer_id: &str, now: DateTime<Utc>) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(&format!("SELECT {QUALIFYING}"))
        .bind(customer_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
}

/// Writes a reviewed standing and the perks announced for it; the perks
/// announced before, in the same statement.
pub async fn set_standing(
    conn: &mut PgConnection,
    customer_id: &str,
    standing: &Standing,
    announced_perks: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(
        "UPDATE loyalty.accounts a SET tier = $2, tier_below_since = $3, tier_checked_at = $4, announced_perks = $5
         FROM (SELECT announced_perks FROM loyalty.accounts WHERE customer_id = $1) before
         WHERE a.customer_id = $1
         RETURNING before.announced_perks",
    )
    .bind(customer_id)
    .bind(standing.tier.as_deref())
    .bind(standing.below_since)
    .bind(now)
    .bind(announced_perks)
    .fetch_one(&mut *conn)
    .await?)
}

/// The account with its points expiring soon and its tier, and the
/// program's tiers and grace, in one statement; an account never used
/// reads as all zeros.
pub async fn get(conn: &mut PgConnection, customer_id: &str, now: DateTime<Utc>) -> Result<Account, Error> {
    let row: FullRow = sqlx::query_as(&format!(
        "SELECT a.available, a.pending, a.held, a.debt, a.lifetime_earned, a.tier, a.tier_below_since,
             {QUALIFYING} AS qualifying, {TIERS_JSON} AS tiers,
             (SELECT tier_grace_days FROM loyalty.program) AS tier_grace_days,
             (SELECT COALESCE(json_agg(json_build_array(e.points, e.expires_at) ORDER BY e.expires_at), '[]')
              FROM (SELECT sum(remaining)::bigint AS points, expires_at FROM loyalty.lots
                    WHERE customer_id = $1 AND state = 'available' AND remaining > 0
                      AND expires_at > $2 AND expires_at <= $3
                    GROUP BY expires_at) e) AS expiring
         FROM loyalty.accounts a RIGHT JOIN (SELECT 1) one ON a.customer_id = $1"
    ))
    .bind(customer_id)
    .bind(now)
    .bind(now + Duration::days(EXPIRING_SOON_DAYS))
    .fetch_one(&mut *conn)
    .await?;
    let (r, t) = (row.account, row.tiers);
    let tiers: Vec<Tier> = t.tiers.0.into_iter().map(Tier::from).collect();
    let standing = Standing {
        tier: r.tier,
        below_since: r.tier_below_since,
    };
    Ok(Account {
        customer_id: customer_id.to_owned(),
        available: r.available.unwrap_or_default(),
        pending: r.pending.unwrap_or_default(),
        held: r.held.unwrap_or_default(),
        debt: r.debt.unwrap_or_default(),
        lifetime_earned: r.lifetime_earned.unwrap_or_default(),
        expiring_soon: r.expiring.0,
        tier: TierStatus::of(&tiers, t.tier_grace_days, &standing, r.qualifying),
    })
}

#[derive(sqlx::FromRow)]
struct FullRow {
    #[sqlx(flatten)]
    account: AccountRow,
    #[sqlx(flatten)]
    tiers: TiersRow,
}

#[derive(sqlx::FromRow)]
struct TiersRow {
    tiers: sqlx::types::Json<Vec<TierRow>>,
    tier_grace_days: i32,
}

/// Writes an entry with the lots it moved, moves those lots' points as its
/// flow says, and moves the account's balances by its changes, in one
/// statement. The account must exist (and be locked).
pub async fn post(conn: &mut PgConnection, e: &Entry) -> Result<(), Error> {
    let lot_ids: Vec<Uuid> = e.lots.iter().map(|l| l.lot_id.as_uuid()).collect();
    let points: Vec<i64> = e.lots.iter().map(|l| l.points).collect();
    let c = e.changes;
    let updated = sqlx::query(
        "WITH entry AS (
             INSERT INTO loyalty.entries (entry_id, customer_id, kind, available_change, pending_change,
                 held_change, debt_change, lifetime_change, order_id, hold_id, reason, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $13, $8, $9, $10, $11, $12)),
         moved AS (
             INSERT INTO loyalty.entry_lots (entry_id, lot_id, points)
             SELECT $1, m.lot_id, m.points FROM UNNEST($14::uuid[], $15::bigint[]) AS m (lot_id, points)),
         flowed AS (
             UPDATE loyalty.lots l SET remaining = l.remaining - $16 * m.points
             FROM UNNEST($14::uuid[], $15::bigint[]) AS m (lot_id, points)
             WHERE l.lot_id = m.lot_id AND $16 <> 0)
         UPDATE loyalty.accounts
         SET available = available + $4, pending = pending + $5, held = held + $6, debt = debt + $7,
             lifetime_earned = lifetime_earned + $13, updated_at = $12
         WHERE customer_id = $2",
    )
    .bind(e.entry_id.as_uuid())
    .bind(&e.customer_id)
    .bind(e.kind.as_str())
    .bind(c.available)
    .bind(c.pending)
    .bind(c.held)
    .bind(c.debt)
    .bind(e.order_id.as_deref())
    .bind(e.hold_id.map(|h| h.as_uuid()))
    .bind(&e.reason)
    .bind(&e.actor)
    .bind(e.at)
    .bind(c.lifetime)
    .bind(lot_ids)
    .bind(points)
    .bind(match e.flow {
        LotFlow::Recorded => 0i64,
        LotFlow::Out => 1,
        LotFlow::In => -1,
    })
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(LoyaltyError::Corrupt(format!("entry for {} without an account", e.customer_id)).into());
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    entry_id: Uuid,
    customer_id: String,
    kind: String,
    available_change: i64,
    pending_change: i64,
    held_change: i64,
    debt_change: i64,
    lifetime_change: i64,
    order_id: Option<String>,
    hold_id: Option<Uuid>,
    reason: String,
    actor: String,
    at: DateTime<Utc>,
    lots: sqlx::types::Json<Vec<MovedRow>>,
}

const ENTRY_SELECT: &str = "SELECT e.entry_id, e.customer_id, e.kind, e.available_change, e.pending_change,
         e.held_change, e.debt_change, e.lifetime_change, e.order_id, e.hold_id, e.reason, e.actor, e.at,
         (SELECT COALESCE(json_agg(json_build_array(m.lot_id, m.points, l.expires_at) ORDER BY m.lot_id), '[]')
          FROM loyalty.entry_lots m JOIN loyalty.lots l ON l.lot_id = m.lot_id
          WHERE m.entry_id = e.entry_id) AS lots
     FROM loyalty.entries e";

fn entry(r: EntryRow) -> Result<Entry, LoyaltyError> {
    Ok(Entry {
        entry_id: EntryId::from_uuid(r.entry_id),
        customer_id: r.customer_id,
        kind: parse(&r.kind, "entry kind", EntryKind::parse)?,
        changes: Changes {
            available: r.available_change,
            pending: r.pending_change,
            held: r.held_change,
            debt: r.debt_change,
            lifetime: r.lifetime_change,
        },
        order_id: r.order_id,
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
    })
}

pub async fn get_entry(conn: &mut PgConnection, entry_id: EntryId) -> Result<Option<Entry>, Error> {
    let row: Option<EntryRow> = sqlx::query_as(&format!("{ENTRY_SELECT} WHERE e.entry_id = $1"))
        .bind(entry_id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(entry).transpose()?)
}

/// A customer's entries, newest first, after `cursor`, in one statement.
pub async fn list_entries(
    conn: &mut PgConnection,
    customer_id: &str,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Entry>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| aftercare_platform::error::Error::invalid("page_token", "not a page token from this query"))?;
    let rows: Vec<EntryRow> = sqlx::query_as(&format!(
        "{ENTRY_SELECT}
         WHERE e.customer_id = $1 AND ($2::timestamptz IS NULL OR (e.at, e.entry_id) < ($2, $3))
         ORDER BY e.at DESC, e.entry_id DESC LIMIT $4"
    ))
    .bind(customer_id)
    .bind(cursor.map(|c| c.at))
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(entry).collect::<Result<_, _>>()?)
}
