//! One unary gRPC call made in process: the request framed as gRPC and
//! handed to the same tower stack the gRPC port serves (metrics, auth, the
//! services), the answer unframed. So REST runs exactly the code gRPC runs,
//! with the same permissions, and nothing is written twice.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt;
use tonic::Status;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;

use aftercare_platform::ratelimit::Charged;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// The gRPC stack as a service: what the gRPC port serves.
pub type Grpc = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Infallible>;

/// The request headers a call carries on: who is calling, and the ids that
/// tie the call to the caller's logs.
const FORWARDED: [http::HeaderName; 3] = [
    http::header::AUTHORIZATION,
    http::HeaderName::from_static("x-request-id"),
    // The rate limits find a client behind trusted proxies by it.
    http::HeaderName::from_static("x-forwarded-for"),
];

/// Calls `path` (`/package.Service/Method`) with an encoded request
/// message; the encoded response message, or the call's status.
pub async fn unary(
    grpc: &Grpc,
    path: &str,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    message: Vec<u8>,
    deadline: Duration,
) -> Result<Bytes, Status> {
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).map_err(|_| Status::invalid_argument("request too large"))?);
    frame.put_slice(&message);
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(path)
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .header("grpc-timeout", format!("{}m", deadline.as_millis()))
        .body(Body::new(http_body_util::Full::new(frame.freeze())))
        .map_err(|_| Status::invalid_argument("bad request path"))?;
    // Where the call came from, as the gRPC port records it: calls without
    // a valid token are rate-limited by it.
    request.extensions_mut().insert(TcpConnectInfo {
        local_addr: None,
        remote_addr: peer,
    });
    // The gateway charged the caller before reading the body.
    request.extensions_mut().insert(Charged);
    for name in FORWARDED {
        if let Some(value) = headers.get(&name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    let response = match grpc.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    // An error may come as trailers only, in the headers.
    if let Some(status) = Status::from_header_map(response.headers())
        && status.code() != tonic::Code::Ok
    {
        return Err(status);
    }
    let collected = response
        .into_body()
        .collect()
        .await
        .map_err(|e| Status::internal(format!("reading the answer: {e}")))?;
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let mut data = collected.to_bytes();
    match Status::from_header_map(&trailers) {
        Some(status) if status.code() != tonic::Code::Ok => return Err(status),
        Some(_) => {}
        None => return Err(Status::internal("the answer had no gRPC status")),
    }
    if data.remaining() < 5 || data.get_u8() != 0 {
        return Err(Status::internal("the answer was not one uncompressed message"));
    }
    let len = data.get_u32() as usize;
    if data.remaining() != len {
        return Err(Status::internal("the answer was not one whole message"));
    }
    Ok(data)
}
