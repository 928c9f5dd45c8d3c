//! The database goes away under the server and comes back: calls answer
//! UNAVAILABLE (retryable), never INTERNAL, health turns NOT_SERVING, and
//! both recover without a restart.

use std::sync::Arc;
use std::time::Duration;

use aftercare::server::{AppState, Background, ServeOptions};
use aftercare_platform::auth::{Authenticator, JwtKey, Role};
use aftercare_platform::clock::SystemClock;
use aftercare_platform::embedded::{EmbeddedPostgres, Options};
use aftercare_platform::telemetry::Metrics;
use aftercare_proto::orders::GetOrderRequest;
use aftercare_proto::orders::order_service_client::OrderServiceClient;
use sqlx::postgres::PgPoolOptions;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::fixtures::order;
use crate::support::{Bearer, SECRET};

async fn health_of(channel: &Channel) -> ServingStatus {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner()
        .status()
}

async fn until_health(channel: &Channel, want: ServingStatus) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while health_of(channel).await != want {
        assert!(std::time::Instant::now() < deadline, "health never became {want:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_unavailable_not_internal_and_recovers() {
    let dir = std::env::temp_dir().join(format!("aftercare-outage-{}", uuid::Uuid::now_v7().simple()));
    let mut cluster = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || EmbeddedPostgres::start(&dir, Options { fsync: true })
    })
    .await
    .unwrap()
    .unwrap();
    aftercare_platform::db::ensure_database(&cluster.url("postgres"), "aftercare")
        .await
        .unwrap();
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(2))
        .connect(&cluster.url("aftercare"))
        .await
        .unwrap();
    aftercare::database::MIGRATOR.run(&pool).await.unwrap();
    let auth = Arc::new(Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap());
    let token = auth
        .issue(Role::Service, "storefront", Duration::from_secs(600))
        .unwrap();
    let state = AppState {
        pool: pool.clone(),
        clock: Arc::new(SystemClock),
        auth,
        metrics: Metrics::default(),
    };
    let options = ServeOptions {
        services: vec!["orders".into()],
        health_probe_interval: Duration::from_millis(100),
        ..Default::default()
    };
    let server = Background::start(state, options, false).await.unwrap();
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect_lazy();
    let mut client =
        OrderServiceClient::with_interceptor(channel.clone(), Bearer::from_header(&format!("Bearer {token}")));
    let mut req = order("o-1", "c-1");
    req.placed_at = crate::fixtures::ts(chrono::Utc::now() - chrono::Duration::days(1));
    client.record_order(req).await.unwrap();
    until_health(&channel, ServingStatus::Serving).await;

    let cluster = tokio::task::spawn_blocking(move || {
        cluster.interrupt().unwrap();
        cluster
    })
    .await
    .unwrap();
    for _ in 0..3 {
        let err = client
            .get_order(GetOrderRequest { order_id: "o-1".into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(!err.message().contains("database"), "no internals: {}", err.message());
    }
    until_health(&channel, ServingStatus::NotServing).await;

    let mut cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.resume().unwrap();
        cluster
    })
    .await
    .unwrap();
    until_health(&channel, ServingStatus::Serving).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match client.get_order(GetOrderRequest { order_id: "o-1".into() }).await {
            Ok(o) => {
                assert_eq!(o.into_inner().order_id, "o-1", "nothing acknowledged was lost");
                break;
            }
            Err(e) => {
                assert_eq!(e.code(), Code::Unavailable, "{e:?}");
                assert!(std::time::Instant::now() < deadline, "never recovered");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    server.stop().await.unwrap();
    pool.close().await;
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
