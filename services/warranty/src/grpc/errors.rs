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
            WarrantyError::RepairNotAllowed(trigger) => {
                Error::precondition("REPAIR_NOT_ALLOWED", message).with_metadata("entitlement_rule", trigger.as_str())
            }
            WarrantyError::ServiceStepNotAllowed { status, .. } => {
                Error::precondition("INVALID_SERVICE_STATUS", message)
                    .with_metadata("status", status.as_str().to_uppercase())
            }
            WarrantyError::QuoteRequired => Error::precondition("QUOTE_REQUIRED", message),
            WarrantyError::NotARepair(_) => Error::precondition("NOT_A_REPAIR", message),
            WarrantyError::RefundAlreadyIssued => Error::precondition("REFUND_ALREADY_ISSUED", message),
            WarrantyError::RefundNotPending(status) => {
                Error::precondition("REFUND_NOT_PENDING", message).with_metadata("status", status.to_uppercase())
            }
            WarrantyError::AmountExceedsPrice(_) => Error::precondition("AMOUNT_EXCEEDS_PRICE", message),
            WarrantyError::WrongRemedy(_) => Error::precondition("WRONG_REMEDY", message),
            WarrantyError::RefundLive => Error::precondition("REFUND_LIVE", message),
            WarrantyError::ServiceOrderOpen => Error::precondition("SERVICE_ORDER_OPEN", message),
            WarrantyError::UnitSettled(_) => Error::precondition("UNIT_SETTLED", message),
            WarrantyError::PriceUnknown => Error::precondition("PRICE_UNKNOWN", message),
            WarrantyError::PlanCanceled => Error::precondition("PLAN_CANCELED", message),
            WarrantyError::Corrupt(_) => Error::internal(message),
        }
    }
}
