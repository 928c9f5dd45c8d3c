//! A product registered to a customer, and whether it is covered on a day.
//!
//! Coverage is counted in the customer's days: it starts on the local day
//! of delivery (or purchase), runs the terms' months from it (calendar
//! months, clamped to a month's end; the anniversary itself is the first day
//! not covered), plus the days the product spent in repair, and covers the
//! whole of its last day in the customer's zone.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, Money, NaiveDate, Utc, named_enum};

use super::terms::{Exclusion, Remedy, Terms};
use super::{RegistrationId, WarrantyError};

named_enum!(
    RegistrationStatus {
        PendingVerification = "pending_verification",
        Active = "active",
        Rejected = "rejected",
        Replaced = "replaced",
        Refunded = "refunded",
    }
);

named_enum!(
    Source {
        Order = "order",
        Manual = "manual",
        Replacement = "replacement",
    }
);

/// A serial number as compared: its letters and digits, upper case, so
/// "sn-9 1" and "SN91" are one serial.
pub fn serial_key(serial: &str) -> String {
    serial
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Which terms, and which version of them, a registration is covered by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TermsRef {
    pub category: String,
    pub sku: String,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub registration_id: RegistrationId,
    pub customer_id: String,
    pub source: Source,
    pub status: RegistrationStatus,
    pub sku: String,
    pub category: String,
    pub product_name: String,
    pub serial_number: Option<String>,
    /// (order, line, unit) of an order registration.
    pub order_line: Option<(String, String, i32)>,
    pub purchased_at: DateTime<Utc>,
    pub proof_of_purchase_ref: Option<String>,
    pub coverage_starts_at: DateTime<Utc>,
    pub terms: TermsRef,
    /// The terms' months, fixed when registered.
    pub duration_months: i32,
    /// Months extended-warranty plans add after them.
    pub extended_months: i32,
    pub time_zone: Tz,
    pub repair_extension_days: i32,
    pub verification_note: String,
    /// What one unit cost, when known: the most paid back on it.
    pub unit_price: Option<Money>,
    /// The unit a replacement took over from.
    pub replaces: Option<RegistrationId>,
    pub created_at: DateTime<Utc>,
}

named_enum!(
    /// Why a product is or is not covered.
    CoverageReason {
        Covered = "covered",
        Expired = "expired",
        NotRegistered = "not_registered",
        PendingVerification = "pending_verification",
        Excluded = "excluded",
        Rejected = "rejected",
        NotStarted = "not_started",
        Replaced = "replaced",
        Refunded = "refunded",
    }
);

/// A coverage answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub reason: CoverageReason,
    pub registration_id: Option<RegistrationId>,
    pub covered_through: Option<NaiveDate>,
    /// What the customer may choose now; empty when not covered.
    pub remedies: Vec<Remedy>,
    pub covers_parts: bool,
    pub covers_labour: bool,
    pub covers_shipping: bool,
}

impl Coverage {
    pub fn covered(&self) -> bool {
        self.reason == CoverageReason::Covered
    }

    pub fn not_registered() -> Coverage {
        Coverage {
            reason: CoverageReason::NotRegistered,
            registration_id: None,
            covered_through: None,
            remedies: Vec::new(),
            covers_parts: false,
            covers_labour: false,
            covers_shipping: false,
        }
    }
}

impl Registration {
    /// The last covered day in the customer's zone.
    pub fn covered_through(&self) -> Result<NaiveDate, WarrantyError> {
        let start = zone::local_date(self.coverage_starts_at, self.time_zone);
        let months = u32::try_from(self.duration_months + self.extended_months).unwrap_or(0);
        let days = u64::try_from(self.repair_extension_days).unwrap_or(0);
        // N months exactly: the day before the N-month anniversary is the
        // last (15 January + 24 months covers through 14 January).
        zone::add_months(start, months)
            .and_then(|anniversary| anniversary.pred_opt())
            .and_then(|end| zone::add_days(end, days))
            .ok_or_else(|| {
                WarrantyError::Corrupt(format!(
                    "registration {} ends beyond the calendar",
                    self.registration_id
                ))
            })
    }

