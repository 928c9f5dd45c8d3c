//! The `aftercare.loyalty.events.v1` messages this service emits, about the
//! customer (the aggregate id), built from the entries that caused them.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::outbox;
use aftercare_platform::uow::UnitOfWork;
use aftercare_platform::wire::{money, timestamp};
use aftercare_proto::loyalty_events as pb;
use sqlx::PgConnection;

use uuid::Uuid;

use crate::domain::{CreditEntry, CreditHold, CreditedRefund, Entry, Hold, Reward, Tier};

/// An event waiting to be written with the change it describes.
#[derive(Debug, Clone, PartialEq)]
pub enum LoyaltyEvent {
    Earned(pb::PointsEarned),
    Matured(pb::PointsMatured),
    Redeemed(pb::PointsRedeemed),
    Expired(pb::PointsExpired),
    Reversed(pb::PointsReversed),
    TierChanged(pb::TierChanged),
    ExpiringSoon(pb::PointsExpiringSoon),
    RewardRedeemed(pb::RewardRedeemed),
    StoreCreditCredited(pb::StoreCreditCredited),
    StoreCreditRedeemed(pb::StoreCreditRedeemed),
}

fn points(e: &Entry) -> i64 {
    e.lots.iter().map(|l| l.points).sum()
}

pub fn earned(e: &Entry) -> LoyaltyEvent {
    LoyaltyEvent::Earned(pb::PointsEarned {
        customer_id: e.customer_id.clone(),
        order_id: e.order_id.clone().unwrap_or_default(),
        points: points(e),
        entry_id: e.entry_id.to_string(),
    })
}

pub fn matured(e: &Entry, earliest_expiry: Option<DateTime<Utc>>) -> LoyaltyEvent {
    LoyaltyEvent::Matured(pb::PointsMatured {
        customer_id: e.customer_id.clone(),
        points: points(e),
        entry_id: e.entry_id.to_string(),
        expires_at: earliest_expiry.map(timestamp),
    })
}

pub fn redeemed(e: &Entry, hold: &Hold) -> LoyaltyEvent {
    LoyaltyEvent::Redeemed(pb::PointsRedeemed {
        customer_id: e.customer_id.clone(),
        hold_id: hold.hold_id.to_string(),
        order_ref: hold.order_ref.clone(),
        points: points(e),
        entry_id: e.entry_id.to_string(),
    })
}

/// Points spent on a reward.
pub fn reward_redeemed(e: &Entry, reward: &Reward, redemption_id: Uuid) -> LoyaltyEvent {
    LoyaltyEvent::RewardRedeemed(pb::RewardRedeemed {
        customer_id: e.customer_id.clone(),
        redemption_id: redemption_id.to_string(),
        reward_id: reward.reward_id.clone(),
        kind: reward.kind.as_str().to_owned(),
        discount: reward.discount.map(money),
        points: points(e),
        entry_id: e.entry_id.to_string(),
    })
}

pub fn expired(e: &Entry) -> LoyaltyEvent {
    LoyaltyEvent::Expired(pb::PointsExpired {
        customer_id: e.customer_id.clone(),
        points: points(e),
        entry_id: e.entry_id.to_string(),
    })
}

pub fn reversed(e: &Entry, refund_id: &str, debt: i64) -> LoyaltyEvent {
    LoyaltyEvent::Reversed(pb::PointsReversed {
        customer_id: e.customer_id.clone(),
        order_id: e.order_id.clone().unwrap_or_default(),
        refund_id: refund_id.to_owned(),
        points: points(e) + debt,
        debt,
        entry_id: e.entry_id.to_string(),
    })
}

/// A tier change; `to` is `None` when the program has no tiers any more.
pub fn tier_changed(customer_id: &str, from: &str, to: Option<&Tier>, at: DateTime<Utc>) -> LoyaltyEvent {
    LoyaltyEvent::TierChanged(pb::TierChanged {
        customer_id: customer_id.to_owned(),
        from_tier: from.to_owned(),
        to_tier: to.map(|t| t.name.clone()).unwrap_or_default(),
        extra_return_days: to.map_or(0, |t| t.extra_return_days),
        free_return_shipping: to.is_some_and(|t| t.free_return_shipping),
        early_access: to.is_some_and(|t| t.early_access),
        changed_at: Some(timestamp(at)),
    })
}

