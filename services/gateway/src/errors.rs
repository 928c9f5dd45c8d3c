//! Errors as AIP-193 describes them for HTTP: the status from the gRPC
//! code, and a JSON body `{"error": {code, message, status, details}}`
//! whose details are the call's own (`BadRequest`, `ErrorInfo`,
//! `RetryInfo`, ...), in their proto3 JSON form with `@type`.

use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value, json};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::transcode::Violation;

const TYPE_PREFIX: &str = "type.googleapis.com/google.rpc.";

/// The HTTP status AIP-193 (and google.rpc.Code) gives a gRPC code.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).expect("499 is a status code"),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The canonical name (`INVALID_ARGUMENT`).
fn name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Codes that mean the server failed, not the caller.
pub fn is_server_fault(code: Code) -> bool {
    matches!(code, Code::Unknown | Code::Internal | Code::DataLoss)
}

/// The HTTP answer for a failed call. A server fault says only that it was
/// one: whatever text it carried stays in the server's log.
pub fn response(status: &Status) -> http::Response<axum::body::Body> {
    response_as(status, http_status(status.code()))
}

/// The answer with an HTTP status of the gateway's own (405, 413, 415),
/// which the body's `code` repeats.
pub fn response_as(status: &Status, http: StatusCode) -> http::Response<axum::body::Body> {
    let code = status.code();
    let server_fault = is_server_fault(code);
    let message = if server_fault {
        "internal error".to_owned()
    } else {
        status.message().to_owned()
    };
    let details = if server_fault {
        Vec::new()
    } else {
        details(&status.get_error_details())
    };
    let retry_after = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    let body = json!({
        "error": {
            "code": http.as_u16(),
            "message": message,
            "status": name(code),
            "details": details,
        }
    });
    let mut response = http::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = http;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(seconds) = retry_after {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// A request the gateway refuses before calling anything.
pub fn invalid(violation: Violation) -> http::Response<axum::body::Body> {
    invalid_as(violation, StatusCode::BAD_REQUEST)
}

pub fn invalid_as(violation: Violation, http: StatusCode) -> http::Response<axum::body::Body> {
    let details = ErrorDetails::with_bad_request(vec![FieldViolation::new(
        violation.field.clone(),
        violation.description.clone(),
    )]);
    let status = Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid request: {} {}", violation.field, violation.description),
        details,
    );
    response_as(&status, http)
}

fn details(d: &ErrorDetails) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(info) = d.error_info() {
        out.push(json!({
            "@type": format!("{TYPE_PREFIX}ErrorInfo"),
            "reason": info.reason,
            "domain": info.domain,
            "metadata": info.metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<Map<_, _>>(),
        }));
    }
    if let Some(bad) = d.bad_request() {
        let violations: Vec<Value> = bad
            .field_violations
            .iter()
            .map(|v| json!({"field": v.field, "description": v.description}))
            .collect();
        out.push(json!({"@type": format!("{TYPE_PREFIX}BadRequest"), "fieldViolations": violations}));
    }
    if let Some(retry) = d.retry_info() {
        let delay = retry.retry_delay.unwrap_or_default();
        out.push(json!({
            "@type": format!("{TYPE_PREFIX}RetryInfo"),
            "retryDelay": format!("{}.{:03}s", delay.as_secs(), delay.subsec_millis()),
        }));
    }
    if let Some(failure) = d.precondition_failure() {
        let violations: Vec<Value> = failure
            .violations
            .iter()
            .map(|v| json!({"type": v.r#type, "subject": v.subject, "description": v.description}))
            .collect();
        out.push(json!({"@type": format!("{TYPE_PREFIX}PreconditionFailure"), "violations": violations}));
    }
    if let Some(resource) = d.resource_info() {
        out.push(json!({
            "@type": format!("{TYPE_PREFIX}ResourceInfo"),
            "resourceType": resource.resource_type,
            "resourceName": resource.resource_name,
            "owner": resource.owner,
            "description": resource.description,
        }));
    }
    if let Some(message) = d.localized_message() {
        out.push(json!({
            "@type": format!("{TYPE_PREFIX}LocalizedMessage"),
            "locale": message.locale,
            "message": message.message,
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use http_body_util::BodyExt;

    use super::*;

    async fn json_of(response: http::Response<axum::body::Body>) -> (StatusCode, HeaderMap, Value) {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, headers, serde_json::from_slice(&bytes).unwrap())
    }

    use http::HeaderMap;

    #[tokio::test]
    async fn details_and_codes_follow_aip_193() {
        let mut details = ErrorDetails::with_bad_request_violation("items[0].quantity", "must be positive");
        details.set_error_info(
            "OVER_LIMIT",
            "aftercare",
            HashMap::from([("limit".to_owned(), "5".to_owned())]),
        );
        let status = Status::with_error_details(Code::InvalidArgument, "invalid request", details);
        let (http, _, body) = json_of(response(&status)).await;
        assert_eq!(http, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"]["code"], 400);
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
        let details = body["error"]["details"].as_array().unwrap();
        let bad = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .unwrap();
        assert_eq!(bad["fieldViolations"][0]["field"], "items[0].quantity");
        let info = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
            .unwrap();
        assert_eq!(info["reason"], "OVER_LIMIT");
        assert_eq!(info["metadata"]["limit"], "5");

        let status = Status::with_error_details(
            Code::ResourceExhausted,
            "slow down",
            ErrorDetails::with_retry_info(Some(Duration::from_millis(1500))),
        );
        let (http, headers, body) = json_of(response(&status)).await;
        assert_eq!(http, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(headers[http::header::RETRY_AFTER], "2");
        assert_eq!(body["error"]["details"][0]["retryDelay"], "1.500s");
    }

    #[tokio::test]
    async fn a_server_fault_shows_nothing_of_itself() {
        let status = Status::internal("relation \"returns.returns\" does not exist at line 3");
        let (http, _, body) = json_of(response(&status)).await;
        assert_eq!(http, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["message"], "internal error");
        assert!(!body.to_string().contains("relation"));
    }

    #[test]
    fn every_code_has_a_status() {
        for code in 0..=16 {
            let code = Code::from(code);
            assert_eq!(http_status(code) == StatusCode::OK, code == Code::Ok);
        }
    }
}
