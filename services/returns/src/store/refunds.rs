//! Refunds: at most one pending or succeeded per return, enforced by a
//! partial unique index.

use aftercare_kernel::{DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::sqlstate::violates;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{currency, parse};
use crate::domain::{Refund, RefundId, RefundMethod, RefundStatus, ReturnError, ReturnId};

/// Also read as JSON (a return's refund within its one-statement read), with
/// the amount as text so that no float ever carries money.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct RefundRow {
    refund_id: Uuid,
    pub(super) return_id: Uuid,
    status: String,
    method: String,
    amount: Decimal,
    currency_code: String,
    provider_reference: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RefundRow> for Refund {
    type Error = ReturnError;
    fn try_from(r: RefundRow) -> Result<Refund, ReturnError> {
        Ok(Refund {
            refund_id: RefundId::from_uuid(r.refund_id),
            return_id: ReturnId::from_uuid(r.return_id),
            status: parse(&r.status, "refund status", RefundStatus::parse)?,
            method: parse(&r.method, "refund method", RefundMethod::parse)?,
            amount: Money::from_decimal(currency(&r.currency_code)?, r.amount),
            provider_reference: r.provider_reference,
            failure_reason: r.failure_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(super) const REFUND_COLUMNS: &str = "refund_id, return_id, status, method, amount, currency_code,
    provider_reference, failure_reason, created_at, updated_at";

/// [`REFUND_COLUMNS`] for JSON: the amount as text.
pub(super) const REFUND_JSON_COLUMNS: &str = "refund_id, return_id, status, method, amount::text AS amount,
    currency_code, provider_reference, failure_reason, created_at, updated_at";

/// Inserts a pending refund. The database allows one pending or succeeded
/// refund per return, whatever races.
pub async fn insert_refund(tx: &mut PgConnection, f: &Refund) -> Result<(), Error> {
    let result = sqlx::query(&format!(
        "INSERT INTO returns.refunds ({REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(f.refund_id.as_uuid())
    .bind(f.return_id.as_uuid())
    .bind(f.status.as_str())
    .bind(f.method.as_str())
    .bind(f.amount.amount())
    .bind(f.amount.currency().code())
    .bind(&f.provider_reference)
    .bind(&f.failure_reason)
    .bind(f.created_at)
    .bind(f.updated_at)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if violates(&e, "refunds_one_live_per_return") => {
            Err(ReturnError::RefundAlreadyIssued { refund_id: None }.into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn get_refund(conn: &mut PgConnection, refund_id: RefundId, lock: bool) -> Result<Option<Refund>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<RefundRow> = sqlx::query_as(&format!(
        "SELECT {REFUND_COLUMNS} FROM returns.refunds WHERE refund_id = $1{lock}"
    ))
    .bind(refund_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Refund::try_from).transpose()?)
}

pub async fn update_refund(tx: &mut PgConnection, f: &Refund) -> Result<(), Error> {
    sqlx::query(
        "UPDATE returns.refunds SET status = $2, provider_reference = $3, failure_reason = $4, updated_at = $5
         WHERE refund_id = $1",
    )
    .bind(f.refund_id.as_uuid())
    .bind(f.status.as_str())
    .bind(&f.provider_reference)
    .bind(&f.failure_reason)
    .bind(f.updated_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
