//! The rules of returns: policies, eligibility, refund math, the status
//! graph, and what automation a policy allows. Pure: no transport, no
//! storage, no clock reads.

use aftercare_platform::error::Error;
use aftercare_platform::money::Currency;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// How far back "returns in the last 90 days" looks.
pub const RECENT_RETURNS_WINDOW: Duration = Duration::days(90);
/// How long a customer has to ship an approved return.
pub const SHIP_BY: Duration = Duration::days(14);

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name stored in the database and in events.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }
    };
}

named_enum!(Resolution { Refund = "refund", StoreCredit = "store_credit", Exchange = "exchange" });

named_enum!(Reason {
    ChangedMind = "changed_mind",
    WrongSize = "wrong_size",
    Defective = "defective",
    DamagedInTransit = "damaged_in_transit",
    WrongItem = "wrong_item",
    NotAsDescribed = "not_as_described",
    ArrivedLate = "arrived_late",
    Other = "other",
});

impl Reason {
    /// The store's fault: the customer pays no shipping or restocking fee.
    pub fn merchant_fault(self) -> bool {
        matches!(
            self,
            Reason::Defective | Reason::DamagedInTransit | Reason::WrongItem | Reason::NotAsDescribed
        )
    }
}

named_enum!(Status {
    Requested = "requested",
    Approved = "approved",
    Rejected = "rejected",
    InTransit = "in_transit",
    Received = "received",
    Completed = "completed",
    Canceled = "canceled",
});

named_enum!(Grade {
    Resellable = "resellable",
    Opened = "opened",
    Damaged = "damaged",
    Missing = "missing",
    WrongItem = "wrong_item",
});

named_enum!(RefundStatus { Pending = "pending", Succeeded = "succeeded", Failed = "failed" });

named_enum!(RefundMethod { OriginalPayment = "original_payment", StoreCredit = "store_credit" });

/// An amount per currency (fees and thresholds of a policy).
pub type PerCurrency = Vec<(String, Decimal)>;

pub fn amount_in(list: &PerCurrency, currency: Currency) -> Option<Decimal> {
    list.iter().find(|(c, _)| c == currency.code()).map(|(_, a)| *a)
}

/// A category's return policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// "" for the default policy.
    pub category: String,
    pub version: i32,
    pub return_window_days: i32,
    pub final_sale: bool,
    pub allowed_resolutions: Vec<Resolution>,
    pub restocking_fee_percent: Decimal,
    pub return_shipping_fees: PerCurrency,
    pub auto_approve_max_refund: PerCurrency,
    pub keep_item_max_refund: PerCurrency,
    pub auto_refund_on_receipt: bool,
    pub manual_review_return_count: i32,
    pub manual_review_refund_limit: PerCurrency,
    pub exchange_bonus_percent: Decimal,
    pub advance_exchange: bool,
    pub updated_at: DateTime<Utc>,
}

impl Policy {
    /// What a store gets before it configures anything: 14 days, every
    /// resolution, no fees, no automation.
    pub fn builtin_default(now: DateTime<Utc>) -> Policy {
        Policy {
            category: String::new(),
            version: 0,
            return_window_days: 14,
            final_sale: false,
            allowed_resolutions: Resolution::ALL.to_vec(),
            restocking_fee_percent: Decimal::ZERO,
            return_shipping_fees: Vec::new(),
            auto_approve_max_refund: Vec::new(),
            keep_item_max_refund: Vec::new(),
            auto_refund_on_receipt: false,
            manual_review_return_count: 0,
            manual_review_refund_limit: Vec::new(),
            exchange_bonus_percent: Decimal::ZERO,
            advance_exchange: false,
            updated_at: now,
        }
    }

    /// The last moment a line delivered at `delivered_at` can be returned.
    pub fn deadline(&self, delivered_at: DateTime<Utc>) -> DateTime<Utc> {
        delivered_at + Duration::days(i64::from(self.return_window_days))
    }
}

/// An order line as this service knows it (from order events), with what
/// returns have already taken of it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub order_id: String,
    pub line_id: String,
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub quantity: i32,
    pub paid_amount: Decimal,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Units in returns that are not canceled or rejected.
    pub requested_quantity: i32,
    /// Units already refunded (or promised a refund).
    pub refunded_units: i32,
    pub refunded_amount: Decimal,
}

