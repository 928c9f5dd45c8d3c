//! Dead letters through the contract (admins) and the console: listed,
//! replayed with a fresh set of attempts, refused to everyone else, and
//! hostile names refused by field.

use aftercare_platform::auth::Role;
use aftercare_proto::events::{ListDeadLettersRequest, ReplayDeadLettersRequest};
use http::{Method, StatusCode};
use tonic::Code;

use crate::console::{send, sign_in};
use crate::support::{TestApp, violated_fields};

/// An event whose delivery to `cli.test` used up its attempts; its id.
async fn dead(app: &TestApp) -> uuid::Uuid {
    aftercare_platform::outbox::register_consumer(&app.pool, "cli.test", &["test.Happened".to_owned()])
        .await
        .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    let event = aftercare_platform::outbox::enqueue_raw(&mut tx, "test.Happened", "agg-1", b"x", chrono::Utc::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET dead_at = now(), attempts = 15, last_error = '<b>boom</b>'
          WHERE consumer = 'cli.test'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    event
}

fn events(app: &TestApp, role: Role) -> crate::support::Events {
    app.events(role, "someone")
}

#[tokio::test]
async fn admins_list_and_replay_dead_letters_and_no_one_else_may() {
    let app = TestApp::spawn().await;
    let event = dead(&app).await;
    let listed = events(&app, Role::Admin)
        .list_dead_letters(ListDeadLettersRequest {
            consumer: "cli.test".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .dead_letters;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].event_id.clone(), listed[0].attempts),
        (event.to_string(), 15)
    );
    for role in [Role::Customer, Role::Agent, Role::Service, Role::Partner] {
        let refused = events(&app, role)
            .list_dead_letters(ListDeadLettersRequest::default())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
        let refused = events(&app, role)
            .replay_dead_letters(ReplayDeadLettersRequest {
                consumer: "cli.test".into(),
                event_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{role}");
    }
    for (request, field) in [
        (ReplayDeadLettersRequest::default(), "consumer"),
        (
            ReplayDeadLettersRequest {
                consumer: "x'; DROP TABLE platform.outbox_events; --".into(),
                event_id: String::new(),
            },
            "consumer",
        ),
        (
            ReplayDeadLettersRequest {
                consumer: String::new(),
                event_id: "not-a-uuid".into(),
            },
            "event_id",
        ),
    ] {
        let status = events(&app, Role::Admin)
            .replay_dead_letters(request)
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), [field]);
    }
    let queued = events(&app, Role::Admin)
        .replay_dead_letters(ReplayDeadLettersRequest {
            consumer: String::new(),
            event_id: event.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .queued;
    assert_eq!(queued, 1);
    let (attempts, dead_at): (i32, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT attempts, dead_at FROM platform.outbox_deliveries WHERE consumer = 'cli.test'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((attempts, dead_at), (0, None));
}

#[tokio::test]
async fn the_console_shows_dead_letters_to_admins_and_replays_them() {
    let app = TestApp::spawn().await;
    dead(&app).await;
    let admin = sign_in(&app, &app.token(Role::Admin, "admin-1")).await;
    let page = send(&app, Method::GET, "/console/dead-letters", Some(&admin), None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("cli.test") && page.body.contains("&lt;b&gt;boom&lt;/b&gt;"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/console/dead-letters\""),
        "admins have the link"
    );
    let csrf_at = page.body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page.body[csrf_at..].split('"').next().unwrap().to_owned();
    let event_at = page.body.find("name=\"event_id\" value=\"").unwrap() + 23;
    let event = page.body[event_at..].split('"').next().unwrap().to_owned();
    let forged = send(
        &app,
        Method::POST,
        "/console/dead-letters/replay",
        Some(&admin),
        Some(&[("csrf", "guess"), ("consumer", "cli.test"), ("event_id", &event)]),
        None,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let replayed = send(
        &app,
        Method::POST,
        "/console/dead-letters/replay",
        Some(&admin),
        Some(&[("csrf", &csrf), ("consumer", "cli.test"), ("event_id", &event)]),
        None,
    )
    .await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER);
    let after = send(&app, Method::GET, replayed.headers_location(), Some(&admin), None, None).await;
    assert!(after.body.contains("1 queued again."), "{}", after.body);
    assert_eq!(
        app.count("SELECT count(*) FROM platform.outbox_deliveries WHERE dead_at IS NOT NULL")
            .await,
        0
    );
    let agent = sign_in(&app, &app.token(Role::Agent, "agent-1")).await;
    let page = send(&app, Method::GET, "/console/dead-letters", Some(&agent), None, None).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "the service's own answer");
    assert!(
        !page.body.contains("href=\"/console/dead-letters\""),
        "no link for agents"
    );
}

#[tokio::test]
async fn at_most_five_hundred_are_listed_and_the_answer_says_there_are_more() {
    let app = TestApp::spawn().await;
    aftercare_platform::outbox::register_consumer(&app.pool, "cli.many", &["test.Many".to_owned()])
        .await
        .unwrap();
    let mut tx = app.pool.begin().await.unwrap();
    for n in 0..501 {
        aftercare_platform::outbox::enqueue_raw(&mut tx, "test.Many", &format!("agg-{n}"), b"x", chrono::Utc::now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    sqlx::query("UPDATE platform.outbox_deliveries SET dead_at = now(), attempts = 15 WHERE consumer = 'cli.many'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut admin = events(&app, Role::Admin);
    let all = admin
        .list_dead_letters(ListDeadLettersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((all.dead_letters.len(), all.truncated), (500, true));
    let queued = admin
        .replay_dead_letters(ReplayDeadLettersRequest {
            consumer: "cli.many".into(),
            event_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .queued;
    assert_eq!(queued, 501, "replayed by consumer, every one");
}
