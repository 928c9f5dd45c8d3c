//! Webhooks per topic end to end: an admin registers an endpoint, the
//! delivery job posts the stream's events of its topics, signed, in order;
//! failures back off and hold later events; the tenth failure buries the
//! event as a dead letter, which a replay posts again.

use aftercare_platform::auth::Role;
use aftercare_platform::clock::Clock;
use aftercare_platform::webhook::signature;
use aftercare_proto::events::*;
use aftercare_proto::orders::{CancelOrderRequest, RecordDeliveryRequest};
use axum::http::StatusCode;
use tonic::Code;

use crate::fixtures::{order, ts};
use crate::receiver::{Received, Receiver};
use crate::support::{TestApp, Webhooks, violated_fields};

const RECORDED: &str = "aftercare.orders.events.v1.OrderRecorded";
const CANCELED: &str = "aftercare.orders.events.v1.OrderCanceled";

fn admin(app: &TestApp) -> Webhooks {
    app.webhooks(Role::Admin, "ops")
}

async fn register(app: &TestApp, url: &str, topics: &[&str], request_id: &str) -> Webhook {
    admin(app)
        .register_webhook(RegisterWebhookRequest {
            url: url.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            request_id: request_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn record(app: &TestApp, order_id: &str) {
    app.storefront().record_order(order(order_id, "c-1")).await.unwrap();
}

/// A post's event, after checking its signature with `secret` at the
/// server's clock and its headers against its body.
fn verified(app: &TestApp, post: &Received, secret: &str) -> serde_json::Value {
    let now = app.clock.now().timestamp();
    let signed = post.header("aftercare-signature");
    signature::verify(
        secret.as_bytes(),
        signed,
        &post.body,
        now,
        // The test clock moves hours between posts checked together; the
        // replay window itself is tested with `signature`.
        86_400,
    )
    .expect("signed with the webhook's secret");
    let body = post.json();
    assert_eq!(post.header("idempotency-key"), body["eventId"].as_str().unwrap());
    assert_eq!(post.header("aftercare-type"), body["topic"].as_str().unwrap());
    body
}

fn order_of(body: &serde_json::Value) -> (&str, &str) {
    (
        body["topic"].as_str().unwrap(),
        body["payload"]["orderId"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn the_topics_events_are_posted_signed_and_in_order() {
    let app = TestApp::spawn().await;
    let mut receiver = Receiver::start().await;
    // Before the webhook: not posted.
    record(&app, "O-0").await;
    let hook = register(&app, &receiver.url, &[RECORDED, CANCELED], "w-1").await;
    assert_eq!(hook.secret.len(), 64, "a 32-byte secret, in hex");
    let again = register(&app, &receiver.url, &[RECORDED, CANCELED], "w-1").await;
    assert_eq!(
        (again.webhook_id.as_str(), again.secret.as_str()),
        (hook.webhook_id.as_str(), hook.secret.as_str())
    );

    record(&app, "O-1").await;
    record(&app, "O-2").await;
    let mut storefront = app.storefront();
    storefront
        .cancel_order(CancelOrderRequest {
            order_id: "O-1".into(),
            reason: "changed mind".into(),
        })
        .await
        .unwrap();
    // Not among the topics: not posted.
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: "O-2".into(),
            delivered_at: ts(app.clock.now()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.run_webhooks().await;

    let posts = receiver.take(3).await;
    let bodies: Vec<_> = posts.iter().map(|p| verified(&app, p, &hook.secret)).collect();
    let seen: Vec<_> = bodies.iter().map(order_of).collect();
    assert_eq!(seen, [(RECORDED, "O-1"), (RECORDED, "O-2"), (CANCELED, "O-1")]);
    let cursors: Vec<i64> = bodies
        .iter()
        .map(|b| b["cursor"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    app.run_webhooks().await;
    receiver.nothing_more();

    let listed = admin(&app)
        .list_webhooks(ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.webhooks.len(), 1);
    assert_eq!(listed.webhooks[0].delivered_cursor, cursors[2].to_string());
    assert_eq!(listed.webhooks[0].secret, "", "the secret is shown once");
}

#[tokio::test]
async fn a_failing_endpoint_holds_later_events_backs_off_and_buries_after_ten_attempts() {
    let app = TestApp::spawn().await;
    let mut receiver = Receiver::start().await;
    let hook = register(&app, &receiver.url, &[RECORDED], "w-2").await;
    receiver.answer(
        &[StatusCode::INTERNAL_SERVER_ERROR, StatusCode::BAD_GATEWAY],
        StatusCode::OK,
    );
    record(&app, "O-1").await;
    record(&app, "O-2").await;

    app.run_webhooks().await;
    let first = receiver.take(1).await;
    assert_eq!(order_of(&verified(&app, &first[0], &hook.secret)).1, "O-1");
    // Not due yet: nothing, and O-2 waits behind O-1.
    app.run_webhooks().await;
    receiver.nothing_more();
    app.clock.advance(chrono::Duration::seconds(1));
    app.run_webhooks().await;
    let second = receiver.take(1).await;
    assert_eq!(
        second[0].header("idempotency-key"),
        first[0].header("idempotency-key"),
        "the same key on a retry"
    );
    app.clock.advance(chrono::Duration::seconds(2));
    app.run_webhooks().await;
    let rest: Vec<_> = receiver
        .take(2)
        .await
        .iter()
        .map(|p| verified(&app, p, &hook.secret))
        .collect();
    assert_eq!(rest.iter().map(|b| order_of(b).1).collect::<Vec<_>>(), ["O-1", "O-2"]);

    // Ten failures bury O-3; O-4 goes on.
    receiver.answer(&[StatusCode::SERVICE_UNAVAILABLE; 10], StatusCode::OK);
    record(&app, "O-3").await;
    record(&app, "O-4").await;
    for _ in 0..10 {
        app.run_webhooks().await;
        app.clock.advance(chrono::Duration::hours(1));
    }
    app.run_webhooks().await;
    let posts = receiver.take(11).await;
    let orders: Vec<_> = posts
        .iter()
        .map(|p| order_of(&verified(&app, p, &hook.secret)).1.to_owned())
        .collect();
    assert_eq!(orders[..10], ["O-3"; 10]);
    assert_eq!(orders[10], "O-4");
    let id = hook.webhook_id.clone();
    let letters = admin(&app)
        .list_webhook_dead_letters(ListWebhookDeadLettersRequest { webhook_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .dead_letters;
    assert_eq!(letters.len(), 1);
    assert_eq!((letters[0].attempts, letters[0].topic.as_str()), (10, RECORDED));
    assert!(letters[0].last_error.contains("503"), "{}", letters[0].last_error);

    // Replayed once the receiver is mended: posted again, no longer dead.
    let replay = admin(&app)
        .replay_webhook_dead_letters(ReplayWebhookDeadLettersRequest { webhook_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replay.queued, 1);
    app.run_webhooks().await;
    let replayed = receiver.take(1).await;
    assert_eq!(replayed[0].header("idempotency-key"), letters[0].event_id);
    let left = admin(&app)
        .list_webhook_dead_letters(ListWebhookDeadLettersRequest { webhook_id: id })
        .await
        .unwrap()
        .into_inner()
        .dead_letters;
    assert!(left.is_empty());
    app.run_webhooks().await;
    receiver.nothing_more();
}

/// Two servers' jobs at once: one holds the webhook's lease, so each
/// event is posted once, in order, across several batches.
#[tokio::test]
async fn two_jobs_at_once_post_each_event_once_in_order() {
    let app = TestApp::spawn().await;
    let mut receiver = Receiver::start().await;
    let hook = register(&app, &receiver.url, &[RECORDED], "w-3").await;
    // More than a run's batch (100), so the runs take turns.
    for i in 0..150 {
        record(&app, &format!("O-{i:03}")).await;
    }
    tokio::join!(app.run_webhooks(), app.run_webhooks());
    let posts = receiver.take(150).await;
    let orders: Vec<String> = posts
        .iter()
        .map(|p| order_of(&verified(&app, p, &hook.secret)).1.to_owned())
        .collect();
    let expected: Vec<String> = (0..150).map(|i| format!("O-{i:03}")).collect();
    assert_eq!(orders, expected);
    app.run_webhooks().await;
    receiver.nothing_more();
}

#[tokio::test]
async fn only_admins_manage_webhooks_and_bad_ones_are_refused_writing_nothing() {
    let app = TestApp::spawn().await;
    let mut receiver = Receiver::start().await;
    for role in [Role::Customer, Role::Agent, Role::Service, Role::Partner] {
        let refused = app
            .webhooks(role, "x")
            .register_webhook(RegisterWebhookRequest {
                url: receiver.url.clone(),
                topics: vec![],
                request_id: "r".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
    }
    let bad = |url: String, topics: Vec<String>, request_id: &str| RegisterWebhookRequest {
        url,
        topics,
        request_id: request_id.into(),
    };
    let cases = [
        (bad("https://hooks.example.com/x".into(), vec![], "r"), "url"),
        (bad("not a url".into(), vec![], "r"), "url"),
        (bad(format!("http://h/{}", "x".repeat(2000)), vec![], "r"), "url"),
        (
            bad(receiver.url.clone(), vec!["aftercare.events.v1.Webhook".into()], "r"),
            "topics[0]",
        ),
        (bad(receiver.url.clone(), vec![RECORDED.into(); 51], "r"), "topics"),
        (bad(receiver.url.clone(), vec![], ""), "request_id"),
        (bad(receiver.url.clone(), vec![], &"k".repeat(201)), "request_id"),
    ];
    for (request, field) in cases {
        let refused = admin(&app).register_webhook(request).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{field}");
        assert!(
            violated_fields(&refused).iter().any(|f| f == field),
            "{field}: {refused:?}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM events.webhooks").await, 0);

    // A deleted webhook is posted nothing more.
    let hook = register(&app, &receiver.url, &[], "w-4").await;
    let deleted = admin(&app)
        .delete_webhook(DeleteWebhookRequest {
            webhook_id: hook.webhook_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(deleted.deleted_at.is_some());
    record(&app, "O-1").await;
    app.run_webhooks().await;
    receiver.nothing_more();
    for (id, code) in [
        ("00000000-0000-0000-0000-000000000000", Code::NotFound),
        ("nope", Code::InvalidArgument),
    ] {
        let refused = admin(&app)
            .delete_webhook(DeleteWebhookRequest { webhook_id: id.into() })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), code, "{id}");
    }
}

/// A webhook leased by another server is left alone until the lease ends;
/// one whose stored URL no longer passes the checks waits, and the others
/// go on.
#[tokio::test]
async fn a_leased_or_broken_webhook_does_not_hold_up_the_others() {
    let app = TestApp::spawn().await;
    let mut receiver = Receiver::start().await;
    let hook = register(&app, &receiver.url, &[RECORDED], "w-5").await;
    let broken = register(&app, &receiver.url, &[RECORDED], "w-6").await;
    sqlx::query("UPDATE events.webhooks SET url = 'https://tls.example/hooks' WHERE webhook_id = $1::uuid")
        .bind(&broken.webhook_id)
        .execute(&app.pool)
        .await
        .unwrap();
    // Another server's lease, a minute long.
    sqlx::query(
        "UPDATE events.webhooks SET lease_owner = gen_random_uuid(), leased_until = $2 WHERE webhook_id = $1::uuid",
    )
    .bind(&hook.webhook_id)
    .bind(app.clock.now() + chrono::Duration::seconds(60))
    .execute(&app.pool)
    .await
    .unwrap();
    record(&app, "O-1").await;
    app.run_webhooks().await;
    receiver.nothing_more();
    let listed = admin(&app)
        .list_webhooks(ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner();
    let stuck = listed
        .webhooks
        .iter()
        .find(|w| w.webhook_id == broken.webhook_id)
        .unwrap();
    assert!(stuck.last_error.contains("http://"), "{}", stuck.last_error);

    // The lease runs out (its server died): the next run takes over.
    app.clock.advance(chrono::Duration::seconds(61));
    app.run_webhooks().await;
    let post = receiver.take(1).await;
    assert_eq!(order_of(&verified(&app, &post[0], &hook.secret)), (RECORDED, "O-1"));
    app.run_webhooks().await;
    receiver.nothing_more();
}
