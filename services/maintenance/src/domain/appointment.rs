//! Service centres and their appointments: slots cut from a centre's
//! weekly opening hours in its own time zone, each with a number of seats;
//! an appointment holds one seat of one slot for one occurrence of a
//! schedule or for a warranty claim, until it is canceled (free before the
//! centre's cut-off, late after it), missed or completed.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, named_enum};

use super::MaintenanceError;
use super::timing::ContactHours;

/// One span a centre is open on a weekday (ISO number, 1 = Monday),
/// `[open, close)` in its local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    pub weekday: u32,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Centre {
    pub centre_id: String,
    pub name: String,
    pub time_zone: Tz,
    pub opening: Vec<Opening>,
    pub slot_minutes: u32,
    /// Seats per slot.
    pub capacity: u32,
    /// Hours before a slot after which a cancellation is late.
    pub cancel_cutoff_hours: u32,
    pub updated_at: DateTime<Utc>,
}

impl Centre {
    /// The starts of its slots in `[from, to)`, earliest first. A local
    /// start a daylight-saving gap skips is no slot; of a repeated hour,
    /// the earlier instant is.
    pub fn slots(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let (first, last) = (
            zone::local_date(from, self.time_zone),
            zone::local_date(to, self.time_zone),
        );
        let mut out = Vec::new();
        let mut day = first;
        while day <= last {
            for start in self.starts_on(day) {
                if from <= start && start < to {
                    out.push(start);
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        out.sort();
        out
    }

    /// Whether `start` is one of its slots.
    pub fn offers(&self, start: DateTime<Utc>) -> bool {
        self.starts_on(zone::local_date(start, self.time_zone)).contains(&start)
    }

    /// When canceling a slot starting at `start` becomes late.
    pub fn cutoff(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start - Duration::hours(i64::from(self.cancel_cutoff_hours))
    }

    fn starts_on(&self, day: NaiveDate) -> Vec<DateTime<Utc>> {
        let step = i64::from(self.slot_minutes.max(1));
        let minutes = |t: NaiveTime| (t - NaiveTime::MIN).num_minutes();
        let weekday = day.weekday().number_from_monday();
        let mut out = Vec::new();
        for o in self.opening.iter().filter(|o| o.weekday == weekday) {
            // Each slot ends by closing time.
            let mut m = minutes(o.open);
            while m + step <= minutes(o.close) {
                let local = day.and_time(NaiveTime::MIN) + Duration::minutes(m);
                if let Some(start) = self.time_zone.from_local_datetime(&local).earliest() {
                    out.push(start.with_timezone(&Utc));
                }
                m += step;
            }
        }
        out
    }
}

named_enum!(
    /// Where an appointment stands.
    AppointmentStatus {
        Booked = "booked",
        Canceled = "canceled",
        NoShow = "no_show",
        Completed = "completed",
    }
);

/// What a visit is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitFor {
    /// A schedule's occurrence: the visit does its task, and completing
    /// the visit completes the occurrence.
    Occurrence {
        schedule_id: super::ScheduleId,
        occurrence: i32,
    },
    /// A warranty claim: the product is brought in for it.
    Claim { claim_id: String },
}

impl VisitFor {
    /// The id its events are about: the schedule's, or for a claim's
    /// visits `claim-visit:<claim id>` (warranty's own events are about the
    /// claim id; these are maintenance's, ordered by maintenance's locks).
    pub fn aggregate(&self) -> String {
        match self {
            VisitFor::Occurrence { schedule_id, .. } => schedule_id.to_string(),
            VisitFor::Claim { claim_id } => format!("claim-visit:{claim_id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub appointment_id: super::AppointmentId,
    pub centre_id: String,
    pub starts_at: DateTime<Utc>,
    pub visit_for: VisitFor,
    pub customer_id: String,
    pub status: AppointmentStatus,
    /// Canceled after the centre's cut-off.
    pub late: bool,
    pub reschedules: i32,
    /// When its reminder goes out; `None` once sent, or when none will.
    pub remind_at: Option<DateTime<Utc>>,
    pub booked_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How many times one appointment may be moved.
pub const MAX_RESCHEDULES: i32 = 5;

impl Appointment {
    fn must_be_booked(&self, step: &'static str) -> Result<(), MaintenanceError> {
        if self.status == AppointmentStatus::Booked {
            Ok(())
        } else {
            Err(MaintenanceError::AppointmentStep {
                status: self.status,
                step,
            })
        }
    }

    /// Cancels it: free before `cutoff`, recorded as late after it; not
    /// once it has started.
    pub fn cancel(&mut self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), MaintenanceError> {
        self.must_be_booked("be canceled")?;
        if now >= self.starts_at {
            return Err(MaintenanceError::AppointmentStarted);
        }
        self.status = AppointmentStatus::Canceled;
        self.late = now > cutoff;
        self.remind_at = None;
        self.updated_at = now;
        Ok(())
    }

    /// Moves it to `start` (another slot of its centre), before the
    /// cut-off of the slot it holds.
    pub fn reschedule(
        &mut self,
        start: DateTime<Utc>,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), MaintenanceError> {
        self.must_be_booked("be moved")?;
        if now > cutoff {
            return Err(MaintenanceError::PastCutoff);
        }
        if self.reschedules >= MAX_RESCHEDULES {
            return Err(MaintenanceError::TooManyReschedules);
        }
        self.starts_at = start;
        self.reschedules += 1;
        self.updated_at = now;
        Ok(())
    }

    /// The customer did not come: from the slot's start on.
    pub fn no_show(&mut self, now: DateTime<Utc>) -> Result<(), MaintenanceError> {
        self.must_be_booked("be marked as missed")?;
        if now < self.starts_at {
            return Err(MaintenanceError::AppointmentNotStarted);
        }
        self.status = AppointmentStatus::NoShow;
        self.remind_at = None;
        self.updated_at = now;
        Ok(())
    }

    /// The visit was done: from the slot's start on.
    pub fn complete(&mut self, now: DateTime<Utc>) -> Result<(), MaintenanceError> {
        self.must_be_booked("be completed")?;
        if now < self.starts_at {
            return Err(MaintenanceError::AppointmentNotStarted);
        }
        self.status = AppointmentStatus::Completed;
        self.remind_at = None;
        self.updated_at = now;
        Ok(())
    }
}

/// When the reminder of an appointment at `start` goes out: 24 hours
/// before (or now, when booked later than that), moved to the customer's
/// next allowed moment; none when that is not before the appointment, or
/// for an opted-out customer.
pub fn reminder_moment(
    start: DateTime<Utc>,
    hours: &ContactHours,
    tz: Tz,
    opted_out: bool,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if opted_out {
        return None;
    }
    let at = hours.next_allowed((start - Duration::hours(24)).max(now), tz);
    (at < start).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::timing::hm;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn centre(tz: &str) -> Centre {
        Centre {
            centre_id: "ist-1".into(),
            name: "Istanbul".into(),
            time_zone: tz.parse().unwrap(),
            // Weekdays 09:00-12:00 and 13:00-17:00, hour slots.
            opening: (1..=5)
                .flat_map(|d| {
                    [
                        Opening {
                            weekday: d,
                            open: hm(9, 0),
                            close: hm(12, 0),
                        },
                        Opening {
                            weekday: d,
                            open: hm(13, 0),
                            close: hm(17, 0),
                        },
                    ]
                })
                .collect(),
            slot_minutes: 60,
            capacity: 5,
            cancel_cutoff_hours: 24,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn slots_follow_the_opening_hours_in_the_centres_zone() {
        let c = centre("Europe/Istanbul");
        // Friday 2026-09-04 and the weekend after it.
        let slots = c.slots(t("2026-09-04T00:00:00Z"), t("2026-09-07T00:00:00Z"));
        assert_eq!(slots.len(), 7, "3 morning and 4 afternoon slots, none on the weekend");
        assert_eq!(slots[0], t("2026-09-04T06:00:00Z"), "09:00 Istanbul");
        assert_eq!(slots[3], t("2026-09-04T10:00:00Z"), "13:00, after the lunch break");
        assert!(c.offers(t("2026-09-04T06:00:00Z")));
        assert!(!c.offers(t("2026-09-04T06:30:00Z")), "not a slot's start");
        assert!(!c.offers(t("2026-09-04T09:00:00Z")), "12:00 is lunch");
        assert!(!c.offers(t("2026-09-05T06:00:00Z")), "a Saturday");
    }

    #[test]
    fn new_york_slots_keep_their_local_hours_across_the_switch() {
        let mut c = centre("America/New_York");
        c.opening = vec![Opening {
            weekday: 7,
            open: hm(1, 0),
            close: hm(4, 0),
        }];
        // Sunday 8 March 2026: 02:00-03:00 does not exist.
        let slots = c.slots(t("2026-03-08T00:00:00Z"), t("2026-03-09T00:00:00Z"));
        assert_eq!(
            slots,
            [t("2026-03-08T06:00:00Z"), t("2026-03-08T07:00:00Z")],
            "01:00 EST, 03:00 EDT"
        );
        // Sunday 1 November 2026: 01:00 happens twice; the slot is the first.
        let slots = c.slots(t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:00Z"));
        assert_eq!(
            slots,
            [
                t("2026-11-01T05:00:00Z"),
                t("2026-11-01T07:00:00Z"),
                t("2026-11-01T08:00:00Z")
            ]
        );
    }

    fn booked() -> Appointment {
        Appointment {
            appointment_id: crate::domain::AppointmentId::new(),
            centre_id: "ist-1".into(),
            starts_at: t("2026-09-04T06:00:00Z"),
            visit_for: VisitFor::Occurrence {
                schedule_id: crate::domain::ScheduleId::new(),
                occurrence: 1,
            },
            customer_id: "c-1".into(),
            status: AppointmentStatus::Booked,
            late: false,
            reschedules: 0,
            remind_at: None,
            booked_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn canceling_is_free_before_the_cutoff_late_after_it_and_refused_once_started() {
        let c = centre("Europe/Istanbul");
        let a = booked();
        let cutoff = c.cutoff(a.starts_at);
        let mut early = a.clone();
        early.cancel(cutoff, cutoff).unwrap();
        assert!(!early.late, "at the cut-off itself it is still free");
        let mut late = a.clone();
        late.cancel(cutoff, cutoff + Duration::seconds(1)).unwrap();
        assert!(late.late);
        assert_eq!(
            a.clone().cancel(cutoff, a.starts_at),
            Err(MaintenanceError::AppointmentStarted)
        );
        assert!(matches!(
            early.cancel(cutoff, cutoff),
            Err(MaintenanceError::AppointmentStep { .. })
        ));
    }

    #[test]
    fn a_visit_is_completed_or_missed_only_once_it_has_started() {
        let mut a = booked();
        assert_eq!(
            a.complete(a.starts_at - Duration::seconds(1)),
            Err(MaintenanceError::AppointmentNotStarted)
        );
        a.complete(a.starts_at).unwrap();
        assert!(a.no_show(a.starts_at).is_err(), "completed already");
    }

    #[test]
    fn the_reminder_goes_a_day_before_at_an_allowed_moment() {
        let ist: Tz = "Europe/Istanbul".parse().unwrap();
        let h = ContactHours::default_hours();
        let now = t("2026-09-01T00:00:00Z");
        // 14:00 Istanbul: 14:00 the day before.
        assert_eq!(
            reminder_moment(t("2026-09-04T11:00:00Z"), &h, ist, false, now),
            Some(t("2026-09-03T11:00:00Z"))
        );
        // 09:00: the day before at 09:00 is allowed.
        assert_eq!(
            reminder_moment(t("2026-09-04T06:00:00Z"), &h, ist, false, now),
            Some(t("2026-09-03T06:00:00Z"))
        );
        // 08:00 (an early slot): 08:00 the day before is quiet, 09:00 then.
        assert_eq!(
            reminder_moment(t("2026-09-04T05:00:00Z"), &h, ist, false, now),
            Some(t("2026-09-03T06:00:00Z"))
        );
        // Booked at 22:00 for 09:30 the next morning: 09:00 would do.
        assert_eq!(
            reminder_moment(t("2026-09-04T06:30:00Z"), &h, ist, false, t("2026-09-03T19:00:00Z")),
            Some(t("2026-09-04T06:00:00Z"))
        );
        // Booked at 22:00 for 08:30: no allowed moment before it.
        assert_eq!(
            reminder_moment(t("2026-09-04T05:30:00Z"), &h, ist, false, t("2026-09-03T19:00:00Z")),
            None
        );
        assert_eq!(reminder_moment(t("2026-09-04T11:00:00Z"), &h, ist, true, now), None);
    }
}
