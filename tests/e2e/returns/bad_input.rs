//! Malformed requests are INVALID_ARGUMENT and write nothing; order facts arriving out of order are retried, not lost.

use super::*;

#[tokio::test]
async fn malformed_returns_are_invalid_and_write_nothing() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let base = || create("o-1", vec![refund_item("L1", 1)]);
    let with = |f: &dyn Fn(&mut CreateReturnRequest)| {
        let mut r = base();
        f(&mut r);
        r
    };
    let cases: Vec<(&str, CreateReturnRequest, Vec<&str>)> = vec![
        ("no request id", with(&|r| r.request_id.clear()), vec!["request_id"]),
        ("no order id", with(&|r| r.order_id.clear()), vec!["order_id"]),
        ("no channel", with(&|r| r.channel = 0), vec!["channel"]),
        ("no items", with(&|r| r.items.clear()), vec!["items"]),
        (
            "too many items",
            with(&|r| r.items = (0..101).map(|i| refund_item(&format!("L{i}"), 1)).collect()),
            vec!["items"],
        ),
        (
            "quantity zero",
            with(&|r| r.items[0].quantity = 0),
            vec!["items[0].quantity"],
        ),
        ("no reason", with(&|r| r.items[0].reason = 0), vec!["items[0].reason"]),
        (
            "unknown reason",
            with(&|r| r.items[0].reason = 42),
            vec!["items[0].reason"],
        ),
        (
            "no resolution",
            with(&|r| r.items[0].resolution = 0),
            vec!["items[0].resolution"],
        ),
        (
            "long note",
            with(&|r| r.items[0].note = "x".repeat(2001)),
            vec!["items[0].note"],
        ),
        (
            "http photo",
            with(&|r| r.items[0].photo_urls = vec!["http://x/1.jpg".into()]),
            vec!["items[0].photo_urls[0]"],
        ),
        (
            "too many photos",
            with(&|r| r.items[0].photo_urls = vec!["https://x".into(); 11]),
            vec!["items[0].photo_urls"],
        ),
        (
            "same line twice",
            with(&|r| r.items.push(refund_item("L1", 1))),
            vec!["items[1].line_id"],
        ),
        (
            "mixed resolutions",
            with(&|r| {
                r.items
                    .push(item("L2", 1, ReturnReason::ChangedMind, Resolution::StoreCredit))
            }),
            vec!["items"],
        ),
        (
            "exchange without replacement",
            with(&|r| r.items[0].resolution = Resolution::Exchange as i32),
            vec!["items[0].replacement_sku"],
        ),
        (
            "replacement on a refund",
            with(&|r| r.items[0].replacement_sku = "X".into()),
            vec!["items[0].replacement_sku"],
        ),
        (
            "unknown line",
            with(&|r| r.items[0].line_id = "L9".into()),
            vec!["items[0].line_id"],
        ),
        (
            "replacement in another currency",
            with(&|r| {
                r.items[0].resolution = Resolution::Exchange as i32;
                r.items[0].replacement_sku = "X".into();
                r.items[0].replacement_price = Some(Money {
                    currency_code: "USD".into(),
                    amount: "1.00".into(),
                });
            }),
            vec!["items[0].replacement_price.currency_code"],
        ),
    ];
    for (name, req, fields) in cases {
        // The storefront may price a replacement, so the price itself is
        // checked; from a customer any price is refused outright.
        let err = service(&app).create_return(req.clone()).await.expect_err(name);
        assert_eq!(violated_fields(&err), fields, "{name}");
        let err = customer(&app).create_return(req).await.expect_err(name);
        let from_customer = violated_fields(&err);
        if name == "replacement in another currency" {
            assert_eq!(from_customer, ["items[0].replacement_price"]);
        } else {
            assert_eq!(from_customer, fields, "{name}");
        }
    }
    let err = customer(&app)
        .get_return(GetReturnRequest {
            return_id: "not-a-uuid".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["return_id"]);
    let err = agent(&app)
        .reject_return(RejectReturnRequest {
            return_id: uuid::Uuid::now_v7().to_string(),
            reason: "".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["reason"]);
    assert_eq!(app.count("SELECT count(*) FROM returns.returns").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM platform.idempotency_keys").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM returns.order_lines WHERE requested_quantity > 0")
            .await,
        0
    );
}

#[tokio::test]
async fn bad_receipts_are_invalid() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    let receipt = |items: Vec<ReceivedItem>| ReceiveReturnRequest {
        return_id: r.return_id.clone(),
        items,
    };
    let received = |l: &str, q: i32, g: Grade| ReceivedItem {
        line_id: l.into(),
        received_quantity: q,
        grade: g as i32,
    };
    for (req, fields) in [
        (receipt(vec![]), vec!["items"]),
        (
            receipt(vec![received("L1", 3, Grade::Resellable)]),
            vec!["items[0].received_quantity"],
        ),
        (
            receipt(vec![received("L1", 2, Grade::Unspecified)]),
            vec!["items[0].grade"],
        ),
        (
            receipt(vec![received("L1", 2, Grade::Opened), received("L2", 1, Grade::Opened)]),
            vec!["items[1].line_id"],
        ),
    ] {
        let err = agent(&app).receive_return(req).await.unwrap_err();
        assert_eq!(violated_fields(&err), fields);
    }
    assert_eq!(get(&app, &r.return_id).await.status(), ReturnStatus::InTransit);
}

#[tokio::test]
async fn order_facts_arriving_out_of_order_are_retried_not_lost() {
    use aftercare_platform::outbox::{Event, EventHandler, topic};
    use aftercare_proto::order_events::{OrderDelivered, OrderRecorded, RecordedLine};
    use aftercare_returns::projection::OrderProjection;
    use prost::Message;
    let app = TestApp::spawn().await;
    let projection = OrderProjection;
    let mut conn = app.pool.acquire().await.unwrap();
    let event = |topic: String, payload: Vec<u8>| Event {
        id: uuid::Uuid::now_v7(),
        seq: 1,
        topic,
        aggregate_id: "o-late".into(),
        payload,
        occurred_at: start_time(),
    };
    let delivered = event(
        topic::<OrderDelivered>(),
        OrderDelivered {
            order_id: "o-late".into(),
            customer_id: "c-1".into(),
            delivered_at: ts(start_time()),
            line_ids: vec!["L1".into()],
        }
        .encode_to_vec(),
    );
    let recorded = event(
        topic::<OrderRecorded>(),
        OrderRecorded {
            order_id: "o-late".into(),
            customer_id: "c-1".into(),
            currency_code: "EUR".into(),
            lines: vec![RecordedLine {
                line_id: "L1".into(),
                sku: "S".into(),
                product_name: "P".into(),
                category: "kitchen".into(),
                quantity: 1,
                paid_amount: eur("9.99"),
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_vec(),
    );
    assert!(
        projection.handle(&mut conn, &delivered).await.is_err(),
        "a delivery before its order fails, to be retried"
    );
    projection.handle(&mut conn, &recorded).await.unwrap();
    projection.handle(&mut conn, &recorded).await.unwrap(); // at-least-once: a repeat changes nothing
    projection.handle(&mut conn, &delivered).await.unwrap();
    let (lines, delivered_at): (i64, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT count(*), max(delivered_at) FROM returns.order_lines WHERE order_id = 'o-late'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((lines, delivered_at), (1, Some(start_time())));
}
