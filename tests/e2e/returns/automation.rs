//! What policies automate and what eligibility explains: auto-approval, keeping the items, auto-refund on receipt, manual review, the return window.

use super::*;

#[tokio::test]
async fn auto_approval_and_keep_the_item_refund_at_once() {
    let app = TestApp::spawn().await;
    keep_small_returns(&app).await;
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
    // Created by the storefront for the customer: triage is staff's to see.
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
    let first = service(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.status(), first.manual_review), (ReturnStatus::Approved, false));
    let second = service(&app)
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
    let third = service(&app)
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
    let large = service(&app2)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((large.status(), large.manual_review), (ReturnStatus::Requested, true));
    flag_customer(&app2, "abuse").await;
    let flagged = service(&app2)
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
            request_id: String::new(),
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
