//! Warranty errors as gRPC statuses: the one place their codes, reasons and
//! metadata are decided.

use aftercare_platform::error::Error;

use crate::domain::WarrantyError;

impl From<WarrantyError> for Error {
    fn from(e: WarrantyError) -> Error {
        let message = e.to_string();
        match e {
            WarrantyError::Invalid(invalid) => invalid.into(),
            WarrantyError::NotFound { .. } => Error::NotFound(message),
            WarrantyError::SerialRegistered => Error::AlreadyExists {
                reason: "SERIAL_REGISTERED",
                message,
            },
            WarrantyError::NotPending(status) => Error::precondition("REGISTRATION_NOT_PENDING", message)
                .with_metadata("status", status.as_str().to_uppercase()),
            WarrantyError::StepNotAllowed { status, .. } => {
                Error::precondition("INVALID_STATUS", message).with_metadata("status", status.as_str().to_uppercase())
            }
            WarrantyError::NotCovered(reason) => {
                Error::precondition("NOT_COVERED", message).with_metadata("coverage", reason.as_str().to_uppercase())
            }
            WarrantyError::RemedyNotOffered(_) => Error::precondition("REMEDY_NOT_OFFERED", message),
            WarrantyError::SameReviewer => Error::precondition("SAME_REVIEWER", message),
            WarrantyError::AppealUsed => Error::precondition("APPEAL_USED", message),
            WarrantyError::TimelineFull => Error::precondition("CLAIM_TIMELINE_FULL", message),
            WarrantyError::Corrupt(_) => Error::internal(message),
        }
    }
}
