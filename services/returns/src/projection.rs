//! The order facts this service keeps, from order intake's events: which
//! lines exist, what was paid for them, when they were delivered, whether the
//! order was canceled; and each customer's loyalty tier perks, from
//! loyalty's events; and the refunds warranty asks it to pay. Handlers are
//! idempotent (events arrive at least once) and never read another
//! service's schema.

use aftercare_kernel::clock::SharedClock;
use aftercare_platform::outbox::{Event, EventHandler, HandlerFuture, required, required_time, topic};
use aftercare_platform::uow::UnitOfWork;
use aftercare_platform::wire::parse_money;
use aftercare_proto::loyalty_events::TierChanged;
use aftercare_proto::order_events::{OrderCanceled, OrderDelivered, OrderRecorded, RecordedLine};
use aftercare_proto::warranty_events::ClaimRefundRequested;
use sqlx::PgConnection;

use crate::app::warranty_refunds::{self, Requested};

/// The consumer name; its subscription is also made by the migrations, so
/// no order event is missed before the service first starts.
pub const CONSUMER: &str = "returns.orders";

/// Applies order events in the transaction that claimed them.
pub struct OrderProjection;

fn db(e: sqlx::Error) -> String {
    e.to_string()
}

impl OrderProjection {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        if let Some(e) = event.decode::<OrderRecorded>()? {
            return self.recorded(tx, e).await;
        }
        if let Some(e) = event.decode::<OrderDelivered>()? {
            let delivered_at = required_time(e.delivered_at.as_ref(), "delivered_at")?;
            let known: bool = sqlx::query_scalar(
                "WITH delivered AS (
                     UPDATE returns.order_lines SET delivered_at = COALESCE(delivered_at, $3)
                     WHERE order_id = $1 AND line_id = ANY ($2))
                 SELECT EXISTS (SELECT 1 FROM returns.orders WHERE order_id = $1)",
            )
            .bind(&e.order_id)
            .bind(&e.line_ids)
            .bind(delivered_at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            return recorded_before(known, &e.order_id);
        }
        if let Some(e) = event.decode::<OrderCanceled>()? {
            let canceled_at = required_time(e.canceled_at.as_ref(), "canceled_at")?;
            let updated =
                sqlx::query("UPDATE returns.orders SET canceled_at = COALESCE(canceled_at, $2) WHERE order_id = $1")
                    .bind(&e.order_id)
                    .bind(canceled_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected();
            return recorded_before(updated == 1, &e.order_id);
        }
        // Never silently "handle" what it does not understand: a replayed
        // event of a retired topic stays visible as a failure.
        Err(format!("unexpected topic {}", event.topic))
    }

    /// The order and its lines in one statement; the lines go in only when
    /// the order row did.
    async fn recorded(&self, tx: &mut PgConnection, e: OrderRecorded) -> Result<(), String> {
        let order_id = required(&e.order_id, "order_id")?;
        if e.lines.is_empty() {
            return Err("an order without lines".into());
        }
        let mut paid = Vec::with_capacity(e.lines.len());
        for line in &e.lines {
            let amount = line
                .paid_amount
                .as_ref()
                .ok_or("paid_amount missing")
                .and_then(|m| parse_money(m).map_err(|_| "bad paid_amount"))?;
            if amount.currency().code() != e.currency_code {
                return Err(format!("line {} is paid in another currency", line.line_id));
            }
            paid.push(amount.amount());
        }
        let col = |f: fn(&RecordedLine) -> &String| e.lines.iter().map(f).collect::<Vec<_>>();
        let positions: Vec<i32> = (0..e.lines.len() as i32).collect();
        let quantities: Vec<i32> = e.lines.iter().map(|l| l.quantity).collect();
        sqlx::query(
            "WITH o AS (
                 INSERT INTO returns.orders (order_id, customer_id, currency_code) VALUES ($1, $2, $3)
                 ON CONFLICT (order_id) DO NOTHING
                 RETURNING order_id)
             INSERT INTO returns.order_lines (order_id, line_id, position, sku, product_name, category,
                 quantity, paid_amount, is_plan)
             SELECT o.order_id, l.* FROM o,
                 UNNEST($4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::int[], $10::numeric[],
                        $11::bool[]) AS l",
        )
        .bind(order_id)
        .bind(required(&e.customer_id, "customer_id")?)
        .bind(required(&e.currency_code, "currency_code")?)
        .bind(col(|l| &l.line_id))
        .bind(positions)
        .bind(col(|l| &l.sku))
        .bind(col(|l| &l.product_name))
        .bind(col(|l| &l.category))
        .bind(quantities)
        .bind(paid)
        .bind(
            e.lines
                .iter()
                .map(|l| !l.extends_line_id.is_empty())
                .collect::<Vec<bool>>(),
        )
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        Ok(())
    }
}

