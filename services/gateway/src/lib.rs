//! The REST/JSON gateway: every RPC the contracts bind with
//! `google.api.http` served over HTTP/1.1 with the proto3 JSON mapping,
//! calling the same gRPC stack in process (so auth, validation and the
//! services' code are the gRPC port's own), errors as AIP-193 describes.
//!
//! - `routes`: the bindings, read from the descriptors;
//! - `transcode`: JSON to the request message and the response to JSON;
//! - `call`: the in-process gRPC call;
//! - `errors`: gRPC status to HTTP status and JSON;
//! - `openapi`: the OpenAPI 3.1 document of the same routes.

pub mod call;
mod errors;
pub mod openapi;
mod overview;
pub mod routes;
mod transcode;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::auth::{Authenticator, Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::ratelimit::RateLimiter;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prost_reflect::DescriptorPool;
use tonic::Status;

pub use call::Grpc;
pub use errors::is_server_fault;
use routes::{Found, Route};

/// The largest body accepted at all: what gRPC decodes (4 MiB); a JSON
/// body is never smaller than its message.
pub const MAX_BODY: usize = 4 << 20;

/// How the gateway treats requests.
#[derive(Debug, Clone)]
pub struct Options {
    /// The largest request body accepted; larger ones are refused (413)
    /// before they are read to the end.
    pub max_body: usize,
    /// How long a call may take, passed on as its gRPC deadline.
    pub deadline: Duration,
    /// The one deadline of `/v1/me/overview`'s calls: a section not
    /// answered by then is marked unavailable.
    pub overview_deadline: Duration,
    /// The auth layer's rate limits, charged here for calls the gateway
    /// turns away for want of a valid token (they never reach the layer).
    pub limits: Option<Arc<RateLimiter>>,
    /// gRPC paths that also take calls without a token (the services'
    /// `anonymous` methods): such a request is passed on without a caller.
    pub anonymous: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_body: 1 << 20,
            deadline: Duration::from_secs(30),
            overview_deadline: Duration::from_secs(2),
            limits: None,
            anonymous: Vec::new(),
        }
    }
}

pub struct Gateway {
    routes: Vec<Route>,
    pool: DescriptorPool,
    served: Vec<String>,
    grpc: Grpc,
    auth: Arc<Authenticator>,
    openapi: Bytes,
    options: Options,
}

/// The contracts' descriptors, with their `google.api.http` options.
pub fn descriptors() -> DescriptorPool {
    DescriptorPool::decode(aftercare_proto::FILE_DESCRIPTOR_SET).expect("the contracts' descriptors decode")
}

impl Gateway {
    /// The routes of `services` (full gRPC names) over `grpc`, the stack
    /// the gRPC port serves.
    pub fn new(services: &[&str], grpc: Grpc, auth: Arc<Authenticator>, options: Options) -> Result<Gateway, String> {
        if options.max_body > MAX_BODY {
            return Err(format!(
                "the REST body limit is at most {MAX_BODY} bytes (gRPC's message limit)"
            ));
        }
        let pool = descriptors();
        let routes = routes::from_pool(&pool, services)?;
        let openapi =
            Bytes::from(serde_json::to_string_pretty(&openapi::document(&routes)).map_err(|e| e.to_string())?);
        Ok(Gateway {
            routes,
            pool,
            served: services.iter().map(|s| s.to_string()).collect(),
            grpc,
            auth,
            openapi,
            options,
        })
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new().fallback(handle).with_state(Arc::new(self))
    }

