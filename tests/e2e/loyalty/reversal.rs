//! A succeeded refund takes back the points of its units: from the order's
//! own lots, pending before available; what was spent becomes debt that
//! later points pay back.

use aftercare_proto::returns::{ConfirmRefundRequest, Grade, IssueRefundRequest, Refund};

use super::*;
use crate::returns::{received_return, refund_item};

/// Returns `units` of `line` of `order_id` (c-1's) and refunds them.
pub(super) async fn refunded(app: &TestApp, order_id: &str, line: &str, units: i32) {
    let r = received_return(
        app,
        order_id,
        vec![refund_item(line, units)],
        &[(line, units, Grade::Resellable)],
    )
    .await;
    paid(app, r.return_id).await;
}

/// Issues and confirms the return's refund, and waits until every
/// consumer has seen it.
pub(super) async fn paid(app: &TestApp, return_id: String) -> Refund {
    let mut payments = app.returns(Role::Service, "payments");
    let refund = payments
        .issue_refund(IssueRefundRequest {
            return_id,
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    payments
        .confirm_refund(ConfirmRefundRequest {
            refund_id: refund.refund_id.clone(),
            provider_reference: "psp-1".into(),
        })
        .await
        .unwrap();
    app.settle().await;
    refund
}

/// Records o-1 of c-1 (300 points), delivered at the start, and moves the
/// clock to day 14 where its points have matured: here points mature after
/// 14 days (no tier lengthening it) while the return policy allows 30, so
/// the customer can spend them and still return the items.
async fn matured_while_returnable(app: &TestApp) {
    update_program(app, |p| {
        p.return_window_days = 14;
        p.tiers.iter_mut().for_each(|t| t.extra_return_days = 0);
    })
    .await;
    ordered(app, "o-1", CUSTOMER, true).await;
    app.clock.set(start_time() + Duration::days(14));
    app.run_jobs().await;
}

#[tokio::test]
async fn a_partial_return_takes_back_the_refunded_units_points_from_their_own_lot() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    let earned = entries(&app, CUSTOMER).await.remove(0);
    refunded(&app, "o-1", "L1", 1).await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.pending, a.available, a.debt, a.lifetime_earned), (225, 0, 0, 225));
    let reversed = entries(&app, CUSTOMER).await.remove(0);
    assert_eq!(reversed.kind(), EntryKind::Reversed);
    assert_eq!((reversed.pending_change, reversed.debt_change), (-75, 0));
    // Half of L1's 150 (2 units), from L1's own lot.
    let l1_lot = earned.lots.iter().find(|l| l.points == 150).unwrap();
    assert_eq!(reversed.lots.len(), 1);
    assert_eq!(
        (&reversed.lots[0].lot_id, reversed.lots[0].points),
        (&l1_lot.lot_id, 75)
    );
    // The second unit gives back exactly the rest, never more.
    refunded(&app, "o-1", "L1", 1).await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.pending, a.lifetime_earned), (150, 150));
    let reversals = app
        .count("SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.loyalty.events.v1.PointsReversed'")
        .await;
    assert_eq!(reversals, 2);
    audit(&app).await;
}

#[tokio::test]
async fn points_spent_before_the_return_become_debt_that_the_next_order_repays() {
    let app = TestApp::spawn().await;
    matured_while_returnable(&app).await;
    storefront(&app)
        .redeem_points(RedeemPointsRequest {
            customer_id: CUSTOMER.into(),
            points: 300,
            order_ref: "o-x".into(),
            request_id: "r-1".into(),
        })
        .await
        .unwrap();
    refunded(&app, "o-1", "L2", 1).await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.debt, a.lifetime_earned), (0, 75, 225));
    // Debt is not spendable balance: nothing can be held.
    let refused = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 100, "k-1"))
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "INSUFFICIENT_POINTS");

    // The next order's points pay it back when they mature.
    let mut next = order("o-2", CUSTOMER);
    next.placed_at = ts(start_time() + Duration::days(14));
    app.storefront().record_order(next).await.unwrap();
    app.storefront()
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-2".into(),
            line_ids: vec![],
            delivered_at: ts(start_time() + Duration::days(14)),
        })
        .await
        .unwrap();
    app.settle().await;
    assert_eq!(
        account(&app, CUSTOMER).await.debt,
        75,
        "pending points do not repay debt"
    );
    app.clock.set(start_time() + Duration::days(28));
    app.run_jobs().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.debt), (225, 0));
    let repaid = entries(&app, CUSTOMER).await;
    assert!(
        repaid
            .iter()
            .any(|e| e.kind() == EntryKind::DebtRepaid && e.debt_change == -75 && e.available_change == -75),
        "{repaid:?}"
    );
    audit(&app).await;
}

