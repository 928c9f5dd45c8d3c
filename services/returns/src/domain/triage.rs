//! What a return's terms decide once, at its creation: manual review,
//! automatic approval, and whether the items may be kept. Approval — by the
//! system or by an agent — honours the decision; it is never re-made.

use aftercare_kernel::Money;

use super::{Resolution, Terms};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Triage {
    pub manual_review: bool,
    pub auto_approve: bool,
    /// Once approved, the items stay with the customer and the refund is
    /// issued at once.
    pub keep_items: bool,
}

/// Manual review for flagged customers, frequent returners and large
/// refunds; otherwise automatic approval below the terms' amount. Items are
/// kept only below the terms' keep amount, never for exchanges, and never
/// when the return needs manual review (a flagged customer does not keep
/// the goods whoever approves).
pub fn triage(terms: &Terms, estimate: Money, resolution: Resolution, flagged: bool, recent_returns: i64) -> Triage {
    let too_many = terms.manual_review_return_count > 0 && recent_returns > i64::from(terms.manual_review_return_count);
    let too_large = terms.manual_review_limit.is_some_and(|limit| estimate > limit);
    let manual_review = flagged || too_many || too_large;
    let auto_approve = !manual_review && terms.auto_approve_max.is_some_and(|max| estimate <= max);
    let keeps = resolution != Resolution::Exchange && terms.keep_item_max.is_some_and(|max| estimate <= max);
    Triage {
        manual_review,
        auto_approve,
        keep_items: !manual_review && keeps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::{eur, m, policy};
    use aftercare_kernel::Currency;

    #[test]
    fn triage_by_policy() {
        let mut p = policy();
        p.auto_approve_max_refund = vec![m("100")];
        p.keep_item_max_refund = vec![m("10")];
        p.manual_review_return_count = 3;
        p.manual_review_refund_limit = vec![m("500")];
        let terms = Terms::combine([&p], eur());
        let tri =
            |estimate: &str, resolution, flagged, recent| triage(&terms, m(estimate), resolution, flagged, recent);
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
        assert!(
            !tri("5", Resolution::Refund, true, 0).keep_items,
            "a flagged customer never keeps the items"
        );
        assert!(!tri("5", Resolution::Refund, false, 4).keep_items);
        assert!(!tri("5", Resolution::Refund, false, 3).manual_review);
        assert!(tri("5", Resolution::Refund, false, 4).manual_review);
        assert!(tri("500.01", Resolution::Refund, false, 0).manual_review);
        let usd = Currency::from_code("USD").unwrap();
        let one_usd = Money::parse(usd, "1").unwrap();
        let usd_terms = Terms::combine([&p], usd);
        assert!(
            !triage(&usd_terms, one_usd, Resolution::Refund, false, 0).auto_approve,
            "no amount for USD"
        );
    }
}
