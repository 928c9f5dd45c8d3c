//! Tiers: up as soon as qualifying spend reaches the next threshold (and
//! the next order earns at its multiplier), down only after the grace
//! period below it, as the 12 months move on.

use super::*;

async fn tier_changes(app: &TestApp) -> Vec<(String, String)> {
    use prost::Message;
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM platform.outbox_events WHERE topic = 'aftercare.loyalty.events.v1.TierChanged' ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| {
            let e = aftercare_proto::loyalty_events::TierChanged::decode(p.as_slice()).unwrap();
            (e.from_tier, e.to_tier)
        })
        .collect()
}

#[tokio::test]
async fn spend_moves_a_customer_up_at_once_and_down_after_the_grace_period() {
    let app = TestApp::spawn().await;
    // Each order: 30.00 EUR paid, 300 base points; Silver starts at 1,000.
    for i in 1..=3 {
        ordered(&app, &format!("o-{i}"), CUSTOMER, true).await;
    }
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(status.tier.unwrap().name, "Bronze");
    assert_eq!(
        (
            status.qualifying_points,
            status.next_tier.as_str(),
            status.points_to_next
        ),
        (900, "Silver", 100)
    );
    ordered(&app, "o-4", CUSTOMER, true).await;
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(status.tier.as_ref().unwrap().name, "Silver");
    assert_eq!(status.tier.unwrap().earn_multiplier, "1.25");
    assert_eq!(tier_changes(&app).await, [("Bronze".to_owned(), "Silver".to_owned())]);
    // The next order earns at Silver's multiplier, each line rounded down:
    // 150, 75 and 75 base points give 187 + 93 + 93.
    ordered(&app, "o-5", CUSTOMER, true).await;
    let earned = entries(&app, CUSTOMER).await.remove(0);
    assert_eq!((earned.kind(), earned.pending_change), (EntryKind::Earned, 373));

    // A year on, the orders no longer qualify: the grace period starts.
    app.clock.set(start_time() + Duration::days(366));
    app.run_jobs().await;
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(status.tier.unwrap().name, "Silver");
    assert_eq!(status.qualifying_points, 0);
    let downgrade_at = start_time() + Duration::days(366 + 30);
    assert_eq!(status.downgrade_at, ts(downgrade_at));
    app.clock.set(downgrade_at - Duration::days(1));
    app.run_jobs().await;
    assert_eq!(account(&app, CUSTOMER).await.tier.unwrap().tier.unwrap().name, "Silver");
    app.clock.set(downgrade_at);
    app.run_jobs().await;
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(status.tier.unwrap().name, "Bronze");
    assert_eq!(status.downgrade_at, None);
    assert_eq!(
        tier_changes(&app).await,
        [
            ("Bronze".to_owned(), "Silver".to_owned()),
            ("Silver".to_owned(), "Bronze".to_owned())
        ]
    );
    audit(&app).await;
}

#[tokio::test]
async fn qualifying_again_during_the_grace_period_keeps_the_tier() {
    let app = TestApp::spawn().await;
    for i in 1..=4 {
        ordered(&app, &format!("o-{i}"), CUSTOMER, true).await;
    }
    app.clock.set(start_time() + Duration::days(366));
    app.run_jobs().await;
    assert!(account(&app, CUSTOMER).await.tier.unwrap().downgrade_at.is_some());
    // Four new orders within the grace period.
    for i in 5..=8 {
        let mut request = order(&format!("o-{i}"), CUSTOMER);
        request.placed_at = ts(start_time() + Duration::days(366));
        app.storefront().record_order(request).await.unwrap();
    }
    app.settle().await;
    app.clock.set(start_time() + Duration::days(366 + 31));
    app.run_jobs().await;
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(
        (status.tier.unwrap().name.as_str(), status.downgrade_at),
        ("Silver", None)
    );
    assert_eq!(tier_changes(&app).await.len(), 1, "never moved down");
}

