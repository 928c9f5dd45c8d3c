//! A service order: an approved repair at a service centre (the store's
//! workshop or an authorised partner), from the product's arrival to its
//! return. Out of warranty, work waits for the customer to accept a quote.
//!
//! ```text
//! CREATED -> RECEIVED -> DIAGNOSED -> (QUOTED -> QUOTE_ACCEPTED | QUOTE_DECLINED)
//! DIAGNOSED | QUOTE_ACCEPTED -> REPAIRED | UNREPAIRABLE
//! REPAIRED | UNREPAIRABLE | QUOTE_DECLINED -> SHIPPED_BACK
//! ```

use aftercare_kernel::{DateTime, Money, Utc, named_enum};

use super::{ClaimId, ServiceOrderId, WarrantyError};

named_enum!(
    ServiceOrderStatus {
        Created = "created",
        Received = "received",
        Diagnosed = "diagnosed",
        Quoted = "quoted",
        QuoteAccepted = "quote_accepted",
        QuoteDeclined = "quote_declined",
        Repaired = "repaired",
        Unrepairable = "unrepairable",
        ShippedBack = "shipped_back",
    }
);

named_enum!(
    CentreKind {
        Internal = "internal",
        Partner = "partner",
    }
);

/// A step of a service order, with what it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceStep {
    Receive,
    Diagnose {
        diagnosis: String,
        parts: String,
        labour_minutes: i32,
    },
    Quote {
        amount: Money,
    },
    AnswerQuote {
        accept: bool,
    },
    Repaired {
        notes: String,
    },
    Unrepairable {
        notes: String,
    },
    ShipBack {
        carrier: String,
        tracking_number: String,
    },
}

