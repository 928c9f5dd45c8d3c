//! What can go wrong in order intake. The API edge maps each variant to a
//! gRPC status and a stable `ErrorInfo` reason, in one place.

use aftercare_kernel::InvalidInput;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("order {0:?} not found")]
    NotFound(String),
    #[error("order {order_id} was already recorded with different content")]
    IdConflict { order_id: String },
    #[error("order {order_id} is canceled")]
    Canceled { order_id: String },
    #[error("order {order_id} has delivered lines and can no longer be canceled; return them instead")]
    AlreadyDelivered { order_id: String },
}
