//! Writing returns: a new return with its items, the lifecycle's changes
//! to it and to its items, and timeline entries.

use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::{Item, Return, ReturnId, TimelineEntry};

/// Inserts a new return as it stands, with its items, in one statement (not
/// its timeline or refund). What the lifecycle changes later is written by
/// [`update_return`]; a new return has no shipment, rejection or ship-by yet.
pub async fn insert_return(tx: &mut PgConnection, r: &Return) -> Result<(), Error> {
    let items = &r.items;
    let col = |f: fn(&Item) -> String| items.iter().map(f).collect::<Vec<_>>();
    let photos: Vec<serde_json::Value> = items.iter().map(|i| serde_json::json!(i.photo_urls)).collect();
    sqlx::query(
        "WITH r AS (
             INSERT INTO returns.returns (return_id, order_id, customer_id, status, channel, resolution,
                 currency_code, policy_category, policy_version, keep_items, keep_allowed, manual_review,
                 items_refund, shipping_fee, bonus, refund_total, exchange_difference, created_at, updated_at,
                 perk_tier, perk_extra_return_days, perk_free_return_shipping)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $27, $10, $11, $28, $29, $30, $31, $32, $12, $33,
                 $34, $35, $36)
             RETURNING return_id)
         INSERT INTO returns.return_items (return_id, position, line_id, sku, product_name, quantity, reason,
             note, photo_urls, resolution, replacement_sku, replacement_price, refund_amount,
             policy_category, policy_version)
         SELECT r.return_id, i.position, i.line_id, i.sku, i.product_name, i.quantity, i.reason, i.note,
                ARRAY(SELECT jsonb_array_elements_text(i.photos)), i.resolution, i.replacement_sku,
                i.replacement_price, i.refund_amount, i.policy_category, i.policy_version
         FROM r, UNNEST($13::int[], $14::text[], $15::text[], $16::text[], $17::int[], $18::text[], $19::text[],
                        $20::jsonb[], $21::text[], $22::text[], $23::numeric[], $24::numeric[], $25::text[],
                        $26::int[])
              AS i(position, line_id, sku, product_name, quantity, reason, note, photos, resolution,
                   replacement_sku, replacement_price, refund_amount, policy_category, policy_version)",
    )
    .bind(r.return_id.as_uuid())
    .bind(&r.order_id)
    .bind(&r.customer_id)
    .bind(r.status().as_str())
    .bind(r.channel.as_str())
    .bind(r.resolution.as_str())
    .bind(r.currency.code())
    .bind(&r.policy_category)
    .bind(r.policy_version)
    .bind(r.keep_allowed)
    .bind(r.manual_review)
    .bind(r.created_at)
    .bind((0..items.len() as i32).collect::<Vec<_>>())
    .bind(col(|i| i.line_id.clone()))
    .bind(col(|i| i.sku.clone()))
    .bind(col(|i| i.product_name.clone()))
    .bind(items.iter().map(|i| i.quantity).collect::<Vec<_>>())
    .bind(col(|i| i.reason.as_str().to_owned()))
    .bind(col(|i| i.note.clone()))
    .bind(photos)
    .bind(col(|i| i.resolution.as_str().to_owned()))
    .bind(items.iter().map(|i| i.replacement_sku.clone()).collect::<Vec<_>>())
    .bind(
        items
            .iter()
            .map(|i| i.replacement_price.map(|p| p.amount()))
            .collect::<Vec<_>>(),
    )
    .bind(items.iter().map(|i| i.refund_amount.amount()).collect::<Vec<_>>())
    .bind(col(|i| i.policy_category.clone()))
    .bind(items.iter().map(|i| i.policy_version).collect::<Vec<_>>())
    .bind(r.keep_items)
    .bind(r.settlement.items_refund.amount())
    .bind(r.settlement.shipping_fee.amount())
    .bind(r.settlement.bonus.amount())
    .bind(r.settlement.refund_total.amount())
    .bind(r.settlement.exchange_difference.amount())
    .bind(r.updated_at)
    .bind(r.perks.tier.as_deref())
    .bind(r.perks.extra_return_days)
    .bind(r.perks.free_return_shipping)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Writes the return's own fields that the lifecycle changes (not its items:
/// see [`update_items`]).
pub async fn update_return(tx: &mut PgConnection, r: &Return) -> Result<(), Error> {
    let s = &r.settlement;
    sqlx::query(
        "UPDATE returns.returns SET status = $2, keep_items = $3, items_refund = $4, shipping_fee = $5, bonus = $6,
             refund_total = $7, exchange_difference = $8, rejection_reason = $9, return_carrier = $10,
             return_tracking = $11, return_shipped_at = $12, exchange_carrier = $13, exchange_tracking = $14,
             exchange_shipped_at = $15, ship_by = $16, updated_at = $17
         WHERE return_id = $1",
    )
    .bind(r.return_id.as_uuid())
    .bind(r.status().as_str())
    .bind(r.keep_items)
    .bind(s.items_refund.amount())
    .bind(s.shipping_fee.amount())
    .bind(s.bonus.amount())
    .bind(s.refund_total.amount())
    .bind(s.exchange_difference.amount())
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
    Ok(())
}

/// Writes what the lifecycle changes of a return's items (receipt, grades,
/// refunds, replacement prices). Only the steps that change items call it.
pub async fn update_items(tx: &mut PgConnection, r: &Return) -> Result<(), Error> {
    for item in &r.items {
        sqlx::query(
            "UPDATE returns.return_items SET received_quantity = $3, grade = $4, refund_amount = $5,
                 refunded_units = $6, replacement_price = $7, refunded_value = $8
             WHERE return_id = $1 AND line_id = $2",
        )
        .bind(r.return_id.as_uuid())
        .bind(&item.line_id)
        .bind(item.received_quantity)
        .bind(item.grade.map(|g| g.as_str()))
        .bind(item.refund_amount.amount())
        .bind(item.refunded_units)
        .bind(item.replacement_price.map(|p| p.amount()))
        .bind(item.refunded_value.amount())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

pub async fn add_timeline(tx: &mut PgConnection, return_id: ReturnId, e: &TimelineEntry) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO returns.timeline (return_id, at, kind, status, text, actor_role, channel, customer_visible)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(return_id.as_uuid())
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
