//! Order intake and returns deployed apart: an order (and its delivery) the
//! storefront just recorded is known to returns at once, even when returns'
//! dispatcher is far from its next poll.

use std::sync::Arc;
use std::time::Duration;

use aftercare::server::{AppState, Background, ServeOptions};
use aftercare_platform::auth::{Authenticator, JwtKey};
use aftercare_platform::clock::SystemClock;
use aftercare_platform::outbox::DispatchOptions;
use aftercare_platform::telemetry::Metrics;
use aftercare_proto::orders::order_service_client::OrderServiceClient;
use aftercare_proto::returns::return_service_client::ReturnServiceClient;
use tonic::transport::Channel;

use super::*;
use crate::support::{Bearer, SECRET, TestDb};

async fn deployment(db: &TestDb, services: &str, auth: Arc<Authenticator>) -> (Background, Channel) {
    let state = AppState {
        pool: db.pool(5).await,
        clock: Arc::new(SystemClock),
        auth,
        metrics: Metrics::default(),
    };
    let options = ServeOptions {
        services: vec![services.into()],
        // Returns' own dispatcher would take an hour to notice the order.
        dispatch: DispatchOptions {
            poll_interval: Duration::from_secs(3600),
            ..DispatchOptions::default()
        },
        ..Default::default()
    };
    let server = Background::start(state, options, false).await.unwrap();
    let channel = Channel::from_shared(format!("http://{}", server.grpc_addr))
        .unwrap()
        .connect_lazy();
    (server, channel)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_just_recorded_is_known_to_returns_at_once() {
    let db = TestDb::create().await;
    let auth = Arc::new(Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap());
    let bearer = |role, subject| {
        Bearer::from_header(&format!(
            "Bearer {}",
            auth.issue(role, subject, Duration::from_secs(600)).unwrap()
        ))
    };
    let (orders_server, orders_channel) = deployment(&db, "orders", auth.clone()).await;
    let (returns_server, returns_channel) = deployment(&db, "returns", auth.clone()).await;
    let mut storefront = OrderServiceClient::with_interceptor(orders_channel, bearer(Role::Service, "storefront"));
    let mut returns = ReturnServiceClient::with_interceptor(returns_channel, bearer(Role::Customer, CUSTOMER));

    let mut req = order("o-now", CUSTOMER);
    req.placed_at = ts(chrono::Utc::now() - chrono::Duration::hours(2));
    storefront.record_order(req).await.unwrap();
    let lines = returns
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-now".into(),
            line_ids: vec![],
        })
        .await
        .expect("the order is known the moment RecordOrder answered")
        .into_inner()
        .lines;
    assert!(lines.iter().all(|l| l.reasons == ["NOT_DELIVERED"]), "{lines:?}");

    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-now".into(),
            delivered_at: ts(chrono::Utc::now() - chrono::Duration::hours(1)),
            line_ids: vec![],
        })
        .await
        .unwrap();
    let r = returns
        .create_return(create("o-now", vec![refund_item("L2", 1)]))
        .await
        .expect("the delivery too")
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Requested);
    // A missing order is still NOT_FOUND, not a wait.
    let missing = returns
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-never".into(),
            line_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    orders_server.stop().await.unwrap();
    returns_server.stop().await.unwrap();
}