#[tokio::test]
async fn tiers_are_checked_when_the_program_changes() {
    let app = TestApp::spawn().await;
    let mut program = admin(&app)
        .get_program(GetProgramRequest {})
        .await
        .unwrap()
        .into_inner();
    program.tiers[0].min_qualifying_points = 10;
    program.tiers[2].min_qualifying_points = 1000;
    program.tiers[1].earn_multiplier = "0.9".into();
    program.tiers[2].name = "Silver".into();
    program.tier_grace_days = -1;
    let refused = admin(&app)
        .update_program(UpdateProgramRequest { program: Some(program) })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&refused);
    fields.sort();
    fields.dedup();
    assert_eq!(
        fields,
        [
            "program.tier_grace_days",
            "program.tiers[0].min_qualifying_points",
            "program.tiers[1].earn_multiplier",
            "program.tiers[2].min_qualifying_points",
            "program.tiers[2].name",
        ]
    );
    let mut program = admin(&app)
        .get_program(GetProgramRequest {})
        .await
        .unwrap()
        .into_inner();
    program.tiers.truncate(2);
    program.tiers[1].min_qualifying_points = 300;
    let updated = admin(&app)
        .update_program(UpdateProgramRequest { program: Some(program) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.tiers.len(), 2);
    ordered(&app, "o-1", CUSTOMER, true).await;
    assert_eq!(account(&app, CUSTOMER).await.tier.unwrap().tier.unwrap().name, "Silver");
}

#[tokio::test]
async fn a_canceled_or_refunded_order_takes_its_tier_back_at_once() {
    let app = TestApp::spawn().await;
    for i in 1..=3 {
        ordered(&app, &format!("o-{i}"), CUSTOMER, true).await;
    }
    // Gold-ish abuse: order, get the tier, cancel before shipping.
    ordered(&app, "o-4", CUSTOMER, false).await;
    assert_eq!(account(&app, CUSTOMER).await.tier.unwrap().tier.unwrap().name, "Silver");
    cancel(&app, "o-4").await;
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(
        (status.tier.unwrap().name.as_str(), status.downgrade_at),
        ("Bronze", None),
        "no grace for it"
    );
    assert_eq!(
        tier_changes(&app).await,
        [
            ("Bronze".to_owned(), "Silver".to_owned()),
            ("Silver".to_owned(), "Bronze".to_owned())
        ]
    );
    audit(&app).await;
}

#[tokio::test]
async fn a_lower_threshold_moves_customers_up_and_no_tiers_clears_them() {
    let app = TestApp::spawn().await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    update_program(&app, |p| p.tiers[1].min_qualifying_points = 300).await;
    app.run_jobs().await;
    assert_eq!(account(&app, CUSTOMER).await.tier.unwrap().tier.unwrap().name, "Silver");
    update_program(&app, |p| p.tiers.clear()).await;
    app.run_jobs().await;
    let status = account(&app, CUSTOMER).await.tier.unwrap();
    assert_eq!(status.tier, None);
    let stuck = app
        .count("SELECT count(*) FROM loyalty.accounts WHERE tier IS NOT NULL OR tier_checked_at IS NULL")
        .await;
    assert_eq!(stuck, 0, "every account reviewed, none left for the job forever");
}

#[tokio::test]
async fn qualifying_spend_counts_from_when_an_order_was_placed() {
    let app = TestApp::spawn().await;
    // Recorded today, placed 13 months ago: it earns, but no longer qualifies.
    let mut old = order("o-old", CUSTOMER);
    old.placed_at = ts(start_time() - Duration::days(400));
    app.storefront().record_order(old).await.unwrap();
    ordered(&app, "o-new", CUSTOMER, false).await;
    // (Its points may have matured already: placed 13 months ago, they are
    // past the undelivered maximum, and the server's job may have run.)
    let a = account(&app, CUSTOMER).await;
    assert_eq!((a.lifetime_earned, a.tier.unwrap().qualifying_points), (600, 300));
}
