//! Retries of calls that are not naturally idempotent: a request_id makes a
//! message or a policy version once; AIP-134 update masks; a timeline that
//! cannot grow past what a response carries.

use super::*;

fn admin(app: &TestApp) -> Returns {
    app.returns(Role::Admin, "admin-1")
}

#[tokio::test]
async fn a_retried_message_or_policy_update_happens_once() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    let message = AddReturnMessageRequest {
        return_id: r.return_id.clone(),
        text: "when do you pick it up?".into(),
        internal: false,
        channel: Channel::MobileApp as i32,
        request_id: "msg-1".into(),
    };
    for _ in 0..3 {
        customer(&app).add_return_message(message.clone()).await.unwrap();
    }
    let entries = get(&app, &r.return_id).await.timeline;
    assert_eq!(entries.iter().filter(|e| e.text == message.text).count(), 1);
    let reused = customer(&app)
        .add_return_message(AddReturnMessageRequest {
            text: "something else".into(),
            ..message.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::AlreadyExists);

    let update = UpdateReturnPolicyRequest {
        policy: Some(ReturnPolicy {
            return_window_days: 30,
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["return_window_days".into()],
        }),
        request_id: "policy-1".into(),
    };
    let first = admin(&app)
        .update_return_policy(update.clone())
        .await
        .unwrap()
        .into_inner();
    let again = admin(&app).update_return_policy(update).await.unwrap().into_inner();
    assert_eq!(first.version, again.version, "one new version, not two");
    let versions = app
        .count("SELECT count(*) FROM returns.policies WHERE category = ''")
        .await;
    assert_eq!(versions, 2, "the seeded default and this one");
}

#[tokio::test]
async fn an_empty_update_mask_changes_only_the_fields_set_and_a_star_replaces_all() {
    let app = TestApp::spawn().await;
    policy(
        &app,
        ReturnPolicy {
            return_window_days: 30,
            restocking_fee_percent: "10".into(),
            ..Default::default()
        },
        &["return_window_days", "restocking_fee_percent"],
    )
    .await;
    let set_final_sale = |mask: Vec<String>| UpdateReturnPolicyRequest {
        policy: Some(ReturnPolicy {
            final_sale: true,
            ..Default::default()
        }),
        update_mask: Some(FieldMask { paths: mask }),
        request_id: String::new(),
    };
    // AIP-134: no mask means the populated fields, not "zero everything".
    let p = admin(&app)
        .update_return_policy(set_final_sale(vec![]))
        .await
        .unwrap()
        .into_inner();
    assert!(p.final_sale);
    assert_eq!((p.return_window_days, p.restocking_fee_percent.as_str()), (30, "10"));
    // "*" is a full replacement.
    let p = admin(&app)
        .update_return_policy(set_final_sale(vec!["*".into()]))
        .await
        .unwrap()
        .into_inner();
    assert!(p.final_sale);
    assert_eq!((p.return_window_days, p.restocking_fee_percent.as_str()), (0, "0"));
}

#[tokio::test]
async fn a_timeline_stops_growing_at_its_limit() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    let mut client = customer(&app);
    let mut sent = 0;
    let err = loop {
        let result = client
            .add_return_message(AddReturnMessageRequest {
                return_id: r.return_id.clone(),
                text: format!("message {sent}"),
                ..Default::default()
            })
            .await;
        match result {
            Ok(_) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent <= 100, "the customer's messages never ran out");
    };
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(sent, 100);
    // The customer cannot lock staff out of the case.
    agent(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "internal: customer spams".into(),
            internal: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let entries = get(&app, &r.return_id).await.timeline.len();
    assert_eq!(entries, 102, "requested + 100 messages + the note");
    let listed = agent(&app)
        .list_returns(ListReturnsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .returns;
    assert_eq!(
        listed[0].timeline.len(),
        20,
        "a list carries each case's latest entries"
    );
    assert_eq!(listed[0].timeline.last().unwrap().text, "internal: customer spams");
    // Staff can still move the case on: status changes are not messages.
    assert_eq!(approve(&app, &r.return_id).await.status(), ReturnStatus::Approved);
}
