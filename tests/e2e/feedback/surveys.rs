//! One survey per resolved case, at a moment the customer may be
//! contacted, or none at all.

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_proto::feedback::{CaseType, SurveyStatus};
use aftercare_proto::maintenance::{Preferences, UpdatePreferencesRequest};
use chrono::{DateTime, Utc};

use super::*;
use crate::support::start_time;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn save_preferences(app: &TestApp, customer: &str, time_zone: &str, opted_out: bool) {
    app.maintenance(Role::Customer, customer)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(Preferences {
                customer_id: customer.into(),
                time_zone: time_zone.into(),
                quiet_start: "21:00".into(),
                quiet_end: "09:00".into(),
                channels: vec!["email".into()],
                opted_out,
                locale: "tr".into(),
                ..Default::default()
            }),
            source: "app".into(),
        })
        .await
        .unwrap();
    app.settle().await;
}

#[tokio::test]
async fn a_canceled_return_gets_one_survey_sent_at_once_with_its_link() {
    let app = TestApp::spawn().await;
    let return_id = canceled_return(&app, "o-1", CUSTOMER).await;
    let survey = only_survey(&app, CUSTOMER).await;
    assert_eq!(survey.case_type, CaseType::Return as i32);
    assert_eq!(survey.case_id, return_id);
    assert_eq!(survey.status, SurveyStatus::Sent as i32, "09:00 UTC is an allowed hour");
    assert_eq!(survey.send_at, ts(start_time()));
    assert_eq!(survey.expires_at, ts(start_time() + chrono::Duration::days(30)));
    let sent = requests(&app, &survey.survey_id).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].customer_id.as_str(), sent[0].case_id.as_str()),
        (CUSTOMER, return_id.as_str())
    );
    assert_eq!(sent[0].channels, ["push", "email"], "maintenance's defaults");
    // The customer sees it too.
    let own = app
        .feedback(Role::Customer, CUSTOMER)
        .get_survey(GetSurveyRequest {
            survey_id: survey.survey_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own, survey);
}

