//! Reading returns with their items, refunds, charges and timelines, and
//! the staff and customer listings; the writes are in `return_writes`.

use std::collections::HashMap;

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{Currency, DateTime, Decimal, Money, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::charges::{CHARGE_COLUMNS, CHARGE_JSON_COLUMNS, ChargeRow};
use super::refunds::{REFUND_COLUMNS, REFUND_JSON_COLUMNS, RefundRow};
pub use super::return_writes::{add_timeline, insert_return, update_items, update_return};
use super::{currency, parse};
use crate::domain::{
    Charge, ChargeStatus, Grade, Item, Lifecycle, Perks, Reason, Refund, Resolution, Return, ReturnError, ReturnFilter,
    ReturnId, Settlement, Shipment, Status, TimelineEntry,
};

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
    keep_allowed: bool,
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
    perk_tier: Option<String>,
    perk_extra_return_days: i32,
    perk_free_return_shipping: bool,
}

/// Items, timeline entries, refunds and charges are also read as JSON,
/// within a return's one-statement read ([`get_return`]); their money as
/// text, so that no float ever carries it.
#[derive(sqlx::FromRow, serde::Deserialize)]
struct ItemRow {
    #[serde(skip)]
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
    refunded_value: Decimal,
    policy_category: String,
    policy_version: i32,
    refunded_units: i32,
}

#[derive(sqlx::FromRow, serde::Deserialize)]
struct TimelineRow {
    #[serde(skip)]
    return_id: Uuid,
    at: DateTime<Utc>,
    status: Option<String>,
    text: String,
    actor_role: String,
    channel: Option<String>,
    customer_visible: bool,
}

const RETURN_COLUMNS: &str = "return_id, order_id, customer_id, status, channel, resolution, currency_code,
    policy_category, policy_version, keep_items, keep_allowed, manual_review, items_refund, shipping_fee, bonus,
    refund_total, exchange_difference, rejection_reason, return_carrier, return_tracking, return_shipped_at, exchange_carrier,
    exchange_tracking, exchange_shipped_at, ship_by, created_at, updated_at, perk_tier, perk_extra_return_days,
    perk_free_return_shipping";

/// A return with its items, latest refund, charges and timeline, as one row.
#[derive(sqlx::FromRow)]
struct FullReturnRow {
    #[sqlx(flatten)]
    row: ReturnRow,
    items: Json<Vec<ItemRow>>,
    refund: Option<Json<RefundRow>>,
    charges: Json<Vec<ChargeRow>>,
    timeline: Json<Vec<TimelineRow>>,
}

/// Loads a return with its items, latest refund, charges and timeline in
/// one statement (the children aggregated as JSON); with `lock`, locks it
/// first so that every change of one return happens one at a time. The lock
/// is its own statement: one that waited for it would re-read only the
/// locked row, and its children would be as they were before the wait.
pub async fn get_return(conn: &mut PgConnection, return_id: ReturnId, lock: bool) -> Result<Option<Return>, Error> {
    if lock {
        let exists = sqlx::query("SELECT 1 FROM returns.returns WHERE return_id = $1 FOR UPDATE")
            .bind(return_id.as_uuid())
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
    }
    let row: Option<FullReturnRow> = sqlx::query_as(&format!(
        "SELECT {RETURN_COLUMNS},
             (SELECT COALESCE(json_agg(i ORDER BY i.position), '[]') FROM (
                  SELECT position, line_id, sku, product_name, quantity, reason, note, photo_urls, resolution,
                         replacement_sku, replacement_price::text AS replacement_price, received_quantity, grade,
                         refund_amount::text AS refund_amount, refunded_value::text AS refunded_value,
                         policy_category, policy_version, refunded_units
                  FROM returns.return_items WHERE return_id = r.return_id) i) AS items,
             (SELECT row_to_json(f) FROM (
                  SELECT {REFUND_JSON_COLUMNS} FROM returns.refunds WHERE return_id = r.return_id
                  ORDER BY created_at DESC, refund_id DESC LIMIT 1) f) AS refund,
             (SELECT COALESCE(json_agg(c ORDER BY c.created_at, c.charge_id), '[]') FROM (
                  SELECT {CHARGE_JSON_COLUMNS} FROM returns.charges WHERE return_id = r.return_id) c) AS charges,
             (SELECT COALESCE(json_agg(t ORDER BY t.id), '[]') FROM (
                  SELECT id, at, status, text, actor_role, channel, customer_visible
                  FROM returns.timeline WHERE return_id = r.return_id) t) AS timeline
         FROM returns.returns r WHERE r.return_id = $1"
    ))
    .bind(return_id.as_uuid())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(full) = row else {
        return Ok(None);
    };
    let refund = full.refund.map(|f| Refund::try_from(f.0)).transpose()?;
    let charges = full
        .charges
        .0
        .into_iter()
        .map(Charge::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Some(build(full.row, &full.items.0, refund, charges, &full.timeline.0)?))
}

