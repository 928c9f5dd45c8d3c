//! Service centres, service orders and the money paid back on claims.

use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use aftercare_platform::sqlstate::{ConstraintKind, constraint};
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{
    CentreKind, ClaimId, ClaimRefundId, ExtensionId, Remedy, ServiceOrder, ServiceOrderId, ServiceOrderStatus,
    WarrantyError,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Centre {
    pub centre_id: String,
    pub name: String,
    pub kind: CentreKind,
    pub active: bool,
}

pub async fn upsert_centre(conn: &mut PgConnection, c: &Centre, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO warranty.service_centres (centre_id, name, kind, active, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (centre_id) DO UPDATE SET name = $2, kind = $3, active = $4, updated_at = $5",
    )
    .bind(&c.centre_id)
    .bind(&c.name)
    .bind(c.kind.as_str())
    .bind(c.active)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn centres(conn: &mut PgConnection) -> Result<Vec<Centre>, Error> {
    let rows: Vec<(String, String, String, bool)> =
        sqlx::query_as("SELECT centre_id, name, kind, active FROM warranty.service_centres ORDER BY centre_id")
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(centre_id, name, kind, active)| {
            Ok(Centre {
                kind: parse(&kind, "centre kind", CentreKind::parse)?,
                centre_id,
                name,
                active,
            })
        })
        .collect()
}

pub async fn centre(conn: &mut PgConnection, id: &str) -> Result<Option<Centre>, Error> {
    let row: Option<(String, String, String, bool)> =
        sqlx::query_as("SELECT centre_id, name, kind, active FROM warranty.service_centres WHERE centre_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    row.map(|(centre_id, name, kind, active)| {
        Ok(Centre {
            kind: parse(&kind, "centre kind", CentreKind::parse)?,
            centre_id,
            name,
            active,
        })
    })
    .transpose()
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    service_order_id: Uuid,
    claim_id: Uuid,
    centre_id: String,
    status: String,
    paid: bool,
    inbound_tracking: String,
    diagnosis: String,
    parts: String,
    labour_minutes: i32,
    quote_amount: Option<Decimal>,
    quote_currency: Option<String>,
    result_notes: String,
    repaired: Option<bool>,
    outbound_carrier: String,
    outbound_tracking: String,
    created_at: DateTime<Utc>,
    received_at: Option<DateTime<Utc>>,
    shipped_back_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<OrderRow> for ServiceOrder {
    type Error = WarrantyError;
    fn try_from(r: OrderRow) -> Result<ServiceOrder, WarrantyError> {
        let quote = match (r.quote_amount, r.quote_currency) {
            (Some(a), Some(c)) => Some(Money::from_decimal(parse(&c, "currency", Currency::from_code)?, a)),
            _ => None,
        };
        Ok(ServiceOrder {
            service_order_id: ServiceOrderId::from_uuid(r.service_order_id),
            claim_id: ClaimId::from_uuid(r.claim_id),
            status: parse(&r.status, "service order status", ServiceOrderStatus::parse)?,
            centre_id: r.centre_id,
            paid: r.paid,
            inbound_tracking: r.inbound_tracking,
            diagnosis: r.diagnosis,
            parts: r.parts,
            labour_minutes: r.labour_minutes,
            quote,
            result_notes: r.result_notes,
            repaired: r.repaired,
            outbound_carrier: r.outbound_carrier,
            outbound_tracking: r.outbound_tracking,
            created_at: r.created_at,
            received_at: r.received_at,
            shipped_back_at: r.shipped_back_at,
            updated_at: r.updated_at,
        })
    }
}

/// Writes a new service order; a claim with an open one is
/// [`WarrantyError::ServiceStepNotAllowed`] (one open order per claim).
pub async fn insert_order(conn: &mut PgConnection, o: &ServiceOrder) -> Result<(), Error> {
    let result = sqlx::query(
        "INSERT INTO warranty.service_orders (service_order_id, claim_id, centre_id, status, paid, inbound_tracking,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(o.service_order_id.as_uuid())
    .bind(o.claim_id.as_uuid())
    .bind(&o.centre_id)
    .bind(o.status.as_str())
    .bind(o.paid)
    .bind(&o.inbound_tracking)
    .bind(o.created_at)
    .execute(&mut *conn)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if constraint(&e).is_some_and(|c| c.kind == ConstraintKind::Unique) => {
            Err(WarrantyError::ServiceStepNotAllowed {
                status: ServiceOrderStatus::Created,
                step: "open a second order for one claim",
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn update_order(conn: &mut PgConnection, o: &ServiceOrder) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.service_orders SET status = $2, diagnosis = $3, parts = $4, labour_minutes = $5,
             quote_amount = $6, quote_currency = $7, result_notes = $8, repaired = $9, outbound_carrier = $10,
             outbound_tracking = $11, received_at = $12, shipped_back_at = $13, updated_at = $14
         WHERE service_order_id = $1",
    )
    .bind(o.service_order_id.as_uuid())
    .bind(o.status.as_str())
    .bind(&o.diagnosis)
    .bind(&o.parts)
    .bind(o.labour_minutes)
    .bind(o.quote.map(|m| m.amount()))
    .bind(o.quote.map(|m| m.currency().code()))
    .bind(&o.result_notes)
    .bind(o.repaired)
    .bind(&o.outbound_carrier)
    .bind(&o.outbound_tracking)
    .bind(o.received_at)
    .bind(o.shipped_back_at)
    .bind(o.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn order(conn: &mut PgConnection, id: ServiceOrderId, lock: bool) -> Result<Option<ServiceOrder>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<OrderRow> = sqlx::query_as(&format!(
        "SELECT * FROM warranty.service_orders WHERE service_order_id = $1{lock}"
    ))
    .bind(id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(ServiceOrder::try_from).transpose()?)
}

/// Service orders, newest first, of one centre or all, after `cursor`.
pub async fn orders(
    conn: &mut PgConnection,
    centre_id: Option<&str>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<ServiceOrder>, Error> {
    let after = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT * FROM warranty.service_orders
         WHERE ($1::text IS NULL OR centre_id = $1)
           AND ($2::timestamptz IS NULL OR (created_at, service_order_id) < ($2, $3))
         ORDER BY created_at DESC, service_order_id DESC LIMIT $4",
    )
    .bind(centre_id)
    .bind(cursor.map(|c| c.at))
    .bind(after.unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| ServiceOrder::try_from(r).map_err(Error::from))
        .collect()
}

aftercare_kernel::named_enum!(
    /// What money is paid back for.
    RefundKind {
        Refund = "refund",
        PriceReduction = "price_reduction",
        PlanCancellation = "plan_cancellation",
    }
);

impl RefundKind {
    /// The kind of a claim's remedy that pays money back.
    pub fn of(remedy: Remedy) -> Option<RefundKind> {
        match remedy {
            Remedy::Refund => Some(RefundKind::Refund),
            Remedy::PriceReduction => Some(RefundKind::PriceReduction),
            _ => None,
        }
    }
}

/// Money paid back on a claim or a canceled plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: ClaimRefundId,
    /// What it pays back: a claim, or a canceled plan.
    pub claim_id: Option<ClaimId>,
    pub extension_id: Option<ExtensionId>,
    pub kind: RefundKind,
    pub amount: Money,
    pub status: &'static str,
    pub provider_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    refund_id: Uuid,
    claim_id: Option<Uuid>,
    extension_id: Option<Uuid>,
    kind: String,
    amount: Decimal,
    currency_code: String,
    status: String,
    provider_reference: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
}

const REFUND_STATUSES: [&str; 3] = ["pending", "succeeded", "failed"];

impl TryFrom<RefundRow> for Refund {
    type Error = WarrantyError;
    fn try_from(r: RefundRow) -> Result<Refund, WarrantyError> {
        Ok(Refund {
            refund_id: ClaimRefundId::from_uuid(r.refund_id),
            claim_id: r.claim_id.map(ClaimId::from_uuid),
            extension_id: r.extension_id.map(ExtensionId::from_uuid),
            kind: parse(&r.kind, "refund kind", RefundKind::parse)?,
            amount: Money::from_decimal(parse(&r.currency_code, "currency", Currency::from_code)?, r.amount),
            status: parse(&r.status, "refund status", |s| {
                REFUND_STATUSES.into_iter().find(|x| *x == s)
            })?,
            provider_reference: r.provider_reference,
            failure_reason: r.failure_reason,
            created_at: r.created_at,
        })
    }
}

/// Writes a pending refund; a claim with a live one (pending or
/// succeeded) is [`WarrantyError::RefundAlreadyIssued`], whatever races.
pub async fn insert_refund(conn: &mut PgConnection, r: &Refund) -> Result<(), Error> {
    let result = sqlx::query(
        "INSERT INTO warranty.refunds (refund_id, claim_id, extension_id, kind, amount, currency_code, status,
             created_at, updated_at)
         VALUES ($1, $2, $7, $3, $4, $5, 'pending', $6, $6)",
    )
    .bind(r.refund_id.as_uuid())
    .bind(r.claim_id.map(|c| c.as_uuid()))
    .bind(r.kind.as_str())
    .bind(r.amount.amount())
    .bind(r.amount.currency().code())
    .bind(r.created_at)
    .bind(r.extension_id.map(|e| e.as_uuid()))
    .execute(&mut *conn)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if constraint(&e).is_some_and(|c| c.kind == ConstraintKind::Unique) => {
            Err(WarrantyError::RefundAlreadyIssued.into())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn refund(conn: &mut PgConnection, id: ClaimRefundId, lock: bool) -> Result<Option<Refund>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<RefundRow> = sqlx::query_as(&format!("SELECT * FROM warranty.refunds WHERE refund_id = $1{lock}"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Refund::try_from).transpose()?)
}

/// Settles a pending refund.
pub async fn settle_refund(conn: &mut PgConnection, r: &Refund, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.refunds SET status = $2, provider_reference = $3, failure_reason = $4, updated_at = $5
         WHERE refund_id = $1 AND status = 'pending'",
    )
    .bind(r.refund_id.as_uuid())
    .bind(r.status)
    .bind(r.provider_reference.as_deref())
    .bind(r.failure_reason.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the claim has a refund pending or paid.
pub async fn live_refund(conn: &mut PgConnection, claim: ClaimId) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM warranty.refunds WHERE claim_id = $1 AND status <> 'failed')")
            .bind(claim.as_uuid())
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Whether the claim has a service order not shipped back yet.
pub async fn open_order(conn: &mut PgConnection, claim: ClaimId) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM warranty.service_orders WHERE claim_id = $1 AND status <> 'shipped_back')",
    )
    .bind(claim.as_uuid())
    .fetch_one(&mut *conn)
    .await?)
}

