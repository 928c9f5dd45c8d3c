//! What customers see: never the payment provider's errors or references,
//! triage flags, internal notes or a policy's fraud thresholds; staff see all.

use super::*;

#[tokio::test]
async fn customers_never_see_internal_fields_staff_do() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    policy(
        &app,
        ReturnPolicy {
            auto_approve_max_refund: eur_list("100"),
            keep_item_max_refund: eur_list("10"),
            manual_review_return_count: 3,
            manual_review_refund_limit: eur_list("500"),
            ..Default::default()
        },
        &[
            "auto_approve_max_refund",
            "keep_item_max_refund",
            "manual_review_return_count",
            "manual_review_refund_limit",
        ],
    )
    .await;
    flag_customer(&app, "chargebacks").await;
    let r = received_return(&app, "o-1", vec![refund_item("L2", 1)], &[("L2", 1, Grade::Resellable)]).await;
    let refund = issue(&app, &r.return_id).await.unwrap();
    let failed = service(&app)
        .fail_refund(FailRefundRequest {
            refund_id: refund.refund_id.clone(),
            reason: "card_declined (acquirer 4711)".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        failed.failure_reason, "card_declined (acquirer 4711)",
        "the payment tool sees it"
    );

    let staff = get(&app, &r.return_id).await;
    assert!(staff.manual_review);
    assert_eq!(
        staff.refund.as_ref().unwrap().failure_reason,
        "card_declined (acquirer 4711)"
    );
    assert!(staff.timeline.iter().any(|e| e.text.contains("acquirer 4711")));

    let mut mine = customer(&app)
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let listed = customer(&app)
        .list_returns(ListReturnsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .returns;
    assert_eq!(listed.len(), 1);
    for seen in [&mut mine, &mut listed[0].clone()] {
        assert!(!seen.manual_review, "triage is internal");
        let refund = seen.refund.as_ref().unwrap();
        assert_eq!(
            (refund.failure_reason.as_str(), refund.provider_reference.as_str()),
            ("", "")
        );
        assert!(
            seen.timeline
                .iter()
                .all(|e| e.customer_visible && !e.text.contains("4711"))
        );
        assert!(seen.timeline.iter().any(|e| e.text.contains("did not go through")));
    }

    let seen_policy = customer(&app)
        .get_return_policy(GetReturnPolicyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(seen_policy.auto_approve_max_refund.is_empty() && seen_policy.keep_item_max_refund.is_empty());
    assert!(seen_policy.manual_review_refund_limit.is_empty());
    assert_eq!(
        (seen_policy.manual_review_return_count, seen_policy.return_window_days),
        (0, 14)
    );
    let staff_policy = agent(&app)
        .get_return_policy(GetReturnPolicyRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(staff_policy.manual_review_return_count, 3);
    assert_eq!(staff_policy.auto_approve_max_refund, eur_list("100.00"));
}
