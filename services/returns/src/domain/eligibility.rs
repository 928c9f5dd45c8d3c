//! Whether, and how, each line of an order can be returned now.

use aftercare_kernel::{Currency, DateTime, Money, Utc};

use super::{OrderLine, Policy, Resolution};

/// Whether, and how, one line can be returned now.
#[derive(Debug, Clone, PartialEq)]
pub struct Eligibility {
    pub line_id: String,
    pub returnable_quantity: i32,
    pub deadline: Option<DateTime<Utc>>,
    pub allowed_resolutions: Vec<Resolution>,
    pub estimated_refund_per_unit: Money,
    /// Stable reasons it is not returnable; empty when it is.
    pub reasons: Vec<&'static str>,
}

impl Eligibility {
    pub fn eligible(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// A line is returnable up to and including its deadline (delivery + the
/// policy's window), while units remain and the policy is not final sale.
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
    if line.is_plan {
        reasons.push("EXTENDED_WARRANTY_PLAN");
    }
    let returnable = line.returnable_quantity();
    if line.delivered_at.is_some() && returnable == 0 {
        reasons.push("ALREADY_RETURNED");
    }
    debug_assert_eq!(line.paid_amount.currency(), currency);
    Eligibility {
        line_id: line.line_id.clone(),
        returnable_quantity: if reasons.is_empty() { returnable } else { 0 },
        deadline,
        allowed_resolutions: if reasons.is_empty() {
            policy.allowed_resolutions.clone()
        } else {
            Vec::new()
        },
        estimated_refund_per_unit: line.price_of_next_units(1),
        reasons,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aftercare_kernel::Duration;

    pub fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    pub fn m(s: &str) -> Money {
        Money::parse(eur(), s).unwrap()
    }

    pub fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    pub fn line(quantity: i32, paid: &str) -> OrderLine {
        OrderLine {
            order_id: "o".into(),
            line_id: "L1".into(),
            sku: "S".into(),
            product_name: "P".into(),
            category: "kitchen".into(),
            quantity,
            paid_amount: m(paid),
            delivered_at: Some(t("2026-03-01T12:00:00Z")),
            requested_quantity: 0,
            refunded_units: 0,
            refunded_amount: m("0"),
            refunded_value: m("0"),
            is_plan: false,
        }
    }

    pub fn policy() -> Policy {
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
        let mut plan = line(1, "10");
        plan.is_plan = true;
        assert_eq!(
            eligibility(&plan, false, &policy(), eur(), now).reasons,
            ["EXTENDED_WARRANTY_PLAN"]
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
}
