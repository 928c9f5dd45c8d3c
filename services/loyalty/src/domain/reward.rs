//! The rewards catalogue: what points buy. A coupon reward hands out codes
//! from a pool, each to one redemption; free shipping and fixed discounts
//! are vouchers the redemption itself stands for.

use aftercare_kernel::{Money, Violations, validate};

use super::{MAX_ID_LEN, MAX_POINTS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewardKind {
    CouponCode,
    FreeShipping,
    FixedDiscount,
}

impl RewardKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            RewardKind::CouponCode => "coupon_code",
            RewardKind::FreeShipping => "free_shipping",
            RewardKind::FixedDiscount => "fixed_discount",
        }
    }

    pub fn parse(s: &str) -> Option<RewardKind> {
        [
            RewardKind::CouponCode,
            RewardKind::FreeShipping,
            RewardKind::FixedDiscount,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reward {
    /// The admin's id for it ("coffee-10").
    pub reward_id: String,
    pub name: String,
    pub kind: RewardKind,
    pub points_cost: i64,
    /// A fixed discount's amount; none for the other kinds.
    pub discount: Option<Money>,
    pub active: bool,
    /// Codes left in a coupon reward's pool.
    pub codes_left: i64,
}

pub const MAX_REWARD_NAME: usize = 200;
pub const MAX_CODE_LEN: usize = 64;
pub const MAX_CODES_PER_CALL: usize = 10_000;

impl Reward {
    pub fn check(&self, v: &mut Violations) {
        validate::id(v, "reward.reward_id", &self.reward_id, MAX_ID_LEN);
        validate::required_text(v, "reward.name", &self.name, MAX_REWARD_NAME);
        if !(1..=MAX_POINTS).contains(&self.points_cost) {
            v.add("reward.points_cost", format!("must be 1 to {MAX_POINTS}"));
        }
        match (self.kind, &self.discount) {
            (RewardKind::FixedDiscount, Some(d)) if d.is_positive() && !d.exceeds_limit() => {}
            (RewardKind::FixedDiscount, _) => v.add("reward.discount", "a fixed discount needs a positive amount"),
            (_, Some(_)) => v.add("reward.discount", "only a fixed discount has an amount"),
            (_, None) => {}
        }
    }
}

/// Checks codes to add to a pool: 1..=64 characters each, no white space
/// around, no duplicates within the call.
pub fn check_codes(codes: &[String], v: &mut Violations) {
    if codes.is_empty() || codes.len() > MAX_CODES_PER_CALL {
        v.add("codes", format!("1 to {MAX_CODES_PER_CALL} codes"));
    }
    let mut seen = std::collections::HashSet::with_capacity(codes.len());
    for (i, code) in codes.iter().take(MAX_CODES_PER_CALL).enumerate() {
        validate::id(v, &format!("codes[{i}]"), code, MAX_CODE_LEN);
        if !seen.insert(code) {
            v.add(format!("codes[{i}]"), "appears twice");
        }
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Currency;

    use super::*;

    fn reward(kind: RewardKind, discount: Option<&str>) -> Reward {
        Reward {
            reward_id: "r-1".into(),
            name: "Ten off".into(),
            kind,
            points_cost: 1000,
            discount: discount.map(|d| Money::parse(Currency::from_code("EUR").unwrap(), d).unwrap()),
            active: true,
            codes_left: 0,
        }
    }

    fn fields(r: &Reward) -> Vec<String> {
        let mut v = Violations::new();
        r.check(&mut v);
        v.finish()
            .err()
            .map(|e| e.0.into_iter().map(|x| x.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_fixed_discount_and_only_it_has_an_amount() {
        assert!(fields(&reward(RewardKind::FixedDiscount, Some("10.00"))).is_empty());
        assert_eq!(fields(&reward(RewardKind::FixedDiscount, None)), ["reward.discount"]);
        assert_eq!(
            fields(&reward(RewardKind::FixedDiscount, Some("0"))),
            ["reward.discount"]
        );
        assert_eq!(fields(&reward(RewardKind::CouponCode, Some("1"))), ["reward.discount"]);
        assert!(fields(&reward(RewardKind::FreeShipping, None)).is_empty());
    }

    #[test]
    fn codes_are_checked_one_by_one() {
        let mut v = Violations::new();
        check_codes(&["A".into(), " B".into(), "A".into()], &mut v);
        let f: Vec<_> = v.finish().unwrap_err().0.into_iter().map(|x| x.field).collect();
        assert_eq!(f, ["codes[1]", "codes[2]"]);
        let mut v = Violations::new();
        check_codes(&[], &mut v);
        assert!(!v.is_empty());
    }
}
