//! Requests in, checked: every field's problem reported at once as a
//! BadRequest, before anything is read or written.

use aftercare_kernel::{Currency, Decimal, Money, Violations, validate};
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_from_proto, from_timestamp, parse_money};
use aftercare_proto::loyalty as pb;

use crate::app::accounts::Credit;
use crate::app::checkout::Reserve;
use crate::domain::campaign::{Campaign, Trigger};
use crate::domain::{
    CurrencyRate, HoldId, MAX_HOLD_TTL_SECONDS, MAX_ID_LEN, MAX_POINTS, MAX_REASON_LEN, Program, Reward, RewardKind,
    Tier,
};

pub fn customer(v: &mut Violations, value: &str) {
    validate::id(v, "customer_id", value, MAX_ID_LEN);
}

fn points(v: &mut Violations, field: &str, value: i64) {
    if !(1..=MAX_POINTS).contains(&value) {
        v.add(field, format!("must be 1 to {MAX_POINTS}"));
    }
}

pub fn hold_id(v: &mut Violations, value: &str) -> HoldId {
    HoldId::parse(value).unwrap_or_else(|| {
        v.add("hold_id", "must be a hold id");
        HoldId::from_uuid(uuid::Uuid::nil())
    })
}

pub fn reserve(customer_id: &str, points_: i64, order_ref: &str, ttl: i32, request_id: &str) -> Result<Reserve, Error> {
    let mut v = Violations::new();
    customer(&mut v, customer_id);
    points(&mut v, "points", points_);
    validate::id(&mut v, "order_ref", order_ref, MAX_ID_LEN);
    if !(0..=MAX_HOLD_TTL_SECONDS).contains(&ttl) {
        v.add("ttl_seconds", format!("must be 0 to {MAX_HOLD_TTL_SECONDS}"));
    }
    validate::id(&mut v, "request_id", request_id, MAX_ID_LEN);
    v.finish()?;
    Ok(Reserve {
        customer_id: customer_id.to_owned(),
        points: points_,
        order_ref: order_ref.to_owned(),
        ttl_seconds: ttl,
        request_id: request_id.to_owned(),
    })
}

pub fn capture(req: &pb::CapturePointsRequest) -> Result<(HoldId, i64), Error> {
    let mut v = Violations::new();
    let id = hold_id(&mut v, &req.hold_id);
    if req.points != 0 {
        points(&mut v, "points", req.points);
    }
    v.finish()?;
    Ok((id, req.points))
}

/// A grant (`signed`: false) or an adjustment (either sign, not zero).
pub fn credit(customer_id: &str, value: i64, reason: &str, request_id: &str, signed: bool) -> Result<Credit, Error> {
    let mut v = Violations::new();
    customer(&mut v, customer_id);
    if signed {
        if value == 0 || !(-MAX_POINTS..=MAX_POINTS).contains(&value) {
            v.add("points", format!("must be -{MAX_POINTS} to {MAX_POINTS}, not 0"));
        }
    } else {
        points(&mut v, "points", value);
    }
    validate::required_text(&mut v, "reason", reason, MAX_REASON_LEN);
    validate::id(&mut v, "request_id", request_id, MAX_ID_LEN);
    v.finish()?;
    Ok(Credit {
        customer_id: customer_id.to_owned(),
        points: value,
        reason: reason.to_owned(),
        request_id: request_id.to_owned(),
    })
}

pub fn quote(req: &pb::QuoteRedemptionRequest) -> Result<Money, Error> {
    let mut v = Violations::new();
    customer(&mut v, &req.customer_id);
    let total = match req.order_total.as_ref().map(parse_money) {
        None => {
            v.add("order_total", "is required");
            None
        }
        Some(Err(e)) => {
            v.add("order_total", e.to_string());
            None
        }
        Some(Ok(m)) if m.is_negative() || m.exceeds_limit() => {
            v.add("order_total", "must be zero or more, within the money limit");
            None
        }
        Some(Ok(m)) => Some(m),
    };
    v.finish()?;
    total.ok_or_else(|| Error::invalid("order_total", "is required"))
}

fn decimal(v: &mut Violations, field: String, value: &str) -> Option<Decimal> {
    // Plain decimals only: no exponent, no sign other than '-'.
    let plain = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    match value.parse::<Decimal>() {
        Ok(d) if plain => Some(d.normalize()),
        _ => {
            v.add(field, "must be a decimal number such as \"0.01\"");
            None
        }
    }
}

