//! When a message may go out (a reminder, a survey): in the customer's local time (an IANA zone),
//! outside their quiet hours (default 21:00 to 09:00) and inside their
//! preferred hours when they set some, moved to the next allowed moment.
//! Local times a daylight-saving change skips move on to the first that
//! exists; a repeated hour counts its earlier instant.

use crate::LocalResult;
use crate::zone::{self, Tz};
use crate::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};

/// A local daily span `[start, end)`, wrapping midnight when `end` is not
/// after `start` (21:00 to 09:00); empty when they are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailySpan {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl DailySpan {
    pub fn new(start: NaiveTime, end: NaiveTime) -> DailySpan {
        DailySpan { start, end }
    }

    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// The hours a customer may be sent something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactHours {
    pub quiet: DailySpan,
    /// `None`: any hour outside the quiet ones.
    pub preferred: Option<DailySpan>,
}

impl ContactHours {
    /// 21:00 to 09:00 quiet, any other hour.
    pub fn default_hours() -> ContactHours {
        ContactHours {
            quiet: DailySpan::new(hm(21, 0), hm(9, 0)),
            preferred: None,
        }
    }

    pub fn allows(&self, t: NaiveTime) -> bool {
        !self.quiet.contains(t) && self.preferred.is_none_or(|p| p.contains(t))
    }

    /// Whether any minute of the day is allowed (preferences that allow
    /// none are refused).
    pub fn allows_any(&self) -> bool {
        (0..24 * 60).any(|m| self.allows(hm(m / 60, m % 60)))
    }

    /// The first instant at or after `at` when a message may go out in `tz`.
    pub fn next_allowed(&self, at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let mut candidate = at;
        // Each step jumps to a boundary of one of the two spans: a handful
        // reach an allowed moment when there is one.
        for _ in 0..8 {
            let local = candidate.with_timezone(&tz);
            let (date, time) = (local.date_naive(), local.time());
            if self.allows(time) {
                return candidate;
            }
            let boundary = if self.quiet.contains(time) {
                self.quiet.end
            } else {
                self.preferred.map_or(self.quiet.end, |p| p.start)
            };
            let day = if boundary > time { date } else { next_day(date) };
            candidate = after(day, boundary, tz, candidate);
        }
        candidate
    }
}

/// `time` on `day` in `tz`, as the first instant after `candidate`: of a
/// repeated hour, the second pass when the first is not after it.
fn after(day: NaiveDate, time: NaiveTime, tz: Tz, candidate: DateTime<Utc>) -> DateTime<Utc> {
    let first = zone::at_local(day, time, tz);
    if first > candidate {
        return first;
    }
    match tz.from_local_datetime(&day.and_time(time)) {
        LocalResult::Ambiguous(_, second) if second.with_timezone(&Utc) > candidate => second.with_timezone(&Utc),
        // No later instant of that local time: a minute on, and look again.
        _ => candidate + crate::Duration::minutes(1),
    }
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(d)
}

pub fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    #[test]
    fn quiet_hours_move_a_reminder_to_the_morning_in_istanbul() {
        let h = ContactHours::default_hours();
        let ist = tz("Europe/Istanbul");
        // 03:00 local -> 09:00 local (UTC+3 all year).
        assert_eq!(
            h.next_allowed(t("2026-03-10T00:00:00Z"), ist),
            t("2026-03-10T06:00:00Z")
        );
        // 22:30 local -> 09:00 the next day.
        assert_eq!(
            h.next_allowed(t("2026-07-01T19:30:00Z"), ist),
            t("2026-07-02T06:00:00Z")
        );
        // 15:00 local is allowed as it is.
        assert_eq!(
            h.next_allowed(t("2026-07-01T12:00:00Z"), ist),
            t("2026-07-01T12:00:00Z")
        );
    }

    #[test]
    fn new_york_mornings_follow_both_daylight_saving_switches() {
        let h = ContactHours::default_hours();
        let ny = tz("America/New_York");
        // Saturday 7 March 09:00 EST is 14:00Z; Sunday 8 March, after the
        // switch, 09:00 EDT is 13:00Z.
        assert_eq!(h.next_allowed(t("2026-03-07T05:00:00Z"), ny), t("2026-03-07T14:00:00Z"));
        assert_eq!(h.next_allowed(t("2026-03-08T05:00:00Z"), ny), t("2026-03-08T13:00:00Z"));
        // Sunday 1 November back to EST: 09:00 is 14:00Z again.
        assert_eq!(h.next_allowed(t("2026-11-01T05:00:00Z"), ny), t("2026-11-01T14:00:00Z"));
    }

    #[test]
    fn a_quiet_end_the_switch_skips_moves_to_the_first_time_that_exists() {
        let h = ContactHours {
            quiet: DailySpan::new(hm(21, 0), hm(2, 30)),
            preferred: None,
        };
        // 02:30 on 8 March does not exist in New York: 03:00 EDT, 07:00Z.
        assert_eq!(
            h.next_allowed(t("2026-03-08T05:00:00Z"), tz("America/New_York")),
            t("2026-03-08T07:00:00Z")
        );
    }

    #[test]
    fn preferred_hours_narrow_the_day_and_impossible_hours_are_detected() {
        let h = ContactHours {
            quiet: DailySpan::new(hm(21, 0), hm(9, 0)),
            preferred: Some(DailySpan::new(hm(18, 0), hm(20, 0))),
        };
        let ist = tz("Europe/Istanbul");
        // 10:00 local -> 18:00 local.
        assert_eq!(
            h.next_allowed(t("2026-03-10T07:00:00Z"), ist),
            t("2026-03-10T15:00:00Z")
        );
        // 20:30 local -> 18:00 the next day.
        assert_eq!(
            h.next_allowed(t("2026-03-10T17:30:00Z"), ist),
            t("2026-03-11T15:00:00Z")
        );
        assert!(h.allows_any());
        let never = ContactHours {
            quiet: DailySpan::new(hm(21, 0), hm(9, 0)),
            preferred: Some(DailySpan::new(hm(22, 0), hm(23, 0))),
        };
        assert!(!never.allows_any());
    }

    #[test]
    fn a_quiet_end_inside_the_repeated_hour_is_reached_from_its_second_pass() {
        // New York falls back on 1 November 2026: 01:00-02:00 happens twice.
        // Quiet until 01:45; at 01:30 of the second pass (06:30Z) the end
        // is 01:45 of the second pass (06:45Z).
        let h = ContactHours {
            quiet: DailySpan::new(hm(21, 0), hm(1, 45)),
            preferred: None,
        };
        assert_eq!(
            h.next_allowed(t("2026-11-01T06:30:00Z"), tz("America/New_York")),
            t("2026-11-01T06:45:00Z")
        );
    }

    #[test]
    fn equal_quiet_bounds_mean_no_quiet_hours() {
        let h = ContactHours {
            quiet: DailySpan::new(hm(0, 0), hm(0, 0)),
            preferred: None,
        };
        assert!((0..24).all(|x| h.allows(hm(x, 0))));
    }
}
