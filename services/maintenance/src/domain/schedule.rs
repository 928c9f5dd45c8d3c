//! A schedule: one owned product's task, the occurrence it is on and when
//! that is due, and which of its reminders goes out next.

use aftercare_kernel::zone::Tz;
use aftercare_kernel::{DateTime, Duration, NaiveDate, Utc};

use super::plan::Task;
use super::recurrence::{Anchor, Recurrence};
use super::reminder::ReminderKind;
use super::timing::ContactHours;
use super::{MaintenanceError, ScheduleId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub schedule_id: ScheduleId,
    pub registration_id: aftercare_kernel::ids::Uuid,
    pub customer_id: String,
    pub sku: String,
    pub product_name: String,
    /// The plan version (category, SKU, version) it was made from.
    pub plan: (String, String, i32),
    pub task: Task,
    /// The product's zone; the customer's preference wins when set.
    pub time_zone: Tz,
    pub start_date: NaiveDate,
    /// The occurrence it is on (1 = the first) and its due date.
    pub slot: i32,
    pub due_date: NaiveDate,
    pub last_done_on: Option<NaiveDate>,
    pub next_reminder_at: Option<DateTime<Utc>>,
    /// The current occurrence's reminders wait until then (snoozed), how
    /// many times it was snoozed, and whether the customer dismissed them.
    pub snoozed_until: Option<DateTime<Utc>>,
    pub snoozes: i32,
    pub dismissed: bool,
    /// The meter reading the current occurrence counts from (its task's
    /// meter); `None`: zero.
    pub usage_base: Option<i64>,
    /// `false` once its product was replaced (the replacement carries it
    /// on): nothing more happens to it.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the customer's app shows of a schedule: a list reads only this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub schedule_id: ScheduleId,
    pub registration_id: aftercare_kernel::ids::Uuid,
    pub customer_id: String,
    pub sku: String,
    pub product_name: String,
    pub task_id: String,
    pub task_name: String,
    pub occurrence: i32,
    pub due_date: NaiveDate,
    pub last_done_on: Option<NaiveDate>,
    pub next_reminder_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub dismissed: bool,
}

impl Schedule {
    pub fn summary(&self) -> Summary {
        Summary {
            schedule_id: self.schedule_id,
            registration_id: self.registration_id,
            customer_id: self.customer_id.clone(),
            sku: self.sku.clone(),
            product_name: self.product_name.clone(),
            task_id: self.task.task_id.clone(),
            task_name: self.task.name.clone(),
            occurrence: self.slot,
            due_date: self.due_date,
            last_done_on: self.last_done_on,
            next_reminder_at: self.next_reminder_at,
            snoozed_until: self.snoozed_until,
            dismissed: self.dismissed,
        }
    }
}

/// Snoozes per occurrence, at most.
pub const MAX_SNOOZES: i32 = 3;
/// The longest one snooze may last.
pub const MAX_SNOOZE_DAYS: i64 = 30;

/// A product as warranty registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub registration_id: aftercare_kernel::ids::Uuid,
    pub customer_id: String,
    pub sku: String,
    pub category: String,
    pub product_name: String,
    pub starts_at: DateTime<Utc>,
    pub time_zone: Tz,
    /// The unit it replaces, whose schedules it carries on.
    pub replaces: Option<aftercare_kernel::ids::Uuid>,
}

/// A reminder of an occurrence and the moment it goes out.
pub type Planned = (ReminderKind, DateTime<Utc>);

/// How a customer may be reached: where, when, and whether at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    pub time_zone: Option<Tz>,
    pub hours: ContactHours,
    /// Nothing at all.
    pub opted_out: bool,
    /// Nothing about these products (registrations), nor these tasks.
    pub muted_products: Vec<aftercare_kernel::ids::Uuid>,
    pub muted_tasks: Vec<String>,
}

impl Reach {
    pub fn defaults() -> Reach {
        Reach {
            time_zone: None,
            hours: ContactHours::default_hours(),
            opted_out: false,
            muted_products: Vec::new(),
            muted_tasks: Vec::new(),
        }
    }

    /// Whether the customer hears nothing about `s`.
    pub fn silences(&self, s: &Schedule) -> bool {
        self.opted_out || self.muted_products.contains(&s.registration_id) || self.muted_tasks.contains(&s.task.task_id)
    }
}

impl Schedule {
    pub fn recurrence(&self) -> Recurrence {
        Recurrence {
            interval: self.task.interval,
            anchor: self.task.anchor,
            start: self.start_date,
        }
    }

