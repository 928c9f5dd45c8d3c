//! Time as a service-level clock counts it: every instant (the wall
//! clock), or only working days in a zone, within working hours when the
//! calendar has them. So "24 hours" may mean 24 business hours, "20 working
//! days" skips weekends and holidays, and a pause moves a target by the
//! working time it covered rather than by the wall time.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::zone::{self, Tz, WorkingDays};

/// How far a clock is walked, in days (ten years): a target further than
/// that is as far as the walk got.
const MAX_DAYS: usize = 3660;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkingTime {
    /// Every instant counts.
    Wall,
    /// The working days of `days` in `tz`: all of each, or the local
    /// `[start, end)` of `hours` when set.
    Calendar {
        days: WorkingDays,
        tz: Tz,
        hours: Option<(NaiveTime, NaiveTime)>,
    },
}

impl WorkingTime {
    /// The instants of `date` that count, `[start, end)`; `None` on a day
    /// that is not worked.
    fn window(days: &WorkingDays, tz: Tz, hours: Option<(NaiveTime, NaiveTime)>, date: NaiveDate) -> Option<Span> {
        if !days.is_working(date) {
            return None;
        }
        Some(match hours {
            Some((start, end)) => (zone::at_local(date, start, tz), zone::at_local(date, end, tz)),
            None => (zone::start_of_day(date, tz), zone::start_of_day(date.succ_opt()?, tz)),
        })
    }

    /// The windows from the day of `from` on, at most [`MAX_DAYS`].
    fn windows(&self, from: DateTime<Utc>) -> impl Iterator<Item = Span> + '_ {
        let (days, tz, hours) = match self {
            WorkingTime::Calendar { days, tz, hours } => (Some(days), *tz, *hours),
            WorkingTime::Wall => (None, Tz::UTC, None),
        };
        let first = zone::local_date(from, tz);
        first
            .iter_days()
            .take(MAX_DAYS)
            .filter_map(move |d| days.and_then(|days| Self::window(days, tz, hours, d)))
    }

    /// A window's nominal length: a working day counts 24 hours and its
    /// business hours their local span, even on a day a daylight-saving
    /// change makes 23 or 25 hours long (so "end of the working day" stays
    /// the end of a day).
    fn nominal(&self) -> i64 {
        match self {
            WorkingTime::Calendar {
                hours: Some((start, end)),
                ..
            } => (*end - *start).num_microseconds().unwrap_or(0),
            _ => Duration::days(1).num_microseconds().unwrap_or(0),
        }
    }

    /// The time that counts in `[from, to)`.
    pub fn measure(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if *self == WorkingTime::Wall {
            return to - from;
        }
        let nominal = self.nominal();
        let mut total: i128 = 0;
        for (start, end) in self.windows(from) {
            if start >= to {
                break;
            }
            let (s, e) = (start.max(from), end.min(to));
            if s < e {
                total += scale(micros(e - s), nominal, micros(end - start));
            }
        }
        Duration::microseconds(i64::try_from(total).unwrap_or(i64::MAX))
    }

    /// The first instant by which `by` of counting time has passed since
    /// `from` (`from` itself for nothing to count). A calendar that cannot
    /// count that much within ten years falls back to the wall clock: a
    /// target is never due before `from + by`.
    pub fn advance(&self, from: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
        if by <= Duration::zero() {
            return from;
        }
        if *self == WorkingTime::Wall {
            return from + by;
        }
        let nominal = self.nominal();
        let mut left = i128::from(micros(by));
        let mut reached = from;
        for (start, end) in self.windows(from) {
            let s = start.max(from);
            if s >= end {
                continue;
            }
            let actual = micros(end - start);
            let counts = scale(micros(end - s), nominal, actual);
            if left <= counts {
                let wall = scale_back(left, actual, nominal);
                return s + Duration::microseconds(wall);
            }
            left -= counts;
            reached = end;
        }
        (from + by).max(reached)
    }
}

type Span = (DateTime<Utc>, DateTime<Utc>);

fn micros(d: Duration) -> i64 {
    d.num_microseconds().unwrap_or(i64::MAX)
}

/// `part` of a window `actual` long, in the window's `nominal` time.
fn scale(part: i64, nominal: i64, actual: i64) -> i128 {
    if actual <= 0 {
        return 0;
    }
    i128::from(part) * i128::from(nominal) / i128::from(actual)
}

