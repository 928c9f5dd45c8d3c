//! Racing checkouts: the account lock makes every hold see the one before
//! it, and a hold resolves once however many captures race.

use super::*;

#[tokio::test]
async fn fifty_holds_of_100_on_1000_points_exactly_ten_succeed() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 1000).await;
    let calls = (0..50).map(|i| {
        let mut client = storefront(&app);
        tokio::spawn(async move { client.hold_points(hold_request(CUSTOMER, 100, &format!("k-{i}"))).await })
    });
    let mut ok = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(_) => ok += 1,
            Err(status) => assert_eq!(reason(&status), "INSUFFICIENT_POINTS", "{status:?}"),
        }
    }
    assert_eq!(ok, 10);
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (0, 1000));
    assert_eq!(app.count("SELECT count(*) FROM loyalty.holds").await, 10);
    audit(&app).await;
}

#[tokio::test]
async fn twenty_captures_of_one_hold_spend_it_once() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 1000).await;
    let h = hold(&app, CUSTOMER, 500).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let mut client = storefront(&app);
            let hold_id = h.hold_id.clone();
            tokio::spawn(async move {
                client
                    .capture_points(CapturePointsRequest { hold_id, points: 500 })
                    .await
            })
        })
        .collect();
    for call in calls {
        let captured = call.await.unwrap().unwrap().into_inner();
        assert_eq!(
            (captured.status(), captured.captured_points),
            (HoldStatus::Captured, 500)
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty.entries WHERE kind = 'redeemed'")
            .await,
        1
    );
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (500, 0));
    audit(&app).await;
}

#[tokio::test]
async fn a_capture_racing_a_release_resolves_the_hold_one_way() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 1500).await;
    let mut spent = 0;
    for _ in 0..5 {
        let h = hold(&app, CUSTOMER, 300).await;
        let (mut a, mut b) = (storefront(&app), storefront(&app));
        let (id_a, id_b) = (h.hold_id.clone(), h.hold_id.clone());
        let capture = tokio::spawn(async move {
            a.capture_points(CapturePointsRequest {
                hold_id: id_a,
                points: 0,
            })
            .await
        });
        let release = tokio::spawn(async move { b.release_hold(ReleaseHoldRequest { hold_id: id_b }).await });
        let (captured, released) = (capture.await.unwrap(), release.await.unwrap());
        assert!(
            captured.is_ok() != released.is_ok(),
            "exactly one wins: {captured:?} {released:?}"
        );
        if let Ok(c) = captured {
            spent += c.into_inner().captured_points;
        }
    }
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (1500 - spent, 0));
    audit(&app).await;
}
