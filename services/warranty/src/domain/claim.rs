//! A warranty claim and its status graph: the only way its status changes.
//!
//! ```text
//! SUBMITTED -> IN_REVIEW -> (AWAITING_CUSTOMER <-> IN_REVIEW) -> APPROVED | REJECTED
//! REJECTED  -> SUBMITTED                        (an appeal, once; another reviewer)
//! APPROVED  -> IN_SERVICE                       (a repair's service order)
//! IN_SERVICE -> APPROVED                        (not repaired: another remedy)
//! APPROVED | IN_SERVICE -> RESOLVED -> CLOSED   (the remedy carried out)
//! SUBMITTED | IN_REVIEW | AWAITING_CUSTOMER | APPROVED -> CANCELED
//! ```

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc, named_enum};

use super::registration::Coverage;
use super::repeat::Entitlement;
use super::sla::{Clocks, Sla};
use super::terms::Remedy;
use super::{ClaimId, RegistrationId, WarrantyError};

named_enum!(
    ClaimStatus {
        Submitted = "submitted",
        InReview = "in_review",
        AwaitingCustomer = "awaiting_customer",
        Approved = "approved",
        Rejected = "rejected",
        Canceled = "canceled",
        InService = "in_service",
        Resolved = "resolved",
        Closed = "closed",
    }
);

named_enum!(
    RejectionReason {
        Expired = "expired",
        ExcludedFault = "excluded_fault",
        NoFaultFound = "no_fault_found",
    }
);

/// A step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimStep {
    Review,
    RequestInfo,
    Answer,
    Approve,
    Reject,
    Appeal,
    Cancel,
    StartService,
    Resolve,
    Close,
}

impl ClaimStep {
    pub fn verb(&self) -> &'static str {
        match self {
            ClaimStep::Review => "review",
            ClaimStep::RequestInfo => "ask about",
            ClaimStep::Answer => "answer",
            ClaimStep::Approve => "approve",
            ClaimStep::Reject => "reject",
            ClaimStep::Appeal => "appeal",
            ClaimStep::Cancel => "cancel",
            ClaimStep::StartService => "send to service",
            ClaimStep::Resolve => "resolve",
            ClaimStep::Close => "close",
        }
    }
}

/// The status `step` leads to from `status`, if the graph has that edge.
pub fn next(status: ClaimStatus, step: ClaimStep) -> Option<ClaimStatus> {
    use ClaimStatus::*;
    use ClaimStep as S;
    match (status, step) {
        (Submitted, S::Review) => Some(InReview),
        (InReview, S::RequestInfo) => Some(AwaitingCustomer),
        (AwaitingCustomer, S::Answer) => Some(InReview),
        (InReview, S::Approve) => Some(Approved),
        // A repair that could not be done: another remedy.
        (InService, S::Approve) => Some(Approved),
        (InReview, S::Reject) => Some(Rejected),
        (Rejected, S::Appeal) => Some(Submitted),
        (Submitted | InReview | AwaitingCustomer | Approved, S::Cancel) => Some(Canceled),
        (Approved, S::StartService) => Some(InService),
        (Approved | InService, S::Resolve) => Some(Resolved),
        (Resolved, S::Close) => Some(Closed),
        _ => None,
    }
}

/// An entry of a claim's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `Some` for a status change.
    pub status: Option<ClaimStatus>,
    pub text: String,
    pub actor_role: String,
    pub channel: Option<Channel>,
    pub customer_visible: bool,
}

/// Messages a claim's timeline takes at most from the customer and from
/// staff (apart, so neither can fill it for the other), and entries of any
/// kind in all: a claim stays a bounded read.
pub const MAX_CUSTOMER_MESSAGES: usize = 100;
pub const MAX_STAFF_MESSAGES: usize = 200;
pub const MAX_ENTRIES: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub claim_id: ClaimId,
    pub registration_id: RegistrationId,
    pub customer_id: String,
    pub status: ClaimStatus,
    pub fault_category: String,
    pub description: String,
    pub photo_urls: Vec<String>,
    pub channel: Channel,
    pub coverage_at_filing: Coverage,
    pub remedy: Option<Remedy>,
    /// An out-of-warranty repair the customer pays for (after a quote).
    pub paid_repair: bool,
    /// What the product's failures entitle the customer to instead of a
    /// repair, and why.
    pub entitlement: Option<Entitlement>,
    pub rejection_reason: Option<RejectionReason>,
    pub appealed: bool,
    /// The agent reviewing it.
    pub reviewer: Option<String>,
    /// The agent who rejected it, whom an appeal's review may not be.
    pub rejected_by: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sla: Sla,
}

/// What a step did to the claim's clocks: the pause it closed, if any.
pub type ClosedPause = Option<(DateTime<Utc>, DateTime<Utc>)>;

