//! The embedded default: a private cluster in the data directory, started,
//! migrated, stopped with the server, and still holding the data next time.

use std::sync::Arc;
use std::time::Duration;

use aftercare::database::Database;
use aftercare::server::{AppState, Background, ServeOptions};
use aftercare_platform::auth::{Authenticator, JwtKey, Role};
use aftercare_platform::clock::SystemClock;
use aftercare_platform::telemetry::Metrics;
use aftercare_proto::orders::GetOrderRequest;
use aftercare_proto::orders::order_service_client::OrderServiceClient;
use tonic::transport::Channel;

use crate::fixtures::order;
use crate::support::{Bearer, SECRET};

/// Opens the embedded database in `dir`, serves on port 0, runs `body`
/// against it, then shuts the server and the cluster down.
async fn with_server<F, Fut>(dir: &std::path::Path, body: F)
where
    F: FnOnce(OrderServiceClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = Database::open(None, dir, 5).await.expect("embedded database");
    let auth = Arc::new(Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap());
    let token = auth
        .issue(Role::Service, "storefront", Duration::from_secs(60))
        .unwrap();
    let state = AppState {
        pool: db.pool.clone(),
        clock: Arc::new(SystemClock),
        auth,
        metrics: Metrics::default(),
    };
    let options = ServeOptions {
        services: vec!["orders".into()],
        ..Default::default()
    };
    let server = Background::start(state, options, false).await.unwrap();
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect_lazy();
    body(OrderServiceClient::with_interceptor(
        channel,
        Bearer::from_header(&format!("Bearer {token}")),
    ))
    .await;
    server.stop().await.unwrap();
    db.close().await;
}

#[tokio::test]
async fn data_survives_a_restart_of_the_embedded_cluster() {
    let dir = std::env::temp_dir().join(format!("aftercare-restart-{}", uuid::Uuid::now_v7().simple()));
    let mut placed_at = None;
    with_server(&dir, |mut client| async move {
        let mut req = order("o-kept", "c-1");
        req.placed_at = crate::fixtures::ts(chrono::Utc::now() - chrono::Duration::days(1));
        client.record_order(req).await.unwrap();
    })
    .await;
    // The cluster stopped with the server: its pid file is gone.
    assert!(!dir.join("postgres/postmaster.pid").exists());

    with_server(&dir, |mut client| {
        let placed = &mut placed_at;
        async move {
            let o = client
                .get_order(GetOrderRequest {
                    order_id: "o-kept".into(),
                })
                .await
                .unwrap()
                .into_inner();
            *placed = o.placed_at;
        }
    })
    .await;
    assert!(placed_at.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_cluster_left_by_a_crashed_owner_is_adopted_and_stopped() {
    use aftercare_platform::embedded::{EmbeddedPostgres, Options};
    let dir = std::env::temp_dir().join(format!("aftercare-adopt-{}", uuid::Uuid::now_v7().simple()));
    let first = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, Options { fsync: false }).unwrap())
            .await
            .unwrap()
    };
    assert!(first.owned());
    // The owner "crashes": its cluster keeps running, its pid is gone.
    std::mem::forget(first);
    std::fs::write(dir.join("owner.pid"), "999999999").unwrap();
    let adopted = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, Options { fsync: false }).unwrap())
            .await
            .unwrap()
    };
    assert!(adopted.owned(), "a dead owner's cluster is adopted");
    // With a live owner (pid 1 is always alive), a process attaches and
    // leaves the cluster to it.
    let attached = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let ours = std::fs::read_to_string(dir.join("owner.pid")).unwrap();
            std::fs::write(dir.join("owner.pid"), "1").unwrap();
            let attached = EmbeddedPostgres::start(&dir, Options { fsync: false }).unwrap();
            std::fs::write(dir.join("owner.pid"), ours).unwrap();
            attached
        })
        .await
        .unwrap()
    };
    assert!(!attached.owned(), "another live owner keeps it");
    drop(attached);
    assert!(
        dir.join("postgres/postmaster.pid").exists(),
        "an attached process leaves it running"
    );
    tokio::task::spawn_blocking(move || drop(adopted)).await.unwrap();
    assert!(!dir.join("postgres/postmaster.pid").exists(), "the adopter stopped it");
    let _ = std::fs::remove_dir_all(&dir);
}
