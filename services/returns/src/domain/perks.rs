//! Loyalty tier perks as returns apply them: a longer window and free
//! return shipping. A return keeps the perks it was decided with, so a tier
//! change later never moves a return's window or fee.

use super::Policy;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Perks {
    /// The tier that gave them; `None`: no perks.
    pub tier: Option<String>,
    pub extra_return_days: i32,
    pub free_return_shipping: bool,
}

impl Perks {
    /// `policy` as it holds for a customer with these perks.
    pub fn apply(&self, policy: &Policy) -> Policy {
        let mut p = policy.clone();
        p.return_window_days = p.return_window_days.saturating_add(self.extra_return_days.max(0));
        if self.free_return_shipping {
            p.return_shipping_fees.clear();
        }
        p
    }

    pub fn any(&self) -> bool {
        self.extra_return_days > 0 || self.free_return_shipping
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::{Currency, DateTime, Money};

    use super::*;

    #[test]
    fn perks_lengthen_the_window_and_waive_the_shipping_fee() {
        let mut policy = Policy::builtin_default(DateTime::UNIX_EPOCH);
        policy.return_shipping_fees = vec![Money::parse(Currency::from_code("EUR").unwrap(), "4.99").unwrap()];
        let gold = Perks {
            tier: Some("Gold".into()),
            extra_return_days: 15,
            free_return_shipping: true,
        };
        let p = gold.apply(&policy);
        assert_eq!((p.return_window_days, p.return_shipping_fees.len()), (29, 0));
        assert_eq!(Perks::default().apply(&policy), policy);
        assert!(gold.any() && !Perks::default().any());
    }
}
