//! The rewards catalogue: codes handed out once, a pool that runs out says
//! so and writes nothing, a redemption is once per request.

use super::*;

fn coupon(id: &str, cost: i64) -> Reward {
    Reward {
        reward_id: id.into(),
        name: format!("Reward {id}"),
        kind: RewardKind::CouponCode as i32,
        points_cost: cost,
        discount: None,
        active: true,
        codes_left: 0,
    }
}

async fn upsert(app: &TestApp, reward: Reward) -> Reward {
    admin(app)
        .upsert_reward(UpsertRewardRequest { reward: Some(reward) })
        .await
        .unwrap()
        .into_inner()
}

async fn add_codes(app: &TestApp, reward_id: &str, codes: &[&str]) -> AddRewardCodesResponse {
    admin(app)
        .add_reward_codes(AddRewardCodesRequest {
            reward_id: reward_id.into(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn redeem(customer: &str, reward_id: &str, key: &str) -> RedeemRewardRequest {
    RedeemRewardRequest {
        customer_id: customer.into(),
        reward_id: reward_id.into(),
        request_id: key.into(),
    }
}

#[tokio::test]
async fn fifty_redemptions_of_a_ten_code_pool_hand_out_exactly_ten_codes() {
    let app = TestApp::spawn().await;
    upsert(&app, coupon("coffee", 100)).await;
    let codes: Vec<String> = (0..10).map(|i| format!("COFFEE-{i:02}")).collect();
    let added = add_codes(&app, "coffee", &codes.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!((added.added, added.reward.unwrap().codes_left), (10, 10));
    for i in 0..50 {
        give(&app, &format!("c-{i}"), 100).await;
    }
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let mut client = storefront(&app);
            tokio::spawn(async move {
                client
                    .redeem_reward(redeem(&format!("c-{i}"), "coffee", &format!("k-{i}")))
                    .await
            })
        })
        .collect();
    let mut handed_out = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(r) => handed_out.push(r.into_inner().code),
            Err(status) => assert_eq!(reason(&status), "REWARD_OUT_OF_STOCK", "{status:?}"),
        }
    }
    handed_out.sort();
    assert_eq!(handed_out, codes, "each code exactly once");
    let left: i64 = app
        .count("SELECT count(*) FROM loyalty.accounts WHERE customer_id LIKE 'c-%' AND available = 100")
        .await;
    assert_eq!(left, 40, "a refused redemption keeps its points");
    let listed = storefront(&app)
        .list_rewards(ListRewardsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.rewards[0].codes_left, 0);
    audit(&app).await;
}

#[tokio::test]
async fn a_redemption_is_once_per_request_and_only_for_the_customers_own_points() {
    let app = TestApp::spawn().await;
    upsert(&app, coupon("coffee", 100)).await;
    add_codes(&app, "coffee", &["A", "B", "C"]).await;
    give(&app, CUSTOMER, 250).await;
    let mut customer = app.loyalty(Role::Customer, CUSTOMER);
    let first = customer
        .redeem_reward(redeem(CUSTOMER, "coffee", "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((first.code.as_str(), first.points), ("A", 100));
    let again = customer
        .redeem_reward(redeem(CUSTOMER, "coffee", "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, first, "the same request answers the same code");
    let second = customer
        .redeem_reward(redeem(CUSTOMER, "coffee", "k-2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.code, "B");
    let short = customer
        .redeem_reward(redeem(CUSTOMER, "coffee", "k-3"))
        .await
        .unwrap_err();
    assert_eq!(reason(&short), "INSUFFICIENT_POINTS");
    let others = app
        .loyalty(Role::Customer, "c-2")
        .redeem_reward(redeem(CUSTOMER, "coffee", "k-4"))
        .await
        .unwrap_err();
    assert_eq!(others.code(), Code::NotFound);
    assert_eq!(account(&app, CUSTOMER).await.available, 50);
    assert_eq!(
        app.count("SELECT count(*) FROM loyalty.reward_codes WHERE redemption_id IS NULL")
            .await,
        1,
        "C is still free"
    );
    audit(&app).await;
}

#[tokio::test]
async fn vouchers_need_no_pool_and_inactive_rewards_cannot_be_redeemed() {
    let app = TestApp::spawn().await;
    upsert(
        &app,
        Reward {
            kind: RewardKind::FixedDiscount as i32,
            discount: eur("10.00"),
            ..coupon("ten-off", 300)
        },
    )
    .await;
    upsert(
        &app,
        Reward {
            active: false,
            kind: RewardKind::FreeShipping as i32,
            ..coupon("ship", 50)
        },
    )
    .await;
    give(&app, CUSTOMER, 400).await;
    let voucher = storefront(&app)
        .redeem_reward(redeem(CUSTOMER, "ten-off", "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((voucher.code.as_str(), voucher.points), ("", 300));
    let inactive = storefront(&app)
        .redeem_reward(redeem(CUSTOMER, "ship", "k-2"))
        .await
        .unwrap_err();
    assert_eq!(inactive.code(), Code::NotFound);
    let seen = |role| {
        let mut client = app.loyalty(role, CUSTOMER);
        async move {
            let rewards = client
                .list_rewards(ListRewardsRequest {})
                .await
                .unwrap()
                .into_inner()
                .rewards;
            rewards.into_iter().map(|r| r.reward_id).collect::<Vec<_>>()
        }
    };
    assert_eq!(seen(Role::Customer).await, ["ten-off"]);
    assert_eq!(seen(Role::Agent).await, ["ship", "ten-off"]);
    let no_pool = admin(&app)
        .add_reward_codes(AddRewardCodesRequest {
            reward_id: "ten-off".into(),
            codes: vec!["X".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&no_pool), "NOT_A_COUPON_REWARD");
    audit(&app).await;
}

#[tokio::test]
async fn bad_rewards_and_codes_are_refused_field_by_field() {
    let app = TestApp::spawn().await;
    let bad = admin(&app)
        .upsert_reward(UpsertRewardRequest {
            reward: Some(Reward {
                reward_id: " x".into(),
                name: String::new(),
                kind: RewardKind::FixedDiscount as i32,
                points_cost: 0,
                discount: None,
                active: true,
                codes_left: 0,
            }),
        })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        [
            "reward.discount",
            "reward.name",
            "reward.points_cost",
            "reward.reward_id"
        ]
    );
    upsert(&app, coupon("coffee", 100)).await;
    let codes = admin(&app)
        .add_reward_codes(AddRewardCodesRequest {
            reward_id: "coffee".into(),
            codes: vec!["A".into(), "A".into(), String::new()],
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&codes), ["codes[1]", "codes[2]"]);
    assert_eq!(app.count("SELECT count(*) FROM loyalty.reward_codes").await, 0);
    let changed = admin(&app)
        .upsert_reward(UpsertRewardRequest {
            reward: Some(Reward {
                kind: RewardKind::FreeShipping as i32,
                ..coupon("coffee", 100)
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&changed), "REWARD_KIND_FIXED");
}
