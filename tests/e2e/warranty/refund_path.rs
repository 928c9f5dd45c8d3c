//! Warranty money goes through the returns service's refund path: returns
//! counts it on the order line, so a unit refunded under warranty is never
//! refunded again by a return (nor the other way round), the payment tool
//! settles every refund with the same two calls, and each step is taken
//! once however often its event is delivered.

use aftercare_proto::loyalty::GetStoreCreditRequest;
use aftercare_proto::returns::{
    CheckEligibilityRequest, ConfirmRefundRequest, Grade, IssueRefundRequest, RefundStatus,
};

use rust_decimal::Decimal;

use super::remedies::approved;
use super::*;
use crate::returns::{create, received_return, refund_item};

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
    assert_eq!(seen.failure_reason, "the unit was returned before");
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
async fn a_failed_payment_gives_the_money_back_and_a_new_refund_pays_once() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L3", 1).await;
    let price: Decimal = r.unit_price.clone().unwrap().amount.parse().unwrap();
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let first = issue(&app, &c, None).await;
    settle_refund(&app, &first.refund_id, Err("card expired")).await;
    // The money goes back to the line; the unit stays with warranty, whose
    // claim goes on (no return can refund it meanwhile).
    assert_eq!(line(&app, "L3").await, (1, 1, Decimal::ZERO));
    let second = issue(&app, &c, None).await;
    settle_refund(&app, &second.refund_id, Ok("psp-2")).await;
    assert_eq!(line(&app, "L3").await, (1, 1, price));
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
    // Store credit out of nothing but an agent's word: an agent, who named
    // the amount, cannot also confirm it; the payment tool does.
    let in_returns = returns_refund_of(&app, &refund.refund_id).await;
    let by_agent = app
        .returns(Role::Agent, "agent-1")
        .confirm_refund(ConfirmRefundRequest {
            refund_id: in_returns.refund_id,
            provider_reference: "self-approved".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(by_agent.code(), tonic::Code::PermissionDenied);
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

/// Refunds a return of one unit of `line` received resellable, and pays it.
async fn returned_and_paid(app: &TestApp, line: &str) {
    let r = received_return(app, "o-1", vec![refund_item(line, 1)], &[(line, 1, Grade::Resellable)]).await;
    let mut tool = app.returns(Role::Service, "payments");
    let refund = match r.refund {
        Some(f) => f,
        None => tool
            .issue_refund(IssueRefundRequest {
                return_id: r.return_id.clone(),
                request_id: uuid::Uuid::now_v7().to_string(),
            })
            .await
            .unwrap()
            .into_inner(),
    };
    tool.confirm_refund(ConfirmRefundRequest {
        refund_id: refund.refund_id,
        provider_reference: uuid::Uuid::now_v7().to_string(),
    })
    .await
    .unwrap();
    app.settle().await;
}

#[tokio::test]
async fn a_unit_refunded_by_a_return_is_no_longer_covered() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    // A kettle of L1's two had a claim first: the other is taken as returned.
    let kept = unit(&app, "L1", 1).await;
    approved(&app, &kept.registration_id, Remedy::Repair).await;
    returned_and_paid(&app, "L1").await;
    assert_eq!(
        l1_statuses(&app).await,
        (RegistrationStatus::Active, RegistrationStatus::Refunded)
    );
    // The returned unit can be paid nothing under warranty; the kept one can.
    let gone = registrations(&app, CUSTOMER)
        .await
        .into_iter()
        .find(|r| r.line_id == "L1" && r.unit == 2)
        .unwrap();
    let filed = file(&app, &gone.registration_id).await;
    assert_eq!(filed.coverage_at_filing.unwrap().reason(), CoverageReason::Refunded);
    // The same refund delivered again takes no other unit.
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, next_attempt_at = '2000-01-01'
         WHERE consumer = 'warranty.refunds'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(
        app.count("SELECT count(*) FROM warranty.registrations WHERE line_id = 'L1' AND status = 'refunded'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_price_reduction_keeps_the_lines_other_unit_at_its_price() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let (_, _, before) = line(&app, "L1").await;
    assert_eq!(before, Decimal::ZERO);
    let r = unit(&app, "L1", 1).await;
    let price: Decimal = r.unit_price.clone().unwrap().amount.parse().unwrap();
    let c = approved(&app, &r.registration_id, Remedy::PriceReduction).await;
    let reduction = issue(&app, &c, crate::fixtures::eur("2.50")).await;
    settle_refund(&app, &reduction.refund_id, Ok("psp-1")).await;
    // The reduced kettle is the customer's to keep: only the other one can
    // be returned, and it is refunded its full price.
    let both = app
        .returns(Role::Customer, CUSTOMER)
        .create_return(create("o-1", vec![refund_item("L1", 2)]))
        .await
        .unwrap_err();
    assert_eq!(reason(&both), "ITEMS_NOT_ELIGIBLE");
    returned_and_paid(&app, "L1").await;
    let (requested, refunded_units, refunded_amount) = line(&app, "L1").await;
    assert_eq!((requested, refunded_units), (2, 2));
    let paid_for_line: Decimal =
        sqlx::query_scalar("SELECT paid_amount FROM returns.order_lines WHERE order_id = 'o-1' AND line_id = 'L1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // 2.50 for the kept kettle plus the returned one's price: to the cent,
    // and never more than the line was paid.
    let other_price = paid_for_line - price;
    assert_eq!(refunded_amount, Decimal::new(250, 2) + other_price);
    assert!(refunded_amount <= paid_for_line);
}

#[tokio::test]
async fn a_return_never_takes_coverage_from_a_unit_warranty_paid_on() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    // Unit 2 was given a price reduction (warranty took it from the line);
    // unit 1 has a repair claim. One kettle of L1 comes back: unit 1.
    let two = unit(&app, "L1", 2).await;
    let c = approved(&app, &two.registration_id, Remedy::PriceReduction).await;
    let reduction = issue(&app, &c, crate::fixtures::eur("1.00")).await;
    settle_refund(&app, &reduction.refund_id, Ok("psp-1")).await;
    let one = unit(&app, "L1", 1).await;
    approved(&app, &one.registration_id, Remedy::Repair).await;
    returned_and_paid(&app, "L1").await;
    assert_eq!(
        l1_statuses(&app).await,
        (RegistrationStatus::Refunded, RegistrationStatus::Active)
    );
}

#[tokio::test]
async fn a_request_that_cannot_be_read_fails_the_refund_with_why() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L3", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    // A refund written as an older or broken producer would: its request
    // carries no amount.
    let refund_id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO warranty.refunds (refund_id, claim_id, kind, amount, currency_code, status, created_at,
             updated_at)
         VALUES ($1, $2::uuid, 'refund', 10.00, 'EUR', 'pending', now(), now())",
    )
    .bind(refund_id)
    .bind(&c)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let broken = aftercare_proto::warranty_events::ClaimRefundRequested {
        refund_id: refund_id.to_string(),
        claim_id: c.clone(),
        customer_id: CUSTOMER.into(),
        kind: "refund".into(),
        order_id: "o-1".into(),
        line_id: "L3".into(),
        units: 1,
        ..Default::default()
    };
    aftercare_platform::outbox::enqueue(&mut conn, &c, &broken, crate::support::start_time())
        .await
        .unwrap();
    drop(conn);
    app.settle().await;
    let seen = agent(&app, "agent-1")
        .get_claim_refund(GetClaimRefundRequest {
            refund_id: refund_id.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.status(), ClaimRefundStatus::Failed);
    assert_eq!(seen.failure_reason, "the request could not be read: no amount");
    assert_eq!(app.count("SELECT count(*) FROM returns.warranty_refunds").await, 0);
    assert_eq!(line(&app, "L3").await, (0, 0, Decimal::ZERO));
}

/// The statuses of L1's units 1 and 2.
async fn l1_statuses(app: &TestApp) -> (RegistrationStatus, RegistrationStatus) {
    let units = registrations(app, CUSTOMER).await;
    let status = |n: i32| {
        units
            .iter()
            .find(|r| r.line_id == "L1" && r.unit == n)
            .unwrap()
            .status()
    };
    (status(1), status(2))
}
