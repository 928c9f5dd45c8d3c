//! A claim's service-level clocks: a first response and a resolution, each
//! due by a target fixed when the claim was filed, counted on its clock
//! (business hours, working days, or every hour). The clocks stop while the
//! claim waits for the customer; every pause is kept, and moves each target
//! by the time its clock would have counted in it. At 80% of a target the
//! claim is at risk, past it breached; each alarm is raised once.

use aftercare_kernel::NaiveTime;
use aftercare_kernel::working_time::WorkingTime;
use aftercare_kernel::zone::{Tz, WorkingDays};
use aftercare_kernel::{DateTime, Duration, Utc, named_enum};

named_enum!(
    /// The four alarms a claim can raise, each once.
    Alarm {
        FirstResponseAtRisk = "first_response_at_risk",
        FirstResponseBreached = "first_response_breached",
        ResolutionAtRisk = "resolution_at_risk",
        ResolutionBreached = "resolution_breached",
    }
);

impl Alarm {
    pub fn target(&self) -> &'static str {
        match self {
            Alarm::FirstResponseAtRisk | Alarm::FirstResponseBreached => "first_response",
            Alarm::ResolutionAtRisk | Alarm::ResolutionBreached => "resolution",
        }
    }

    pub fn breached(&self) -> bool {
        matches!(self, Alarm::FirstResponseBreached | Alarm::ResolutionBreached)
    }
}

/// Where a target is at risk: this share of it elapsed.
const AT_RISK_PERCENT: i32 = 80;

/// What the two clocks count, from the default business calendar: the
/// first response its business hours when it has them (every hour
/// otherwise), the resolution its working days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clocks {
    pub first_response: WorkingTime,
    pub resolution: WorkingTime,
}

impl Clocks {
    /// A business calendar's clocks: its working days in its zone, and its
    /// business hours (if any) for the first response.
    pub fn of_calendar(days: &WorkingDays, tz: Tz, business_hours: Option<(NaiveTime, NaiveTime)>) -> Clocks {
        Clocks {
            first_response: match business_hours {
                Some(hours) => WorkingTime::Calendar {
                    days: days.clone(),
                    tz,
                    hours: Some(hours),
                },
                None => WorkingTime::Wall,
            },
            resolution: WorkingTime::Calendar {
                days: days.clone(),
                tz,
                hours: None,
            },
        }
    }

