//! A follow-up of an unhappy answer: open with a first-response target on
//! the service-level clock, breached once if the target passes while it is
//! open, closed once with the agent's note and any goodwill points.

use aftercare_kernel::working_time::WorkingTime;
use aftercare_kernel::{DateTime, Duration, Utc};

use super::{FeedbackError, FollowUpId, Settings, Survey};

aftercare_kernel::named_enum!(FollowUpStatus {
    Open = "open",
    Closed = "closed",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub follow_up_id: FollowUpId,
    pub survey: Survey,
    pub status: FollowUpStatus,
    /// The scores that opened it.
    pub csat: i32,
    pub nps: Option<i32>,
    pub opened_at: DateTime<Utc>,
    pub respond_by: DateTime<Utc>,
    pub breached: bool,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub note: String,
    pub goodwill_points: i64,
}

/// How an agent closes a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub note: String,
    pub goodwill_points: i64,
}

impl FollowUp {
    /// The follow-up of `survey`'s unhappy answer, due within the
    /// settings' hours of wall time (the clock claims' targets use when no
    /// business calendar applies).
    pub fn open(survey: &Survey, settings: &Settings, now: DateTime<Utc>) -> Option<FollowUp> {
        let answer = survey.answer.as_ref()?;
        if !settings.is_unhappy(answer.csat, answer.nps) {
            return None;
        }
        let target = Duration::hours(settings.follow_up_hours.into());
        Some(FollowUp {
            follow_up_id: FollowUpId::new(),
            survey: survey.clone(),
            status: FollowUpStatus::Open,
            csat: answer.csat,
            nps: answer.nps,
            opened_at: now,
            respond_by: WorkingTime::Wall.advance(now, target),
            breached: false,
            closed_at: None,
            closed_by: None,
            note: String::new(),
            goodwill_points: 0,
        })
    }

    /// Whether its target passed while open and no breach was raised yet.
    pub fn breach_due(&self, now: DateTime<Utc>) -> bool {
        self.status == FollowUpStatus::Open && !self.breached && now >= self.respond_by
    }

    pub fn close(
        &mut self,
        by: &str,
        c: Closing,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<(), FeedbackError> {
        if self.status == FollowUpStatus::Closed {
            return Err(FeedbackError::FollowUpClosed);
        }
        if c.goodwill_points > settings.max_goodwill_points {
            return Err(FeedbackError::GoodwillOverLimit {
                limit: settings.max_goodwill_points,
            });
        }
        self.status = FollowUpStatus::Closed;
        self.closed_at = Some(now);
        self.closed_by = Some(by.to_owned());
        self.note = c.note;
        self.goodwill_points = c.goodwill_points;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::TimeZone;

    use super::*;
    use crate::domain::survey::Given;
    use crate::domain::{Case, CaseType, Contact};

    fn settings() -> Settings {
        Settings {
            min_days_between_surveys: 30,
            low_csat: 2,
            low_nps: 6,
            follow_up_hours: 24,
            max_goodwill_points: 500,
            answer_days: 30,
            updated_at: None,
        }
    }

    fn answered(csat: i32, nps: Option<i32>) -> Survey {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let case = Case {
            customer_id: "c-1".into(),
            case_type: CaseType::Claim,
            case_id: "k-1".into(),
            reason: String::new(),
            agent: String::new(),
        };
        let mut s = Survey::new(case, &Contact::defaults(), None, &settings(), now);
        s.sent(now);
        let given = Given {
            csat,
            nps,
            comment: String::new(),
            channel: None,
        };
        s.answer(given, now).unwrap();
        s
    }

    #[test]
    fn only_unhappy_answers_open_one_due_in_the_target() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 13, 0, 0).unwrap();
        assert!(FollowUp::open(&answered(3, Some(8)), &settings(), now).is_none());
        let f = FollowUp::open(&answered(4, Some(5)), &settings(), now).unwrap();
        assert_eq!((f.respond_by, f.csat, f.nps), (now + Duration::hours(24), 4, Some(5)));
        assert!(!f.breach_due(f.respond_by - Duration::seconds(1)));
        assert!(f.breach_due(f.respond_by));
    }

    #[test]
    fn a_follow_up_closes_once_within_the_goodwill_limit() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 13, 0, 0).unwrap();
        let mut f = FollowUp::open(&answered(1, None), &settings(), now).unwrap();
        let over = Closing {
            note: "sorry".into(),
            goodwill_points: 501,
        };
        assert_eq!(
            f.close("agent:a", over, &settings(), now),
            Err(FeedbackError::GoodwillOverLimit { limit: 500 })
        );
        assert_eq!(f.status, FollowUpStatus::Open);
        let ok = Closing {
            note: "called".into(),
            goodwill_points: 500,
        };
        f.close("agent:a", ok.clone(), &settings(), now).unwrap();
        assert!(!f.breach_due(now + Duration::days(2)), "closed: never breached");
        assert_eq!(
            f.close("agent:b", ok, &settings(), now),
            Err(FeedbackError::FollowUpClosed)
        );
        assert_eq!(f.closed_by.as_deref(), Some("agent:a"));
    }
}
