//! Points from order and refund events: pending lots per line when an
//! order is recorded, their maturity fixed at delivery (delivery + the
//! return window), voided when the order is canceled, taken back when a
//! refund succeeds. Each runs in the transaction that claimed the event,
//! under the customer's account lock, and is idempotent: a line earns once
//! (its lot's unique key), a void finds nothing left to void, a refund is
//! claimed once (its id's key).

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Decimal, Duration, Money, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::{Review, review_tier, settle};
use crate::domain::campaign::{self, CampaignLine};
use crate::domain::tier::scaled;
use crate::domain::{Changes, Entry, EntryKind, LotId, reverse};
use crate::events::{self, LoyaltyEvent};
use crate::store;
use crate::store::lots::NewOrderLot;

/// The actor order events are recorded under.
pub const ORDER_EVENTS: &str = "event:orders";

/// A recorded order's lines, as earning needs them.
pub struct EarningLine {
    pub line_id: String,
    pub units: i32,
    pub paid: Money,
    pub category: String,
    pub sku: String,
}

/// An order as earning sees it.
pub struct EarningOrder<'a> {
    pub customer_id: &'a str,
    pub order_id: &'a str,
    pub placed_at: DateTime<Utc>,
    pub channel: Option<Channel>,
    pub lines: Vec<EarningLine>,
}

