//! The figures of a set of answers, from their counts: response rate, CSAT
//! (share of 4 and 5), the mean CSAT, NPS (promoters minus detractors),
//! each a percent with two decimals. Counting is the store's; the
//! arithmetic is here, so it is one definition for every caller.

use crate::{Decimal, RoundingStrategy};

/// Answers counted over one group (a period, a week, an agent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Surveys that went out (answered ones included).
    pub sent: i64,
    pub answered: i64,
    /// Answers per CSAT score, 1 to 5.
    pub csat: [i64; 5],
    /// NPS answers 9-10, 7-8, 0-6.
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub response_rate: Decimal,
    pub csat_percent: Decimal,
    pub csat_average: Decimal,
    pub nps: Decimal,
    pub nps_answers: i64,
}

/// `part / whole` as a percent, two decimals (half away from zero); zero
/// for an empty whole.
pub fn percent(part: i64, whole: i64) -> Decimal {
    ratio(Decimal::from(part) * Decimal::from(100), whole)
}

fn ratio(numerator: Decimal, whole: i64) -> Decimal {
    if whole == 0 {
        return Decimal::ZERO.round_dp(2);
    }
    (numerator / Decimal::from(whole)).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl Counts {
    pub fn csat_answers(&self) -> i64 {
        self.csat.iter().sum()
    }

    pub fn figures(&self) -> Figures {
        let answers = self.csat_answers();
        let total: i64 = self.csat.iter().zip(1..).map(|(n, score)| n * score).sum();
        let nps_answers = self.promoters + self.passives + self.detractors;
        Figures {
            response_rate: percent(self.answered, self.sent),
            csat_percent: percent(self.csat[3] + self.csat[4], answers),
            csat_average: ratio(Decimal::from(total), answers),
            nps: percent(self.promoters - self.detractors, nps_answers),
            nps_answers,
        }
    }
}

/// A decimal as the contracts write figures: two decimals always.
pub fn text(d: Decimal) -> String {
    format!("{:.2}", d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_by_hand() {
        // 8 sent, 6 answered: CSAT 1,2,4,4,5,5; NPS 10, 9, 7, 3 (2 promoters,
        // 1 passive, 1 detractor).
        let c = Counts {
            sent: 8,
            answered: 6,
            csat: [1, 1, 0, 2, 2],
            promoters: 2,
            passives: 1,
            detractors: 1,
        };
        let f = c.figures();
        assert_eq!(text(f.response_rate), "75.00");
        assert_eq!(text(f.csat_percent), "66.67");
        assert_eq!(text(f.csat_average), "3.50");
        assert_eq!(text(f.nps), "25.00");
        assert_eq!(f.nps_answers, 4);
    }

    #[test]
    fn nothing_counted_is_zero_not_a_division_by_zero() {
        let f = Counts::default().figures();
        assert_eq!(
            [f.response_rate, f.csat_percent, f.csat_average, f.nps].map(text),
            ["0.00", "0.00", "0.00", "0.00"]
        );
        let all_detractors = Counts {
            detractors: 3,
            ..Counts::default()
        };
        assert_eq!(text(all_detractors.figures().nps), "-100.00");
    }
}