/// A delivery or cancellation is never delivered before its order's event
/// (the dispatcher keeps one order's events in order); this guards against
/// an order whose recording was lost, so the event is retried.
fn recorded_before(known: bool, order_id: &str) -> Result<(), String> {
    if known {
        Ok(())
    } else {
        Err(format!("order {order_id} not recorded yet"))
    }
}

impl EventHandler for OrderProjection {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![
            topic::<OrderRecorded>(),
            topic::<OrderDelivered>(),
            topic::<OrderCanceled>(),
        ]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The consumer of loyalty's tier changes; subscribed by the migrations too.
pub const PERKS_CONSUMER: &str = "returns.loyalty";

/// Keeps each customer's tier perks from loyalty's `TierChanged` events.
/// The dispatcher delivers one customer's events in their commit order, so
/// the last one applied is the tier now.
pub struct TierPerks;

impl TierPerks {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<TierChanged>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        let changed_at = required_time(e.changed_at.as_ref(), "changed_at")?;
        let customer_id = required(&e.customer_id, "customer_id")?;
        if e.to_tier.is_empty() {
            // The program has no tiers any more: no perks.
            sqlx::query("DELETE FROM returns.customer_perks WHERE customer_id = $1")
                .bind(customer_id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO returns.customer_perks (customer_id, tier, extra_return_days, free_return_shipping, changed_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (customer_id) DO UPDATE SET tier = EXCLUDED.tier,
                 extra_return_days = EXCLUDED.extra_return_days,
                 free_return_shipping = EXCLUDED.free_return_shipping, changed_at = EXCLUDED.changed_at",
        )
        .bind(customer_id)
        .bind(&e.to_tier)
        .bind(e.extra_return_days.clamp(0, 365))
        .bind(e.free_return_shipping)
        .bind(changed_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        Ok(())
    }
}

impl EventHandler for TierPerks {
    fn name(&self) -> &str {
        PERKS_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<TierChanged>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The consumer of warranty's refund requests; subscribed by the
/// migrations too.
pub const WARRANTY_CONSUMER: &str = "returns.warranty";

/// Pays warranty's refunds through this service's refund path
/// ([`crate::app::warranty_refunds`]), once per warranty refund.
pub struct WarrantyRefundRequests {
    pub clock: SharedClock,
}

/// The kinds of money warranty pays back.
const KINDS: [&str; 3] = ["refund", "price_reduction", "plan_cancellation"];

/// A request as its event told it, or why it cannot be paid.
fn parse_request(e: &ClaimRefundRequested, warranty_refund_id: uuid::Uuid) -> Result<Requested, &'static str> {
    let amount = e
        .amount
        .as_ref()
        .ok_or("no amount")
        .and_then(|m| parse_money(m).map_err(|_| "not an amount"))?;
    if !amount.is_positive() {
        return Err("an amount of nothing");
    }
    let order_line = match (e.order_id.as_str(), e.line_id.as_str()) {
        ("", "") => None,
        ("", _) | (_, "") => return Err("an order without its line, or a line without its order"),
        (o, l) => Some((o.to_owned(), l.to_owned())),
    };
    let unit_id = match e.unit_id.as_str() {
        "" => None,
        id => Some(uuid::Uuid::parse_str(id).map_err(|_| "a unit id that is not one")?),
    };
    if !KINDS.contains(&e.kind.as_str()) {
        return Err("an unknown kind of refund");
    }
    if e.customer_id.is_empty() {
        return Err("no customer");
    }
    Ok(Requested {
        warranty_refund_id,
        kind: e.kind.clone(),
        customer_id: e.customer_id.clone(),
        order_line,
        bought_elsewhere: e.bought_elsewhere,
        unit_id,
        units: e.units.clamp(0, 1),
        amount,
    })
}

impl WarrantyRefundRequests {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<ClaimRefundRequested>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        // Without its id there is no one to answer: it stays a failure to
        // see. Anything else wrong with it is answered as a failed refund.
        let id = uuid::Uuid::parse_str(required(&e.refund_id, "refund_id")?).map_err(|_| "refund_id is not a uuid")?;
        let err = |e: aftercare_platform::error::Error| e.to_string();
        let mut uow = UnitOfWork::within(tx, self.clock.now()).await.map_err(err)?;
        match parse_request(&e, id) {
            Ok(requested) => warranty_refunds::request(&mut uow, requested).await,
            Err(why) => warranty_refunds::refuse_malformed(&mut uow, id, &e.customer_id, why).await,
        }
        .map_err(err)?;
        uow.commit().await.map_err(err)
    }
}

impl EventHandler for WarrantyRefundRequests {
    fn name(&self) -> &str {
        WARRANTY_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<ClaimRefundRequested>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}
