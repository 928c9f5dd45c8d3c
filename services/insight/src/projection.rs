//! Every event the figures need, into the read model. Each write is keyed
//! by what it is about and keeps the first (or the latest, for an answer)
//! value, so redelivery and a replay of the history change nothing more;
//! relations between aggregates (a return's lines and its order's
//! categories, a claim and its product) are joined when read, so the order
//! events of different aggregates arrive in does not matter.

use aftercare_platform::outbox::{Event, EventHandler, HandlerFuture, required, required_time, topic};
use aftercare_platform::wire::{channel_from_proto, from_timestamp, parse_money};
use aftercare_proto::feedback_events::{FeedbackSubmitted, FollowUpSlaBreached};
use aftercare_proto::loyalty_events::{PointsEarned, PointsRedeemed, RewardRedeemed};
use aftercare_proto::order_events::OrderRecorded;
use aftercare_proto::return_events::{
    RefundSucceeded, ReturnApproved, ReturnCanceled, ReturnCompleted, ReturnRejected, ReturnRequested, ReturnSummary,
};
use aftercare_proto::warranty_events::{
    ClaimFiled, ClaimResponded, ClaimSlaBreached, ClaimStatusChanged, ProductRegistered,
};
use sqlx::PgConnection;

use crate::store::{self, Milestone};

/// The consumer; subscribed by the migrations too.
pub const CONSUMER: &str = "insight.events";

/// Every topic the read model follows.
pub fn topics() -> Vec<String> {
    vec![
        topic::<OrderRecorded>(),
        topic::<ReturnRequested>(),
        topic::<ReturnApproved>(),
        topic::<ReturnRejected>(),
        topic::<ReturnCanceled>(),
        topic::<ReturnCompleted>(),
        topic::<RefundSucceeded>(),
        topic::<ProductRegistered>(),
        topic::<ClaimFiled>(),
        topic::<ClaimStatusChanged>(),
        topic::<ClaimResponded>(),
        topic::<ClaimSlaBreached>(),
        topic::<FeedbackSubmitted>(),
        topic::<FollowUpSlaBreached>(),
        topic::<PointsEarned>(),
        topic::<PointsRedeemed>(),
        topic::<RewardRedeemed>(),
    ]
}

pub struct ReadModel;

fn channel(value: i32) -> &'static str {
    channel_from_proto(value).map_or("", |c| c.as_str())
}

fn summary(s: Option<ReturnSummary>) -> Result<ReturnSummary, String> {
    let s = s.ok_or("summary missing")?;
    required(&s.return_id, "return_id")?;
    Ok(s)
}

fn err(e: aftercare_platform::error::Error) -> String {
    e.to_string()
}

