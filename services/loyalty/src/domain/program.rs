//! The program: what points earn and are worth, when they mature and
//! expire, and how many a checkout may use.

use aftercare_kernel::{Currency, DateTime, Decimal, Money, RoundingStrategy, Utc, Violations};

use super::{LoyaltyError, MAX_HOLD_TTL_SECONDS, MAX_POINTS, Tier, tier};

/// What a point earns and is worth in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyRate {
    pub currency: Currency,
    /// Points per unit of the currency paid; a line's points round down.
    pub points_per_unit: Decimal,
    /// The money one point pays at checkout.
    pub point_value: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub version: i32,
    pub rates: Vec<CurrencyRate>,
    pub return_window_days: i32,
    pub undelivered_max_days: i32,
    /// 0: points never expire.
    pub expiry_months: i32,
    pub min_redeem_points: i64,
    pub max_redeem_percent: i32,
    pub hold_ttl_seconds: i32,
    pub grant_limit: i64,
    /// Lowest first; empty: no tiers.
    pub tiers: Vec<Tier>,
    /// Days an account may stay below its tier's threshold before it moves down.
    pub tier_grace_days: i32,
    pub updated_at: DateTime<Utc>,
}

/// The database's column limits for a rate: numeric(12,4) and numeric(20,6).
const MAX_POINTS_PER_UNIT: Decimal = Decimal::from_parts(99_999_999, 0, 0, false, 0);
const MAX_POINT_VALUE: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

impl Program {
    /// Checks an admin's program (everything but version and time).
    pub fn check(&self, v: &mut Violations) {
        let mut seen = Vec::new();
        for (i, rate) in self.rates.iter().enumerate() {
            let field = |name: &str| format!("program.rates[{i}].{name}");
            if seen.contains(&rate.currency.code()) {
                v.add(field("currency_code"), "appears twice");
            }
            seen.push(rate.currency.code());
            if rate.points_per_unit.is_sign_negative()
                || rate.points_per_unit > MAX_POINTS_PER_UNIT
                || rate.points_per_unit.scale() > 4
            {
                v.add(
                    field("points_per_unit"),
                    "must be 0 to 99999999 with at most 4 decimals",
                );
            }
            if rate.point_value <= Decimal::ZERO || rate.point_value > MAX_POINT_VALUE || rate.point_value.scale() > 6 {
                v.add(
                    field("point_value"),
                    "must be above 0, at most 1000000, with at most 6 decimals",
                );
            }
        }
        let within = |v: &mut Violations, field: &str, value: i64, min: i64, max: i64| {
            if !(min..=max).contains(&value) {
                v.add(format!("program.{field}"), format!("must be {min} to {max}"));
            }
        };
        within(v, "return_window_days", self.return_window_days.into(), 0, 3650);
        within(v, "undelivered_max_days", self.undelivered_max_days.into(), 0, 3650);
        within(v, "expiry_months", self.expiry_months.into(), 0, 1200);
        within(v, "min_redeem_points", self.min_redeem_points, 1, MAX_POINTS);
        within(v, "max_redeem_percent", self.max_redeem_percent.into(), 1, 100);
        within(
            v,
            "hold_ttl_seconds",
            self.hold_ttl_seconds.into(),
            1,
            MAX_HOLD_TTL_SECONDS.into(),
        );
        within(v, "grant_limit", self.grant_limit, 1, MAX_POINTS);
        within(v, "tier_grace_days", self.tier_grace_days.into(), 0, 3650);
        tier::check(&self.tiers, v);
    }

    pub fn rate(&self, currency: Currency) -> Option<&CurrencyRate> {
        self.rates.iter().find(|r| r.currency == currency)
    }

    /// Points a line paid `paid` earns: rounded down, none for a currency the
    /// program does not earn in.
    pub fn points_for(&self, paid: Money) -> i64 {
        let Some(rate) = self.rate(paid.currency()) else {
            return 0;
        };
        let points = (paid.amount() * rate.points_per_unit).round_dp_with_strategy(0, RoundingStrategy::ToZero);
        i64::try_from(points).unwrap_or(MAX_POINTS).clamp(0, MAX_POINTS)
    }

