//! Points from orders: pending on intake, maturing when the return window
//! closes (or the undelivered maximum passes), voided on cancel, earned once.

use super::*;

fn kinds(entries: &[LedgerEntry]) -> Vec<EntryKind> {
    entries.iter().map(|e| e.kind()).collect()
}

#[tokio::test]
async fn an_order_earns_pending_points_that_mature_when_the_window_closes_and_can_be_redeemed() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.pending, a.lifetime_earned), (0, 300, 300));
    let earned = &entries(&app, CUSTOMER).await[0];
    assert_eq!(earned.kind(), EntryKind::Earned);
    assert_eq!(earned.order_id, "o-1");
    let mut per_lot: Vec<i64> = earned.lots.iter().map(|l| l.points).collect();
    per_lot.sort();
    assert_eq!(per_lot, [75, 75, 150], "one lot per line, 10 points per euro paid");

    // Delivered at the start: the 30-day window, plus the 15 days Gold's
    // perk could add to it, closes 45 days later.
    app.clock.set(start_time() + Duration::days(45) - Duration::seconds(1));
    app.run_jobs().await;
    assert_eq!(
        account(&app, CUSTOMER).await.pending,
        300,
        "not before the window closes"
    );
    app.clock.set(start_time() + Duration::days(45));
    app.run_jobs().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.pending), (300, 0));
    let matured = &entries(&app, CUSTOMER).await[0];
    assert_eq!(matured.kind(), EntryKind::Matured);
    let expiry = (start_time() + Duration::days(45))
        .checked_add_months(chrono::Months::new(24))
        .unwrap();
    for lot in &matured.lots {
        assert_eq!(lot.expires_at, ts(expiry), "points expire 24 months after they matured");
    }

    let quote = storefront(&app)
        .quote_redemption(QuoteRedemptionRequest {
            customer_id: CUSTOMER.into(),
            order_total: eur("100.00"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((quote.points, quote.value), (300, eur("0.30")));
    let redeemed = storefront(&app)
        .redeem_points(RedeemPointsRequest {
            customer_id: CUSTOMER.into(),
            points: 200,
            order_ref: "o-2".into(),
            request_id: "redeem-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(redeemed.status(), HoldStatus::Captured);
    assert_eq!(redeemed.captured_points, 200);
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held, a.lifetime_earned), (100, 0, 300));
    assert_eq!(
        kinds(&entries(&app, CUSTOMER).await),
        [EntryKind::Redeemed, EntryKind::Matured, EntryKind::Earned]
    );
    let events = app
        .count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic IN (
                'aftercare.loyalty.events.v1.PointsEarned', 'aftercare.loyalty.events.v1.PointsMatured',
                'aftercare.loyalty.events.v1.PointsRedeemed')",
        )
        .await;
    assert_eq!(events, 3);
    audit(&app).await;
}

#[tokio::test]
async fn a_canceled_order_voids_its_pending_points() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, false).await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 300);
    cancel(&app, "o-1").await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.pending, a.lifetime_earned), (0, 0, 0));
    let voided = &entries(&app, CUSTOMER).await[0];
    assert_eq!(voided.kind(), EntryKind::Voided);
    assert_eq!(voided.pending_change, -300);
    // Nothing left to mature, ever.
    app.clock.set(start_time() + Duration::days(400));
    app.run_jobs().await;
    assert_eq!(account(&app, CUSTOMER).await.available, 0);
    audit(&app).await;
}

#[tokio::test]
async fn points_of_an_undelivered_order_mature_after_the_maximum() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, false).await;
    // Placed three days before the start; 90 days is the program's maximum.
    app.clock.set(start_time() + Duration::days(87) - Duration::seconds(1));
    app.run_jobs().await;
    assert_eq!(account(&app, CUSTOMER).await.available, 0);
    app.clock.set(start_time() + Duration::days(87));
    app.run_jobs().await;
    assert_eq!(account(&app, CUSTOMER).await.available, 300);
    audit(&app).await;
}

#[tokio::test]
async fn order_events_delivered_again_earn_nothing_twice() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    // Every order event reaches loyalty a second time (a replay).
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0, next_attempt_at = '2000-01-01'
         WHERE consumer = 'loyalty.orders'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.pending, a.lifetime_earned), (300, 300));
    assert_eq!(kinds(&entries(&app, CUSTOMER).await), [EntryKind::Earned]);
    audit(&app).await;
}
