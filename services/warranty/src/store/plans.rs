//! Extended-warranty plans and the plans sold on orders.

use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{Extension, ExtensionId, Plan, WarrantyError};

pub async fn upsert_plan(conn: &mut PgConnection, p: &Plan, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO warranty.plans (sku, name, months, cooling_off_days, active, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (sku) DO UPDATE SET name = $2, months = $3, cooling_off_days = $4, active = $5, updated_at = $6",
    )
    .bind(&p.sku)
    .bind(&p.name)
    .bind(p.months)
    .bind(p.cooling_off_days)
    .bind(p.active)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn plans(conn: &mut PgConnection) -> Result<Vec<Plan>, Error> {
    let rows: Vec<(String, String, i32, i32, bool)> =
        sqlx::query_as("SELECT sku, name, months, cooling_off_days, active FROM warranty.plans ORDER BY sku")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(sku, name, months, cooling_off_days, active)| Plan {
            sku,
            name,
            months,
            cooling_off_days,
            active,
        })
        .collect())
}

pub async fn plan(conn: &mut PgConnection, sku: &str) -> Result<Option<Plan>, Error> {
    let row: Option<(String, String, i32, i32, bool)> =
        sqlx::query_as("SELECT sku, name, months, cooling_off_days, active FROM warranty.plans WHERE sku = $1")
            .bind(sku)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(sku, name, months, cooling_off_days, active)| Plan {
        sku,
        name,
        months,
        cooling_off_days,
        active,
    }))
}

#[derive(sqlx::FromRow)]
struct ExtensionRow {
    extension_id: Uuid,
    order_id: String,
    plan_line_id: String,
    extends_line_id: String,
    customer_id: String,
    sku: String,
    months: i32,
    price: Decimal,
    currency_code: String,
    delivered_at: DateTime<Utc>,
    cooling_off_until: DateTime<Utc>,
    canceled_at: Option<DateTime<Utc>>,
    refund_amount: Option<Decimal>,
}

impl TryFrom<ExtensionRow> for Extension {
    type Error = WarrantyError;
    fn try_from(r: ExtensionRow) -> Result<Extension, WarrantyError> {
        let currency = parse(&r.currency_code, "currency", Currency::from_code)?;
        Ok(Extension {
            extension_id: ExtensionId::from_uuid(r.extension_id),
            price: Money::from_decimal(currency, r.price),
            order_id: r.order_id,
            plan_line_id: r.plan_line_id,
            extends_line_id: r.extends_line_id,
            customer_id: r.customer_id,
            sku: r.sku,
            months: r.months,
            delivered_at: r.delivered_at,
            cooling_off_until: r.cooling_off_until,
            canceled_at: r.canceled_at,
            refund_due: r.refund_amount.map(|a| Money::from_decimal(currency, a)),
        })
    }
}

/// Records a plan sold on an order line, once: `false` when it was
/// recorded before (a replayed delivery).
pub async fn insert_extension(conn: &mut PgConnection, e: &Extension, now: DateTime<Utc>) -> Result<bool, Error> {
    let inserted = sqlx::query(
        "INSERT INTO warranty.extensions (extension_id, order_id, plan_line_id, extends_line_id, customer_id, sku,
             months, price, currency_code, delivered_at, cooling_off_until, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12)
         ON CONFLICT (order_id, plan_line_id) DO NOTHING",
    )
    .bind(e.extension_id.as_uuid())
    .bind(&e.order_id)
    .bind(&e.plan_line_id)
    .bind(&e.extends_line_id)
    .bind(&e.customer_id)
    .bind(&e.sku)
    .bind(e.months)
    .bind(e.price.amount())
    .bind(e.price.currency().code())
    .bind(e.delivered_at)
    .bind(e.cooling_off_until)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

const SELECT: &str = "SELECT extension_id, order_id, plan_line_id, extends_line_id, customer_id, sku, months, price,
     currency_code, delivered_at, cooling_off_until, canceled_at, refund_amount FROM warranty.extensions";

pub async fn extension(conn: &mut PgConnection, id: ExtensionId, lock: bool) -> Result<Option<Extension>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<ExtensionRow> = sqlx::query_as(&format!("{SELECT} WHERE extension_id = $1{lock}"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Extension::try_from).transpose()?)
}

pub async fn customer_extensions(conn: &mut PgConnection, customer_id: &str) -> Result<Vec<Extension>, Error> {
    let rows: Vec<ExtensionRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE customer_id = $1 ORDER BY created_at DESC, extension_id DESC"
    ))
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Extension::try_from(r).map_err(Error::from))
        .collect()
}

/// Months of the order line's active plans, for units registered after
/// their plan.
/// The plans are read locked (FOR SHARE), so a cancellation racing the
/// delivery either comes first (and is left out) or waits for the units.
pub async fn active_months(conn: &mut PgConnection, order_id: &str, line_id: &str) -> Result<i32, Error> {
    let months: Vec<i32> = sqlx::query_scalar(
        "SELECT months FROM warranty.extensions
         WHERE order_id = $1 AND extends_line_id = $2 AND status = 'active' FOR SHARE",
    )
    .bind(order_id)
    .bind(line_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(months.into_iter().sum())
}

/// Cancels a plan, keeping what canceling it pays back, so a failed
/// refund is issued again for the same amount.
pub async fn cancel(conn: &mut PgConnection, id: ExtensionId, refund: Money, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE warranty.extensions SET status = 'canceled', canceled_at = $2, refund_amount = $3
         WHERE extension_id = $1 AND status = 'active'",
    )
    .bind(id.as_uuid())
    .bind(now)
    .bind(refund.amount())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
