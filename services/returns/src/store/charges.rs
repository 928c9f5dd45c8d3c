//! Charges of exchange differences: at most one pending per return,
//! enforced by a partial unique index.

use aftercare_kernel::{DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::sqlstate::violates;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{currency, parse};
use crate::domain::{Charge, ChargeId, ChargeStatus, ReturnError, ReturnId};

/// Also read as JSON (a return's charges within its one-statement read),
/// with the amount as text so that no float ever carries money.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct ChargeRow {
    charge_id: Uuid,
    pub(super) return_id: Uuid,
    status: String,
    amount: Decimal,
    currency_code: String,
    provider_reference: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ChargeRow> for Charge {
    type Error = ReturnError;
    fn try_from(r: ChargeRow) -> Result<Charge, ReturnError> {
        Ok(Charge {
            charge_id: ChargeId::from_uuid(r.charge_id),
            return_id: ReturnId::from_uuid(r.return_id),
            status: parse(&r.status, "charge status", ChargeStatus::parse)?,
            amount: Money::from_decimal(currency(&r.currency_code)?, r.amount),
            provider_reference: r.provider_reference,
            failure_reason: r.failure_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(super) const CHARGE_COLUMNS: &str = "charge_id, return_id, status, amount, currency_code, provider_reference,
    failure_reason, created_at, updated_at";

/// [`CHARGE_COLUMNS`] for JSON: the amount as text.
pub(super) const CHARGE_JSON_COLUMNS: &str = "charge_id, return_id, status, amount::text AS amount, currency_code,
    provider_reference, failure_reason, created_at, updated_at";

/// Inserts a pending charge; the database allows one pending per return.
pub async fn insert_charge(tx: &mut PgConnection, c: &Charge) -> Result<(), Error> {
    let result = sqlx::query(&format!(
        "INSERT INTO returns.charges ({CHARGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(c.charge_id.as_uuid())
    .bind(c.return_id.as_uuid())
    .bind(c.status.as_str())
    .bind(c.amount.amount())
    .bind(c.amount.currency().code())
    .bind(&c.provider_reference)
    .bind(&c.failure_reason)
    .bind(c.created_at)
    .bind(c.updated_at)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if violates(&e, "charges_one_pending_per_return") => Err(ReturnError::ChargeAlreadyPending.into()),
        Err(e) => Err(e.into()),
    }
}

pub async fn get_charge(conn: &mut PgConnection, charge_id: ChargeId, lock: bool) -> Result<Option<Charge>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<ChargeRow> = sqlx::query_as(&format!(
        "SELECT {CHARGE_COLUMNS} FROM returns.charges WHERE charge_id = $1{lock}"
    ))
    .bind(charge_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Charge::try_from).transpose()?)
}

pub async fn update_charge(tx: &mut PgConnection, c: &Charge) -> Result<(), Error> {
    sqlx::query(
        "UPDATE returns.charges SET status = $2, provider_reference = $3, failure_reason = $4, updated_at = $5
         WHERE charge_id = $1",
    )
    .bind(c.charge_id.as_uuid())
    .bind(c.status.as_str())
    .bind(&c.provider_reference)
    .bind(&c.failure_reason)
    .bind(c.updated_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
