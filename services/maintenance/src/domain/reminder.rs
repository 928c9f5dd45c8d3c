//! The reminders of one occurrence: a lead one some days before it is due,
//! one on the day, an overdue one some days after, each at the first moment
//! of its day the customer may be contacted, and at most a set number in
//! all. Each is sent once: its kind is its key within the occurrence.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, Duration, NaiveDate, Utc, named_enum};

use super::timing::ContactHours;

named_enum!(
    /// Which reminder of an occurrence.
    ReminderKind {
        Lead = "lead",
        Due = "due",
        Overdue = "overdue",
    }
);

/// A task's reminder settings, from its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderRule {
    /// Days before the due date for the first reminder (0: none).
    pub lead_days: u32,
    /// Days after the due date for the follow-up (0: none).
    pub overdue_days: u32,
    /// Reminders per occurrence, at most (the earliest kinds first).
    pub max_per_occurrence: u32,
}

impl ReminderRule {
    /// The reminders of an occurrence due on `due` (the customer's local
    /// date), each with the moment it goes out, earliest first.
    pub fn planned(&self, due: NaiveDate, tz: Tz, hours: &ContactHours) -> Vec<(ReminderKind, DateTime<Utc>)> {
        let days = |n: u32, before: bool| {
            let n = u64::from(n);
            if before {
                due.checked_sub_signed(Duration::days(i64::try_from(n).ok()?))
            } else {
                zone::add_days(due, n)
            }
        };
        let mut out = Vec::new();
        if self.lead_days > 0 {
            out.extend(days(self.lead_days, true).map(|d| (ReminderKind::Lead, d)));
        }
        out.push((ReminderKind::Due, due));
        if self.overdue_days > 0 {
            out.extend(days(self.overdue_days, false).map(|d| (ReminderKind::Overdue, d)));
        }
        out.truncate(usize::try_from(self.max_per_occurrence).unwrap_or(usize::MAX));
        out.into_iter()
            .map(|(kind, day)| (kind, hours.next_allowed(zone::start_of_day(day, tz), tz)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_due_and_overdue_at_nine_in_the_morning_capped() {
        let rule = ReminderRule {
            lead_days: 7,
            overdue_days: 14,
            max_per_occurrence: 3,
        };
        let ist: Tz = "Europe/Istanbul".parse().unwrap();
        let due: NaiveDate = "2026-03-10".parse().unwrap();
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            rule.planned(due, ist, &ContactHours::default_hours()),
            [
                (ReminderKind::Lead, t("2026-03-03T06:00:00Z")),
                (ReminderKind::Due, t("2026-03-10T06:00:00Z")),
                (ReminderKind::Overdue, t("2026-03-24T06:00:00Z")),
            ]
        );
        let two = ReminderRule {
            max_per_occurrence: 2,
            ..rule
        };
        assert_eq!(two.planned(due, ist, &ContactHours::default_hours()).len(), 2);
        let bare = ReminderRule {
            lead_days: 0,
            overdue_days: 0,
            max_per_occurrence: 3,
        };
        assert_eq!(
            bare.planned(due, ist, &ContactHours::default_hours()),
            [(ReminderKind::Due, t("2026-03-10T06:00:00Z"))]
        );
    }
}
