//! The services' RPCs called in process through the gRPC port's own stack
//! (auth, roles, metrics), with the signed-in staff member's token: a
//! console action runs exactly the code the RPC runs, under the same
//! permissions.

use std::time::Duration;

use aftercare_gateway::Grpc;
use http::{HeaderMap, HeaderValue, header};
use tonic::Status;
use tonic_types::StatusExt;

/// How long one call may take.
const DEADLINE: Duration = Duration::from_secs(30);

pub async fn call<Req: prost::Message, Resp: prost::Message + Default>(
    grpc: &Grpc,
    path: &str,
    token: &str,
    request: &Req,
) -> Result<Resp, Status> {
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Status::unauthenticated("bad token"))?;
    headers.insert(header::AUTHORIZATION, bearer);
    let bytes = aftercare_gateway::call::unary(grpc, path, &headers, None, request.encode_to_vec(), DEADLINE).await?;
    Resp::decode(bytes).map_err(|e| Status::internal(format!("an answer that does not decode: {e}")))
}

/// A failed call in words for the page: what went wrong, the fields and
/// why. A server fault says only that.
pub fn words(status: &Status) -> String {
    use tonic::Code::*;
    if matches!(status.code(), Internal | Unknown | DataLoss) {
        return "Something went wrong on our side; nothing was changed. Try again.".into();
    }
    let mut text = status.message().to_owned();
    if let Some(bad) = status.get_details_bad_request() {
        let fields: Vec<String> = bad
            .field_violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect();
        if !fields.is_empty() {
            text = format!("Please check: {}", fields.join("; "));
        }
    }
    match status.code() {
        PermissionDenied => format!("You may not do this: {text}"),
        NotFound => format!("Not found: {text}"),
        FailedPrecondition | Aborted | AlreadyExists => format!("Not done: {text}"),
        Unavailable | DeadlineExceeded | ResourceExhausted => format!("Not done, try again shortly: {text}"),
        _ => text,
    }
}

pub fn path(service: &str, method: &str) -> String {
    format!("/{service}/{method}")
}
