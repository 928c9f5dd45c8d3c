//! Return policies: one per product category (and a default), versioned.

use aftercare_kernel::{Currency, DateTime, Duration, Money, Percent, Utc};

use super::Resolution;

/// An amount per currency (fees and thresholds of a policy), at most one
/// per currency.
pub type PerCurrency = Vec<Money>;

/// The amount for `currency`, if the list has one.
pub fn amount_in(list: &PerCurrency, currency: Currency) -> Option<Money> {
    list.iter().find(|m| m.currency() == currency).copied()
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
    pub restocking_fee_percent: Percent,
    pub return_shipping_fees: PerCurrency,
    pub auto_approve_max_refund: PerCurrency,
    pub keep_item_max_refund: PerCurrency,
    pub auto_refund_on_receipt: bool,
    pub manual_review_return_count: i32,
    pub manual_review_refund_limit: PerCurrency,
    pub exchange_bonus_percent: Percent,
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
            restocking_fee_percent: Percent::ZERO,
            return_shipping_fees: Vec::new(),
            auto_approve_max_refund: Vec::new(),
            keep_item_max_refund: Vec::new(),
            auto_refund_on_receipt: false,
            manual_review_return_count: 0,
            manual_review_refund_limit: Vec::new(),
            exchange_bonus_percent: Percent::ZERO,
            advance_exchange: false,
            updated_at: now,
        }
    }

    /// The last moment a line delivered at `delivered_at` can be returned.
    pub fn deadline(&self, delivered_at: DateTime<Utc>) -> DateTime<Utc> {
        delivered_at + Duration::days(i64::from(self.return_window_days))
    }
}

/// Changes to a policy, already checked; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyPatch {
    pub return_window_days: Option<i32>,
    pub final_sale: Option<bool>,
    pub allowed_resolutions: Option<Vec<Resolution>>,
    pub restocking_fee_percent: Option<Percent>,
    pub return_shipping_fees: Option<PerCurrency>,
    pub auto_approve_max_refund: Option<PerCurrency>,
    pub keep_item_max_refund: Option<PerCurrency>,
    pub auto_refund_on_receipt: Option<bool>,
    pub manual_review_return_count: Option<i32>,
    pub manual_review_refund_limit: Option<PerCurrency>,
    pub exchange_bonus_percent: Option<Percent>,
    pub advance_exchange: Option<bool>,
}

impl Policy {
    /// The next version: this policy with `patch` applied.
    pub fn patched(mut self, category: &str, patch: PolicyPatch) -> Policy {
        fn set<T>(field: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *field = v;
            }
        }
        self.category = category.to_owned();
        set(&mut self.return_window_days, patch.return_window_days);
        set(&mut self.final_sale, patch.final_sale);
        set(&mut self.allowed_resolutions, patch.allowed_resolutions);
        set(&mut self.restocking_fee_percent, patch.restocking_fee_percent);
        set(&mut self.return_shipping_fees, patch.return_shipping_fees);
        set(&mut self.auto_approve_max_refund, patch.auto_approve_max_refund);
        set(&mut self.keep_item_max_refund, patch.keep_item_max_refund);
        set(&mut self.auto_refund_on_receipt, patch.auto_refund_on_receipt);
        set(&mut self.manual_review_return_count, patch.manual_review_return_count);
        set(&mut self.manual_review_refund_limit, patch.manual_review_refund_limit);
        set(&mut self.exchange_bonus_percent, patch.exchange_bonus_percent);
        set(&mut self.advance_exchange, patch.advance_exchange);
        self
    }
}
