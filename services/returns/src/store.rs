//! Storage in the `returns` schema: policies, flags, the order facts kept
//! from order events, returns, refunds and timelines. Queries only; the
//! rules are in `domain`, the transactions opened by `api` and `projection`.

use aftercare_platform::channel::Channel;
use aftercare_platform::error::Error;
use aftercare_platform::money::Currency;
use aftercare_platform::paging::Cursor;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::*;

fn constraint(e: &sqlx::Error) -> Option<(String, String)> {
    let db = e.as_database_error()?;
    Some((db.code()?.into_owned(), db.constraint().unwrap_or_default().to_owned()))
}

fn per_currency_to_json(list: &PerCurrency) -> serde_json::Value {
    serde_json::Value::Object(
        list.iter()
            .map(|(c, a)| (c.clone(), serde_json::Value::String(a.to_string())))
            .collect(),
    )
}

fn per_currency_from_json(value: &serde_json::Value) -> PerCurrency {
    let mut list: PerCurrency = value
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(c, a)| Some((c.clone(), a.as_str()?.parse().ok()?)))
        .collect();
    list.sort();
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

impl From<PolicyRow> for Policy {
    fn from(r: PolicyRow) -> Policy {
        Policy {
            category: r.category,
            version: r.version,
            return_window_days: r.return_window_days,
            final_sale: r.final_sale,
            allowed_resolutions: r
                .allowed_resolutions
                .iter()
                .filter_map(|s| Resolution::parse(s))
                .collect(),
            restocking_fee_percent: r.restocking_fee_percent.normalize(),
            return_shipping_fees: per_currency_from_json(&r.return_shipping_fees),
            auto_approve_max_refund: per_currency_from_json(&r.auto_approve_max_refund),
            keep_item_max_refund: per_currency_from_json(&r.keep_item_max_refund),
            auto_refund_on_receipt: r.auto_refund_on_receipt,
            manual_review_return_count: r.manual_review_return_count,
            manual_review_refund_limit: per_currency_from_json(&r.manual_review_refund_limit),
            exchange_bonus_percent: r.exchange_bonus_percent.normalize(),
            advance_exchange: r.advance_exchange,
            updated_at: r.created_at,
        }
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
    Ok(row.map(Policy::from))
}

/// The policy in force for a category: its own, else the default.
pub async fn effective_policy(conn: &mut PgConnection, category: &str, now: DateTime<Utc>) -> Result<Policy, Error> {
    if let Some(p) = policy(conn, category).await? {
        return Ok(p);
    }
    Ok(policy(conn, "").await?.unwrap_or_else(|| Policy::builtin_default(now)))
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
    row.map(Policy::from)
        .ok_or_else(|| Error::internal(format!("policy {category:?} v{version} is missing")))
}

/// The current version of every category's policy, the default first.
pub async fn list_policies(conn: &mut PgConnection) -> Result<Vec<Policy>, Error> {
    let rows: Vec<PolicyRow> = sqlx::query_as(&format!(
        "SELECT DISTINCT ON (category) {POLICY_COLUMNS} FROM returns.policies ORDER BY category, version DESC"
    ))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(Policy::from).collect())
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
    .bind(p.restocking_fee_percent)
    .bind(per_currency_to_json(&p.return_shipping_fees))
    .bind(per_currency_to_json(&p.auto_approve_max_refund))
    .bind(per_currency_to_json(&p.keep_item_max_refund))
    .bind(p.auto_refund_on_receipt)
    .bind(p.manual_review_return_count)
    .bind(per_currency_to_json(&p.manual_review_refund_limit))
    .bind(p.exchange_bonus_percent)
    .bind(p.advance_exchange)
    .bind(now)
    .fetch_one(&mut *tx)
    .await;
    match result {
        Ok(version) => Ok(version),
        Err(e) if constraint(&e).is_some_and(|(code, _)| code == "23505") => {
            Err(Error::Aborted("the policy was updated concurrently; retry".into()))
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

pub async fn is_flagged(conn: &mut PgConnection, customer_id: &str) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT flagged FROM returns.customer_flags WHERE customer_id = $1")
            .bind(customer_id)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or(false),
    )
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

/// An order as this service knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderFacts {
    pub order_id: String,
    pub customer_id: String,
    pub currency: Currency,
    pub canceled: bool,
    pub lines: Vec<OrderLine>,
}

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
                requested_quantity, refunded_units, refunded_amount
         FROM returns.order_lines WHERE order_id = $1 ORDER BY position{lock}"
    ))
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    let currency = Currency::from_code(&currency_code)
        .ok_or_else(|| Error::internal(format!("order {order_id} has unknown currency {currency_code}")))?;
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
                paid_amount: l.paid_amount,
                delivered_at: l.delivered_at,
                requested_quantity: l.requested_quantity,
                refunded_units: l.refunded_units,
                refunded_amount: l.refunded_amount,
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
        Err(e) if constraint(&e).is_some_and(|(_, c)| c == "returned_at_most_delivered") => Err(Error::precondition(
            "ITEMS_NOT_ELIGIBLE",
            format!("line {line_id} has fewer than {quantity} returnable units"),
        )
        .with_metadata(line_id, "ALREADY_RETURNED")),
        Err(e) => Err(e.into()),
    }
}

