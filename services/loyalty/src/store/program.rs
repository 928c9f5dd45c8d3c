//! The program: one row, and a row per currency rate.

use aftercare_kernel::{Currency, DateTime, Decimal, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse;
use crate::domain::{CurrencyRate, Program, Tier};

#[derive(sqlx::FromRow)]
struct ProgramRow {
    version: i32,
    return_window_days: i32,
    undelivered_max_days: i32,
    expiry_months: i32,
    min_redeem_points: i64,
    max_redeem_percent: i32,
    hold_ttl_seconds: i32,
    grant_limit: i64,
    tier_grace_days: i32,
    updated_at: DateTime<Utc>,
    rates: sqlx::types::Json<Vec<RateRow>>,
    tiers: sqlx::types::Json<Vec<TierRow>>,
}

#[derive(serde::Deserialize)]
pub(super) struct TierRow {
    name: String,
    min_qualifying_points: i64,
    earn_multiplier: Decimal,
    extra_return_days: i32,
    free_return_shipping: bool,
    early_access: bool,
}

impl From<TierRow> for Tier {
    fn from(t: TierRow) -> Tier {
        Tier {
            name: t.name,
            min_qualifying_points: t.min_qualifying_points,
            earn_multiplier: t.earn_multiplier,
            extra_return_days: t.extra_return_days,
            free_return_shipping: t.free_return_shipping,
            early_access: t.early_access,
        }
    }
}

/// The tiers as one JSON array, lowest first, for a statement's select list.
pub(super) const TIERS_JSON: &str = "(SELECT COALESCE(json_agg(json_build_object(
         'name', t.name, 'min_qualifying_points', t.min_qualifying_points,
         'earn_multiplier', t.earn_multiplier::text, 'extra_return_days', t.extra_return_days,
         'free_return_shipping', t.free_return_shipping, 'early_access', t.early_access)
         ORDER BY t.position), '[]') FROM loyalty.tiers t)";

#[derive(serde::Deserialize)]
struct RateRow {
    currency_code: String,
    points_per_unit: Decimal,
    point_value: Decimal,
}

/// The program with its rates, in one statement.
pub async fn load(conn: &mut PgConnection) -> Result<Program, Error> {
    let row: ProgramRow = sqlx::query_as(&format!(
        "SELECT p.*, (SELECT COALESCE(json_agg(json_build_object(
                 'currency_code', r.currency_code,
                 'points_per_unit', r.points_per_unit::text,
                 'point_value', r.point_value::text) ORDER BY r.currency_code), '[]')
             FROM loyalty.currency_rates r) AS rates,
             {TIERS_JSON} AS tiers
         FROM loyalty.program p"
    ))
    .fetch_one(&mut *conn)
    .await?;
    let rates = row
        .rates
        .0
        .into_iter()
        .map(|r| {
            Ok(CurrencyRate {
                currency: parse(&r.currency_code, "currency", Currency::from_code)?,
                points_per_unit: r.points_per_unit,
                point_value: r.point_value,
            })
        })
        .collect::<Result<_, crate::domain::LoyaltyError>>()?;
    Ok(Program {
        version: row.version,
        rates,
        return_window_days: row.return_window_days,
        undelivered_max_days: row.undelivered_max_days,
        expiry_months: row.expiry_months,
        min_redeem_points: row.min_redeem_points,
        max_redeem_percent: row.max_redeem_percent,
        hold_ttl_seconds: row.hold_ttl_seconds,
        grant_limit: row.grant_limit,
        tiers: row.tiers.0.into_iter().map(Tier::from).collect(),
        tier_grace_days: row.tier_grace_days,
        updated_at: row.updated_at,
    })
}

/// Replaces the program and its rates; the version goes up by one.
pub async fn save(conn: &mut PgConnection, p: &Program, now: DateTime<Utc>) -> Result<(), Error> {
    // Locked in a statement of its own: the write below then sees the
    // rates as the update before it left them, so two updates never merge.
    sqlx::query("SELECT 1 FROM loyalty.program FOR UPDATE")
        .execute(&mut *conn)
        .await?;
    let codes: Vec<&str> = p.rates.iter().map(|r| r.currency.code()).collect();
    let per_unit: Vec<Decimal> = p.rates.iter().map(|r| r.points_per_unit).collect();
    let value: Vec<Decimal> = p.rates.iter().map(|r| r.point_value).collect();
    let names: Vec<&str> = p.tiers.iter().map(|t| t.name.as_str()).collect();
    let mins: Vec<i64> = p.tiers.iter().map(|t| t.min_qualifying_points).collect();
    let multipliers: Vec<Decimal> = p.tiers.iter().map(|t| t.earn_multiplier).collect();
    let extra_days: Vec<i32> = p.tiers.iter().map(|t| t.extra_return_days).collect();
    let free_shipping: Vec<bool> = p.tiers.iter().map(|t| t.free_return_shipping).collect();
    let early: Vec<bool> = p.tiers.iter().map(|t| t.early_access).collect();
    // Tiers are replaced whole: the old rows go in a statement before the
    // new ones, since a data-modifying CTE cannot see a sibling's deletes.
    sqlx::query("DELETE FROM loyalty.tiers").execute(&mut *conn).await?;
    sqlx::query(
        "INSERT INTO loyalty.tiers (position, name, min_qualifying_points, earn_multiplier, extra_return_days,
             free_return_shipping, early_access)
         SELECT t.ord - 1, t.name, t.min, t.multiplier, t.days, t.free, t.early
         FROM UNNEST($1::text[], $2::bigint[], $3::numeric[], $4::int[], $5::bool[], $6::bool[])
             WITH ORDINALITY AS t (name, min, multiplier, days, free, early, ord)",
    )
    .bind(names)
    .bind(mins)
    .bind(multipliers)
    .bind(extra_days)
    .bind(free_shipping)
    .bind(early)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "WITH program AS (
             UPDATE loyalty.program SET version = version + 1, return_window_days = $1,
                 undelivered_max_days = $2, expiry_months = $3, min_redeem_points = $4,
                 max_redeem_percent = $5, hold_ttl_seconds = $6, grant_limit = $7, updated_at = $8,
                 tier_grace_days = $12),
         gone AS (DELETE FROM loyalty.currency_rates WHERE currency_code <> ALL ($9))
         INSERT INTO loyalty.currency_rates (currency_code, points_per_unit, point_value)
         SELECT * FROM UNNEST($9::text[], $10::numeric[], $11::numeric[])
         ON CONFLICT (currency_code) DO UPDATE
             SET points_per_unit = EXCLUDED.points_per_unit, point_value = EXCLUDED.point_value",
    )
    .bind(p.return_window_days)
    .bind(p.undelivered_max_days)
    .bind(p.expiry_months)
    .bind(p.min_redeem_points)
    .bind(p.max_redeem_percent)
    .bind(p.hold_ttl_seconds)
    .bind(p.grant_limit)
    .bind(now)
    .bind(codes)
    .bind(per_unit)
    .bind(value)
    .bind(p.tier_grace_days)
    .execute(&mut *conn)
    .await?;
    // New thresholds may move anyone: the job reviews every account again.
    sqlx::query("UPDATE loyalty.accounts SET tier_checked_at = NULL WHERE tier_checked_at IS NOT NULL")
        .execute(&mut *conn)
        .await?;
    Ok(())
}