impl OrderLine {
    pub fn delivered_quantity(&self) -> i32 {
        if self.delivered_at.is_some() { self.quantity } else { 0 }
    }

    pub fn returnable_quantity(&self) -> i32 {
        (self.delivered_quantity() - self.requested_quantity).max(0)
    }

    /// What the next `units` refunded units of the line are worth. The line's
    /// paid amount is split over its units by largest remainder and units are
    /// refunded in that order, so refunds of a line never sum to more than was
    /// paid, and refunding every unit refunds exactly what was paid.
    pub fn price_of_next_units(&self, currency: Currency, units: i32) -> Decimal {
        let start = i128::from(self.refunded_units.clamp(0, self.quantity));
        let end = i128::from((self.refunded_units + units).clamp(0, self.quantity));
        if start >= end {
            return Decimal::ZERO;
        }
        // Largest remainder over equal units, in O(1): every unit gets the
        // floor share and the first `extra` units one minor unit more.
        let paid = currency
            .to_minor(self.paid_amount)
            .expect("paid amounts fit their currency");
        let quantity = i128::from(self.quantity);
        let (share, extra) = (paid / quantity, paid % quantity);
        let with_extra = (end.min(extra) - start).max(0);
        currency.minor_to_decimal(share * (end - start) + with_extra)
    }
}

/// Whether, and how, one line can be returned now.
#[derive(Debug, Clone, PartialEq)]
pub struct Eligibility {
    pub line_id: String,
    pub returnable_quantity: i32,
    pub deadline: Option<DateTime<Utc>>,
    pub allowed_resolutions: Vec<Resolution>,
    pub estimated_refund_per_unit: Decimal,
    pub reasons: Vec<&'static str>,
}

impl Eligibility {
    pub fn eligible(&self) -> bool {
        self.reasons.is_empty()
    }
}

pub fn eligibility(
    line: &OrderLine,
    order_canceled: bool,
    policy: &Policy,
    currency: Currency,
    now: DateTime<Utc>,
) -> Eligibility {
    let mut reasons = Vec::new();
    if order_canceled {
        reasons.push("ORDER_CANCELED");
    }
    let deadline = line.delivered_at.map(|d| policy.deadline(d));
    match deadline {
        None if !order_canceled => reasons.push("NOT_DELIVERED"),
        Some(deadline) if now > deadline => reasons.push("WINDOW_CLOSED"),
        _ => {}
    }
    if policy.final_sale {
        reasons.push("FINAL_SALE");
    }
    let returnable = line.returnable_quantity();
    if line.delivered_at.is_some() && returnable == 0 {
        reasons.push("ALREADY_RETURNED");
    }
    Eligibility {
        line_id: line.line_id.clone(),
        returnable_quantity: if reasons.is_empty() { returnable } else { 0 },
        deadline,
        allowed_resolutions: if reasons.is_empty() {
            policy.allowed_resolutions.clone()
        } else {
            Vec::new()
        },
        estimated_refund_per_unit: line.price_of_next_units(currency, 1),
        reasons,
    }
}

/// Units of an item accepted for a refund, for pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedUnits {
    /// Their value before fees.
    pub value: Decimal,
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
pub fn item_refund(item: &PricedUnits, policy: &Policy, currency: Currency) -> Decimal {
    let fee_applies = !item.reason.merchant_fault() && matches!(item.grade, Some(Grade::Opened | Grade::Damaged));
    let fee = if fee_applies {
        (item.value * policy.restocking_fee_percent / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::ToZero)
    } else {
        Decimal::ZERO
    };
    item.value - fee
}

/// What a return pays, and what an exchange costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settlement {
    pub items_refund: Decimal,
    pub shipping_fee: Decimal,
    pub bonus: Decimal,
    /// What a refund of the return pays (zero for exchanges).
    pub refund_total: Decimal,
    /// Replacements' price minus the credit for the returned items.
    pub exchange_difference: Decimal,
}

