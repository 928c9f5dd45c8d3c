//! Order errors as gRPC statuses: the one place their codes and reasons are
//! decided.

use aftercare_platform::error::Error;

use crate::domain::OrderError;

impl From<OrderError> for Error {
    fn from(e: OrderError) -> Error {
        let message = e.to_string();
        match e {
            OrderError::Invalid(invalid) => invalid.into(),
            OrderError::NotFound(_) => Error::NotFound(message),
            OrderError::IdConflict { .. } => Error::AlreadyExists {
                reason: "ORDER_ID_CONFLICT",
                message,
            },
            OrderError::Canceled { order_id } => {
                Error::precondition("ORDER_CANCELED", message).with_metadata("order_id", order_id)
            }
            OrderError::AlreadyDelivered { order_id } => {
                Error::precondition("ORDER_ALREADY_DELIVERED", message).with_metadata("order_id", order_id)
            }
        }
    }
}
