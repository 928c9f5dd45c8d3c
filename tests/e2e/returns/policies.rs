//! Policies: versioned, partially updated, validated.

use super::*;

#[tokio::test]
async fn policies_are_versioned_and_partially_updated() {
    let app = TestApp::spawn().await;
    let admin = || app.returns(Role::Admin, "admin-1");
    let default = admin()
        .get_return_policy(GetReturnPolicyRequest { category: "".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((default.version, default.return_window_days), (1, 14));
    let v2 = policy(
        &app,
        ReturnPolicy {
            return_window_days: 30,
            ..Default::default()
        },
        &["return_window_days"],
    )
    .await;
    assert_eq!(
        (v2.version, v2.return_window_days, v2.allowed_resolutions.len()),
        (2, 30, 3),
        "other fields kept"
    );
    let v3 = policy(
        &app,
        ReturnPolicy {
            restocking_fee_percent: "12.5".into(),
            ..Default::default()
        },
        &["restocking_fee_percent"],
    )
    .await;
    assert_eq!(
        (v3.version, v3.return_window_days, v3.restocking_fee_percent.as_str()),
        (3, 30, "12.5")
    );
    // A category without a policy of its own gets the default.
    let kitchen = admin()
        .get_return_policy(GetReturnPolicyRequest {
            category: "kitchen".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((kitchen.category.as_str(), kitchen.version), ("", 3));
    let listed = admin()
        .list_return_policies(ListReturnPoliciesRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.policies.len(), 1);

    for (bad, field) in [
        (
            ReturnPolicy {
                return_window_days: -1,
                ..Default::default()
            },
            "policy.return_window_days",
        ),
        (
            ReturnPolicy {
                restocking_fee_percent: "101".into(),
                ..Default::default()
            },
            "policy.restocking_fee_percent",
        ),
        (
            ReturnPolicy {
                exchange_bonus_percent: "abc".into(),
                ..Default::default()
            },
            "policy.exchange_bonus_percent",
        ),
        (
            ReturnPolicy {
                return_shipping_fees: vec![Money {
                    currency_code: "EUR".into(),
                    amount: "1.999".into(),
                }],
                ..Default::default()
            },
            "policy.return_shipping_fees[0].amount",
        ),
        (
            ReturnPolicy {
                allowed_resolutions: vec![0],
                ..Default::default()
            },
            "policy.allowed_resolutions[0]",
        ),
    ] {
        let mask = vec![
            field
                .trim_start_matches("policy.")
                .split(['[', '.'])
                .next()
                .unwrap()
                .to_owned(),
        ];
        let err = admin()
            .update_return_policy(UpdateReturnPolicyRequest {
                policy: Some(bad),
                update_mask: Some(FieldMask { paths: mask }),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&err), [field]);
    }
    let err = admin()
        .update_return_policy(UpdateReturnPolicyRequest {
            policy: Some(ReturnPolicy::default()),
            update_mask: Some(FieldMask {
                paths: vec!["version".into()],
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&err), ["update_mask.paths[0]"]);
    assert_eq!(
        app.count("SELECT count(*) FROM returns.policies").await,
        3,
        "refused updates wrote nothing"
    );
}

#[tokio::test]
async fn a_policy_update_applies_at_once_while_returns_keep_the_version_they_were_decided_under() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let check = || async {
        customer(&app)
            .check_eligibility(CheckEligibilityRequest {
                order_id: "o-1".into(),
                line_ids: vec![],
            })
            .await
            .unwrap()
            .into_inner()
    };
    // Read once so that the default's version is cached.
    let before = check().await;
    assert!(before.lines.iter().all(|l| l.eligible && l.policy_version == 1));
    let early = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((early.policy_category.as_str(), early.policy_version), ("", 1));

    // The lines' category gets a policy of its own: final sale.
    let kitchen = policy(
        &app,
        ReturnPolicy {
            category: "kitchen".into(),
            final_sale: true,
            ..Default::default()
        },
        &["final_sale"],
    )
    .await;
    let after = check().await;
    for line in &after.lines {
        assert_eq!(
            (
                line.eligible,
                line.reasons.contains(&"FINAL_SALE".to_owned()),
                line.policy_version
            ),
            (false, true, kitchen.version),
            "{}",
            line.line_id
        );
    }
    let err = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 1)]))
        .await
        .unwrap_err();
    assert_eq!(reason(&err), "ITEMS_NOT_ELIGIBLE");
    // The earlier return is still read under the version it was decided by.
    let again = get(&app, &early.return_id).await;
    assert_eq!(
        (
            again.policy_category.as_str(),
            again.policy_version,
            again.items[0].policy_version
        ),
        ("", 1, 1)
    );
}
