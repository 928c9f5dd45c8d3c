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

mod call;
mod errors;
pub mod openapi;
mod overview;
pub mod routes;
mod transcode;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_platform::error::Error;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use prost_reflect::DescriptorPool;
use tonic::Status;

pub use call::Grpc;
use routes::{Found, Route};

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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_body: 1 << 20,
            deadline: Duration::from_secs(30),
            overview_deadline: Duration::from_secs(2),
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
                let mut response = errors::response(&Status::unimplemented(format!(
                    "{} is not served on this path",
                    parts.method
                )));
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
                if let Ok(allow) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(http::header::ALLOW, allow);
                }
                return response;
            }
            Found::None => return errors::response(&Status::not_found("no such route")),
        };
        let body = match Limited::new(body, self.options.max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                let mut response = errors::invalid(transcode::Violation {
                    field: "body".into(),
                    description: format!("is larger than {} bytes", self.options.max_body),
                });
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
                return response;
            }
            Err(_) => return errors::response(&Status::invalid_argument("the request body could not be read")),
        };
        if !body.is_empty() && !is_json(&parts.headers) {
            let mut response = errors::response(&Status::invalid_argument("the body must be application/json"));
            *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return response;
        }
        let me = match route.me {
            false => None,
            true => match self.customer(&parts.headers) {
                Ok(customer) => Some(customer),
                Err(response) => return *response,
            },
        };
        let idempotency_key = match parts.headers.get("idempotency-key") {
            None => None,
            Some(value) => match value.to_str() {
                Ok(key) => Some(key),
                Err(_) => {
                    return errors::invalid(transcode::Violation {
                        field: "Idempotency-Key".into(),
                        description: "must be visible ASCII".into(),
                    });
                }
            },
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
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
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
                if matches!(status.code(), tonic::Code::Internal | tonic::Code::Unknown) {
                    tracing::error!(route = %route.template.text, error = %status.message(), "REST call failed");
                }
                errors::response(&status)
            }
        }
    }
}

impl Gateway {
    async fn overview(&self, parts: &http::request::Parts) -> http::Response<Body> {
        let customer = match self.customer(&parts.headers) {
            Ok(customer) => customer,
            Err(response) => return *response,
        };
        let sources = overview::Sources {
            grpc: &self.grpc,
            served: &self.served,
            pool: &self.pool,
            headers: &parts.headers,
            peer: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0),
            deadline: self.options.overview_deadline,
        };
        let body = overview::compose(&customer, sources).await;
        json(StatusCode::OK, Bytes::from(body.to_string()))
    }

    /// The subject of a customer's token; anyone else is refused.
    fn customer(&self, headers: &http::HeaderMap) -> Result<String, Box<http::Response<Body>>> {
        match self.auth.authenticate(headers) {
            Ok(caller) if caller.role == Role::Customer => Ok(caller.subject),
            Ok(caller) => {
                let denied =
                    Error::PermissionDenied(format!("/v1/me/ is a customer's own; a {} token has none", caller.role));
                Err(Box::new(errors::response(&denied.into())))
            }
            Err(e) => Err(Box::new(errors::response(&e.into()))),
        }
    }
}

async fn handle(
    axum::extract::State(gateway): axum::extract::State<Arc<Gateway>>,
    request: http::Request<Body>,
) -> http::Response<Body> {
    gateway.serve(request).await
}

fn is_json(headers: &http::HeaderMap) -> bool {
    match headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        // A body without a type is read as JSON.
        None => true,
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
