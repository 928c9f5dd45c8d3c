//! The gateway's rows: `GetReturn` over REST (`GET /v1/returns/{id}`,
//! HTTP/1.1 with keep-alive) and over gRPC-Web, by this benchmark's own
//! hyper client, to hold beside the same call over gRPC (row `GetReturn`).

use std::sync::Arc;
use std::time::Duration;

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_proto::returns::GetReturnRequest;
use bytes::{BufMut, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message;

use crate::external::Server;
use crate::measure::{self, Row};
use crate::workload::Workload;

type Http = Client<HttpConnector, Full<Bytes>>;

async fn answer(
    client: Http,
    request: http::Request<Full<Bytes>>,
    ok: fn(&http::HeaderMap, &[u8]) -> bool,
) -> Result<(), String> {
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    match status == http::StatusCode::OK && ok(&headers, &body) {
        true => Ok(()),
        false => Err(format!("{status}: {}", String::from_utf8_lossy(&body))),
    }
}

pub async fn rows(
    server: &Server,
    w: &Workload,
    auth: &Authenticator,
    pid: u32,
    clients: usize,
    duration: Duration,
) -> Vec<Row> {
    let bearer = format!(
        "Bearer {}",
        auth.issue(Role::Service, "bench", Duration::from_secs(3600)).unwrap()
    );
    let client: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build_http();
    let ids: Arc<Vec<String>> = w.return_ids();

    let (c, b, i, base) = (
        client.clone(),
        bearer.clone(),
        ids.clone(),
        format!("http://{}", server.http),
    );
    let mut rest = measure::closed_loop("REST GetReturn", pid, clients, duration, move |n| {
        let request = http::Request::get(format!("{base}/v1/returns/{}", i[n % i.len()]))
            .header("authorization", &b)
            .body(Full::new(Bytes::new()))
            .unwrap();
        Some(answer(c.clone(), request, |_, body| body.starts_with(b"{")))
    })
    .await;
    rest.generator = "hyper";

    let base = format!("http://{}", server.grpc);
    let mut web = measure::closed_loop("gRPC-Web GetReturn", pid, clients, duration, move |n| {
        let message = GetReturnRequest {
            return_id: ids[n % ids.len()].clone(),
        }
        .encode_to_vec();
        let mut frame = BytesMut::with_capacity(5 + message.len());
        frame.put_u8(0);
        frame.put_u32(message.len() as u32);
        frame.put_slice(&message);
        let request = http::Request::post(format!("{base}/aftercare.returns.v1.ReturnService/GetReturn"))
            .header("authorization", &bearer)
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .body(Full::new(frame.freeze()))
            .unwrap();
        // The trailers come last, in the body: the call succeeded when
        // they say so.
        Some(answer(client.clone(), request, |_, body| {
            body.windows(13).any(|w| w == b"grpc-status:0")
        }))
    })
    .await;
    web.generator = "hyper";
    vec![rest, web]
}