/// Settles a return from its items' refunds. The shipping fee is charged
/// once, never for kept items or when any item is the store's fault, and
/// never exceeds the items' refund. Store credit and exchanges earn the
/// policy's bonus, rounded down.
pub fn settle(
    item_refunds: &[(Decimal, Reason)],
    resolution: Resolution,
    keep_items: bool,
    replacements_total: Decimal,
    policy: &Policy,
    currency: Currency,
) -> Settlement {
    let items_refund: Decimal = item_refunds.iter().map(|(r, _)| *r).sum();
    let merchant_fault = item_refunds.iter().any(|(_, reason)| reason.merchant_fault());
    let shipping_fee = if keep_items || merchant_fault {
        Decimal::ZERO
    } else {
        amount_in(&policy.return_shipping_fees, currency)
            .unwrap_or_default()
            .min(items_refund)
    };
    let net = items_refund - shipping_fee;
    let bonus = match resolution {
        Resolution::Refund => Decimal::ZERO,
        Resolution::StoreCredit | Resolution::Exchange => (net * policy.exchange_bonus_percent / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::ToZero),
    };
    match resolution {
        Resolution::Refund | Resolution::StoreCredit => Settlement {
            items_refund,
            shipping_fee,
            bonus,
            refund_total: net + bonus,
            exchange_difference: Decimal::ZERO,
        },
        Resolution::Exchange => Settlement {
            items_refund,
            shipping_fee,
            bonus,
            refund_total: Decimal::ZERO,
            exchange_difference: replacements_total - (net + bonus),
        },
    }
}

/// What the policy decides for a new return.
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
    estimate: Decimal,
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
pub fn keeps(policy: &Policy, currency: Currency, estimate: Decimal, resolution: Resolution) -> bool {
    resolution != Resolution::Exchange
        && amount_in(&policy.keep_item_max_refund, currency).is_some_and(|max| estimate <= max)
}

/// Who is acting, for the transitions that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Customer,
    Staff,
}

/// A step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Reject,
    Cancel(Actor),
    Ship,
    Receive,
    IssueRefund,
    ShipExchange,
}

/// What the transition graph needs to know about a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: Status,
    pub resolution: Resolution,
    pub keep_items: bool,
    pub advance_exchange: bool,
    pub exchange_shipped: bool,
    /// A refund is pending or succeeded.
    pub refund_live: bool,
}

/// The status after `step`, or FAILED_PRECONDITION naming the current status.
pub fn next_status(facts: Facts, step: Step) -> Result<Status, Error> {
    use Status::*;
    let f = facts;
    let next = match (step, f.status) {
        (Step::Approve, Requested) => Some(Approved),
        (Step::Reject, Requested) => Some(Rejected),
        (Step::Cancel(_), Requested | Approved) if !f.refund_live && !f.exchange_shipped => Some(Canceled),
        (Step::Cancel(Actor::Staff), InTransit) if !f.refund_live && !f.exchange_shipped => Some(Canceled),
        (Step::Ship, Approved) if !f.keep_items => Some(InTransit),
        // An advance exchange already shipped completes on receipt.
        (Step::Receive, InTransit) if f.resolution == Resolution::Exchange && f.exchange_shipped => Some(Completed),
        (Step::Receive, InTransit) => Some(Received),
        (Step::IssueRefund, Received) if f.resolution != Resolution::Exchange && !f.refund_live => Some(Received),
        (Step::IssueRefund, Approved) if f.keep_items && !f.refund_live => Some(Approved),
        (Step::ShipExchange, Received) if f.resolution == Resolution::Exchange && !f.exchange_shipped => {
            Some(Completed)
        }
        (Step::ShipExchange, Approved)
            if f.resolution == Resolution::Exchange && f.advance_exchange && !f.exchange_shipped =>
        {
            Some(Approved)
        }
        _ => None,
    };
    next.ok_or_else(|| {
        Error::precondition(
            "INVALID_STATUS",
            format!(
                "cannot {} a return that is {}",
                step_name(step),
                f.status.as_str().replace('_', " ")
            ),
        )
        .with_metadata("status", f.status.as_str().to_uppercase())
    })
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Approve => "approve",
        Step::Reject => "reject",
        Step::Cancel(_) => "cancel",
        Step::Ship => "ship",
        Step::Receive => "receive",
        Step::IssueRefund => "refund",
        Step::ShipExchange => "ship the exchange of",
    }
}

