//! OrderService end to end: recording, replays and conflicts, deliveries,
//! cancellation, reads, paging, events, and every kind of bad input.

use aftercare_platform::auth::Role;
use aftercare_proto::common::Money;
use aftercare_proto::order_events::{OrderDelivered, OrderRecorded};
use aftercare_proto::orders::{
    CancelOrderRequest, GetOrderRequest, ListOrdersRequest, OrderStatus, RecordDeliveryRequest, RecordOrderRequest,
};
use chrono::Duration;
use prost::Message;
use tonic::Code;

use crate::fixtures::{eur, line, order, ts};
use crate::support::{TestApp, reason, start_time, violated_fields};

fn amount(m: &Option<Money>) -> &str {
    &m.as_ref().expect("money set").amount
}

#[tokio::test]
async fn record_order_computes_totals_and_emits_order_recorded() {
    let app = TestApp::spawn().await;
    let o = app
        .storefront()
        .record_order(order("o-1", "c-1"))
        .await
        .unwrap()
        .into_inner();

    assert_eq!(o.order_id, "o-1");
    assert_eq!(o.status(), OrderStatus::Placed);
    assert_eq!(amount(&o.subtotal), "40.00");
    assert_eq!(amount(&o.discount_total), "10.00");
    assert_eq!(amount(&o.total), "34.99");
    let allocations: Vec<&str> = o.lines.iter().map(|l| amount(&l.order_discount_allocation)).collect();
    assert_eq!(allocations, ["5.00", "2.50", "2.50"]);
    let paid: Vec<&str> = o.lines.iter().map(|l| amount(&l.paid_amount)).collect();
    assert_eq!(paid, ["15.00", "7.50", "7.50"]);
    assert_eq!(o.create_time, ts(start_time()));

    let (topic, payload): (String, Vec<u8>) =
        sqlx::query_as("SELECT topic, payload FROM platform.outbox_events WHERE aggregate_id = 'o-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(topic, "aftercare.orders.events.v1.OrderRecorded");
    let event = OrderRecorded::decode(payload.as_slice()).unwrap();
    assert_eq!(event.customer_id, "c-1");
    assert_eq!(amount(&event.total), "34.99");
    assert_eq!(event.lines.len(), 3);
    assert_eq!(amount(&event.lines[0].paid_amount), "15.00");
}

#[tokio::test]
async fn odd_discounts_split_by_largest_remainder_and_sum_to_the_total() {
    let app = TestApp::spawn().await;
    let mut req = order("o-odd", "c-1");
    req.lines = vec![line("A", 1, "1.00"), line("B", 1, "1.00"), line("C", 1, "1.00")];
    req.order_discount = eur("1.00");
    req.shipping_amount = None;
    let o = app.storefront().record_order(req).await.unwrap().into_inner();
    let allocations: Vec<&str> = o.lines.iter().map(|l| amount(&l.order_discount_allocation)).collect();
    assert_eq!(allocations, ["0.34", "0.33", "0.33"]);
    assert_eq!(amount(&o.total), "2.00");
    assert_eq!(amount(&o.shipping_amount), "0.00");
}

#[tokio::test]
async fn zero_decimal_currencies_are_priced_in_whole_units() {
    let app = TestApp::spawn().await;
    let yen = |a: &str| {
        Some(Money {
            currency_code: "JPY".into(),
            amount: a.into(),
        })
    };
    let mut req = order("o-jpy", "c-1");
    req.currency_code = "JPY".into();
    req.lines = vec![line("A", 1, "1000"), line("B", 2, "1000")];
    for l in &mut req.lines {
        l.unit_price = yen("1000");
    }
    req.order_discount = yen("100");
    req.shipping_amount = yen("500");
    let o = app.storefront().record_order(req).await.unwrap().into_inner();
    let allocations: Vec<&str> = o.lines.iter().map(|l| amount(&l.order_discount_allocation)).collect();
    assert_eq!(allocations, ["33", "67"]);
    assert_eq!(amount(&o.total), "3400");
}

#[tokio::test]
async fn replaying_record_order_returns_the_same_order_and_conflicts_are_already_exists() {
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    let first = client.record_order(order("o-1", "c-1")).await.unwrap().into_inner();
    app.clock.advance(Duration::minutes(5));
    let again = client.record_order(order("o-1", "c-1")).await.unwrap().into_inner();
    assert_eq!(first, again);

    let mut changed = order("o-1", "c-1");
    changed.lines[0].quantity = 3;
    let err = client.record_order(changed).await.unwrap_err();
    assert_eq!(err.code(), Code::AlreadyExists);
    assert_eq!(reason(&err), "ORDER_ID_CONFLICT");

    assert_eq!(app.count("SELECT count(*) FROM orders.orders").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM platform.outbox_events").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_record_orders_make_one_order_and_one_event() {
    let app = TestApp::spawn().await;
    let calls = (0..20).map(|_| {
        let mut client = app.storefront();
        tokio::spawn(async move {
            client
                .record_order(order("o-race", "c-1"))
                .await
                .map(|r| r.into_inner())
        })
    });
    let results: Vec<_> = futures_join(calls).await;
    let first = results[0].as_ref().unwrap();
    for r in &results {
        assert_eq!(r.as_ref().unwrap(), first);
    }
    assert_eq!(app.count("SELECT count(*) FROM orders.orders").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM orders.order_lines").await, 3);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.orders.events.v1.OrderRecorded'"
        )
        .await,
        1
    );
}

async fn futures_join<T: Send + 'static>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles.collect::<Vec<_>>() {
        out.push(h.await.unwrap());
    }
    out
}

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
            "SELECT count(*) FROM platform.outbox_events WHERE topic <> 'aftercare.orders.events.v1.OrderRecorded'"
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

