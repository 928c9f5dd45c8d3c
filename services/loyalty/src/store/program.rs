//! The program: one row, and a row per currency rate.

use aftercare_kernel::{Currency, DateTime, Decimal, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse;
use crate::domain::{CurrencyRate, Program};

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
    updated_at: DateTime<Utc>,
    rates: sqlx::types::Json<Vec<RateRow>>,
}

#[derive(serde::Deserialize)]
struct RateRow {
    currency_code: String,
    points_per_unit: Decimal,
    point_value: Decimal,
}

/// The program with its rates, in one statement.
pub async fn load(conn: &mut PgConnection) -> Result<Program, Error> {
    let row: ProgramRow = sqlx::query_as(
        "SELECT p.*, (SELECT COALESCE(json_agg(json_build_object(
                 'currency_code', r.currency_code,
                 'points_per_unit', r.points_per_unit::text,
                 'point_value', r.point_value::text) ORDER BY r.currency_code), '[]')
             FROM loyalty.currency_rates r) AS rates
         FROM loyalty.program p",
    )
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
    sqlx::query(
        "WITH program AS (
             UPDATE loyalty.program SET version = version + 1, return_window_days = $1,
                 undelivered_max_days = $2, expiry_months = $3, min_redeem_points = $4,
                 max_redeem_percent = $5, hold_ttl_seconds = $6, grant_limit = $7, updated_at = $8),
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
    .execute(&mut *conn)
    .await?;
    Ok(())
}
