//! The built-in notifier: reminders posted to the store's notification
//! provider as signed webhooks, in the customer's language, retried with
//! backoff, dead-lettered and replayable; every message carries the same
//! idempotency key on every attempt.

use std::time::Duration;

use aftercare_platform::clock::Clock;
use aftercare_platform::outbox;
use aftercare_platform::webhook::{Endpoint, signature};
use aftercare_proto::maintenance::*;
use aftercare_proto::maintenance_events::{MaintenanceOverdue, MaintenanceReminderDue};
use axum::http::StatusCode;

use super::*;
use crate::receiver::{Received, Receiver};
use crate::support::TestApp;

const SECRET: &str = "a notifier secret of at least 32 bytes";
const CONSUMER: &str = "maintenance.notifier";

fn endpoint(receiver: &Receiver) -> Endpoint {
    Endpoint::new(&receiver.url, SECRET).unwrap()
}

/// Waits until `n` of the notifier's deliveries are in the state
/// `condition` says (bounded).
async fn until(app: &TestApp, condition: &str, n: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let done: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM platform.outbox_deliveries WHERE consumer = $1 AND ({condition})"
        ))
        .bind(CONSUMER)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if done == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} deliveries with {condition} in time"
        );
        // A pause between polls, not a wait for the outcome: the dispatcher
        // shares the machine's cores with this loop.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the notifier's deliveries have `attempts` failures (or died).
async fn attempted(app: &TestApp, attempts: i32, n: i64) {
    let failed = format!("delivered_at IS NULL AND (attempts >= {attempts} OR dead_at IS NOT NULL)");
    until(app, &failed, n).await;
}

/// A server posting to a receiver that refused the first four messages:
/// c-1's four lead reminders, each tried once (their retries are due a
/// second later).
async fn leads_refused_once() -> (Receiver, TestApp, Vec<Received>) {
    let mut receiver = Receiver::start().await;
    let app = TestApp::spawn_notifying(endpoint(&receiver)).await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    receiver.answer(&[StatusCode::SERVICE_UNAVAILABLE; 4], StatusCode::OK);
    app.clock.set(at("2026-08-26T06:00:00Z"));
    app.run_jobs().await;
    let first = receiver.take(4).await;
    attempted(&app, 1, 4).await;
    (receiver, app, first)
}

fn verified(app: &TestApp, r: &Received) {
    assert_eq!(
        signature::verify(
            SECRET.as_bytes(),
            r.header("aftercare-signature"),
            &r.body,
            app.clock.now().timestamp(),
            signature::DEFAULT_TOLERANCE_SECONDS,
        ),
        Ok(()),
        "signed with the shared secret at the server's now"
    );
}

async fn save_locale(app: &TestApp, locale: &str) {
    change_preferences(app, |p| p.locale = locale.into()).await;
}

#[tokio::test]
async fn reminders_reach_the_notifier_signed_and_in_the_customers_language() {
    let mut receiver = Receiver::start().await;
    let app = TestApp::spawn_notifying(endpoint(&receiver)).await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    save_locale(&app, "tr-TR").await;

    app.clock.set(at("2026-08-26T06:00:00Z"));
    app.run_jobs().await;
    let leads = receiver.take(4).await;
    app.settle_consumers(&[CONSUMER]).await;
    receiver.nothing_more();
    let events: Vec<MaintenanceReminderDue> = events_of(&app).await;
    let mut ids: Vec<String> = events.iter().map(|e| e.reminder_id.clone()).collect();
    ids.sort();
    let mut keys: Vec<String> = leads.iter().map(|r| r.header("idempotency-key").to_owned()).collect();
    keys.sort();
    assert_eq!(keys, ids, "one message per reminder, keyed by its id");
    for r in &leads {
        verified(&app, r);
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(r.header("aftercare-type"), "maintenance.reminder");
        let m = r.json();
        assert_eq!(m["id"], r.header("idempotency-key"));
        assert_eq!(m["customer_id"], CUSTOMER);
        assert_eq!(m["language"], "tr");
        assert_eq!(m["channels"], serde_json::json!(["push", "email"]));
        assert_eq!(m["title"], "Descale zamanı yaklaşıyor");
        let body = m["body"].as_str().unwrap();
        assert!(
            body.contains("için Descale 2 Eylül 2026 tarihinde yapılmalı."),
            "{body}"
        );
        assert_eq!(m["reminder"]["kind"], "lead");
        assert_eq!(m["reminder"]["due_date"], "2026-09-02");
        assert_eq!(m["reminder"]["occurrence"], 1);
    }

    // In English from the next reminder on, once the customer says so.
    save_locale(&app, "en-GB").await;
    app.clock.set(at("2026-09-02T06:00:00Z"));
    app.run_jobs().await;
    for r in receiver.take(4).await {
        verified(&app, &r);
        let m = r.json();
        assert_eq!(
            (m["language"].as_str(), m["title"].as_str()),
            (Some("en"), Some("Descale is due"))
        );
        assert!(
            m["body"]
                .as_str()
                .unwrap()
                .ends_with("needs Descale: it is due on 2 September 2026.")
        );
    }
    // The overdue reminder comes with the occurrence's overdue event.
    app.clock.set(at("2026-09-16T06:00:00Z"));
    app.run_jobs().await;
    let overdue = receiver.take(4).await;
    assert!(overdue.iter().all(|r| r.json()["title"] == "Descale is overdue"));
    let marked: Vec<MaintenanceOverdue> = events_of(&app).await;
    assert_eq!(marked.len(), 4);
    for o in &marked {
        assert!(overdue.iter().any(|r| r.header("idempotency-key") == o.reminder_id));
        assert_eq!((o.occurrence, o.due_date.as_str()), (1, "2026-09-02"));
    }
    app.settle_consumers(&[CONSUMER]).await;
    receiver.nothing_more();
}

