//! Refunds and exchanges priced from what came back: full and partial returns, store credit, fees, bonuses, exchange differences.

use super::*;

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