    /// Both on the wall clock.
    pub fn wall() -> Clocks {
        Clocks {
            first_response: WorkingTime::Wall,
            resolution: WorkingTime::Wall,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    pub filed_at: DateTime<Utc>,
    /// When each target is due and when it goes at risk: fixed at filing,
    /// then moved by the counting time of every closed pause.
    pub first_response_due: DateTime<Utc>,
    pub first_response_risk: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    pub resolution_risk: DateTime<Utc>,
    /// Closed pauses, in all, on the wall clock.
    pub paused: Duration,
    /// The open pause, while waiting for the customer.
    pub paused_since: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alarms_sent: Vec<Alarm>,
}

impl Sla {
    /// A claim's clocks from `filed_at`: the first response due after
    /// `first_response` of its clock's time, the resolution by
    /// `resolution_due`; each at risk at 80% of its clock's time to it.
    pub fn new(
        filed_at: DateTime<Utc>,
        clocks: &Clocks,
        first_response: Duration,
        resolution_due: DateTime<Utc>,
    ) -> Sla {
        let share = |d: Duration| d * AT_RISK_PERCENT / 100;
        let resolution_span = clocks.resolution.measure(filed_at, resolution_due);
        Sla {
            filed_at,
            first_response_due: clocks.first_response.advance(filed_at, first_response),
            first_response_risk: clocks.first_response.advance(filed_at, share(first_response)),
            resolution_due,
            resolution_risk: clocks.resolution.advance(filed_at, share(resolution_span)),
            paused: Duration::zero(),
            paused_since: None,
            first_response_at: None,
            resolved_at: None,
            alarms_sent: Vec::new(),
        }
    }

    /// Stops the clocks (waiting for the customer); a second stop is none.
    pub fn pause(&mut self, now: DateTime<Utc>) {
        self.paused_since.get_or_insert(now);
    }

    /// Restarts the clocks; the closed pause, if one was open. Each target
    /// moves by the time its clock would have counted in the pause: a
    /// weekend paused moves a working-day target by nothing.
    pub fn resume(&mut self, now: DateTime<Utc>, clocks: &Clocks) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let since = self.paused_since.take()?;
        // A clock behind the one that paused never makes a pause negative.
        let end = now.max(since);
        self.paused += end - since;
        let moved = |clock: &WorkingTime, at: DateTime<Utc>| clock.advance(at, clock.measure(since, end));
        self.first_response_due = moved(&clocks.first_response, self.first_response_due);
        self.first_response_risk = moved(&clocks.first_response, self.first_response_risk);
        self.resolution_due = moved(&clocks.resolution, self.resolution_due);
        self.resolution_risk = moved(&clocks.resolution, self.resolution_risk);
        Some((since, end))
    }

    /// Time on the clock at `now`: elapsed since filing, less the pauses.
    pub fn running(&self, now: DateTime<Utc>) -> Duration {
        let open = self
            .paused_since
            .map_or(Duration::zero(), |s| (now - s).max(Duration::zero()));
        now - self.filed_at - self.paused - open
    }

    /// The first customer-visible answer or decision by staff.
    pub fn responded(&mut self, now: DateTime<Utc>) {
        self.first_response_at.get_or_insert(now);
    }

    pub fn resolved(&mut self, now: DateTime<Utc>) {
        self.resolved_at.get_or_insert(now);
    }

    /// An appeal opens the claim again: its resolution is due again (by
    /// the same target; alarms already raised are not raised twice).
    pub fn reopened(&mut self) {
        self.resolved_at = None;
    }

    /// When the first response is due; `None` while paused (it moves).
    pub fn first_response_due_at(&self) -> Option<DateTime<Utc>> {
        self.paused_since.is_none().then_some(self.first_response_due)
    }

    /// When the resolution is due; `None` while paused (it moves).
    pub fn resolution_due_at(&self) -> Option<DateTime<Utc>> {
        self.paused_since.is_none().then_some(self.resolution_due)
    }

    fn due_of(&self, alarm: Alarm) -> DateTime<Utc> {
        match alarm.target() {
            "first_response" => self.first_response_due,
            _ => self.resolution_due,
        }
    }

    /// Each alarm with the moment it goes off, while its clock runs.
    fn schedule(&self) -> Vec<(Alarm, DateTime<Utc>)> {
        // Stopped, or over: a resolved claim (rejected, canceled, remedied)
        // owes nothing more, a first answer included.
        if self.paused_since.is_some() || self.resolved_at.is_some() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.first_response_at.is_none() {
            out.push((Alarm::FirstResponseAtRisk, self.first_response_risk));
            out.push((Alarm::FirstResponseBreached, self.first_response_due));
        }
        out.push((Alarm::ResolutionAtRisk, self.resolution_risk));
        out.push((Alarm::ResolutionBreached, self.resolution_due));
        out.retain(|(a, _)| !self.alarms_sent.contains(a));
        out
    }

    /// The alarms due by `now`, not raised yet: marks them raised. Each
    /// with the due moment of its target, for its event.
    pub fn raise(&mut self, now: DateTime<Utc>) -> Vec<(Alarm, DateTime<Utc>)> {
        let due: Vec<Alarm> = self
            .schedule()
            .into_iter()
            .filter(|(_, at)| *at <= now)
            .map(|(a, _)| a)
            .collect();
        self.alarms_sent.extend(due.iter().copied());
        due.into_iter().map(|a| (a, self.due_of(a))).collect()
    }

    /// When the next alarm goes off; `None` when none will (paused, or
    /// every target met or raised).
    pub fn next_alarm(&self) -> Option<DateTime<Utc>> {
        self.schedule().into_iter().map(|(_, at)| at).min()
    }

    /// The earliest target still to meet, for a queue sorted by time to
    /// breach; `None` while paused or when nothing is due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        if self.paused_since.is_some() || self.resolved_at.is_some() {
            return None;
        }
        let first = self.first_response_at.is_none().then_some(self.first_response_due);
        Some(first.map_or(self.resolution_due, |f| f.min(self.resolution_due)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(hours)
    }

    fn sla() -> Sla {
        Sla::new(t(0), &Clocks::wall(), Duration::hours(24), t(24 * 10))
    }

    #[test]
    fn alarms_go_off_at_80_percent_and_at_the_target_once_each() {
        let mut s = sla();
        assert_eq!(s.next_alarm(), Some(t(0) + Duration::minutes(24 * 60 * 8 / 10)));
        assert!(s.raise(t(19)).is_empty());
        assert_eq!(s.raise(t(20)), vec![(Alarm::FirstResponseAtRisk, t(24))]);
        assert!(s.raise(t(20)).is_empty(), "raised once");
        assert_eq!(s.raise(t(30)), vec![(Alarm::FirstResponseBreached, t(24))]);
        s.responded(t(31));
        assert_eq!(s.next_alarm(), Some(t(192)));
        assert_eq!(s.next_due(), Some(t(240)));
    }

    #[test]
    fn a_pause_stops_the_clocks_and_moves_the_targets() {
        let mut s = sla();
        s.pause(t(10));
        s.pause(t(11));
        assert_eq!(s.next_alarm(), None);
        assert_eq!(s.next_due(), None);
        assert!(s.raise(t(100)).is_empty(), "nothing goes off while paused");
        assert_eq!(s.running(t(15)), Duration::hours(10));
        assert_eq!(s.resume(t(15), &Clocks::wall()), Some((t(10), t(15))));
        assert_eq!(s.resume(t(16), &Clocks::wall()), None);
        // 24h target + 5h paused.
        assert_eq!(s.next_due(), Some(t(29)));
        assert_eq!(s.raise(t(28)), vec![(Alarm::FirstResponseAtRisk, t(29))]);
        assert_eq!(s.running(t(28)), Duration::hours(23));
    }

    #[test]
    fn a_claim_over_before_an_answer_raises_nothing() {
        let mut s = sla();
        s.resolved(t(1));
        assert_eq!((s.next_alarm(), s.next_due()), (None, None));
        assert!(s.raise(t(1000)).is_empty());
    }

    #[test]
    fn met_targets_raise_nothing_and_a_reopened_claim_is_due_again() {
        let mut s = sla();
        s.responded(t(1));
        s.resolved(t(2));
        assert_eq!(s.next_alarm(), None);
        assert!(s.raise(t(1000)).is_empty());
        s.reopened();
        assert_eq!(
            s.raise(t(1000)),
            vec![(Alarm::ResolutionAtRisk, t(240)), (Alarm::ResolutionBreached, t(240))]
        );
        assert_eq!(s.next_alarm(), None);
    }
}
