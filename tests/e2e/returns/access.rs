//! Another customer's orders and returns are as absent as missing ones, and
//! nothing a customer does to them writes anything; request ids belong to
//! their caller.

use aftercare_proto::orders::{GetOrderRequest, ListOrdersRequest};

use super::*;

const OTHER: &str = "c-2";

/// Everything a call could have written.
async fn footprint(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "returns.returns",
        "returns.return_items",
        "returns.timeline",
        "returns.refunds",
        "platform.outbox_events",
        "platform.idempotency_keys",
    ] {
        out.push(app.count(&format!("SELECT count(*) FROM {table}")).await);
    }
    out.push(
        app.count("SELECT COALESCE(sum(requested_quantity), 0)::bigint FROM returns.order_lines")
            .await,
    );
    out
}

#[tokio::test]
async fn another_customers_order_and_return_are_not_found_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 1)]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    let before = footprint(&app).await;

    let mut other = app.returns(Role::Customer, OTHER);
    let mut other_orders = app.orders(Role::Customer, OTHER);
    let id = || r.return_id.clone();
    let mut answers: Vec<(&str, tonic::Status)> = vec![
        (
            "GetOrder",
            other_orders
                .get_order(GetOrderRequest { order_id: "o-1".into() })
                .await
                .unwrap_err(),
        ),
        (
            "CheckEligibility",
            other
                .check_eligibility(CheckEligibilityRequest {
                    order_id: "o-1".into(),
                    line_ids: vec![],
                })
                .await
                .unwrap_err(),
        ),
        (
            "CreateReturn",
            other
                .create_return(create("o-1", vec![refund_item("L2", 1)]))
                .await
                .unwrap_err(),
        ),
        (
            "GetReturn",
            other
                .get_return(GetReturnRequest { return_id: id() })
                .await
                .unwrap_err(),
        ),
        (
            "CancelReturn",
            other
                .cancel_return(CancelReturnRequest {
                    return_id: id(),
                    reason: "mine now".into(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "RecordReturnShipment",
            other
                .record_return_shipment(RecordReturnShipmentRequest {
                    return_id: id(),
                    carrier: "DHL".into(),
                    tracking_number: "X1".into(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "AddReturnMessage",
            other
                .add_return_message(AddReturnMessageRequest {
                    return_id: id(),
                    text: "hello".into(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ),
    ];
    // A missing return answers exactly like another customer's.
    let missing_id = uuid::Uuid::now_v7().to_string();
    let missing = other
        .get_return(GetReturnRequest {
            return_id: missing_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.message(), format!("return {missing_id:?} not found"));
    for (rpc, status) in answers.drain(..) {
        assert_eq!(status.code(), Code::NotFound, "{rpc}: {status:?}");
        // (A return id may contain "c-1" by chance; the owner never appears.)
        let message = status.message().replace(&r.return_id, "RETURN");
        assert!(!message.contains(CUSTOMER), "{rpc} names the owner: {message}");
        let expected = match rpc {
            "GetOrder" | "CheckEligibility" | "CreateReturn" => "order \"o-1\" not found".to_owned(),
            _ => format!("return {:?} not found", r.return_id),
        };
        assert_eq!(status.message(), expected, "{rpc}");
    }
    for status in [
        other
            .list_returns(ListReturnsRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
        other_orders
            .list_orders(ListOrdersRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let own = other
        .list_returns(ListReturnsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(own.returns.is_empty());
    assert_eq!(footprint(&app).await, before, "nothing was written");
    assert_eq!(get(&app, &r.return_id).await.status(), ReturnStatus::Approved);
}

#[tokio::test]
async fn request_ids_belong_to_their_caller() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    record_delivered(&app, order("o-2", OTHER)).await;

    // A predictable key, used first by c-1, then by c-2 for their own order.
    let mut first = create("o-1", vec![refund_item("L1", 1)]);
    first.request_id = "return-1".into();
    let mut second = create("o-2", vec![refund_item("L1", 1)]);
    second.request_id = "return-1".into();
    let mine = customer(&app).create_return(first.clone()).await.unwrap().into_inner();
    let theirs = app
        .returns(Role::Customer, OTHER)
        .create_return(second)
        .await
        .unwrap()
        .into_inner();
    assert_ne!(mine.return_id, theirs.return_id);
    assert_eq!((theirs.order_id.as_str(), theirs.customer_id.as_str()), ("o-2", OTHER));
    // Each caller's replay is still their own.
    let again = customer(&app).create_return(first).await.unwrap().into_inner();
    assert_eq!(again.return_id, mine.return_id);

    // Two payment tools using the same key refund two different returns:
    // the first refund succeeds and stores its key; the second tool's key is
    // its own, not a reuse of the first's (ALREADY_EXISTS).
    for r in [&mine, &theirs] {
        approve(&app, &r.return_id).await;
        agent(&app)
            .record_return_shipment(RecordReturnShipmentRequest {
                return_id: r.return_id.clone(),
                carrier: "DHL".into(),
                tracking_number: "T".into(),
            })
            .await
            .unwrap();
        receive(&app, &r.return_id, &[("L1", 1, Grade::Resellable)]).await;
    }
    let key = |id: &str| IssueRefundRequest {
        return_id: id.into(),
        request_id: "refund-1".into(),
    };
    let a = app
        .returns(Role::Service, "payments-a")
        .issue_refund(key(&mine.return_id))
        .await
        .unwrap()
        .into_inner();
    let b = app
        .returns(Role::Service, "payments-b")
        .issue_refund(key(&theirs.return_id))
        .await
        .expect("not ALREADY_EXISTS: the key is b's own")
        .into_inner();
    assert_ne!(a.refund_id, b.refund_id);
    assert_eq!(b.return_id, theirs.return_id);
}
