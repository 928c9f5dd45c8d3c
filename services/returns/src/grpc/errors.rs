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
            ReturnError::TimelineFull { limit } => {
                Error::ResourceExhausted(format!("{message} (at most {limit} entries)"))
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
            ReturnError::ExchangeNotPriced => Error::precondition("EXCHANGE_NOT_PRICED", message),
            ReturnError::ExchangeDifferenceUnpaid { balance } => {
                Error::precondition("EXCHANGE_DIFFERENCE_UNPAID", message)
                    .with_metadata("balance", balance.to_amount_string())
                    .with_metadata("currency_code", balance.currency().code())
            }
            ReturnError::NothingToCharge => Error::precondition("NOTHING_TO_CHARGE", message),
            ReturnError::ChargeAlreadyPending => Error::precondition("CHARGE_ALREADY_PENDING", message),
            ReturnError::ChargeNotPending(status) => Error::precondition("CHARGE_NOT_PENDING", message)
                .with_metadata("status", status.as_str().to_uppercase()),
            ReturnError::PolicyUpdatedConcurrently => Error::Aborted(message),
            ReturnError::OtherCustomersReturns | ReturnError::InternalNoteByCustomer => {
                Error::PermissionDenied(message)
            }
            ReturnError::Corrupt(_) => Error::internal(message),
        }
    }
}