    /// The zone its dates and reminders are in for this customer.
    pub fn zone(&self, reach: &Reach) -> Tz {
        reach.time_zone.unwrap_or(self.time_zone)
    }

    /// The current occurrence's reminders still to come, after the kinds
    /// already `sent`: each at its moment, earliest first. A reminder
    /// whose time passed while a later one was sent is not sent after it.
    /// Snoozed, the ones before the snooze's end are one, at its end (at an
    /// allowed moment). Nothing once dismissed, nor for a customer who
    /// opted out of it.
    pub fn reminders_left(&self, reach: &Reach, sent: &[ReminderKind]) -> Vec<Planned> {
        if self.dismissed || reach.silences(self) {
            return Vec::new();
        }
        let zone = self.zone(reach);
        let planned = self.task.reminders.planned(self.due_date, zone, &reach.hours);
        let after = planned.iter().rposition(|(k, _)| sent.contains(k)).map_or(0, |i| i + 1);
        let mut left: Vec<Planned> = planned.into_iter().skip(after).collect();
        if let Some(until) = self.snoozed_until {
            let resume = reach.hours.next_allowed(until, zone);
            if let Some(i) = left.iter().rposition(|(_, at)| *at < resume) {
                let kind = left[i].0;
                left.drain(..=i);
                left.insert(0, (kind, resume));
            }
        }
        left
    }

    /// When the job should look at the schedule next: its next reminder's
    /// moment; for a fixed occurrence with none left (sent, capped by the
    /// plan, or dismissed), the day after it is due, when it moves on to
    /// the next slot, whose reminders come as planned. None for a
    /// completion-anchored one (it waits for the work) or a customer who
    /// hears nothing about it.
    pub fn next_wake(&self, reach: &Reach, sent: &[ReminderKind]) -> Option<DateTime<Utc>> {
        match self.reminders_left(reach, sent).first() {
            Some((_, at)) => Some(*at),
            None if self.task.anchor == Anchor::Fixed && !reach.silences(self) => {
                let zone = self.zone(reach);
                aftercare_kernel::zone::add_days(self.due_date, 1)
                    .map(|d| aftercare_kernel::zone::start_of_day(d, zone))
            }
            None => None,
        }
    }

    /// A reading of `meter` on `today`: when it has run the task's
    /// threshold since the occurrence began, the occurrence is due today
    /// (unless it is due sooner); whether it moved.
    pub fn reading(&mut self, meter: &str, value: i64, today: NaiveDate, now: DateTime<Utc>) -> bool {
        let Some(usage) = self.task.usage.as_ref().filter(|u| u.meter == meter) else {
            return false;
        };
        if !usage.threshold.reached(self.usage_base.unwrap_or(0), value) || self.due_date <= today {
            return false;
        }
        self.due_date = today;
        self.updated_at = now;
        true
    }

    /// Puts the current occurrence's reminders off until `until` (after
    /// `now`, within [`MAX_SNOOZE_DAYS`]), at most [`MAX_SNOOZES`] times;
    /// the same snooze again changes nothing.
    pub fn snooze(&mut self, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), MaintenanceError> {
        if self.snoozed_until == Some(until) {
            return Ok(());
        }
        if until <= now || until > now + Duration::days(MAX_SNOOZE_DAYS) {
            return Err(MaintenanceError::SnoozeOutOfRange);
        }
        if self.dismissed {
            return Err(MaintenanceError::Dismissed);
        }
        if self.snoozes >= MAX_SNOOZES {
            return Err(MaintenanceError::TooManySnoozes);
        }
        self.snoozed_until = Some(until);
        self.snoozes += 1;
        self.updated_at = now;
        Ok(())
    }

    /// No more reminders of the current occurrence (the next one's come).
    pub fn dismiss(&mut self, now: DateTime<Utc>) {
        self.dismissed = true;
        self.updated_at = now;
    }

    /// The next occurrence starts afresh: not snoozed, not dismissed.
    fn next_occurrence(&mut self, slot: u32, due: NaiveDate, now: DateTime<Utc>) {
        self.slot = i32::try_from(slot).unwrap_or(i32::MAX);
        self.due_date = due;
        self.snoozed_until = None;
        self.snoozes = 0;
        self.dismissed = false;
        self.updated_at = now;
    }