fn item(i: &ItemRow, currency: Currency) -> Result<Item, ReturnError> {
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
        replacement_price: i.replacement_price.map(|p| Money::from_decimal(currency, p)),
        received_quantity: i.received_quantity,
        grade: i
            .grade
            .as_deref()
            .map(|g| parse(g, "grade", Grade::parse))
            .transpose()?,
        refund_amount: Money::from_decimal(currency, i.refund_amount),
        refunded_value: Money::from_decimal(currency, i.refunded_value),
        policy_category: i.policy_category.clone(),
        policy_version: i.policy_version,
        refunded_units: i.refunded_units,
    })
}

fn timeline_entry(t: &TimelineRow) -> Result<TimelineEntry, ReturnError> {
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
}

fn shipment(carrier: Option<String>, tracking: Option<String>, at: Option<DateTime<Utc>>) -> Option<Shipment> {
    Some(Shipment {
        carrier: carrier?,
        tracking_number: tracking?,
        shipped_at: at?,
    })
}

/// Returns with their items, latest refunds, charges and timelines: five
/// queries for any number of returns.
async fn assemble(conn: &mut PgConnection, rows: Vec<ReturnRow>) -> Result<Vec<Return>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.return_id).collect();
    let items: Vec<ItemRow> = sqlx::query_as(
        "SELECT return_id, line_id, sku, product_name, quantity, reason, note, photo_urls, resolution,
                replacement_sku, replacement_price, received_quantity, grade, refund_amount,
                refunded_value, policy_category, policy_version, refunded_units
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
    let mut refunds: HashMap<Uuid, Refund> = HashMap::new();
    for row in rows_of_refunds {
        refunds.insert(row.return_id, Refund::try_from(row)?);
    }
    // Every charge, oldest first: the last is the latest, the succeeded
    // ones add up to what was collected.
    let charge_rows: Vec<ChargeRow> = sqlx::query_as(&format!(
        "SELECT {CHARGE_COLUMNS} FROM returns.charges WHERE return_id = ANY ($1) ORDER BY created_at, charge_id"
    ))
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut charges: HashMap<Uuid, Vec<Charge>> = HashMap::new();
    for row in charge_rows {
        charges.entry(row.return_id).or_default().push(Charge::try_from(row)?);
    }
    let timeline: Vec<TimelineRow> = sqlx::query_as(
        "SELECT return_id, at, status, text, actor_role, channel, customer_visible
         FROM returns.timeline WHERE return_id = ANY ($1) ORDER BY return_id, id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;

    rows.into_iter()
        .map(|r| {
            let id = r.return_id;
            let mine = |i: &&ItemRow| i.return_id == id;
            let items: Vec<&ItemRow> = items.iter().filter(mine).collect();
            let timeline: Vec<&TimelineRow> = timeline.iter().filter(|t| t.return_id == id).collect();
            let refund = refunds.remove(&id);
            let charges = charges.remove(&id).unwrap_or_default();
            Ok(build(r, items, refund, charges, timeline)?)
        })
        .collect()
}

/// A return from its row and its children's (already its own).
fn build<'a>(
    r: ReturnRow,
    items: impl IntoIterator<Item = &'a ItemRow>,
    refund: Option<Refund>,
    mut charges: Vec<Charge>,
    timeline: impl IntoIterator<Item = &'a TimelineRow>,
) -> Result<Return, ReturnError> {
    let currency = currency(&r.currency_code)?;
    let m = |amount| Money::from_decimal(currency, amount);
    let collected = Money::sum(
        currency,
        charges
            .iter()
            .filter(|c| c.status == ChargeStatus::Succeeded)
            .map(|c| c.amount),
    );
    // The pending charge (there is at most one) if any, else the latest.
    let charge = match charges.iter().position(|c| c.status == ChargeStatus::Pending) {
        Some(pending) => Some(charges.swap_remove(pending)),
        None => charges.pop(),
    };
    Ok(Return {
        return_id: ReturnId::from_uuid(r.return_id),
        lifecycle: Lifecycle::restored(parse(&r.status, "status", Status::parse)?),
        channel: parse(&r.channel, "channel", Channel::parse)?,
        resolution: parse(&r.resolution, "resolution", Resolution::parse)?,
        currency,
        settlement: Settlement {
            items_refund: m(r.items_refund),
            shipping_fee: m(r.shipping_fee),
            bonus: m(r.bonus),
            refund_total: m(r.refund_total),
            exchange_difference: m(r.exchange_difference),
        },
        return_shipment: shipment(r.return_carrier, r.return_tracking, r.return_shipped_at),
        exchange_shipment: shipment(r.exchange_carrier, r.exchange_tracking, r.exchange_shipped_at),
        items: items.into_iter().map(|i| item(i, currency)).collect::<Result<_, _>>()?,
        refund,
        collected,
        charge,
        timeline: timeline.into_iter().map(timeline_entry).collect::<Result<_, _>>()?,
        order_id: r.order_id,
        customer_id: r.customer_id,
        policy_category: r.policy_category,
        policy_version: r.policy_version,
        keep_items: r.keep_items,
        keep_allowed: r.keep_allowed,
        manual_review: r.manual_review,
        rejection_reason: r.rejection_reason,
        ship_by: r.ship_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
        perks: Perks {
            tier: r.perk_tier,
            extra_return_days: r.perk_extra_return_days,
            free_return_shipping: r.perk_free_return_shipping,
        },
    })
}

