//! The event stream: every event in order from a client's cursor, resumed
//! without loss, the same to every subscriber, a slow one cut off, and
//! only for tools and staff.

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_proto::events::{StreamedEvent, SubscribeRequest};
use aftercare_proto::order_events::OrderRecorded;
use aftercare_proto::orders::CancelOrderRequest;
use prost::Message;
use tonic::Code;
use tonic::codec::Streaming;

use crate::fixtures::order;
use crate::support::{TestApp, violated_fields};

const RECORDED: &str = "aftercare.orders.events.v1.OrderRecorded";

fn subscribe(topics: &[&str], after_cursor: &str) -> SubscribeRequest {
    SubscribeRequest {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        after_cursor: after_cursor.into(),
    }
}

async fn open(app: &TestApp, request: SubscribeRequest) -> Streaming<StreamedEvent> {
    app.events(Role::Service, "refund-bot")
        .subscribe(request)
        .await
        .unwrap()
        .into_inner()
}

/// The next `n` events; a stream that stalls fails the test after a
/// deadline rather than hanging it.
async fn take(stream: &mut Streaming<StreamedEvent>, n: usize) -> Vec<StreamedEvent> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let next = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events came", got.len()));
        got.push(next.unwrap().expect("the stream goes on"));
    }
    got
}

async fn record(app: &TestApp, ids: &[&str]) {
    let mut orders = app.storefront();
    for id in ids {
        orders.record_order(order(id, "c-1")).await.unwrap();
    }
}

fn order_id(e: &StreamedEvent) -> String {
    let any = e.payload.as_ref().unwrap();
    assert_eq!(any.type_url, format!("type.googleapis.com/{}", e.topic));
    OrderRecorded::decode(any.value.as_slice()).unwrap().order_id
}

