//! A warranty claim and its status graph: the only way its status changes.
//!
//! ```text
//! SUBMITTED -> IN_REVIEW -> (AWAITING_CUSTOMER <-> IN_REVIEW) -> APPROVED | REJECTED
//! REJECTED  -> SUBMITTED                        (an appeal, once; another reviewer)
//! SUBMITTED | IN_REVIEW | AWAITING_CUSTOMER -> CANCELED
//! ```

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc, named_enum};

use super::registration::Coverage;
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
        (InReview, S::Reject) => Some(Rejected),
        (Rejected, S::Appeal) => Some(Submitted),
        (Submitted | InReview | AwaitingCustomer, S::Cancel) => Some(Canceled),
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

/// Messages a claim's timeline takes at most, so a claim stays a bounded read.
pub const MAX_MESSAGES: usize = 200;

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
    pub rejection_reason: Option<RejectionReason>,
    pub appealed: bool,
    /// The agent reviewing it.
    pub reviewer: Option<String>,
    /// The agent who rejected it, whom an appeal's review may not be.
    pub rejected_by: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Claim {
    /// Takes `step` by `who` (an agent's subject for staff steps); the
    /// status before.
    pub fn apply(&mut self, step: ClaimStep, who: &str, now: DateTime<Utc>) -> Result<ClaimStatus, WarrantyError> {
        let to = next(self.status, step).ok_or(WarrantyError::StepNotAllowed {
            status: self.status,
            step,
        })?;
        match step {
            ClaimStep::Appeal if self.appealed => return Err(WarrantyError::AppealUsed),
            ClaimStep::Appeal => self.appealed = true,
            ClaimStep::Review if self.rejected_by.as_deref() == Some(who) => {
                return Err(WarrantyError::SameReviewer);
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

    /// Checks an approval with `remedy`: only a claim covered when filed,
    /// with one of the remedies its coverage offered.
    pub fn check_remedy(&self, remedy: Remedy) -> Result<(), WarrantyError> {
        if !self.coverage_at_filing.covered() {
            return Err(WarrantyError::NotCovered(self.coverage_at_filing.reason));
        }
        if !self.coverage_at_filing.remedies.contains(&remedy) {
            return Err(WarrantyError::RemedyNotOffered(remedy));
        }
        Ok(())
    }

    pub fn messages(&self) -> usize {
        self.timeline.iter().filter(|e| e.status.is_none()).count()
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registration::CoverageReason;

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
            rejection_reason: None,
            appealed: false,
            reviewer: None,
            rejected_by: None,
            timeline: vec![],
            filed_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
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
            ] {
                if let Some(to) = next(status, step) {
                    edges += 1;
                    assert_ne!(to, status, "{status} {step:?}");
                    assert!(![ClaimStatus::Approved, ClaimStatus::Canceled].contains(&status));
                }
            }
        }
        assert_eq!(edges, 9);
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
        assert!(c.check_remedy(Remedy::Repair).is_ok());
        assert_eq!(
            c.check_remedy(Remedy::Refund),
            Err(WarrantyError::RemedyNotOffered(Remedy::Refund))
        );
        c.coverage_at_filing.reason = CoverageReason::Expired;
        assert_eq!(
            c.check_remedy(Remedy::Repair),
            Err(WarrantyError::NotCovered(CoverageReason::Expired))
        );
    }
}
