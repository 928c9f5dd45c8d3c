//! Quote, hold, capture, release and redeem, one caller at a time.

use super::*;

async fn capture(app: &TestApp, hold_id: &str, points: i64) -> Result<Hold, tonic::Status> {
    storefront(app)
        .capture_points(CapturePointsRequest {
            hold_id: hold_id.into(),
            points,
        })
        .await
        .map(|r| r.into_inner())
}

async fn release(app: &TestApp, hold_id: &str) -> Result<Hold, tonic::Status> {
    storefront(app)
        .release_hold(ReleaseHoldRequest {
            hold_id: hold_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_partial_capture_spends_part_of_a_hold_and_gives_the_rest_back_once() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 1000).await;
    let h = hold(&app, CUSTOMER, 400).await;
    assert_eq!(h.status(), HoldStatus::Held);
    assert_eq!(
        h.expires_at,
        ts(start_time() + Duration::seconds(900)),
        "the default TTL"
    );
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (600, 400));

    let captured = capture(&app, &h.hold_id, 250).await.unwrap();
    assert_eq!(
        (captured.status(), captured.captured_points),
        (HoldStatus::Captured, 250)
    );
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (750, 0));
    let latest = entries(&app, CUSTOMER).await;
    assert_eq!(
        (latest[0].kind(), latest[0].held_change, latest[0].available_change),
        (EntryKind::Released, -150, 150)
    );
    assert_eq!((latest[1].kind(), latest[1].held_change), (EntryKind::Redeemed, -250));

    // The same capture again answers the same; anything else is refused.
    let again = capture(&app, &h.hold_id, 250).await.unwrap();
    assert_eq!(again, captured);
    let other = capture(&app, &h.hold_id, 300).await.unwrap_err();
    assert_eq!(
        (other.code(), reason(&other)),
        (Code::FailedPrecondition, "HOLD_RESOLVED".into())
    );
    let released = release(&app, &h.hold_id).await.unwrap_err();
    assert_eq!(reason(&released), "HOLD_RESOLVED");
    assert_eq!(
        entries(&app, CUSTOMER).await.len(),
        latest.len(),
        "nothing more written"
    );
    let over = capture(&app, &hold(&app, CUSTOMER, 100).await.hold_id, 101)
        .await
        .unwrap_err();
    assert_eq!(reason(&over), "CAPTURE_EXCEEDS_HOLD");
    audit(&app).await;
}

#[tokio::test]
async fn a_released_hold_gives_every_point_back_and_cannot_be_captured() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 1000).await;
    let h = hold(&app, CUSTOMER, 300).await;
    let released = release(&app, &h.hold_id).await.unwrap();
    assert_eq!(released.status(), HoldStatus::Released);
    assert_eq!(account(&app, CUSTOMER).await.available, 1000);
    let count = entries(&app, CUSTOMER).await.len();
    assert_eq!(release(&app, &h.hold_id).await.unwrap(), released, "released once");
    assert_eq!(entries(&app, CUSTOMER).await.len(), count);
    let late = capture(&app, &h.hold_id, 0).await.unwrap_err();
    assert_eq!(reason(&late), "HOLD_RESOLVED");
    let unknown = release(&app, &uuid::Uuid::now_v7().to_string()).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    audit(&app).await;
}

#[tokio::test]
async fn not_enough_points_says_how_many_are_available_and_writes_nothing() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 150).await;
    let before = app.count("SELECT count(*) FROM loyalty.entries").await;
    let short = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 200, "k-1"))
        .await
        .unwrap_err();
    assert_eq!(
        (short.code(), reason(&short)),
        (Code::FailedPrecondition, "INSUFFICIENT_POINTS".into())
    );
    use tonic_types::StatusExt;
    let info = short.get_details_error_info().unwrap();
    assert_eq!(info.metadata.get("available").map(String::as_str), Some("150"));
    let small = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 99, "k-2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&small), "BELOW_MINIMUM_REDEMPTION");
    let nobody = storefront(&app)
        .redeem_points(RedeemPointsRequest {
            customer_id: "c-nobody".into(),
            points: 100,
            order_ref: "o".into(),
            request_id: "k-3".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&nobody), "INSUFFICIENT_POINTS");
    assert_eq!(app.count("SELECT count(*) FROM loyalty.entries").await, before);
    assert_eq!(app.count("SELECT count(*) FROM loyalty.holds").await, 0);
    // The failed key is free for a retry once points arrive.
    give(&app, CUSTOMER, 50).await;
    let retried = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 200, "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.points, 200);
    audit(&app).await;
}