impl Claim {
    /// Takes `step` by `who` (an agent's subject for staff steps); the
    /// status before.
    pub fn apply(&mut self, step: ClaimStep, who: &str, now: DateTime<Utc>) -> Result<ClaimStatus, WarrantyError> {
        let to = next(self.status, step).ok_or(WarrantyError::StepNotAllowed {
            status: self.status,
            step,
        })?;
        let staff_step = matches!(
            step,
            ClaimStep::Review | ClaimStep::RequestInfo | ClaimStep::Approve | ClaimStep::Reject
        );
        // An appealed claim is decided by another agent than the one who
        // rejected it, at every step.
        if staff_step && self.appealed && self.rejected_by.as_deref() == Some(who) {
            return Err(WarrantyError::SameReviewer);
        }
        match step {
            ClaimStep::Appeal if self.appealed => return Err(WarrantyError::AppealUsed),
            ClaimStep::Appeal => {
                self.appealed = true;
                self.rejection_reason = None;
                self.reviewer = None;
            }
            ClaimStep::Review => self.reviewer = Some(who.to_owned()),
            ClaimStep::Reject => self.rejected_by = Some(who.to_owned()),
            _ => {}
        }
        let from = self.status;
        self.status = to;
        self.updated_at = now;
        Ok(from)
    }

    /// Moves the clocks for a step just taken: a question stops them and
    /// counts as the first response, an answer restarts them, a decision is
    /// a response, a rejection or cancellation resolves the claim, an
    /// appeal opens it again. The pause an answer closed.
    pub fn clock(&mut self, step: ClaimStep, now: DateTime<Utc>, clocks: &Clocks) -> ClosedPause {
        match step {
            ClaimStep::RequestInfo => {
                self.sla.responded(now);
                self.sla.pause(now);
            }
            ClaimStep::Answer => return self.sla.resume(now, clocks),
            ClaimStep::Approve => self.sla.responded(now),
            ClaimStep::Reject => {
                self.sla.responded(now);
                self.sla.resolved(now);
                // Time rejected does not count if the customer appeals.
                self.sla.pause(now);
            }
            ClaimStep::Cancel => {
                // Waiting for the customer ends with the claim.
                let closed = self.sla.resume(now, clocks);
                self.sla.resolved(now);
                return closed;
            }
            ClaimStep::Appeal => {
                self.sla.reopened();
                return self.sla.resume(now, clocks);
            }
            ClaimStep::Resolve => self.sla.resolved(now),
            ClaimStep::Review | ClaimStep::StartService | ClaimStep::Close => {}
        }
        None
    }

    /// Checks a remedy to approve or carry out: one the coverage offered
    /// when filed or the customer is entitled to; out of coverage, only a
    /// repair the customer pays for. A repair when the customer is entitled
    /// to more needs an agent's stated override.
    pub fn check_remedy(&self, remedy: Remedy, paid: bool, override_reason: Option<&str>) -> Result<(), WarrantyError> {
        let cov = &self.coverage_at_filing;
        if !cov.covered() {
            return if paid && remedy == Remedy::Repair {
                Ok(())
            } else {
                Err(WarrantyError::NotCovered(cov.reason))
            };
        }
        let entitled = self.entitlement.as_ref().is_some_and(|e| e.remedies.contains(&remedy));
        if !cov.remedies.contains(&remedy) && !entitled {
            return Err(WarrantyError::RemedyNotOffered(remedy));
        }
        if let Some(e) = &self.entitlement
            && remedy == Remedy::Repair
            && override_reason.is_none_or(str::is_empty)
        {
            return Err(WarrantyError::RepairNotAllowed(e.trigger));
        }
        Ok(())
    }

    /// Whether the timeline takes another message from the customer (or
    /// from staff), and another entry at all.
    pub fn room_for(&self, customer: bool) -> Result<(), WarrantyError> {
        let messages = self
            .timeline
            .iter()
            .filter(|e| e.status.is_none() && (e.actor_role == "customer") == customer)
            .count();
        let limit = if customer {
            MAX_CUSTOMER_MESSAGES
        } else {
            MAX_STAFF_MESSAGES
        };
        if messages >= limit || self.timeline.len() >= MAX_ENTRIES {
            return Err(WarrantyError::TimelineFull);
        }
        Ok(())
    }

