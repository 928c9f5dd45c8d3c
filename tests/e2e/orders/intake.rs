//! Recording orders: pricing, currencies, replays, conflicts and races.

use super::*;
use aftercare_proto::common::Money;
use aftercare_proto::order_events::OrderRecorded;
use aftercare_proto::orders::OrderStatus;
use chrono::Duration;
use prost::Message;
use tonic::Code;

use crate::fixtures::{eur, line, order, ts};
use crate::support::{TestApp, reason, start_time};

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
    assert_eq!(
        app.count("SELECT count(*) FROM platform.outbox_events WHERE topic LIKE 'aftercare.orders.%'")
            .await,
        1
    );
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
async fn the_first_answer_is_the_stored_order_in_any_currency_with_serial_numbers() {
    // RecordOrder answers a new order from what it inserted, without
    // reading it back: the answer must be exactly what is stored.
    let app = TestApp::spawn().await;
    let mut client = app.storefront();
    for (currency, unit, fractional) in [
        ("JPY", "1999", "7"),
        ("EUR", "19.99", "0.07"),
        ("KWD", "19.999", "0.007"),
    ] {
        let money = |a: &str| {
            Some(Money {
                currency_code: currency.into(),
                amount: a.into(),
            })
        };
        let mut req = order(&format!("o-{currency}"), "c-1");
        req.currency_code = currency.into();
        for l in &mut req.lines {
            l.unit_price = money(unit);
            l.discount = money(fractional);
            l.serial_numbers = (0..l.quantity).map(|n| format!("SN-{}-{n}", l.line_id)).collect();
        }
        req.order_discount = money(fractional);
        req.shipping_amount = money("0");
        let first = client.record_order(req).await.unwrap().into_inner();
        let stored = client
            .get_order(aftercare_proto::orders::GetOrderRequest {
                order_id: first.order_id.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first, stored, "{currency}");
        assert_eq!(first.lines[0].serial_numbers, ["SN-L1-0", "SN-L1-1"]);
    }
}