/// One bad request per rule, and the field each must name.
fn invalid_orders() -> Vec<(&'static str, RecordOrderRequest, Vec<&'static str>)> {
    let base = || order("o-bad", "c-1");
    let with = |f: &dyn Fn(&mut RecordOrderRequest)| {
        let mut r = base();
        f(&mut r);
        r
    };
    vec![
        (
            "unknown currency",
            with(&|r| r.currency_code = "XYZ".into()),
            vec!["currency_code"],
        ),
        (
            "missing currency",
            with(&|r| r.currency_code = "".into()),
            vec!["currency_code"],
        ),
        (
            "too many decimals",
            with(&|r| r.lines[0].unit_price = eur("10.001")),
            vec!["lines[0].unit_price.amount"],
        ),
        (
            "not a number",
            with(&|r| r.shipping_amount = eur("ten")),
            vec!["shipping_amount.amount"],
        ),
        (
            "negative price",
            with(&|r| r.lines[1].unit_price = eur("-1.00")),
            vec!["lines[1].unit_price.amount"],
        ),
        (
            "missing price",
            with(&|r| r.lines[1].unit_price = None),
            vec!["lines[1].unit_price"],
        ),
        (
            "quantity zero",
            with(&|r| r.lines[2].quantity = 0),
            vec!["lines[2].quantity"],
        ),
        (
            "quantity negative",
            with(&|r| r.lines[2].quantity = -3),
            vec!["lines[2].quantity"],
        ),
        (
            "duplicate line ids",
            with(&|r| r.lines[2].line_id = "L1".into()),
            vec!["lines[2].line_id"],
        ),
        (
            "line in another currency",
            with(&|r| {
                r.lines[0].unit_price = Some(Money {
                    currency_code: "USD".into(),
                    amount: "1.00".into(),
                })
            }),
            vec!["lines[0].unit_price.currency_code"],
        ),
        ("empty order id", with(&|r| r.order_id = "".into()), vec!["order_id"]),
        (
            "empty customer id",
            with(&|r| r.customer_id = "".into()),
            vec!["customer_id"],
        ),
        (
            "empty line id",
            with(&|r| r.lines[0].line_id = "".into()),
            vec!["lines[0].line_id"],
        ),
        ("empty sku", with(&|r| r.lines[0].sku = "".into()), vec!["lines[0].sku"]),
        ("no lines", with(&|r| r.lines.clear()), vec!["lines"]),
        (
            "501 lines",
            with(&|r| r.lines = (0..501).map(|i| line(&format!("L{i}"), 1, "1.00")).collect()),
            vec!["lines"],
        ),
        (
            "long order id",
            with(&|r| r.order_id = "x".repeat(129)),
            vec!["order_id"],
        ),
        (
            "long product name",
            with(&|r| r.lines[0].product_name = "x".repeat(301)),
            vec!["lines[0].product_name"],
        ),
        (
            "long category",
            with(&|r| r.lines[0].category = "x".repeat(101)),
            vec!["lines[0].category"],
        ),
        (
            "control characters",
            with(&|r| r.customer_id = "c\u{0}1".into()),
            vec!["customer_id"],
        ),
        ("missing placed_at", with(&|r| r.placed_at = None), vec!["placed_at"]),
        (
            "placed in the future",
            with(&|r| r.placed_at = ts(start_time() + Duration::days(1))),
            vec!["placed_at"],
        ),
        (
            "bad timestamp",
            with(&|r| r.placed_at = Some(prost_types::Timestamp { seconds: 0, nanos: -1 })),
            vec!["placed_at"],
        ),
        ("unspecified channel", with(&|r| r.channel = 0), vec!["channel"]),
        ("unknown channel", with(&|r| r.channel = 99), vec!["channel"]),
        (
            "line discount above price",
            with(&|r| r.lines[1].discount = eur("10.01")),
            vec!["lines[1].discount"],
        ),
        (
            "order discount above total",
            with(&|r| r.order_discount = eur("40.01")),
            vec!["order_discount"],
        ),
        (
            "more serials than units",
            with(&|r| r.lines[1].serial_numbers = vec!["S1".into(), "S2".into()]),
            vec!["lines[1].serial_numbers"],
        ),
        (
            "huge amount",
            with(&|r| r.shipping_amount = eur("99999999999999")),
            vec!["shipping_amount.amount"],
        ),
        (
            "several at once",
            with(&|r| {
                r.order_id = "".into();
                r.lines[0].quantity = 0;
            }),
            vec!["order_id", "lines[0].quantity"],
        ),
    ]
}

#[tokio::test]
async fn invalid_orders_are_refused_with_field_violations_and_write_nothing() {
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    for (name, req, fields) in invalid_orders() {
        let err = client.record_order(req).await.expect_err(name);
        assert_eq!(violated_fields(&err), fields, "{name}");
    }
    assert_eq!(app.count("SELECT count(*) FROM orders.orders").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM platform.outbox_events").await, 0);
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let app = TestApp::spawn().await;
    let mut req = order("o-big", "c-1");
    req.lines[0].product_name = "x".repeat(5 * 1024 * 1024);
    let err = app.storefront().record_order(req).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert_eq!(app.count("SELECT count(*) FROM orders.orders").await, 0);
}