/// The stored events of `topic`, in the order of their `seq`.
async fn stored(app: &TestApp, topic: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT id::text FROM platform.outbox_events WHERE topic = $1 ORDER BY seq")
        .bind(topic)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_subscriber_resumes_after_its_cursor_and_misses_nothing() {
    let app = TestApp::spawn().await;
    record(&app, &["o-1", "o-2", "o-3"]).await;
    let mut stream = open(&app, subscribe(&[RECORDED], "")).await;
    let first = take(&mut stream, 3).await;
    assert_eq!(first.iter().map(order_id).collect::<Vec<_>>(), ["o-1", "o-2", "o-3"]);
    assert!(
        first
            .iter()
            .all(|e| e.topic == RECORDED && e.aggregate_id == order_id(e))
    );
    // A commit while it listens reaches it.
    record(&app, &["o-4"]).await;
    assert_eq!(order_id(&take(&mut stream, 1).await[0]), "o-4");
    // It processed o-2 only, then lost its connection; two orders come
    // meanwhile.
    drop(stream);
    record(&app, &["o-5", "o-6"]).await;
    let mut resumed = open(&app, subscribe(&[RECORDED], &first[1].cursor)).await;
    let again = take(&mut resumed, 4).await;
    assert_eq!(
        again.iter().map(order_id).collect::<Vec<_>>(),
        ["o-3", "o-4", "o-5", "o-6"]
    );
    assert_eq!(again[0].event_id, first[2].event_id, "the same event, the same id");
    let mut ids: Vec<String> = first[..2].iter().chain(&again).map(|e| e.event_id.clone()).collect();
    assert_eq!(ids, stored(&app, RECORDED).await, "every stored event once, in order");
    ids.dedup();
    assert_eq!(ids.len(), 6);
}

#[tokio::test]
async fn two_subscribers_each_see_every_event_in_each_aggregates_order() {
    let app = TestApp::spawn().await;
    let mut a = open(&app, subscribe(&[], "")).await;
    let mut b = open(&app, subscribe(&[], "")).await;
    // Orders recorded at once, and a return's events by its consumers:
    // many aggregates written by concurrent transactions.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut orders = app.storefront();
            tokio::spawn(async move {
                for i in 0..10 {
                    let order_id = format!("o-{w}-{i}");
                    orders.record_order(order(&order_id, "c-1")).await.unwrap();
                    orders
                        .cancel_order(CancelOrderRequest {
                            order_id,
                            reason: String::new(),
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    app.settle().await;
    let all: Vec<(String, String)> =
        sqlx::query_as("SELECT id::text, aggregate_id FROM platform.outbox_events ORDER BY seq")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(all.len() >= 80, "a recorded and a canceled event per order at least");
    let mut aggregates: Vec<&str> = all.iter().map(|(_, a)| a.as_str()).collect();
    aggregates.sort_unstable();
    aggregates.dedup();
    for stream in [&mut a, &mut b] {
        let got = take(stream, all.len()).await;
        let mut ids: Vec<&str> = got.iter().map(|e| e.event_id.as_str()).collect();
        // Each aggregate's events in their commit (seq) order.
        for aggregate in &aggregates {
            let streamed: Vec<&str> = got
                .iter()
                .filter(|e| e.aggregate_id == *aggregate)
                .map(|e| e.event_id.as_str())
                .collect();
            let stored: Vec<&str> = all
                .iter()
                .filter(|(_, a)| a == aggregate)
                .map(|(id, _)| id.as_str())
                .collect();
            assert_eq!(streamed, stored, "{aggregate}");
        }
        ids.sort_unstable();
        let mut expected: Vec<&str> = all.iter().map(|(id, _)| id.as_str()).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected, "every event once");
        let cursors: Vec<i64> = got.iter().map(|e| e.cursor.parse().unwrap()).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]), "cursors only grow");
    }
}

#[tokio::test]
async fn a_slow_subscriber_is_cut_off_and_resumes_from_its_own_cursor() {
    let app = TestApp::spawn().await;
    // More events than the feed's queue and the connection's windows hold
    // together, seeded in one statement (their content is not what is
    // tested).
    const SEEDED: i64 = 30_000;
    sqlx::query(
        "INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
         SELECT gen_random_uuid(), $1, 'seed-' || g, '\\x0a0473656564', now() FROM generate_series(1, $2) g",
    )
    .bind(RECORDED)
    .bind(SEEDED)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut slow = open(&app, subscribe(&[RECORDED], "")).await;
    let processed = take(&mut slow, 10).await;
    // It reads nothing more until the server has given up on it (the
    // counter is this test's own when each test runs in a process of its
    // own, as nextest runs them; no other test stalls a subscriber).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while aftercare_events::slow_consumers_cut_off() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow subscriber was never cut off"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // What was queued still comes, then the reason with where it stopped.
    let mut queued = processed.clone();
    let status = loop {
        match slow.message().await {
            Ok(Some(e)) => queued.push(e),
            Ok(None) => panic!("the stream ended without an error"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted);
    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("ErrorInfo");
    assert_eq!(info.reason, "SLOW_CONSUMER");
    assert_eq!(
        info.metadata["resume_after"],
        queued.last().unwrap().cursor,
        "it stopped after what it queued"
    );
    assert!((queued.len() as i64) < SEEDED, "cut off before the end");
    // It resumes from the last event it processed (the tenth) and, reading
    // as it goes, is fed the whole backlog without another cut-off.
    let mut resumed = open(&app, subscribe(&[RECORDED], &processed.last().unwrap().cursor)).await;
    let rest = take(&mut resumed, SEEDED as usize - processed.len()).await;
    let seen: Vec<String> = processed.iter().chain(&rest).map(|e| e.event_id.clone()).collect();
    assert_eq!(seen, stored(&app, RECORDED).await, "every event once, in order");
    assert_eq!(
        aftercare_events::slow_consumers_cut_off(),
        1,
        "a reader that keeps up is not cut off"
    );
}

#[tokio::test]
async fn customers_cannot_subscribe_and_hostile_requests_are_invalid() {
    let app = TestApp::spawn().await;
    let refused = app
        .events(Role::Customer, "c-1")
        .subscribe(subscribe(&[], ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    for (request, field) in [
        (subscribe(&["aftercare.returns.v1.Return"], ""), "topics[0]"),
        (
            subscribe(&[RECORDED, "aftercare.returns.events.v1.ReturnSummary"], ""),
            "topics[1]",
        ),
        (subscribe(&[""], ""), "topics[0]"),
        (subscribe(&[], "-1"), "after_cursor"),
        (subscribe(&[], "9223372036854775808"), "after_cursor"),
        (subscribe(&[], "1; DROP TABLE platform.outbox_events"), "after_cursor"),
        (subscribe(&[RECORDED; 51], ""), "topics"),
        // Past the last event: not a cursor this stream gave.
        (subscribe(&[], "1000"), "after_cursor"),
    ] {
        for role in [Role::Service, Role::Agent, Role::Admin] {
            let status = app.events(role, "tool").subscribe(request.clone()).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument, "{request:?}");
            assert_eq!(violated_fields(&status), [field], "{request:?}");
        }
    }
    // "0" is the start, like no cursor.
    record(&app, &["o-1"]).await;
    let mut from_start = open(&app, subscribe(&[RECORDED], "0")).await;
    assert_eq!(order_id(&take(&mut from_start, 1).await[0]), "o-1");
}

/// An event whose transaction took its `seq` first but commits last is not
/// skipped by a subscriber already past the events committed meanwhile:
/// it is streamed after them, live and to one resuming from their cursor.
#[tokio::test]
async fn an_event_committed_late_is_streamed_after_the_ones_committed_before_it() {
    let app = TestApp::spawn().await;
    let mut late = app.pool.begin().await.unwrap();
    let late_id: String = sqlx::query_scalar(
        "INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
         VALUES (gen_random_uuid(), $1, 'o-late', '\\x0a066f2d6c617465', now()) RETURNING id::text",
    )
    .bind(RECORDED)
    .fetch_one(&mut *late)
    .await
    .unwrap();
    record(&app, &["o-1", "o-2"]).await;
    let mut live = open(&app, subscribe(&[RECORDED], "")).await;
    let before = take(&mut live, 2).await;
    assert_eq!(before.iter().map(order_id).collect::<Vec<_>>(), ["o-1", "o-2"]);
    late.commit().await.unwrap();
    // No commit of this server wakes the feed: it finds it by its poll.
    let after = take(&mut live, 1).await;
    assert_eq!(
        (after[0].event_id.as_str(), order_id(&after[0]).as_str()),
        (late_id.as_str(), "o-late")
    );
    let mut resumed = open(&app, subscribe(&[RECORDED], &before[1].cursor)).await;
    assert_eq!(take(&mut resumed, 1).await[0].event_id, late_id);
    let seq_order = stored(&app, RECORDED).await;
    assert_eq!(seq_order[0], late_id, "it took its seq first");
}

#[tokio::test]
async fn a_server_feeds_a_bounded_number_of_subscribers() {
    let app = TestApp::spawn().await;
    let mut held = Vec::new();
    for _ in 0..aftercare_events::MAX_FEEDS {
        held.push(open(&app, subscribe(&[], "")).await);
    }
    let refused = app
        .events(Role::Service, "one-too-many")
        .subscribe(subscribe(&[], ""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    // One that leaves frees its seat (once its feed has noticed).
    held.pop();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match app.events(Role::Service, "next").subscribe(subscribe(&[], "")).await {
            Ok(_) => break,
            Err(s) => assert_eq!(s.code(), Code::ResourceExhausted),
        }
        assert!(std::time::Instant::now() < deadline, "the seat was never freed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A subscriber to one topic among many others' events gets its own, in
/// order, live and resumed, and nothing else.
#[tokio::test]
async fn a_topic_among_many_others_is_streamed_alone_and_in_order() {
    let app = TestApp::spawn().await;
    let others = |n: i64| {
        sqlx::query(
            "INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
             SELECT gen_random_uuid(), 'aftercare.returns.events.v1.ReturnReceived', 'r-' || g, '\\x', now()
             FROM generate_series(1, $1) g",
        )
        .bind(n)
        .execute(&app.pool)
    };
    others(3000).await.unwrap();
    record(&app, &["o-1"]).await;
    others(5).await.unwrap();
    record(&app, &["o-2"]).await;
    let mut mine = open(&app, subscribe(&[RECORDED], "")).await;
    let first = take(&mut mine, 2).await;
    assert_eq!(first.iter().map(order_id).collect::<Vec<_>>(), ["o-1", "o-2"]);
    others(2500).await.unwrap();
    record(&app, &["o-3"]).await;
    let live = take(&mut mine, 1).await;
    assert_eq!(order_id(&live[0]), "o-3");
    let mut resumed = open(&app, subscribe(&[RECORDED], &first[0].cursor)).await;
    let again = take(&mut resumed, 2).await;
    assert_eq!(again.iter().map(order_id).collect::<Vec<_>>(), ["o-2", "o-3"]);
    assert!(first.iter().chain(&live).chain(&again).all(|e| e.topic == RECORDED));
}

/// A server stopping ends its subscriptions at once, telling each client
/// to resume elsewhere, rather than waiting out its grace period for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_ends_its_subscriptions_with_unavailable() {
    let app = TestApp::spawn().await;
    record(&app, &["o-1"]).await;
    let mut stream = open(&app, subscribe(&[RECORDED], "")).await;
    assert_eq!(order_id(&take(&mut stream, 1).await[0]), "o-1");
    // Stopping blocks its thread until the server has stopped.
    let stopping = tokio::spawn(app.stop());
    let ended = tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("the stream ended")
        .unwrap_err();
    assert_eq!(ended.code(), tonic::Code::Unavailable);
    assert!(ended.message().contains("from the cursor"), "{}", ended.message());
    stopping.await.unwrap();
}
