//! What can go wrong with returns. The API edge maps each variant to a gRPC
//! status and a stable `ErrorInfo` reason, in one place.

use aftercare_kernel::InvalidInput;

use super::{RefundId, RefundStatus, Status, Step};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    /// The status graph has no such step from the current status.
    #[error("cannot {} a return that is {}", step.verb(), status.as_str().replace('_', " "))]
    InvalidStatus { step: Step, status: Status },
    /// Items that cannot be returned, with each line's stable reasons.
    #[error("not returnable: {}", .0.iter().map(|(l, r)| format!("line {l} ({r})")).collect::<Vec<_>>().join(", "))]
    ItemsNotEligible(Vec<(String, String)>),
    #[error("this return refunds nothing")]
    NothingToRefund,
    #[error("this return already has a pending or succeeded refund")]
    RefundAlreadyIssued { refund_id: Option<RefundId> },
    #[error("the refund is {}", .0.as_str())]
    RefundNotPending(RefundStatus),
    #[error("line {line_id} cannot be refunded beyond what was paid for it")]
    RefundExceedsPaid { line_id: String },
    #[error("the exchange's replacements are not priced yet")]
    ExchangeNotPriced,
    #[error("the customer still owes {balance} on this exchange")]
    ExchangeDifferenceUnpaid { balance: aftercare_kernel::Money },
    #[error("the customer owes nothing on this exchange")]
    NothingToCharge,
    #[error("money of this exchange has moved (a charge pending or collected, or a refund)")]
    ChargeAlreadyPending,
    #[error("the charge is {}", .0.as_str())]
    ChargeNotPending(super::ChargeStatus),
    #[error("the policy was updated concurrently; retry")]
    PolicyUpdatedConcurrently,
    #[error("this case's timeline is full ({limit} entries); reply by another channel")]
    TimelineFull { limit: usize },
    #[error("customers may list only their own returns")]
    OtherCustomersReturns,
    #[error("customers cannot write internal notes")]
    InternalNoteByCustomer,
    /// Stored data that breaks an invariant: a bug, never shown.
    #[error("corrupt return data: {0}")]
    Corrupt(String),
}

impl ReturnError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> ReturnError {
        ReturnError::NotFound { what, id: id.into() }
    }
}
