//! Policies (one row per version) and customer flags.

use std::collections::HashMap;
use std::sync::Mutex;

use aftercare_kernel::{Currency, DateTime, Decimal, Money, Percent, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::sqlstate::{ConstraintKind, constraint};

use sqlx::PgConnection;

use crate::domain::{PerCurrency, Policy, Resolution, ReturnError};

/// Amounts per currency are stored as a JSON object `{"EUR": "4.99"}`.
fn per_currency_to_json(list: &PerCurrency) -> serde_json::Value {
    serde_json::Value::Object(
        list.iter()
            .map(|m| {
                (
                    m.currency().code().to_owned(),
                    serde_json::Value::String(m.to_amount_string()),
                )
            })
            .collect(),
    )
}

fn per_currency_from_json(value: &serde_json::Value) -> PerCurrency {
    let mut list: PerCurrency = value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(c, a)| Money::parse(Currency::from_code(c)?, a.as_str()?).ok())
        .collect();
    list.sort_by_key(|m| m.currency().code());
    list
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    category: String,
    version: i32,
    return_window_days: i32,
    final_sale: bool,
    allowed_resolutions: Vec<String>,
    restocking_fee_percent: Decimal,
    return_shipping_fees: serde_json::Value,
    auto_approve_max_refund: serde_json::Value,
    keep_item_max_refund: serde_json::Value,
    auto_refund_on_receipt: bool,
    manual_review_return_count: i32,
    manual_review_refund_limit: serde_json::Value,
    exchange_bonus_percent: Decimal,
    advance_exchange: bool,
    created_at: DateTime<Utc>,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = ReturnError;
    fn try_from(r: PolicyRow) -> Result<Policy, ReturnError> {
        let percent = |d: Decimal| {
            Percent::new(d).map_err(|_| ReturnError::Corrupt(format!("policy {:?} has percentage {d}", r.category)))
        };
        Ok(Policy {
            version: r.version,
            return_window_days: r.return_window_days,
            final_sale: r.final_sale,
            allowed_resolutions: r
                .allowed_resolutions
                .iter()
                .filter_map(|s| Resolution::parse(s))
                .collect(),
            restocking_fee_percent: percent(r.restocking_fee_percent)?,
            return_shipping_fees: per_currency_from_json(&r.return_shipping_fees),
            auto_approve_max_refund: per_currency_from_json(&r.auto_approve_max_refund),
            keep_item_max_refund: per_currency_from_json(&r.keep_item_max_refund),
            auto_refund_on_receipt: r.auto_refund_on_receipt,
            manual_review_return_count: r.manual_review_return_count,
            manual_review_refund_limit: per_currency_from_json(&r.manual_review_refund_limit),
            exchange_bonus_percent: percent(r.exchange_bonus_percent)?,
            advance_exchange: r.advance_exchange,
            updated_at: r.created_at,
            category: r.category,
        })
    }
}

const POLICY_COLUMNS: &str = "category, version, return_window_days, final_sale, allowed_resolutions,
    restocking_fee_percent, return_shipping_fees, auto_approve_max_refund, keep_item_max_refund,
    auto_refund_on_receipt, manual_review_return_count, manual_review_refund_limit, exchange_bonus_percent,
    advance_exchange, created_at";

/// The current version of a category's own policy.
pub async fn policy(conn: &mut PgConnection, category: &str) -> Result<Option<Policy>, Error> {
    let row: Option<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM returns.policies WHERE category = $1 ORDER BY version DESC LIMIT 1"
    ))
    .bind(category)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Policy::try_from).transpose()?)
}

/// The policy in force for a category: its own, else the default.
pub async fn effective_policy(conn: &mut PgConnection, category: &str, now: DateTime<Utc>) -> Result<Policy, Error> {
    if let Some(p) = policy(conn, category).await? {
        return Ok(p);
    }
    Ok(policy(conn, "").await?.unwrap_or_else(|| Policy::builtin_default(now)))
}

/// Policies read by version. A version never changes once written (an
/// update writes the next version), so each is read from the database once
/// per process; the size bound only guards memory against endless updates.
#[derive(Default)]
pub struct PolicyCache(Mutex<HashMap<(String, i32), Policy>>);

