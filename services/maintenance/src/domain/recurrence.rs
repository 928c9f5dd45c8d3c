//! When maintenance falls due: every N days or N calendar months, anchored
//! to the schedule's start (fixed) or to the last time it was done
//! (completion), or once a meter has run a threshold further, whichever
//! comes first.
//!
//! Calendar months never drift: the n-th due date of a fixed schedule is
//! computed from its start, not from the one before, so "every 6 months"
//! from 31 August is 28 or 29 February, then 31 August again.

use aftercare_kernel::NaiveDate;
use aftercare_kernel::zone;

/// How often a task repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Days(u32),
    Months(u32),
}

impl Interval {
    /// `n` intervals after `from`, months clamped to the month's end;
    /// `None` beyond the calendar, or for an interval of nothing (which
    /// would never move on).
    pub fn times(self, from: NaiveDate, n: u32) -> Option<NaiveDate> {
        match self {
            Interval::Days(0) | Interval::Months(0) => None,
            Interval::Days(d) => zone::add_days(from, u64::from(d) * u64::from(n)),
            Interval::Months(m) => zone::add_months(from, m.checked_mul(n)?),
        }
    }
}

/// What the next due date counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The schedule's start: due dates are fixed slots; finishing late
    /// moves nothing, and the next slot is the first after the work.
    Fixed,
    /// The last time it was done: finishing early brings the next date
    /// forward, finishing late pushes it back.
    Completion,
}

/// A schedule's place in its recurrence: the slot it is on (fixed) and
/// when the task was last done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recurrence {
    pub interval: Interval,
    pub anchor: Anchor,
    /// The schedule's start (the product's delivery or registration day).
    pub start: NaiveDate,
}

impl Recurrence {
    /// The first due date.
    pub fn first(&self) -> Option<(u32, NaiveDate)> {
        Some((1, self.interval.times(self.start, 1)?))
    }

    /// The due date after an occurrence (slot `slot`) done (or skipped) on
    /// `done`: one occurrence only, however late it was done.
    pub fn after(&self, slot: u32, done: NaiveDate) -> Option<(u32, NaiveDate)> {
        match self.anchor {
            Anchor::Completion => Some((slot + 1, self.interval.times(done, 1)?)),
            Anchor::Fixed => {
                // Straight to about the right slot, then at most a step or
                // two: a long-missed schedule costs no walk through years.
                let mut next = (slot + 1).max(self.slots_by(done));
                loop {
                    let due = self.interval.times(self.start, next)?;
                    if due > done {
                        return Some((next, due));
                    }
                    next = next.checked_add(1)?;
                }
            }
        }
    }
}

impl Recurrence {
    /// About how many whole intervals fit from the start to `day` (never
    /// more than do): where a walk to the first slot after `day` begins.
    fn slots_by(&self, day: NaiveDate) -> u32 {
        use aftercare_kernel::Datelike;
        let whole = match self.interval {
            Interval::Days(0) | Interval::Months(0) => 0,
            Interval::Days(d) => (day - self.start).num_days() / i64::from(d),
            Interval::Months(m) => {
                let months = (i64::from(day.year()) - i64::from(self.start.year())) * 12 + i64::from(day.month())
                    - i64::from(self.start.month());
                (months - 1) / i64::from(m)
            }
        };
        u32::try_from(whole.max(0)).unwrap_or(u32::MAX)
    }
}

/// A meter's threshold: due when it has run `every` past its reading at
/// the last service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageThreshold {
    pub every: i64,
}

impl UsageThreshold {
    /// Whether a reading makes the task due, given the reading at the last
    /// service.
    pub fn reached(&self, at_last_service: i64, reading: i64) -> bool {
        reading.saturating_sub(at_last_service) >= self.every
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn fixed(interval: Interval, start: &str) -> Recurrence {
        Recurrence {
            interval,
            anchor: Anchor::Fixed,
            start: d(start),
        }
    }

    #[test]
    fn six_months_from_the_31st_of_august_never_drift() {
        let r = fixed(Interval::Months(6), "2026-08-31");
        assert_eq!(r.first(), Some((1, d("2027-02-28"))));
        assert_eq!(r.after(1, d("2027-02-28")), Some((2, d("2027-08-31"))));
        assert_eq!(r.after(2, d("2027-08-31")), Some((3, d("2028-02-29"))), "a leap year");
        assert_eq!(r.after(3, d("2028-02-29")), Some((4, d("2028-08-31"))));
    }

    #[test]
    fn a_fixed_schedule_done_late_takes_the_next_slot_after_the_work_once() {
        let r = fixed(Interval::Months(1), "2026-01-15");
        // Slot 1 (15 Feb) done on 20 April: slots 2 and 3 passed; the next
        // is slot 4, 15 May, not three at once.
        assert_eq!(r.after(1, d("2026-04-20")), Some((4, d("2026-05-15"))));
        // Done early: the next slot stays where it was.
        assert_eq!(r.after(1, d("2026-02-01")), Some((2, d("2026-03-15"))));
    }

    #[test]
    fn a_schedule_missed_for_decades_finds_its_next_slot_at_once() {
        let r = fixed(Interval::Days(1), "2000-01-01");
        assert_eq!(r.after(1, d("2199-12-30")), Some((73048, d("2199-12-31"))));
        let m = fixed(Interval::Months(1), "2000-01-31");
        assert_eq!(m.after(1, d("2199-12-30")), Some((2399, d("2199-12-31"))));
        assert_eq!(m.after(1, d("2199-12-31")), Some((2400, d("2200-01-31"))));
    }

    #[test]
    fn a_completion_anchored_schedule_counts_from_the_work() {
        let r = Recurrence {
            anchor: Anchor::Completion,
            ..fixed(Interval::Days(90), "2026-01-01")
        };
        assert_eq!(r.first(), Some((1, d("2026-04-01"))));
        // Early: brought forward; late: pushed back, never doubled.
        assert_eq!(r.after(1, d("2026-03-01")), Some((2, d("2026-05-30"))));
        assert_eq!(r.after(1, d("2026-06-01")), Some((2, d("2026-08-30"))));
    }

    #[test]
    fn a_meter_is_due_at_its_threshold() {
        let t = UsageThreshold { every: 500 };
        assert!(!t.reached(1000, 1499));
        assert!(t.reached(1000, 1500));
        assert!(!t.reached(i64::MIN, i64::MIN), "no overflow");
    }

    #[test]
    fn beyond_the_calendar_or_an_empty_interval_is_none() {
        let r = fixed(Interval::Months(u32::MAX), "2026-01-01");
        assert_eq!(r.first(), None);
        let empty = fixed(Interval::Days(0), "2026-01-01");
        assert_eq!(empty.first(), None);
        assert_eq!(empty.after(1, d("2030-01-01")), None);
    }
}
