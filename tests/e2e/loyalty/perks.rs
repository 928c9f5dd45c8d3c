//! Tier perks in returns: a Gold customer's return window is longer and
//! their return shipping free, and the return shows the perks it was
//! decided with. Returns learns the tier from loyalty's TierChanged event.

use aftercare_proto::returns::{CheckEligibilityRequest, ReturnPolicy};

use super::*;
use crate::returns::{create, policy, refund_item};

#[tokio::test]
async fn a_gold_customer_gets_a_longer_window_and_free_return_shipping() {
    let app = TestApp::spawn().await;
    // Gold (15 extra days, free return shipping) from 300 qualifying points.
    update_program(&app, |p| {
        p.tiers[1].min_qualifying_points = 100;
        p.tiers[2].min_qualifying_points = 300;
    })
    .await;
    policy(
        &app,
        ReturnPolicy {
            return_shipping_fees: vec![eur("4.99").unwrap()],
            ..Default::default()
        },
        &["return_shipping_fees"],
    )
    .await;
    ordered(&app, "o-1", CUSTOMER, true).await; // 300 points: Gold
    // c-2 stays Bronze: one line of 1.00.
    let mut small = order("o-2", "c-2");
    small.lines = vec![crate::fixtures::line("L1", 1, "1.00")];
    small.order_discount = None;
    app.storefront().record_order(small).await.unwrap();
    app.storefront()
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-2".into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
    assert_eq!(account(&app, CUSTOMER).await.tier.unwrap().tier.unwrap().name, "Gold");

    // Day 20: past the 14-day window, within Gold's 29.
    app.clock.set(start_time() + Duration::days(20));
    let eligible = |customer: &'static str, order_id: &'static str| {
        let mut client = app.returns(Role::Customer, customer);
        async move {
            client
                .check_eligibility(CheckEligibilityRequest {
                    order_id: order_id.into(),
                    line_ids: vec!["L1".into()],
                })
                .await
                .unwrap()
                .into_inner()
                .lines
                .remove(0)
                .reasons
        }
    };
    assert!(eligible(CUSTOMER, "o-1").await.is_empty(), "Gold: still returnable");
    assert_eq!(eligible("c-2", "o-2").await.len(), 1, "Bronze: window closed");

    let r = app
        .returns(Role::Customer, CUSTOMER)
        .create_return(create("o-1", vec![refund_item("L1", 1)]))
        .await
        .unwrap()
        .into_inner();
    let perks = r.perks.expect("the perks it was decided with");
    assert_eq!(
        (perks.tier.as_str(), perks.extra_return_days, perks.free_return_shipping),
        ("Gold", 15, true)
    );
    assert_eq!(r.shipping_fee, eur("0.00"), "free return shipping");

    // Gold's perks change: announced again, and returns follows.
    update_program(&app, |p| p.tiers[2].extra_return_days = 20).await;
    app.run_jobs().await;
    app.settle().await;
    let days = app
        .count("SELECT extra_return_days::bigint FROM returns.customer_perks WHERE customer_id = 'c-1'")
        .await;
    assert_eq!(days, 20);

    // No tiers any more: no perks for the next return; this one keeps its own.
    update_program(&app, |p| p.tiers.clear()).await;
    app.run_jobs().await;
    app.settle().await;
    assert_eq!(eligible(CUSTOMER, "o-1").await, ["WINDOW_CLOSED"]);
    let kept = app
        .returns(Role::Customer, CUSTOMER)
        .get_return(aftercare_proto::returns::GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept.perks.map(|p| p.extra_return_days), Some(15));
}