/// What happens next, for the customer.
pub fn next_step(f: Facts, ship_by: Option<DateTime<Utc>>) -> String {
    match f.status {
        Status::Requested => "We are reviewing your return request.".into(),
        Status::Approved if f.keep_items => "Approved: keep the items; your refund is on its way.".into(),
        Status::Approved => match ship_by {
            Some(t) => format!("Approved: please ship the items back by {}.", t.format("%Y-%m-%d")),
            None => "Approved: please ship the items back.".into(),
        },
        Status::InTransit => "On its way back to us; we will inspect it on arrival.".into(),
        Status::Received if f.resolution == Resolution::Exchange => "Received: your replacement ships next.".into(),
        Status::Received => "Received and inspected: your refund is being processed.".into(),
        Status::Completed => "Done.".into(),
        Status::Rejected => "Your return request was declined.".into(),
        Status::Canceled => "This return was canceled.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_platform::money::allocate;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn line(quantity: i32, paid: &str) -> OrderLine {
        OrderLine {
            order_id: "o".into(),
            line_id: "L1".into(),
            sku: "S".into(),
            product_name: "P".into(),
            category: "kitchen".into(),
            quantity,
            paid_amount: d(paid),
            delivered_at: Some(t("2026-03-01T12:00:00Z")),
            requested_quantity: 0,
            refunded_units: 0,
            refunded_amount: Decimal::ZERO,
        }
    }

    fn policy() -> Policy {
        Policy::builtin_default(t("2026-01-01T00:00:00Z"))
    }

    #[test]
    fn the_window_closes_exactly_at_the_deadline() {
        let l = line(1, "10");
        let deadline = t("2026-03-15T12:00:00Z");
        let at = |now| eligibility(&l, false, &policy(), eur(), now);
        assert!(at(deadline).eligible());
        assert!(at(deadline - Duration::seconds(1)).eligible());
        assert_eq!(at(deadline + Duration::seconds(1)).reasons, ["WINDOW_CLOSED"]);
        assert_eq!(at(deadline).deadline, Some(deadline));
    }

    #[test]
    fn eligibility_reasons() {
        let mut undelivered = line(1, "10");
        undelivered.delivered_at = None;
        let now = t("2026-03-02T00:00:00Z");
        assert_eq!(
            eligibility(&undelivered, false, &policy(), eur(), now).reasons,
            ["NOT_DELIVERED"]
        );
        assert_eq!(
            eligibility(&undelivered, true, &policy(), eur(), now).reasons,
            ["ORDER_CANCELED"]
        );
        let mut final_sale = policy();
        final_sale.final_sale = true;
        assert_eq!(
            eligibility(&line(1, "10"), false, &final_sale, eur(), now).reasons,
            ["FINAL_SALE"]
        );
        let mut returned = line(2, "10");
        returned.requested_quantity = 2;
        let e = eligibility(&returned, false, &policy(), eur(), now);
        assert_eq!(
            (e.reasons.as_slice(), e.returnable_quantity),
            (&["ALREADY_RETURNED"][..], 0)
        );
        let mut partly = line(3, "10");
        partly.requested_quantity = 1;
        assert_eq!(
            eligibility(&partly, false, &policy(), eur(), now).returnable_quantity,
            2
        );
    }

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
            l.paid_amount = Decimal::new(paid_cents, 2);
            l.refunded_units = start.min(quantity);
            let split = allocate(eur(), l.paid_amount, &vec![Decimal::ONE; quantity as usize]);
            let from = l.refunded_units as usize;
            let to = (l.refunded_units + units).min(quantity) as usize;
            let expected: Decimal = split[from..to].iter().sum();
            prop_assert_eq!(l.price_of_next_units(eur(), units), expected);
        }
    }

    #[test]
    fn unit_prices_split_by_largest_remainder() {
        let l = line(3, "10.00");
        assert_eq!(l.price_of_next_units(eur(), 1), d("3.34"));
        assert_eq!(l.price_of_next_units(eur(), 3), d("10.00"));
        let mut after_one = l.clone();
        after_one.refunded_units = 1;
        assert_eq!(after_one.price_of_next_units(eur(), 2), d("6.66"));
        assert_eq!(
            after_one.price_of_next_units(eur(), 5),
            d("6.66"),
            "never past the line"
        );
    }

    #[test]
    fn restocking_fees_by_grade_and_fault() {
        let mut p = policy();
        p.restocking_fee_percent = d("15");
        let item = |reason, grade| PricedUnits {
            value: d("19.99"),
            reason,
            grade: Some(grade),
        };
        assert_eq!(
            item_refund(&item(Reason::ChangedMind, Grade::Resellable), &p, eur()),
            d("19.99")
        );
        // 15 % of 19.99 is 2.9985, rounded down to 2.99.
        assert_eq!(
            item_refund(&item(Reason::ChangedMind, Grade::Opened), &p, eur()),
            d("17.00")
        );
        assert_eq!(
            item_refund(&item(Reason::WrongSize, Grade::Damaged), &p, eur()),
            d("17.00")
        );
        assert_eq!(
            item_refund(&item(Reason::Defective, Grade::Damaged), &p, eur()),
            d("19.99")
        );
        assert_eq!(accepted_units(Grade::Missing, 2), 0);
        assert_eq!(accepted_units(Grade::WrongItem, 2), 0);
        assert_eq!(accepted_units(Grade::Opened, 2), 2);
    }

    #[test]
    fn settlement_fees_and_bonus() {
        let mut p = policy();
        p.return_shipping_fees = vec![("EUR".into(), d("4.99"))];
        p.exchange_bonus_percent = d("10");
        let refund = settle(
            &[(d("50"), Reason::ChangedMind)],
            Resolution::Refund,
            false,
            Decimal::ZERO,
            &p,
            eur(),
        );
        assert_eq!((refund.shipping_fee, refund.refund_total), (d("4.99"), d("45.01")));
        let waived = settle(
            &[(d("50"), Reason::ChangedMind), (d("5"), Reason::Defective)],
            Resolution::Refund,
            false,
            Decimal::ZERO,
            &p,
            eur(),
        );
        assert_eq!((waived.shipping_fee, waived.refund_total), (d("0"), d("55")));
        let kept = settle(
            &[(d("50"), Reason::ChangedMind)],
            Resolution::Refund,
            true,
            Decimal::ZERO,
            &p,
            eur(),
        );
        assert_eq!(kept.shipping_fee, d("0"));
        let credit = settle(
            &[(d("50"), Reason::ChangedMind)],
            Resolution::StoreCredit,
            false,
            Decimal::ZERO,
            &p,
            eur(),
        );
        // (50 - 4.99) x 10 % = 4.501, rounded down.
        assert_eq!((credit.bonus, credit.refund_total), (d("4.50"), d("49.51")));
        let exchange = settle(
            &[(d("50"), Reason::WrongSize)],
            Resolution::Exchange,
            false,
            d("60"),
            &p,
            eur(),
        );
        assert_eq!(
            (exchange.refund_total, exchange.exchange_difference),
            (d("0"), d("10.49"))
        );
        let tiny = settle(
            &[(d("1"), Reason::ChangedMind)],
            Resolution::Refund,
            false,
            Decimal::ZERO,
            &p,
            eur(),
        );
        assert_eq!(
            (tiny.shipping_fee, tiny.refund_total),
            (d("1"), d("0")),
            "fee never exceeds the refund"
        );
    }

    #[test]
    fn triage_by_policy() {
        let mut p = policy();
        p.auto_approve_max_refund = vec![("EUR".into(), d("100"))];
        p.keep_item_max_refund = vec![("EUR".into(), d("10"))];
        p.manual_review_return_count = 3;
        p.manual_review_refund_limit = vec![("EUR".into(), d("500"))];
        let tri =
            |estimate: &str, resolution, flagged, recent| triage(&p, eur(), d(estimate), resolution, flagged, recent);
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
        assert!(
            !triage(&p, usd, d("1"), Resolution::Refund, false, 0).auto_approve,
            "no amount for USD"
        );
    }

    fn facts(status: Status) -> Facts {
        Facts {
            status,
            resolution: Resolution::Refund,
            keep_items: false,
            advance_exchange: false,
            exchange_shipped: false,
            refund_live: false,
        }
    }

    #[test]
    fn the_status_graph() {
        use Status::*;
        let ok = |f: Facts, step| next_status(f, step).ok();
        assert_eq!(ok(facts(Requested), Step::Approve), Some(Approved));
        assert_eq!(ok(facts(Requested), Step::Reject), Some(Rejected));
        assert_eq!(ok(facts(Approved), Step::Ship), Some(InTransit));
        assert_eq!(ok(facts(InTransit), Step::Receive), Some(Received));
        assert_eq!(ok(facts(Received), Step::IssueRefund), Some(Received));
        assert_eq!(ok(facts(Approved), Step::Cancel(Actor::Customer)), Some(Canceled));
        assert_eq!(
            ok(facts(InTransit), Step::Cancel(Actor::Customer)),
            None,
            "customers cancel before shipment"
        );
        assert_eq!(ok(facts(InTransit), Step::Cancel(Actor::Staff)), Some(Canceled));
        assert_eq!(ok(facts(Received), Step::Cancel(Actor::Staff)), None);
        assert_eq!(
            ok(
                Facts {
                    refund_live: true,
                    ..facts(Received)
                },
                Step::IssueRefund
            ),
            None
        );
        assert_eq!(
            ok(facts(Approved), Step::IssueRefund),
            None,
            "only kept items refund before receipt"
        );
        assert_eq!(
            ok(
                Facts {
                    keep_items: true,
                    ..facts(Approved)
                },
                Step::IssueRefund
            ),
            Some(Approved)
        );
        assert_eq!(
            ok(
                Facts {
                    keep_items: true,
                    ..facts(Approved)
                },
                Step::Ship
            ),
            None
        );
        let exchange = Facts {
            resolution: Resolution::Exchange,
            ..facts(Received)
        };
        assert_eq!(ok(exchange, Step::ShipExchange), Some(Completed));
        assert_eq!(ok(exchange, Step::IssueRefund), None);
        let advance = Facts {
            resolution: Resolution::Exchange,
            advance_exchange: true,
            ..facts(Approved)
        };
        assert_eq!(ok(advance, Step::ShipExchange), Some(Approved));
        let shipped = Facts {
            exchange_shipped: true,
            status: InTransit,
            ..advance
        };
        assert_eq!(ok(shipped, Step::Receive), Some(Completed));
        let err = next_status(facts(Rejected), Step::Approve).unwrap_err();
        assert!(
            matches!(err, Error::FailedPrecondition { reason: "INVALID_STATUS", ref metadata, .. }
            if metadata.contains(&("status".to_owned(), "REJECTED".to_owned())))
        );
    }

    /// Every (status, step) pair of a plain refund return: exactly the
    /// allowed ones move, every other is refused.
    #[test]
    fn every_transition_of_a_refund_return() {
        use Status::*;
        let steps = [
            Step::Approve,
            Step::Reject,
            Step::Cancel(Actor::Customer),
            Step::Cancel(Actor::Staff),
            Step::Ship,
            Step::Receive,
            Step::IssueRefund,
            Step::ShipExchange,
        ];
        let allowed = [
            (Requested, Step::Approve, Approved),
            (Requested, Step::Reject, Rejected),
            (Requested, Step::Cancel(Actor::Customer), Canceled),
            (Requested, Step::Cancel(Actor::Staff), Canceled),
            (Approved, Step::Cancel(Actor::Customer), Canceled),
            (Approved, Step::Cancel(Actor::Staff), Canceled),
            (Approved, Step::Ship, InTransit),
            (InTransit, Step::Cancel(Actor::Staff), Canceled),
            (InTransit, Step::Receive, Received),
            (Received, Step::IssueRefund, Received),
        ];
        for status in Status::ALL {
            for step in steps {
                let expected = allowed
                    .iter()
                    .find(|(s, st, _)| s == status && *st == step)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    next_status(facts(*status), step).ok(),
                    expected,
                    "{status:?} + {step:?}"
                );
            }
        }
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        let steps = [
            Step::Approve,
            Step::Reject,
            Step::Cancel(Actor::Staff),
            Step::Cancel(Actor::Customer),
            Step::Ship,
            Step::Receive,
            Step::IssueRefund,
            Step::ShipExchange,
        ];
        for status in [Status::Rejected, Status::Canceled, Status::Completed] {
            for resolution in Resolution::ALL {
                for step in steps {
                    let f = Facts {
                        resolution: *resolution,
                        keep_items: true,
                        advance_exchange: true,
                        ..facts(status)
                    };
                    assert!(next_status(f, step).is_err(), "{status:?} {step:?}");
                }
            }
        }
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
            let currency = eur();
            let mut l = line(quantity, "0");
            l.paid_amount = Decimal::new(paid_cents, 2);
            let mut p = policy();
            p.restocking_fee_percent = Decimal::from(fee_percent);
            let mut total = Decimal::ZERO;
            for (batch, grade) in batches.iter().zip(grades.iter().map(|g| Grade::ALL[*g])) {
                let units = accepted_units(grade, (*batch).min(quantity - l.refunded_units));
                let value = l.price_of_next_units(currency, units);
                let refund = item_refund(&PricedUnits { value, reason: Reason::ChangedMind, grade: Some(grade) }, &p, currency);
                prop_assert!(refund >= Decimal::ZERO && refund <= value);
                l.refunded_units += units;
                total += refund;
                prop_assert!(total <= l.paid_amount);
            }
            // A full return of resellable units refunds exactly what was paid.
            let mut fresh = line(quantity, "0");
            fresh.paid_amount = Decimal::new(paid_cents, 2);
            let mut full = Decimal::ZERO;
            for batch in &batches {
                let units = (*batch).min(quantity - fresh.refunded_units);
                full += fresh.price_of_next_units(currency, units);
                fresh.refunded_units += units;
            }
            full += fresh.price_of_next_units(currency, quantity - fresh.refunded_units);
            prop_assert_eq!(full, fresh.paid_amount);
        }
    }
}