/// The admin's program, every field checked at once (the domain's checks
/// included), so one answer names every problem.
pub fn program(p: Option<&pb::Program>) -> Result<Program, Error> {
    let Some(p) = p else {
        return Err(Error::invalid("program", "is required"));
    };
    let mut v = Violations::new();
    let mut rates = Vec::with_capacity(p.rates.len());
    if p.rates.len() > 200 {
        v.add("program.rates", "at most 200 currencies");
    }
    for (i, r) in p.rates.iter().take(200).enumerate() {
        let field = |name: &str| format!("program.rates[{i}].{name}");
        let currency = Currency::from_code(&r.currency_code);
        if currency.is_none() {
            v.add(field("currency_code"), "must be an ISO 4217 code");
        }
        let points_per_unit = decimal(&mut v, field("points_per_unit"), &r.points_per_unit);
        let point_value = decimal(&mut v, field("point_value"), &r.point_value);
        // A rate that did not parse is reported once, not checked again.
        if let (Some(currency), Some(points_per_unit), Some(point_value)) = (currency, points_per_unit, point_value) {
            rates.push((
                i,
                CurrencyRate {
                    currency,
                    points_per_unit,
                    point_value,
                },
            ));
        }
    }
    let mut tiers = Vec::with_capacity(p.tiers.len());
    for (i, t) in p.tiers.iter().take(20).enumerate() {
        let multiplier = decimal(
            &mut v,
            format!("program.tiers[{i}].earn_multiplier"),
            &t.earn_multiplier,
        );
        tiers.push(Tier {
            name: t.name.clone(),
            min_qualifying_points: t.min_qualifying_points,
            earn_multiplier: multiplier.unwrap_or(Decimal::ONE),
            extra_return_days: t.extra_return_days,
            free_return_shipping: t.free_return_shipping,
            early_access: t.early_access,
        });
    }
    if p.tiers.len() > 20 {
        v.add("program.tiers", "at most 20 tiers");
    }
    let program = Program {
        version: 0,
        rates: rates.iter().map(|(_, r)| r.clone()).collect(),
        tiers,
        tier_grace_days: p.tier_grace_days,
        return_window_days: p.return_window_days,
        undelivered_max_days: p.undelivered_max_days,
        expiry_months: p.expiry_months,
        min_redeem_points: p.min_redeem_points,
        max_redeem_percent: p.max_redeem_percent,
        hold_ttl_seconds: p.hold_ttl_seconds,
        grant_limit: p.grant_limit,
        updated_at: aftercare_kernel::DateTime::UNIX_EPOCH,
    };
    // The domain names rates by their place among the parsed ones; map
    // those back to the request's indexes.
    let mut checked = Violations::new();
    program.check(&mut checked);
    if let Err(found) = checked.finish() {
        for violation in found.0 {
            let field = match violation.field.strip_prefix("program.rates[") {
                Some(rest) => {
                    let (index, tail) = rest.split_once(']').unwrap_or((rest, ""));
                    let original = index.parse::<usize>().ok().and_then(|k| rates.get(k)).map(|(i, _)| *i);
                    format!("program.rates[{}]{tail}", original.unwrap_or_default())
                }
                None => violation.field,
            };
            v.add(field, violation.description);
        }
    }
    v.finish()?;
    Ok(program)
}

/// An admin's reward; the kind must be named, a fixed discount's amount is
/// parsed in its own currency. The domain's checks run in the app.
pub fn reward(r: Option<&pb::Reward>) -> Result<Reward, Error> {
    let Some(r) = r else {
        return Err(Error::invalid("reward", "is required"));
    };
    let mut v = Violations::new();
    let kind = match pb::RewardKind::try_from(r.kind) {
        Ok(pb::RewardKind::CouponCode) => Some(RewardKind::CouponCode),
        Ok(pb::RewardKind::FreeShipping) => Some(RewardKind::FreeShipping),
        Ok(pb::RewardKind::FixedDiscount) => Some(RewardKind::FixedDiscount),
        _ => {
            v.add("reward.kind", "is required");
            None
        }
    };
    let discount = match r.discount.as_ref().map(parse_money) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            v.add("reward.discount", e.to_string());
            None
        }
    };
    let reward = Reward {
        reward_id: r.reward_id.clone(),
        name: r.name.clone(),
        kind: kind.unwrap_or(RewardKind::FreeShipping),
        points_cost: r.points_cost,
        discount,
        active: r.active,
        codes_left: 0,
    };
    reward.check(&mut v);
    v.finish()?;
    Ok(reward)
}

/// An admin's campaign, every field checked at once.
pub fn campaign(c: Option<&pb::Campaign>) -> Result<Campaign, Error> {
    let Some(c) = c else {
        return Err(Error::invalid("campaign", "is required"));
    };
    let mut v = Violations::new();
    let trigger = match pb::CampaignTrigger::try_from(c.trigger) {
        Ok(pb::CampaignTrigger::Order) => Trigger::Order,
        Ok(pb::CampaignTrigger::FirstOrder) => Trigger::FirstOrder,
        Ok(pb::CampaignTrigger::Survey) => Trigger::Survey,
        _ => {
            v.add("campaign.trigger", "is required");
            Trigger::Order
        }
    };
    let mut time = |field: &str, ts: Option<&prost_types::Timestamp>| {
        ts.and_then(from_timestamp).unwrap_or_else(|| {
            v.add(format!("campaign.{field}"), "is required (a valid instant)");
            aftercare_kernel::DateTime::UNIX_EPOCH
        })
    };
    let starts_at = time("starts_at", c.starts_at.as_ref());
    let ends_at = time("ends_at", c.ends_at.as_ref());
    let earn_multiplier = if c.earn_multiplier.is_empty() {
        Decimal::ONE
    } else {
        decimal(&mut v, "campaign.earn_multiplier".into(), &c.earn_multiplier).unwrap_or(Decimal::ONE)
    };
    let mut channels = Vec::with_capacity(c.channels.len());
    for (i, ch) in c.channels.iter().enumerate() {
        match channel_from_proto(*ch) {
            Some(ch) => channels.push(ch),
            None => v.add(format!("campaign.channels[{i}]"), "is not a channel"),
        }
    }
    let campaign = Campaign {
        campaign_id: c.campaign_id.clone(),
        name: c.name.clone(),
        trigger,
        starts_at,
        ends_at,
        earn_multiplier,
        bonus_points: c.bonus_points,
        categories: c.categories.clone(),
        skus: c.skus.clone(),
        channels,
        active: c.active,
    };
    campaign.check(&mut v);
    v.finish()?;
    Ok(campaign)
}