/// Applies one event; unknown topics are an error (the subscription
/// names them all).
pub async fn apply(tx: &mut PgConnection, event: &Event) -> Result<(), String> {
    let at = event.occurred_at;
    if let Some(e) = event.decode::<OrderRecorded>()? {
        let placed_at = required_time(e.placed_at.as_ref(), "placed_at")?;
        for l in e.lines.iter().filter(|l| l.extends_line_id.is_empty()) {
            store::order_line(tx, &e.order_id, &l.line_id, &l.category, l.quantity, placed_at)
                .await
                .map_err(err)?;
        }
        return Ok(());
    }
    if let Some(e) = event.decode::<ReturnRequested>()? {
        let s = summary(e.summary)?;
        store::return_requested(tx, &s.return_id, &s.order_id, channel(s.channel), at)
            .await
            .map_err(err)?;
        for l in &s.lines {
            store::return_line(tx, &s.return_id, &l.line_id, l.quantity, &l.reason)
                .await
                .map_err(err)?;
        }
        return Ok(());
    }
    if let Some(e) = event.decode::<ReturnApproved>()? {
        return store::return_milestone(tx, &summary(e.summary)?.return_id, Milestone::Responded, at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ReturnRejected>()? {
        let id = summary(e.summary)?.return_id;
        store::return_milestone(tx, &id, Milestone::Responded, at)
            .await
            .map_err(err)?;
        return store::return_milestone(tx, &id, Milestone::Over("rejected"), at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ReturnCanceled>()? {
        let id = summary(e.summary)?.return_id;
        return store::return_milestone(tx, &id, Milestone::Over("canceled"), at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ReturnCompleted>()? {
        let id = summary(e.summary)?.return_id;
        return store::return_milestone(tx, &id, Milestone::Over("completed"), at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<RefundSucceeded>()? {
        let r = e.refund.ok_or("refund missing")?;
        let amount = r
            .amount
            .as_ref()
            .ok_or("amount missing")
            .and_then(|m| parse_money(m).map_err(|_| "amount invalid"))?;
        return store::refund(tx, required(&r.refund_id, "refund_id")?, amount, at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ProductRegistered>()? {
        return store::registration(tx, required(&e.registration_id, "registration_id")?, &e.sku)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ClaimFiled>()? {
        let filed_at = required_time(e.filed_at.as_ref(), "filed_at")?;
        let claim = store::FiledClaim {
            claim_id: required(&e.claim_id, "claim_id")?,
            registration_id: &e.registration_id,
            channel: channel(e.channel),
            fault_category: &e.fault_category,
            filed_at,
        };
        return store::claim_filed(tx, &claim).await.map_err(err);
    }
    if let Some(e) = event.decode::<ClaimStatusChanged>()? {
        let clock = if e.clock {
            store::ClaimClock {
                first_response_at: e.first_response_at.as_ref().and_then(from_timestamp),
                resolved_at: e.resolved_at.as_ref().and_then(from_timestamp),
                paused_micros: e.paused_micros,
            }
        } else {
            // Written before changes carried the clock (a rebuild of an
            // older history): its milestones as the status tells them,
            // pauses unknown.
            let changed_at = required_time(e.changed_at.as_ref(), "changed_at")?;
            let decided = ["APPROVED", "REJECTED", "AWAITING_INFO", "IN_SERVICE", "RESOLVED"];
            let over = ["REJECTED", "CANCELED", "RESOLVED", "CLOSED"];
            store::ClaimClock {
                first_response_at: decided.contains(&e.to_status.as_str()).then_some(changed_at),
                resolved_at: over.contains(&e.to_status.as_str()).then_some(changed_at),
                paused_micros: 0,
            }
        };
        return store::claim_clock(tx, required(&e.claim_id, "claim_id")?, &clock)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ClaimResponded>()? {
        let at = required_time(e.responded_at.as_ref(), "responded_at")?;
        return store::claim_responded(tx, required(&e.claim_id, "claim_id")?, at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<ClaimSlaBreached>()? {
        return store::claim_breached(tx, required(&e.claim_id, "claim_id")?, &e.target)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<FeedbackSubmitted>()? {
        let answer = store::Answer {
            survey_id: required(&e.survey_id, "survey_id")?,
            csat: e.csat,
            nps: e.nps,
            // Unset in events written before it was told: the answer's time
            // is the closest there is.
            survey_created_at: e.survey_created_at.as_ref().and_then(from_timestamp).unwrap_or(at),
            seq: event.seq,
        };
        return store::answer(tx, &answer).await.map_err(err);
    }
    if let Some(e) = event.decode::<FollowUpSlaBreached>()? {
        return store::follow_up_breached(tx, required(&e.follow_up_id, "follow_up_id")?, at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<PointsEarned>()? {
        return store::points(tx, required(&e.entry_id, "entry_id")?, "issued", e.points, at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<PointsRedeemed>()? {
        return store::points(tx, required(&e.entry_id, "entry_id")?, "redeemed", e.points, at)
            .await
            .map_err(err);
    }
    if let Some(e) = event.decode::<RewardRedeemed>()? {
        return store::points(tx, required(&e.entry_id, "entry_id")?, "redeemed", e.points, at)
            .await
            .map_err(err);
    }
    Err(format!("unexpected topic {}", event.topic))
}

impl EventHandler for ReadModel {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        topics()
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(apply(tx, event))
    }
}
