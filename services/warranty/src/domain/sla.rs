//! A claim's service-level clocks: a first response and a resolution, each
//! due by a target fixed when the claim was filed. The clocks stop while
//! the claim waits for the customer; every pause is kept, and the time paused
//! moves both targets. At 80% of a target the claim is at risk, past it
//! breached; each alarm is raised once.

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    pub filed_at: DateTime<Utc>,
    /// The targets as fixed at filing, before any pause.
    pub first_response_due: DateTime<Utc>,
    pub resolution_due: DateTime<Utc>,
    /// Closed pauses, in all.
    pub paused: Duration,
    /// The open pause, while waiting for the customer.
    pub paused_since: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub alarms_sent: Vec<Alarm>,
}

impl Sla {
    pub fn new(filed_at: DateTime<Utc>, first_response_due: DateTime<Utc>, resolution_due: DateTime<Utc>) -> Sla {
        Sla {
            filed_at,
            first_response_due,
            resolution_due,
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

    /// Restarts the clocks; the closed pause, if one was open.
    pub fn resume(&mut self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let since = self.paused_since.take()?;
        // A clock behind the one that paused never makes a pause negative.
        let end = now.max(since);
        self.paused += end - since;
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

    fn due(&self, nominal: DateTime<Utc>) -> DateTime<Utc> {
        nominal + self.paused
    }

    /// When the first response is due; `None` while paused (it moves).
    pub fn first_response_due_at(&self) -> Option<DateTime<Utc>> {
        self.paused_since.is_none().then(|| self.due(self.first_response_due))
    }

    /// When the resolution is due; `None` while paused (it moves).
    pub fn resolution_due_at(&self) -> Option<DateTime<Utc>> {
        self.paused_since.is_none().then(|| self.due(self.resolution_due))
    }

    fn at_risk(&self, nominal: DateTime<Utc>) -> DateTime<Utc> {
        let span = nominal - self.filed_at;
        self.filed_at + span * AT_RISK_PERCENT / 100 + self.paused
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
            out.push((Alarm::FirstResponseAtRisk, self.at_risk(self.first_response_due)));
            out.push((Alarm::FirstResponseBreached, self.due(self.first_response_due)));
        }
        if self.resolved_at.is_none() {
            out.push((Alarm::ResolutionAtRisk, self.at_risk(self.resolution_due)));
            out.push((Alarm::ResolutionBreached, self.due(self.resolution_due)));
        }
        out.retain(|(a, _)| !self.alarms_sent.contains(a));
        out
    }

    /// The alarms due by `now`, not raised yet: marks them raised.
    pub fn raise(&mut self, now: DateTime<Utc>) -> Vec<(Alarm, DateTime<Utc>)> {
        let due: Vec<(Alarm, DateTime<Utc>)> = self.schedule().into_iter().filter(|(_, at)| *at <= now).collect();
        self.alarms_sent.extend(due.iter().map(|(a, _)| *a));
        // The due moment of each raised alarm's target, for its event.
        due.into_iter()
            .map(|(a, _)| {
                let nominal = match a.target() {
                    "first_response" => self.first_response_due,
                    _ => self.resolution_due,
                };
                (a, self.due(nominal))
            })
            .collect()
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
        [
            self.first_response_at
                .is_none()
                .then(|| self.due(self.first_response_due)),
            self.resolved_at.is_none().then(|| self.due(self.resolution_due)),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(hours: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::hours(hours)
    }

    fn sla() -> Sla {
        Sla::new(t(0), t(24), t(24 * 10))
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
        assert_eq!(s.resume(t(15)), Some((t(10), t(15))));
        assert_eq!(s.resume(t(16)), None);
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
