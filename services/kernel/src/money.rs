//! Money on `rust_decimal`: ISO 4217 currencies with their minor units, parsing
//! that refuses more decimals than a currency has, arithmetic that never mixes
//! currencies, and largest-remainder allocation so that the parts of a split
//! always sum to the whole.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

pub use crate::currency::Currency;

/// The largest amount aftercare accepts, in major units. Far above any real
/// order, and small enough that minor-unit arithmetic never overflows.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("unknown currency code {0:?} (expected an ISO 4217 code such as \"EUR\")")]
    UnknownCurrency(String),
    #[error("{0:?} is not a decimal amount such as \"129.90\"")]
    NotADecimal(String),
    #[error("{currency} allows at most {allowed} decimals")]
    TooManyDecimals { currency: &'static str, allowed: u32 },
    #[error("amount must not be negative")]
    Negative,
    #[error("amount is above the limit of {MAX_AMOUNT}")]
    TooLarge,
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: &'static str, right: &'static str },
}

/// An amount in a currency. Amounts always fit the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    currency: Currency,
    amount: Decimal,
}

impl Money {
    pub fn zero(currency: Currency) -> Money {
        Money {
            currency,
            amount: Decimal::ZERO,
        }
    }

    /// Parses a decimal string in `currency`. Refuses more decimals than the
    /// currency allows, exponents, and anything beyond [`MAX_AMOUNT`].
    pub fn parse(currency: Currency, amount: &str) -> Result<Money, MoneyError> {
        let trimmed = amount.trim();
        let well_formed = !trimmed.is_empty()
            && trimmed.len() <= 40
            && trimmed
                .chars()
                .enumerate()
                .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')));
        let value = well_formed
            .then(|| Decimal::from_str(trimmed).ok())
            .flatten()
            .ok_or_else(|| MoneyError::NotADecimal(amount.chars().take(40).collect()))?;
        if value.abs() > Decimal::from(MAX_AMOUNT) {
            return Err(MoneyError::TooLarge);
        }
        if value.normalize().scale() > currency.minor_units() {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code(),
                allowed: currency.minor_units(),
            });
        }
        Ok(Money {
            currency,
            amount: value.normalize(),
        })
    }

    /// Parses like [`Money::parse`] and also refuses negative amounts.
    pub fn parse_non_negative(currency: Currency, amount: &str) -> Result<Money, MoneyError> {
        let money = Money::parse(currency, amount)?;
        if money.amount.is_sign_negative() && !money.amount.is_zero() {
            return Err(MoneyError::Negative);
        }
        Ok(money)
    }

    /// Wraps an amount that is already known to fit the currency (e.g. read
    /// back from the database). Rounds half-even to the minor unit.
    pub fn from_decimal(currency: Currency, amount: Decimal) -> Money {
        Money {
            currency,
            amount: amount.round_dp(currency.minor_units()).normalize(),
        }
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The amount with exactly the currency's decimals, as on the wire.
    pub fn to_amount_string(&self) -> String {
        self.currency.format(self.amount)
    }

    /// `minor` minor units of `currency` (cents for EUR).
    pub fn from_minor(currency: Currency, minor: i128) -> Money {
        Money::from_decimal(currency, currency.minor_to_decimal(minor))
    }

    /// The amount in minor units. Every `Money` fits its currency.
    pub fn to_minor(&self) -> i128 {
        self.currency.to_minor(self.amount).expect("money fits its currency")
    }

    /// Beyond [`MAX_AMOUNT`] (either sign): what a product or a sum of
    /// valid amounts can become, and no column or total may hold.
    pub fn exceeds_limit(&self) -> bool {
        self.amount.abs() > Decimal::from(MAX_AMOUNT)
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    pub fn is_negative(&self) -> bool {
        self.amount < Decimal::ZERO
    }

    /// The sum, or `CurrencyMismatch`.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(Money::from_decimal(self.currency, self.amount + other.amount))
    }

    /// The difference, or `CurrencyMismatch`.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(Money::from_decimal(self.currency, self.amount - other.amount))
    }

    /// `self` times a count of units (a unit price times a quantity).
    pub fn times(self, units: i64) -> Money {
        Money::from_decimal(self.currency, self.amount * Decimal::from(units))
    }

    pub fn min(self, other: Money) -> Money {
        if self.le(&other) { self } else { other }
    }

    pub fn max(self, other: Money) -> Money {
        if self.ge(&other) { self } else { other }
    }

    /// Adds up amounts of one currency; zero for none.
    pub fn sum(currency: Currency, amounts: impl IntoIterator<Item = Money>) -> Money {
        amounts.into_iter().fold(Money::zero(currency), |a, b| a + b)
    }

    /// Splits this amount over `weights` by largest remainder (see [`allocate`]).
    pub fn split(self, weights: &[Money]) -> Vec<Money> {
        let weights: Vec<Decimal> = weights.iter().map(|w| self.pair(*w).amount).collect();
        allocate(self.currency, self.amount, &weights)
            .into_iter()
            .map(|part| Money::from_decimal(self.currency, part))
            .collect()
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency.code(),
                right: other.currency.code(),
            })
        }
    }

    /// `other`, asserting it is in this currency. Amounts of one computation
    /// (a return, an order) share the order's currency; parsing refuses any
    /// other, so a mismatch here is a bug, not bad input.
    fn pair(self, other: Money) -> Money {
        if let Err(e) = self.same_currency(other) {
            panic!("{e}");
        }
        other
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    /// Panics on a currency mismatch; use [`Money::checked_add`] for amounts
    /// that come from outside.
    fn add(self, other: Money) -> Money {
        let other = self.pair(other);
        Money::from_decimal(self.currency, self.amount + other.amount)
    }
}

