//! What can go wrong in warranty. The API edge maps each variant to a gRPC
//! status and a stable `ErrorInfo` reason, in one place.

use aftercare_kernel::InvalidInput;

use super::claim::{ClaimStatus, ClaimStep};
use super::registration::{CoverageReason, RegistrationStatus};
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
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl WarrantyError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> WarrantyError {
        WarrantyError::NotFound { what, id: id.into() }
    }
}