#[tokio::test]
async fn units_whose_share_rounds_to_nothing_still_count_so_the_last_unit_takes_the_rest() {
    let app = TestApp::spawn().await;
    // Three units paid 0.21 in all: 2 points.
    let mut request = order("o-1", CUSTOMER);
    request.lines = vec![crate::fixtures::line("L1", 3, "0.07")];
    request.order_discount = None;
    request.shipping_amount = None;
    let mut storefront_orders = app.storefront();
    storefront_orders.record_order(request).await.unwrap();
    storefront_orders
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 2);
    let mut left = Vec::new();
    for _ in 0..3 {
        refunded(&app, "o-1", "L1", 1).await;
        left.push(account(&app, CUSTOMER).await.pending);
    }
    assert_eq!(
        left,
        [2, 1, 0],
        "2 x 1/3 rounds to 0, 2 x 2/3 to 1, all 3 units give back both"
    );
    assert_eq!(account(&app, CUSTOMER).await.lifetime_earned, 0);
    audit(&app).await;
}

#[tokio::test]
async fn points_held_when_a_refund_takes_them_back_repay_the_debt_when_released() {
    let app = TestApp::spawn().await;
    matured_while_returnable(&app).await;
    let held = hold(&app, CUSTOMER, 300).await;
    refunded(&app, "o-1", "L2", 1).await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!(
        (a.available, a.held, a.debt),
        (0, 300, 75),
        "held points cannot cover it: debt"
    );
    // The abandoned cart's points come back and pay the debt first.
    storefront(&app)
        .release_hold(ReleaseHoldRequest { hold_id: held.hold_id })
        .await
        .unwrap();
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held, a.debt), (225, 0, 0));
    let too_much = storefront(&app)
        .redeem_points(RedeemPointsRequest {
            customer_id: CUSTOMER.into(),
            points: 300,
            order_ref: "o-x".into(),
            request_id: "r-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&too_much), "INSUFFICIENT_POINTS");
    audit(&app).await;
}

#[tokio::test]
async fn a_refund_delivered_twice_takes_its_points_back_once() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    refunded(&app, "o-1", "L3", 1).await;
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0, next_attempt_at = '2000-01-01'
         WHERE consumer = 'loyalty.returns'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.pending, a.lifetime_earned), (225, 225));
    audit(&app).await;
}

/// Polls (bounded) until `sql` returns true.
async fn until(app: &TestApp, sql: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !sqlx::query_scalar::<_, bool>(sql).fetch_one(&app.pool).await.unwrap() {
        assert!(std::time::Instant::now() < deadline, "never true: {sql}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_refund_that_overtakes_its_orders_events_waits_for_them() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    // Loyalty has not applied the order's events yet (held back here).
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, next_attempt_at = '2100-01-01'
         WHERE consumer = 'loyalty.orders'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let r = received_return(&app, "o-1", vec![refund_item("L3", 1)], &[("L3", 1, Grade::Resellable)]).await;
    let mut payments = app.returns(Role::Service, "payments");
    let refund = payments
        .issue_refund(IssueRefundRequest {
            return_id: r.return_id,
            request_id: "refund-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    payments
        .confirm_refund(ConfirmRefundRequest {
            refund_id: refund.refund_id,
            provider_reference: "psp-1".into(),
        })
        .await
        .unwrap();
    until(
        &app,
        "SELECT EXISTS (SELECT 1 FROM platform.outbox_deliveries
                        WHERE consumer = 'loyalty.returns' AND attempts > 0 AND delivered_at IS NULL
                          AND last_error LIKE '%have not reached loyalty%')",
    )
    .await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 300, "nothing taken back yet");
    // The order's events arrive; the refund's retry then applies.
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET next_attempt_at = '2000-01-01' WHERE consumer = 'loyalty.orders'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    until(
        &app,
        "SELECT NOT EXISTS (SELECT 1 FROM platform.outbox_deliveries
                            WHERE consumer = 'loyalty.orders' AND delivered_at IS NULL)",
    )
    .await;
    app.clock.advance(Duration::hours(1));
    until(
        &app,
        "SELECT pending = 225 FROM loyalty.accounts WHERE customer_id = 'c-1'",
    )
    .await;
    app.settle().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.pending, a.lifetime_earned), (225, 225));
    audit(&app).await;
}
