//! What can go wrong in warranty. The API edge maps each variant to a gRPC
//! status and a stable `ErrorInfo` reason, in one place.

use aftercare_kernel::InvalidInput;

use super::claim::{ClaimStatus, ClaimStep};
use super::registration::{CoverageReason, RegistrationStatus};
use super::repeat::Trigger;
use super::service_order::ServiceOrderStatus;
use super::terms::Remedy;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarrantyError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("this serial number is already registered")]
    SerialRegistered,
    #[error("the registration is {0}, not pending verification")]
    NotPending(RegistrationStatus),
    #[error("a {status} claim cannot be {verb}ed", verb = step.verb())]
    StepNotAllowed { status: ClaimStatus, step: ClaimStep },
    #[error("the claim was not covered when filed ({0})")]
    NotCovered(CoverageReason),
    #[error("the remedy {0} is not offered for this claim")]
    RemedyNotOffered(Remedy),
    #[error("an appealed claim is reviewed by another agent than the one who rejected it")]
    SameReviewer,
    #[error("a claim may be appealed once")]
    AppealUsed,
    #[error("the claim's timeline is full")]
    TimelineFull,
    #[error("the product's failures entitle the customer to a replacement or refund ({}); a repair needs an override reason", .0.as_str())]
    RepairNotAllowed(Trigger),
    #[error("a {status} service order cannot {step}")]
    ServiceStepNotAllowed {
        status: ServiceOrderStatus,
        step: &'static str,
    },
    #[error("an out-of-warranty repair waits for the customer to accept a quote")]
    QuoteRequired,
    #[error("the claim's remedy is {0}, not a repair")]
    NotARepair(Remedy),
    #[error("a refund of this claim is already issued")]
    RefundAlreadyIssued,
    #[error("the refund is {0}, not pending")]
    RefundNotPending(&'static str),
    #[error("the amount is more than the {0} paid for the unit")]
    AmountExceedsPrice(String),
    #[error("the claim is not {0}")]
    WrongRemedy(&'static str),
    #[error("a refund of this claim is pending or paid")]
    RefundLive,
    #[error("the claim's service order is still open")]
    ServiceOrderOpen,
    #[error("the unit was {0}: nothing more is paid back on it")]
    UnitSettled(&'static str),
    #[error("no price is recorded for this unit: an agent names the amount")]
    PriceUnknown,
    #[error("the extended warranty is canceled already")]
    PlanCanceled,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl WarrantyError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> WarrantyError {
        WarrantyError::NotFound { what, id: id.into() }
    }
}