    async fn serve(&self, request: http::Request<Body>) -> http::Response<Body> {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path();
        if path == "/openapi.json" && parts.method == Method::GET {
            return json(StatusCode::OK, self.openapi.clone());
        }
        if path == overview::PATH && parts.method == Method::GET {
            return self.overview(&parts).await;
        }
        let (route, fields) = match routes::find(&self.routes, &parts.method, path) {
            Found::Route(route, fields) => (route, fields),
            Found::WrongMethod(allowed) => {
                let status = Status::unimplemented(format!("{} is not served on this path", parts.method));
                let mut response = errors::response_as(&status, StatusCode::METHOD_NOT_ALLOWED);
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
                if let Ok(allow) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(http::header::ALLOW, allow);
                }
                return response;
            }
            Found::None => return errors::response(&Status::not_found("no such route")),
        };
        // Who is calling, before any body is read: every route but the
        // services' anonymous methods takes a token, and a caller without
        // one is not worth buffering for.
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
        let anonymous = !parts.headers.contains_key(http::header::AUTHORIZATION)
            && self.options.anonymous.contains(&route.grpc_path);
        let caller = if anonymous {
            // Charged to the address, as the auth layer would.
            let limits = self.options.limits.as_ref();
            if let Some(limited) = limits.and_then(|l| l.admit_anonymous(peer.map(|p| p.ip()), &parts.headers).err()) {
                return errors::response(&limited);
            }
            None
        } else {
            match self.caller(&parts.headers, peer) {
                Ok(caller) => Some(caller),
                Err(response) => return *response,
            }
        };
        let me = match (route.me, caller) {
            (false, _) => None,
            (true, Some(caller)) if caller.role == Role::Customer => Some(caller.subject),
            (true, Some(caller)) => return errors::response(&not_yours(caller.role)),
            (true, None) => return errors::response(&Status::unauthenticated("/v1/me/ takes a customer token")),
        };
        let body = match Limited::new(body, self.options.max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                let violation = transcode::Violation {
                    field: "body".into(),
                    description: format!("is larger than {} bytes", self.options.max_body),
                };
                return errors::invalid_as(violation, StatusCode::PAYLOAD_TOO_LARGE);
            }
            Err(_) => return errors::response(&Status::invalid_argument("the request body could not be read")),
        };
        if !body.is_empty() && !is_json(&parts.headers) {
            let status = Status::invalid_argument("the body must be application/json");
            return errors::response_as(&status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        let idempotency_key = match parts.headers.get("idempotency-key").map(|v| v.to_str()) {
            None => None,
            Some(Ok(key)) if !key.is_empty() => Some(key),
            Some(_) => {
                return errors::invalid(transcode::Violation {
                    field: "Idempotency-Key".into(),
                    description: "must be a non-empty visible ASCII string".into(),
                });
            }
        };
        let message = transcode::Parts {
            path_fields: &fields,
            query: parts.uri.query(),
            body: &body,
            me: me.as_deref(),
            idempotency_key,
        };
        let message = match transcode::request(route, message) {
            Ok(message) => message,
            Err(violation) => return errors::invalid(violation),
        };
        let answer = call::unary(
            &self.grpc,
            &route.grpc_path,
            &parts.headers,
            peer,
            message,
            self.options.deadline,
        )
        .await;
        match answer.and_then(|bytes| transcode::response(&route.rpc.output(), &bytes).map_err(Status::internal)) {
            Ok(json_body) => json(StatusCode::OK, Bytes::from(json_body)),
            Err(status) => {
                if errors::is_server_fault(status.code()) {
                    tracing::error!(route = %route.template.text, error = %status.message(), "REST call failed");
                }
                errors::response(&status)
            }
        }
    }

    /// The caller a request's token names. Without a valid one the call
    /// ends here, charged to its address when rate limits are on.
    /// A valid caller is charged here too, once per REST request, before
    /// its body is read; the calls made for it are marked [`Charged`].
    fn caller(&self, headers: &http::HeaderMap, peer: Option<SocketAddr>) -> Result<Caller, Box<http::Response<Body>>> {
        let limits = self.options.limits.as_ref();
        match self.auth.authenticate(headers) {
            Ok(caller) => match limits.map(|l| l.admit_caller(&caller)) {
                Some(Err(limited)) => Err(Box::new(errors::response(&limited))),
                _ => Ok(caller),
            },
            Err(e) => {
                let limited = limits.and_then(|l| l.admit_anonymous(peer.map(|p| p.ip()), headers).err());
                Err(Box::new(errors::response(&limited.unwrap_or_else(|| e.into()))))
            }
        }
    }
}

fn not_yours(role: Role) -> Status {
    Error::PermissionDenied(format!("/v1/me/ is a customer's own; a {role} token has none")).into()
}

impl Gateway {
    async fn overview(&self, parts: &http::request::Parts) -> http::Response<Body> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
        let customer = match self.caller(&parts.headers, peer) {
            Ok(caller) if caller.role == Role::Customer => caller.subject,
            Ok(caller) => return errors::response(&not_yours(caller.role)),
            Err(response) => return *response,
        };
        let sources = overview::Sources {
            grpc: &self.grpc,
            served: &self.served,
            pool: &self.pool,
            headers: &parts.headers,
            peer,
            deadline: self.options.overview_deadline,
        };
        let body = overview::compose(&customer, sources).await;
        // Nothing to show is an error, not an empty page. (A caller over
        // its limit was answered 429 above: the overview is charged once,
        // up front, and its calls are not charged again.)
        let sections = ["returns", "claims", "points", "maintenance"];
        if sections.iter().all(|s| body[*s]["available"] == false) {
            return errors::response(&Status::unavailable("no section of the overview could be read"));
        }
        json(StatusCode::OK, Bytes::from(body.to_string()))
    }
}

async fn handle(
    axum::extract::State(gateway): axum::extract::State<Arc<Gateway>>,
    request: http::Request<Body>,
) -> http::Response<Body> {
    // One deadline for the whole request, reading its body included, so a
    // slow client or a stuck call frees its task.
    match tokio::time::timeout(gateway.options.deadline, gateway.serve(request)).await {
        Ok(response) => response,
        Err(_) => errors::response(&Status::deadline_exceeded(
            "the call took longer than the gateway's deadline",
        )),
    }
}

fn is_json(headers: &http::HeaderMap) -> bool {
    match headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        // A body must say it is JSON: a browser's no-preflight request
        // (text/plain, a form) is refused.
        None => false,
        Some(value) => {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
        }
    }
}

fn json(status: StatusCode, body: Bytes) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
