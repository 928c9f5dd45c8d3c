//! Refund math: what returned units are worth, restocking and shipping fees,
//! store-credit bonuses and exchange differences. Every amount is `Money` in
//! the order's currency; fees and bonuses round toward zero.

use aftercare_kernel::Money;

use super::{Grade, OrderLine, Policy, Reason, Resolution, Settlement, Terms};

impl OrderLine {
    /// What the next `units` refunded units of the line are worth: what is
    /// left of the paid amount (paid minus the value of the units refunded
    /// so far) split over the units left by largest remainder, first units
    /// first. Refunds of a line never sum to more than was paid, refunding
    /// every unit refunds exactly what was paid, and a unit given back by a
    /// canceled return is worth exactly what it took.
    pub fn price_of_next_units(&self, units: i32) -> Money {
        next_units_value(
            self.paid_amount,
            self.refunded_value,
            self.quantity - self.refunded_units,
            units,
        )
    }
}

/// [`OrderLine::price_of_next_units`] from the line's figures: `paid` for
/// the line, `refunded_value` of the units refunded so far, `left_units`
/// not refunded yet.
pub fn next_units_value(paid: Money, refunded_value: Money, left_units: i32, units: i32) -> Money {
    let currency = paid.currency();
    let left_units = i128::from(left_units.max(0));
    let units = i128::from(units.max(0)).min(left_units);
    if units == 0 {
        return Money::zero(currency);
    }
    // Largest remainder over equal units, in O(1): every unit gets the
    // floor share and the first `extra` units one minor unit more.
    let left = (paid - refunded_value).to_minor().max(0);
    let (share, extra) = (left / left_units, left % left_units);
    Money::from_minor(currency, share * units + units.min(extra))
}

/// Units of an item accepted for a refund, for pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedUnits {
    /// Their value before fees.
    pub value: Money,
    pub reason: Reason,
    /// `None` until received; kept items are priced as resellable.
    pub grade: Option<Grade>,
}

/// Units of a received item that earn a refund: missing and wrong items
/// earn nothing.
pub fn accepted_units(grade: Grade, received: i32) -> i32 {
    match grade {
        Grade::Resellable | Grade::Opened | Grade::Damaged => received,
        Grade::Missing | Grade::WrongItem => 0,
    }
}

/// One item's refund: its units' value less the restocking fee, which applies
/// to opened (or customer-damaged) units unless the store was at fault. The
/// fee is rounded down, in the customer's favour.
pub fn item_refund(item: &PricedUnits, policy: &Policy) -> Money {
    let fee_applies = !item.reason.merchant_fault() && matches!(item.grade, Some(Grade::Opened | Grade::Damaged));
    if fee_applies {
        item.value - policy.restocking_fee_percent.of_down(item.value)
    } else {
        item.value
    }
}