impl std::ops::Sub for Money {
    type Output = Money;
    /// Panics on a currency mismatch; use [`Money::checked_sub`] for amounts
    /// that come from outside.
    fn sub(self, other: Money) -> Money {
        let other = self.pair(other);
        Money::from_decimal(self.currency, self.amount - other.amount)
    }
}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        *self = *self + other;
    }
}

impl std::ops::SubAssign for Money {
    fn sub_assign(&mut self, other: Money) {
        *self = *self - other;
    }
}

impl PartialOrd for Money {
    /// Only amounts of one currency compare; others are unordered.
    fn partial_cmp(&self, other: &Money) -> Option<std::cmp::Ordering> {
        (self.currency == other.currency).then(|| self.amount.cmp(&other.amount))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_amount_string(), self.currency.code())
    }
}

/// Splits `total` into parts proportional to `weights` by the largest
/// remainder method, in whole minor units of `currency`: every part is
/// floor(total × weight / Σweights), and the minor units left over go one each
/// to the parts with the largest remainders (earlier parts win ties). The parts
/// sum to `total` exactly. When every weight is zero the total is split
/// evenly. With a non-negative total no part is negative, and when `total` is
/// at most Σweights no part exceeds its weight.
///
/// Panics if a weight is negative or `total` does not fit the currency; both
/// are programming errors, since callers pass validated amounts.
pub fn allocate(currency: Currency, total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    if weights.is_empty() {
        return Vec::new();
    }
    let total_minor = currency.to_minor(total).expect("total fits the currency");
    let mut weights_minor: Vec<i128> = weights
        .iter()
        .map(|w| {
            assert!(!w.is_sign_negative() || w.is_zero(), "weights must not be negative");
            // Weights need not fit the currency; scale them to a common integer.
            (*w * Decimal::from(1_000_000i64))
                .trunc()
                .to_i128()
                .expect("weight in range")
        })
        .collect();
    if weights_minor.iter().all(|w| *w == 0) {
        weights_minor.iter_mut().for_each(|w| *w = 1);
    }
    let weight_sum: i128 = weights_minor.iter().sum();

    let mut parts: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(usize, i128)> = Vec::with_capacity(weights.len());
    for (i, w) in weights_minor.iter().enumerate() {
        let product = total_minor * w;
        parts.push(product.div_euclid(weight_sum));
        remainders.push((i, product.rem_euclid(weight_sum)));
    }
    let left_over = total_minor - parts.iter().sum::<i128>();
    // Largest remainder first; the stable sort keeps earlier parts first on ties.
    remainders.sort_by_key(|r| std::cmp::Reverse(r.1));
    for &(i, _) in remainders.iter().take(left_over as usize) {
        parts[i] += 1;
    }
    parts.into_iter().map(|p| currency.minor_to_decimal(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn parse_respects_minor_units() {
        assert_eq!(Money::parse(eur(), "129.90").unwrap().to_amount_string(), "129.90");
        assert_eq!(Money::parse(eur(), "5").unwrap().to_amount_string(), "5.00");
        assert_eq!(Money::parse(eur(), "1.230").unwrap().to_amount_string(), "1.23");
        assert_eq!(
            Money::parse(eur(), "1.234"),
            Err(MoneyError::TooManyDecimals {
                currency: "EUR",
                allowed: 2
            })
        );
        let jpy = Currency::from_code("JPY").unwrap();
        assert!(Money::parse(jpy, "100").is_ok());
        assert!(matches!(
            Money::parse(jpy, "100.5"),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        let kwd = Currency::from_code("KWD").unwrap();
        assert_eq!(Money::parse(kwd, "1.005").unwrap().to_amount_string(), "1.005");
        assert!(Money::parse(kwd, "1.0005").is_err());
    }

    #[test]
    fn parse_refuses_junk() {
        for junk in ["", " ", "abc", "1e5", "1,00", "--1", "0x10", "1.2.3", "NaN", "inf"] {
            assert!(
                matches!(Money::parse(eur(), junk), Err(MoneyError::NotADecimal(_))),
                "{junk:?} should be refused"
            );
        }
        assert_eq!(Money::parse(eur(), "10000000000000"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse_non_negative(eur(), "-0.01"), Err(MoneyError::Negative));
        assert!(Money::parse_non_negative(eur(), "0").is_ok());
    }

    #[test]
    fn arithmetic_is_checked_by_currency() {
        let e = |s: &str| Money::parse(eur(), s).unwrap();
        let jpy = Money::parse(Currency::from_code("JPY").unwrap(), "100").unwrap();
        assert_eq!(e("1.10") + e("2.25"), e("3.35"));
        assert_eq!(e("1.10") - e("2.25"), e("-1.15"));
        assert_eq!(e("19.99").times(3), e("59.97"));
        assert_eq!(
            e("1").checked_add(jpy),
            Err(MoneyError::CurrencyMismatch {
                left: "EUR",
                right: "JPY"
            })
        );
        assert_eq!(
            e("1").partial_cmp(&jpy),
            None,
            "amounts of two currencies do not compare"
        );
        assert_eq!(e("1").min(e("0.5")), e("0.5"));
        assert_eq!(Money::sum(eur(), [e("0.1"), e("0.2")]), e("0.3"));
        assert_eq!(
            e("1.00").split(&[e("1"), e("1"), e("1")]),
            [e("0.34"), e("0.33"), e("0.33")]
        );
        assert_eq!(Money::from_minor(eur(), 1999), e("19.99"));
        assert_eq!(e("19.99").to_minor(), 1999);
    }

    #[test]
    #[should_panic(expected = "cannot combine EUR with JPY")]
    fn mixing_currencies_in_an_operator_is_a_bug() {
        let jpy = Money::parse(Currency::from_code("JPY").unwrap(), "100").unwrap();
        let _ = Money::parse(eur(), "1").unwrap() + jpy;
    }

    #[test]
    fn unknown_currency() {
        assert!(Currency::from_code("XXX").is_none());
        assert!(Currency::from_code("eur").is_none());
    }

    #[test]
    fn allocate_splits_by_largest_remainder() {
        // 10.00 over three equal lines: 3.34, 3.33, 3.33 (the first wins the tie).
        assert_eq!(
            allocate(eur(), d("10.00"), &[d("1"), d("1"), d("1")]),
            vec![d("3.34"), d("3.33"), d("3.33")]
        );
        // Proportional: 5.00 over 100 and 300 is 1.25 and 3.75.
        assert_eq!(
            allocate(eur(), d("5"), &[d("100"), d("300")]),
            vec![d("1.25"), d("3.75")]
        );
        // All-zero weights split evenly.
        assert_eq!(
            allocate(eur(), d("0.03"), &[d("0"), d("0")]),
            vec![d("0.02"), d("0.01")]
        );
        assert!(allocate(eur(), d("1"), &[]).is_empty());
    }

    fn currency_strategy() -> impl Strategy<Value = Currency> {
        prop::sample::select(vec!["EUR", "JPY", "KWD", "TRY"]).prop_map(|c| Currency::from_code(c).unwrap())
    }

    proptest! {
        #[test]
        fn allocation_parts_sum_to_the_whole_and_are_never_negative(
            currency in currency_strategy(),
            total_minor in 0i64..10_000_000_000,
            weights_minor in prop::collection::vec(0i64..1_000_000_000, 1..40),
        ) {
            let total = Decimal::new(total_minor, currency.minor_units());
            let weights: Vec<Decimal> =
                weights_minor.iter().map(|w| Decimal::new(*w, currency.minor_units())).collect();
            let parts = allocate(currency, total, &weights);
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), total);
            for part in &parts {
                prop_assert!(!part.is_sign_negative() || part.is_zero());
                prop_assert!(part.scale() <= currency.minor_units());
            }
        }

        #[test]
        fn allocation_never_exceeds_a_weight_when_the_total_fits(
            currency in currency_strategy(),
            weights_minor in prop::collection::vec(0i64..1_000_000_000, 1..40),
            fraction in 0u32..=100,
        ) {
            let weights: Vec<Decimal> =
                weights_minor.iter().map(|w| Decimal::new(*w, currency.minor_units())).collect();
            let sum_minor: i64 = weights_minor.iter().sum();
            let total = Decimal::new(sum_minor / 100 * i64::from(fraction), currency.minor_units());
            let parts = allocate(currency, total, &weights);
            if sum_minor > 0 {
                for (part, weight) in parts.iter().zip(&weights) {
                    prop_assert!(part <= weight, "{} > {}", part, weight);
                }
            }
        }
    }
}
