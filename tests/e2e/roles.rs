//! Every role against every RPC, and every kind of bad token.

use aftercare_platform::auth::Role;
use aftercare_proto::orders::{CancelOrderRequest, GetOrderRequest, ListOrdersRequest, RecordDeliveryRequest};
use tonic::Code;

use crate::fixtures::{order, ts};
use crate::support::{Bearer, Orders, SECRET, TestApp, start_time};

/// Calls one RPC with a request that would succeed for a permitted caller.
async fn call(client: &mut Orders, rpc: &str, n: usize) -> Result<(), tonic::Status> {
    let order_id = format!("o-{rpc}-{n}");
    match rpc {
        "RecordOrder" => client.record_order(order(&order_id, "c-1")).await.map(drop),
        "RecordDelivery" => client
            .record_delivery(RecordDeliveryRequest {
                order_id: "o-seed".into(),
                delivered_at: ts(start_time()),
                line_ids: vec![],
            })
            .await
            .map(drop),
        "CancelOrder" => client
            .cancel_order(CancelOrderRequest {
                order_id: "o-cancel".into(),
                reason: "".into(),
            })
            .await
            .map(drop),
        "GetOrder" => client
            .get_order(GetOrderRequest {
                order_id: "o-seed".into(),
            })
            .await
            .map(drop),
        "ListOrders" => client
            .list_orders(ListOrdersRequest {
                customer_id: "c-1".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_rpc() {
    let app = TestApp::spawn().await;
    app.storefront().record_order(order("o-seed", "c-1")).await.unwrap();
    app.storefront().record_order(order("o-cancel", "c-1")).await.unwrap();

    let allowed = |rpc: &str, role: Role| match rpc {
        "RecordOrder" | "RecordDelivery" | "CancelOrder" => {
            matches!(role, Role::Service | Role::Agent)
        }
        // Everyone but a service partner, who sees no customer's data.
        "GetOrder" | "ListOrders" => role != Role::Partner,
        other => panic!("{other}"),
    };
    let rpcs = ["RecordOrder", "RecordDelivery", "CancelOrder", "GetOrder", "ListOrders"];
    // The table in the service and this matrix must name the same RPCs.
    let table: Vec<&str> = aftercare_orders::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(table, rpcs);

    for (n, rpc) in rpcs.iter().enumerate() {
        for role in Role::ALL {
            // The customer is c-1, the owner of the seeded orders.
            let mut client = app.orders(role, "c-1");
            let result = call(&mut client, rpc, n).await;
            if allowed(rpc, role) {
                assert!(result.is_ok(), "{role} should be able to call {rpc}: {result:?}");
            } else {
                assert_eq!(
                    result.unwrap_err().code(),
                    Code::PermissionDenied,
                    "{role} must not call {rpc}"
                );
            }
        }
        let anonymous = call(&mut app.orders_anonymous(), rpc, n).await.unwrap_err();
        assert_eq!(anonymous.code(), Code::Unauthenticated, "{rpc} without a token");
    }
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_and_write_nothing() {
    let app = TestApp::spawn().await;
    let good = app.token(Role::Service, "storefront");
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    // Flip one character of the signature.
    let sig = parts[2].clone();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    parts[2] = format!("{flipped}{}", &sig[1..]);
    let tampered = parts.join(".");
    let other_key = aftercare_platform::auth::Authenticator::new(&aftercare_platform::auth::JwtKey::Secret(
        SECRET.iter().rev().copied().collect(),
    ))
    .unwrap()
    .issue(Role::Service, "storefront", std::time::Duration::from_secs(60))
    .unwrap();
    let header_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let alg_none = format!("{header_none}.{}.", good.split('.').nth(1).unwrap());

    for (name, value) in [
        ("tampered", format!("Bearer {tampered}")),
        ("other key", format!("Bearer {other_key}")),
        ("alg none", format!("Bearer {alg_none}")),
        ("not bearer", format!("Token {good}")),
        ("garbage", "Bearer abc.def.ghi".to_owned()),
    ] {
        let mut client = app.orders_with(Bearer::from_header(&value));
        let err = client.record_order(order("o-x", "c-1")).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{name}");
    }
    assert_eq!(app.count("SELECT count(*) FROM orders.orders").await, 0);
}