/// Settles a return from its items' refunds (each already net of its own
/// policy's restocking fee) under the return's terms. The shipping fee is
/// charged once, never for kept items or when any item is the store's fault,
/// and never exceeds the items' refund. Store credit and exchanges earn the
/// terms' bonus, rounded down.
pub fn settle(
    item_refunds: &[(Money, Reason)],
    resolution: Resolution,
    keep_items: bool,
    replacements_total: Option<Money>,
    terms: &Terms,
) -> Settlement {
    let currency = terms.currency;
    let zero = Money::zero(currency);
    let items_refund = Money::sum(currency, item_refunds.iter().map(|(r, _)| *r));
    let merchant_fault = item_refunds.iter().any(|(_, reason)| reason.merchant_fault());
    let shipping_fee = if keep_items || merchant_fault {
        zero
    } else {
        terms.shipping_fee.min(items_refund)
    };
    let net = items_refund - shipping_fee;
    let bonus = match resolution {
        Resolution::Refund => zero,
        Resolution::StoreCredit | Resolution::Exchange => terms.bonus_percent.of_down(net),
    };
    match resolution {
        Resolution::Refund | Resolution::StoreCredit => Settlement {
            items_refund,
            shipping_fee,
            bonus,
            refund_total: net + bonus,
            exchange_difference: zero,
        },
        // A positive difference the customer pays (a charge); a negative one
        // the store pays back (a refund). Unpriced: nothing either way yet.
        Resolution::Exchange => {
            let exchange_difference = replacements_total.map_or(zero, |total| total - (net + bonus));
            Settlement {
                items_refund,
                shipping_fee,
                bonus,
                refund_total: (zero - exchange_difference).max(zero),
                exchange_difference,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::{eur, line, m, policy};
    use aftercare_kernel::money::allocate;
    use aftercare_kernel::{Decimal, Percent};
    use proptest::prelude::*;

    proptest! {
        /// The O(1) unit pricing is the largest-remainder split of the line.
        #[test]
        fn unit_prices_are_the_largest_remainder_split(
            quantity in 1i32..200,
            paid_cents in 0i64..10_000_000,
            start in 0i32..200,
            units in 0i32..200,
        ) {
            let mut l = line(quantity, "0");
            l.paid_amount = Money::from_minor(eur(), i128::from(paid_cents));
            l.refunded_units = start.min(quantity);
            let split = allocate(eur(), l.paid_amount.amount(), &vec![Decimal::ONE; quantity as usize]);
            let from = l.refunded_units as usize;
            l.refunded_value = Money::from_decimal(eur(), split[..from].iter().sum());
            let to = (l.refunded_units + units).min(quantity) as usize;
            let expected: Decimal = split[from..to].iter().sum();
            prop_assert_eq!(l.price_of_next_units(units).amount(), expected);
        }
    }

    #[test]
    fn unit_prices_split_by_largest_remainder() {
        let l = line(3, "10.00");
        assert_eq!(l.price_of_next_units(1), m("3.34"));
        assert_eq!(l.price_of_next_units(3), m("10.00"));
        let mut after_one = l.clone();
        after_one.refunded_units = 1;
        after_one.refunded_value = m("3.34");
        assert_eq!(after_one.price_of_next_units(2), m("6.66"));
        assert_eq!(after_one.price_of_next_units(5), m("6.66"), "never past the line");
        // Unit 1 (3.34) was given back by a canceled return while unit 2
        // (3.33) stays refunded: the two left are worth 6.67, not 6.66.
        let mut gave_back = l.clone();
        gave_back.refunded_units = 1;
        gave_back.refunded_value = m("3.33");
        assert_eq!(gave_back.price_of_next_units(2), m("6.67"));
    }

    #[test]
    fn restocking_fees_by_grade_and_fault() {
        let mut p = policy();
        p.restocking_fee_percent = Percent::parse("15").unwrap();
        let item = |reason, grade| PricedUnits {
            value: m("19.99"),
            reason,
            grade: Some(grade),
        };
        assert_eq!(
            item_refund(&item(Reason::ChangedMind, Grade::Resellable), &p),
            m("19.99")
        );
        // 15 % of 19.99 is 2.9985, rounded down to 2.99.
        assert_eq!(item_refund(&item(Reason::ChangedMind, Grade::Opened), &p), m("17.00"));
        assert_eq!(item_refund(&item(Reason::WrongSize, Grade::Damaged), &p), m("17.00"));
        assert_eq!(item_refund(&item(Reason::Defective, Grade::Damaged), &p), m("19.99"));
        assert_eq!(accepted_units(Grade::Missing, 2), 0);
        assert_eq!(accepted_units(Grade::WrongItem, 2), 0);
        assert_eq!(accepted_units(Grade::Opened, 2), 2);
    }

    #[test]
    fn settlement_fees_and_bonus() {
        let mut p = policy();
        p.return_shipping_fees = vec![m("4.99")];
        p.exchange_bonus_percent = Percent::parse("10").unwrap();
        let zero = m("0");
        let terms = Terms::combine([&p], eur());
        let s = |items: &[(Money, Reason)], resolution, keep, replacements: Money| {
            settle(items, resolution, keep, Some(replacements), &terms)
        };
        let refund = s(&[(m("50"), Reason::ChangedMind)], Resolution::Refund, false, zero);
        assert_eq!((refund.shipping_fee, refund.refund_total), (m("4.99"), m("45.01")));
        let waived = s(
            &[(m("50"), Reason::ChangedMind), (m("5"), Reason::Defective)],
            Resolution::Refund,
            false,
            zero,
        );
        assert_eq!((waived.shipping_fee, waived.refund_total), (m("0"), m("55")));
        let kept = s(&[(m("50"), Reason::ChangedMind)], Resolution::Refund, true, zero);
        assert_eq!(kept.shipping_fee, m("0"));
        let credit = s(&[(m("50"), Reason::ChangedMind)], Resolution::StoreCredit, false, zero);
        // (50 - 4.99) x 10 % = 4.501, rounded down.
        assert_eq!((credit.bonus, credit.refund_total), (m("4.50"), m("49.51")));
        let exchange = s(&[(m("50"), Reason::WrongSize)], Resolution::Exchange, false, m("60"));
        assert_eq!(
            (exchange.refund_total, exchange.exchange_difference),
            (m("0"), m("10.49"))
        );
        let cheaper = s(&[(m("50"), Reason::WrongSize)], Resolution::Exchange, false, m("30"));
        assert_eq!(
            (cheaper.refund_total, cheaper.exchange_difference),
            (m("19.51"), m("-19.51")),
            "what the store owes is refunded"
        );
        let unpriced = settle(
            &[(m("50"), Reason::WrongSize)],
            Resolution::Exchange,
            false,
            None,
            &terms,
        );
        assert_eq!(
            (unpriced.refund_total, unpriced.exchange_difference),
            (m("0"), m("0")),
            "nothing is owed either way before the store prices the replacement"
        );
        let tiny = s(&[(m("1"), Reason::ChangedMind)], Resolution::Refund, false, zero);
        assert_eq!(
            (tiny.shipping_fee, tiny.refund_total),
            (m("1"), m("0")),
            "fee never exceeds the refund"
        );
    }

    proptest! {
        /// Any sequence of partial returns refunds at most what was paid for
        /// the line, and returning every unit refunds exactly that.
        #[test]
        fn partial_returns_never_refund_more_than_was_paid(
            quantity in 1i32..50,
            paid_cents in 0i64..1_000_000,
            batches in prop::collection::vec(1i32..10, 1..20),
            fee_percent in 0u32..=100,
            grades in prop::collection::vec(0usize..5, 20),
        ) {
            let paid = Money::from_minor(eur(), i128::from(paid_cents));
            let mut l = line(quantity, "0");
            l.paid_amount = paid;
            let mut p = policy();
            p.restocking_fee_percent = Percent::new(Decimal::from(fee_percent)).unwrap();
            let mut total = m("0");
            for (batch, grade) in batches.iter().zip(grades.iter().map(|g| Grade::ALL[*g])) {
                let units = accepted_units(grade, (*batch).min(quantity - l.refunded_units));
                let value = l.price_of_next_units(units);
                let refund = item_refund(&PricedUnits { value, reason: Reason::ChangedMind, grade: Some(grade) }, &p);
                prop_assert!(refund >= m("0") && refund <= value);
                l.refunded_units += units;
                l.refunded_value += value;
                total += refund;
                prop_assert!(total <= paid);
            }
            // A full return of resellable units refunds exactly what was paid.
            let mut fresh = line(quantity, "0");
            fresh.paid_amount = paid;
            let mut full = m("0");
            for batch in &batches {
                let units = (*batch).min(quantity - fresh.refunded_units);
                let value = fresh.price_of_next_units(units);
                full += value;
                fresh.refunded_units += units;
                fresh.refunded_value += value;
            }
            full += fresh.price_of_next_units(quantity - fresh.refunded_units);
            prop_assert_eq!(full, paid);
        }
    }
}