/// `counted` nominal time of a window back in wall time, rounded up (never
/// due early).
fn scale_back(counted: i128, actual: i64, nominal: i64) -> i64 {
    if nominal <= 0 {
        return 0;
    }
    let wall = (counted * i128::from(actual) + i128::from(nominal) - 1) / i128::from(nominal);
    i64::try_from(wall).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn istanbul(hours: Option<(u32, u32)>) -> WorkingTime {
        WorkingTime::Calendar {
            days: WorkingDays::new(zone::weekdays_mon_fri(), ["2026-03-20".parse().unwrap()]),
            tz: "Europe/Istanbul".parse().unwrap(),
            hours: hours.map(|(s, e)| {
                (
                    NaiveTime::from_hms_opt(s, 0, 0).unwrap(),
                    NaiveTime::from_hms_opt(e, 0, 0).unwrap(),
                )
            }),
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn business_hours_skip_nights_weekends_and_holidays() {
        let clock = istanbul(Some((9, 18)));
        // Thursday 19 March 17:00 in Istanbul (14:00Z); Friday 20 March is
        // a holiday: 1 hour Thursday, 9 Monday, 9 Tuesday, 5 Wednesday.
        let filed = t("2026-03-19T14:00:00Z");
        let due = clock.advance(filed, Duration::hours(24));
        assert_eq!(due, t("2026-03-25T11:00:00Z"));
        assert_eq!(clock.measure(filed, due), Duration::hours(24));
        // Filed at night, the clock starts at nine.
        assert_eq!(
            clock.advance(t("2026-03-23T20:00:00Z"), Duration::hours(1)),
            t("2026-03-24T07:00:00Z")
        );
    }

    #[test]
    fn working_days_count_whole_days_and_pauses_count_only_working_time() {
        let clock = istanbul(None);
        // A pause from Friday 13 March noon to Monday 16 March noon covers
        // half of Friday and half of Monday: one working day.
        let paused = clock.measure(t("2026-03-13T09:00:00Z"), t("2026-03-16T09:00:00Z"));
        assert_eq!(paused, Duration::hours(24));
        // A target at the end of Tuesday 17 March moves to the end of
        // Wednesday 18 March.
        assert_eq!(
            clock.advance(t("2026-03-17T21:00:00Z"), paused),
            t("2026-03-18T21:00:00Z")
        );
        // Over the holiday and the weekend: end of Thursday -> end of Monday.
        assert_eq!(
            clock.advance(t("2026-03-19T21:00:00Z"), paused),
            t("2026-03-23T21:00:00Z")
        );
    }

    #[test]
    fn the_wall_clock_counts_everything_and_nothing_is_negative() {
        let wall = WorkingTime::Wall;
        let (a, b) = (t("2026-03-13T09:00:00Z"), t("2026-03-16T09:00:00Z"));
        assert_eq!(wall.measure(a, b), Duration::hours(72));
        assert_eq!(wall.measure(b, a), Duration::zero());
        assert_eq!(wall.advance(a, Duration::hours(72)), b);
        assert_eq!(istanbul(None).advance(a, Duration::hours(-1)), a);
    }

    #[test]
    fn a_calendar_that_cannot_count_falls_back_to_the_wall_clock() {
        let never = WorkingTime::Calendar {
            days: WorkingDays::new([], []),
            tz: Tz::UTC,
            hours: None,
        };
        let from = t("2026-03-13T09:00:00Z");
        assert_eq!(never.advance(from, Duration::hours(1)), from + Duration::hours(1));
        assert_eq!(never.measure(from, from + Duration::days(30)), Duration::zero());
    }

    #[test]
    fn a_working_day_is_a_day_across_daylight_saving_changes() {
        // New York, Monday to Friday; DST starts Sunday 8 March 2026 and
        // ends Sunday 1 November 2026, both on weekends: use Sunday-working
        // calendars to put the change inside a counted day.
        let ny: Tz = "America/New_York".parse().unwrap();
        let clock = WorkingTime::Calendar {
            days: WorkingDays::new([7, 1], []),
            tz: ny,
            hours: None,
        };
        // Sunday 8 March is 23 hours long; one working day from its start
        // ends at Monday's start, and Monday's end is two working days.
        let sunday = zone::start_of_day("2026-03-08".parse().unwrap(), ny);
        let monday = zone::start_of_day("2026-03-09".parse().unwrap(), ny);
        let tuesday = zone::start_of_day("2026-03-10".parse().unwrap(), ny);
        assert_eq!(clock.advance(sunday, Duration::days(1)), monday);
        assert_eq!(clock.advance(sunday, Duration::days(2)), tuesday);
        assert_eq!(clock.measure(sunday, tuesday), Duration::days(2));
        // Sunday 1 November is 25 hours long.
        let sunday = zone::start_of_day("2026-11-01".parse().unwrap(), ny);
        let monday = zone::start_of_day("2026-11-02".parse().unwrap(), ny);
        assert_eq!(clock.advance(sunday, Duration::days(1)), monday);
        assert_eq!(clock.measure(sunday, monday), Duration::days(1));
    }
}
