//! The order facts this service keeps (from order events), and the units
//! returns take of each line and the money refunds take of it.

use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::outbox::deliverable_sql;
use aftercare_platform::sqlstate::{ConstraintKind, constraint, violates};
use sqlx::PgConnection;

use super::currency;
use crate::domain::{OrderFacts, OrderLine, Perks, ReturnError};

#[derive(sqlx::FromRow)]
struct FactsRow {
    pending: bool,
    customer_id: String,
    currency_code: String,
    canceled_at: Option<DateTime<Utc>>,
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
    is_plan: bool,
    policy_category: Option<String>,
    policy_version: Option<i32>,
    perk_tier: Option<String>,
    perk_extra_return_days: Option<i32>,
    perk_free_return_shipping: Option<bool>,
}

/// An order's facts as read in one statement.
pub struct OrderView {
    pub facts: OrderFacts,
    /// The policy in force for each line's category (its own, else the
    /// default): category and version, in line order. `None` only when no
    /// policy is stored at all.
    pub policies: Vec<Option<(String, i32)>>,
    /// Whether order intake has events for this order that `consumer` has
    /// not applied yet: the facts may be behind.
    pub pending: bool,
    /// The customer's loyalty perks now.
    pub perks: Perks,
}

/// Loads an order, its lines, the policy version in force for each line and
/// with `pending_for` (a consumer, and now), whether that consumer is
/// behind on the order's events — one round trip.
/// With `lock`, locks the lines so that concurrent returns of one order
/// take their units one after the other. `None` when the order is unknown
/// (or not projected yet: see `pending` of a later read).
pub async fn order(
    conn: &mut PgConnection,
    order_id: &str,
    lock: bool,
    pending_for: Option<(&str, DateTime<Utc>)>,
) -> Result<Option<OrderView>, Error> {
    let lock = if lock { " FOR UPDATE OF l" } else { "" };
    let pending = deliverable_sql("$2", "$1", "$3");
    let rows: Vec<FactsRow> = sqlx::query_as(&format!(
        "SELECT p.pending, o.customer_id, o.currency_code, o.canceled_at, l.order_id, l.line_id, l.sku,
                l.product_name, l.category, l.quantity, l.paid_amount, l.delivered_at, l.requested_quantity,
                l.refunded_units, l.refunded_amount, l.refunded_value, l.is_plan,
                pol.category AS policy_category, pol.version AS policy_version,
                cp.tier AS perk_tier, cp.extra_return_days AS perk_extra_return_days,
                cp.free_return_shipping AS perk_free_return_shipping
         FROM (SELECT $2::text IS NOT NULL AND {pending} AS pending) p
         JOIN returns.orders o ON o.order_id = $1
         JOIN returns.order_lines l ON l.order_id = o.order_id
         LEFT JOIN returns.customer_perks cp ON cp.customer_id = o.customer_id
         LEFT JOIN LATERAL (
             SELECT category, version FROM returns.policies
             WHERE category IN (l.category, '')
             ORDER BY category = l.category DESC, version DESC LIMIT 1) pol ON true
         ORDER BY l.position{lock}"
    ))
    .bind(order_id)
    .bind(pending_for.map(|p| p.0))
    .bind(pending_for.map(|p| p.1))
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let currency = currency(&first.currency_code)?;
    let m = |amount| Money::from_decimal(currency, amount);
    let mut view = OrderView {
        facts: OrderFacts {
            order_id: order_id.to_owned(),
            customer_id: first.customer_id.clone(),
            currency,
            canceled: first.canceled_at.is_some(),
            lines: Vec::with_capacity(rows.len()),
        },
        policies: Vec::with_capacity(rows.len()),
        pending: first.pending,
        perks: Perks {
            tier: first.perk_tier.clone(),
            extra_return_days: first.perk_extra_return_days.unwrap_or(0),
            free_return_shipping: first.perk_free_return_shipping.unwrap_or(false),
        },
    };
    for l in rows {
        view.policies.push(l.policy_category.zip(l.policy_version));
        view.facts.lines.push(OrderLine {
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
            is_plan: l.is_plan,
        });
    }
    Ok(Some(view))
}

/// An order line as paying it back needs it.
pub struct LineBalance {
    pub currency: Currency,
    pub delivered: bool,
    pub quantity: i32,
    /// Units not taken into returns (nor by warranty).
    pub units_free: i32,
    pub refunded_units: i32,
    pub paid: Money,
    pub refunded_amount: Money,
    pub refunded_value: Money,
}

#[derive(sqlx::FromRow)]
struct BalanceRow {
    currency_code: String,
    delivered: bool,
    quantity: i32,
    requested_quantity: i32,
    refunded_units: i32,
    paid_amount: Decimal,
    refunded_amount: Decimal,
    refunded_value: Decimal,
}

/// An order line's balance, locked until the transaction ends so that
/// whatever pays back on it next sees this one's effect; `None` when no
/// order event told of the line (yet).
pub async fn line_balance(tx: &mut PgConnection, order_id: &str, line_id: &str) -> Result<Option<LineBalance>, Error> {
    let row: Option<BalanceRow> = sqlx::query_as(
        "SELECT o.currency_code, l.delivered_at IS NOT NULL AS delivered, l.quantity, l.requested_quantity,
             l.refunded_units, l.paid_amount, l.refunded_amount, l.refunded_value
         FROM returns.order_lines l JOIN returns.orders o USING (order_id)
         WHERE l.order_id = $1 AND l.line_id = $2 FOR UPDATE OF l",
    )
    .bind(order_id)
    .bind(line_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let currency = currency(&r.currency_code)?;
    let m = |d: Decimal| Money::from_decimal(currency, d);
    Ok(Some(LineBalance {
        currency,
        delivered: r.delivered,
        quantity: r.quantity,
        units_free: if r.delivered {
            r.quantity - r.requested_quantity
        } else {
            0
        },
        refunded_units: r.refunded_units,
        paid: m(r.paid_amount),
        refunded_amount: m(r.refunded_amount),
        refunded_value: m(r.refunded_value),
    }))
}

/// Whether `consumer` still has events of the order to apply (not dead):
/// what it knows of the order may be about to change.
pub async fn events_pending(conn: &mut PgConnection, consumer: &str, order_id: &str) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM platform.outbox_deliveries
                        WHERE consumer = $1 AND aggregate_id = $2 AND delivered_at IS NULL AND dead_at IS NULL)",
    )
    .bind(consumer)
    .bind(order_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves money paid back on a line without units (a warranty price
/// reduction or plan refund, or its failure given back with a negative
/// amount). The database refuses more than was paid.
pub async fn refund_money(tx: &mut PgConnection, order_id: &str, line_id: &str, amount: Money) -> Result<(), Error> {
    refund_units(tx, order_id, line_id, 0, amount, Money::zero(amount.currency())).await
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

/// Whether the customer is flagged for review, and how many returns they
/// created since `since` that were not canceled — one round trip.
pub async fn standing(conn: &mut PgConnection, customer_id: &str, since: DateTime<Utc>) -> Result<(bool, i64), Error> {
    Ok(sqlx::query_as(
        "SELECT COALESCE((SELECT flagged FROM returns.customer_flags WHERE customer_id = $1), false),
                (SELECT count(*) FROM returns.returns
                 WHERE customer_id = $1 AND created_at >= $2 AND status <> 'canceled')",
    )
    .bind(customer_id)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?)
}