/// A shipment (the return parcel or the exchange's replacements).
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub line_id: String,
    pub sku: String,
    pub product_name: String,
    pub quantity: i32,
    pub reason: Reason,
    pub note: String,
    pub photo_urls: Vec<String>,
    pub resolution: Resolution,
    pub replacement_sku: Option<String>,
    pub replacement_price: Option<Decimal>,
    pub received_quantity: Option<i32>,
    pub grade: Option<Grade>,
    /// Estimated until received.
    pub refund_amount: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Refund {
    pub refund_id: uuid::Uuid,
    pub return_id: uuid::Uuid,
    pub status: RefundStatus,
    pub method: RefundMethod,
    pub amount: Decimal,
    pub currency: Currency,
    pub provider_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Refund {
    pub fn live(&self) -> bool {
        matches!(self.status, RefundStatus::Pending | RefundStatus::Succeeded)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `Some` for status changes, `None` for messages.
    pub status: Option<Status>,
    pub text: String,
    pub actor_role: String,
    pub channel: Option<aftercare_platform::channel::Channel>,
    pub customer_visible: bool,
}

/// A return with everything a caller sees of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Return {
    pub return_id: uuid::Uuid,
    pub order_id: String,
    pub customer_id: String,
    pub status: Status,
    pub channel: aftercare_platform::channel::Channel,
    pub resolution: Resolution,
    pub currency: Currency,
    pub policy_category: String,
    pub policy_version: i32,
    pub keep_items: bool,
    pub manual_review: bool,
    pub settlement: Settlement,
    pub rejection_reason: Option<String>,
    pub return_shipment: Option<Shipment>,
    pub exchange_shipment: Option<Shipment>,
    pub ship_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<Item>,
    /// The latest refund.
    pub refund: Option<Refund>,
    pub timeline: Vec<TimelineEntry>,
}

impl Return {
    pub fn facts(&self, policy: &Policy) -> Facts {
        Facts {
            status: self.status,
            resolution: self.resolution,
            keep_items: self.keep_items,
            advance_exchange: policy.advance_exchange,
            exchange_shipped: self.exchange_shipment.is_some(),
            refund_live: self.refund.as_ref().is_some_and(Refund::live),
        }
    }

    /// The replacements' price, for exchanges.
    pub fn replacements_total(&self) -> Decimal {
        self.items
            .iter()
            .filter_map(|i| i.replacement_price.map(|p| p * Decimal::from(i.quantity)))
            .sum()
    }

    pub fn refund_method(&self) -> RefundMethod {
        match self.resolution {
            Resolution::StoreCredit | Resolution::Exchange => RefundMethod::StoreCredit,
            Resolution::Refund => RefundMethod::OriginalPayment,
        }
    }
}
