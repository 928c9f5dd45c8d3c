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

    /// The time that counts in `[from, to)`.
    pub fn measure(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if *self == WorkingTime::Wall {
            return to - from;
        }
        let mut total = Duration::zero();
        for (start, end) in self.windows(from) {
            if start >= to {
                break;
            }
            let (s, e) = (start.max(from), end.min(to));
            if s < e {
                total += e - s;
            }
        }
        total
    }

    /// The first instant by which `by` of counting time has passed since
    /// `from` (`from` itself for nothing to count).
    pub fn advance(&self, from: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
        if by <= Duration::zero() {
            return from;
        }
        if *self == WorkingTime::Wall {
            return from + by;
        }
        let mut left = by;
        let mut reached = from;
        for (start, end) in self.windows(from) {
            let s = start.max(from);
            if s >= end {
                continue;
            }
            if left <= end - s {
                return s + left;
            }
            left -= end - s;
            reached = end;
        }
        reached
    }
}

type Span = (DateTime<Utc>, DateTime<Utc>);

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
    fn a_calendar_without_working_days_never_reaches_a_target() {
        let never = WorkingTime::Calendar {
            days: WorkingDays::new([], []),
            tz: Tz::UTC,
            hours: None,
        };
        let from = t("2026-03-13T09:00:00Z");
        assert_eq!(never.advance(from, Duration::hours(1)), from);
        assert_eq!(never.measure(from, from + Duration::days(30)), Duration::zero());
    }
}
