//! A survey about one resolved case: made once per case, sent at the first
//! moment the customer may be contacted, or held back (opted out, or asked
//! within the settings' interval); answered once, and changed for
//! [`CHANGE_DAYS`] after.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::contact_hours::ContactHours;
use aftercare_kernel::zone::Tz;
use aftercare_kernel::{DateTime, Duration, Utc};

use super::{FeedbackError, Settings, SurveyId};

/// Days an answer may be changed after it was first given.
pub const CHANGE_DAYS: i64 = 7;
/// Characters of a comment.
pub const MAX_COMMENT: usize = 2000;

aftercare_kernel::named_enum!(CaseType {
    Return = "return",
    Claim = "claim",
    Maintenance = "maintenance",
});

aftercare_kernel::named_enum!(SurveyStatus {
    Scheduled = "scheduled",
    Sent = "sent",
    Answered = "answered",
    Suppressed = "suppressed",
});

aftercare_kernel::named_enum!(
    /// Why a survey was never sent.
    Suppressed {
        OptedOut = "OPTED_OUT",
        RecentSurvey = "RECENT_SURVEY",
    }
);

/// A resolved case, as its service's event told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub customer_id: String,
    pub case_type: CaseType,
    pub case_id: String,
    /// A return reason, a claim's fault category; may be empty.
    pub reason: String,
    /// Who handled it, when known.
    pub agent: String,
}

/// How a customer may be contacted, as maintenance last announced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub time_zone: Option<Tz>,
    pub hours: ContactHours,
    pub channels: Vec<String>,
    pub opted_out: bool,
    pub locale: String,
}