    /// Whether it is covered at `at` under `terms` (the version it was
    /// registered under), for a fault of `cause` when known.
    pub fn coverage(
        &self,
        terms: &Terms,
        at: DateTime<Utc>,
        cause: Option<Exclusion>,
    ) -> Result<Coverage, WarrantyError> {
        let through = self.covered_through()?;
        let day = zone::local_date(at, self.time_zone);
        let reason = match self.status {
            RegistrationStatus::Rejected => CoverageReason::Rejected,
            RegistrationStatus::Replaced => CoverageReason::Replaced,
            RegistrationStatus::Refunded => CoverageReason::Refunded,
            RegistrationStatus::PendingVerification => CoverageReason::PendingVerification,
            RegistrationStatus::Active if day < zone::local_date(self.coverage_starts_at, self.time_zone) => {
                CoverageReason::NotStarted
            }
            RegistrationStatus::Active if day > through => CoverageReason::Expired,
            RegistrationStatus::Active if cause.is_some_and(|c| terms.excludes(c)) => CoverageReason::Excluded,
            RegistrationStatus::Active => CoverageReason::Covered,
        };
        let covered = reason == CoverageReason::Covered;
        Ok(Coverage {
            reason,
            registration_id: Some(self.registration_id),
            covered_through: Some(through),
            remedies: if covered { terms.remedies.clone() } else { Vec::new() },
            covers_parts: covered && terms.covers_parts,
            covers_labour: covered && terms.covers_labour,
            covers_shipping: covered && terms.covers_shipping,
        })
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Duration;
    use aftercare_kernel::TimeZone;

    use super::*;
    use crate::domain::terms::tests::terms;

    fn registration(start: DateTime<Utc>, zone_name: &str) -> Registration {
        Registration {
            registration_id: RegistrationId::new(),
            customer_id: "c-1".into(),
            source: Source::Order,
            status: RegistrationStatus::Active,
            sku: "K-1".into(),
            category: "kitchen".into(),
            product_name: "Kettle".into(),
            serial_number: None,
            order_line: Some(("o-1".into(), "L1".into(), 1)),
            purchased_at: start,
            proof_of_purchase_ref: None,
            coverage_starts_at: start,
            terms: TermsRef {
                category: String::new(),
                sku: String::new(),
                version: 1,
            },
            duration_months: 24,
            extended_months: 0,
            time_zone: zone::parse(zone_name).unwrap(),
            repair_extension_days: 0,
            verification_note: String::new(),
            unit_price: None,
            replaces: None,
            created_at: start,
        }
    }

    #[test]
    fn covered_through_the_whole_last_local_day_and_not_a_moment_after() {
        // Delivered 15 January 2026, 10:00 in Istanbul (07:00 UTC).
        let start = Utc.with_ymd_and_hms(2026, 1, 15, 7, 0, 0).unwrap();
        let r = registration(start, "Europe/Istanbul");
        let t = terms();
        assert_eq!(r.covered_through().unwrap(), "2028-01-14".parse().unwrap());
        // 23:59 on 14 January 2028 in Istanbul is 20:59 UTC: covered.
        let last = Utc.with_ymd_and_hms(2028, 1, 14, 20, 59, 59).unwrap();
        assert_eq!(r.coverage(&t, last, None).unwrap().reason, CoverageReason::Covered);
        // 00:00 on the 15th in Istanbul is still the 14th in UTC: expired.
        let after = Utc.with_ymd_and_hms(2028, 1, 14, 21, 0, 0).unwrap();
        assert_eq!(r.coverage(&t, after, None).unwrap().reason, CoverageReason::Expired);
        assert!(r.coverage(&t, after, None).unwrap().remedies.is_empty());
        // Before delivery's local day: not started.
        let before = start - Duration::days(1);
        assert_eq!(r.coverage(&t, before, None).unwrap().reason, CoverageReason::NotStarted);
    }

    #[test]
    fn serials_compare_by_letters_and_digits() {
        assert_eq!(serial_key(" sn-9 1/a "), "SN91A");
        assert_eq!(serial_key("---"), "");
    }

    #[test]
    fn repair_days_extend_and_statuses_and_exclusions_answer_first() {
        let start = Utc.with_ymd_and_hms(2026, 8, 31, 12, 0, 0).unwrap();
        let mut r = registration(start, "America/New_York");
        r.duration_months = 6;
        assert_eq!(r.covered_through().unwrap(), "2027-02-27".parse().unwrap());
        r.repair_extension_days = 10;
        assert_eq!(r.covered_through().unwrap(), "2027-03-09".parse().unwrap());
        let t = terms();
        let mid = start + Duration::days(30);
        let excluded = r.coverage(&t, mid, Some(Exclusion::Liquid)).unwrap();
        assert_eq!(excluded.reason, CoverageReason::Excluded);
        let fine = r.coverage(&t, mid, Some(Exclusion::Misuse)).unwrap();
        assert_eq!((fine.reason, fine.remedies.len()), (CoverageReason::Covered, 4));
        r.status = RegistrationStatus::PendingVerification;
        assert_eq!(
            r.coverage(&t, mid, None).unwrap().reason,
            CoverageReason::PendingVerification
        );
        r.status = RegistrationStatus::Rejected;
        assert_eq!(r.coverage(&t, mid, None).unwrap().reason, CoverageReason::Rejected);
    }
}