    /// The most of `available` points usable on an order of `total`, and
    /// what they pay: at most the program's share of the total, none when
    /// that is below the minimum. The value rounds down to the currency's
    /// minor unit, so points never pay more than the share.
    pub fn quote(&self, available: i64, total: Money) -> Result<(i64, Money), LoyaltyError> {
        let currency = total.currency();
        let rate = self
            .rate(currency)
            .ok_or_else(|| LoyaltyError::CurrencyNotInProgram(currency.code().to_owned()))?;
        let share = total.amount().max(Decimal::ZERO) * Decimal::from(self.max_redeem_percent) / Decimal::from(100);
        let by_share = (share / rate.point_value).round_dp_with_strategy(0, RoundingStrategy::ToZero);
        let by_share = i64::try_from(by_share).unwrap_or(MAX_POINTS);
        let points = available.min(by_share).max(0);
        if points < self.min_redeem_points {
            return Ok((0, Money::zero(currency)));
        }
        let value = (Decimal::from(points) * rate.point_value)
            .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::ToZero);
        Ok((points, Money::from_decimal(currency, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn try_() -> Currency {
        Currency::from_code("TRY").unwrap()
    }

    pub(crate) fn program() -> Program {
        Program {
            version: 1,
            rates: vec![CurrencyRate {
                currency: try_(),
                points_per_unit: Decimal::ONE,
                point_value: Decimal::new(1, 2),
            }],
            return_window_days: 30,
            undelivered_max_days: 90,
            expiry_months: 24,
            min_redeem_points: 100,
            max_redeem_percent: 50,
            hold_ttl_seconds: 900,
            grant_limit: 5000,
            tiers: Vec::new(),
            tier_grace_days: 30,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn money(amount: &str) -> Money {
        Money::parse(try_(), amount).unwrap()
    }

    #[test]
    fn earning_rounds_down() {
        let p = program();
        assert_eq!(p.points_for(money("129.99")), 129);
        assert_eq!(p.points_for(money("0.99")), 0);
        let usd = Money::parse(Currency::from_code("USD").unwrap(), "100").unwrap();
        assert_eq!(p.points_for(usd), 0, "a currency outside the program earns nothing");
    }

    #[test]
    fn quotes_stop_at_the_share_and_the_balance() {
        let p = program();
        // 50 % of 100.00 is 50.00, 5000 points at 0.01.
        assert_eq!(p.quote(10_000, money("100")).unwrap(), (5000, money("50")));
        assert_eq!(p.quote(1234, money("100")).unwrap(), (1234, money("12.34")));
        // Below the minimum: nothing.
        assert_eq!(p.quote(99, money("100")).unwrap(), (0, money("0")));
        assert_eq!(p.quote(10_000, money("1.99")).unwrap(), (0, money("0")));
        assert!(
            p.quote(10, Money::parse(Currency::from_code("USD").unwrap(), "1").unwrap())
                .is_err()
        );
    }

    #[test]
    fn quoted_value_never_exceeds_the_share() {
        let mut p = program();
        p.rates[0].point_value = Decimal::new(3, 3); // 0.003 per point
        let (points, value) = p.quote(1_000_000, money("10.01")).unwrap();
        assert!(value.amount() <= Decimal::new(5005, 3));
        assert_eq!(points, 1668);
        assert_eq!(value, money("5.00"));
    }

    #[test]
    fn checks_every_limit() {
        let mut p = program();
        let mut v = Violations::new();
        p.check(&mut v);
        assert!(v.is_empty());
        p.rates.push(p.rates[0].clone());
        p.rates[0].point_value = Decimal::ZERO;
        p.max_redeem_percent = 0;
        p.hold_ttl_seconds = MAX_HOLD_TTL_SECONDS + 1;
        p.min_redeem_points = 0;
        let mut v = Violations::new();
        p.check(&mut v);
        let fields: Vec<_> = v.finish().unwrap_err().0.into_iter().map(|x| x.field).collect();
        for f in [
            "program.rates[1].currency_code",
            "program.rates[0].point_value",
            "program.max_redeem_percent",
            "program.hold_ttl_seconds",
            "program.min_redeem_points",
        ] {
            assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
        }
    }
}
