//! Invalid and oversized orders are refused with field violations and write nothing.

use aftercare_proto::common::Money;
use aftercare_proto::orders::{ListOrdersRequest, RecordOrderRequest};
use chrono::Duration;
use tonic::Code;

use crate::fixtures::{eur, line, order, ts};
use crate::support::{TestApp, start_time, violated_fields};

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

#[tokio::test]
async fn a_page_of_large_orders_stays_within_what_a_client_accepts() {
    let app = TestApp::spawn().await;
    let mut storefront = app.storefront();
    let name = "n".repeat(300);
    for n in 0..12 {
        let mut req = order(&format!("big-{n:02}"), "c-1");
        req.order_discount = None;
        req.lines = (0..500)
            .map(|i| {
                let mut l = line(&format!("L{i}"), 1, "1.00");
                l.product_name = name.clone();
                l
            })
            .collect();
        storefront.record_order(req).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = storefront
            .list_orders(ListOrdersRequest {
                customer_id: "c-1".into(),
                page_size: 200,
                page_token: token.clone(),
            })
            .await
            .expect("every page fits the client's 4 MiB limit")
            .into_inner();
        pages += 1;
        assert!(prost::Message::encoded_len(&page) < 4 * 1024 * 1024);
        seen.extend(page.orders.into_iter().map(|o| o.order_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert!(pages > 1, "12 orders of 500 lines do not fit one page");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "every order exactly once: {seen:?}");
}
