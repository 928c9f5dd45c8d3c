//! Extended warranties: a plan sold on an order line adds months of
//! coverage after the base warranty of the line it extends. Canceled within
//! its cooling-off period it is refunded in full; after it, for the share of
//! its extra coverage not yet begun or used, by days.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, Money, NaiveDate, Utc};

use super::ExtensionId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub sku: String,
    pub name: String,
    pub months: i32,
    pub cooling_off_days: i32,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub extension_id: ExtensionId,
    pub order_id: String,
    pub plan_line_id: String,
    pub extends_line_id: String,
    pub customer_id: String,
    pub sku: String,
    pub months: i32,
    pub price: Money,
    pub delivered_at: DateTime<Utc>,
    pub cooling_off_until: DateTime<Utc>,
    pub canceled_at: Option<DateTime<Utc>>,
    /// What canceling it pays back, fixed when it was canceled.
    pub refund_due: Option<Money>,
}

/// The base coverage the extension follows: the extended unit's start, in
/// its zone, and its months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base {
    pub starts_at: DateTime<Utc>,
    pub months: i32,
    /// Days in repair, which push the extra coverage back.
    pub repair_days: i32,
    pub zone: Tz,
}

impl Extension {
    /// What canceling at `now` pays back: everything within the cooling-off
    /// period (or when the extended product never arrived), else the price
    /// times the share of the extension's days not yet begun or used,
    /// rounded down to the minor unit.
    pub fn refund_at(&self, base: Option<Base>, now: DateTime<Utc>) -> Money {
        let Some(base) = base.filter(|_| now > self.cooling_off_until) else {
            return self.price;
        };
        let start = zone::local_date(base.starts_at, base.zone);
        let shift = u64::try_from(base.repair_days).unwrap_or(0);
        let months =
            |m: i32| zone::add_months(start, u32::try_from(m).unwrap_or(0)).and_then(|d| zone::add_days(d, shift));
        let (Some(from), Some(to)) = (months(base.months), months(base.months + self.months)) else {
            return self.price;
        };
        let today: NaiveDate = zone::local_date(now, base.zone);
        let total = (to - from).num_days().max(1);
        let left = (to - today.max(from)).num_days().clamp(0, total);
        let minor = self.price.to_minor() * i128::from(left) / i128::from(total);
        Money::from_minor(self.price.currency(), minor)
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::{Currency, Duration, TimeZone};

    use super::*;

    fn extension(price: &str) -> Extension {
        let t = Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap();
        Extension {
            extension_id: ExtensionId::new(),
            order_id: "o".into(),
            plan_line_id: "P".into(),
            extends_line_id: "L".into(),
            customer_id: "c".into(),
            sku: "PLAN-12".into(),
            months: 12,
            price: Money::parse(Currency::from_code("EUR").unwrap(), price).unwrap(),
            delivered_at: t,
            cooling_off_until: t + Duration::days(14),
            canceled_at: None,
            refund_due: None,
        }
    }

    fn base() -> Base {
        Base {
            starts_at: Utc.with_ymd_and_hms(2026, 1, 15, 9, 0, 0).unwrap(),
            months: 24,
            repair_days: 0,
            zone: zone::parse("Europe/Istanbul").unwrap(),
        }
    }

    #[test]
    fn in_full_within_cooling_off_or_before_it_begins_then_by_days_left() {
        let e = extension("99.99");
        let eur = |s: &str| Money::parse(Currency::from_code("EUR").unwrap(), s).unwrap();
        assert_eq!(e.refund_at(Some(base()), e.cooling_off_until), eur("99.99"));
        // After cooling off but before the extra year begins: all of it.
        let later = Utc.with_ymd_and_hms(2027, 6, 1, 9, 0, 0).unwrap();
        assert_eq!(e.refund_at(Some(base()), later), eur("99.99"));
        // Half way through the extra year (183 of its 366 days used):
        // 99.99 x 183 / 366 = 49.995, rounded down.
        let half = Utc.with_ymd_and_hms(2028, 7, 16, 9, 0, 0).unwrap();
        assert_eq!(e.refund_at(Some(base()), half), eur("49.99"));
        // Over: nothing.
        let over = Utc.with_ymd_and_hms(2029, 2, 1, 9, 0, 0).unwrap();
        assert_eq!(e.refund_at(Some(base()), over), eur("0"));
        // The product never arrived: all of it.
        assert_eq!(e.refund_at(None, over), eur("99.99"));
        // Days in repair push the extra year back: on the same day, more of
        // it is left (all of it, 200 days of repair later).
        let repaired = Base {
            repair_days: 200,
            ..base()
        };
        assert_eq!(e.refund_at(Some(repaired), half), eur("99.99"));
    }
}