/// The query of a page of returns: only the filters set, so each filter
/// combination can use its index (`$n::text IS NULL OR ...` would hide them
/// from the planner). The binds, in order: the set filters, then the
/// cursor's time and id when paging on, then the limit.
pub fn list_sql(f: &ReturnFilter, paging_on: bool) -> String {
    let (cmp, order) = if f.oldest_first { (">", "ASC") } else { ("<", "DESC") };
    let mut conditions = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if f.customer_id.is_some() {
        conditions.push(format!("customer_id = ${}", next()));
    }
    if f.status.is_some() {
        conditions.push(format!("status = ${}", next()));
    }
    if f.reason.is_some() {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM returns.return_items i WHERE i.return_id = r.return_id AND i.reason = ${})",
            next()
        ));
    }
    if f.order_id.is_some() {
        conditions.push(format!("order_id = ${}", next()));
    }
    if f.created_after.is_some() {
        conditions.push(format!("created_at >= ${}", next()));
    }
    if f.created_before.is_some() {
        conditions.push(format!("created_at < ${}", next()));
    }
    if paging_on {
        let (at, id) = (next(), next());
        conditions.push(format!("(created_at, return_id) {cmp} (${at}, ${id})"));
    }
    let limit = next();
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    format!(
        "SELECT {RETURN_COLUMNS} FROM returns.returns r {filter}
         ORDER BY created_at {order}, return_id {order} LIMIT ${limit}"
    )
}

pub async fn list_returns(
    conn: &mut PgConnection,
    f: &ReturnFilter,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Return>, Error> {
    let after_id = cursor
        .map(|c| Uuid::parse_str(&c.id))
        .transpose()
        .map_err(|_| Error::invalid("page_token", "not a page token from this query"))?;
    let sql = list_sql(f, cursor.is_some());
    let mut query = sqlx::query_as::<_, ReturnRow>(&sql);
    if let Some(customer_id) = &f.customer_id {
        query = query.bind(customer_id);
    }
    if let Some(status) = f.status {
        query = query.bind(status.as_str());
    }
    if let Some(reason) = f.reason {
        query = query.bind(reason.as_str());
    }
    if let Some(order_id) = &f.order_id {
        query = query.bind(order_id);
    }
    if let Some(after) = f.created_after {
        query = query.bind(after);
    }
    if let Some(before) = f.created_before {
        query = query.bind(before);
    }
    if let (Some(cursor), Some(id)) = (cursor, after_id) {
        query = query.bind(cursor.at).bind(id);
    }
    let rows = query.bind(limit).fetch_all(&mut *conn).await?;
    assemble(conn, rows).await
}