/// Gives units back when a return is canceled or rejected.
pub async fn release_units(tx: &mut PgConnection, order_id: &str, line_id: &str, quantity: i32) -> Result<(), Error> {
    reserve_units(tx, order_id, line_id, -quantity).await
}

/// Records units of a line as refunded for `amount`. The database refuses a
/// line refunded beyond what was paid for it.
pub async fn refund_units(
    tx: &mut PgConnection,
    order_id: &str,
    line_id: &str,
    units: i32,
    amount: Decimal,
) -> Result<(), Error> {
    let result = sqlx::query(
        "UPDATE returns.order_lines SET refunded_units = refunded_units + $3, refunded_amount = refunded_amount + $4
         WHERE order_id = $1 AND line_id = $2",
    )
    .bind(order_id)
    .bind(line_id)
    .bind(units)
    .bind(amount)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if constraint(&e).is_some_and(|(code, _)| code == "23514") => Err(Error::precondition(
            "REFUND_EXCEEDS_PAID",
            format!("line {line_id} cannot be refunded beyond what was paid for it"),
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(sqlx::FromRow)]
struct ReturnRow {
    return_id: Uuid,
    order_id: String,
    customer_id: String,
    status: String,
    channel: String,
    resolution: String,
    currency_code: String,
    policy_category: String,
    policy_version: i32,
    keep_items: bool,
    manual_review: bool,
    items_refund: Decimal,
    shipping_fee: Decimal,
    bonus: Decimal,
    refund_total: Decimal,
    exchange_difference: Decimal,
    rejection_reason: Option<String>,
    return_carrier: Option<String>,
    return_tracking: Option<String>,
    return_shipped_at: Option<DateTime<Utc>>,
    exchange_carrier: Option<String>,
    exchange_tracking: Option<String>,
    exchange_shipped_at: Option<DateTime<Utc>>,
    ship_by: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    return_id: Uuid,
    line_id: String,
    sku: String,
    product_name: String,
    quantity: i32,
    reason: String,
    note: String,
    photo_urls: Vec<String>,
    resolution: String,
    replacement_sku: Option<String>,
    replacement_price: Option<Decimal>,
    received_quantity: Option<i32>,
    grade: Option<String>,
    refund_amount: Decimal,
}

#[derive(sqlx::FromRow)]
struct RefundRow {
    refund_id: Uuid,
    return_id: Uuid,
    status: String,
    method: String,
    amount: Decimal,
    currency_code: String,
    provider_reference: Option<String>,
    failure_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TimelineRow {
    return_id: Uuid,
    at: DateTime<Utc>,
    status: Option<String>,
    text: String,
    actor_role: String,
    channel: Option<String>,
    customer_visible: bool,
}

fn parse<T>(value: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, Error> {
    f(value).ok_or_else(|| Error::internal(format!("stored {what} {value:?} is unknown")))
}

fn currency(code: &str) -> Result<Currency, Error> {
    parse(code, "currency", Currency::from_code)
}

impl TryFrom<RefundRow> for Refund {
    type Error = Error;
    fn try_from(r: RefundRow) -> Result<Refund, Error> {
        Ok(Refund {
            refund_id: r.refund_id,
            return_id: r.return_id,
            status: parse(&r.status, "refund status", RefundStatus::parse)?,
            method: parse(&r.method, "refund method", RefundMethod::parse)?,
            amount: r.amount,
            currency: currency(&r.currency_code)?,
            provider_reference: r.provider_reference,
            failure_reason: r.failure_reason,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const RETURN_COLUMNS: &str = "return_id, order_id, customer_id, status, channel, resolution, currency_code,
    policy_category, policy_version, keep_items, manual_review, items_refund, shipping_fee, bonus, refund_total,
    exchange_difference, rejection_reason, return_carrier, return_tracking, return_shipped_at, exchange_carrier,
    exchange_tracking, exchange_shipped_at, ship_by, created_at, updated_at";

const REFUND_COLUMNS: &str = "refund_id, return_id, status, method, amount, currency_code, provider_reference,
    failure_reason, created_at, updated_at";

/// Loads a return with its items, latest refund and timeline; with `lock`,
/// locks it so that every change of one return happens one at a time.
pub async fn get_return(conn: &mut PgConnection, return_id: Uuid, lock: bool) -> Result<Option<Return>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<ReturnRow> = sqlx::query_as(&format!(
        "SELECT {RETURN_COLUMNS} FROM returns.returns WHERE return_id = $1{lock}"
    ))
    .bind(return_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(assemble(conn, vec![row]).await?.pop()),
    }
}

async fn assemble(conn: &mut PgConnection, rows: Vec<ReturnRow>) -> Result<Vec<Return>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.return_id).collect();
    let items: Vec<ItemRow> = sqlx::query_as(
        "SELECT return_id, line_id, sku, product_name, quantity, reason, note, photo_urls, resolution,
                replacement_sku, replacement_price, received_quantity, grade, refund_amount
         FROM returns.return_items WHERE return_id = ANY ($1) ORDER BY return_id, position",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let rows_of_refunds: Vec<RefundRow> = sqlx::query_as(&format!(
        "SELECT DISTINCT ON (return_id) {REFUND_COLUMNS} FROM returns.refunds WHERE return_id = ANY ($1)
         ORDER BY return_id, created_at DESC, refund_id DESC"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut refunds = std::collections::HashMap::new();
    for row in rows_of_refunds {
        refunds.insert(row.return_id, Refund::try_from(row)?);
    }
    let timeline: Vec<TimelineRow> = sqlx::query_as(
        "SELECT return_id, at, status, text, actor_role, channel, customer_visible
         FROM returns.timeline WHERE return_id = ANY ($1) ORDER BY return_id, id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;

    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let shipment = |carrier: &Option<String>, tracking: &Option<String>, at: Option<DateTime<Utc>>| {
            Some(Shipment {
                carrier: carrier.clone()?,
                tracking_number: tracking.clone()?,
                shipped_at: at?,
            })
        };
        out.push(Return {
            return_id: r.return_id,
            status: parse(&r.status, "status", Status::parse)?,
            channel: parse(&r.channel, "channel", Channel::parse)?,
            resolution: parse(&r.resolution, "resolution", Resolution::parse)?,
            currency: currency(&r.currency_code)?,
            settlement: Settlement {
                items_refund: r.items_refund,
                shipping_fee: r.shipping_fee,
                bonus: r.bonus,
                refund_total: r.refund_total,
                exchange_difference: r.exchange_difference,
            },
            return_shipment: shipment(&r.return_carrier, &r.return_tracking, r.return_shipped_at),
            exchange_shipment: shipment(&r.exchange_carrier, &r.exchange_tracking, r.exchange_shipped_at),
            items: items
                .iter()
                .filter(|i| i.return_id == r.return_id)
                .map(|i| {
                    Ok(Item {
                        line_id: i.line_id.clone(),
                        sku: i.sku.clone(),
                        product_name: i.product_name.clone(),
                        quantity: i.quantity,
                        reason: parse(&i.reason, "reason", Reason::parse)?,
                        note: i.note.clone(),
                        photo_urls: i.photo_urls.clone(),
                        resolution: parse(&i.resolution, "resolution", Resolution::parse)?,
                        replacement_sku: i.replacement_sku.clone(),
                        replacement_price: i.replacement_price,
                        received_quantity: i.received_quantity,
                        grade: i
                            .grade
                            .as_deref()
                            .map(|g| parse(g, "grade", Grade::parse))
                            .transpose()?,
                        refund_amount: i.refund_amount,
                    })
                })
                .collect::<Result<_, Error>>()?,
            refund: refunds.remove(&r.return_id),
            timeline: timeline
                .iter()
                .filter(|t| t.return_id == r.return_id)
                .map(|t| {
                    Ok(TimelineEntry {
                        at: t.at,
                        status: t
                            .status
                            .as_deref()
                            .map(|s| parse(s, "status", Status::parse))
                            .transpose()?,
                        text: t.text.clone(),
                        actor_role: t.actor_role.clone(),
                        channel: t.channel.as_deref().and_then(Channel::parse),
                        customer_visible: t.customer_visible,
                    })
                })
                .collect::<Result<_, Error>>()?,
            order_id: r.order_id,
            customer_id: r.customer_id,
            policy_category: r.policy_category,
            policy_version: r.policy_version,
            keep_items: r.keep_items,
            manual_review: r.manual_review,
            rejection_reason: r.rejection_reason,
            ship_by: r.ship_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        });
    }
    Ok(out)
}

/// Inserts a new return and its items (not its timeline or refund).
pub async fn insert_return(tx: &mut PgConnection, r: &Return) -> Result<(), Error> {
    // What never changes; the rest is written by `update_return` below.
    sqlx::query(
        "INSERT INTO returns.returns (return_id, order_id, customer_id, status, channel, resolution, currency_code,
             policy_category, policy_version, keep_items, manual_review, items_refund, shipping_fee, bonus,
             refund_total, exchange_difference, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, false, $10, 0, 0, 0, 0, 0, $11, $11)",
    )
    .bind(r.return_id)
    .bind(&r.order_id)
    .bind(&r.customer_id)
    .bind(r.status.as_str())
    .bind(r.channel.as_str())
    .bind(r.resolution.as_str())
    .bind(r.currency.code())
    .bind(&r.policy_category)
    .bind(r.policy_version)
    .bind(r.manual_review)
    .bind(r.created_at)
    .execute(&mut *tx)
    .await?;
    for (position, item) in r.items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO returns.return_items (return_id, position, line_id, sku, product_name, quantity, reason,
                 note, photo_urls, resolution, replacement_sku, replacement_price, refund_amount)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(r.return_id)
        .bind(position as i32)
        .bind(&item.line_id)
        .bind(&item.sku)
        .bind(&item.product_name)
        .bind(item.quantity)
        .bind(item.reason.as_str())
        .bind(&item.note)
        .bind(&item.photo_urls)
        .bind(item.resolution.as_str())
        .bind(&item.replacement_sku)
        .bind(item.replacement_price)
        .bind(item.refund_amount)
        .execute(&mut *tx)
        .await?;
    }
    update_return(tx, r).await
}

/// Writes every field of a return that the lifecycle changes.
pub async fn update_return(tx: &mut PgConnection, r: &Return) -> Result<(), Error> {
    sqlx::query(
        "UPDATE returns.returns SET status = $2, keep_items = $3, items_refund = $4, shipping_fee = $5, bonus = $6,
             refund_total = $7, exchange_difference = $8, rejection_reason = $9, return_carrier = $10,
             return_tracking = $11, return_shipped_at = $12, exchange_carrier = $13, exchange_tracking = $14,
             exchange_shipped_at = $15, ship_by = $16, updated_at = $17
         WHERE return_id = $1",
    )
    .bind(r.return_id)
    .bind(r.status.as_str())
    .bind(r.keep_items)
    .bind(r.settlement.items_refund)
    .bind(r.settlement.shipping_fee)
    .bind(r.settlement.bonus)
    .bind(r.settlement.refund_total)
    .bind(r.settlement.exchange_difference)
    .bind(&r.rejection_reason)
    .bind(r.return_shipment.as_ref().map(|s| &s.carrier))
    .bind(r.return_shipment.as_ref().map(|s| &s.tracking_number))
    .bind(r.return_shipment.as_ref().map(|s| s.shipped_at))
    .bind(r.exchange_shipment.as_ref().map(|s| &s.carrier))
    .bind(r.exchange_shipment.as_ref().map(|s| &s.tracking_number))
    .bind(r.exchange_shipment.as_ref().map(|s| s.shipped_at))
    .bind(r.ship_by)
    .bind(r.updated_at)
    .execute(&mut *tx)
    .await?;
    for item in &r.items {
        sqlx::query(
            "UPDATE returns.return_items SET received_quantity = $3, grade = $4, refund_amount = $5
             WHERE return_id = $1 AND line_id = $2",
        )
        .bind(r.return_id)
        .bind(&item.line_id)
        .bind(item.received_quantity)
        .bind(item.grade.map(|g| g.as_str()))
        .bind(item.refund_amount)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

pub async fn add_timeline(tx: &mut PgConnection, return_id: Uuid, e: &TimelineEntry) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO returns.timeline (return_id, at, kind, status, text, actor_role, channel, customer_visible)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(return_id)
    .bind(e.at)
    .bind(if e.status.is_some() { "status" } else { "message" })
    .bind(e.status.map(|s| s.as_str()))
    .bind(&e.text)
    .bind(&e.actor_role)
    .bind(e.channel.map(|c| c.as_str()))
    .bind(e.customer_visible)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Inserts a pending refund. The database allows one pending or succeeded
/// refund per return, whatever races.
pub async fn insert_refund(tx: &mut PgConnection, f: &Refund) -> Result<(), Error> {
    let result = sqlx::query(&format!(
        "INSERT INTO returns.refunds ({REFUND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(f.refund_id)
    .bind(f.return_id)
    .bind(f.status.as_str())
    .bind(f.method.as_str())
    .bind(f.amount)
    .bind(f.currency.code())
    .bind(&f.provider_reference)
    .bind(&f.failure_reason)
    .bind(f.created_at)
    .bind(f.updated_at)
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if constraint(&e).is_some_and(|(_, c)| c == "refunds_one_live_per_return") => Err(Error::precondition(
            "REFUND_ALREADY_ISSUED",
            "this return already has a pending or succeeded refund",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn get_refund(conn: &mut PgConnection, refund_id: Uuid, lock: bool) -> Result<Option<Refund>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<RefundRow> = sqlx::query_as(&format!(
        "SELECT {REFUND_COLUMNS} FROM returns.refunds WHERE refund_id = $1{lock}"
    ))
    .bind(refund_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Refund::try_from).transpose()
}

pub async fn update_refund(tx: &mut PgConnection, f: &Refund) -> Result<(), Error> {
    sqlx::query(
        "UPDATE returns.refunds SET status = $2, provider_reference = $3, failure_reason = $4, updated_at = $5
         WHERE refund_id = $1",
    )
    .bind(f.refund_id)
    .bind(f.status.as_str())
    .bind(&f.provider_reference)
    .bind(&f.failure_reason)
    .bind(f.updated_at)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What staff may filter returns by.
#[derive(Debug, Default, Clone)]
pub struct ReturnFilter {
    pub customer_id: Option<String>,
    pub status: Option<Status>,
    pub reason: Option<Reason>,
    pub order_id: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Oldest first (work queues) instead of newest first.
    pub oldest_first: bool,
}

pub async fn list_returns(
    conn: &mut PgConnection,
    f: &ReturnFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Return>, Error> {
    let (cmp, order) = if f.oldest_first { (">", "ASC") } else { ("<", "DESC") };
    let after_id = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let rows: Vec<ReturnRow> = sqlx::query_as(&format!(
        "SELECT {RETURN_COLUMNS} FROM returns.returns r
         WHERE ($1::text IS NULL OR customer_id = $1)
           AND ($2::text IS NULL OR status = $2)
           AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM returns.return_items i
                                            WHERE i.return_id = r.return_id AND i.reason = $3))
           AND ($4::text IS NULL OR order_id = $4)
           AND ($5::timestamptz IS NULL OR created_at >= $5)
           AND ($6::timestamptz IS NULL OR created_at < $6)
           AND ($7::timestamptz IS NULL OR (created_at, return_id) {cmp} ($7, $8))
         ORDER BY created_at {order}, return_id {order}
         LIMIT $9"
    ))
    .bind(&f.customer_id)
    .bind(f.status.map(|s| s.as_str()))
    .bind(f.reason.map(|r| r.as_str()))
    .bind(&f.order_id)
    .bind(f.created_after)
    .bind(f.created_before)
    .bind(cursor.map(|c| c.at))
    .bind(after_id.unwrap_or_default())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    assemble(conn, rows).await
}
