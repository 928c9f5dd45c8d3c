//! What every deployment answers: gRPC health per service, server
//! reflection, the admin port's /metrics and /healthz.

use aftercare_platform::auth::Role;
use aftercare_proto::orders::GetOrderRequest;
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::fixtures::order;
use crate::support::TestApp;

#[tokio::test]
async fn health_answers_per_service() {
    let app = TestApp::spawn().await;
    let mut health = HealthClient::new(app.channel());
    for service in [
        "",
        "aftercare.orders.v1.OrderService",
        "aftercare.returns.v1.ReturnService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    let err = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
}

async fn reflect(app: &TestApp, request: MessageRequest) -> MessageResponse {
    let mut client = ServerReflectionClient::new(app.channel());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    responses.next().await.unwrap().unwrap().message_response.unwrap()
}

#[tokio::test]
async fn reflection_lists_services_and_serves_their_descriptors() {
    let app = TestApp::spawn().await;
    let MessageResponse::ListServicesResponse(list) = reflect(&app, MessageRequest::ListServices(String::new())).await
    else {
        panic!("expected a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "aftercare.orders.v1.OrderService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }

    // Older clients (grpcio, Postman) speak v1alpha.
    {
        use tonic_reflection::pb::v1alpha as alpha;
        let mut client = alpha::server_reflection_client::ServerReflectionClient::new(app.channel());
        let request = alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let response = responses.next().await.unwrap().unwrap().message_response.unwrap();
        let alpha::server_reflection_response::MessageResponse::ListServicesResponse(list) = response else {
            panic!("expected a service list")
        };
        assert!(
            list.service
                .iter()
                .any(|s| s.name == "aftercare.orders.v1.OrderService")
        );
    }

    let MessageResponse::FileDescriptorResponse(files) = reflect(
        &app,
        MessageRequest::FileContainingSymbol("aftercare.orders.v1.OrderService".into()),
    )
    .await
    else {
        panic!("expected descriptors")
    };
    let names: Vec<String> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| {
            <prost_types::FileDescriptorProto as prost::Message>::decode(&bytes[..])
                .unwrap()
                .name()
                .to_owned()
        })
        .collect();
    assert!(
        names.contains(&"aftercare/orders/v1/orders.proto".to_owned()),
        "{names:?}"
    );
}

#[tokio::test]
async fn admin_port_serves_metrics_and_healthz() {
    let app = TestApp::spawn().await;
    app.storefront().record_order(order("o-1", "c-1")).await.unwrap();
    let _ = app
        .orders(Role::Customer, "c-2")
        .get_order(GetOrderRequest { order_id: "o-1".into() })
        .await;

    let (status, body) = app.admin_get("/healthz").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body.trim(), "ok");

    let (status, metrics) = app.admin_get("/metrics").await;
    assert!(status.contains("200"), "{status}");
    for expected in [
        r#"aftercare_rpc_requests_total{service="aftercare.orders.v1.OrderService",method="RecordOrder",code="OK"} 1"#,
        r#"aftercare_rpc_requests_total{service="aftercare.orders.v1.OrderService",method="GetOrder",code="NOT_FOUND"} 1"#,
        r#"aftercare_rpc_duration_seconds_count{service="aftercare.orders.v1.OrderService",method="RecordOrder"} 1"#,
    ] {
        assert!(metrics.contains(expected), "missing {expected} in\n{metrics}");
    }
}

#[tokio::test]
async fn graceful_stop_finishes_and_frees_the_port() {
    let app = TestApp::spawn().await;
    app.storefront().record_order(order("o-1", "c-1")).await.unwrap();
    let addr = app.grpc_addr;
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after stop"
    );
}

#[tokio::test]
async fn a_deployment_that_consumes_no_events_is_healthy() {
    // Orders alone runs no event consumer: its idle dispatcher is alive.
    let app = TestApp::spawn_serving(&["orders"]).await;
    let mut health = HealthClient::new(app.channel());
    app.storefront().record_order(order("o-1", "c-1")).await.unwrap();
    for service in ["", "aftercare.orders.v1.OrderService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{service:?}");
    }
    assert!(
        health
            .check(HealthCheckRequest {
                service: "aftercare.returns.v1.ReturnService".into()
            })
            .await
            .is_err(),
        "returns is not served here"
    );
    let (status, _) = app.admin_get("/healthz").await;
    assert!(status.contains("200"), "{status}");
}
