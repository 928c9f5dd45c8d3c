//! Domain values out, as the contract's messages.

use aftercare_platform::wire::{channel_to_proto, money, timestamp};
use aftercare_proto::loyalty as pb;

use crate::app::checkout::Quote;
use crate::domain::campaign::{Campaign, Trigger};
use crate::domain::{Account, Entry, EntryKind, Hold, HoldStatus, Program, Reward, RewardKind, Tier};
use crate::store::rewards::Redemption;

pub fn program(p: &Program) -> pb::Program {
    pb::Program {
        version: p.version,
        rates: p
            .rates
            .iter()
            .map(|r| pb::CurrencyRate {
                currency_code: r.currency.code().to_owned(),
                points_per_unit: r.points_per_unit.normalize().to_string(),
                point_value: r.point_value.normalize().to_string(),
            })
            .collect(),
        return_window_days: p.return_window_days,
        undelivered_max_days: p.undelivered_max_days,
        expiry_months: p.expiry_months,
        min_redeem_points: p.min_redeem_points,
        max_redeem_percent: p.max_redeem_percent,
        hold_ttl_seconds: p.hold_ttl_seconds,
        grant_limit: p.grant_limit,
        updated_at: Some(timestamp(p.updated_at)),
        tiers: p.tiers.iter().map(tier).collect(),
        tier_grace_days: p.tier_grace_days,
    }
}

fn tier(t: &Tier) -> pb::Tier {
    pb::Tier {
        name: t.name.clone(),
        min_qualifying_points: t.min_qualifying_points,
        earn_multiplier: t.earn_multiplier.normalize().to_string(),
        extra_return_days: t.extra_return_days,
        free_return_shipping: t.free_return_shipping,
        early_access: t.early_access,
    }
}

pub fn account(a: &Account) -> pb::Account {
    pb::Account {
        customer_id: a.customer_id.clone(),
        available: a.available,
        pending: a.pending,
        held: a.held,
        debt: a.debt,
        lifetime_earned: a.lifetime_earned,
        expiring_soon: a
            .expiring_soon
            .iter()
            .map(|(points, at)| pb::ExpiringPoints {
                points: *points,
                expires_at: Some(timestamp(*at)),
            })
            .collect(),
        tier: Some(pb::TierStatus {
            tier: a.tier.tier.as_ref().map(tier),
            qualifying_points: a.tier.qualifying_points,
            next_tier: a.tier.next.as_ref().map(|(n, _)| n.clone()).unwrap_or_default(),
            points_to_next: a.tier.next.as_ref().map(|(_, p)| *p).unwrap_or_default(),
            downgrade_at: a.tier.downgrade_at.map(timestamp),
        }),
    }
}

pub(super) fn kind(k: EntryKind) -> pb::EntryKind {
    match k {
        EntryKind::Earned => pb::EntryKind::Earned,
        EntryKind::Matured => pb::EntryKind::Matured,
        EntryKind::Voided => pb::EntryKind::Voided,
        EntryKind::Held => pb::EntryKind::Held,
        EntryKind::Redeemed => pb::EntryKind::Redeemed,
        EntryKind::Released => pb::EntryKind::Released,
        EntryKind::Expired => pb::EntryKind::Expired,
        EntryKind::Granted => pb::EntryKind::Granted,
        EntryKind::Adjusted => pb::EntryKind::Adjusted,
        EntryKind::Reversed => pb::EntryKind::Reversed,
        EntryKind::DebtRepaid => pb::EntryKind::DebtRepaid,
        EntryKind::Credited => pb::EntryKind::Credited,
    }
}

pub fn entry(e: &Entry) -> pb::LedgerEntry {
    pb::LedgerEntry {
        entry_id: e.entry_id.to_string(),
        customer_id: e.customer_id.clone(),
        kind: kind(e.kind) as i32,
        available_change: e.changes.available,
        pending_change: e.changes.pending,
        held_change: e.changes.held,
        debt_change: e.changes.debt,
        order_id: e.order_id.clone().unwrap_or_default(),
        hold_id: e.hold_id.map(|h| h.to_string()).unwrap_or_default(),
        reason: e.reason.clone(),
        at: Some(timestamp(e.at)),
        lots: e
            .lots
            .iter()
            .map(|l| pb::LotMovement {
                lot_id: l.lot_id.to_string(),
                points: l.points,
                expires_at: l.expires_at.map(timestamp),
            })
            .collect(),
    }
}

pub(super) fn hold_status(s: HoldStatus) -> pb::HoldStatus {
    match s {
        HoldStatus::Held => pb::HoldStatus::Held,
        HoldStatus::Captured => pb::HoldStatus::Captured,
        HoldStatus::Released => pb::HoldStatus::Released,
        HoldStatus::Expired => pb::HoldStatus::Expired,
    }
}

pub fn hold(h: &Hold) -> pb::Hold {
    let status = hold_status(h.status);
    pb::Hold {
        hold_id: h.hold_id.to_string(),
        customer_id: h.customer_id.clone(),
        points: h.points,
        captured_points: h.captured,
        order_ref: h.order_ref.clone(),
        status: status as i32,
        expires_at: Some(timestamp(h.expires_at)),
        created_at: Some(timestamp(h.created_at)),
        resolved_at: h.resolved_at.map(timestamp),
    }
}

pub fn quote(q: &Quote) -> pb::RedemptionQuote {
    pb::RedemptionQuote {
        points: q.points,
        value: Some(money(q.value)),
        available: q.available,
        min_redeem_points: q.min_redeem_points,
    }
}

pub fn reward(r: &Reward) -> pb::Reward {
    let kind = match r.kind {
        RewardKind::CouponCode => pb::RewardKind::CouponCode,
        RewardKind::FreeShipping => pb::RewardKind::FreeShipping,
        RewardKind::FixedDiscount => pb::RewardKind::FixedDiscount,
    };
    pb::Reward {
        reward_id: r.reward_id.clone(),
        name: r.name.clone(),
        kind: kind as i32,
        points_cost: r.points_cost,
        discount: r.discount.map(money),
        active: r.active,
        codes_left: r.codes_left,
    }
}

pub fn redemption(r: &Redemption) -> pb::RewardRedemption {
    pb::RewardRedemption {
        redemption_id: r.redemption_id.to_string(),
        reward_id: r.reward_id.clone(),
        customer_id: r.customer_id.clone(),
        points: r.points,
        code: r.code.clone().unwrap_or_default(),
        at: Some(timestamp(r.at)),
    }
}

pub fn campaign(c: &Campaign) -> pb::Campaign {
    let trigger = match c.trigger {
        Trigger::Order => pb::CampaignTrigger::Order,
        Trigger::FirstOrder => pb::CampaignTrigger::FirstOrder,
        Trigger::Survey => pb::CampaignTrigger::Survey,
    };
    pb::Campaign {
        campaign_id: c.campaign_id.clone(),
        name: c.name.clone(),
        trigger: trigger as i32,
        starts_at: Some(timestamp(c.starts_at)),
        ends_at: Some(timestamp(c.ends_at)),
        earn_multiplier: c.earn_multiplier.normalize().to_string(),
        bonus_points: c.bonus_points,
        categories: c.categories.clone(),
        skus: c.skus.clone(),
        channels: c.channels.iter().map(|ch| channel_to_proto(*ch)).collect(),
        active: c.active,
    }
}
