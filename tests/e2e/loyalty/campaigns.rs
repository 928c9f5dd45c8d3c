//! Campaigns: "double points on kitchen this week", the best multiplier
//! and the best bonus winning when campaigns overlap, a first-order bonus
//! given once.

use aftercare_proto::common::Channel;

use super::*;

fn campaign(id: &str, multiplier: &str, bonus: i64) -> Campaign {
    Campaign {
        campaign_id: id.into(),
        name: format!("Campaign {id}"),
        trigger: CampaignTrigger::Order as i32,
        starts_at: ts(start_time() - Duration::days(5)),
        ends_at: ts(start_time() + Duration::days(2)),
        earn_multiplier: multiplier.into(),
        bonus_points: bonus,
        categories: vec!["kitchen".into()],
        skus: vec![],
        channels: vec![],
        active: true,
    }
}

/// 1,000 points on a customer's first order, whatever it holds.
fn welcome() -> Campaign {
    Campaign {
        trigger: CampaignTrigger::FirstOrder as i32,
        categories: vec![],
        ..campaign("welcome", "1", 1000)
    }
}

async fn run(app: &TestApp, c: Campaign) {
    admin(app)
        .upsert_campaign(UpsertCampaignRequest { campaign: Some(c) })
        .await
        .unwrap();
}

/// The points each earned entry of the customer gave, oldest first.
async fn earned(app: &TestApp) -> Vec<(i64, String)> {
    let mut e: Vec<(i64, String)> = entries(app, CUSTOMER)
        .await
        .into_iter()
        .filter(|e| e.kind() == EntryKind::Earned)
        .map(|e| (e.pending_change, e.reason))
        .collect();
    e.reverse();
    e
}

#[tokio::test]
async fn double_points_this_week_on_kitchen_the_best_multiplier_wins() {
    let app = TestApp::spawn().await;
    run(&app, campaign("double-kitchen", "2", 0)).await;
    run(&app, campaign("triple-kitchen", "3", 0)).await;
    run(
        &app,
        Campaign {
            categories: vec!["garden".into()],
            ..campaign("garden", "5", 0)
        },
    )
    .await;
    // Placed during the week (three days before the start): 300 base points
    // of kitchen lines, tripled by the best campaign, not x6 nor x15.
    ordered(&app, "o-1", CUSTOMER, true).await;
    let mut late = order("o-2", CUSTOMER);
    late.placed_at = ts(start_time());
    app.clock.set(start_time() + Duration::days(3));
    app.storefront().record_order(late).await.unwrap();
    app.settle().await;
    // o-2 was placed while the campaigns ran too; an order placed after
    // they ended earns the plain rate.
    let mut after = order("o-3", CUSTOMER);
    after.placed_at = ts(start_time() + Duration::days(3));
    app.storefront().record_order(after).await.unwrap();
    app.settle().await;
    assert_eq!(
        earned(&app).await,
        [(900, String::new()), (900, String::new()), (300, String::new())]
    );
    audit(&app).await;
}

#[tokio::test]
async fn overlapping_bonuses_give_the_best_one_once_and_first_orders_get_theirs_once() {
    let app = TestApp::spawn().await;
    run(&app, campaign("b100", "1", 100)).await;
    run(&app, campaign("b500", "1", 500)).await;
    run(&app, welcome()).await;
    run(
        &app,
        Campaign {
            channels: vec![Channel::MobileApp as i32],
            ..campaign("app-only", "1", 5000)
        },
    )
    .await;
    ordered(&app, "o-1", CUSTOMER, false).await;
    ordered(&app, "o-2", CUSTOMER, false).await;
    assert_eq!(
        earned(&app).await,
        [
            (300, String::new()),
            (1000, "campaign welcome".into()),
            (300, String::new()),
            (500, "campaign b500".into())
        ],
        "one bonus per order, the best; the web orders get no app-only bonus"
    );
    // A replayed OrderRecorded earns no bonus twice.
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0, next_attempt_at = '2000-01-01'
         WHERE consumer = 'loyalty.orders'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 2100);
    // A canceled order's bonus is voided with it.
    cancel(&app, "o-2").await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 1300);
    audit(&app).await;
}

#[tokio::test]
async fn campaigns_are_checked_and_listed() {
    let app = TestApp::spawn().await;
    let bad = admin(&app)
        .upsert_campaign(UpsertCampaignRequest {
            campaign: Some(Campaign {
                campaign_id: String::new(),
                ends_at: ts(start_time() - Duration::days(10)),
                trigger: 0,
                channels: vec![99],
                ..campaign("x", "1", 0)
            }),
        })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "campaign",
            "campaign.campaign_id",
            "campaign.channels[0]",
            "campaign.ends_at",
            "campaign.trigger"
        ]
    );
    run(&app, campaign("double-kitchen", "2", 0)).await;
    let listed = agent(&app)
        .list_campaigns(ListCampaignsRequest {})
        .await
        .unwrap()
        .into_inner()
        .campaigns;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].earn_multiplier.as_str(), listed[0].bonus_points), ("2", 0));
}

#[tokio::test]
async fn a_refunded_order_gives_its_bonus_back_with_its_points() {
    let app = TestApp::spawn().await;
    run(&app, welcome()).await;
    ordered(&app, "o-1", CUSTOMER, true).await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 1300);
    // L2 is a quarter of the order's base points: a quarter of the bonus.
    super::reversal::refunded(&app, "o-1", "L2", 1).await;
    assert_eq!(account(&app, CUSTOMER).await.pending, 1300 - 75 - 250);
    super::reversal::refunded(&app, "o-1", "L1", 2).await;
    super::reversal::refunded(&app, "o-1", "L3", 1).await;
    let a = account(&app, CUSTOMER).await;
    assert_eq!(
        (a.pending, a.debt, a.lifetime_earned),
        (0, 0, 0),
        "everything back, bonus included"
    );
    audit(&app).await;
}

#[tokio::test]
async fn two_first_orders_recorded_at_once_get_one_welcome_bonus() {
    let app = TestApp::spawn().await;
    run(&app, welcome()).await;
    // Events of two orders are applied by separate dispatcher loops; the
    // account lock makes the second see the first's lots.
    let calls: Vec<_> = (1..=4)
        .map(|i| {
            let mut storefront = app.storefront();
            tokio::spawn(async move { storefront.record_order(order(&format!("o-{i}"), CUSTOMER)).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    app.settle().await;
    let bonuses = app
        .count("SELECT count(*) FROM loyalty.entries WHERE reason = 'campaign welcome'")
        .await;
    assert_eq!(bonuses, 1);
    assert_eq!(account(&app, CUSTOMER).await.pending, 4 * 300 + 1000);
    audit(&app).await;
}
