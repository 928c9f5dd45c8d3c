//! Percentages of policies (restocking fees, bonuses): 0 to 100 with at most
//! two decimals.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::money::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Percent(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a percentage between 0 and 100 with at most 2 decimals")]
pub struct PercentError;

impl Percent {
    pub const ZERO: Percent = Percent(Decimal::ZERO);

    pub fn new(value: Decimal) -> Result<Percent, PercentError> {
        if value >= Decimal::ZERO && value <= Decimal::ONE_HUNDRED && value.normalize().scale() <= 2 {
            Ok(Percent(value.normalize()))
        } else {
            Err(PercentError)
        }
    }

    pub fn parse(s: &str) -> Result<Percent, PercentError> {
        let s = s.trim();
        if s.len() > 20 {
            return Err(PercentError);
        }
        Decimal::from_str(s).map_err(|_| PercentError).and_then(Percent::new)
    }

    pub fn value(&self) -> Decimal {
        self.0
    }

    /// This share of `amount`, rounded toward zero to the currency's minor
    /// unit: a fee or a bonus is never more than its exact share.
    pub fn of_down(&self, amount: Money) -> Money {
        let share = (amount.amount() * self.0 / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(amount.currency().minor_units(), RoundingStrategy::ToZero);
        Money::from_decimal(amount.currency(), share)
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.normalize().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn parses_and_applies() {
        let eur = Currency::from_code("EUR").unwrap();
        let fifteen = Percent::parse("15").unwrap();
        // 15 % of 19.99 is 2.9985, rounded down.
        assert_eq!(
            fifteen.of_down(Money::parse(eur, "19.99").unwrap()).to_amount_string(),
            "2.99"
        );
        assert_eq!(Percent::parse("12.5").unwrap().to_string(), "12.5");
        for bad in ["-1", "100.01", "1.234", "abc", ""] {
            assert!(Percent::parse(bad).is_err(), "{bad}");
        }
    }
}
