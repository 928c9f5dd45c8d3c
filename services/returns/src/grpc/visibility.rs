//! What a customer may see of each message ReturnService answers: the one
//! place it is decided. Staff and services see everything; a customer never
//! sees internal notes, triage flags, fraud thresholds or the payment
//! provider's internals.
//!
//! | message | hidden from customers |
//! |---|---|
//! | `Return` | `manual_review`; timeline entries that are not customer-visible |
//! | `Refund`, `Charge` | `failure_reason` (the provider's error text), `provider_reference` |
//! | `ReturnPolicy` | `auto_approve_max_refund`, `keep_item_max_refund`, `manual_review_return_count`, `manual_review_refund_limit` (thresholds that could be gamed) |
//! | `LineEligibility`, `CustomerFlag` | nothing (customers cannot call `SetCustomerFlag`) |

use aftercare_platform::auth::{Caller, Role};
use aftercare_proto::returns as pb;

/// A message as a customer may see it.
pub trait CustomerView {
    fn redact_for_customer(&mut self);
}

/// `message` as `caller` may see it.
pub fn visible_to<T: CustomerView>(mut message: T, caller: &Caller) -> T {
    if caller.role == Role::Customer {
        message.redact_for_customer();
    }
    message
}

impl CustomerView for pb::Return {
    fn redact_for_customer(&mut self) {
        self.manual_review = false;
        self.timeline.retain(|e| e.customer_visible);
        if let Some(refund) = &mut self.refund {
            refund.redact_for_customer();
        }
        if let Some(charge) = &mut self.charge {
            charge.redact_for_customer();
        }
    }
}

impl CustomerView for pb::Charge {
    fn redact_for_customer(&mut self) {
        self.failure_reason.clear();
        self.provider_reference.clear();
    }
}

impl CustomerView for pb::Refund {
    fn redact_for_customer(&mut self) {
        self.failure_reason.clear();
        self.provider_reference.clear();
    }
}

impl CustomerView for pb::ReturnPolicy {
    fn redact_for_customer(&mut self) {
        self.auto_approve_max_refund.clear();
        self.keep_item_max_refund.clear();
        self.manual_review_return_count = 0;
        self.manual_review_refund_limit.clear();
    }
}

#[cfg(test)]
mod tests {
    use aftercare_proto::common::Money;

    use super::*;

    fn caller(role: Role) -> Caller {
        Caller {
            role,
            subject: "c-1".into(),
        }
    }

    fn eur(amount: &str) -> Money {
        Money {
            currency_code: "EUR".into(),
            amount: amount.into(),
        }
    }

    fn full_return() -> pb::Return {
        pb::Return {
            manual_review: true,
            timeline: vec![
                pb::TimelineEntry {
                    text: "Return requested.".into(),
                    customer_visible: true,
                    ..Default::default()
                },
                pb::TimelineEntry {
                    text: "Refund failed: card_declined (provider 4711)".into(),
                    customer_visible: false,
                    ..Default::default()
                },
            ],
            refund: Some(pb::Refund {
                failure_reason: "card_declined (provider 4711)".into(),
                provider_reference: "psp-123".into(),
                ..Default::default()
            }),
            rejection_reason: "outside the window".into(),
            ..Default::default()
        }
    }

    #[test]
    fn customers_see_no_internal_field_of_a_return() {
        let seen = visible_to(full_return(), &caller(Role::Customer));
        assert!(!seen.manual_review);
        assert_eq!(seen.timeline.len(), 1);
        assert!(seen.timeline.iter().all(|e| e.customer_visible));
        let refund = seen.refund.unwrap();
        assert_eq!(
            (refund.failure_reason.as_str(), refund.provider_reference.as_str()),
            ("", "")
        );
        assert_eq!(seen.rejection_reason, "outside the window", "the customer is told why");
    }

    #[test]
    fn staff_and_services_see_everything() {
        for role in [Role::Agent, Role::Admin, Role::Service] {
            assert_eq!(visible_to(full_return(), &caller(role)), full_return(), "{role}");
        }
    }

    #[test]
    fn customers_do_not_see_a_policys_thresholds() {
        let policy = pb::ReturnPolicy {
            return_window_days: 30,
            auto_approve_max_refund: vec![eur("100")],
            keep_item_max_refund: vec![eur("10")],
            manual_review_return_count: 3,
            manual_review_refund_limit: vec![eur("500")],
            return_shipping_fees: vec![eur("4.99")],
            ..Default::default()
        };
        let seen = visible_to(policy.clone(), &caller(Role::Customer));
        assert!(seen.auto_approve_max_refund.is_empty() && seen.keep_item_max_refund.is_empty());
        assert!(seen.manual_review_refund_limit.is_empty() && seen.manual_review_return_count == 0);
        assert_eq!(
            (seen.return_window_days, seen.return_shipping_fees),
            (30, vec![eur("4.99")])
        );
        assert_eq!(visible_to(policy.clone(), &caller(Role::Agent)), policy);
    }
}