impl PolicyCache {
    const MAX_ENTRIES: usize = 10_000;

    /// `category`'s policy `version`.
    pub async fn version(&self, conn: &mut PgConnection, category: &str, version: i32) -> Result<Policy, Error> {
        let key = (category.to_owned(), version);
        if let Some(p) = self.0.lock().expect("policy cache lock").get(&key) {
            return Ok(p.clone());
        }
        let policy = policy_version(conn, category, version).await?;
        let mut cache = self.0.lock().expect("policy cache lock");
        if cache.len() >= Self::MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(key, policy.clone());
        Ok(policy)
    }

    /// The policy in force as an order read found it (`None`: no policy is
    /// stored at all, so the built-in default).
    pub async fn in_force(
        &self,
        conn: &mut PgConnection,
        key: Option<&(String, i32)>,
        now: DateTime<Utc>,
    ) -> Result<Policy, Error> {
        match key {
            Some((category, version)) => self.version(conn, category, *version).await,
            None => Ok(Policy::builtin_default(now)),
        }
    }
}

/// A given version of a category's policy (what a return was decided under).
pub async fn policy_version(conn: &mut PgConnection, category: &str, version: i32) -> Result<Policy, Error> {
    let row: Option<PolicyRow> = sqlx::query_as(&format!(
        "SELECT {POLICY_COLUMNS} FROM returns.policies WHERE category = $1 AND version = $2"
    ))
    .bind(category)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or_else(|| ReturnError::Corrupt(format!("policy {category:?} v{version} is missing")))?;
    Ok(Policy::try_from(row)?)
}

/// The current version of every category's policy, the default first.
pub async fn list_policies(conn: &mut PgConnection) -> Result<Vec<Policy>, Error> {
    let rows: Vec<PolicyRow> = sqlx::query_as(&format!(
        "SELECT DISTINCT ON (category) {POLICY_COLUMNS} FROM returns.policies ORDER BY category, version DESC"
    ))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(Policy::try_from)
        .collect::<Result<_, ReturnError>>()?)
}

/// Stores `p` as the next version of its category; returns that version.
pub async fn insert_policy(tx: &mut PgConnection, p: &Policy, now: DateTime<Utc>) -> Result<i32, Error> {
    let resolutions: Vec<&str> = p.allowed_resolutions.iter().map(|r| r.as_str()).collect();
    let result = sqlx::query_scalar(
        "INSERT INTO returns.policies (category, version, return_window_days, final_sale, allowed_resolutions,
             restocking_fee_percent, return_shipping_fees, auto_approve_max_refund, keep_item_max_refund,
             auto_refund_on_receipt, manual_review_return_count, manual_review_refund_limit,
             exchange_bonus_percent, advance_exchange, created_at)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
         FROM returns.policies WHERE category = $1
         RETURNING version",
    )
    .bind(&p.category)
    .bind(p.return_window_days)
    .bind(p.final_sale)
    .bind(&resolutions)
    .bind(p.restocking_fee_percent.value())
    .bind(per_currency_to_json(&p.return_shipping_fees))
    .bind(per_currency_to_json(&p.auto_approve_max_refund))
    .bind(per_currency_to_json(&p.keep_item_max_refund))
    .bind(p.auto_refund_on_receipt)
    .bind(p.manual_review_return_count)
    .bind(per_currency_to_json(&p.manual_review_refund_limit))
    .bind(p.exchange_bonus_percent.value())
    .bind(p.advance_exchange)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    match result {
        Ok(version) => Ok(version),
        Err(e) if constraint(&e).is_some_and(|c| c.kind == ConstraintKind::Unique) => {
            Err(ReturnError::PolicyUpdatedConcurrently.into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn set_flag(
    tx: &mut PgConnection,
    customer_id: &str,
    flagged: bool,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO returns.customer_flags (customer_id, flagged, note, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_id) DO UPDATE SET flagged = $2, note = $3, updated_at = $4",
    )
    .bind(customer_id)
    .bind(flagged)
    .bind(note)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
