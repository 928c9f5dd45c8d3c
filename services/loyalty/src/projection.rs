//! Order events and succeeded refunds, applied to the ledger in the
//! transaction that claimed them ([`crate::app::earning`] and
//! [`crate::app::store_credit`] have the rules).
//! Never reads the `orders` or `returns` schemas.

use aftercare_kernel::clock::SharedClock;
use aftercare_platform::outbox::{Event, EventHandler, HandlerFuture, required, required_time, topic};
use aftercare_platform::wire::{channel_from_proto, parse_money};
use aftercare_proto::feedback_events::{FeedbackSubmitted, GoodwillRequested};
use aftercare_proto::order_events::{OrderCanceled, OrderDelivered, OrderRecorded};
use aftercare_proto::return_events::RefundSucceeded;
use aftercare_proto::returns::RefundMethod;
use sqlx::PgConnection;

use crate::app::earning::{self, EarningLine, EarningOrder};
use crate::app::store_credit;
use crate::domain::CreditedRefund;

/// The consumer name; its subscription is also made by the migrations, so
/// no order event is missed before the service first starts.
pub const CONSUMER: &str = "loyalty.orders";

pub struct OrderEarnings {
    pub clock: SharedClock,
}

impl OrderEarnings {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let now = self.clock.now();
        let err = |e: aftercare_platform::error::Error| e.to_string();
        if let Some(e) = event.decode::<OrderRecorded>()? {
            let lines = e
                .lines
                .iter()
                .map(|l| {
                    let paid = l
                        .paid_amount
                        .as_ref()
                        .ok_or("paid_amount missing")
                        .and_then(|m| parse_money(m).map_err(|_| "bad paid_amount"))?;
                    if l.quantity <= 0 {
                        return Err(format!("line {} has no units", l.line_id));
                    }
                    Ok(EarningLine {
                        line_id: required(&l.line_id, "line_id")?.to_owned(),
                        units: l.quantity,
                        paid,
                        category: l.category.clone(),
                        sku: l.sku.clone(),
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let order = EarningOrder {
                customer_id: required(&e.customer_id, "customer_id")?,
                order_id: required(&e.order_id, "order_id")?,
                placed_at: required_time(e.placed_at.as_ref(), "placed_at")?,
                channel: channel_from_proto(e.channel),
                lines,
            };
            let events = earning::order_recorded(tx, &order, now).await.map_err(err)?;
            for event in events {
                event.enqueue(tx, now).await.map_err(err)?;
            }
            return Ok(());
        }
        if let Some(e) = event.decode::<OrderDelivered>()? {
            let delivered_at = required_time(e.delivered_at.as_ref(), "delivered_at")?;
            let customer = required(&e.customer_id, "customer_id")?;
            return earning::order_delivered(tx, customer, &e.order_id, &e.line_ids, delivered_at, now)
                .await
                .map_err(err);
        }
        if let Some(e) = event.decode::<OrderCanceled>()? {
            let customer = required(&e.customer_id, "customer_id")?;
            let events = earning::order_canceled(tx, customer, &e.order_id, now)
                .await
                .map_err(err)?;
            for event in events {
                event.enqueue(tx, now).await.map_err(err)?;
            }
            return Ok(());
        }
        Err(format!("unexpected topic {}", event.topic))
    }
}

impl EventHandler for OrderEarnings {
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

/// The consumer of succeeded refunds; subscribed by the migrations too.
pub const REFUND_CONSUMER: &str = "loyalty.returns";

/// Succeeded refunds take back the points of their units.
pub struct RefundReversals {
    pub clock: SharedClock,
}

impl RefundReversals {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<RefundSucceeded>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        let refund = e.refund.ok_or("refund missing")?;
        if refund.order_id.is_empty() && !refund.warranty_refund_id.is_empty() {
            return Ok(()); // warranty money for a product bought elsewhere: no points were earned
        }
        let order = required(&refund.order_id, "order_id")?;
        // Its order's events reach loyalty on another consumer: a refund
        // that overtook them waits (is retried) until the lots exist.
        let order_pending: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM platform.outbox_deliveries
                            WHERE consumer = $1 AND aggregate_id = $2 AND delivered_at IS NULL)",
        )
        .bind(CONSUMER)
        .bind(order)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
        if order_pending {
            return Err(format!("order {order}: its events have not reached loyalty yet"));
        }
        let lines: Vec<(String, i32)> = refund.lines.iter().map(|l| (l.line_id.clone(), l.units)).collect();
        let now = self.clock.now();
        let err = |e: aftercare_platform::error::Error| e.to_string();
        let reversed = earning::refund_succeeded(
            tx,
            required(&refund.customer_id, "customer_id")?,
            order,
            required(&refund.refund_id, "refund_id")?,
            &lines,
            now,
        )
        .await
        .map_err(err)?;
        for event in reversed {
            event.enqueue(tx, now).await.map_err(err)?;
        }
        Ok(())
    }
}

impl EventHandler for RefundReversals {
    fn name(&self) -> &str {
        REFUND_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<RefundSucceeded>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The consumer of succeeded refunds for store credit; subscribed by the
/// migrations too.
pub const STORE_CREDIT_CONSUMER: &str = "loyalty.store_credit";

/// Succeeded store-credit refunds credit the customer's wallet, once.
pub struct StoreCreditRefunds {
    pub clock: SharedClock,
}

impl StoreCreditRefunds {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<RefundSucceeded>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        let refund = e.refund.ok_or("refund missing")?;
        if refund.method != RefundMethod::StoreCredit as i32 {
            return Ok(()); // paid back to the original payment: nothing to credit
        }
        let amount = refund
            .amount
            .as_ref()
            .ok_or("amount missing")
            .and_then(|m| parse_money(m).map_err(|_| "bad amount"))?;
        let credited = CreditedRefund {
            customer_id: required(&refund.customer_id, "customer_id")?.to_owned(),
            refund_id: required(&refund.refund_id, "refund_id")?.to_owned(),
            return_id: refund.return_id.clone(),
            order_id: refund.order_id.clone(),
            amount,
        };
        let now = self.clock.now();
        let err = |e: aftercare_platform::error::Error| e.to_string();
        if let Some(event) = store_credit::credit_refund(tx, credited, earning::REFUND_EVENTS, now)
            .await
            .map_err(err)?
        {
            event.enqueue(tx, now).await.map_err(err)?;
        }
        Ok(())
    }
}

impl EventHandler for StoreCreditRefunds {
    fn name(&self) -> &str {
        STORE_CREDIT_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<RefundSucceeded>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The consumer of feedback's goodwill; subscribed by the migrations too.
pub const GOODWILL_CONSUMER: &str = "loyalty.feedback";

/// Goodwill points a closed feedback follow-up grants, credited once per
/// follow-up: the grant's key is the follow-up, claimed in the delivery's
/// transaction, so a redelivered or replayed event finds it taken.
pub struct FeedbackGoodwill {
    pub app: std::sync::Arc<crate::app::Loyalty>,
    pub clock: SharedClock,
}

impl FeedbackGoodwill {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<GoodwillRequested>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        if e.points <= 0 {
            // Goodwill only ever adds: never a debit through this door.
            return Err(format!("goodwill of {} points", e.points));
        }
        let credit = crate::app::accounts::Credit {
            customer_id: required(&e.customer_id, "customer_id")?.to_owned(),
            points: e.points,
            reason: e.reason,
            request_id: format!("goodwill:{}", required(&e.follow_up_id, "follow_up_id")?),
        };
        let feedback = aftercare_platform::auth::Caller {
            role: aftercare_platform::auth::Role::Service,
            subject: "feedback".into(),
        };
        let err = |e: aftercare_platform::error::Error| e.to_string();
        let mut uow = aftercare_platform::uow::UnitOfWork::within(tx, self.clock.now())
            .await
            .map_err(err)?;
        self.app
            .grant_within(&mut uow, &feedback, credit, "loyalty.FeedbackGoodwill")
            .await
            .map_err(err)?;
        uow.commit().await.map_err(err)
    }
}

impl EventHandler for FeedbackGoodwill {
    fn name(&self) -> &str {
        GOODWILL_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<GoodwillRequested>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The consumer of answered surveys; subscribed by the migrations too.
pub const SURVEY_CONSUMER: &str = "loyalty.surveys";

/// A survey answered while a survey campaign runs earns its bonus, once
/// per survey: the grant's key is the survey, claimed in the delivery's
/// transaction.
pub struct SurveyBonuses {
    pub app: std::sync::Arc<crate::app::Loyalty>,
    pub clock: SharedClock,
}

impl SurveyBonuses {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<FeedbackSubmitted>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        if e.changed {
            return Ok(()); // a changed answer earns nothing more
        }
        let answered_at = required_time(e.answered_at.as_ref(), "answered_at")?;
        let err = |e: aftercare_platform::error::Error| e.to_string();
        let campaigns = crate::store::campaigns::running(tx, answered_at).await.map_err(err)?;
        let channel = channel_from_proto(e.channel);
        let Some((campaign_id, bonus)) = crate::domain::campaign::survey_bonus(&campaigns, answered_at, channel) else {
            return Ok(());
        };
        let survey = required(&e.survey_id, "survey_id")?;
        let credit = crate::app::accounts::Credit {
            customer_id: required(&e.customer_id, "customer_id")?.to_owned(),
            points: bonus,
            reason: format!("campaign {campaign_id}: survey {survey}"),
            request_id: format!("survey:{survey}"),
        };
        let feedback = aftercare_platform::auth::Caller {
            role: aftercare_platform::auth::Role::Service,
            subject: "feedback".into(),
        };
        let mut uow = aftercare_platform::uow::UnitOfWork::within(tx, self.clock.now())
            .await
            .map_err(err)?;
        self.app
            .grant_within(&mut uow, &feedback, credit, "loyalty.SurveyBonus")
            .await
            .map_err(err)?;
        uow.commit().await.map_err(err)
    }
}

impl EventHandler for SurveyBonuses {
    fn name(&self) -> &str {
        SURVEY_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<FeedbackSubmitted>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}
