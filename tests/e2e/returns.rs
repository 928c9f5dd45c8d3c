//! ReturnService end to end: policies, eligibility, every lifecycle path,
//! refunds exactly once under races, exchanges, timelines, roles, bad input.

use aftercare_platform::auth::Role;
use aftercare_proto::common::{Channel, Money};
use aftercare_proto::orders::{CancelOrderRequest, RecordDeliveryRequest};
use aftercare_proto::returns::*;
use chrono::Duration;
use prost_types::FieldMask;
use tonic::Code;

use crate::fixtures::{eur, line, order, ts};
use crate::support::{Returns, TestApp, reason, start_time, violated_fields};

const CUSTOMER: &str = "c-1";

fn amount(m: &Option<Money>) -> &str {
    &m.as_ref().expect("money set").amount
}

/// Records order `order_id` of c-1 (L1: 2 units paid 15.00; L2 and L3: 1 unit
/// paid 7.50 each), delivers it now, and waits until returns knows it.
async fn delivered_order(app: &TestApp, order_id: &str) {
    let mut storefront = app.storefront();
    storefront.record_order(order(order_id, CUSTOMER)).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: order_id.into(),
            delivered_at: ts(app_now(app)),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
}

fn app_now(app: &TestApp) -> chrono::DateTime<chrono::Utc> {
    use aftercare_platform::clock::Clock;
    app.clock.now()
}

fn item(line_id: &str, quantity: i32, reason: ReturnReason, resolution: Resolution) -> ReturnItemInput {
    ReturnItemInput {
        line_id: line_id.into(),
        quantity,
        reason: reason as i32,
        note: "does not fit".into(),
        photo_urls: vec!["https://img.example/1.jpg".into()],
        resolution: resolution as i32,
        ..Default::default()
    }
}

fn refund_item(line_id: &str, quantity: i32) -> ReturnItemInput {
    item(line_id, quantity, ReturnReason::ChangedMind, Resolution::Refund)
}

fn create(order_id: &str, items: Vec<ReturnItemInput>) -> CreateReturnRequest {
    CreateReturnRequest {
        request_id: uuid::Uuid::now_v7().to_string(),
        order_id: order_id.into(),
        channel: Channel::MobileApp as i32,
        items,
    }
}

fn customer(app: &TestApp) -> Returns {
    app.returns(Role::Customer, CUSTOMER)
}

fn agent(app: &TestApp) -> Returns {
    app.returns(Role::Agent, "agent-1")
}

fn service(app: &TestApp) -> Returns {
    app.returns(Role::Service, "payments")
}

