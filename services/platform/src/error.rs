//! The one error type of every service, and its mapping to `tonic::Status`
//! with google.rpc details.
//!
//! | variant | gRPC code | details |
//! |---|---|---|
//! | `InvalidArgument` | INVALID_ARGUMENT | `BadRequest` with one violation per bad field |
//! | `FailedPrecondition` | FAILED_PRECONDITION | `ErrorInfo` with a stable reason and metadata |
//! | `NotFound` | NOT_FOUND | also for what the caller may not see |
//! | `AlreadyExists` | ALREADY_EXISTS | `ErrorInfo` |
//! | `Aborted` | ABORTED | a lost race; the client may retry |
//! | `PermissionDenied` | PERMISSION_DENIED | |
//! | `Unauthenticated` | UNAUTHENTICATED | |
//! | `ResourceExhausted` | RESOURCE_EXHAUSTED | |
//! | `Unavailable` | UNAVAILABLE | the database is unreachable: retry later |
//! | `Internal` | INTERNAL | none: logged here, never shown to the caller |

use std::collections::HashMap;

pub use aftercare_kernel::violations::{InvalidInput, Violation, Violations};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `ErrorInfo.domain` of every error aftercare returns.
pub const ERROR_DOMAIN: &str = "aftercare";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0:?}")]
    InvalidArgument(Vec<Violation>),
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
        metadata: Vec<(String, String)>,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    AlreadyExists { reason: &'static str, message: String },
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    ResourceExhausted(String),
    /// A dependency (the database) is unreachable: retryable.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Error {
        Error::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    pub fn precondition(reason: &'static str, message: impl Into<String>) -> Error {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// Adds machine-readable metadata to a `FailedPrecondition`.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Error {
        if let Error::FailedPrecondition { metadata, .. } = &mut self {
            metadata.push((key.into(), value.into()));
        }
        self
    }

    pub fn internal(context: impl std::fmt::Display) -> Error {
        Error::Internal(context.to_string())
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Error {
        Error::InvalidArgument(e.0)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        crate::sqlstate::to_error(e)
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        match e {
            Error::InvalidArgument(violations) => {
                let summary = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                let details = ErrorDetails::with_bad_request(
                    violations
                        .into_iter()
                        .map(|v| FieldViolation::new(v.field, v.description))
                        .collect::<Vec<_>>(),
                );
                Status::with_error_details(Code::InvalidArgument, format!("invalid request: {summary}"), details)
            }
            Error::FailedPrecondition {
                reason,
                message,
                metadata,
            } => Status::with_error_details(
                Code::FailedPrecondition,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata.into_iter().collect::<HashMap<_, _>>()),
            ),
            Error::AlreadyExists { reason, message } => Status::with_error_details(
                Code::AlreadyExists,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()),
            ),
            Error::NotFound(m) => Status::not_found(m),
            Error::Aborted(m) => Status::aborted(m),
            Error::PermissionDenied(m) => Status::permission_denied(m),
            Error::Unauthenticated(m) => Status::unauthenticated(m),
            Error::ResourceExhausted(m) => Status::resource_exhausted(m),
            Error::Unavailable(m) => {
                tracing::warn!(error = %m, "unavailable");
                Status::unavailable("the service is temporarily unavailable; retry shortly")
            }
            Error::Internal(context) => {
                tracing::error!(error = %context, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_every_violation() {
        let mut v = Violations::new();
        v.add("order_id", "must not be empty");
        v.add("lines[0].quantity", "must be at least 1");
        let status: Status = Error::from(v.finish().unwrap_err()).into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let bad = status.get_details_bad_request().expect("BadRequest details");
        let fields: Vec<_> = bad.field_violations.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["order_id", "lines[0].quantity"]);
    }

    #[test]
    fn failed_precondition_carries_reason_and_metadata() {
        let status: Status = Error::precondition("ORDER_ALREADY_DELIVERED", "delivered")
            .with_metadata("order_id", "o-1")
            .into();
        assert_eq!(status.code(), Code::FailedPrecondition);
        let info = status.get_details_error_info().expect("ErrorInfo details");
        assert_eq!(info.reason, "ORDER_ALREADY_DELIVERED");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata.get("order_id").map(String::as_str), Some("o-1"));
    }

    #[test]
    fn internal_errors_hide_their_context() {
        let status: Status = Error::internal("password=hunter2").into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }
}