pub fn expiring_soon(customer_id: &str, points: i64, expires_at: DateTime<Utc>) -> LoyaltyEvent {
    LoyaltyEvent::ExpiringSoon(pb::PointsExpiringSoon {
        customer_id: customer_id.to_owned(),
        points,
        expires_at: Some(timestamp(expires_at)),
    })
}

/// A store-credit refund credited its wallet.
pub fn store_credit_credited(e: &CreditEntry, refund: &CreditedRefund) -> LoyaltyEvent {
    LoyaltyEvent::StoreCreditCredited(pb::StoreCreditCredited {
        customer_id: e.entry.customer_id.clone(),
        amount: Some(money(refund.amount)),
        refund_id: refund.refund_id.clone(),
        return_id: refund.return_id.clone(),
        order_id: refund.order_id.clone(),
        entry_id: e.entry.entry_id.to_string(),
    })
}

/// Held store credit spent.
pub fn store_credit_redeemed(e: &CreditEntry, hold: &CreditHold) -> LoyaltyEvent {
    LoyaltyEvent::StoreCreditRedeemed(pb::StoreCreditRedeemed {
        customer_id: e.entry.customer_id.clone(),
        hold_id: hold.hold_id().to_string(),
        order_ref: hold.hold.order_ref.clone(),
        amount: Some(money(hold.money(points(&e.entry)))),
        entry_id: e.entry.entry_id.to_string(),
    })
}

impl LoyaltyEvent {
    /// The aggregate: the customer for points, whose changes serialize on
    /// the account; the wallet (customer and currency) for store credit,
    /// whose changes serialize on the wallet's row instead, so events of
    /// one aggregate always commit in their order.
    fn aggregate(&self) -> String {
        let wallet = |customer: &str, amount: &Option<aftercare_proto::common::Money>| {
            let currency = amount.as_ref().map_or("", |m| m.currency_code.as_str());
            format!("{customer}:{currency}")
        };
        match self {
            LoyaltyEvent::Earned(e) => e.customer_id.clone(),
            LoyaltyEvent::Matured(e) => e.customer_id.clone(),
            LoyaltyEvent::Redeemed(e) => e.customer_id.clone(),
            LoyaltyEvent::Expired(e) => e.customer_id.clone(),
            LoyaltyEvent::Reversed(e) => e.customer_id.clone(),
            LoyaltyEvent::TierChanged(e) => e.customer_id.clone(),
            LoyaltyEvent::ExpiringSoon(e) => e.customer_id.clone(),
            LoyaltyEvent::RewardRedeemed(e) => e.customer_id.clone(),
            LoyaltyEvent::StoreCreditCredited(e) => wallet(&e.customer_id, &e.amount),
            LoyaltyEvent::StoreCreditRedeemed(e) => wallet(&e.customer_id, &e.amount),
        }
    }

    /// Writes the event in a unit of work.
    pub async fn emit(&self, uow: &mut UnitOfWork<'_>) -> Result<(), Error> {
        let customer = self.aggregate();
        match self {
            LoyaltyEvent::Earned(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::Matured(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::Redeemed(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::Expired(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::Reversed(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::TierChanged(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::ExpiringSoon(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::RewardRedeemed(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::StoreCreditCredited(m) => uow.emit(&customer, m).await,
            LoyaltyEvent::StoreCreditRedeemed(m) => uow.emit(&customer, m).await,
        }
    }

    /// Writes the event in a transaction that is not a unit of work (an
    /// event handler's, a job's).
    pub async fn enqueue(&self, conn: &mut PgConnection, now: DateTime<Utc>) -> Result<(), Error> {
        let customer = &self.aggregate();
        match self {
            LoyaltyEvent::Earned(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::Matured(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::Redeemed(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::Expired(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::Reversed(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::TierChanged(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::ExpiringSoon(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::RewardRedeemed(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::StoreCreditCredited(m) => outbox::enqueue(conn, customer, m, now).await,
            LoyaltyEvent::StoreCreditRedeemed(m) => outbox::enqueue(conn, customer, m, now).await,
        }
        .map(|_| ())
    }
}