impl ServiceStep {
    pub fn name(&self) -> &'static str {
        match self {
            ServiceStep::Receive => "receive",
            ServiceStep::Diagnose { .. } => "diagnose",
            ServiceStep::Quote { .. } => "quote",
            ServiceStep::AnswerQuote { .. } => "answer the quote of",
            ServiceStep::Repaired { .. } => "record the repair of",
            ServiceStep::Unrepairable { .. } => "record as unrepairable",
            ServiceStep::ShipBack { .. } => "ship back",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceOrder {
    pub service_order_id: ServiceOrderId,
    pub claim_id: ClaimId,
    pub centre_id: String,
    pub status: ServiceOrderStatus,
    /// Out of warranty: work waits for an accepted quote.
    pub paid: bool,
    pub inbound_tracking: String,
    pub diagnosis: String,
    pub parts: String,
    pub labour_minutes: i32,
    pub quote: Option<Money>,
    pub result_notes: String,
    /// Set by the repair step: repaired (`true`) or unrepairable.
    pub repaired: Option<bool>,
    pub outbound_carrier: String,
    pub outbound_tracking: String,
    pub created_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub shipped_back_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ServiceOrder {
    /// Takes `step` at `now`; the status before.
    pub fn apply(&mut self, step: ServiceStep, now: DateTime<Utc>) -> Result<ServiceOrderStatus, WarrantyError> {
        use ServiceOrderStatus as S;
        let refuse = |status| WarrantyError::ServiceStepNotAllowed {
            status,
            step: step.name(),
        };
        let next = match (&step, self.status) {
            (ServiceStep::Receive, S::Created) => S::Received,
            (ServiceStep::Diagnose { .. }, S::Received) => S::Diagnosed,
            (ServiceStep::Quote { .. }, S::Diagnosed) if self.paid => S::Quoted,
            (ServiceStep::AnswerQuote { accept: true }, S::Quoted) => S::QuoteAccepted,
            (ServiceStep::AnswerQuote { accept: false }, S::Quoted) => S::QuoteDeclined,
            (ServiceStep::Repaired { .. } | ServiceStep::Unrepairable { .. }, S::Diagnosed) if self.paid => {
                return Err(WarrantyError::QuoteRequired);
            }
            (ServiceStep::Repaired { .. }, S::Diagnosed | S::QuoteAccepted) => S::Repaired,
            (ServiceStep::Unrepairable { .. }, S::Diagnosed | S::QuoteAccepted) => S::Unrepairable,
            (ServiceStep::ShipBack { .. }, S::Repaired | S::Unrepairable | S::QuoteDeclined) => S::ShippedBack,
            (_, status) => return Err(refuse(status)),
        };
        match step {
            ServiceStep::Receive => self.received_at = Some(now),
            ServiceStep::Diagnose {
                diagnosis,
                parts,
                labour_minutes,
            } => {
                self.diagnosis = diagnosis;
                self.parts = parts;
                self.labour_minutes = labour_minutes;
            }
            ServiceStep::Quote { amount } => self.quote = Some(amount),
            ServiceStep::AnswerQuote { .. } => {}
            ServiceStep::Repaired { notes } => {
                self.result_notes = notes;
                self.repaired = Some(true);
            }
            ServiceStep::Unrepairable { notes } => {
                self.result_notes = notes;
                self.repaired = Some(false);
            }
            ServiceStep::ShipBack {
                carrier,
                tracking_number,
            } => {
                self.outbound_carrier = carrier;
                self.outbound_tracking = tracking_number;
                self.shipped_back_at = Some(now);
            }
        }
        let from = self.status;
        self.status = next;
        self.updated_at = now;
        Ok(from)
    }

    /// Whole days the product spent in service (arrival to shipping
    /// back, a started day counting whole), once shipped back.
    pub fn days_in_service(&self) -> Option<i64> {
        let (from, to) = (self.received_at?, self.shipped_back_at?);
        let secs = (to - from).num_seconds().max(0);
        Some((secs + 86_399) / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::{Currency, Duration};

    use super::*;

    fn order(paid: bool) -> ServiceOrder {
        let t = DateTime::UNIX_EPOCH;
        ServiceOrder {
            service_order_id: ServiceOrderId::new(),
            claim_id: ClaimId::new(),
            centre_id: "centre-1".into(),
            status: ServiceOrderStatus::Created,
            paid,
            inbound_tracking: String::new(),
            diagnosis: String::new(),
            parts: String::new(),
            labour_minutes: 0,
            quote: None,
            result_notes: String::new(),
            repaired: None,
            outbound_carrier: String::new(),
            outbound_tracking: String::new(),
            created_at: t,
            received_at: None,
            shipped_back_at: None,
            updated_at: t,
        }
    }

    fn diagnose() -> ServiceStep {
        ServiceStep::Diagnose {
            diagnosis: "heating element".into(),
            parts: "element".into(),
            labour_minutes: 30,
        }
    }

    #[test]
    fn a_covered_repair_goes_straight_to_work_and_counts_its_days() {
        let t = DateTime::UNIX_EPOCH;
        let mut o = order(false);
        o.apply(ServiceStep::Receive, t).unwrap();
        o.apply(diagnose(), t).unwrap();
        let eur = Money::parse(Currency::from_code("EUR").unwrap(), "10").unwrap();
        assert!(
            o.apply(ServiceStep::Quote { amount: eur }, t).is_err(),
            "no quote under warranty"
        );
        o.apply(ServiceStep::Repaired { notes: "ok".into() }, t).unwrap();
        o.apply(
            ServiceStep::ShipBack {
                carrier: "c".into(),
                tracking_number: "t".into(),
            },
            t + Duration::hours(49),
        )
        .unwrap();
        assert_eq!(o.days_in_service(), Some(3));
    }

    #[test]
    fn out_of_warranty_work_waits_for_an_accepted_quote() {
        let t = DateTime::UNIX_EPOCH;
        let mut o = order(true);
        o.apply(ServiceStep::Receive, t).unwrap();
        o.apply(diagnose(), t).unwrap();
        assert_eq!(
            o.apply(ServiceStep::Repaired { notes: String::new() }, t),
            Err(WarrantyError::QuoteRequired)
        );
        let eur = Money::parse(Currency::from_code("EUR").unwrap(), "49.90").unwrap();
        o.apply(ServiceStep::Quote { amount: eur }, t).unwrap();
        o.apply(ServiceStep::AnswerQuote { accept: false }, t).unwrap();
        assert!(o.apply(ServiceStep::Repaired { notes: String::new() }, t).is_err());
        o.apply(
            ServiceStep::ShipBack {
                carrier: "c".into(),
                tracking_number: "t".into(),
            },
            t,
        )
        .unwrap();
        assert_eq!(o.status, ServiceOrderStatus::ShippedBack);
    }
}