    /// The reminder to send at `now`, if any: the latest one due (an
    /// earlier one missed is not sent after it), and when the next goes.
    pub fn due_reminder(
        &self,
        reach: &Reach,
        sent: &[ReminderKind],
        now: DateTime<Utc>,
    ) -> (Option<Planned>, Option<DateTime<Utc>>) {
        let left = self.reminders_left(reach, sent);
        let due = left.iter().rposition(|(_, at)| *at <= now);
        match due {
            Some(i) => (Some(left[i]), left.get(i + 1).map(|(_, at)| *at)),
            None => (None, left.first().map(|(_, at)| *at)),
        }
    }

    /// A fixed schedule whose occurrence is past and reminded in full (or
    /// never done) moves on to its first slot on or after `today`, so a
    /// customer who never records the work is still reminded of the next;
    /// whether it moved. A completion-anchored one waits for the work.
    pub fn move_past_missed(&mut self, today: NaiveDate, now: DateTime<Utc>) -> bool {
        if self.task.anchor != Anchor::Fixed || self.due_date >= today {
            return false;
        }
        let Some(yesterday) = today.pred_opt() else {
            return false;
        };
        match self.recurrence().after(self.slot.unsigned_abs(), yesterday) {
            Some((slot, due)) => {
                self.next_occurrence(slot, due, now);
                true
            }
            None => false,
        }
    }

    /// Completes the current occurrence, done on `done`: the next one and
    /// its due date; `false` when the recurrence runs out of the calendar.
    pub fn complete(&mut self, done: NaiveDate, now: DateTime<Utc>) -> bool {
        let Some((slot, due)) = self.recurrence().after(self.slot.unsigned_abs(), done) else {
            return false;
        };
        self.next_occurrence(slot, due, now);
        self.last_done_on = Some(done);
        true
    }

