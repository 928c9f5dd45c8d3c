//! Events in. Order events: recorded lines are kept, delivered lines
//! register a product per unit
//! ([`crate::app::registrations::register_delivered`]). Returns' refund
//! outcomes: a warranty refund paid through returns is settled here
//! ([`crate::app::remedies::settle_refund`]). Never reads another
//! service's schema.

use aftercare_kernel::clock::SharedClock;
use aftercare_platform::outbox::{self, Event, EventHandler, HandlerFuture, required, required_time, topic};
use aftercare_platform::uow::UnitOfWork;
use aftercare_platform::wire::parse_money;
use aftercare_proto::order_events::{OrderDelivered, OrderRecorded};
use aftercare_proto::return_events::{RefundFailed, RefundSucceeded};
use sqlx::PgConnection;

use crate::app::registrations::register_delivered;
use crate::app::remedies::{Settlement, settle_refund};
use crate::domain::ClaimRefundId;
use crate::store;
use crate::store::order_lines::{self, OrderLine};

/// The consumer name; its subscription is also made by the migrations.
pub const CONSUMER: &str = "warranty.orders";

pub struct OrderRegistrations {
    pub clock: SharedClock,
}

impl OrderRegistrations {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let err = |e: aftercare_platform::error::Error| e.to_string();
        if let Some(e) = event.decode::<OrderRecorded>()? {
            let placed_at = required_time(e.placed_at.as_ref(), "placed_at")?;
            let customer_id = required(&e.customer_id, "customer_id")?;
            let lines = e
                .lines
                .iter()
                .map(|l| {
                    if l.quantity <= 0 {
                        return Err(format!("line {} has no units", l.line_id));
                    }
                    let paid = l
                        .paid_amount
                        .as_ref()
                        .ok_or("paid_amount missing")
                        .and_then(|m| parse_money(m).map_err(|_| "bad paid_amount"))?;
                    Ok(OrderLine {
                        extends_line_id: (!l.extends_line_id.is_empty()).then(|| l.extends_line_id.clone()),
                        serial_numbers: l.serial_numbers.clone(),
                        paid_amount: paid.amount(),
                        currency_code: paid.currency().code().to_owned(),
                        order_id: e.order_id.clone(),
                        line_id: required(&l.line_id, "line_id")?.to_owned(),
                        customer_id: customer_id.to_owned(),
                        sku: l.sku.clone(),
                        product_name: l.product_name.clone(),
                        category: l.category.clone(),
                        quantity: l.quantity,
                        placed_at,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            return order_lines::insert(tx, &lines).await.map_err(err);
        }
        if let Some(e) = event.decode::<OrderDelivered>()? {
            let delivered_at = required_time(e.delivered_at.as_ref(), "delivered_at")?;
            let now = self.clock.now();
            let registered = register_delivered(tx, &e.order_id, &e.line_ids, delivered_at, now)
                .await
                .map_err(err)?;
            let events: Vec<(String, _)> = registered.into_iter().map(|r| (r.registration_id.clone(), r)).collect();
            outbox::enqueue_many(tx, &events, now).await.map_err(err)?;
            return Ok(());
        }
        Err(format!("unexpected topic {}", event.topic))
    }
}

impl EventHandler for OrderRegistrations {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<OrderRecorded>(), topic::<OrderDelivered>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The consumer of returns' refund outcomes; subscribed by the migrations.
pub const REFUND_CONSUMER: &str = "warranty.refunds";

/// Settles warranty's refunds as returns paid them (or could not), and
/// takes the units a return refunded out of coverage.
pub struct RefundOutcomes {
    pub clock: SharedClock,
}

impl RefundOutcomes {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let (refund, paid) = if let Some(e) = event.decode::<RefundSucceeded>()? {
            (e.refund.ok_or("refund missing")?, true)
        } else if let Some(e) = event.decode::<RefundFailed>()? {
            (e.refund.ok_or("refund missing")?, false)
        } else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        let err = |e: aftercare_platform::error::Error| e.to_string();
        if refund.warranty_refund_id.is_empty() {
            // A return's refund: the units it paid back are no longer
            // covered (their claims can pay nothing more).
            if !paid || refund.lines.is_empty() {
                return Ok(());
            }
            let refund_id = uuid::Uuid::parse_str(&refund.refund_id).map_err(|_| "refund_id is not a uuid")?;
            let order = required(&refund.order_id, "order_id")?;
            let lines: Vec<(String, String, i32)> = refund
                .lines
                .iter()
                .map(|l| (order.to_owned(), l.line_id.clone(), l.units))
                .collect();
            store::registrations::returned(tx, refund_id, &lines, self.clock.now())
                .await
                .map_err(err)?;
            return Ok(());
        }
        let id = ClaimRefundId::parse(&refund.warranty_refund_id).ok_or("warranty_refund_id is not a uuid")?;
        let settlement = if paid {
            Settlement::Paid(required(&refund.provider_reference, "provider_reference")?.to_owned())
        } else {
            Settlement::Failed(required(&refund.failure_reason, "failure_reason")?.to_owned())
        };
        let mut uow = UnitOfWork::within(tx, self.clock.now()).await.map_err(err)?;
        settle_refund(&mut uow, id, settlement).await.map_err(err)?;
        uow.commit().await.map_err(err)
    }
}

impl EventHandler for RefundOutcomes {
    fn name(&self) -> &str {
        REFUND_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<RefundSucceeded>(), topic::<RefundFailed>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}
