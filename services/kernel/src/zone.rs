//! Customers' days: an instant as a date in an IANA time zone, the end of a
//! local day as an instant, calendar months that never drift, and working
//! days under a business calendar. Daylight-saving changes are the time
//! zone database's (`chrono-tz`), never a fixed offset.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
pub use chrono_tz::Tz;

/// An IANA time zone by name ("Europe/Istanbul"), exactly as spelled.
pub fn parse(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// The day `at` falls on in `tz`.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The first instant of `date` in `tz` (its midnight, or the first moment
/// after a daylight-saving gap that swallowed midnight).
pub fn start_of_day(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    at_local(date, NaiveTime::MIN, tz)
}

/// The instant of `time` on `date` in `tz`: the earlier of a repeated
/// hour, or the first moment after a daylight-saving gap that swallowed it.
pub fn at_local(date: NaiveDate, time: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let mut t = date.and_time(time);
    for _ in 0..24 * 60 {
        if let Some(local) = tz.from_local_datetime(&t).earliest() {
            return local.with_timezone(&Utc);
        }
        t += chrono::Duration::minutes(1);
    }
    unreachable!("no time zone skips 24 hours")
}

/// `months` calendar months after `date`, clamped to the month's end (31
/// August + 6 months is 28 or 29 February); `None` beyond chrono's range.
pub fn add_months(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

pub fn add_days(date: NaiveDate, days: u64) -> Option<NaiveDate> {
    date.checked_add_days(Days::new(days))
}

/// Which days are worked: the weekdays, less the public holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingDays {
    pub weekdays: BTreeSet<u32>,
    pub holidays: BTreeSet<NaiveDate>,
}

impl WorkingDays {
    /// ISO weekday numbers (1 = Monday) and holiday dates.
    pub fn new(weekdays: impl IntoIterator<Item = u32>, holidays: impl IntoIterator<Item = NaiveDate>) -> WorkingDays {
        WorkingDays {
            weekdays: weekdays.into_iter().collect(),
            holidays: holidays.into_iter().collect(),
        }
    }

    pub fn is_working(&self, date: NaiveDate) -> bool {
        self.weekdays.contains(&date.weekday().number_from_monday()) && !self.holidays.contains(&date)
    }

    /// The date `n` working days after `date` (a day that is not worked
    /// does not count); `None` when no weekday is worked.
    pub fn add(&self, date: NaiveDate, n: u32) -> Option<NaiveDate> {
        if self.weekdays.is_empty() {
            return None;
        }
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = day.succ_opt()?;
            if self.is_working(day) {
                left -= 1;
            }
        }
        Some(day)
    }

    /// Working days after `from` up to and including `to` (0 when `to` is
    /// not after `from`).
    pub fn between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut n = 0;
        let mut day = from;
        while day < to {
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
            if self.is_working(day) {
                n += 1;
            }
        }
        n
    }
}

/// Monday to Friday.
pub fn weekdays_mon_fri() -> impl Iterator<Item = u32> {
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
        .into_iter()
        .map(|d| d.number_from_monday())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_local_day_is_the_zones_not_utcs() {
        let ist = parse("Europe/Istanbul").unwrap();
        // 22:30 UTC on 14 March is already 15 March in Istanbul (UTC+3).
        let at = Utc.with_ymd_and_hms(2026, 3, 14, 22, 30, 0).unwrap();
        assert_eq!(local_date(at, ist), d("2026-03-15"));
        assert_eq!(
            start_of_day(d("2026-03-15"), ist),
            Utc.with_ymd_and_hms(2026, 3, 14, 21, 0, 0).unwrap()
        );
        assert!(parse("Mars/Olympus").is_none());
    }

    #[test]
    fn a_day_starts_at_its_first_existing_moment() {
        // America/Santiago skipped midnight on 2026-09-06 (00:00 -> 01:00).
        let scl = parse("America/Santiago").unwrap();
        let start = start_of_day(d("2026-09-06"), scl);
        assert_eq!(local_date(start, scl), d("2026-09-06"));
        let ny = parse("America/New_York").unwrap();
        let spring = start_of_day(d("2026-03-08"), ny);
        assert_eq!(spring, Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap());
        let next = start_of_day(d("2026-03-09"), ny);
        assert_eq!(next - spring, chrono::Duration::hours(23), "the spring day is 23 hours");
    }

    #[test]
    fn months_clamp_to_the_months_end_and_never_drift() {
        assert_eq!(add_months(d("2026-08-31"), 6), Some(d("2027-02-28")));
        assert_eq!(add_months(d("2027-08-31"), 6), Some(d("2028-02-29")));
        assert_eq!(add_months(d("2026-08-31"), 12), Some(d("2027-08-31")));
        assert_eq!(add_months(d("2026-01-15"), 24), Some(d("2028-01-15")));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let cal = WorkingDays::new(weekdays_mon_fri(), [d("2026-04-23")]);
        // Wednesday 22 April 2026; Thursday 23 is a holiday.
        assert_eq!(cal.add(d("2026-04-22"), 1), Some(d("2026-04-24")));
        assert_eq!(cal.add(d("2026-04-22"), 2), Some(d("2026-04-27")));
        assert_eq!(cal.between(d("2026-04-22"), d("2026-04-27")), 2);
        assert_eq!(cal.between(d("2026-04-27"), d("2026-04-22")), 0);
        assert_eq!(WorkingDays::new([], []).add(d("2026-04-22"), 1), None);
    }
}
