//! What a policy decides for a new return: manual review, automatic
//! approval, keeping the items.

use aftercare_kernel::{Currency, Money};

use super::policy::amount_in;
use super::{Policy, Resolution};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triage {
    pub manual_review: bool,
    pub auto_approve: bool,
    pub keep_items: bool,
}

/// Manual review for flagged customers, frequent returners and large
/// refunds; otherwise automatic approval (and keeping the items) below the
/// policy's amounts.
pub fn triage(
    policy: &Policy,
    currency: Currency,
    estimate: Money,
    resolution: Resolution,
    flagged: bool,
    recent_returns: i64,
) -> Triage {
    let too_many =
        policy.manual_review_return_count > 0 && recent_returns > i64::from(policy.manual_review_return_count);
    let too_large = amount_in(&policy.manual_review_refund_limit, currency).is_some_and(|limit| estimate > limit);
    let manual_review = flagged || too_many || too_large;
    let auto_approve =
        !manual_review && amount_in(&policy.auto_approve_max_refund, currency).is_some_and(|max| estimate <= max);
    Triage {
        manual_review,
        auto_approve,
        keep_items: auto_approve && keeps(policy, currency, estimate, resolution),
    }
}

/// Whether approved items may be kept: below the policy's amount, and never
/// for exchanges (the replacement ships against the return).
pub fn keeps(policy: &Policy, currency: Currency, estimate: Money, resolution: Resolution) -> bool {
    resolution != Resolution::Exchange
        && amount_in(&policy.keep_item_max_refund, currency).is_some_and(|max| estimate <= max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::{eur, m, policy};

    #[test]
    fn triage_by_policy() {
        let mut p = policy();
        p.auto_approve_max_refund = vec![m("100")];
        p.keep_item_max_refund = vec![m("10")];
        p.manual_review_return_count = 3;
        p.manual_review_refund_limit = vec![m("500")];
        let tri =
            |estimate: &str, resolution, flagged, recent| triage(&p, eur(), m(estimate), resolution, flagged, recent);
        assert_eq!(
            tri("100", Resolution::Refund, false, 0),
            Triage {
                manual_review: false,
                auto_approve: true,
                keep_items: false
            }
        );
        assert!(!tri("100.01", Resolution::Refund, false, 0).auto_approve);
        assert!(tri("10", Resolution::Refund, false, 0).keep_items);
        assert!(!tri("10", Resolution::Exchange, false, 0).keep_items);
        assert!(tri("5", Resolution::Refund, true, 0).manual_review);
        assert!(!tri("5", Resolution::Refund, false, 3).manual_review);
        assert!(tri("5", Resolution::Refund, false, 4).manual_review);
        assert!(tri("500.01", Resolution::Refund, false, 0).manual_review);
        let usd = Currency::from_code("USD").unwrap();
        let one_usd = Money::parse(usd, "1").unwrap();
        assert!(
            !triage(&p, usd, one_usd, Resolution::Refund, false, 0).auto_approve,
            "no amount for USD"
        );
    }
}