    /// Skips the current occurrence without the work: the next is due as
    /// if it had been done on its due date (the next fixed slot, or an
    /// interval after that date); `false` when the recurrence runs out.
    pub fn skip(&mut self, now: DateTime<Utc>) -> bool {
        let Some((slot, due)) = self.recurrence().after(self.slot.unsigned_abs(), self.due_date) else {
            return false;
        };
        self.next_occurrence(slot, due, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::recurrence::{Anchor, Interval};
    use crate::domain::reminder::ReminderRule;

    fn schedule() -> Schedule {
        Schedule {
            schedule_id: ScheduleId::new(),
            registration_id: aftercare_kernel::ids::Uuid::nil(),
            customer_id: "c-1".into(),
            sku: "KETTLE-1".into(),
            product_name: "Kettle".into(),
            plan: (String::new(), String::new(), 1),
            task: Task {
                task_id: "descale".into(),
                name: "Descale".into(),
                interval: Interval::Months(6),
                anchor: Anchor::Fixed,
                reminders: ReminderRule {
                    lead_days: 7,
                    overdue_days: 14,
                    max_per_occurrence: 3,
                },
                usage: None,
            },
            time_zone: "Europe/Istanbul".parse().unwrap(),
            start_date: "2026-03-01".parse().unwrap(),
            slot: 1,
            due_date: "2026-09-01".parse().unwrap(),
            last_done_on: None,
            next_reminder_at: None,
            snoozed_until: None,
            snoozes: 0,
            dismissed: false,
            usage_base: None,
            active: true,
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_latest_reminder_due_goes_once_and_earlier_missed_ones_never() {
        let s = schedule();
        let reach = Reach::defaults();
        // Before the lead reminder: none now, the lead one next.
        assert_eq!(
            s.due_reminder(&reach, &[], t("2026-08-20T00:00:00Z")),
            (None, Some(t("2026-08-25T06:00:00Z")))
        );
        // Down past the due day: only the due one goes, the overdue next.
        assert_eq!(
            s.due_reminder(&reach, &[], t("2026-09-02T00:00:00Z")),
            (
                Some((ReminderKind::Due, t("2026-09-01T06:00:00Z"))),
                Some(t("2026-09-15T06:00:00Z"))
            )
        );
        // Once sent, it is not due again.
        assert_eq!(
            s.due_reminder(&reach, &[ReminderKind::Due], t("2026-09-02T00:00:00Z")),
            (None, Some(t("2026-09-15T06:00:00Z")))
        );
        // An opted-out customer gets nothing.
        let out = Reach {
            opted_out: true,
            ..Reach::defaults()
        };
        assert_eq!(s.due_reminder(&out, &[], t("2026-09-02T00:00:00Z")), (None, None));
    }

    #[test]
    fn a_missed_fixed_occurrence_moves_on_to_the_next_slot() {
        let mut s = schedule();
        assert!(!s.move_past_missed("2026-09-01".parse().unwrap(), t("2026-09-01T10:00:00Z")));
        assert!(s.move_past_missed("2027-04-10".parse().unwrap(), t("2027-04-10T10:00:00Z")));
        assert_eq!((s.slot, s.due_date.to_string()), (3, "2027-09-01".into()));
        s.task.anchor = crate::domain::recurrence::Anchor::Completion;
        assert!(!s.move_past_missed("2028-01-01".parse().unwrap(), t("2028-01-01T10:00:00Z")));
    }

    #[test]
    fn completing_moves_to_the_next_occurrence() {
        let mut s = schedule();
        assert!(s.complete("2026-09-03".parse().unwrap(), t("2026-09-03T10:00:00Z")));
        assert_eq!((s.slot, s.due_date.to_string()), (2, "2027-03-01".into()));
    }

    #[test]
    fn a_snooze_gathers_the_reminders_before_its_end_into_one_at_an_allowed_moment() {
        let mut s = schedule();
        let reach = Reach::defaults();
        let now = t("2026-08-25T06:00:00Z");
        // Snoozed at the lead reminder until 23:00 on 2 September
        // (Istanbul): the lead and due reminders become one, at 09:00 the
        // next morning; the overdue one stays.
        s.snooze(t("2026-09-02T20:00:00Z"), now).unwrap();
        assert_eq!(
            s.reminders_left(&reach, &[]),
            [
                (ReminderKind::Due, t("2026-09-03T06:00:00Z")),
                (ReminderKind::Overdue, t("2026-09-15T06:00:00Z"))
            ]
        );
        // The same snooze again is no second snooze; limits hold.
        s.snooze(t("2026-09-02T20:00:00Z"), now).unwrap();
        assert_eq!(s.snoozes, 1);
        assert_eq!(s.snooze(now, now), Err(MaintenanceError::SnoozeOutOfRange));
        assert_eq!(
            s.snooze(now + Duration::days(MAX_SNOOZE_DAYS) + Duration::seconds(1), now),
            Err(MaintenanceError::SnoozeOutOfRange)
        );
        s.snooze(now + Duration::days(1), now).unwrap();
        s.snooze(now + Duration::days(2), now).unwrap();
        assert_eq!(
            s.snooze(now + Duration::days(3), now),
            Err(MaintenanceError::TooManySnoozes)
        );
        // Dismissed: nothing more this occurrence, looked at again when it
        // is over (midnight Istanbul); the next starts afresh.
        s.dismiss(now);
        assert!(s.reminders_left(&reach, &[]).is_empty());
        assert_eq!(s.next_wake(&reach, &[]), Some(t("2026-09-01T21:00:00Z")));
        assert!(s.complete("2026-09-03".parse().unwrap(), now));
        assert_eq!((s.snoozes, s.dismissed, s.snoozed_until), (0, false, None));
        assert_eq!(s.reminders_left(&reach, &[]).len(), 3);
    }

    #[test]
    fn a_muted_product_or_task_hears_nothing_and_a_skip_moves_on_one_occurrence() {
        let mut s = schedule();
        let mut reach = Reach::defaults();
        reach.muted_tasks = vec!["descale".into()];
        assert!(s.reminders_left(&reach, &[]).is_empty());
        reach.muted_tasks.clear();
        reach.muted_products = vec![s.registration_id];
        assert!(s.reminders_left(&reach, &[]).is_empty());
        assert!(s.skip(t("2026-08-01T10:00:00Z")));
        assert_eq!(
            (s.slot, s.due_date.to_string(), s.last_done_on),
            (2, "2027-03-01".into(), None)
        );
    }

    #[test]
    fn a_meter_past_its_threshold_makes_the_occurrence_due_today_whichever_comes_first() {
        let mut s = schedule();
        s.task.usage = Some(crate::domain::Usage {
            meter: "cycles".into(),
            threshold: crate::domain::UsageThreshold { every: 500 },
        });
        s.usage_base = Some(1000);
        let today: NaiveDate = "2026-05-01".parse().unwrap();
        let now = t("2026-05-01T10:00:00Z");
        assert!(!s.reading("cycles", 1499, today, now), "not yet");
        assert!(!s.reading("hours", 5000, today, now), "another meter");
        assert!(s.reading("cycles", 1500, today, now));
        assert_eq!(s.due_date, today);
        assert!(!s.reading("cycles", 9000, today, now), "due already");
    }
}
