//! Deliveries, cancellations, and who sees which orders.

use aftercare_platform::auth::Role;
use aftercare_proto::order_events::OrderDelivered;
use aftercare_proto::orders::{
    CancelOrderRequest, GetOrderRequest, ListOrdersRequest, OrderStatus, RecordDeliveryRequest,
};
use chrono::Duration;
use prost::Message;
use tonic::Code;

use crate::fixtures::{order, ts};
use crate::support::{TestApp, reason, start_time, violated_fields};

#[tokio::test]
async fn deliveries_are_recorded_per_line_and_keep_the_first_time() {
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    client.record_order(order("o-1", "c-1")).await.unwrap();
    let first_time = start_time() - Duration::days(1);

    let o = client
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: ts(first_time),
            line_ids: vec!["L2".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(o.status(), OrderStatus::PartiallyDelivered);
    assert_eq!(o.lines[1].delivered_at, ts(first_time));
    assert_eq!(o.lines[0].delivered_at, None);

    // Everything else now; L2 keeps its first delivery time.
    let o = client
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(o.status(), OrderStatus::Delivered);
    assert_eq!(o.lines[0].delivered_at, ts(start_time()));
    assert_eq!(o.lines[1].delivered_at, ts(first_time));

    // A repeat delivers nothing new and emits nothing.
    client
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    let delivered: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM platform.outbox_events
         WHERE topic = 'aftercare.orders.events.v1.OrderDelivered' ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let line_ids: Vec<Vec<String>> = delivered
        .iter()
        .map(|p| OrderDelivered::decode(p.as_slice()).unwrap().line_ids)
        .collect();
    assert_eq!(line_ids, [vec!["L2"], vec!["L1", "L3"]]);
}

#[tokio::test]
async fn bad_deliveries_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    client.record_order(order("o-1", "c-1")).await.unwrap();
    let cases = [
        (
            RecordDeliveryRequest {
                order_id: "o-1".into(),
                delivered_at: None,
                line_ids: vec![],
            },
            "delivered_at",
        ),
        (
            RecordDeliveryRequest {
                order_id: "o-1".into(),
                delivered_at: ts(start_time() - Duration::days(30)),
                line_ids: vec![],
            },
            "delivered_at",
        ),
        (
            RecordDeliveryRequest {
                order_id: "o-1".into(),
                delivered_at: ts(start_time() + Duration::hours(1)),
                line_ids: vec![],
            },
            "delivered_at",
        ),
        (
            RecordDeliveryRequest {
                order_id: "o-1".into(),
                delivered_at: ts(start_time()),
                line_ids: vec!["nope".into()],
            },
            "line_ids[0]",
        ),
        (
            RecordDeliveryRequest {
                order_id: "".into(),
                delivered_at: ts(start_time()),
                line_ids: vec![],
            },
            "order_id",
        ),
    ];
    for (req, field) in cases {
        let err = client.record_delivery(req).await.unwrap_err();
        assert_eq!(violated_fields(&err), [field]);
    }
    let err = client
        .record_delivery(RecordDeliveryRequest {
            order_id: "missing".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        app.count("SELECT count(*) FROM orders.order_lines WHERE delivered_at IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic LIKE 'aftercare.orders.%' AND topic <> 'aftercare.orders.events.v1.OrderRecorded'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn cancel_only_before_any_delivery() {
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    client.record_order(order("o-1", "c-1")).await.unwrap();
    client.record_order(order("o-2", "c-1")).await.unwrap();

    let canceled = client
        .cancel_order(CancelOrderRequest {
            order_id: "o-1".into(),
            reason: "customer changed mind".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canceled.status(), OrderStatus::Canceled);
    assert_eq!(canceled.cancel_time, ts(start_time()));
    // Canceling again changes nothing and emits nothing more.
    let again = client
        .cancel_order(CancelOrderRequest {
            order_id: "o-1".into(),
            reason: "".into(),
        })
        .await
        .unwrap();
    assert_eq!(again.into_inner(), canceled);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.orders.events.v1.OrderCanceled'"
        )
        .await,
        1
    );
    // A canceled order cannot be delivered.
    let err = client
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::FailedPrecondition, "ORDER_CANCELED")
    );

    // Once a line is delivered, cancel is refused with a reason.
    client
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-2".into(),
            delivered_at: ts(start_time()),
            line_ids: vec!["L1".into()],
        })
        .await
        .unwrap();
    let err = client
        .cancel_order(CancelOrderRequest {
            order_id: "o-2".into(),
            reason: "".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(reason(&err), "ORDER_ALREADY_DELIVERED");
    let o2 = client
        .get_order(GetOrderRequest { order_id: "o-2".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(o2.status(), OrderStatus::PartiallyDelivered);
}

#[tokio::test]
async fn customers_see_only_their_own_orders() {
    let app = TestApp::spawn().await;
    app.storefront().record_order(order("o-mine", "c-1")).await.unwrap();
    app.storefront().record_order(order("o-theirs", "c-2")).await.unwrap();

    let mut me = app.orders(Role::Customer, "c-1");
    let mine = me
        .get_order(GetOrderRequest {
            order_id: "o-mine".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.customer_id, "c-1");
    let err = me
        .get_order(GetOrderRequest {
            order_id: "o-theirs".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let missing = me
        .get_order(GetOrderRequest {
            order_id: "o-none".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.message().replace("o-theirs", "X"),
        missing.message().replace("o-none", "X"),
        "indistinguishable"
    );

    let listed = me.list_orders(ListOrdersRequest::default()).await.unwrap().into_inner();
    assert_eq!(
        listed.orders.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>(),
        ["o-mine"]
    );
    let err = me
        .list_orders(ListOrdersRequest {
            customer_id: "c-2".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Staff must say whose orders.
    let err = app
        .orders(Role::Agent, "a-1")
        .list_orders(ListOrdersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["customer_id"]);
}

#[tokio::test]
async fn list_orders_pages_newest_first() {
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    for i in 0..7 {
        let mut req = order(&format!("o-{i}"), "c-1");
        req.placed_at = ts(start_time() - Duration::days(10) + Duration::hours(i));
        client.record_order(req).await.unwrap();
    }
    client.record_order(order("o-other", "c-2")).await.unwrap();

    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_orders(ListOrdersRequest {
                customer_id: "c-1".into(),
                page_size: 3,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(page.orders.into_iter().map(|o| o.order_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["o-6", "o-5", "o-4", "o-3", "o-2", "o-1", "o-0"]);

    // A token from one customer's listing is refused for another's.
    let first = client
        .list_orders(ListOrdersRequest {
            customer_id: "c-1".into(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let err = client
        .list_orders(ListOrdersRequest {
            customer_id: "c-2".into(),
            page_size: 3,
            page_token: first.next_page_token,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_token"]);
    let err = client
        .list_orders(ListOrdersRequest {
            customer_id: "c-1".into(),
            page_size: -1,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["page_size"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_racing_a_delivery_never_cancels_a_delivered_order() {
    let app = TestApp::spawn().await;
    let client = app.storefront();
    for i in 0..20 {
        let id = format!("race-{i}");
        client.clone().record_order(order(&id, "c-1")).await.unwrap();
        let (mut a, mut b) = (client.clone(), client.clone());
        let deliver = a.record_delivery(RecordDeliveryRequest {
            order_id: id.clone(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        });
        let cancel = b.cancel_order(CancelOrderRequest {
            order_id: id.clone(),
            reason: "race".into(),
        });
        let (delivered, canceled) = tokio::join!(deliver, cancel);
        // Exactly one wins, whichever took the order's lock first.
        assert_ne!(
            delivered.is_ok(),
            canceled.is_ok(),
            "{id}: {delivered:?} / {canceled:?}"
        );
        let events = app
            .count(&format!(
                "SELECT count(*) FROM platform.outbox_events WHERE aggregate_id = '{id}'
                   AND topic IN ('aftercare.orders.events.v1.OrderDelivered',
                                 'aftercare.orders.events.v1.OrderCanceled')"
            ))
            .await;
        assert_eq!(events, 1, "{id}: one of delivery and cancellation, never both");
    }
}
