//! Warranty money goes through the returns service's refund path: returns
//! counts it on the order line, so a unit refunded under warranty is never
//! refunded again by a return (nor the other way round), the payment tool
//! settles every refund with the same two calls, and each step is taken
//! once however often its event is delivered.

use aftercare_proto::loyalty::GetStoreCreditRequest;
use aftercare_proto::returns::{CheckEligibilityRequest, RefundStatus};

use rust_decimal::Decimal;

use super::remedies::approved;
use super::*;
use crate::returns::{create, refund_item};

async fn issue(app: &TestApp, claim_id: &str, amount: Option<aftercare_proto::common::Money>) -> ClaimRefund {
    agent(app, "agent-1")
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: claim_id.into(),
            amount,
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
}

/// (requested units, refunded units, refunded amount) of an order line as
/// returns counts them.
async fn line(app: &TestApp, line_id: &str) -> (i32, i32, Decimal) {
    sqlx::query_as(
        "SELECT requested_quantity, refunded_units, refunded_amount FROM returns.order_lines
         WHERE order_id = 'o-1' AND line_id = $1",
    )
    .bind(line_id)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_unit_refunded_under_warranty_is_not_returned_for_money_again() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    let price = r.unit_price.clone().unwrap();
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let refund = issue(&app, &c, None).await;
    let in_returns = returns_refund_of(&app, &refund.refund_id).await;
    assert_eq!(in_returns.status(), RefundStatus::Pending);
    // The unit and its money are taken from the line before it is paid.
    assert_eq!(line(&app, "L1").await, (1, 1, price.amount.parse().unwrap()));
    // The payment tool follows RefundRequested as it does for returns.
    let requested: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM platform.outbox_events WHERE topic = 'aftercare.returns.events.v1.RefundRequested'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(requested.len(), 1);
    let paid = settle_refund(&app, &refund.refund_id, Ok("psp-1")).await;
    assert_eq!(paid.status(), ClaimRefundStatus::Succeeded);
    // Only the other kettle of L1 may still be returned; both is refused.
    let eligibility = app
        .returns(Role::Customer, CUSTOMER)
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec!["L1".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(eligibility.lines[0].returnable_quantity, 1);
    let both = app
        .returns(Role::Customer, CUSTOMER)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap_err();
    assert_eq!(reason(&both), "ITEMS_NOT_ELIGIBLE");
    assert_eq!(app.count("SELECT count(*) FROM returns.returns").await, 0);
}

#[tokio::test]
async fn a_unit_in_a_return_is_not_refunded_under_warranty_too() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    app.returns(Role::Customer, CUSTOMER)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap();
    let r = unit(&app, "L2", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let refund = issue(&app, &c, None).await;
    // Returns cannot pay it: it fails at once, with why, and nothing is
    // taken from the line beyond the return's unit.
    assert_eq!(
        returns_refund_of(&app, &refund.refund_id).await.status(),
        RefundStatus::Failed
    );
    assert_eq!(line(&app, "L2").await.0, 1);
    assert_eq!(line(&app, "L2").await.1, 0);
    let seen = agent(&app, "agent-1")
        .get_claim_refund(GetClaimRefundRequest {
            refund_id: refund.refund_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.status(), ClaimRefundStatus::Failed);
    assert_eq!(seen.failure_reason, "the unit was returned or refunded before");
    // The customer sees that it failed, not the internal reason.
    let own = customer(&app)
        .get_claim_refund(GetClaimRefundRequest {
            refund_id: refund.refund_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (own.status(), own.failure_reason.as_str()),
        (ClaimRefundStatus::Failed, "")
    );
    assert_eq!(claim_status(&app, &c).await, ClaimStatus::Approved);
}

#[tokio::test]
async fn a_failed_payment_gives_the_unit_back_and_a_new_refund_pays_once() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L3", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let first = issue(&app, &c, None).await;
    settle_refund(&app, &first.refund_id, Err("card expired")).await;
    assert_eq!(line(&app, "L3").await, (0, 0, Decimal::ZERO));
    let second = issue(&app, &c, None).await;
    settle_refund(&app, &second.refund_id, Ok("psp-2")).await;
    assert_eq!(line(&app, "L3").await.1, 1);
    assert_eq!(claim_status(&app, &c).await, ClaimStatus::Resolved);
}

#[tokio::test]
async fn requests_and_outcomes_delivered_again_take_effect_once() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let refund = issue(&app, &c, None).await;
    settle_refund(&app, &refund.refund_id, Ok("psp-1")).await;
    let timeline = claim_timeline_len(&app, &c).await;
    // Every delivery of both consumers again, as after a crash.
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, next_attempt_at = '2000-01-01'
         WHERE consumer IN ('returns.warranty', 'warranty.refunds')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(app.count("SELECT count(*) FROM returns.warranty_refunds").await, 1);
    assert_eq!(line(&app, "L1").await.1, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.returns.events.v1.RefundRequested'"
        )
        .await,
        1
    );
    assert_eq!(claim_timeline_len(&app, &c).await, timeline);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_deliveries
             WHERE consumer IN ('returns.warranty', 'warranty.refunds') AND (delivered_at IS NULL OR last_error IS NOT NULL)"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_product_bought_elsewhere_is_paid_back_as_store_credit() {
    let app = TestApp::spawn().await;
    let registration = customer(&app)
        .register_product(manual("SN-ELSEWHERE", "k-1"))
        .await
        .unwrap()
        .into_inner();
    agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: registration.registration_id.clone(),
            accept: true,
            note: String::new(),
        })
        .await
        .unwrap();
    let c = approved(&app, &registration.registration_id, Remedy::Refund).await;
    let refund = issue(&app, &c, crate::fixtures::eur("30.00")).await;
    app.settle().await;
    let method: String =
        sqlx::query_scalar("SELECT method FROM returns.warranty_refunds WHERE warranty_refund_id = $1::uuid")
            .bind(&refund.refund_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(method, "store_credit");
    settle_refund(&app, &refund.refund_id, Ok("credit-1")).await;
    let credit = app
        .store_credit(Role::Customer, CUSTOMER)
        .get_store_credit(GetStoreCreditRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(credit.balances.len(), 1);
    assert_eq!(credit.balances[0].available, crate::fixtures::eur("30.00"));
}

async fn claim_status(app: &TestApp, id: &str) -> ClaimStatus {
    agent(app, "agent-1")
        .get_claim(GetClaimRequest { claim_id: id.into() })
        .await
        .unwrap()
        .into_inner()
        .status()
}

async fn claim_timeline_len(app: &TestApp, id: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM warranty.claim_timeline WHERE claim_id = '{id}'"
    ))
    .await
}
