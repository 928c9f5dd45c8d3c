//! Who sees what: customers their own returns and public timeline; staff filters and work queues.

use super::*;

#[tokio::test]
async fn customers_see_only_their_own_returns_and_public_timeline() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    agent(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "customer sounds upset".into(),
            internal: true,
            channel: Channel::Phone as i32,
            request_id: String::new(),
        })
        .await
        .unwrap();
    customer(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "when will you pick it up?".into(),
            internal: false,
            channel: Channel::LiveChat as i32,
            request_id: String::new(),
        })
        .await
        .unwrap();
    let err = customer(&app)
        .add_return_message(AddReturnMessageRequest {
            return_id: r.return_id.clone(),
            text: "x".into(),
            internal: true,
            channel: 0,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    let mine = customer(&app)
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let texts: Vec<&str> = mine.timeline.iter().map(|e| e.text.as_str()).collect();
    assert!(!texts.contains(&"customer sounds upset"), "{texts:?}");
    assert!(texts.contains(&"when will you pick it up?"));
    let staff = get(&app, &r.return_id).await;
    assert!(
        staff
            .timeline
            .iter()
            .any(|e| e.text == "customer sounds upset" && !e.customer_visible)
    );

    let stranger = app.returns(Role::Customer, "c-2");
    let err = stranger
        .clone()
        .get_return(GetReturnRequest {
            return_id: r.return_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = stranger
        .clone()
        .create_return(create("o-1", vec![refund_item("L3", 1)]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = stranger
        .clone()
        .check_eligibility(CheckEligibilityRequest {
            order_id: "o-1".into(),
            line_ids: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let listed = stranger
        .clone()
        .list_returns(ListReturnsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.returns.is_empty());
    let err = stranger
        .clone()
        .list_returns(ListReturnsRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn agents_filter_returns_and_work_queues_are_oldest_first() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let mut ids = Vec::new();
    for (line_id, reason) in [
        ("L1", ReturnReason::ChangedMind),
        ("L2", ReturnReason::Defective),
        ("L3", ReturnReason::ChangedMind),
    ] {
        let r = customer(&app)
            .create_return(create("o-1", vec![item(line_id, 1, reason, Resolution::Refund)]))
            .await
            .unwrap()
            .into_inner();
        ids.push(r.return_id);
        app.clock.advance(Duration::minutes(1));
    }
    approve(&app, &ids[1]).await;

    let list = |req: ListReturnsRequest| {
        let mut client = agent(&app);
        async move {
            client
                .list_returns(req)
                .await
                .unwrap()
                .into_inner()
                .returns
                .into_iter()
                .map(|r| r.return_id)
                .collect::<Vec<_>>()
        }
    };
    let queue = list(ListReturnsRequest {
        status: ReturnStatus::Requested as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(queue, [ids[0].clone(), ids[2].clone()], "oldest first");
    let all = list(ListReturnsRequest::default()).await;
    assert_eq!(all, [ids[2].clone(), ids[1].clone(), ids[0].clone()], "newest first");
    let defective = list(ListReturnsRequest {
        reason: ReturnReason::Defective as i32,
        ..Default::default()
    })
    .await;
    assert_eq!(defective, [ids[1].clone()]);
    let by_customer = list(ListReturnsRequest {
        customer_id: CUSTOMER.into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_customer.len(), 3);
    let other_customer = list(ListReturnsRequest {
        customer_id: "c-2".into(),
        ..Default::default()
    })
    .await;
    assert!(other_customer.is_empty());
    let by_order = list(ListReturnsRequest {
        order_id: "o-2".into(),
        ..Default::default()
    })
    .await;
    assert!(by_order.is_empty());
    let window = list(ListReturnsRequest {
        created_after: ts(start_time() + Duration::seconds(30)),
        created_before: ts(start_time() + Duration::seconds(90)),
        ..Default::default()
    })
    .await;
    assert_eq!(window, [ids[1].clone()]);

    // Paging through, two at a time.
    let mut client = agent(&app);
    let page = client
        .list_returns(ListReturnsRequest {
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.returns.len(), 2);
    let rest = client
        .list_returns(ListReturnsRequest {
            page_size: 2,
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        rest.returns.iter().map(|r| r.return_id.clone()).collect::<Vec<_>>(),
        [ids[0].clone()]
    );
    assert!(rest.next_page_token.is_empty());
}
