//! Unhappy answers' follow-ups: opened once, breached once when the target
//! passes, closed once, with goodwill points loyalty credits once.

use aftercare_platform::auth::Role;
use aftercare_proto::feedback::FollowUpStatus;
use aftercare_proto::loyalty::GetAccountRequest;
use tonic::Code;

use super::*;
use crate::support::{reason, start_time};

/// An unhappy answer of c-1's; its follow-up.
async fn unhappy(app: &TestApp) -> FollowUp {
    tell(
        app,
        &[Told {
            case_id: "k-1",
            customer: CUSTOMER,
            reason: "battery",
            agent: "agent-7",
        }],
    )
    .await;
    let survey = only_survey(app, CUSTOMER).await;
    let answered = submit(app, CUSTOMER, answer(&survey.survey_id, 4, Some(3), "still broken"))
        .await
        .unwrap();
    let id = answered.answer.unwrap().follow_up_id;
    assert!(!id.is_empty(), "an NPS of 3 is unhappy");
    app.feedback(Role::Agent, "agent-1")
        .get_follow_up(GetFollowUpRequest { follow_up_id: id })
        .await
        .unwrap()
        .into_inner()
}

fn close(id: &str, points: i64, request_id: &str) -> CloseFollowUpRequest {
    CloseFollowUpRequest {
        follow_up_id: id.into(),
        note: "called, sent a new battery".into(),
        goodwill_points: points,
        request_id: request_id.into(),
    }
}

async fn points(app: &TestApp) -> i64 {
    app.loyalty(Role::Agent, "agent-1")
        .get_account(GetAccountRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .available
}

#[tokio::test]
async fn a_follow_up_is_queued_by_its_target_and_breached_once() {
    let app = TestApp::spawn().await;
    let f = unhappy(&app).await;
    assert_eq!(f.status, FollowUpStatus::Open as i32);
    assert_eq!((f.csat, f.nps, f.comment.as_str()), (4, Some(3), "still broken"));
    assert_eq!(f.respond_by, ts(start_time() + chrono::Duration::hours(24)));
    let queue = app
        .feedback(Role::Agent, "agent-1")
        .list_follow_ups(ListFollowUpsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queue.follow_ups, vec![f.clone()]);
    app.clock
        .set(start_time() + chrono::Duration::hours(24) - chrono::Duration::seconds(1));
    app.run_jobs().await;
    assert_eq!(events(&app, "FollowUpSlaBreached").await, 0, "not yet");
    app.clock.set(start_time() + chrono::Duration::hours(24));
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(events(&app, "FollowUpSlaBreached").await, 1, "once");
    let queue = app
        .feedback(Role::Admin, "admin-1")
        .list_follow_ups(ListFollowUpsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(queue.follow_ups[0].breached);
}

#[tokio::test]
async fn closing_with_goodwill_credits_the_points_once_whatever_races() {
    let app = TestApp::spawn().await;
    let f = unhappy(&app).await;
    let before = points(&app).await;
    let over = app
        .feedback(Role::Agent, "agent-1")
        .close_follow_up(close(&f.follow_up_id, 1001, "over"))
        .await
        .unwrap_err();
    assert_eq!(reason(&over), "GOODWILL_OVER_LIMIT");
    // Eight agents close it at once, each with a key of their own.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let mut client = app.feedback(Role::Agent, &format!("agent-{i}"));
            let request = close(&f.follow_up_id, 250, &format!("close-{i}"));
            tokio::spawn(async move { client.close_follow_up(request).await })
        })
        .collect();
    let mut closed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => closed += 1,
            Err(e) => assert_eq!(reason(&e), "FOLLOW_UP_CLOSED", "{e:?}"),
        }
    }
    assert_eq!(closed, 1);
    app.settle().await;
    assert_eq!(points(&app).await, before + 250);
    // A retry of the winner's call answers the same, and grants nothing more.
    let winner: String = sqlx::query_scalar("SELECT closed_by FROM feedback.follow_ups")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let subject = winner.strip_prefix("agent:").unwrap();
    let n = subject.strip_prefix("agent-").unwrap();
    let replay = app
        .feedback(Role::Agent, subject)
        .close_follow_up(close(&f.follow_up_id, 250, &format!("close-{n}")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (replay.status, replay.goodwill_points),
        (FollowUpStatus::Closed as i32, 250)
    );
    // The event delivered again (a relay's redelivery): still once.
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0
          WHERE consumer = 'loyalty.feedback'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(points(&app).await, before + 250);
    assert_eq!(events(&app, "GoodwillRequested").await, 1);
    let closed = app
        .feedback(Role::Agent, "agent-1")
        .list_follow_ups(ListFollowUpsRequest {
            status: FollowUpStatus::Closed as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.follow_ups.len(), 1);
    assert_eq!(closed.follow_ups[0].note, "called, sent a new battery");
}

#[tokio::test]
async fn a_closed_follow_up_raises_no_breach_and_a_zero_grant_asks_loyalty_nothing() {
    let app = TestApp::spawn().await;
    let f = unhappy(&app).await;
    app.feedback(Role::Admin, "admin-1")
        .close_follow_up(close(&f.follow_up_id, 0, "c-0"))
        .await
        .unwrap();
    app.clock.set(start_time() + chrono::Duration::days(3));
    app.run_jobs().await;
    assert_eq!(events(&app, "FollowUpSlaBreached").await, 0);
    assert_eq!(events(&app, "GoodwillRequested").await, 0);
    let again = app
        .feedback(Role::Admin, "admin-1")
        .close_follow_up(close(&f.follow_up_id, 0, "c-1"))
        .await
        .unwrap_err();
    assert_eq!(
        (again.code(), reason(&again).as_str()),
        (Code::FailedPrecondition, "FOLLOW_UP_CLOSED")
    );
}
