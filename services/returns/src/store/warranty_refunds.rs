//! Warranty's refunds paid through returns: one row per warranty refund
//! id (a unique key), so an event delivered twice pays once.

use aftercare_kernel::{DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{currency, parse};
use crate::domain::{RefundId, RefundMethod, RefundStatus, ReturnError, WarrantyRefund};

#[derive(sqlx::FromRow)]
struct Row {
    refund_id: Uuid,
    warranty_refund_id: Uuid,
    kind: String,
    customer_id: String,
    order_id: Option<String>,
    line_id: Option<String>,
    unit_id: Option<Uuid>,
    units: i32,
    status: String,
    method: String,
    amount: Decimal,
    currency_code: String,
    provider_reference: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for WarrantyRefund {
    type Error = ReturnError;
    fn try_from(r: Row) -> Result<WarrantyRefund, ReturnError> {
        Ok(WarrantyRefund {
            refund_id: RefundId::from_uuid(r.refund_id),
            warranty_refund_id: r.warranty_refund_id,
            kind: r.kind,
            customer_id: r.customer_id,
            order_line: r.order_id.zip(r.line_id),
            unit_id: r.unit_id,
            units: r.units,
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

/// Writes `w` unless its warranty refund was written before; whether it
/// was written now.
pub async fn insert(tx: &mut PgConnection, w: &WarrantyRefund) -> Result<bool, Error> {
    let (order_id, line_id) = w.order_line.clone().unzip();
    let written = sqlx::query(
        "INSERT INTO returns.warranty_refunds (refund_id, warranty_refund_id, kind, customer_id, order_id, line_id,
             units, status, method, amount, currency_code, provider_reference, failure_reason, created_at,
             updated_at, unit_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)
         ON CONFLICT (warranty_refund_id) DO NOTHING",
    )
    .bind(w.refund_id.as_uuid())
    .bind(w.warranty_refund_id)
    .bind(&w.kind)
    .bind(&w.customer_id)
    .bind(order_id)
    .bind(line_id)
    .bind(w.units)
    .bind(w.status.as_str())
    .bind(w.method.as_str())
    .bind(w.amount.amount())
    .bind(w.amount.currency().code())
    .bind(&w.provider_reference)
    .bind(&w.failure_reason)
    .bind(w.created_at)
    .bind(w.unit_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(written == 1)
}

/// Whether warranty took the unit from its line before.
pub async fn unit_taken(conn: &mut PgConnection, unit: Uuid) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM returns.warranty_units WHERE unit_id = $1)")
            .bind(unit)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Records the unit as taken from its line by warranty, worth `value`.
pub async fn take_unit(
    tx: &mut PgConnection,
    unit: Uuid,
    order_id: &str,
    line_id: &str,
    value: Money,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO returns.warranty_units (unit_id, order_id, line_id, value, taken_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(unit)
    .bind(order_id)
    .bind(line_id)
    .bind(value.amount())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, id: RefundId, lock: bool) -> Result<Option<WarrantyRefund>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT * FROM returns.warranty_refunds WHERE refund_id = $1{lock}"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(WarrantyRefund::try_from).transpose()?)
}

pub async fn update(tx: &mut PgConnection, w: &WarrantyRefund) -> Result<(), Error> {
    sqlx::query(
        "UPDATE returns.warranty_refunds
         SET status = $2, provider_reference = $3, failure_reason = $4, updated_at = $5
         WHERE refund_id = $1",
    )
    .bind(w.refund_id.as_uuid())
    .bind(w.status.as_str())
    .bind(&w.provider_reference)
    .bind(&w.failure_reason)
    .bind(w.updated_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