impl Contact {
    /// A customer who never saved preferences: maintenance's defaults.
    pub fn defaults() -> Contact {
        Contact {
            time_zone: None,
            hours: ContactHours::default_hours(),
            channels: vec!["push".into(), "email".into()],
            opted_out: false,
            locale: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub csat: i32,
    pub nps: Option<i32>,
    pub comment: String,
    pub comment_deleted: bool,
    pub channel: Option<Channel>,
    pub answered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An answer as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Given {
    pub csat: i32,
    pub nps: Option<i32>,
    pub comment: String,
    pub channel: Option<Channel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub survey_id: SurveyId,
    pub case: Case,
    pub status: SurveyStatus,
    pub suppressed: Option<Suppressed>,
    pub created_at: DateTime<Utc>,
    pub send_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub answer: Option<Answer>,
}

/// What becomes of a scheduled survey whose moment came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sending {
    /// Sent now.
    Now,
    /// Not now (the customer's hours changed, or the job ran late into
    /// quiet hours): moved to their next allowed moment.
    Later,
    /// Never: the customer opted out since.
    Never,
}

/// Whether an answer was the survey's first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    First,
    Changed,
}

impl Survey {
    /// A new survey about `case`: to be sent at the first moment `contact`
    /// allows, or held back when the customer opted out or was asked on or
    /// after `last_survey_at` within the settings' interval.
    pub fn new(
        case: Case,
        contact: &Contact,
        last_survey_at: Option<DateTime<Utc>>,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Survey {
        let recent = last_survey_at.is_some_and(|last| {
            settings.min_days_between_surveys > 0
                && now < last + Duration::days(settings.min_days_between_surveys.into())
        });
        let suppressed = if contact.opted_out {
            Some(Suppressed::OptedOut)
        } else if recent {
            Some(Suppressed::RecentSurvey)
        } else {
            None
        };
        let send_at = suppressed
            .is_none()
            .then(|| contact.hours.next_allowed(now, contact.time_zone.unwrap_or(Tz::UTC)));
        // Answers are taken for the settings' days from when it goes out.
        let expires_at = send_at.unwrap_or(now) + Duration::days(settings.answer_days.into());
        Survey {
            survey_id: SurveyId::new(),
            case,
            status: if suppressed.is_some() {
                SurveyStatus::Suppressed
            } else {
                SurveyStatus::Scheduled
            },
            suppressed,
            created_at: now,
            send_at,
            sent_at: None,
            expires_at,
            answer: None,
        }
    }

    /// Sent now: its SurveyRequested is written in the same transaction.
    pub fn sent(&mut self, now: DateTime<Utc>) {
        self.status = SurveyStatus::Sent;
        self.sent_at = Some(now);
    }

    /// A scheduled survey whose moment came, as `contact` stands now.
    pub fn send(&mut self, contact: &Contact, now: DateTime<Utc>) -> Sending {
        if contact.opted_out {
            self.status = SurveyStatus::Suppressed;
            self.suppressed = Some(Suppressed::OptedOut);
            return Sending::Never;
        }
        let allowed = contact.hours.next_allowed(now, contact.time_zone.unwrap_or(Tz::UTC));
        if allowed > now {
            self.send_at = Some(allowed);
            return Sending::Later;
        }
        self.sent(now);
        Sending::Now
    }

    /// Takes an answer: the first while the survey is open, or a change
    /// within [`CHANGE_DAYS`] of the first.
    pub fn answer(&mut self, given: Given, now: DateTime<Utc>) -> Result<Answered, FeedbackError> {
        match (self.status, &mut self.answer) {
            (SurveyStatus::Scheduled | SurveyStatus::Suppressed, _) => Err(FeedbackError::NotSent),
            (SurveyStatus::Sent, _) if now >= self.expires_at => {
                Err(FeedbackError::SurveyExpired(self.expires_at.to_rfc3339()))
            }
            (SurveyStatus::Sent, answer) => {
                *answer = Some(Answer {
                    csat: given.csat,
                    nps: given.nps,
                    comment: given.comment,
                    comment_deleted: false,
                    channel: given.channel,
                    answered_at: now,
                    updated_at: now,
                });
                self.status = SurveyStatus::Answered;
                Ok(Answered::First)
            }
            (SurveyStatus::Answered, Some(a)) => {
                // The survey's end closes changes too.
                if now >= a.answered_at + Duration::days(CHANGE_DAYS) || now >= self.expires_at {
                    return Err(FeedbackError::AnswerClosed);
                }
                a.csat = given.csat;
                a.nps = given.nps;
                // A comment deleted stays deleted unless a new one is given.
                if !given.comment.is_empty() {
                    a.comment_deleted = false;
                }
                a.comment = given.comment;
                a.channel = given.channel.or(a.channel);
                a.updated_at = now;
                Ok(Answered::Changed)
            }
            (SurveyStatus::Answered, None) => {
                Err(FeedbackError::Corrupt("an answered survey without its answer".into()))
            }
        }
    }

    /// Removes the comment for good; the scores stay.
    pub fn delete_comment(&mut self, now: DateTime<Utc>) -> bool {
        match &mut self.answer {
            Some(a) if !a.comment_deleted => {
                a.comment.clear();
                a.comment_deleted = true;
                a.updated_at = now;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::TimeZone;

    use super::*;

    fn settings() -> Settings {
        Settings {
            min_days_between_surveys: 30,
            low_csat: 2,
            low_nps: 6,
            follow_up_hours: 24,
            max_goodwill_points: 1000,
            answer_days: 30,
            updated_at: None,
        }
    }

    fn case() -> Case {
        Case {
            customer_id: "c-1".into(),
            case_type: CaseType::Return,
            case_id: "r-1".into(),
            reason: "defective".into(),
            agent: String::new(),
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
    }

    fn given(csat: i32) -> Given {
        Given {
            csat,
            nps: None,
            comment: "slow".into(),
            channel: Some(Channel::MobileApp),
        }
    }

    #[test]
    fn a_survey_waits_for_the_end_of_quiet_hours_in_the_customers_zone() {
        let contact = Contact {
            time_zone: Some(aftercare_kernel::zone::parse("Europe/Istanbul").unwrap()),
            ..Contact::defaults()
        };
        // 22:30 in Istanbul (UTC+3): quiet until 09:00 local, 06:00 UTC.
        let s = Survey::new(case(), &contact, None, &settings(), at(19, 30));
        assert_eq!(s.status, SurveyStatus::Scheduled);
        assert_eq!(s.send_at, Some(Utc.with_ymd_and_hms(2026, 3, 11, 6, 0, 0).unwrap()));
        assert_eq!(s.expires_at, s.send_at.unwrap() + Duration::days(30));
        // Inside allowed hours it goes at once.
        let s = Survey::new(case(), &contact, None, &settings(), at(9, 0));
        assert_eq!(s.send_at, Some(at(9, 0)));
    }

    #[test]
    fn opted_out_and_recently_asked_customers_are_not_asked() {
        let opted_out = Contact {
            opted_out: true,
            ..Contact::defaults()
        };
        let s = Survey::new(case(), &opted_out, None, &settings(), at(12, 0));
        assert_eq!(
            (s.status, s.suppressed, s.send_at),
            (SurveyStatus::Suppressed, Some(Suppressed::OptedOut), None)
        );
        let last = at(12, 0) - Duration::days(29);
        let s = Survey::new(case(), &Contact::defaults(), Some(last), &settings(), at(12, 0));
        assert_eq!(s.suppressed, Some(Suppressed::RecentSurvey));
        // Exactly the interval later is allowed; so is any time with no limit.
        let last = at(12, 0) - Duration::days(30);
        let s = Survey::new(case(), &Contact::defaults(), Some(last), &settings(), at(12, 0));
        assert_eq!(s.status, SurveyStatus::Scheduled);
        let unlimited = Settings {
            min_days_between_surveys: 0,
            ..settings()
        };
        let s = Survey::new(case(), &Contact::defaults(), Some(at(11, 0)), &unlimited, at(12, 0));
        assert_eq!(s.status, SurveyStatus::Scheduled);
    }

    #[test]
    fn an_answer_is_taken_once_sent_and_changed_for_seven_days() {
        let mut s = Survey::new(case(), &Contact::defaults(), None, &settings(), at(12, 0));
        assert_eq!(s.answer(given(4), at(12, 1)), Err(FeedbackError::NotSent));
        s.sent(at(12, 0));
        assert_eq!(s.answer(given(4), at(12, 1)), Ok(Answered::First));
        let later = at(12, 1) + Duration::days(CHANGE_DAYS) - Duration::seconds(1);
        assert_eq!(s.answer(given(2), later), Ok(Answered::Changed));
        let answer = s.answer.clone().unwrap();
        assert_eq!(
            (answer.csat, answer.answered_at, answer.updated_at),
            (2, at(12, 1), later)
        );
        assert_eq!(
            s.answer(given(5), at(12, 1) + Duration::days(CHANGE_DAYS)),
            Err(FeedbackError::AnswerClosed)
        );
    }

    #[test]
    fn a_survey_goes_when_its_customer_may_be_contacted_as_they_stand_now() {
        let mut s = Survey::new(case(), &Contact::defaults(), None, &settings(), at(12, 0));
        // They moved to New York since: 12:00 UTC is 08:00 there (EDT).
        let moved = Contact {
            time_zone: aftercare_kernel::zone::parse("America/New_York"),
            ..Contact::defaults()
        };
        assert_eq!(s.send(&moved, at(12, 0)), Sending::Later);
        assert_eq!((s.status, s.send_at), (SurveyStatus::Scheduled, Some(at(13, 0))));
        assert_eq!(s.send(&moved, at(13, 0)), Sending::Now);
        assert_eq!((s.status, s.sent_at), (SurveyStatus::Sent, Some(at(13, 0))));
        let mut s = Survey::new(case(), &Contact::defaults(), None, &settings(), at(12, 0));
        let opted_out = Contact {
            opted_out: true,
            ..Contact::defaults()
        };
        assert_eq!(s.send(&opted_out, at(12, 0)), Sending::Never);
        assert_eq!(
            (s.status, s.suppressed),
            (SurveyStatus::Suppressed, Some(Suppressed::OptedOut))
        );
    }

    #[test]
    fn an_expired_survey_takes_no_first_answer() {
        let mut s = Survey::new(case(), &Contact::defaults(), None, &settings(), at(12, 0));
        s.sent(at(12, 0));
        let expired = s.expires_at;
        assert!(matches!(
            s.answer(given(4), expired),
            Err(FeedbackError::SurveyExpired(_))
        ));
        assert_eq!(s.status, SurveyStatus::Sent);
    }

    #[test]
    fn a_deleted_comment_is_gone_and_the_scores_stay() {
        let mut s = Survey::new(case(), &Contact::defaults(), None, &settings(), at(12, 0));
        assert!(!s.delete_comment(at(12, 0)));
        s.sent(at(12, 0));
        s.answer(given(1), at(12, 5)).unwrap();
        assert!(s.delete_comment(at(13, 0)));
        let a = s.answer.clone().unwrap();
        assert_eq!((a.csat, a.comment.as_str(), a.comment_deleted), (1, "", true));
        assert!(!s.delete_comment(at(13, 1)), "nothing left to delete");
    }
}