    /// One sentence for the customer: what happens next.
    pub fn next_step(&self) -> String {
        match self.status {
            ClaimStatus::Submitted => "We have your claim and will look at it within a day.".into(),
            ClaimStatus::InReview => "An agent is reviewing your claim.".into(),
            ClaimStatus::AwaitingCustomer => "We need an answer from you: see our question below.".into(),
            ClaimStatus::Approved => match self.remedy {
                Some(Remedy::Repair) => "Approved: we will arrange the repair.".into(),
                Some(Remedy::Replacement) => "Approved: we will send you a replacement.".into(),
                Some(Remedy::PriceReduction) => "Approved: we will refund part of the price.".into(),
                Some(Remedy::Refund) | None => "Approved: we will refund your purchase.".into(),
            },
            ClaimStatus::Rejected if self.appealed => "Your claim was rejected after a second review.".into(),
            ClaimStatus::Rejected => "Your claim was rejected; you may appeal once.".into(),
            ClaimStatus::Canceled => "This claim was canceled.".into(),
            ClaimStatus::InService => "Your product is with our service centre.".into(),
            ClaimStatus::Resolved => "Resolved: tell us if anything is still wrong.".into(),
            ClaimStatus::Closed => "This claim is closed.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registration::CoverageReason;
    use crate::domain::repeat::Trigger;

    fn claim() -> Claim {
        Claim {
            claim_id: ClaimId::new(),
            registration_id: RegistrationId::new(),
            customer_id: "c-1".into(),
            status: ClaimStatus::Submitted,
            fault_category: "does not heat".into(),
            description: "d".into(),
            photo_urls: vec![],
            channel: Channel::MobileApp,
            coverage_at_filing: Coverage {
                reason: CoverageReason::Covered,
                registration_id: None,
                covered_through: None,
                remedies: vec![Remedy::Repair, Remedy::Replacement],
                covers_parts: true,
                covers_labour: true,
                covers_shipping: true,
            },
            remedy: None,
            paid_repair: false,
            entitlement: None,
            rejection_reason: None,
            appealed: false,
            reviewer: None,
            rejected_by: None,
            timeline: vec![],
            filed_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
            sla: Sla::new(
                DateTime::UNIX_EPOCH,
                &Clocks::wall(),
                aftercare_kernel::Duration::zero(),
                DateTime::UNIX_EPOCH,
            ),
        }
    }

    #[test]
    fn the_graph_allows_only_its_edges() {
        let mut edges = 0;
        for &status in ClaimStatus::ALL {
            for step in [
                ClaimStep::Review,
                ClaimStep::RequestInfo,
                ClaimStep::Answer,
                ClaimStep::Approve,
                ClaimStep::Reject,
                ClaimStep::Appeal,
                ClaimStep::Cancel,
                ClaimStep::StartService,
                ClaimStep::Resolve,
                ClaimStep::Close,
            ] {
                if let Some(to) = next(status, step) {
                    edges += 1;
                    assert_ne!(to, status, "{status} {step:?}");
                    assert!(![ClaimStatus::Closed, ClaimStatus::Canceled].contains(&status));
                }
            }
        }
        assert_eq!(edges, 15);
    }

    #[test]
    fn an_appeal_is_once_and_goes_to_another_reviewer() {
        let t = DateTime::UNIX_EPOCH;
        let mut c = claim();
        c.apply(ClaimStep::Review, "agent-1", t).unwrap();
        c.apply(ClaimStep::Reject, "agent-1", t).unwrap();
        assert_eq!(c.apply(ClaimStep::Appeal, "c-1", t), Ok(ClaimStatus::Rejected));
        assert_eq!(
            c.apply(ClaimStep::Review, "agent-1", t),
            Err(WarrantyError::SameReviewer)
        );
        c.apply(ClaimStep::Review, "agent-2", t).unwrap();
        c.apply(ClaimStep::Reject, "agent-2", t).unwrap();
        assert_eq!(c.apply(ClaimStep::Appeal, "c-1", t), Err(WarrantyError::AppealUsed));
        assert!(c.next_step().contains("second review"));
    }

    #[test]
    fn only_a_covered_claim_gets_an_offered_remedy() {
        let mut c = claim();
        assert!(c.check_remedy(Remedy::Repair, false, None).is_ok());
        assert_eq!(
            c.check_remedy(Remedy::Refund, false, None),
            Err(WarrantyError::RemedyNotOffered(Remedy::Refund))
        );
        // Entitled by repeat failures: refund allowed, repair needs an override.
        c.entitlement = Some(Entitlement {
            trigger: Trigger::SameFault,
            remedies: vec![Remedy::Replacement, Remedy::Refund],
        });
        assert!(c.check_remedy(Remedy::Refund, false, None).is_ok());
        assert_eq!(
            c.check_remedy(Remedy::Repair, false, Some("")),
            Err(WarrantyError::RepairNotAllowed(Trigger::SameFault))
        );
        assert!(
            c.check_remedy(Remedy::Repair, false, Some("customer asked for it"))
                .is_ok()
        );
        c.coverage_at_filing.reason = CoverageReason::Expired;
        assert_eq!(
            c.check_remedy(Remedy::Repair, false, None),
            Err(WarrantyError::NotCovered(CoverageReason::Expired))
        );
        assert!(c.check_remedy(Remedy::Repair, true, None).is_ok(), "a paid repair");
        assert!(c.check_remedy(Remedy::Refund, true, None).is_err());
    }
}