/// Sets the masked fields of the default policy.
async fn policy(app: &TestApp, p: ReturnPolicy, fields: &[&str]) -> ReturnPolicy {
    app.returns(Role::Admin, "admin-1")
        .update_return_policy(UpdateReturnPolicyRequest {
            policy: Some(p),
            update_mask: Some(FieldMask {
                paths: fields.iter().map(|f| f.to_string()).collect(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

fn eur_list(a: &str) -> Vec<Money> {
    vec![eur(a).unwrap()]
}

async fn approve(app: &TestApp, id: &str) -> Return {
    agent(app)
        .approve_return(ApproveReturnRequest {
            return_id: id.into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn ship(app: &TestApp, id: &str) -> Return {
    customer(app)
        .record_return_shipment(RecordReturnShipmentRequest {
            return_id: id.into(),
            carrier: "DHL".into(),
            tracking_number: "JD0001".into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn receive(app: &TestApp, id: &str, items: &[(&str, i32, Grade)]) -> Return {
    agent(app)
        .receive_return(ReceiveReturnRequest {
            return_id: id.into(),
            items: items
                .iter()
                .map(|(l, q, g)| ReceivedItem {
                    line_id: (*l).into(),
                    received_quantity: *q,
                    grade: *g as i32,
                })
                .collect(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn issue(app: &TestApp, id: &str) -> Result<Refund, tonic::Status> {
    service(app)
        .issue_refund(IssueRefundRequest {
            return_id: id.into(),
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .map(|r| r.into_inner())
}

/// Requests a return of `items` as the customer, approves, ships and
/// receives it graded as `graded`.
async fn received_return(
    app: &TestApp,
    order_id: &str,
    items: Vec<ReturnItemInput>,
    graded: &[(&str, i32, Grade)],
) -> Return {
    let r = customer(app)
        .create_return(create(order_id, items))
        .await
        .unwrap()
        .into_inner();
    approve(app, &r.return_id).await;
    ship(app, &r.return_id).await;
    receive(app, &r.return_id, graded).await
}

async fn get(app: &TestApp, id: &str) -> Return {
    agent(app)
        .get_return(GetReturnRequest { return_id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn topics(app: &TestApp, return_id: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT topic FROM platform.outbox_events WHERE aggregate_id = $1 ORDER BY seq")
        .bind(return_id)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

fn precondition(err: &tonic::Status) -> String {
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    reason(err)
}

#[tokio::test]
async fn refund_lifecycle_from_request_to_completion() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;

    let eligibility = customer(&app)
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec![],
        })
        .await
        .unwrap()
        .into_inner();
    let l1 = &eligibility.lines[0];
    assert!(l1.eligible);
    assert_eq!(l1.returnable_quantity, 2);
    assert_eq!(l1.deadline, ts(start_time() + Duration::days(14)));
    assert_eq!(amount(&l1.estimated_refund_per_unit), "7.50");
    assert_eq!(l1.allowed_resolutions.len(), 3);

    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Requested);
    assert_eq!(amount(&r.refund_total), "15.00");
    assert_eq!(r.policy_version, 1);
    assert!(!r.next_step.is_empty());

    let r = approve(&app, &r.return_id).await;
    assert_eq!(r.status(), ReturnStatus::Approved);
    assert_eq!(r.ship_by, ts(start_time() + Duration::days(14)));
    assert_eq!(ship(&app, &r.return_id).await.status(), ReturnStatus::InTransit);
    let r = receive(&app, &r.return_id, &[("L1", 2, Grade::Resellable)]).await;
    assert_eq!(r.status(), ReturnStatus::Received);
    assert_eq!(amount(&r.refund_total), "15.00");

    let refund = issue(&app, &r.return_id).await.unwrap();
    assert_eq!(refund.status(), RefundStatus::Pending);
    assert_eq!(refund.method(), RefundMethod::OriginalPayment);
    assert_eq!(amount(&refund.amount), "15.00");
    let refund = service(&app)
        .confirm_refund(ConfirmRefundRequest {
            refund_id: refund.refund_id,
            provider_reference: "psp-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refund.status(), RefundStatus::Succeeded);

    let r = customer(&app)
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Completed);
    let statuses: Vec<ReturnStatus> = r
        .timeline
        .iter()
        .filter(|e| e.kind == "status")
        .map(|e| e.status())
        .collect();
    use ReturnStatus::*;
    assert_eq!(statuses, [Requested, Approved, InTransit, Received, Completed]);
    assert_eq!(
        topics(&app, &r.return_id).await,
        [
            "aftercare.returns.events.v1.ReturnRequested",
            "aftercare.returns.events.v1.ReturnApproved",
            "aftercare.returns.events.v1.ReturnReceived",
            "aftercare.returns.events.v1.RefundRequested",
            "aftercare.returns.events.v1.RefundSucceeded",
            "aftercare.returns.events.v1.ReturnCompleted"
        ]
    );
    let refunded: rust_decimal::Decimal =
        sqlx::query_scalar("SELECT refunded_amount FROM returns.order_lines WHERE order_id = 'o-1' AND line_id = 'L1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(refunded.to_string(), "15.0000");
}

#[tokio::test]
async fn partial_returns_of_a_line_refund_exactly_what_was_paid() {
    let app = TestApp::spawn().await;
    let mut req = order("o-3", CUSTOMER);
    req.lines = vec![line("L1", 3, "10.00")];
    req.order_discount = eur("20.00");
    app.storefront().record_order(req).await.unwrap();
    app.storefront()
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-3".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;

    // 10.00 paid for 3 units: 3.34 + 3.33 + 3.33.
    let mut refunds = Vec::new();
    for units in [1, 2] {
        let r = received_return(
            &app,
            "o-3",
            vec![refund_item("L1", units)],
            &[("L1", units, Grade::Resellable)],
        )
        .await;
        refunds.push(amount(&r.refund_total).to_owned());
    }
    assert_eq!(refunds, ["3.34", "6.66"]);
    let err = customer(&app)
        .create_return(create("o-3", vec![refund_item("L1", 1)]))
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "ITEMS_NOT_ELIGIBLE");
}

#[tokio::test]
async fn store_credit_with_restocking_and_shipping_fees_and_bonus() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            restocking_fee_percent: "10".into(),
            return_shipping_fees: eur_list("4.99"),
            exchange_bonus_percent: "10".into(),
            ..Default::default()
        },
        &[
            "restocking_fee_percent",
            "return_shipping_fees",
            "exchange_bonus_percent",
        ],
    )
    .await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create(
            "o-1",
            vec![item("L1", 2, ReturnReason::WrongSize, Resolution::StoreCredit)],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.policy_version, 2);
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    let r = receive(&app, &r.return_id, &[("L1", 2, Grade::Opened)]).await;
    // 15.00 - 10 % restocking = 13.50; - 4.99 shipping = 8.51; + 10 % bonus (0.85).
    assert_eq!(amount(&r.items_refund), "13.50");
    assert_eq!(amount(&r.shipping_fee), "4.99");
    assert_eq!(amount(&r.bonus), "0.85");
    assert_eq!(amount(&r.refund_total), "9.36");
    let refund = issue(&app, &r.return_id).await.unwrap();
    assert_eq!(refund.method(), RefundMethod::StoreCredit);
    assert_eq!(amount(&refund.amount), "9.36");
}

#[tokio::test]
async fn merchant_fault_waives_the_fees_and_missing_items_refund_nothing() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            restocking_fee_percent: "10".into(),
            return_shipping_fees: eur_list("4.99"),
            ..Default::default()
        },
        &["restocking_fee_percent", "return_shipping_fees"],
    )
    .await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create(
            "o-1",
            vec![
                item("L1", 2, ReturnReason::Defective, Resolution::Refund),
                item("L2", 1, ReturnReason::ChangedMind, Resolution::Refund),
            ],
        ))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    let r = receive(
        &app,
        &r.return_id,
        &[("L1", 2, Grade::Damaged), ("L2", 1, Grade::Missing)],
    )
    .await;
    assert_eq!(
        amount(&r.items[0].refund_amount),
        "15.00",
        "defective: no restocking fee"
    );
    assert_eq!(amount(&r.items[1].refund_amount), "0.00", "missing: nothing");
    assert_eq!(amount(&r.shipping_fee), "0.00", "merchant's fault: no shipping fee");
    assert_eq!(amount(&r.refund_total), "15.00");
}

#[tokio::test]
async fn exchange_shows_the_difference_and_completes_when_the_replacement_ships() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let mut exchange = item("L2", 1, ReturnReason::WrongSize, Resolution::Exchange);
    exchange.replacement_sku = "SKU-L2-M".into();
    exchange.replacement_price = eur("12.00");
    let r = customer(&app)
        .create_return(create("o-1", vec![exchange]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&r.exchange_difference), "4.50", "the customer owes 12.00 - 7.50");
    approve(&app, &r.return_id).await;
    let early = agent(&app)
        .ship_exchange(ShipExchangeRequest {
            return_id: r.return_id.clone(),
            carrier: "UPS".into(),
            tracking_number: "1Z".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&early), "INVALID_STATUS", "no advance exchange by default");
    ship(&app, &r.return_id).await;
    let r = receive(&app, &r.return_id, &[("L2", 1, Grade::Resellable)]).await;
    assert_eq!(
        precondition(&issue(&app, &r.return_id).await.unwrap_err()),
        "INVALID_STATUS"
    );
    let r = agent(&app)
        .ship_exchange(ShipExchangeRequest {
            return_id: r.return_id.clone(),
            carrier: "UPS".into(),
            tracking_number: "1Z".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Completed);
    assert_eq!(r.exchange_shipment.as_ref().unwrap().tracking_number, "1Z");
    let t = topics(&app, &r.return_id).await;
    assert!(
        t.ends_with(&[
            "aftercare.returns.events.v1.ExchangeShipped".to_owned(),
            "aftercare.returns.events.v1.ReturnCompleted".to_owned()
        ]),
        "{t:?}"
    );
}

#[tokio::test]
async fn advance_exchange_ships_at_approval_and_completes_on_receipt() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            advance_exchange: true,
            ..Default::default()
        },
        &["advance_exchange"],
    )
    .await;
    delivered_order(&app, "o-1").await;
    let mut exchange = item("L3", 1, ReturnReason::WrongSize, Resolution::Exchange);
    exchange.replacement_sku = "SKU-L3-S".into();
    exchange.replacement_price = eur("5.00");
    let r = customer(&app)
        .create_return(create("o-1", vec![exchange]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&r.exchange_difference), "-2.50", "the customer is owed 2.50");
    approve(&app, &r.return_id).await;
    let r = agent(&app)
        .ship_exchange(ShipExchangeRequest {
            return_id: r.return_id.clone(),
            carrier: "UPS".into(),
            tracking_number: "1Z".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Approved);
    ship(&app, &r.return_id).await;
    let r = receive(&app, &r.return_id, &[("L3", 1, Grade::Resellable)]).await;
    assert_eq!(r.status(), ReturnStatus::Completed);
}

#[tokio::test]
async fn auto_approval_and_keep_the_item_refund_at_once() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            auto_approve_max_refund: eur_list("100"),
            keep_item_max_refund: eur_list("10"),
            ..Default::default()
        },
        &["auto_approve_max_refund", "keep_item_max_refund"],
    )
    .await;
    delivered_order(&app, "o-1").await;

    // 7.50 is under the keep-the-item amount: approved, kept, refunded.
    let kept = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept.status(), ReturnStatus::Approved);
    assert!(kept.keep_items);
    assert_eq!(kept.ship_by, None);
    let refund = kept.refund.clone().expect("refund issued automatically");
    assert_eq!(
        (refund.status(), amount(&refund.amount)),
        (RefundStatus::Pending, "7.50")
    );
    let err = customer(&app)
        .record_return_shipment(RecordReturnShipmentRequest {
            return_id: kept.return_id.clone(),
            carrier: "DHL".into(),
            tracking_number: "X".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "INVALID_STATUS", "kept items are not shipped");
    service(&app)
        .confirm_refund(ConfirmRefundRequest {
            refund_id: refund.refund_id,
            provider_reference: "psp-9".into(),
        })
        .await
        .unwrap();
    assert_eq!(get(&app, &kept.return_id).await.status(), ReturnStatus::Completed);

    // 15.00 is approved automatically but must come back.
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.status(), ReturnStatus::Approved);
    assert!(!r.keep_items && r.refund.is_none());
}

#[tokio::test]
async fn auto_refund_on_receipt_only_when_everything_is_resellable() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            auto_refund_on_receipt: true,
            ..Default::default()
        },
        &["auto_refund_on_receipt"],
    )
    .await;
    delivered_order(&app, "o-1").await;
    let a = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    let b = customer(&app)
        .create_return(create("o-1", vec![refund_item("L3", 1)]))
        .await
        .unwrap()
        .into_inner();
    for r in [&a, &b] {
        approve(&app, &r.return_id).await;
        ship(&app, &r.return_id).await;
    }
    let a = receive(&app, &a.return_id, &[("L2", 1, Grade::Resellable)]).await;
    assert_eq!(a.refund.as_ref().map(|f| f.status()), Some(RefundStatus::Pending));
    let b = receive(&app, &b.return_id, &[("L3", 1, Grade::Opened)]).await;
    assert!(b.refund.is_none());
}

#[tokio::test]
async fn manual_review_for_flagged_customers_frequent_returners_and_large_refunds() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            auto_approve_max_refund: eur_list("100"),
            manual_review_return_count: 1,
            manual_review_refund_limit: eur_list("10"),
            ..Default::default()
        },
        &[
            "auto_approve_max_refund",
            "manual_review_return_count",
            "manual_review_refund_limit",
        ],
    )
    .await;
    delivered_order(&app, "o-1").await;
    let first = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.status(), first.manual_review), (ReturnStatus::Approved, false));
    let second = customer(&app)
        .create_return(create("o-1", vec![refund_item("L3", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (second.status(), second.manual_review),
        (ReturnStatus::Approved, false),
        "1 earlier return is not more than 1"
    );

    delivered_order(&app, "o-2").await;
    let third = customer(&app)
        .create_return(create("o-2", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (third.status(), third.manual_review),
        (ReturnStatus::Requested, true),
        "2 earlier returns"
    );

    // Above the refund limit, and a flagged customer, whatever else.
    let app2 = TestApp::spawn().await;
    policy(
        &app2,
        ReturnPolicy {
            auto_approve_max_refund: eur_list("100"),
            manual_review_refund_limit: eur_list("10"),
            ..Default::default()
        },
        &["auto_approve_max_refund", "manual_review_refund_limit"],
    )
    .await;
    delivered_order(&app2, "o-1").await;
    let large = customer(&app2)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((large.status(), large.manual_review), (ReturnStatus::Requested, true));
    agent(&app2)
        .set_customer_flag(SetCustomerFlagRequest {
            customer_id: CUSTOMER.into(),
            flagged: true,
            note: "abuse".into(),
        })
        .await
        .unwrap();
    let flagged = customer(&app2)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (flagged.status(), flagged.manual_review),
        (ReturnStatus::Requested, true)
    );
}

#[tokio::test]
async fn the_return_window_closes_one_second_after_the_deadline() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let deadline = start_time() + Duration::days(14);

    app.clock.set(deadline - Duration::seconds(1));
    let e = customer(&app)
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec!["L2".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(e.lines[0].eligible);
    customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap();

    app.clock.set(deadline + Duration::seconds(1));
    let e = customer(&app)
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec!["L3".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(e.lines[0].reasons, ["WINDOW_CLOSED"]);
    let err = customer(&app)
        .create_return(create("o-1", vec![refund_item("L3", 1)]))
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "ITEMS_NOT_ELIGIBLE");
    let info = tonic_types::StatusExt::get_details_error_info(&err).unwrap();
    assert_eq!(info.metadata.get("L3").map(String::as_str), Some("WINDOW_CLOSED"));
}

#[tokio::test]
async fn eligibility_explains_every_reason() {
    let app = TestApp::spawn().await;
    app.storefront().record_order(order("o-new", CUSTOMER)).await.unwrap();
    app.storefront()
        .record_order(order("o-canceled", CUSTOMER))
        .await
        .unwrap();
    app.storefront()
        .cancel_order(CancelOrderRequest {
            order_id: "o-canceled".into(),
            reason: String::new(),
        })
        .await
        .unwrap();
    delivered_order(&app, "o-1").await;
    customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap();

    let reasons =
        |e: CheckEligibilityResponse| -> Vec<Vec<String>> { e.lines.into_iter().map(|l| l.reasons).collect() };
    let check = |order_id: &str| CheckEligibilityRequest {
        order_id: order_id.into(),
        line_ids: vec![],
    };
    let e = customer(&app)
        .check_eligibility(check("o-new"))
        .await
        .unwrap()
        .into_inner();
    assert!(reasons(e).iter().all(|r| r == &["NOT_DELIVERED"]));
    let e = customer(&app)
        .check_eligibility(check("o-canceled"))
        .await
        .unwrap()
        .into_inner();
    assert!(reasons(e).iter().all(|r| r == &["ORDER_CANCELED"]));
    let e = customer(&app)
        .check_eligibility(check("o-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reasons(e), [vec![], vec!["ALREADY_RETURNED".to_owned()], vec![]]);

    // A category policy of its own: final sale.
    app.returns(Role::Admin, "admin-1")
        .update_return_policy(UpdateReturnPolicyRequest {
            policy: Some(ReturnPolicy {
                category: "kitchen".into(),
                final_sale: true,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["final_sale".into()],
            }),
        })
        .await
        .unwrap();
    let e = customer(&app)
        .check_eligibility(check("o-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(e.lines.iter().all(|l| l.reasons.contains(&"FINAL_SALE".to_owned())));
    let err = customer(&app)
        .create_return(create("o-1", vec![refund_item("L3", 1)]))
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "ITEMS_NOT_ELIGIBLE");
}

#[tokio::test]
async fn policies_are_versioned_and_partially_updated() {
    let app = TestApp::spawn().await;
    let admin = || app.returns(Role::Admin, "admin-1");
    let default = admin()
        .get_return_policy(GetReturnPolicyRequest { category: "".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((default.version, default.return_window_days), (1, 14));
    let v2 = policy(
        &app,
        ReturnPolicy {
            return_window_days: 30,
            ..Default::default()
        },
        &["return_window_days"],
    )
    .await;
    assert_eq!(
        (v2.version, v2.return_window_days, v2.allowed_resolutions.len()),
        (2, 30, 3),
        "other fields kept"
    );
    let v3 = policy(
        &app,
        ReturnPolicy {
            restocking_fee_percent: "12.5".into(),
            ..Default::default()
        },
        &["restocking_fee_percent"],
    )
    .await;
    assert_eq!(
        (v3.version, v3.return_window_days, v3.restocking_fee_percent.as_str()),
        (3, 30, "12.5")
    );
    // A category without a policy of its own gets the default.
    let kitchen = admin()
        .get_return_policy(GetReturnPolicyRequest {
            category: "kitchen".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((kitchen.category.as_str(), kitchen.version), ("", 3));
    let listed = admin()
        .list_return_policies(ListReturnPoliciesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.policies.len(), 1);

    for (bad, field) in [
        (
            ReturnPolicy {
                return_window_days: -1,
                ..Default::default()
            },
            "policy.return_window_days",
        ),
        (
            ReturnPolicy {
                restocking_fee_percent: "101".into(),
                ..Default::default()
            },
            "policy.restocking_fee_percent",
        ),
        (
            ReturnPolicy {
                exchange_bonus_percent: "abc".into(),
                ..Default::default()
            },
            "policy.exchange_bonus_percent",
        ),
        (
            ReturnPolicy {
                return_shipping_fees: vec![Money {
                    currency_code: "EUR".into(),
                    amount: "1.999".into(),
                }],
                ..Default::default()
            },
            "policy.return_shipping_fees[0].amount",
        ),
        (
            ReturnPolicy {
                allowed_resolutions: vec![0],
                ..Default::default()
            },
            "policy.allowed_resolutions[0]",
        ),
    ] {
        let mask = vec![
            field
                .trim_start_matches("policy.")
                .split(['[', '.'])
                .next()
                .unwrap()
                .to_owned(),
        ];
        let err = admin()
            .update_return_policy(UpdateReturnPolicyRequest {
                policy: Some(bad),
                update_mask: Some(FieldMask { paths: mask }),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&err), [field]);
    }
    let err = admin()
        .update_return_policy(UpdateReturnPolicyRequest {
            policy: Some(ReturnPolicy::default()),
            update_mask: Some(FieldMask {
                paths: vec!["version".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["update_mask.paths[0]"]);
    assert_eq!(
        app.count("SELECT count(*) FROM returns.policies").await,
        3,
        "refused updates wrote nothing"
    );
}

#[tokio::test]
async fn illegal_transitions_name_the_current_status() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    let id = r.return_id.clone();
    let status_of = |err: &tonic::Status| {
        tonic_types::StatusExt::get_details_error_info(err)
            .unwrap()
            .metadata
            .get("status")
            .cloned()
            .unwrap_or_default()
    };

    let err = agent(&app)
        .receive_return(ReceiveReturnRequest {
            return_id: id.clone(),
            items: vec![ReceivedItem {
                line_id: "L1".into(),
                received_quantity: 2,
                grade: Grade::Resellable as i32,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        (precondition(&err).as_str(), status_of(&err).as_str()),
        ("INVALID_STATUS", "REQUESTED")
    );
    let err = customer(&app)
        .record_return_shipment(RecordReturnShipmentRequest {
            return_id: id.clone(),
            carrier: "DHL".into(),
            tracking_number: "1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "REQUESTED");
    assert_eq!(status_of(&issue(&app, &id).await.unwrap_err()), "REQUESTED");

    agent(&app)
        .reject_return(RejectReturnRequest {
            return_id: id.clone(),
            reason: "used".into(),
        })
        .await
        .unwrap();
    let err = agent(&app)
        .approve_return(ApproveReturnRequest {
            return_id: id.clone(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "REJECTED");
    let err = customer(&app)
        .cancel_return(CancelReturnRequest {
            return_id: id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "REJECTED");
    let rejected = customer(&app)
        .get_return(GetReturnRequest { return_id: id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rejected.rejection_reason, "used");
    assert_eq!(
        topics(&app, &rejected.return_id).await,
        [
            "aftercare.returns.events.v1.ReturnRequested",
            "aftercare.returns.events.v1.ReturnRejected"
        ]
    );

    // Rejection gave the units back: the customer may ask again. Customers
    // cancel before shipment; agents until receipt.
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    approve(&app, &r.return_id).await;
    ship(&app, &r.return_id).await;
    let err = customer(&app)
        .cancel_return(CancelReturnRequest {
            return_id: r.return_id.clone(),
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status_of(&err), "IN_TRANSIT");
    let canceled = agent(&app)
        .cancel_return(CancelReturnRequest {
            return_id: r.return_id.clone(),
            reason: "lost".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canceled.status(), ReturnStatus::Canceled);
    assert_eq!(
        topics(&app, &canceled.return_id).await.last().map(String::as_str),
        Some("aftercare.returns.events.v1.ReturnCanceled")
    );
    let requested: i32 = sqlx::query_scalar(
        "SELECT requested_quantity FROM returns.order_lines WHERE order_id = 'o-1' AND line_id = 'L1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(requested, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_refund_requests_make_one_refund() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = received_return(&app, "o-1", vec![refund_item("L1", 2)], &[("L1", 2, Grade::Resellable)]).await;

    // 50 calls: 40 distinct request ids and one id sent 10 times.
    let shared = uuid::Uuid::now_v7().to_string();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let mut client = service(&app);
            let request_id = if i < 10 {
                shared.clone()
            } else {
                uuid::Uuid::now_v7().to_string()
            };
            let return_id = r.return_id.clone();
            tokio::spawn(async move {
                client
                    .issue_refund(IssueRefundRequest { return_id, request_id })
                    .await
                    .map(|r| r.into_inner())
            })
        })
        .collect();
    let mut refund_ids = std::collections::HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(refund) => {
                refund_ids.insert(refund.refund_id);
            }
            Err(e) => assert!(
                matches!(e.code(), Code::FailedPrecondition | Code::Aborted),
                "unexpected {e:?}"
            ),
        }
    }
    assert_eq!(refund_ids.len(), 1, "one refund, whoever won");
    assert_eq!(app.count("SELECT count(*) FROM returns.refunds").await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.returns.events.v1.RefundRequested'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_failed_refund_may_be_issued_again_and_replays_return_the_same_refund() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = received_return(&app, "o-1", vec![refund_item("L2", 1)], &[("L2", 1, Grade::Resellable)]).await;

    let request = IssueRefundRequest {
        return_id: r.return_id.clone(),
        request_id: "refund-attempt-1".into(),
    };
    let first = service(&app).issue_refund(request.clone()).await.unwrap().into_inner();
    let replay = service(&app).issue_refund(request).await.unwrap().into_inner();
    assert_eq!(first, replay);
    let err = issue(&app, &r.return_id).await.unwrap_err();
    assert_eq!(precondition(&err), "REFUND_ALREADY_ISSUED");

    let failed = service(&app)
        .fail_refund(FailRefundRequest {
            refund_id: first.refund_id.clone(),
            reason: "card expired".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(failed.status(), RefundStatus::Failed);
    let err = service(&app)
        .confirm_refund(ConfirmRefundRequest {
            refund_id: first.refund_id.clone(),
            provider_reference: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "REFUND_NOT_PENDING");
    let second = issue(&app, &r.return_id).await.unwrap();
    assert_ne!(second.refund_id, first.refund_id);
    let confirm = ConfirmRefundRequest {
        refund_id: second.refund_id.clone(),
        provider_reference: "psp-2".into(),
    };
    service(&app).confirm_refund(confirm.clone()).await.unwrap();
    // The payment tool may confirm twice.
    assert_eq!(
        service(&app)
            .confirm_refund(confirm)
            .await
            .unwrap()
            .into_inner()
            .status(),
        RefundStatus::Succeeded
    );
    assert_eq!(get(&app, &r.return_id).await.status(), ReturnStatus::Completed);
    assert_eq!(
        app.count("SELECT count(*) FROM returns.refunds WHERE status <> 'failed'")
            .await,
        1
    );
    let t = topics(&app, &r.return_id).await;
    assert_eq!(
        t.iter()
            .filter(|t| *t == "aftercare.returns.events.v1.RefundFailed")
            .count(),
        1
    );
    assert_eq!(
        t.iter()
            .filter(|t| *t == "aftercare.returns.events.v1.ReturnCompleted")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_cannot_return_more_than_was_delivered() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut client = customer(&app);
            tokio::spawn(async move { client.create_return(create("o-1", vec![refund_item("L1", 2)])).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(precondition(&e), "ITEMS_NOT_ELIGIBLE"),
        }
    }
    assert_eq!(created, 1);
    let requested: i32 = sqlx::query_scalar(
        "SELECT requested_quantity FROM returns.order_lines WHERE order_id = 'o-1' AND line_id = 'L1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(requested, 2);
    // The database itself refuses more, whatever the code did.
    let err =
        sqlx::query("UPDATE returns.order_lines SET requested_quantity = 3 WHERE order_id = 'o-1' AND line_id = 'L1'")
            .execute(&app.pool)
            .await
            .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("returned_at_most_delivered")
    );
    let err =
        sqlx::query("UPDATE returns.order_lines SET refunded_amount = 15.01 WHERE order_id = 'o-1' AND line_id = 'L1'")
            .execute(&app.pool)
            .await
            .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("refunded_at_most_paid")
    );
}

#[tokio::test]
async fn create_return_is_idempotent_on_request_id() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let req = create("o-1", vec![refund_item("L2", 1)]);
    let first = customer(&app).create_return(req.clone()).await.unwrap().into_inner();
    let again = customer(&app).create_return(req.clone()).await.unwrap().into_inner();
    assert_eq!(first.return_id, again.return_id);
    let mut changed = req;
    changed.items[0].line_id = "L3".into();
    let err = customer(&app).create_return(changed).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::AlreadyExists, "REQUEST_ID_REUSED")
    );
    assert_eq!(app.count("SELECT count(*) FROM returns.returns").await, 1);
}

#[tokio::test]
async fn customers_see_only_their_own_returns_and_public_timeline() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    agent(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "customer sounds upset".into(),
            internal: true,
            channel: Channel::Phone as i32,
        })
        .await
        .unwrap();
    customer(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "when will you pick it up?".into(),
            internal: false,
            channel: Channel::LiveChat as i32,
        })
        .await
        .unwrap();
    let err = customer(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "x".into(),
            internal: true,
            channel: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let mine = customer(&app)
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let texts: Vec<&str> = mine.timeline.iter().map(|e| e.text.as_str()).collect();
    assert!(!texts.contains(&"customer sounds upset"), "{texts:?}");
    assert!(texts.contains(&"when will you pick it up?"));
    let staff = get(&app, &r.return_id).await;
    assert!(
        staff
            .timeline
            .iter()
            .any(|e| e.text == "customer sounds upset" && !e.customer_visible)
    );

    let stranger = app.returns(Role::Customer, "c-2");
    let err = stranger
        .clone()
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = stranger
        .clone()
        .create_return(create("o-1", vec![refund_item("L3", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = stranger
        .clone()
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let listed = stranger
        .clone()
        .list_returns(ListReturnsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.returns.is_empty());
    let err = stranger
        .clone()
        .list_returns(ListReturnsRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn agents_filter_returns_and_work_queues_are_oldest_first() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let mut ids = Vec::new();
    for (line_id, reason) in [
        ("L1", ReturnReason::ChangedMind),
        ("L2", ReturnReason::Defective),
        ("L3", ReturnReason::ChangedMind),
    ] {
        let r = customer(&app)
            .create_return(create("o-1", vec![item(line_id, 1, reason, Resolution::Refund)]))
            .await
            .unwrap()
            .into_inner();
        ids.push(r.return_id);
        app.clock.advance(Duration::minutes(1));
    }
    approve(&app, &ids[1]).await;

    let list = |req: ListReturnsRequest| {
        let mut client = agent(&app);
        async move {
            client
                .list_returns(req)
                .await
                .unwrap()
                .into_inner()
                .returns
                .into_iter()
                .map(|r| r.return_id)
                .collect::<Vec<_>>()
        }
    };
    let queue = list(ListReturnsRequest {
        status: ReturnStatus::Requested as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(queue, [ids[0].clone(), ids[2].clone()], "oldest first");
    let all = list(ListReturnsRequest::default()).await;
    assert_eq!(all, [ids[2].clone(), ids[1].clone(), ids[0].clone()], "newest first");
    let defective = list(ListReturnsRequest {
        reason: ReturnReason::Defective as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(defective, [ids[1].clone()]);
    let by_customer = list(ListReturnsRequest {
        customer_id: CUSTOMER.into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_customer.len(), 3);
    let other_customer = list(ListReturnsRequest {
        customer_id: "c-2".into(),
        ..Default::default()
    })
    .await;
    assert!(other_customer.is_empty());
    let by_order = list(ListReturnsRequest {
        order_id: "o-2".into(),
        ..Default::default()
    })
    .await;
    assert!(by_order.is_empty());
    let window = list(ListReturnsRequest {
        created_after: ts(start_time() + Duration::seconds(30)),
        created_before: ts(start_time() + Duration::seconds(90)),
        ..Default::default()
    })
    .await;
    assert_eq!(window, [ids[1].clone()]);

    // Paging through, two at a time.
    let mut client = agent(&app);
    let page = client
        .list_returns(ListReturnsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.returns.len(), 2);
    let rest = client
        .list_returns(ListReturnsRequest {
            page_size: 2,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rest.returns.iter().map(|r| r.return_id.clone()).collect::<Vec<_>>(),
        [ids[0].clone()]
    );
    assert!(rest.next_page_token.is_empty());
}

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
            vec!["items[0].replacement_sku", "items[0].replacement_price"],
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
        let err = customer(&app).create_return(req).await.expect_err(name);
        assert_eq!(violated_fields(&err), fields, "{name}");
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
    let projection = OrderProjection::new(app.pool.clone());
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
            }],
            ..Default::default()
        }
        .encode_to_vec(),
    );
    assert!(
        projection.handle(&delivered).await.is_err(),
        "a delivery before its order fails, to be retried"
    );
    projection.handle(&recorded).await.unwrap();
    projection.handle(&recorded).await.unwrap(); // at-least-once: a repeat changes nothing
    projection.handle(&delivered).await.unwrap();
    let (lines, delivered_at): (i64, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT count(*), max(delivered_at) FROM returns.order_lines WHERE order_id = 'o-late'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((lines, delivered_at), (1, Some(start_time())));
}

/// Calls one RPC with made-up ids: a permitted role gets past the role check
/// (NOT_FOUND, INVALID_ARGUMENT, ...), any other gets PERMISSION_DENIED.
async fn call(client: &mut Returns, rpc: &str) -> Result<(), tonic::Status> {
    let id = uuid::Uuid::now_v7().to_string();
    match rpc {
        "GetReturnPolicy" => client
            .get_return_policy(GetReturnPolicyRequest::default())
            .await
            .map(drop),
        "ListReturnPolicies" => client
            .list_return_policies(ListReturnPoliciesRequest {})
            .await
            .map(drop),
        "UpdateReturnPolicy" => client
            .update_return_policy(UpdateReturnPolicyRequest {
                policy: Some(ReturnPolicy {
                    category: "toys".into(),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["final_sale".into()],
                }),
            })
            .await
            .map(drop),
        "SetCustomerFlag" => client
            .set_customer_flag(SetCustomerFlagRequest {
                customer_id: "c-9".into(),
                flagged: false,
                note: String::new(),
            })
            .await
            .map(drop),
        "CheckEligibility" => client
            .check_eligibility(CheckEligibilityRequest {
                order_id: "none".into(),
                line_ids: vec![],
            })
            .await
            .map(drop),
        "CreateReturn" => client
            .create_return(create("none", vec![refund_item("L1", 1)]))
            .await
            .map(drop),
        "GetReturn" => client.get_return(GetReturnRequest { return_id: id }).await.map(drop),
        "ListReturns" => client.list_returns(ListReturnsRequest::default()).await.map(drop),
        "ApproveReturn" => client
            .approve_return(ApproveReturnRequest {
                return_id: id,
                note: String::new(),
            })
            .await
            .map(drop),
        "RejectReturn" => client
            .reject_return(RejectReturnRequest {
                return_id: id,
                reason: "r".into(),
            })
            .await
            .map(drop),
        "CancelReturn" => client
            .cancel_return(CancelReturnRequest {
                return_id: id,
                reason: String::new(),
            })
            .await
            .map(drop),
        "RecordReturnShipment" => client
            .record_return_shipment(RecordReturnShipmentRequest {
                return_id: id,
                carrier: "c".into(),
                tracking_number: "t".into(),
            })
            .await
            .map(drop),
        "ReceiveReturn" => client
            .receive_return(ReceiveReturnRequest {
                return_id: id,
                items: vec![],
            })
            .await
            .map(drop),
        "IssueRefund" => client
            .issue_refund(IssueRefundRequest {
                return_id: id.clone(),
                request_id: id,
            })
            .await
            .map(drop),
        "ConfirmRefund" => client
            .confirm_refund(ConfirmRefundRequest {
                refund_id: id,
                provider_reference: "p".into(),
            })
            .await
            .map(drop),
        "FailRefund" => client
            .fail_refund(FailRefundRequest {
                refund_id: id,
                reason: "r".into(),
            })
            .await
            .map(drop),
        "ShipExchange" => client
            .ship_exchange(ShipExchangeRequest {
                return_id: id,
                carrier: "c".into(),
                tracking_number: "t".into(),
            })
            .await
            .map(drop),
        "AddReturnMessage" => client
            .add_return_message(AddReturnMessageRequest {
                return_id: id,
                text: "hi".into(),
                internal: false,
                channel: 0,
            })
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_rpc() {
    let app = TestApp::spawn().await;
    use Role::*;
    let matrix: &[(&str, &[Role])] = &[
        ("GetReturnPolicy", &[Customer, Agent, Admin, Service]),
        ("ListReturnPolicies", &[Agent, Admin, Service]),
        ("UpdateReturnPolicy", &[Admin]),
        ("SetCustomerFlag", &[Agent, Admin]),
        ("CheckEligibility", &[Customer, Service, Agent]),
        ("CreateReturn", &[Customer, Service, Agent]),
        ("GetReturn", &[Customer, Agent, Admin, Service]),
        ("ListReturns", &[Customer, Agent, Admin, Service]),
        ("ApproveReturn", &[Agent]),
        ("RejectReturn", &[Agent]),
        ("CancelReturn", &[Customer, Service, Agent]),
        ("RecordReturnShipment", &[Customer, Service, Agent]),
        ("ReceiveReturn", &[Agent]),
        ("IssueRefund", &[Agent, Service]),
        ("ConfirmRefund", &[Agent, Service]),
        ("FailRefund", &[Agent, Service]),
        ("ShipExchange", &[Agent, Service]),
        ("AddReturnMessage", &[Customer, Agent]),
    ];
    let table: Vec<&str> = aftercare_returns::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(
        table,
        matrix.iter().map(|(rpc, _)| *rpc).collect::<Vec<_>>(),
        "the matrix covers every RPC"
    );
    for (rpc, allowed) in matrix {
        for role in Role::ALL {
            let result = call(&mut app.returns(role, "c-1"), rpc).await;
            let code = result.err().map(|e| e.code());
            if allowed.contains(&role) {
                assert!(
                    !matches!(
                        code,
                        Some(Code::PermissionDenied | Code::Unauthenticated | Code::Internal)
                    ),
                    "{role} should pass the role check of {rpc}: {code:?}"
                );
            } else {
                assert_eq!(code, Some(Code::PermissionDenied), "{role} must not call {rpc}");
            }
        }
        assert_eq!(
            call(&mut app.returns_anonymous(), rpc).await.unwrap_err().code(),
            Code::Unauthenticated,
            "{rpc}"
        );
    }
}
