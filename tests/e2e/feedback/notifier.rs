//! The survey's message: signed, in the customer's language, with the
//! link's token, which no event carries; a retry that falls in quiet
//! hours waits for the morning.

use aftercare_platform::webhook::{Endpoint, signature};
use aftercare_proto::feedback::SurveyStatus;
use aftercare_proto::maintenance::{Preferences, UpdatePreferencesRequest};
use http::StatusCode;

use super::*;
use crate::receiver::Receiver;
use crate::support::start_time;

const SECRET: &str = "a notifier secret of at least 32 bytes";

async fn case(app: &TestApp, case_id: &str) {
    let told = Told {
        case_id,
        customer: CUSTOMER,
        reason: "",
        agent: "",
    };
    tell(app, &[told]).await;
}

#[tokio::test]
async fn the_message_carries_the_links_token_and_no_event_does() {
    let mut receiver = Receiver::start().await;
    let app = TestApp::spawn_notifying(Endpoint::new(&receiver.url, SECRET).unwrap()).await;
    app.maintenance(Role::Customer, CUSTOMER)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(Preferences {
                customer_id: CUSTOMER.into(),
                quiet_start: "21:00".into(),
                quiet_end: "09:00".into(),
                channels: vec!["email".into()],
                locale: "tr".into(),
                ..Default::default()
            }),
            source: "app".into(),
        })
        .await
        .unwrap();
    app.settle().await;
    case(&app, "r-1").await;
    let got = receiver.take(1).await.remove(0);
    assert_eq!(
        signature::verify(
            SECRET.as_bytes(),
            got.header("aftercare-signature"),
            &got.body,
            start_time().timestamp(),
            300
        ),
        Ok(())
    );
    assert_eq!(got.header("aftercare-type"), "feedback.survey");
    let body = got.json();
    let survey = only_survey(&app, CUSTOMER).await;
    assert_eq!(body["id"], survey.survey_id.as_str());
    assert_eq!(body["title"], "İadeniz nasıl geçti?");
    assert_eq!(body["channels"], serde_json::json!(["email"]));
    let token = body["survey"]["link_token"].as_str().unwrap().to_owned();
    assert_eq!(token, link_token(&app, &survey.survey_id).await);
    // Nothing stored in the outbox holds it: whoever follows the event
    // stream cannot answer for the customer.
    let leaked = app
        .count(&format!(
            "SELECT count(*) FROM platform.outbox_events WHERE position('{token}' in encode(payload, 'escape')) > 0"
        ))
        .await;
    assert_eq!(leaked, 0);
    let answered = submit_by_link(&app, answer(&survey.survey_id, 5, None, ""), &token)
        .await
        .unwrap();
    assert_eq!(answered.status, SurveyStatus::Answered as i32);
    receiver.nothing_more();
}

#[tokio::test]
async fn a_retry_in_quiet_hours_puts_the_survey_back_until_the_morning() {
    let mut receiver = Receiver::start().await;
    let app = TestApp::spawn_notifying(Endpoint::new(&receiver.url, SECRET).unwrap()).await;
    // The provider is down at 20:59 UTC; the retry comes past 21:00.
    app.clock
        .set(start_time() + chrono::Duration::hours(11) + chrono::Duration::minutes(59));
    receiver.answer(&[StatusCode::SERVICE_UNAVAILABLE], StatusCode::OK);
    let mut tx = app.pool.begin().await.unwrap();
    let event = ReturnCanceled {
        summary: Some(ReturnSummary {
            return_id: "r-1".into(),
            customer_id: CUSTOMER.into(),
            ..Default::default()
        }),
    };
    aftercare_platform::outbox::enqueue(&mut tx, "r-1", &event, start_time())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    receiver.take(1).await;
    app.clock
        .set(start_time() + chrono::Duration::hours(12) + chrono::Duration::minutes(30));
    // The retry is due on the moved clock: wait until it was handled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app
        .count("SELECT count(*) FROM platform.outbox_deliveries WHERE consumer = 'feedback.notifier' AND delivered_at IS NULL")
        .await
        > 0
    {
        assert!(std::time::Instant::now() < deadline, "the retry never came");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    receiver.nothing_more();
    let survey = only_survey(&app, CUSTOMER).await;
    assert_eq!(survey.status, SurveyStatus::Scheduled as i32);
    assert_eq!(
        survey.send_at,
        ts(start_time() + chrono::Duration::days(1)),
        "09:00 the next day"
    );
    app.clock.set(start_time() + chrono::Duration::days(1));
    app.run_jobs().await;
    let got = receiver.take(1).await.remove(0);
    assert_eq!(got.json()["id"], survey.survey_id.as_str());
    assert_eq!(
        requests(&app, &survey.survey_id).await.len(),
        2,
        "requested again in the morning"
    );
}
