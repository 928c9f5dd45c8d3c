//! Tiers: a customer's tier follows their qualifying spend over the last 12
//! months, measured in base points (the points that spend earns before any
//! multiplier), so one threshold holds for every currency. Up at once;
//! down only after a grace period spent below the tier's threshold.

use aftercare_kernel::{DateTime, Decimal, Duration, RoundingStrategy, Utc, Violations};

use super::MAX_POINTS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    pub name: String,
    pub min_qualifying_points: i64,
    /// At least 1; multiplies the points earned on orders.
    pub earn_multiplier: Decimal,
    /// Perks other services read through `TierChanged` and the account.
    pub extra_return_days: i32,
    pub free_return_shipping: bool,
    pub early_access: bool,
}

const MAX_MULTIPLIER: Decimal = Decimal::from_parts(10, 0, 0, false, 0);
pub const MAX_TIER_NAME: usize = 64;

/// Checks an admin's tiers: the first one starts at 0 points, thresholds
/// rise strictly, names are unique.
pub fn check(tiers: &[Tier], v: &mut Violations) {
    if tiers.len() > 20 {
        v.add("program.tiers", "at most 20 tiers");
    }
    for (i, t) in tiers.iter().enumerate() {
        let field = |name: &str| format!("program.tiers[{i}].{name}");
        let name = t.name.trim();
        if name.is_empty()
            || name != t.name
            || t.name.chars().count() > MAX_TIER_NAME
            || t.name.chars().any(char::is_control)
        {
            v.add(
                field("name"),
                format!("1 to {MAX_TIER_NAME} characters, no surrounding white space"),
            );
        }
        if tiers[..i].iter().any(|o| o.name == t.name) {
            v.add(field("name"), "appears twice");
        }
        let floor = if i == 0 {
            0
        } else {
            tiers[i - 1].min_qualifying_points + 1
        };
        if i == 0 && t.min_qualifying_points != 0 {
            v.add(field("min_qualifying_points"), "the first tier starts at 0");
        } else if !(floor..=MAX_POINTS).contains(&t.min_qualifying_points) {
            v.add(field("min_qualifying_points"), "must rise from tier to tier");
        }
        if t.earn_multiplier < Decimal::ONE || t.earn_multiplier > MAX_MULTIPLIER || t.earn_multiplier.scale() > 3 {
            v.add(field("earn_multiplier"), "must be 1 to 10 with at most 3 decimals");
        }
        if !(0..=365).contains(&t.extra_return_days) {
            v.add(field("extra_return_days"), "must be 0 to 365");
        }
    }
}

/// The tier `qualifying` points reach: the highest whose threshold they meet.
pub fn tier_for(tiers: &[Tier], qualifying: i64) -> Option<&Tier> {
    tiers.iter().rev().find(|t| qualifying >= t.min_qualifying_points)
}

/// Points earned on `base` points at `tier`'s multiplier, rounded down.
pub fn multiplied(base: i64, tier: Option<&Tier>) -> i64 {
    scaled(base, tier.map_or(Decimal::ONE, |t| t.earn_multiplier))
}

/// `base` points times `factor` (at least 1), rounded down.
pub fn scaled(base: i64, factor: Decimal) -> i64 {
    let points = (Decimal::from(base) * factor).round_dp_with_strategy(0, RoundingStrategy::ToZero);
    i64::try_from(points).unwrap_or(MAX_POINTS).clamp(base, MAX_POINTS)
}

/// Where an account's tier stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// `None`: the lowest tier (or no tiers).
    pub tier: Option<String>,
    /// Since when the account has been below its tier's threshold.
    pub below_since: Option<DateTime<Utc>>,
}

fn rank(tiers: &[Tier], name: Option<&str>) -> usize {
    name.and_then(|n| tiers.iter().position(|t| t.name == n)).unwrap_or(0)
}

