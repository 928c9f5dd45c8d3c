//! The REST gateway and gRPC-Web end to end: real HTTP/1.1 requests to the
//! server's HTTP and gRPC ports, answered by the same services gRPC calls.

use std::collections::BTreeMap;

use aftercare_platform::auth::Role;
use aftercare_proto::orders::RecordDeliveryRequest;
use aftercare_proto::returns::GetReturnRequest;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use serde_json::{Value, json};

use crate::fixtures::{order, ts};
use crate::support::{ALLOWED_ORIGIN, TestApp, start_time};

/// An HTTP/1.1 answer: status, headers and the body as JSON (`Null` when
/// empty).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    headers: HeaderMap,
    raw: Bytes,
    pub(crate) json: Value,
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn send(request: http::Request<Full<Bytes>>) -> Answer {
    let response = client().request(request).await.expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let raw = response.into_body().collect().await.unwrap().to_bytes();
    let json = match raw.is_empty() {
        true => Value::Null,
        false => serde_json::from_slice(&raw).unwrap_or(Value::Null),
    };
    Answer {
        status,
        headers,
        raw,
        json,
    }
}

/// A REST call to the gateway with `token` (if any), a JSON body (if any)
/// and extra headers.
pub(crate) async fn rest(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Answer {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", app.http_addr));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    send(request.body(Full::new(body)).unwrap()).await
}

/// The AIP-193 error body's gRPC code name.
pub(crate) fn status_name(answer: &Answer) -> &str {
    answer.json["error"]["status"].as_str().unwrap_or_else(|| {
        panic!(
            "not an AIP-193 error ({}): {}",
            answer.status,
            String::from_utf8_lossy(&answer.raw)
        )
    })
}

fn violations(answer: &Answer) -> Vec<String> {
    answer.json["error"]["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
        .flat_map(|d| d["fieldViolations"].as_array().cloned().unwrap_or_default())
        .map(|v| v["field"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Records order `order_id` of `customer` and delivers it, over gRPC.
async fn delivered(app: &TestApp, order_id: &str, customer: &str) {
    let mut storefront = app.storefront();
    storefront.record_order(order(order_id, customer)).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: order_id.into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
}

fn return_body() -> Value {
    json!({
        "channel": "CHANNEL_MOBILE_APP",
        "items": [{"lineId": "L1", "quantity": 1, "reason": "RETURN_REASON_CHANGED_MIND", "resolution": "RESOLUTION_REFUND"}]
    })
}

#[tokio::test]
async fn a_return_round_trips_through_rest_as_it_does_through_grpc() {
    let app = TestApp::spawn().await;
    delivered(&app, "O-REST-1", "c-1").await;
    let customer = app.token(Role::Customer, "c-1");
    let path = "/v1/orders/O-REST-1/returns";
    let key = [("idempotency-key", "rest-key-1")];

    let created = rest(&app, Method::POST, path, Some(&customer), Some(return_body()), &key).await;
    assert_eq!(
        created.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&created.raw)
    );
    let return_id = created.json["returnId"].as_str().unwrap().to_owned();
    // The proto3 JSON mapping: enums by name, money as decimal strings.
    assert_eq!(created.json["orderId"], "O-REST-1");
    assert!(created.json["status"].as_str().unwrap().starts_with("RETURN_STATUS_"));

    // The header is the request_id: a retry returns the same return, once.
    let again = rest(&app, Method::POST, path, Some(&customer), Some(return_body()), &key).await;
    assert_eq!(again.json["returnId"], return_id.as_str());
    assert_eq!(app.count("SELECT count(*) FROM returns.returns").await, 1);

    // What REST shows is what gRPC shows.
    let over_rest = rest(
        &app,
        Method::GET,
        &format!("/v1/returns/{return_id}"),
        Some(&customer),
        None,
        &[],
    )
    .await;
    assert_eq!(over_rest.status, StatusCode::OK);
    let over_grpc = app
        .returns(Role::Customer, "c-1")
        .get_return(GetReturnRequest {
            return_id: return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_rest.json["returnId"], over_grpc.return_id.as_str());
    assert_eq!(
        over_rest.json["items"][0]["lineId"],
        over_grpc.items[0].line_id.as_str()
    );
    assert_eq!(over_rest.json["items"][0]["quantity"], over_grpc.items[0].quantity);
    let refund = over_grpc
        .refund_total
        .as_ref()
        .map(|m| m.amount.as_str())
        .unwrap_or_default();
    assert_eq!(over_rest.json["refundTotal"]["amount"], refund);

    // The caller's own list under /v1/me/.
    let mine = rest(&app, Method::GET, "/v1/me/returns", Some(&customer), None, &[]).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.json["returns"][0]["returnId"], return_id.as_str());

    // Another customer sees nothing of it, by id or through /v1/me/.
    let stranger = app.token(Role::Customer, "c-2");
    let theirs = rest(
        &app,
        Method::GET,
        &format!("/v1/returns/{return_id}"),
        Some(&stranger),
        None,
        &[],
    )
    .await;
    assert!(matches!(status_name(&theirs), "NOT_FOUND" | "PERMISSION_DENIED"));
    assert!(!String::from_utf8_lossy(&theirs.raw).contains("O-REST-1"));
    let theirs = rest(&app, Method::GET, "/v1/me/returns", Some(&stranger), None, &[]).await;
    assert_eq!(theirs.json["returns"], json!([]));
    // Naming another customer on /v1/me/ is refused, not obeyed.
    let sneaky = rest(
        &app,
        Method::GET,
        "/v1/me/returns?customer_id=c-1",
        Some(&stranger),
        None,
        &[],
    )
    .await;
    assert_eq!(status_name(&sneaky), "INVALID_ARGUMENT");
    assert_eq!(violations(&sneaky), ["customer_id"]);
}

#[tokio::test]
async fn errors_are_aip_193_with_their_details_and_write_nothing() {
    let app = TestApp::spawn().await;
    delivered(&app, "O-REST-2", "c-1").await;
    let customer = app.token(Role::Customer, "c-1");
    let path = "/v1/orders/O-REST-2/returns";

    // The service's own validation, with its field names.
    let mut bad = return_body();
    bad["items"][0]["quantity"] = json!(0);
    let answer = rest(&app, Method::POST, path, Some(&customer), Some(bad), &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(status_name(&answer), "INVALID_ARGUMENT");
    assert_eq!(answer.json["error"]["code"], 400);
    assert!(
        violations(&answer).iter().any(|f| f.contains("quantity")),
        "{}",
        answer.json
    );

    // The gateway's own: JSON that is not this request's.
    for body in [json!({"items": "many"}), json!({"surprise": 1}), json!([1, 2])] {
        let answer = rest(&app, Method::POST, path, Some(&customer), Some(body.clone()), &[]).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(violations(&answer), ["body"], "{body}");
    }
    let request = http::Request::post(format!("http://{}{path}", app.http_addr))
        .header("authorization", format!("Bearer {customer}"))
        .header("idempotency-key", http::HeaderValue::from_bytes(b"caf\xe9").unwrap())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(return_body().to_string())))
        .unwrap();
    let answer = send(request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(violations(&answer), ["Idempotency-Key"]);

    // Who is calling.
    let answer = rest(&app, Method::POST, path, None, Some(return_body()), &[]).await;
    assert_eq!(
        (answer.status, status_name(&answer)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    let answer = rest(&app, Method::POST, path, Some("not-a-token"), Some(return_body()), &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let service = app.token(Role::Service, "storefront");
    let answer = rest(&app, Method::GET, "/v1/me/points", Some(&service), None, &[]).await;
    assert_eq!(
        (answer.status, status_name(&answer)),
        (StatusCode::FORBIDDEN, "PERMISSION_DENIED")
    );
    let answer = rest(
        &app,
        Method::POST,
        "/v1/returns/R-1:approve",
        Some(&customer),
        Some(json!({})),
        &[],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "a customer approves nothing");

    // Paths and methods.
    let answer = rest(&app, Method::GET, "/v1/nowhere", Some(&customer), None, &[]).await;
    assert_eq!(
        (answer.status, status_name(&answer)),
        (StatusCode::NOT_FOUND, "NOT_FOUND")
    );
    let answer = rest(&app, Method::DELETE, "/v1/returns/R-1", Some(&customer), None, &[]).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.json["error"]["code"], 405, "the body's code is the HTTP status");
    assert_eq!(answer.headers[http::header::ALLOW], "GET");
    // Odd paths match no route, or reach the service as a plain value.
    for odd in ["/v1/returns//x", "/v1/returns/%FF", "/v1/returns/a/b"] {
        let answer = rest(&app, Method::GET, odd, Some(&customer), None, &[]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{odd}");
    }
    for odd in ["/v1/returns/a%2Fb", "/v1/returns/..", "/v1/returns/%00"] {
        let answer = rest(&app, Method::GET, odd, Some(&customer), None, &[]).await;
        assert!(answer.status.is_client_error(), "{odd}: {}", answer.status);
        status_name(&answer);
    }

    // Bodies: too large (refused before it is read whole), not JSON.
    // Just over the limit, so the client has sent it all when refused.
    let huge = json!({"items": [{"note": "x".repeat((1 << 20) + 1024)}]});
    let answer = rest(&app, Method::POST, path, Some(&customer), Some(huge), &[]).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(violations(&answer), ["body"]);
    let request = http::Request::post(format!("http://{}{path}", app.http_addr))
        .header("authorization", format!("Bearer {customer}"))
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(return_body().to_string())))
        .unwrap();
    assert_eq!(send(request).await.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let request = http::Request::post(format!("http://{}{path}", app.http_addr))
        .header("authorization", format!("Bearer {customer}"))
        .body(Full::new(Bytes::from(return_body().to_string())))
        .unwrap();
    assert_eq!(
        send(request).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a body says it is JSON"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM returns.returns").await,
        0,
        "nothing was written"
    );
}

/// Every route the contracts bind reaches its RPC: called with a role the
/// RPC admits and placeholder values, the server's metrics count one call
/// of that very method per route, and no answer is a routing failure or a
/// server fault.
#[tokio::test]
async fn every_annotated_route_reaches_its_rpc() {
    let app = TestApp::spawn().await;
    let pool = aftercare_gateway::descriptors();
    let services: Vec<&str> = aftercare::registry::SERVICES.iter().map(|s| s.grpc_service).collect();
    let routes = aftercare_gateway::routes::from_pool(&pool, &services).unwrap();
    assert!(routes.len() > 100, "{} routes", routes.len());
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    for route in &routes {
        let (service, method) = route.grpc_path[1..].split_once('/').unwrap();
        let def = aftercare::registry::SERVICES
            .iter()
            .find(|d| d.grpc_service == service)
            .unwrap();
        let roles = def.roles.iter().find(|(m, _)| *m == method).unwrap().1;
        let role = if route.me { Role::Customer } else { roles[0] };
        let token = app.token(role, "c-route");
        let path = route
            .template
            .text
            .split('/')
            .map(|segment| match segment.find('{') {
                Some(start) => {
                    let end = segment.find('}').unwrap();
                    format!("{}x-1{}", &segment[..start], &segment[end + 1..])
                }
                None => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        let body = (route.body != aftercare_gateway::routes::BodyRule::None).then(|| json!({}));
        let answer = rest(&app, route.method.clone(), &path, Some(&token), body, &[]).await;
        let label = format!("{} {path} ({role})", route.method);
        assert!(
            !answer.status.is_server_error(),
            "{label}: {}",
            String::from_utf8_lossy(&answer.raw)
        );
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{label}");
        assert_ne!(answer.status, StatusCode::UNAUTHORIZED, "{label}");
        if answer.status != StatusCode::OK {
            assert_ne!(answer.json["error"]["message"], "no such route", "{label}");
            status_name(&answer);
        }
        *calls.entry(route.grpc_path.clone()).or_default() += 1;
    }
    // The server counted every call under the RPC the route names.
    let (_, metrics) = app.admin_get("/metrics").await;
    for (path, n) in calls {
        let (service, method) = path[1..].split_once('/').unwrap();
        let labels = format!("service=\"{service}\",method=\"{method}\"");
        let counted: u64 = metrics
            .lines()
            .filter(|l| l.starts_with("aftercare_rpc_requests_total{") && l.contains(&labels))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(counted, n, "{path}");
    }
}

/// Holds loyalty's accounts table locked until the transaction ends: its
/// reads wait, as they would on a stalled service.
async fn stall_loyalty(app: &TestApp) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut stall = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE loyalty.accounts IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *stall)
        .await
        .unwrap();
    stall
}

/// A gRPC-Web call frame: a message, then (in answers) a trailer frame.
fn grpc_web_frame(message: &[u8]) -> Bytes {
    let mut frame = BytesMut::new();
    frame.put_u8(0);
    frame.put_u32(message.len() as u32);
    frame.put_slice(message);
    frame.freeze()
}

#[tokio::test]
async fn grpc_web_calls_the_same_contract_from_an_allowed_origin() {
    let app = TestApp::spawn().await;
    delivered(&app, "O-WEB-1", "c-1").await;
    let customer = app.token(Role::Customer, "c-1");
    let request = aftercare_proto::orders::GetOrderRequest {
        order_id: "O-WEB-1".into(),
    };
    let call = |token: String, order_id: &str| {
        let body = grpc_web_frame(
            &aftercare_proto::orders::GetOrderRequest {
                order_id: order_id.into(),
            }
            .encode_to_vec(),
        );
        http::Request::post(format!(
            "http://{}/aftercare.orders.v1.OrderService/GetOrder",
            app.grpc_addr
        ))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("origin", ALLOWED_ORIGIN)
        .header("authorization", format!("Bearer {token}"))
        .body(Full::new(body))
        .unwrap()
    };
    let answer = send(call(customer.clone(), &request.order_id)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["access-control-allow-origin"], ALLOWED_ORIGIN);
    // What a browser's gRPC-Web client must be able to read.
    let exposed = answer.headers["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        exposed.contains("grpc-status") && exposed.contains("grpc-message"),
        "{exposed}"
    );
    let mut body = answer.raw.clone();
    assert_eq!(body.get_u8(), 0, "a message frame first");
    let len = body.get_u32() as usize;
    let got = aftercare_proto::orders::Order::decode(&body[..len]).unwrap();
    assert_eq!(got.order_id, "O-WEB-1");
    body.advance(len);
    assert_eq!(body.get_u8(), 0x80, "then the trailers frame");
    let len = body.get_u32() as usize;
    let trailers = String::from_utf8(body[..len].to_vec()).unwrap();
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    // The same permissions as over gRPC: another customer's order is not theirs.
    let stranger = app.token(Role::Customer, "c-2");
    let answer = send(call(stranger, "O-WEB-1")).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "gRPC-Web carries the error in its status"
    );
    // NOT_FOUND (5) or PERMISSION_DENIED (7), never the order.
    let status = answer
        .headers
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(matches!(status.as_deref(), Some("5" | "7")), "{status:?}");
    assert!(!String::from_utf8_lossy(&answer.raw).contains("O-WEB-1"));
}

#[tokio::test]
async fn cors_admits_configured_origins_only() {
    let app = TestApp::spawn().await;
    for (addr, path) in [
        (app.grpc_addr, "/aftercare.orders.v1.OrderService/GetOrder"),
        (app.http_addr, "/v1/orders/O-1"),
    ] {
        let preflight = |origin: &str| {
            http::Request::builder()
                .method(Method::OPTIONS)
                .uri(format!("http://{addr}{path}"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization,content-type,x-grpc-web",
                )
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let allowed = send(preflight(ALLOWED_ORIGIN)).await;
        assert!(allowed.status.is_success(), "{path}: {}", allowed.status);
        assert_eq!(allowed.headers["access-control-allow-origin"], ALLOWED_ORIGIN, "{path}");
        let methods = allowed.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(methods.contains("POST"), "{methods}");
        let other = send(preflight("http://evil.test")).await;
        assert!(other.headers.get("access-control-allow-origin").is_none(), "{path}");
    }
    // A REST answer carries the grant too, and what a browser may read.
    let token = app.token(Role::Customer, "c-1");
    let answer = rest(
        &app,
        Method::GET,
        "/v1/me/points",
        Some(&token),
        None,
        &[("origin", ALLOWED_ORIGIN)],
    )
    .await;
    assert_eq!(answer.headers["access-control-allow-origin"], ALLOWED_ORIGIN);
    let answer = rest(
        &app,
        Method::GET,
        "/v1/me/points",
        Some(&token),
        None,
        &[("origin", "http://evil.test")],
    )
    .await;
    assert!(answer.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = TestApp::spawn().await;
    let answer = rest(&app, Method::GET, "/openapi.json", None, None, &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["openapi"], "3.1.0");
    let checked_in: Value = serde_json::from_str(include_str!("../../proto/openapi.json")).unwrap();
    assert_eq!(
        answer.json, checked_in,
        "a server of every service serves the checked-in document"
    );
}

#[tokio::test]
async fn callers_are_rate_limited_per_subject_and_per_ip_across_rest_and_grpc() {
    use aftercare_platform::ratelimit::Rate;
    let app = TestApp::spawn_configured(|o| {
        // A bucket of three (two without a token) that refills only after
        // the test is over.
        o.rate_per_caller = Some(Rate {
            per_second: 0.001,
            burst: 3,
        });
        o.rate_per_ip = Some(Rate {
            per_second: 0.001,
            burst: 2,
        });
        // The test's own address stands for a load balancer.
        o.trusted_proxies = vec![aftercare_platform::ratelimit::Cidr::parse("127.0.0.1").unwrap()];
    })
    .await;
    let customer = app.token(Role::Customer, "c-1");
    for _ in 0..3 {
        let answer = rest(&app, Method::GET, "/v1/me/points", Some(&customer), None, &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let limited = rest(&app, Method::GET, "/v1/me/points", Some(&customer), None, &[]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status_name(&limited), "RESOURCE_EXHAUSTED");
    let retry_after: u64 = limited.headers[http::header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((900..=1000).contains(&retry_after), "{retry_after}");
    let details = limited.json["error"]["details"].to_string();
    assert!(
        details.contains("RetryInfo") && details.contains("RATE_LIMITED"),
        "{details}"
    );
    // Charged before the body is read: a bad body over the limit is 429.
    let junk = rest(
        &app,
        Method::POST,
        "/v1/me/points:quoteRedemption",
        Some(&customer),
        Some(json!([1])),
        &[],
    )
    .await;
    assert_eq!(junk.status, StatusCode::TOO_MANY_REQUESTS);

    // One bucket per caller, whichever way they call.
    let over_grpc = app
        .loyalty(Role::Customer, "c-1")
        .get_account(aftercare_proto::loyalty::GetAccountRequest {
            customer_id: "c-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(over_grpc.code(), tonic::Code::ResourceExhausted);
    let other = app.token(Role::Customer, "c-2");
    let answer = rest(&app, Method::GET, "/v1/me/points", Some(&other), None, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "another customer has their own bucket");
    // The store's own backends and staff are not limited.
    let service = app.token(Role::Service, "storefront");
    for _ in 0..10 {
        let answer = rest(&app, Method::GET, "/v1/loyalty/accounts/c-1", Some(&service), None, &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
    }

    // Without a valid token, by address: two refusals, then a slow-down.
    for _ in 0..2 {
        let answer = rest(&app, Method::GET, "/v1/loyalty/accounts/c-1", Some("forged"), None, &[]).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let answer = rest(&app, Method::GET, "/v1/loyalty/accounts/c-1", None, None, &[]).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    // The same address over gRPC is limited too; health never is.
    let refused = app
        .orders_with(crate::support::Bearer::from_header("Bearer forged"))
        .get_order(aftercare_proto::orders::GetOrderRequest { order_id: "O-1".into() })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    // Another client behind the trusted balancer has a bucket of its own;
    // what it writes left of its own address is not believed.
    let behind = [("x-forwarded-for", "203.0.113.9, 198.51.100.7")];
    for _ in 0..2 {
        let answer = rest(&app, Method::GET, "/v1/loyalty/accounts/c-1", None, None, &behind).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let forged = [("x-forwarded-for", "203.0.113.10, 198.51.100.7")];
    let answer = rest(&app, Method::GET, "/v1/loyalty/accounts/c-1", None, None, &forged).await;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the same client, whatever it claims"
    );
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel());
    for _ in 0..5 {
        let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
        health.check(request).await.unwrap();
    }
}

#[tokio::test]
async fn the_overview_composes_every_section_and_a_slow_one_only_degrades_itself() {
    let app = TestApp::spawn_configured(|o| o.gateway.overview_deadline = std::time::Duration::from_millis(500)).await;
    delivered(&app, "O-OV-1", "c-1").await;
    let customer = app.token(Role::Customer, "c-1");
    let created = rest(
        &app,
        Method::POST,
        "/v1/orders/O-OV-1/returns",
        Some(&customer),
        Some(return_body()),
        &[("idempotency-key", "ov-1")],
    )
    .await;
    let return_id = created.json["returnId"].as_str().unwrap().to_owned();
    // Someone else's return is not in c-1's overview.
    delivered(&app, "O-OV-2", "c-2").await;
    let other = app.token(Role::Customer, "c-2");
    rest(
        &app,
        Method::POST,
        "/v1/orders/O-OV-2/returns",
        Some(&other),
        Some(return_body()),
        &[("idempotency-key", "ov-2")],
    )
    .await;

    let overview = rest(&app, Method::GET, "/v1/me/overview", Some(&customer), None, &[]).await;
    assert_eq!(overview.status, StatusCode::OK);
    let o = &overview.json;
    assert_eq!(o["customerId"], "c-1");
    for section in ["returns", "claims", "points", "maintenance"] {
        assert_eq!(o[section]["available"], true, "{section}: {o}");
    }
    let open = o["returns"]["open"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{o}");
    assert_eq!(open[0]["returnId"], return_id.as_str());
    assert!(
        open[0]["nextStep"].as_str().is_some_and(|s| !s.is_empty()),
        "each case says what comes next"
    );
    assert_eq!(o["points"]["account"]["customerId"], "c-1");
    assert_eq!(o["claims"]["open"], json!([]));

    // Loyalty stalls (its table locked): its section is marked, the rest
    // is there, and the answer comes at the deadline.
    let stall = stall_loyalty(&app).await;
    let degraded = rest(&app, Method::GET, "/v1/me/overview", Some(&customer), None, &[]).await;
    stall.rollback().await.unwrap();
    assert_eq!(degraded.status, StatusCode::OK);
    assert_eq!(
        degraded.json["points"],
        json!({"available": false, "reason": "DEADLINE_EXCEEDED"})
    );
    assert_eq!(degraded.json["returns"]["open"][0]["returnId"], return_id.as_str());
    assert_eq!(degraded.json["maintenance"]["available"], true);

    // Only customers have one.
    let service = app.token(Role::Service, "storefront");
    let answer = rest(&app, Method::GET, "/v1/me/overview", Some(&service), None, &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = rest(&app, Method::GET, "/v1/me/overview", None, None, &[]).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_overview_marks_services_this_deployment_does_not_run() {
    let app = TestApp::spawn_serving(&["orders", "returns"]).await;
    let customer = app.token(Role::Customer, "c-1");
    let overview = rest(&app, Method::GET, "/v1/me/overview", Some(&customer), None, &[]).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert_eq!(overview.json["returns"], json!({"available": true, "open": []}));
    for section in ["claims", "points", "maintenance"] {
        assert_eq!(
            overview.json[section],
            json!({"available": false, "reason": "NOT_SERVED"}),
            "{section}"
        );
    }
}

#[tokio::test]
async fn an_overview_with_no_section_to_show_is_unavailable() {
    let app = TestApp::spawn_serving(&["orders"]).await;
    let customer = app.token(Role::Customer, "c-1");
    let overview = rest(&app, Method::GET, "/v1/me/overview", Some(&customer), None, &[]).await;
    assert_eq!(overview.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status_name(&overview), "UNAVAILABLE");
}

#[tokio::test]
async fn a_call_past_the_gateway_deadline_is_504_and_values_keep_their_json_forms() {
    // Long enough for a first call on a loaded machine; the stalled one
    // waits it out whatever it is.
    let app = TestApp::spawn_configured(|o| o.gateway.deadline = std::time::Duration::from_secs(2)).await;
    let customer = app.token(Role::Customer, "c-1");
    let points = rest(&app, Method::GET, "/v1/me/points", Some(&customer), None, &[]).await;
    assert_eq!(points.status, StatusCode::OK);
    assert_eq!(points.json["available"], "0", "64-bit integers are strings");

    let stall = stall_loyalty(&app).await;
    let late = rest(&app, Method::GET, "/v1/me/points", Some(&customer), None, &[]).await;
    stall.rollback().await.unwrap();
    assert_eq!(late.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(status_name(&late), "DEADLINE_EXCEEDED");

    // Timestamps in RFC 3339.
    delivered(&app, "O-TS-1", "c-1").await;
    let order = rest(&app, Method::GET, "/v1/orders/O-TS-1", Some(&customer), None, &[]).await;
    let placed = order.json["placedAt"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(placed).is_ok(), "{placed}");
}