#[tokio::test]
async fn a_hold_past_its_time_cannot_be_captured_and_the_job_gives_it_back() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 500).await;
    let mut request = hold_request(CUSTOMER, 200, "k-1");
    request.ttl_seconds = 60;
    let h = storefront(&app).hold_points(request).await.unwrap().into_inner();
    app.clock.advance(Duration::seconds(60));
    let late = capture(&app, &h.hold_id, 0).await.unwrap_err();
    assert_eq!(reason(&late), "HOLD_EXPIRED");
    assert_eq!(
        account(&app, CUSTOMER).await.held,
        200,
        "a refused capture writes nothing"
    );
    app.run_jobs().await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.held), (500, 0));
    let given_back = release(&app, &h.hold_id).await.unwrap();
    assert_eq!(given_back.status(), HoldStatus::Expired);
    assert_eq!(entries(&app, CUSTOMER).await[0].reason, "hold expired");
    audit(&app).await;
}

#[tokio::test]
async fn the_servers_own_job_releases_holds_on_time() {
    let app = TestApp::spawn_with(&["all"], std::time::Duration::from_millis(20)).await;
    give(&app, CUSTOMER, 500).await;
    hold(&app, CUSTOMER, 200).await;
    app.clock.advance(Duration::seconds(900));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while account(&app, CUSTOMER).await.held != 0 {
        assert!(std::time::Instant::now() < deadline, "the job never released the hold");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(account(&app, CUSTOMER).await.available, 500);
    audit(&app).await;
}

#[tokio::test]
async fn a_hold_request_id_is_the_callers_and_answers_the_same_hold() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 1000).await;
    let first = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 200, "k-1"))
        .await
        .unwrap()
        .into_inner();
    let again = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 200, "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, first);
    assert_eq!(account(&app, CUSTOMER).await.held, 200, "held once");
    let changed = storefront(&app)
        .hold_points(hold_request(CUSTOMER, 300, "k-1"))
        .await
        .unwrap_err();
    assert_eq!(changed.code(), Code::AlreadyExists);
    let other_caller = app
        .loyalty(Role::Service, "another-storefront")
        .hold_points(hold_request(CUSTOMER, 200, "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(other_caller.hold_id, first.hold_id);
    assert_eq!(account(&app, CUSTOMER).await.held, 400);
    audit(&app).await;
}

#[tokio::test]
async fn a_quote_stops_at_the_share_of_the_order_and_the_balance() {
    let app = TestApp::spawn().await;
    give(&app, CUSTOMER, 10_000).await;
    let quote = |total: &str| {
        let mut client = app.loyalty(Role::Customer, CUSTOMER);
        let total = eur(total);
        async move {
            client
                .quote_redemption(QuoteRedemptionRequest {
                    customer_id: CUSTOMER.into(),
                    order_total: total,
                })
                .await
        }
    };
    // Half of 8.00 is 4.00: 4,000 points at 0.001 EUR.
    let q = quote("8.00").await.unwrap().into_inner();
    assert_eq!((q.points, q.value, q.available), (4000, eur("4.00"), 10_000));
    let q = quote("100.00").await.unwrap().into_inner();
    assert_eq!((q.points, q.value), (10_000, eur("10.00")));
    let q = quote("0.19").await.unwrap().into_inner();
    assert_eq!(
        (q.points, q.min_redeem_points),
        (0, 100),
        "95 points: below the minimum"
    );
    let gbp = app
        .loyalty(Role::Customer, CUSTOMER)
        .quote_redemption(QuoteRedemptionRequest {
            customer_id: CUSTOMER.into(),
            order_total: Some(aftercare_proto::common::Money {
                currency_code: "GBP".into(),
                amount: "10.00".into(),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&gbp), "CURRENCY_NOT_IN_PROGRAM");
}

#[tokio::test]
async fn grants_stay_within_the_limit_and_adjustments_never_overdraw() {
    let app = TestApp::spawn().await;
    let grant = |points: i64, key: &str| {
        let mut client = agent(&app);
        let key = key.to_owned();
        async move {
            client
                .grant_points(GrantPointsRequest {
                    customer_id: CUSTOMER.into(),
                    points,
                    reason: "late delivery".into(),
                    request_id: key,
                })
                .await
        }
    };
    let over = grant(5001, "g-1").await.unwrap_err();
    assert_eq!(reason(&over), "GRANT_OVER_LIMIT");
    let granted = grant(500, "g-2").await.unwrap().into_inner();
    assert_eq!((granted.kind(), granted.available_change), (EntryKind::Granted, 500));
    assert_eq!(granted.reason, "late delivery");
    assert_eq!(grant(500, "g-2").await.unwrap().into_inner(), granted, "granted once");
    let overdraw = admin(&app)
        .adjust_points(AdjustPointsRequest {
            customer_id: CUSTOMER.into(),
            points: -501,
            reason: "correction".into(),
            request_id: "a-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&overdraw), "INSUFFICIENT_POINTS");
    let taken = give(&app, CUSTOMER, -200).await;
    assert_eq!((taken.kind(), taken.available_change), (EntryKind::Adjusted, -200));
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.available, a.lifetime_earned), (300, 500));
    audit(&app).await;
}
