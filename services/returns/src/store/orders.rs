//! The order facts this service keeps (from order events), and the units
//! returns take of each line and the money refunds take of it.

use aftercare_kernel::{DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::sqlstate::{ConstraintKind, constraint, violates};
use sqlx::PgConnection;

use super::currency;
use crate::domain::{OrderFacts, OrderLine, ReturnError};

#[derive(sqlx::FromRow)]
struct LineRow {
    order_id: String,
    line_id: String,
    sku: String,
    product_name: String,
    category: String,
    quantity: i32,
    paid_amount: Decimal,
    delivered_at: Option<DateTime<Utc>>,
    requested_quantity: i32,
    refunded_units: i32,
    refunded_amount: Decimal,
    refunded_value: Decimal,
}

/// Loads an order and its lines; with `lock`, locks the lines so that
/// concurrent returns of one order take their units one after the other.
pub async fn order(conn: &mut PgConnection, order_id: &str, lock: bool) -> Result<Option<OrderFacts>, Error> {
    let header: Option<(String, String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT customer_id, currency_code, canceled_at FROM returns.orders WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((customer_id, currency_code, canceled_at)) = header else {
        return Ok(None);
    };
    let lock = if lock { " FOR UPDATE" } else { "" };
    let lines: Vec<LineRow> = sqlx::query_as(&format!(
        "SELECT order_id, line_id, sku, product_name, category, quantity, paid_amount, delivered_at,
                requested_quantity, refunded_units, refunded_amount, refunded_value
         FROM returns.order_lines WHERE order_id = $1 ORDER BY position{lock}"
    ))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    let currency = currency(&currency_code)?;
    let m = |amount| Money::from_decimal(currency, amount);
    Ok(Some(OrderFacts {
        order_id: order_id.to_owned(),
        customer_id,
        currency,
        canceled: canceled_at.is_some(),
        lines: lines
            .into_iter()
            .map(|l| OrderLine {
                order_id: l.order_id,
                line_id: l.line_id,
                sku: l.sku,
                product_name: l.product_name,
                category: l.category,
                quantity: l.quantity,
                paid_amount: m(l.paid_amount),
                delivered_at: l.delivered_at,
                requested_quantity: l.requested_quantity,
                refunded_units: l.refunded_units,
                refunded_amount: m(l.refunded_amount),
                refunded_value: m(l.refunded_value),
            })
            .collect(),
    }))
}

/// Takes `quantity` more units of a line into returns. The database refuses
/// more than was delivered, whatever raced before.
pub async fn reserve_units(tx: &mut PgConnection, order_id: &str, line_id: &str, quantity: i32) -> Result<(), Error> {
    let result = sqlx::query(
        "UPDATE returns.order_lines SET requested_quantity = requested_quantity + $3
         WHERE order_id = $1 AND line_id = $2",
    )
    .bind(order_id)
    .bind(line_id)
    .bind(quantity)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if violates(&e, "returned_at_most_delivered") => {
            Err(ReturnError::ItemsNotEligible(vec![(line_id.to_owned(), "ALREADY_RETURNED".to_owned())]).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives units back when a return is canceled or rejected.
pub async fn release_units(tx: &mut PgConnection, order_id: &str, line_id: &str, quantity: i32) -> Result<(), Error> {
    reserve_units(tx, order_id, line_id, -quantity).await
}

/// Records units of a line as refunded: worth `value`, refunding `amount`
/// (less after a restocking fee). The database refuses a line refunded
/// beyond what was paid for it.
pub async fn refund_units(
    tx: &mut PgConnection,
    order_id: &str,
    line_id: &str,
    units: i32,
    amount: Money,
    value: Money,
) -> Result<(), Error> {
    let result = sqlx::query(
        "UPDATE returns.order_lines SET refunded_units = refunded_units + $3, refunded_amount = refunded_amount + $4,
             refunded_value = refunded_value + $5
         WHERE order_id = $1 AND line_id = $2",
    )
    .bind(order_id)
    .bind(line_id)
    .bind(units)
    .bind(amount.amount())
    .bind(value.amount())
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if constraint(&e).is_some_and(|c| c.kind == ConstraintKind::Check) => {
            Err(ReturnError::RefundExceedsPaid {
                line_id: line_id.to_owned(),
            }
            .into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives back units a canceled return held as refunded, with their amount
/// and value.
pub async fn unrefund_units(
    tx: &mut PgConnection,
    order_id: &str,
    line_id: &str,
    units: i32,
    amount: Money,
    value: Money,
) -> Result<(), Error> {
    let zero = Money::zero(amount.currency());
    refund_units(tx, order_id, line_id, -units, zero - amount, zero - value).await
}

/// Returns the customer created since `since` that were not canceled.
pub async fn recent_returns(conn: &mut PgConnection, customer_id: &str, since: DateTime<Utc>) -> Result<i64, Error> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM returns.returns WHERE customer_id = $1 AND created_at >= $2 AND status <> 'canceled'",
    )
    .bind(customer_id)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?)
}