#[tokio::test]
async fn a_failing_receiver_gets_the_same_message_again_then_a_dead_letter_to_replay() {
    // Down once: each message comes again after its backoff, the same.
    let (mut receiver, app, first) = leads_refused_once().await;
    let errors: Vec<String> = sqlx::query_scalar(
        "SELECT last_error FROM platform.outbox_deliveries WHERE consumer = $1 AND delivered_at IS NULL",
    )
    .bind(CONSUMER)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(errors.iter().all(|e| e.contains("503")), "{errors:?}");
    app.clock
        .advance(chrono::Duration::from_std(outbox::backoff(1)).unwrap());
    let again = receiver.take(4).await;
    until(&app, "delivered_at IS NULL", 0).await;
    receiver.nothing_more();
    for r in &first {
        let retry = again
            .iter()
            .find(|a| a.header("idempotency-key") == r.header("idempotency-key"))
            .expect("each message retried under its key");
        assert_eq!(retry.body, r.body, "the same message");
        assert_ne!(retry.header("aftercare-signature"), r.header("aftercare-signature"));
        verified(&app, retry);
    }

    // Down for good: after its attempts each is a dead letter, replayed
    // once the receiver is back.
    receiver.answer(&[], StatusCode::INTERNAL_SERVER_ERROR);
    app.clock.set(at("2026-09-02T06:00:00Z"));
    app.run_jobs().await;
    for attempt in 1..=outbox::DEFAULT_MAX_ATTEMPTS {
        receiver.take(4).await;
        attempted(&app, attempt, 4).await;
        app.clock
            .advance(chrono::Duration::from_std(outbox::MAX_BACKOFF).unwrap());
    }
    let dead = outbox::dead_letters(&app.pool, Some(CONSUMER), None).await.unwrap();
    assert_eq!(dead.len(), 4);
    assert!(dead.iter().all(|d| d.attempts == outbox::DEFAULT_MAX_ATTEMPTS));
    receiver.nothing_more();
    receiver.answer(&[], StatusCode::OK);
    let replayed = outbox::replay(&app.pool, Some(CONSUMER), None, app.clock.now())
        .await
        .unwrap();
    assert_eq!(replayed, 4);
    let back = receiver.take(4).await;
    // (Replayed deliveries keep their last error until they succeed.)
    until(&app, "delivered_at IS NULL", 0).await;
    receiver.nothing_more();
    assert!(back.iter().all(|r| r.json()["reminder"]["kind"] == "due"));
    assert!(
        outbox::dead_letters(&app.pool, Some(CONSUMER), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_retry_after_the_customer_opted_out_sends_nothing() {
    let (mut receiver, app, _) = leads_refused_once().await;
    change_preferences(&app, |p| p.opted_out = true).await;
    app.clock
        .advance(chrono::Duration::from_std(outbox::backoff(1)).unwrap());
    // The retries are delivered (done with), and nothing is posted.
    until(&app, "delivered_at IS NULL", 0).await;
    receiver.nothing_more();
}

#[tokio::test]
async fn a_retry_after_the_work_was_recorded_sends_nothing_for_it() {
    let (mut receiver, app, _) = leads_refused_once().await;
    let done = schedules(&app).await.remove(0);
    customer(&app)
        .record_service(RecordServiceRequest {
            schedule_id: done.schedule_id.clone(),
            done_on: "2026-08-26".into(),
            notes: String::new(),
            request_id: "done-1".into(),
        })
        .await
        .unwrap();
    app.clock
        .advance(chrono::Duration::from_std(outbox::backoff(1)).unwrap());
    let again = receiver.take(3).await;
    until(&app, "delivered_at IS NULL", 0).await;
    receiver.nothing_more();
    assert!(
        again
            .iter()
            .all(|r| r.json()["reminder"]["schedule_id"] != done.schedule_id.as_str()),
        "the others' reminders only"
    );
}

#[tokio::test]
async fn a_visit_is_told_at_the_centres_time_and_not_once_canceled() {
    use super::appointments::{SLOT, booking, centre, istanbul};
    let mut receiver = Receiver::start().await;
    let app = TestApp::spawn_notifying(endpoint(&receiver)).await;
    centre(&app, istanbul(5)).await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    // A customer in New York booking a visit in Istanbul: 10:00 there.
    change_preferences(&app, |p| p.time_zone = "America/New_York".into()).await;
    let all = schedules(&app).await;
    let mut c = customer(&app);
    let visit = c
        .book_appointment(booking(&all[0], SLOT, "b-0"))
        .await
        .unwrap()
        .into_inner();
    // Reminded at 09:00 in New York the day before (13:00 UTC, daylight
    // time since 8 March).
    assert_eq!(visit.remind_at, crate::fixtures::ts(at("2026-03-09T13:00:00Z")));
    app.clock.set(at("2026-03-09T13:00:00Z"));
    app.run_jobs().await;
    let told = receiver.take(1).await.pop().unwrap();
    verified(&app, &told);
    let m = told.json();
    assert_eq!(m["reminder"]["kind"], "appointment");
    assert_eq!(m["reminder"]["appointment_id"], visit.appointment_id);
    assert_eq!(m["reminder"]["starts_at"], "2026-03-10T07:00:00+00:00");
    assert_eq!(m["title"], "Your service visit on 10 March 2026");
    let body = m["body"].as_str().unwrap();
    assert!(body.starts_with("Descale for your Product "), "{body}");
    assert!(
        body.ends_with(" at Istanbul service centre on 10 March 2026 at 10:00."),
        "the centre's time, not New York's 03:00: {body}"
    );
    app.settle_consumers(&[CONSUMER]).await;

    // A second visit's reminder fails once; the visit is canceled before
    // the retry, which then sends nothing.
    receiver.answer(&[StatusCode::SERVICE_UNAVAILABLE], StatusCode::OK);
    let second = c
        .book_appointment(booking(&all[1], "2026-03-10T08:00:00Z", "b-1"))
        .await
        .unwrap()
        .into_inner();
    app.run_jobs().await;
    receiver.take(1).await;
    attempted(&app, 1, 1).await;
    c.cancel_appointment(CancelAppointmentRequest {
        appointment_id: second.appointment_id,
        request_id: "c-1".into(),
    })
    .await
    .unwrap();
    app.clock
        .advance(chrono::Duration::from_std(outbox::backoff(1)).unwrap());
    until(&app, "delivered_at IS NULL", 0).await;
    receiver.nothing_more();
}

#[tokio::test]
async fn a_claims_visit_is_told_as_a_repair_at_the_centres_time() {
    use super::appointments::{SLOT, centre, istanbul};
    use super::claim_visits::{approved_claim, for_claim};
    let mut receiver = Receiver::start().await;
    let app = TestApp::spawn_notifying(endpoint(&receiver)).await;
    centre(&app, istanbul(5)).await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let all = schedules(&app).await;
    let claim = approved_claim(&app, &all[0].registration_id).await;
    customer(&app)
        .book_appointment(for_claim(&claim, SLOT, "v-1"))
        .await
        .unwrap();
    app.clock.set(at("2026-03-09T07:00:00Z"));
    app.run_jobs().await;
    let told = receiver.take(1).await.pop().unwrap();
    verified(&app, &told);
    let m = told.json();
    assert_eq!(m["reminder"]["kind"], "appointment");
    assert_eq!(m["reminder"]["claim_id"], claim);
    assert_eq!(m["reminder"]["due_date"], "");
    assert_eq!(m["title"], "Your service visit on 10 March 2026");
    let body = m["body"].as_str().unwrap();
    assert!(
        body.ends_with(", for its warranty claim: at Istanbul service centre on 10 March 2026 at 10:00."),
        "{body}"
    );
    app.settle_consumers(&[CONSUMER]).await;
    receiver.nothing_more();
}

#[tokio::test]
async fn a_bad_locale_is_refused_and_writes_nothing() {
    let app = TestApp::spawn().await;
    for bad in ["turkish", "tr_TR", "t", "tr-"] {
        let mut prefs = preferences(&app).await;
        prefs.locale = bad.into();
        let e = customer(&app)
            .update_preferences(UpdatePreferencesRequest {
                preferences: Some(prefs),
                source: "app".into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument, "{bad}");
        assert_eq!(crate::support::violated_fields(&e), ["preferences.locale"], "{bad}");
    }
    assert_eq!(app.count("SELECT count(*) FROM maintenance.preferences").await, 0);
}
