//! Warranty terms: per category, with per-SKU overrides, versioned (a
//! product keeps the version it was registered under).

use aftercare_kernel::{DateTime, Utc, Violations, named_enum};

named_enum!(
    /// What a customer may ask for under warranty.
    Remedy {
        Repair = "repair",
        Replacement = "replacement",
        PriceReduction = "price_reduction",
        Refund = "refund",
    }
);

named_enum!(
    /// Causes the warranty does not cover.
    Exclusion {
        PhysicalDamage = "physical_damage",
        Liquid = "liquid",
        Misuse = "misuse",
        UnauthorisedRepair = "unauthorised_repair",
    }
);

/// When a registration qualifies for replacement or refund instead of
/// another repair (Turkish consumer law's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatFailureRule {
    pub window_months: i32,
    pub same_fault_max: i32,
    pub different_faults_max: i32,
    pub total_faults_max: i32,
}

impl Default for RepeatFailureRule {
    fn default() -> RepeatFailureRule {
        RepeatFailureRule {
            window_months: 12,
            same_fault_max: 2,
            different_faults_max: 4,
            total_faults_max: 6,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    /// "" for the default terms.
    pub category: String,
    /// "" for the category's own terms.
    pub sku: String,
    pub version: i32,
    pub duration_months: i32,
    pub covers_parts: bool,
    pub covers_labour: bool,
    pub covers_shipping: bool,
    pub exclusions: Vec<Exclusion>,
    pub remedies: Vec<Remedy>,
    pub max_repair_working_days: i32,
    pub repair_time_extends: bool,
    pub repeat_failure: RepeatFailureRule,
    /// A claim's first answer is due within this many hours.
    pub first_response_hours: i32,
    pub updated_at: DateTime<Utc>,
}

pub const MAX_DURATION_MONTHS: i32 = 600;
pub const MAX_REPAIR_WORKING_DAYS: i32 = 365;
pub const MAX_KEY_LEN: usize = 100;
pub const MAX_FIRST_RESPONSE_HOURS: i32 = 720;

impl Terms {
    /// Every field's problem, at once.
    pub fn check(&self, v: &mut Violations) {
        aftercare_kernel::validate::text(v, "terms.category", &self.category, MAX_KEY_LEN);
        aftercare_kernel::validate::text(v, "terms.sku", &self.sku, MAX_KEY_LEN);
        if !self.sku.is_empty() && self.category.is_empty() {
            v.add("terms.category", "a SKU's terms name its category");
        }
        if !(1..=MAX_DURATION_MONTHS).contains(&self.duration_months) {
            v.add("terms.duration_months", format!("must be 1 to {MAX_DURATION_MONTHS}"));
        }
        if self.remedies.is_empty() {
            v.add("terms.remedies", "at least one remedy");
        }
        if !(1..=MAX_REPAIR_WORKING_DAYS).contains(&self.max_repair_working_days) {
            v.add(
                "terms.max_repair_working_days",
                format!("must be 1 to {MAX_REPAIR_WORKING_DAYS}"),
            );
        }
        if !(1..=MAX_FIRST_RESPONSE_HOURS).contains(&self.first_response_hours) {
            v.add(
                "terms.first_response_hours",
                format!("must be 1 to {MAX_FIRST_RESPONSE_HOURS}"),
            );
        }
        let r = &self.repeat_failure;
        if !(1..=MAX_DURATION_MONTHS).contains(&r.window_months) {
            v.add("terms.repeat_failure.window_months", "must be 1 to 600");
        }
        for (field, value) in [
            ("same_fault_max", r.same_fault_max),
            ("different_faults_max", r.different_faults_max),
            ("total_faults_max", r.total_faults_max),
        ] {
            if !(1..=100).contains(&value) {
                v.add(format!("terms.repeat_failure.{field}"), "must be 1 to 100");
            }
        }
    }

    pub fn excludes(&self, cause: Exclusion) -> bool {
        self.exclusions.contains(&cause)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn terms() -> Terms {
        Terms {
            category: String::new(),
            sku: String::new(),
            version: 1,
            duration_months: 24,
            covers_parts: true,
            covers_labour: true,
            covers_shipping: true,
            exclusions: vec![Exclusion::Liquid],
            remedies: Remedy::ALL.to_vec(),
            max_repair_working_days: 20,
            repair_time_extends: true,
            repeat_failure: RepeatFailureRule::default(),
            first_response_hours: 24,
            updated_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn checks_every_field_at_once() {
        let mut t = terms();
        t.sku = "K-1".into();
        t.duration_months = 0;
        t.remedies.clear();
        t.max_repair_working_days = 366;
        t.repeat_failure.same_fault_max = 0;
        let mut v = Violations::new();
        t.check(&mut v);
        let fields: Vec<String> = v.finish().unwrap_err().0.into_iter().map(|x| x.field).collect();
        assert_eq!(
            fields,
            [
                "terms.category",
                "terms.duration_months",
                "terms.remedies",
                "terms.max_repair_working_days",
                "terms.repeat_failure.same_fault_max"
            ]
        );
        let mut ok = Violations::new();
        terms().check(&mut ok);
        assert!(ok.finish().is_ok());
    }
}
