//! Expiry: lots expire 24 months after they became available, earliest
//! first, and points a hold reserved never expire while held.

use super::*;

fn months(n: u32) -> chrono::DateTime<chrono::Utc> {
    start_time().checked_add_months(chrono::Months::new(n)).unwrap()
}

#[tokio::test]
async fn lots_are_spent_and_expired_earliest_first_and_held_points_never_expire() {
    let app = TestApp::spawn().await;
    let first = give(&app, CUSTOMER, 300).await; // expires at start + 24 months
    let lot_a = first.lots[0].lot_id.clone();
    assert_eq!(first.lots[0].expires_at, ts(months(24)));
    app.clock.set(months(2));
    let second = give(&app, CUSTOMER, 300).await; // expires at start + 26 months
    let lot_b = second.lots[0].lot_id.clone();

    // A hold takes the earliest-expiring lot first.
    let big = hold(&app, CUSTOMER, 400).await;
    let held = &entries(&app, CUSTOMER).await[0];
    let moved: Vec<(String, i64)> = held.lots.iter().map(|l| (l.lot_id.clone(), l.points)).collect();
    assert!(
        moved.contains(&(lot_a.clone(), 300)) && moved.contains(&(lot_b.clone(), 100)),
        "{moved:?}"
    );
    storefront(&app)
        .release_hold(ReleaseHoldRequest { hold_id: big.hold_id })
        .await
        .unwrap();

    // 200 of lot A reserved by a hold that lapses (a day) long before A
    // expires, and that no job has given back yet.
    let h = storefront(&app)
        .hold_points(HoldPointsRequest {
            ttl_seconds: 86_400,
            ..hold_request(CUSTOMER, 200, "k-held")
        })
        .await
        .unwrap()
        .into_inner();
    app.clock.set(months(24) - Duration::days(10));
    let soon = account(&app, CUSTOMER).await.expiring_soon;
    assert_eq!(soon.len(), 1);
    assert_eq!(
        (soon[0].points, &soon[0].expires_at),
        (100, &ts(months(24))),
        "held points are not shown expiring"
    );

    app.clock.set(months(24));
    // The job first gives the lapsed hold back to lot A, then A's points
    // expire in the same pass.
    app.run_jobs().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (300, 0), "only lot B is left");
    let latest = entries(&app, CUSTOMER).await;
    assert_eq!(latest[0].kind(), EntryKind::Expired);
    assert_eq!(latest[0].available_change, -300);
    assert_eq!(latest[0].lots.len(), 1);
    assert_eq!(latest[0].lots[0].lot_id, lot_a);
    assert_eq!(latest[1].kind(), EntryKind::Released);
    assert_eq!(latest[1].hold_id, h.hold_id);
    app.clock.set(months(26));
    app.run_jobs().await;
    assert_eq!(account(&app, CUSTOMER).await.available, 0);
    audit(&app).await;
}

#[tokio::test]
async fn points_held_across_their_expiry_are_spent_not_expired() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 300).await;
    app.clock.set(months(24) - Duration::seconds(30));
    let h = hold(&app, CUSTOMER, 200).await; // until 14m30s past expiry
    app.clock.set(months(24) + Duration::seconds(60));
    app.run_jobs().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!(
        (a.available, a.held),
        (0, 200),
        "the unheld 100 expired; the held 200 did not"
    );
    let captured = storefront(&app)
        .capture_points(CapturePointsRequest {
            hold_id: h.hold_id,
            points: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(captured.captured_points, 200);
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (0, 0));
    audit(&app).await;
}

#[tokio::test]
async fn customers_are_warned_once_thirty_days_before_points_expire() {
    use prost::Message;
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 300).await;
    let warnings = || async {
        let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT payload FROM platform.outbox_events
             WHERE topic = 'aftercare.loyalty.events.v1.PointsExpiringSoon' ORDER BY seq",
        )
        .fetch_all(&app.pool)
        .await
        .unwrap();
        payloads
            .iter()
            .map(|p| aftercare_proto::loyalty_events::PointsExpiringSoon::decode(p.as_slice()).unwrap())
            .map(|e| (e.customer_id, e.points, e.expires_at))
            .collect::<Vec<_>>()
    };
    app.clock.set(months(24) - Duration::days(31));
    app.run_jobs().await;
    assert!(warnings().await.is_empty(), "not yet");
    app.clock.set(months(24) - Duration::days(30));
    app.run_jobs().await;
    assert_eq!(warnings().await, [(CUSTOMER.to_owned(), 300, ts(months(24)))]);
    app.clock.set(months(24) - Duration::days(29));
    app.run_jobs().await;
    assert_eq!(warnings().await.len(), 1, "warned once");
}
