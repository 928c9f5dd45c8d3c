//! Races and retries: one refund however many ask, units never over-returned, request ids replayed.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_refund_requests_make_one_refund() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = received_return(&app, "o-1", vec![refund_item("L1", 2)], &[("L1", 2, Grade::Resellable)]).await;

    // 50 calls: 40 distinct request ids and one id sent 10 times.
    let shared = uuid::Uuid::now_v7().to_string();
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let mut client = service(&app);
            let request_id = if i < 10 {
                shared.clone()
            } else {
                uuid::Uuid::now_v7().to_string()
            };
            let return_id = r.return_id.clone();
            tokio::spawn(async move {
                client
                    .issue_refund(IssueRefundRequest { return_id, request_id })
                    .await
                    .map(|r| r.into_inner())
            })
        })
        .collect();
    let mut refund_ids = std::collections::HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(refund) => {
                refund_ids.insert(refund.refund_id);
            }
            Err(e) => assert!(
                matches!(e.code(), Code::FailedPrecondition | Code::Aborted),
                "unexpected {e:?}"
            ),
        }
    }
    assert_eq!(refund_ids.len(), 1, "one refund, whoever won");
    assert_eq!(app.count("SELECT count(*) FROM returns.refunds").await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.returns.events.v1.RefundRequested'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_failed_refund_may_be_issued_again_and_replays_return_the_same_refund() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = received_return(&app, "o-1", vec![refund_item("L2", 1)], &[("L2", 1, Grade::Resellable)]).await;

    let request = IssueRefundRequest {
        return_id: r.return_id.clone(),
        request_id: "refund-attempt-1".into(),
    };
    let first = service(&app).issue_refund(request.clone()).await.unwrap().into_inner();
    let replay = service(&app).issue_refund(request).await.unwrap().into_inner();
    assert_eq!(first, replay);
    let err = issue(&app, &r.return_id).await.unwrap_err();
    assert_eq!(precondition(&err), "REFUND_ALREADY_ISSUED");

    let failed = service(&app)
        .fail_refund(FailRefundRequest {
            refund_id: first.refund_id.clone(),
            reason: "card expired".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(failed.status(), RefundStatus::Failed);
    let err = service(&app)
        .confirm_refund(ConfirmRefundRequest {
            refund_id: first.refund_id.clone(),
            provider_reference: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "REFUND_NOT_PENDING");
    let second = issue(&app, &r.return_id).await.unwrap();
    assert_ne!(second.refund_id, first.refund_id);
    let confirm = ConfirmRefundRequest {
        refund_id: second.refund_id.clone(),
        provider_reference: "psp-2".into(),
    };
    service(&app).confirm_refund(confirm.clone()).await.unwrap();
    // The payment tool may confirm twice.
    assert_eq!(
        service(&app)
            .confirm_refund(confirm)
            .await
            .unwrap()
            .into_inner()
            .status(),
        RefundStatus::Succeeded
    );
    assert_eq!(get(&app, &r.return_id).await.status(), ReturnStatus::Completed);
    assert_eq!(
        app.count("SELECT count(*) FROM returns.refunds WHERE status <> 'failed'")
            .await,
        1
    );
    let t = topics(&app, &r.return_id).await;
    assert_eq!(
        t.iter()
            .filter(|t| *t == "aftercare.returns.events.v1.RefundFailed")
            .count(),
        1
    );
    assert_eq!(
        t.iter()
            .filter(|t| *t == "aftercare.returns.events.v1.ReturnCompleted")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_cannot_return_more_than_was_delivered() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let mut client = customer(&app);
            tokio::spawn(async move { client.create_return(create("o-1", vec![refund_item("L1", 2)])).await })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => created += 1,
            Err(e) => assert_eq!(precondition(&e), "ITEMS_NOT_ELIGIBLE"),
        }
    }
    assert_eq!(created, 1);
    let requested: i32 = sqlx::query_scalar(
        "SELECT requested_quantity FROM returns.order_lines WHERE order_id = 'o-1' AND line_id = 'L1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(requested, 2);
    // The database itself refuses more, whatever the code did.
    let err =
        sqlx::query("UPDATE returns.order_lines SET requested_quantity = 3 WHERE order_id = 'o-1' AND line_id = 'L1'")
            .execute(&app.pool)
            .await
            .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("returned_at_most_delivered")
    );
    let err =
        sqlx::query("UPDATE returns.order_lines SET refunded_amount = 15.01 WHERE order_id = 'o-1' AND line_id = 'L1'")
            .execute(&app.pool)
            .await
            .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().constraint(),
        Some("refunded_at_most_paid")
    );
}

#[tokio::test]
async fn create_return_is_idempotent_on_request_id() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let req = create("o-1", vec![refund_item("L2", 1)]);
    let first = customer(&app).create_return(req.clone()).await.unwrap().into_inner();
    let again = customer(&app).create_return(req.clone()).await.unwrap().into_inner();
    assert_eq!(first.return_id, again.return_id);
    let mut changed = req;
    changed.items[0].line_id = "L3".into();
    let err = customer(&app).create_return(changed).await.unwrap_err();
    assert_eq!(
        (err.code(), reason(&err).as_str()),
        (Code::AlreadyExists, "REQUEST_ID_REUSED")
    );
    assert_eq!(app.count("SELECT count(*) FROM returns.returns").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_and_cancellations_racing_on_one_order_never_deadlock() {
    let app = TestApp::spawn().await;
    let mut req = order("o-many", CUSTOMER);
    req.lines = vec![line("L1", 50, "1.00"), line("L2", 50, "1.00"), line("L3", 50, "1.00")];
    req.order_discount = None;
    record_delivered(&app, req).await;
    // Items listed in the reverse of the order's line order.
    let reversed = || vec![refund_item("L3", 1), refund_item("L2", 1), refund_item("L1", 1)];
    let mut ids = Vec::new();
    for _ in 0..10 {
        let r = customer(&app)
            .create_return(create("o-many", reversed()))
            .await
            .unwrap();
        ids.push(r.into_inner().return_id);
    }
    let mut calls = Vec::new();
    for id in ids {
        let mut cancel = agent(&app);
        calls.push(tokio::spawn(async move {
            cancel
                .cancel_return(CancelReturnRequest {
                    return_id: id,
                    reason: String::new(),
                })
                .await
                .map(drop)
        }));
        let mut create_one = customer(&app);
        calls.push(tokio::spawn(async move {
            create_one.create_return(create("o-many", reversed())).await.map(drop)
        }));
    }
    for call in calls {
        call.await.unwrap().expect("no deadlock, no lost race");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_waited_for_the_return_sees_what_the_holder_wrote() {
    let app = TestApp::spawn().await;
    delivered_order(&app, "o-1").await;
    let r = customer(&app)
        .create_return(create("o-1", vec![refund_item("L1", 1)]))
        .await
        .unwrap()
        .into_inner();
    let id: uuid::Uuid = r.return_id.parse().unwrap();

    // Another writer holds the return and adds to its timeline.
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM returns.returns WHERE return_id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *holder)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO returns.timeline (return_id, at, kind, status, text, actor_role, channel, customer_visible)
         VALUES ($1, now(), 'message', NULL, 'written by the holder', 'agent', NULL, true)",
    )
    .bind(id)
    .execute(&mut *holder)
    .await
    .unwrap();
    let approving = tokio::spawn({
        let mut agent = agent(&app);
        let return_id = r.return_id.clone();
        async move {
            agent
                .approve_return(ApproveReturnRequest {
                    return_id,
                    note: String::new(),
                })
                .await
        }
    });
    crate::support::until_finished_or_waiting_on_a_lock(&app.pool, &approving).await;
    holder.commit().await.unwrap();

    let approved = approving.await.unwrap().unwrap().into_inner();
    let texts: Vec<&str> = approved.timeline.iter().map(|t| t.text.as_str()).collect();
    assert!(
        texts.contains(&"written by the holder"),
        "the approval read the return as it was before it waited: {texts:?}"
    );
    assert_eq!(approved.status(), ReturnStatus::Approved);
}
