//! Terms, one row per version; the newest version of a key is in force.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse_all;
use crate::domain::{Exclusion, Remedy, RepeatFailureRule, Terms, TermsRef};

#[derive(sqlx::FromRow)]
struct TermsRow {
    category: String,
    sku: String,
    version: i32,
    duration_months: i32,
    covers_parts: bool,
    covers_labour: bool,
    covers_shipping: bool,
    exclusions: Vec<String>,
    remedies: Vec<String>,
    max_repair_working_days: i32,
    repair_time_extends: bool,
    repeat_window_months: i32,
    repeat_same_fault_max: i32,
    repeat_different_faults_max: i32,
    repeat_total_faults_max: i32,
    first_response_hours: i32,
    created_at: DateTime<Utc>,
}

impl TryFrom<TermsRow> for Terms {
    type Error = Error;
    fn try_from(r: TermsRow) -> Result<Terms, Error> {
        Ok(Terms {
            exclusions: parse_all(&r.exclusions, "exclusion", Exclusion::parse)?,
            remedies: parse_all(&r.remedies, "remedy", Remedy::parse)?,
            category: r.category,
            sku: r.sku,
            version: r.version,
            duration_months: r.duration_months,
            covers_parts: r.covers_parts,
            covers_labour: r.covers_labour,
            covers_shipping: r.covers_shipping,
            max_repair_working_days: r.max_repair_working_days,
            repair_time_extends: r.repair_time_extends,
            repeat_failure: RepeatFailureRule {
                window_months: r.repeat_window_months,
                same_fault_max: r.repeat_same_fault_max,
                different_faults_max: r.repeat_different_faults_max,
                total_faults_max: r.repeat_total_faults_max,
            },
            first_response_hours: r.first_response_hours,
            updated_at: r.created_at,
        })
    }
}

/// The terms in force for a product: the SKU's override, else the
/// category's, else the default.
pub async fn in_force(conn: &mut PgConnection, category: &str, sku: &str) -> Result<Terms, Error> {
    let row: TermsRow = sqlx::query_as(
        "SELECT * FROM warranty.terms
         WHERE (category, sku) IN (($1, $2), ($1, ''), ('', ''))
         ORDER BY (category = $1 AND sku = $2 AND $2 <> '') DESC, (category = $1) DESC, version DESC
         LIMIT 1",
    )
    .bind(category)
    .bind(sku)
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}

/// One version of a key's terms.
pub async fn version(conn: &mut PgConnection, r: &TermsRef) -> Result<Terms, Error> {
    let row: TermsRow =
        sqlx::query_as("SELECT * FROM warranty.terms WHERE category = $1 AND sku = $2 AND version = $3")
            .bind(&r.category)
            .bind(&r.sku)
            .bind(r.version)
            .fetch_one(&mut *conn)
            .await?;
    row.try_into()
}

/// The newest version of every key, the default first.
pub async fn all_in_force(conn: &mut PgConnection) -> Result<Vec<Terms>, Error> {
    let rows: Vec<TermsRow> =
        sqlx::query_as("SELECT DISTINCT ON (category, sku) * FROM warranty.terms ORDER BY category, sku, version DESC")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter().map(Terms::try_from).collect()
}

/// Writes the next version of `t`'s key; concurrent updates of the terms
/// serialize on a transaction lock, so versions never collide.
pub async fn insert_next(conn: &mut PgConnection, t: &Terms, now: DateTime<Utc>) -> Result<Terms, Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('warranty.terms'))")
        .execute(&mut *conn)
        .await?;
    let strings = |v: Vec<&'static str>| v.into_iter().map(str::to_owned).collect::<Vec<String>>();
    let r = &t.repeat_failure;
    let row: TermsRow = sqlx::query_as(
        "INSERT INTO warranty.terms
         SELECT $1, $2, COALESCE(max(version), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $16,
             $15
         FROM warranty.terms WHERE category = $1 AND sku = $2
         RETURNING *",
    )
    .bind(&t.category)
    .bind(&t.sku)
    .bind(t.duration_months)
    .bind(t.covers_parts)
    .bind(t.covers_labour)
    .bind(t.covers_shipping)
    .bind(strings(t.exclusions.iter().map(|e| e.as_str()).collect()))
    .bind(strings(t.remedies.iter().map(|e| e.as_str()).collect()))
    .bind(t.max_repair_working_days)
    .bind(t.repair_time_extends)
    .bind(r.window_months)
    .bind(r.same_fault_max)
    .bind(r.different_faults_max)
    .bind(r.total_faults_max)
    .bind(now)
    .bind(t.first_response_hours)
    .fetch_one(&mut *conn)
    .await?;
    row.try_into()
}