/// The standing after a review at `now`, and whether the tier changed.
/// A tier the program no longer has counts as the lowest.
pub fn review(
    tiers: &[Tier],
    grace_days: i32,
    current: &Standing,
    qualifying: i64,
    now: DateTime<Utc>,
) -> (Standing, bool) {
    let target = tiers
        .iter()
        .rposition(|t| qualifying >= t.min_qualifying_points)
        .unwrap_or(0);
    let at = rank(tiers, current.tier.as_deref());
    let name = |i: usize| (i > 0).then(|| tiers[i].name.clone());
    // A stored tier the program no longer has reads as the lowest: a change.
    let unknown_tier = current.tier.is_some() && at == 0;
    if target > at {
        return (
            Standing {
                tier: name(target),
                below_since: None,
            },
            true,
        );
    }
    if target == at {
        let changed = unknown_tier;
        return (
            Standing {
                tier: name(at),
                below_since: None,
            },
            changed,
        );
    }
    // Below the tier's threshold since the first review that saw it; the
    // grace counts from then (a zero grace moves down at once).
    let since = current.below_since.unwrap_or(now);
    if since + Duration::days(grace_days.into()) <= now {
        (
            Standing {
                tier: name(target),
                below_since: None,
            },
            true,
        )
    } else {
        (
            Standing {
                tier: name(at),
                below_since: Some(since),
            },
            false,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(name: &str, min: i64, multiplier: &str) -> Tier {
        Tier {
            name: name.into(),
            min_qualifying_points: min,
            earn_multiplier: multiplier.parse().unwrap(),
            extra_return_days: 0,
            free_return_shipping: false,
            early_access: false,
        }
    }

    fn tiers() -> Vec<Tier> {
        vec![
            tier("Bronze", 0, "1"),
            tier("Silver", 1000, "1.25"),
            tier("Gold", 5000, "1.5"),
        ]
    }

    fn t(days: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::days(days)
    }

    fn standing(tier: Option<&str>, below: Option<i64>) -> Standing {
        Standing {
            tier: tier.map(str::to_owned),
            below_since: below.map(t),
        }
    }

    #[test]
    fn up_at_once_down_after_the_grace_period() {
        let ts = tiers();
        assert_eq!(
            review(&ts, 30, &standing(None, None), 1000, t(0)),
            (standing(Some("Silver"), None), true)
        );
        assert_eq!(
            review(&ts, 30, &standing(None, None), 999, t(0)),
            (standing(None, None), false)
        );
        // Below Gold: the grace starts, then ends.
        let (s, changed) = review(&ts, 30, &standing(Some("Gold"), None), 1200, t(10));
        assert_eq!((s.clone(), changed), (standing(Some("Gold"), Some(10)), false));
        assert_eq!(
            review(&ts, 30, &s, 1200, t(39)),
            (standing(Some("Gold"), Some(10)), false)
        );
        assert_eq!(review(&ts, 30, &s, 1200, t(40)), (standing(Some("Silver"), None), true));
        // Back above during the grace: it is cleared.
        assert_eq!(review(&ts, 30, &s, 6000, t(20)), (standing(Some("Gold"), None), false));
        // No grace: down at once.
        assert_eq!(
            review(&ts, 0, &standing(Some("Gold"), None), 1200, t(10)),
            (standing(Some("Silver"), None), true)
        );
        // A tier the program dropped counts as the lowest.
        assert_eq!(
            review(&ts, 30, &standing(Some("Platinum"), None), 0, t(0)),
            (standing(None, None), true)
        );
    }

    #[test]
    fn multipliers_round_down_and_never_below_base() {
        let ts = tiers();
        assert_eq!(multiplied(75, Some(&ts[1])), 93);
        assert_eq!(multiplied(75, Some(&ts[2])), 112);
        assert_eq!(multiplied(75, None), 75);
        assert_eq!(tier_for(&ts, 4999).map(|t| t.name.as_str()), Some("Silver"));
    }

    #[test]
    fn checks_thresholds_names_and_multipliers() {
        let mut ts = tiers();
        let mut v = Violations::new();
        check(&ts, &mut v);
        assert!(v.is_empty());
        ts[0].min_qualifying_points = 5;
        ts[2].min_qualifying_points = 1000;
        ts[1].earn_multiplier = "0.5".parse().unwrap();
        ts[2].name = "Silver".into();
        let mut v = Violations::new();
        check(&ts, &mut v);
        let fields: Vec<_> = v.finish().unwrap_err().0.into_iter().map(|x| x.field).collect();
        for f in [
            "program.tiers[0].min_qualifying_points",
            "program.tiers[2].min_qualifying_points",
            "program.tiers[1].earn_multiplier",
            "program.tiers[2].name",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
    }
}