#[tokio::test]
async fn repeated_events_on_three_servers_make_one_survey_and_one_request() {
    let app = TestApp::spawn().await;
    let replicas: Vec<_> = (0..2)
        .map(|_| app.spawn_replica(&["feedback"], Duration::from_secs(3600)))
        .collect();
    // The same canceled return told five times for each of ten customers,
    // each copy under an aggregate of its own, so no delivery waits for
    // another: the three servers' dispatchers deliver copies at once and
    // race to make the case's survey.
    use aftercare_platform::clock::Clock;
    let customers: Vec<String> = (0..10).map(|i| format!("c-dup-{i}")).collect();
    let mut tx = app.pool.begin().await.unwrap();
    for c in &customers {
        for copy in 0..5 {
            let event = ReturnCanceled {
                summary: Some(ReturnSummary {
                    return_id: c.clone(),
                    customer_id: c.clone(),
                    ..Default::default()
                }),
            };
            aftercare_platform::outbox::enqueue(&mut tx, &format!("{c}-copy-{copy}"), &event, app.clock.now())
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    app.settle().await;
    for c in &customers {
        let survey = only_survey(&app, c).await;
        assert_eq!(survey.status, SurveyStatus::Sent as i32);
        assert_eq!(requests(&app, &survey.survey_id).await.len(), 1, "sent once");
    }
    assert_eq!(app.count("SELECT count(*) FROM feedback.surveys").await, 10);
    drop(replicas);
}

#[tokio::test]
async fn cases_resolved_together_ask_the_customer_once_in_the_interval() {
    let app = TestApp::spawn().await;
    let _replica = app.spawn_replica(&["feedback"], Duration::from_secs(3600));
    let ids: Vec<String> = (0..6).map(|i| format!("r-{i}")).collect();
    let told: Vec<Told> = ids
        .iter()
        .map(|id| Told {
            case_id: id,
            customer: CUSTOMER,
            reason: "",
            agent: "",
        })
        .collect();
    tell(&app, &told).await;
    let surveys = surveys_of(&app, CUSTOMER).await;
    assert_eq!(surveys.len(), 6, "a survey per case, each on record");
    let sent: Vec<_> = surveys
        .iter()
        .filter(|s| s.status == SurveyStatus::Sent as i32)
        .collect();
    assert_eq!(sent.len(), 1, "one goes out: {surveys:?}");
    for s in surveys.iter().filter(|s| s.status != SurveyStatus::Sent as i32) {
        assert_eq!(s.status, SurveyStatus::Suppressed as i32);
        assert_eq!(s.suppressed_reason, "RECENT_SURVEY");
        assert!(requests(&app, &s.survey_id).await.is_empty());
    }
    // 30 days later (the default interval) the next case is asked about.
    app.clock.set(start_time() + chrono::Duration::days(30));
    tell(
        &app,
        &[Told {
            case_id: "r-later",
            customer: CUSTOMER,
            reason: "",
            agent: "",
        }],
    )
    .await;
    let newest = surveys_of(&app, CUSTOMER).await.remove(0);
    assert_eq!(
        (newest.case_id.as_str(), newest.status),
        ("r-later", SurveyStatus::Sent as i32)
    );
}

#[tokio::test]
async fn a_survey_waits_out_quiet_hours_in_the_customers_zone_across_a_dst_change() {
    let app = TestApp::spawn().await;
    // New York switches to summer time on 8 March 2026. At 01:30 UTC on
    // 9 March it is 21:30 (EDT) there: quiet until 09:00 EDT, 13:00 UTC.
    app.clock.set(at("2026-03-09T01:30:00Z"));
    save_preferences(&app, CUSTOMER, "America/New_York", false).await;
    tell(
        &app,
        &[Told {
            case_id: "r-1",
            customer: CUSTOMER,
            reason: "",
            agent: "",
        }],
    )
    .await;
    let survey = only_survey(&app, CUSTOMER).await;
    assert_eq!(survey.status, SurveyStatus::Scheduled as i32);
    assert_eq!(survey.send_at, ts(at("2026-03-09T13:00:00Z")));
    app.clock.set(at("2026-03-09T12:59:59Z"));
    app.run_jobs().await;
    assert!(
        requests(&app, &survey.survey_id).await.is_empty(),
        "not before 09:00 there"
    );
    app.clock.set(at("2026-03-09T13:00:00Z"));
    app.run_jobs().await;
    app.run_jobs().await;
    let sent = requests(&app, &survey.survey_id).await;
    assert_eq!(sent.len(), 1, "sent once, however often the job runs");
    assert_eq!(
        (sent[0].locale.as_str(), sent[0].channels.as_slice()),
        ("tr", &["email".to_owned()][..])
    );
    assert_eq!(only_survey(&app, CUSTOMER).await.status, SurveyStatus::Sent as i32);
}

#[tokio::test]
async fn an_opted_out_customer_gets_no_survey() {
    let app = TestApp::spawn().await;
    save_preferences(&app, CUSTOMER, "Europe/Istanbul", true).await;
    canceled_return(&app, "o-1", CUSTOMER).await;
    let survey = only_survey(&app, CUSTOMER).await;
    assert_eq!(survey.status, SurveyStatus::Suppressed as i32);
    assert_eq!(survey.suppressed_reason, "OPTED_OUT");
    assert_eq!(events(&app, "SurveyRequested").await, 0);
    // Nor one already scheduled when they opt out: 22:00 in Istanbul.
    let other = "c-2";
    app.clock.set(at("2026-03-02T19:00:00Z"));
    save_preferences(&app, other, "Europe/Istanbul", false).await;
    tell(
        &app,
        &[Told {
            case_id: "r-2",
            customer: other,
            reason: "",
            agent: "",
        }],
    )
    .await;
    assert_eq!(only_survey(&app, other).await.status, SurveyStatus::Scheduled as i32);
    save_preferences(&app, other, "Europe/Istanbul", true).await;
    app.clock.set(at("2026-03-03T06:00:00Z"));
    app.run_jobs().await;
    let held = only_survey(&app, other).await;
    assert_eq!(
        (held.status, held.suppressed_reason.as_str()),
        (SurveyStatus::Suppressed as i32, "OPTED_OUT")
    );
    assert_eq!(events(&app, "SurveyRequested").await, 0, "nothing sent to either");
    // The answer path is closed too: it was never sent.
    let refused = submit(&app, other, answer(&held.survey_id, 5, None, ""))
        .await
        .unwrap_err();
    assert_eq!(crate::support::reason(&refused), "SURVEY_NOT_SENT");
}

#[tokio::test]
async fn a_skipped_maintenance_is_no_case_and_a_done_one_is() {
    use aftercare_platform::clock::Clock;
    use aftercare_proto::maintenance_events::MaintenanceCompleted;
    let app = TestApp::spawn().await;
    let mut tx = app.pool.begin().await.unwrap();
    for (occurrence, skipped) in [(1, true), (2, false)] {
        let event = MaintenanceCompleted {
            schedule_id: "s-1".into(),
            customer_id: CUSTOMER.into(),
            task_id: "descale".into(),
            occurrence,
            done_on: "2026-03-02".into(),
            next_due_date: "2026-09-02".into(),
            skipped,
        };
        aftercare_platform::outbox::enqueue(&mut tx, "s-1", &event, app.clock.now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    app.settle().await;
    let survey = only_survey(&app, CUSTOMER).await;
    assert_eq!(
        (survey.case_type, survey.case_id.as_str()),
        (CaseType::Maintenance as i32, "s-1:2")
    );
}
