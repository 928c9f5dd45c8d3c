//! The admin's settings: how often a customer may be asked, what counts as
//! unhappy, the follow-up's target, the goodwill a follow-up may grant and
//! how long a survey takes answers.

use aftercare_kernel::{DateTime, Utc, Violations};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// At most one survey per customer in this many days; 0: no limit.
    pub min_days_between_surveys: i32,
    /// CSAT at or under it is unhappy; 0: never.
    pub low_csat: i32,
    /// NPS at or under it is unhappy; -1: never.
    pub low_nps: i32,
    pub follow_up_hours: i32,
    pub max_goodwill_points: i64,
    pub answer_days: i32,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Settings {
    pub fn check(&self, v: &mut Violations) {
        let mut range = |field: &str, value: i64, low: i64, high: i64| {
            if !(low..=high).contains(&value) {
                v.add(field, format!("must be {low} to {high}"));
            }
        };
        range(
            "settings.min_days_between_surveys",
            self.min_days_between_surveys.into(),
            0,
            365,
        );
        range("settings.low_csat", self.low_csat.into(), 0, 5);
        range("settings.low_nps", self.low_nps.into(), -1, 10);
        range("settings.follow_up_hours", self.follow_up_hours.into(), 1, 720);
        range("settings.max_goodwill_points", self.max_goodwill_points, 0, 1_000_000);
        range("settings.answer_days", self.answer_days.into(), 1, 90);
    }

    /// Whether an answer calls for a follow-up.
    pub fn is_unhappy(&self, csat: i32, nps: Option<i32>) -> bool {
        csat <= self.low_csat || nps.is_some_and(|n| n <= self.low_nps)
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn unhappy_is_either_score_at_or_under_its_threshold() {
        let s = settings();
        assert!(s.is_unhappy(2, None));
        assert!(s.is_unhappy(5, Some(6)));
        assert!(!s.is_unhappy(3, None));
        assert!(!s.is_unhappy(3, Some(7)));
        let never = Settings {
            low_csat: 0,
            low_nps: -1,
            ..settings()
        };
        assert!(!never.is_unhappy(1, Some(0)));
    }

    #[test]
    fn out_of_range_settings_are_named() {
        let mut v = Violations::new();
        Settings {
            low_csat: 6,
            follow_up_hours: 0,
            ..settings()
        }
        .check(&mut v);
        let fields: Vec<String> = v.finish().unwrap_err().0.into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["settings.low_csat", "settings.follow_up_hours"]);
    }
}
