//! Repeat-failure rights (Turkish consumer law, as the terms' rule): a
//! product that keeps failing, or whose repair took too long, entitles the
//! customer to a replacement or a refund instead of another repair.

use aftercare_kernel::{DateTime, Months, Utc, zone};

use super::terms::{Remedy, RepeatFailureRule};

/// A fault the product had before: its category and when it was filed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastFault {
    pub fault_category: String,
    pub filed_at: DateTime<Utc>,
}

/// Why a customer is entitled to more than a repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The same fault more than `same_fault_max` times within the window.
    SameFault,
    /// More than `different_faults_max` different faults within the window.
    DifferentFaults,
    /// More than `total_faults_max` faults over the whole warranty.
    TotalFaults,
    /// A repair took longer than the terms' maximum repair time.
    RepairTooLong,
    /// The product could not be repaired.
    Unrepairable,
}

impl Trigger {
    pub fn as_str(&self) -> &'static str {
        match self {
            Trigger::SameFault => "same_fault",
            Trigger::DifferentFaults => "different_faults",
            Trigger::TotalFaults => "total_faults",
            Trigger::RepairTooLong => "repair_too_long",
            Trigger::Unrepairable => "unrepairable",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        [
            Trigger::SameFault,
            Trigger::DifferentFaults,
            Trigger::TotalFaults,
            Trigger::RepairTooLong,
            Trigger::Unrepairable,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// What the customer is entitled to instead of another repair, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub trigger: Trigger,
    pub remedies: Vec<Remedy>,
}

/// Fault categories compare without case (any script's) or surrounding
/// blanks.
fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// Whether any warranty repair (arrival to shipping back, in `tz`) took
/// more than `max_working_days` working days of `days`.
pub fn repair_overran(
    repairs: &[(DateTime<Utc>, DateTime<Utc>)],
    days: &zone::WorkingDays,
    tz: zone::Tz,
    max_working_days: i32,
) -> bool {
    let local = |t| zone::local_date(t, tz);
    repairs
        .iter()
        .any(|(from, to)| i64::from(days.between(local(*from), local(*to))) > i64::from(max_working_days))
}

/// Whether a claim for `fault` filed at `now` entitles the customer to a
/// replacement or refund, given the product's earlier faults (each a claim
/// accepted for repair) and whether a repair of it ever took too long.
pub fn entitlement(
    rule: &RepeatFailureRule,
    past: &[PastFault],
    repair_overran: bool,
    fault: &str,
    now: DateTime<Utc>,
) -> Option<Entitlement> {
    let window_start = now
        .checked_sub_months(Months::new(rule.window_months.unsigned_abs()))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let recent: Vec<&PastFault> = past.iter().filter(|p| p.filed_at > window_start).collect();
    let same_fault = 1 + recent.iter().filter(|p| same(&p.fault_category, fault)).count();
    let mut kinds: Vec<String> = recent.iter().map(|p| p.fault_category.trim().to_lowercase()).collect();
    kinds.push(fault.trim().to_lowercase());
    kinds.sort();
    kinds.dedup();
    let total = 1 + past.len();
    let over = |n: usize, max: i32| n > usize::try_from(max).unwrap_or(usize::MAX);
    let trigger = if over(same_fault, rule.same_fault_max) {
        Trigger::SameFault
    } else if over(kinds.len(), rule.different_faults_max) {
        Trigger::DifferentFaults
    } else if over(total, rule.total_faults_max) {
        Trigger::TotalFaults
    } else if repair_overran {
        Trigger::RepairTooLong
    } else {
        return None;
    };
    Some(Entitlement::to(trigger))
}

impl Entitlement {
    /// A replacement or a refund, for `trigger`.
    pub fn to(trigger: Trigger) -> Entitlement {
        Entitlement {
            trigger,
            remedies: vec![Remedy::Replacement, Remedy::Refund],
        }
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Duration;

    use super::*;

    fn fault(category: &str, days_ago: i64, now: DateTime<Utc>) -> PastFault {
        PastFault {
            fault_category: category.into(),
            filed_at: now - Duration::days(days_ago),
        }
    }

    #[test]
    fn faults_compare_without_case_in_any_script() {
        let now = DateTime::UNIX_EPOCH + Duration::days(5000);
        let twice = [fault("ÜSTÜ ÇÖKÜK", 10, now), fault("üstü çökük", 20, now)];
        let rule = RepeatFailureRule::default();
        assert_eq!(
            entitlement(&rule, &twice, false, " Üstü Çökük ", now).map(|e| e.trigger),
            Some(Trigger::SameFault)
        );
    }

    #[test]
    fn each_trigger_fires_past_its_threshold_and_not_at_it() {
        let rule = RepeatFailureRule::default();
        let now = DateTime::UNIX_EPOCH + Duration::days(5000);
        // Same fault: two before are the third time now (more than twice).
        let once = [fault("No heat", 10, now)];
        assert_eq!(entitlement(&rule, &once, false, "no heat", now), None);
        let twice = [fault("No heat", 10, now), fault(" no heat ", 100, now)];
        assert_eq!(
            entitlement(&rule, &twice, false, "NO HEAT", now).map(|e| e.trigger),
            Some(Trigger::SameFault)
        );
        // Outside the 12-month window they do not count as the same fault.
        let old = [fault("No heat", 400, now), fault("No heat", 500, now)];
        assert_eq!(entitlement(&rule, &old, false, "no heat", now), None);
        // Five different faults within the window: more than four.
        let four: Vec<PastFault> = ["a", "b", "c", "d"].iter().map(|c| fault(c, 30, now)).collect();
        assert_eq!(
            entitlement(&rule, &four, false, "e", now).map(|e| e.trigger),
            Some(Trigger::DifferentFaults)
        );
        assert_eq!(entitlement(&rule, &four[..3], false, "e", now), None);
        // Seven faults over the warranty: more than six.
        let six: Vec<PastFault> = (0..6).map(|i| fault(&format!("f{i}"), 400 + i * 30, now)).collect();
        assert_eq!(
            entitlement(&rule, &six, false, "g", now).map(|e| e.trigger),
            Some(Trigger::TotalFaults)
        );
        assert_eq!(entitlement(&rule, &six[..5], false, "g", now), None);
        // A repair that took too long.
        let e = entitlement(&rule, &[], true, "x", now).unwrap();
        assert_eq!(
            (e.trigger, e.remedies),
            (Trigger::RepairTooLong, vec![Remedy::Replacement, Remedy::Refund])
        );
    }
}
