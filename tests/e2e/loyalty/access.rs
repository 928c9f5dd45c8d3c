//! Who may call what, whose account they may see, and bad input refused
//! before anything is written.

use super::*;

/// Calls one RPC with made-up values: a permitted role gets past the role
/// check (NOT_FOUND, FAILED_PRECONDITION, success), any other gets
/// PERMISSION_DENIED.
async fn call(client: &mut Loyalty, rpc: &str) -> Result<(), tonic::Status> {
    let id = uuid::Uuid::now_v7().to_string();
    let customer = "c-1".to_owned();
    match rpc {
        "GetProgram" => client.get_program(GetProgramRequest {}).await.map(drop),
        "UpdateProgram" => {
            let program = client.get_program(GetProgramRequest {}).await?.into_inner();
            client
                .update_program(UpdateProgramRequest { program: Some(program) })
                .await
                .map(drop)
        }
        "GetAccount" => client
            .get_account(GetAccountRequest { customer_id: customer })
            .await
            .map(drop),
        "ListTransactions" => client
            .list_transactions(ListTransactionsRequest {
                customer_id: customer,
                ..Default::default()
            })
            .await
            .map(drop),
        "QuoteRedemption" => client
            .quote_redemption(QuoteRedemptionRequest {
                customer_id: customer,
                order_total: eur("10.00"),
            })
            .await
            .map(drop),
        "HoldPoints" => client.hold_points(hold_request(&customer, 100, &id)).await.map(drop),
        "CapturePoints" => client
            .capture_points(CapturePointsRequest { hold_id: id, points: 0 })
            .await
            .map(drop),
        "ReleaseHold" => client.release_hold(ReleaseHoldRequest { hold_id: id }).await.map(drop),
        "RedeemPoints" => client
            .redeem_points(RedeemPointsRequest {
                customer_id: customer,
                points: 100,
                order_ref: "o".into(),
                request_id: id,
            })
            .await
            .map(drop),
        "GrantPoints" => client
            .grant_points(GrantPointsRequest {
                customer_id: customer,
                points: 1,
                reason: "r".into(),
                request_id: id,
            })
            .await
            .map(drop),
        "AdjustPoints" => client
            .adjust_points(AdjustPointsRequest {
                customer_id: customer,
                points: 1,
                reason: "r".into(),
                request_id: id,
            })
            .await
            .map(drop),
        "ListRewards" => client.list_rewards(ListRewardsRequest {}).await.map(drop),
        "UpsertReward" => client
            .upsert_reward(UpsertRewardRequest {
                reward: Some(Reward {
                    reward_id: "r".into(),
                    name: "r".into(),
                    kind: RewardKind::FreeShipping as i32,
                    points_cost: 1,
                    discount: None,
                    active: true,
                    codes_left: 0,
                }),
            })
            .await
            .map(drop),
        "AddRewardCodes" => client
            .add_reward_codes(AddRewardCodesRequest {
                reward_id: "none".into(),
                codes: vec!["C".into()],
            })
            .await
            .map(drop),
        "RedeemReward" => client
            .redeem_reward(RedeemRewardRequest {
                customer_id: customer,
                reward_id: "none".into(),
                request_id: id,
            })
            .await
            .map(drop),
        "UpsertCampaign" => client
            .upsert_campaign(UpsertCampaignRequest {
                campaign: Some(Campaign {
                    campaign_id: "c".into(),
                    name: "c".into(),
                    trigger: CampaignTrigger::Order as i32,
                    starts_at: ts(start_time()),
                    ends_at: ts(start_time() + Duration::days(1)),
                    earn_multiplier: "2".into(),
                    ..Default::default()
                }),
            })
            .await
            .map(drop),
        "ListCampaigns" => client.list_campaigns(ListCampaignsRequest {}).await.map(drop),
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_rpc() {
    let app = TestApp::spawn().await;
    use Role::*;
    let matrix: &[(&str, &[Role])] = &[
        ("GetProgram", &[Customer, Service, Agent, Admin]),
        ("UpdateProgram", &[Admin]),
        ("GetAccount", &[Customer, Service, Agent, Admin]),
        ("ListTransactions", &[Customer, Service, Agent, Admin]),
        ("QuoteRedemption", &[Customer, Service, Agent]),
        ("HoldPoints", &[Service]),
        ("CapturePoints", &[Service]),
        ("ReleaseHold", &[Service, Agent]),
        ("RedeemPoints", &[Service]),
        ("GrantPoints", &[Agent, Admin]),
        ("AdjustPoints", &[Admin]),
        ("ListRewards", &[Customer, Service, Agent, Admin]),
        ("UpsertReward", &[Admin]),
        ("AddRewardCodes", &[Admin]),
        ("RedeemReward", &[Customer, Service, Agent]),
        ("UpsertCampaign", &[Admin]),
        ("ListCampaigns", &[Service, Agent, Admin]),
    ];
    let table: Vec<&str> = aftercare_loyalty::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(
        table,
        matrix.iter().map(|(rpc, _)| *rpc).collect::<Vec<_>>(),
        "the matrix covers every RPC"
    );
    for (rpc, allowed) in matrix {
        for role in Role::ALL {
            let mut client = app.loyalty(role, "c-1");
            let code = call(&mut client, rpc).await.err().map(|e| e.code());
            if allowed.contains(&role) {
                assert_ne!(code, Some(Code::PermissionDenied), "{role} may call {rpc}");
                assert_ne!(code, Some(Code::Unauthenticated), "{role} {rpc}");
                assert_ne!(code, Some(Code::Internal), "{role} {rpc}");
            } else {
                assert_eq!(code, Some(Code::PermissionDenied), "{role} may not call {rpc}");
            }
        }
    }
}

#[tokio::test]
async fn a_customer_sees_only_their_own_account() {
    let app = TestApp::spawn().await;
    give(&app, "c-1", 500).await;
    let mut other = app.loyalty(Role::Customer, "c-2");
    let account = other
        .get_account(GetAccountRequest {
            customer_id: "c-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(account.code(), Code::NotFound);
    let ledger = other
        .list_transactions(ListTransactionsRequest {
            customer_id: "c-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(ledger.code(), Code::NotFound);
    let quote = other
        .quote_redemption(QuoteRedemptionRequest {
            customer_id: "c-1".into(),
            order_total: eur("10.00"),
        })
        .await
        .unwrap_err();
    assert_eq!(quote.code(), Code::NotFound);
    let own = app
        .loyalty(Role::Customer, "c-1")
        .get_account(GetAccountRequest {
            customer_id: "c-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.available, 500);
}

#[tokio::test]
async fn the_ledger_pages_newest_first_without_gaps() {
    let app = TestApp::spawn().await;
    for i in 0..7 {
        app.clock.advance(Duration::seconds(1));
        give(&app, CUSTOMER, 100 + i).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = agent(&app)
            .list_transactions(ListTransactionsRequest {
                customer_id: CUSTOMER.into(),
                page_size: 3,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.entries.iter().map(|e| e.available_change));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, [106, 105, 104, 103, 102, 101, 100]);
    let forged = agent(&app)
        .list_transactions(ListTransactionsRequest {
            customer_id: "c-2".into(),
            page_size: 3,
            page_token: "AQ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&forged), ["page_token"]);
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let mut client = storefront(&app);
    let bad = client
        .hold_points(HoldPointsRequest {
            customer_id: " c-1".into(),
            points: 0,
            order_ref: String::new(),
            ttl_seconds: -1,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&bad);
    fields.sort();
    assert_eq!(
        fields,
        ["customer_id", "order_ref", "points", "request_id", "ttl_seconds"]
    );
    for points in [-1, i64::MIN, i64::MAX] {
        let bad = client
            .hold_points(hold_request(CUSTOMER, points, "k"))
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&bad), ["points"], "{points}");
    }
    let long_ttl = client
        .hold_points(HoldPointsRequest {
            ttl_seconds: 86_401,
            ..hold_request(CUSTOMER, 100, "k")
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&long_ttl), ["ttl_seconds"]);
    let capture = client
        .capture_points(CapturePointsRequest {
            hold_id: "not-a-hold".into(),
            points: -5,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&capture), ["hold_id", "points"]);
    let zero = admin(&app)
        .adjust_points(AdjustPointsRequest {
            customer_id: CUSTOMER.into(),
            points: 0,
            reason: " ".into(),
            request_id: "a".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&zero), ["points", "reason"]);
    let negative_grant = agent(&app)
        .grant_points(GrantPointsRequest {
            customer_id: CUSTOMER.into(),
            points: -100,
            reason: "r".into(),
            request_id: "g".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&negative_grant), ["points"]);
    for amount in ["-1.00", "1e3", "abc", "99999999999999999999999999999"] {
        let quote = client
            .quote_redemption(QuoteRedemptionRequest {
                customer_id: CUSTOMER.into(),
                order_total: eur(amount),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&quote), ["order_total"], "{amount}");
    }
    let mut bad = program(&app).await;
    bad.max_redeem_percent = 101;
    bad.expiry_months = -1;
    bad.rates[0].point_value = "0".into();
    bad.rates[1].points_per_unit = "1e2".into();
    let refused = admin(&app)
        .update_program(UpdateProgramRequest { program: Some(bad) })
        .await
        .unwrap_err();
    let mut fields = violated_fields(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "program.expiry_months",
            "program.max_redeem_percent",
            "program.rates[0].point_value",
            "program.rates[1].points_per_unit"
        ]
    );
    for table in ["accounts", "entries", "holds", "lots"] {
        let rows = app.count(&format!("SELECT count(*) FROM loyalty.{table}")).await;
        assert_eq!(rows, 0, "loyalty.{table} written by a refused call");
    }
    assert_eq!(program(&app).await.version, 1);
}

#[tokio::test]
async fn an_updated_program_applies_to_what_happens_next() {
    let app = TestApp::spawn().await;
    let updated = update_program(&app, |p| {
        p.min_redeem_points = 10;
        p.rates.retain(|r| r.currency_code == "EUR");
        p.rates[0].points_per_unit = "2".into();
    })
    .await;
    assert_eq!(updated.version, 2);
    assert_eq!(updated.rates.len(), 1);
    assert_eq!(updated.rates[0].points_per_unit, "2");
    ordered(&app, "o-1", CUSTOMER, false).await;
    assert_eq!(
        account(&app, CUSTOMER).await.pending,
        60,
        "2 points per euro of 30.00 paid"
    );
    give(&app, CUSTOMER, 10).await;
    hold(&app, CUSTOMER, 10).await;
    audit(&app).await;
}