/// Creates the order's pending lots, at the multiplier of the customer's
/// tier before this order times the best campaign multiplier of each line,
/// and the order's best campaign bonus; then reviews the tier with the
/// order counted. The events to write.
pub async fn order_recorded(
    conn: &mut PgConnection,
    order: &EarningOrder<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<LoyaltyEvent>, Error> {
    let EarningOrder {
        customer_id,
        order_id,
        placed_at,
        ..
    } = *order;
    let lines = &order.lines;
    let program = store::program::load(conn).await?;
    if lines.iter().all(|l| program.points_for(l.paid) == 0) {
        return Ok(Vec::new());
    }
    let locked = store::accounts::lock(conn, customer_id, now).await?;
    let tier = locked
        .standing
        .tier
        .as_deref()
        .and_then(|n| program.tiers.iter().find(|t| t.name == n))
        .or(program.tiers.first());
    // Asked before this order's lots exist.
    let first_order = !store::campaigns::ordered_before(conn, customer_id).await?;
    let campaigns = store::campaigns::running(conn, placed_at).await?;
    let scope: Vec<CampaignLine> = lines
        .iter()
        .map(|l| CampaignLine {
            category: l.category.clone(),
            sku: l.sku.clone(),
        })
        .collect();
    let boost = campaign::boost(&campaigns, placed_at, order.channel, first_order, &scope);
    let tier_multiplier = tier.map_or(Decimal::ONE, |t| t.earn_multiplier);
    let lots: Vec<NewOrderLot> = lines
        .iter()
        .zip(&boost.multipliers)
        .map(|(l, campaign_multiplier)| {
            let base = program.points_for(l.paid);
            NewOrderLot {
                lot_id: LotId::new(),
                line_id: l.line_id.clone(),
                units: l.units,
                base,
                points: scaled(base, tier_multiplier * campaign_multiplier),
            }
        })
        .filter(|l| l.base > 0)
        .collect();
    let matures_at = placed_at + Duration::days(program.undelivered_max_days.into());
    let created =
        store::lots::insert_order_lots(conn, customer_id, order_id, &lots, placed_at, matures_at, now).await?;
    let points: i64 = created.iter().map(|(_, p)| p).sum();
    if points == 0 {
        return Ok(Vec::new());
    }
    let mut entry = Entry::new(
        customer_id,
        EntryKind::Earned,
        Changes::earned(points),
        ORDER_EVENTS,
        now,
    )
    .with_lots(&created);
    entry.order_id = Some(order_id.to_owned());
    store::accounts::post(conn, &entry).await?;
    let mut out = vec![events::earned(&entry)];
    if let Some((campaign_id, bonus)) = &boost.bonus {
        let lot =
            store::lots::insert_bonus_lot(conn, customer_id, order_id, campaign_id, *bonus, matures_at, now).await?;
        if let Some(lot) = lot {
            let mut entry = Entry::new(
                customer_id,
                EntryKind::Earned,
                Changes::earned(lot.1),
                ORDER_EVENTS,
                now,
            )
            .with_lots(&[lot]);
            entry.order_id = Some(order_id.to_owned());
            entry.reason = format!("campaign {campaign_id}");
            store::accounts::post(conn, &entry).await?;
            out.push(events::earned(&entry));
        }
    }
    out.extend(review_tier(conn, customer_id, &program, &locked.standing, Review::Aging, now).await?);
    Ok(out)
}

/// Delivered lines' points mature when their return window closes.
pub async fn order_delivered(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    line_ids: &[String],
    delivered_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let program = store::program::load(conn).await?;
    store::accounts::lock(conn, customer_id, now).await?;
    // Points mature once no return can take them back: after the window,
    // and after the longest window a tier perk gives (the customer may
    // reach that tier before the window closes).
    let longest_extra = program.tiers.iter().map(|t| t.extra_return_days).max().unwrap_or(0);
    let matures_at = delivered_at + Duration::days((program.return_window_days + longest_extra).into());
    store::lots::set_maturity(conn, customer_id, order_id, line_ids, matures_at).await
}

/// A canceled order's pending points are voided; the events to write.
pub async fn order_canceled(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<LoyaltyEvent>, Error> {
    let locked = store::accounts::lock(conn, customer_id, now).await?;
    let voided = store::lots::void_order_lots(conn, customer_id, order_id).await?;
    let points: i64 = voided.iter().map(|(_, p)| p).sum();
    if points == 0 {
        return Ok(Vec::new());
    }
    let mut entry = Entry::new(
        customer_id,
        EntryKind::Voided,
        Changes::voided(points),
        ORDER_EVENTS,
        now,
    )
    .with_lots(&voided);
    entry.order_id = Some(order_id.to_owned());
    entry.reason = "order canceled".into();
    store::accounts::post(conn, &entry).await?;
    // A canceled order no longer qualifies: no grace period for it.
    let program = store::program::load(conn).await?;
    Ok(
        review_tier(conn, customer_id, &program, &locked.standing, Review::TakenBack, now)
            .await?
            .into_iter()
            .collect(),
    )
}

/// The actor refund events are recorded under.
pub const REFUND_EVENTS: &str = "event:returns";

/// Takes back the points of a succeeded refund's units; the events to
/// write.
pub async fn refund_succeeded(
    conn: &mut PgConnection,
    customer_id: &str,
    order_id: &str,
    refund_id: &str,
    lines: &[(String, i32)],
    now: DateTime<Utc>,
) -> Result<Vec<LoyaltyEvent>, Error> {
    let locked = store::accounts::lock(conn, customer_id, now).await?;
    if !store::lots::claim_refund(conn, refund_id, customer_id, order_id, now).await? {
        return Ok(Vec::new());
    }
    // Points past their expiry are gone already: they cannot cover a
    // reversal (the order lots read them as empty), and settling first
    // writes their expiry before the reversal.
    let program = store::program::load(conn).await?;
    let mut out = Vec::new();
    if locked.due {
        out = settle(conn, customer_id, program.expiry_months, REFUND_EVENTS, now).await?;
    }
    let lots = store::lots::order_lots(conn, customer_id, order_id, now).await?;
    let reversal = reverse(&lots, lines);
    // Units are counted even when their share rounds to no points, so the
    // next refund of the line starts from them.
    store::lots::set_reversed(conn, &reversal.reversed).await?;
    if reversal.points() == 0 {
        out.extend(review_tier(conn, customer_id, &program, &locked.standing, Review::TakenBack, now).await?);
        return Ok(out);
    }
    let changes = Changes::reversed(reversal.from_pending, reversal.from_available, reversal.debt);
    let mut entry = Entry::new(customer_id, EntryKind::Reversed, changes, REFUND_EVENTS, now).taking(&reversal.taken);
    entry.order_id = Some(order_id.to_owned());
    entry.reason = format!("refund {refund_id}");
    store::accounts::post(conn, &entry).await?;
    store::lots::link_refund(conn, refund_id, entry.entry_id).await?;
    out.push(events::reversed(&entry, refund_id, reversal.debt));
    // Refunded spend no longer qualifies: no grace period for it.
    out.extend(review_tier(conn, customer_id, &program, &locked.standing, Review::TakenBack, now).await?);
    Ok(out)
}
