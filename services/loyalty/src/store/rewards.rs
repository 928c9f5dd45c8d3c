//! The rewards catalogue, its code pools and its redemptions.

use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{EntryId, Reward, RewardKind};

#[derive(sqlx::FromRow)]
struct RewardRow {
    reward_id: String,
    name: String,
    kind: String,
    points_cost: i64,
    discount_amount: Option<Decimal>,
    discount_currency: Option<String>,
    active: bool,
    codes_left: i64,
}

const SELECT: &str = "SELECT r.reward_id, r.name, r.kind, r.points_cost, r.discount_amount, r.discount_currency,
         r.active,
         (SELECT count(*) FROM loyalty.reward_codes c
          WHERE c.reward_id = r.reward_id AND c.redemption_id IS NULL) AS codes_left
     FROM loyalty.rewards r";

fn reward(r: RewardRow) -> Result<Reward, Error> {
    let discount = match (r.discount_amount, r.discount_currency) {
        (Some(amount), Some(code)) => Some(Money::from_decimal(
            parse(&code, "currency", Currency::from_code)?,
            amount,
        )),
        _ => None,
    };
    Ok(Reward {
        reward_id: r.reward_id,
        name: r.name,
        kind: parse(&r.kind, "reward kind", RewardKind::parse)?,
        points_cost: r.points_cost,
        discount,
        active: r.active,
        codes_left: r.codes_left,
    })
}

pub async fn upsert(conn: &mut PgConnection, r: &Reward, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loyalty.rewards (reward_id, name, kind, points_cost, discount_amount, discount_currency, active,
             updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (reward_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
             points_cost = EXCLUDED.points_cost, discount_amount = EXCLUDED.discount_amount,
             discount_currency = EXCLUDED.discount_currency, active = EXCLUDED.active,
             updated_at = EXCLUDED.updated_at",
    )
    .bind(&r.reward_id)
    .bind(&r.name)
    .bind(r.kind.as_str())
    .bind(r.points_cost)
    .bind(r.discount.map(|d| d.amount()))
    .bind(r.discount.map(|d| d.currency().code()))
    .bind(r.active)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, reward_id: &str) -> Result<Option<Reward>, Error> {
    let row: Option<RewardRow> = sqlx::query_as(&format!("{SELECT} WHERE r.reward_id = $1"))
        .bind(reward_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(reward).transpose()
}

/// Every reward, or only the active ones, by id.
pub async fn list(conn: &mut PgConnection, only_active: bool) -> Result<Vec<Reward>, Error> {
    let rows: Vec<RewardRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.active OR NOT $1 ORDER BY r.reward_id LIMIT 500"
    ))
    .bind(only_active)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(reward).collect()
}

/// Adds codes to a reward's pool; codes it already has are skipped. How
/// many were added.
pub async fn add_codes(conn: &mut PgConnection, reward_id: &str, codes: &[String]) -> Result<u64, Error> {
    Ok(sqlx::query(
        "INSERT INTO loyalty.reward_codes (reward_id, code) SELECT $1, c FROM UNNEST($2::text[]) AS c
         ON CONFLICT (reward_id, code) DO NOTHING",
    )
    .bind(reward_id)
    .bind(codes)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Hands one free code of the pool to `redemption_id`, skipping codes other
/// transactions are handing out: `None` when none is left.
pub async fn take_code(conn: &mut PgConnection, reward_id: &str, redemption_id: Uuid) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(
        "UPDATE loyalty.reward_codes SET redemption_id = $2
         WHERE (reward_id, code) = (
             SELECT reward_id, code FROM loyalty.reward_codes
             WHERE reward_id = $1 AND redemption_id IS NULL
             ORDER BY code LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING code",
    )
    .bind(reward_id)
    .bind(redemption_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// A redemption as recorded.
pub struct Redemption {
    pub redemption_id: Uuid,
    pub reward_id: String,
    pub customer_id: String,
    pub points: i64,
    pub code: Option<String>,
    pub entry_id: EntryId,
    pub at: DateTime<Utc>,
}

pub async fn insert_redemption(conn: &mut PgConnection, r: &Redemption) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO loyalty.reward_redemptions (redemption_id, reward_id, customer_id, points, code, entry_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(r.redemption_id)
    .bind(&r.reward_id)
    .bind(&r.customer_id)
    .bind(r.points)
    .bind(r.code.as_deref())
    .bind(r.entry_id.as_uuid())
    .bind(r.at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct RedemptionRow {
    redemption_id: Uuid,
    reward_id: String,
    customer_id: String,
    points: i64,
    code: Option<String>,
    entry_id: Uuid,
    at: DateTime<Utc>,
}

pub async fn get_redemption(conn: &mut PgConnection, redemption_id: Uuid) -> Result<Option<Redemption>, Error> {
    let row: Option<RedemptionRow> = sqlx::query_as(
        "SELECT redemption_id, reward_id, customer_id, points, code, entry_id, at
         FROM loyalty.reward_redemptions WHERE redemption_id = $1",
    )
    .bind(redemption_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| Redemption {
        redemption_id: r.redemption_id,
        reward_id: r.reward_id,
        customer_id: r.customer_id,
        points: r.points,
        code: r.code,
        entry_id: EntryId::from_uuid(r.entry_id),
        at: r.at,
    }))
}