/// A unit and the units it replaced, back to the one sold: money paid
/// back on any of them counts against the one price.
const UNIT_CHAIN: &str = "WITH RECURSIVE chain (id, replaces) AS (
         SELECT registration_id, replaces FROM warranty.registrations WHERE registration_id = $1
         UNION
         SELECT r.registration_id, r.replaces FROM warranty.registrations r JOIN chain ON r.registration_id = chain.replaces)";

/// Whether money is being paid back on the unit (a pending refund of one
/// of its claims).
pub async fn unit_refund_live(
    conn: &mut PgConnection,
    registration: crate::domain::RegistrationId,
) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM warranty.refunds f JOIN warranty.claims c USING (claim_id)
                        WHERE c.registration_id = $1 AND f.status = 'pending')",
    )
    .bind(registration.as_uuid())
    .fetch_one(&mut *conn)
    .await?)
}

/// What the unit (and the units it replaced) has been paid back or is
/// being paid back (pending or succeeded refunds of its claims), in the
/// unit's currency.
pub async fn paid_back(
    conn: &mut PgConnection,
    registration: crate::domain::RegistrationId,
    currency: Currency,
) -> Result<Money, Error> {
    let totals: Vec<(String, Decimal)> = sqlx::query_as(&format!(
        "{UNIT_CHAIN}
         SELECT f.currency_code, sum(f.amount) FROM warranty.refunds f JOIN warranty.claims c USING (claim_id)
         WHERE c.registration_id IN (SELECT id FROM chain) AND f.status <> 'failed'
         GROUP BY f.currency_code"
    ))
    .bind(registration.as_uuid())
    .fetch_all(&mut *conn)
    .await?;
    let mut paid = Money::zero(currency);
    for (code, amount) in totals {
        if code != currency.code() {
            return Err(
                WarrantyError::Corrupt(format!("a refund in {code} on a unit priced in {}", currency.code())).into(),
            );
        }
        paid = Money::from_decimal(currency, amount);
    }
    Ok(paid)
}

/// Whether the plan has a refund pending or paid.
pub async fn live_plan_refund(conn: &mut PgConnection, extension: ExtensionId) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM warranty.refunds WHERE extension_id = $1 AND status <> 'failed')",
    )
    .bind(extension.as_uuid())
    .fetch_one(&mut *conn)
    .await?)
}
