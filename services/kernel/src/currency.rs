//! ISO 4217 currencies the store may sell in, with their minor units.

use std::fmt;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// An ISO 4217 currency the store may sell in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

/// ISO 4217 active currencies and their minor units (decimals). Currencies
/// with no minor unit (JPY, KRW) take whole amounts; three-decimal ones (KWD,
/// BHD) take thousandths.
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("KZT", 2),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

impl Currency {
    /// Looks a currency up by its upper-case ISO 4217 code.
    pub fn from_code(code: &str) -> Option<Currency> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, minor_units)| Currency { code, minor_units })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimals the currency allows (its ISO 4217 minor unit).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// `amount` in this currency's minor units, if it has no more decimals
    /// than the currency allows.
    pub fn to_minor(self, amount: Decimal) -> Option<i128> {
        let scaled = amount * Decimal::from(10i64.pow(self.minor_units));
        (scaled.fract().is_zero()).then(|| scaled.to_i128()).flatten()
    }

    /// An amount of `minor` minor units (cents for EUR).
    pub fn minor_to_decimal(self, minor: i128) -> Decimal {
        Decimal::from_i128_with_scale(minor, self.minor_units)
    }

    /// Formats an amount with exactly the currency's decimals ("129.90").
    pub fn format(&self, amount: Decimal) -> String {
        let mut rounded = amount.round_dp(self.minor_units);
        rounded.rescale(self.minor_units);
        rounded.to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_minor_units() {
        assert_eq!(Currency::from_code("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::from_code("KWD").unwrap().minor_units(), 3);
        let eur = Currency::from_code("EUR").unwrap();
        assert_eq!(eur.to_minor(Decimal::new(1999, 2)), Some(1999));
        assert_eq!(eur.to_minor(Decimal::new(19999, 3)), None, "more decimals than EUR has");
        assert_eq!(eur.format(Decimal::new(5, 0)), "5.00");
    }
}
