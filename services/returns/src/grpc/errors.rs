//! Return errors as gRPC statuses: the one place their codes, reasons and
//! metadata are decided.

use aftercare_platform::error::Error;

use crate::domain::ReturnError;

impl From<ReturnError> for Error {
    fn from(e: ReturnError) -> Error {
        let message = e.to_string();
        match e {
            ReturnError::Invalid(invalid) => invalid.into(),
            ReturnError::NotFound { .. } => Error::NotFound(message),
            ReturnError::InvalidStatus { status, .. } => {
                Error::precondition("INVALID_STATUS", message).with_metadata("status", status.as_str().to_uppercase())
            }
            ReturnError::ItemsNotEligible(lines) => {
                let mut err = Error::precondition("ITEMS_NOT_ELIGIBLE", message);
                for (line, reasons) in lines {
                    err = err.with_metadata(line, reasons);
                }
                err
            }
            ReturnError::NothingToRefund => Error::precondition("NOTHING_TO_REFUND", message),
            ReturnError::RefundAlreadyIssued { refund_id } => {
                let err = Error::precondition("REFUND_ALREADY_ISSUED", message);
                match refund_id {
                    Some(id) => err.with_metadata("refund_id", id.to_string()),
                    None => err,
                }
            }
            ReturnError::RefundNotPending(status) => Error::precondition("REFUND_NOT_PENDING", message)
                .with_metadata("status", status.as_str().to_uppercase()),
            ReturnError::RefundExceedsPaid { .. } => Error::precondition("REFUND_EXCEEDS_PAID", message),
            ReturnError::PolicyUpdatedConcurrently => Error::Aborted(message),
            ReturnError::OtherCustomersReturns | ReturnError::InternalNoteByCustomer => {
                Error::PermissionDenied(message)
            }
            ReturnError::Corrupt(_) => Error::internal(message),
        }
    }
}
