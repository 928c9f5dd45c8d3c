//! A return's items may come from several categories, each with its own
//! policy. Per-item rules (eligibility, allowed resolutions, restocking fees)
//! use the item's own policy; return-level rules use [`Terms`], combined
//! from the items' policies so that the order of the items never matters:
//!
//! | term | rule |
//! |---|---|
//! | return shipping fee | the highest of the items' fees (one parcel, charged once) |
//! | auto-approve, keep-the-item limits | the lowest; none if any item's policy has none |
//! | manual review refund limit | the lowest of those set |
//! | manual review return count | the lowest of those set (0 = no limit) |
//! | exchange / store-credit bonus | the lowest |
//! | advance exchange, auto-refund on receipt | only if every item's policy allows it |

use std::collections::HashMap;

use aftercare_kernel::{Currency, Money, Percent};

use super::{Policy, amount_in};

/// The return-level terms of a return, in its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub currency: Currency,
    pub shipping_fee: Money,
    pub auto_approve_max: Option<Money>,
    pub keep_item_max: Option<Money>,
    pub manual_review_limit: Option<Money>,
    pub manual_review_return_count: i32,
    pub bonus_percent: Percent,
    pub advance_exchange: bool,
    pub auto_refund_on_receipt: bool,
}

impl Terms {
    /// Combines the items' policies (at least one).
    pub fn combine<'a>(policies: impl IntoIterator<Item = &'a Policy>, currency: Currency) -> Terms {
        let policies: Vec<&Policy> = policies.into_iter().collect();
        assert!(!policies.is_empty(), "a return has at least one item");
        let amounts = |f: fn(&Policy) -> &Vec<Money>| -> Vec<Option<Money>> {
            policies.iter().map(|p| amount_in(f(p), currency)).collect()
        };
        // The lowest, and only if every policy sets one.
        let lowest_of_all = |list: Vec<Option<Money>>| -> Option<Money> {
            list.into_iter().try_fold(None, |low: Option<Money>, m| {
                let m = m?;
                Some(Some(low.map_or(m, |l| l.min(m))))
            })?
        };
        // The lowest of those set.
        let lowest_set = |list: Vec<Option<Money>>| list.into_iter().flatten().reduce(Money::min);
        Terms {
            currency,
            shipping_fee: amounts(|p| &p.return_shipping_fees)
                .into_iter()
                .flatten()
                .fold(Money::zero(currency), Money::max),
            auto_approve_max: lowest_of_all(amounts(|p| &p.auto_approve_max_refund)),
            keep_item_max: lowest_of_all(amounts(|p| &p.keep_item_max_refund)),
            manual_review_limit: lowest_set(amounts(|p| &p.manual_review_refund_limit)),
            manual_review_return_count: policies
                .iter()
                .map(|p| p.manual_review_return_count)
                .filter(|n| *n > 0)
                .min()
                .unwrap_or(0),
            bonus_percent: policies
                .iter()
                .map(|p| p.exchange_bonus_percent)
                .min()
                .unwrap_or(Percent::ZERO),
            advance_exchange: policies.iter().all(|p| p.advance_exchange),
            auto_refund_on_receipt: policies.iter().all(|p| p.auto_refund_on_receipt),
        }
    }
}

/// The policies a return was decided under: each item's own (by line), and
/// the terms combined from them.
#[derive(Debug, Clone, PartialEq)]
pub struct Policies {
    by_line: HashMap<String, Policy>,
    pub terms: Terms,
}

impl Policies {
    /// `items`: each item's line id and its policy.
    pub fn new(items: Vec<(String, Policy)>, currency: Currency) -> Policies {
        let terms = Terms::combine(items.iter().map(|(_, p)| p), currency);
        Policies {
            by_line: items.into_iter().collect(),
            terms,
        }
    }

    /// The policy of the item of `line_id`.
    pub fn of(&self, line_id: &str) -> &Policy {
        &self.by_line[line_id]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::{eur, m, policy};

    fn with(f: impl FnOnce(&mut Policy)) -> Policy {
        let mut p = policy();
        f(&mut p);
        p
    }

    #[test]
    fn terms_take_the_strictest_side_whatever_the_order() {
        let mug = with(|p| {
            p.return_shipping_fees = vec![m("2.99")];
            p.auto_approve_max_refund = vec![m("100")];
            p.keep_item_max_refund = vec![m("20")];
            p.exchange_bonus_percent = Percent::parse("10").unwrap();
            p.advance_exchange = true;
            p.auto_refund_on_receipt = true;
            p.manual_review_return_count = 5;
        });
        let laptop = with(|p| {
            p.return_shipping_fees = vec![m("9.99")];
            p.auto_approve_max_refund = vec![m("50")];
            p.manual_review_refund_limit = vec![m("400")];
            p.exchange_bonus_percent = Percent::parse("5").unwrap();
            p.manual_review_return_count = 2;
        });
        let a = Terms::combine([&mug, &laptop], eur());
        let b = Terms::combine([&laptop, &mug], eur());
        assert_eq!(a, b, "item order does not matter");
        assert_eq!(a.shipping_fee, m("9.99"));
        assert_eq!(a.auto_approve_max, Some(m("50")));
        assert_eq!(a.keep_item_max, None, "the laptop's policy lets nobody keep it");
        assert_eq!(a.manual_review_limit, Some(m("400")));
        assert_eq!(a.manual_review_return_count, 2);
        assert_eq!(a.bonus_percent, Percent::parse("5").unwrap());
        assert!(!a.advance_exchange && !a.auto_refund_on_receipt);
        let alone = Terms::combine([&mug], eur());
        assert_eq!((alone.keep_item_max, alone.advance_exchange), (Some(m("20")), true));
    }
}
