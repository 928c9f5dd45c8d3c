//! What customers control: snoozing and dismissing an occurrence's
//! reminders by a reminder's id, skipping an occurrence, muting a product
//! or a task, and a daily cap that holds across servers.

use std::time::{Duration, Instant};

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::snooze_reminder_request::Length;
use aftercare_proto::maintenance::*;
use aftercare_proto::maintenance_events::{MaintenanceCompleted, MaintenanceReminderDue};
use tonic::Code;

use super::*;
use crate::fixtures::ts;
use crate::support::{TestApp, reason, violated_fields};

/// The reminder events sent, in order.
async fn sent(app: &TestApp) -> Vec<MaintenanceReminderDue> {
    events_of(app).await
}

fn kinds_of(events: &[MaintenanceReminderDue], schedule_id: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.schedule_id == schedule_id)
        .map(|e| e.kind.clone())
        .collect()
}

async fn jobs_at(app: &TestApp, moment: &str) {
    app.clock.set(at(moment));
    app.run_jobs().await;
}

fn snooze(reminder_id: &str, length: Length) -> SnoozeReminderRequest {
    SnoozeReminderRequest {
        reminder_id: reminder_id.into(),
        length: Some(length),
    }
}

#[tokio::test]
async fn a_snoozed_occurrence_is_reminded_at_the_snoozes_end_and_a_dismissed_one_no_more() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let all = schedules(&app).await;
    let (a, b) = (&all[0].schedule_id, &all[1].schedule_id);
    jobs_at(&app, "2026-08-26T06:00:00Z").await;
    let leads = sent(&app).await;
    assert_eq!(leads.len(), 4);
    let lead_of = |id: &str| leads.iter().find(|e| e.schedule_id == id).unwrap().reminder_id.clone();
    let mut c = customer(&app);

    // Ten days: past the due day (2 September), so the due reminder goes
    // at the snooze's end, 09:00 on 5 September in Istanbul.
    let snoozed = c
        .snooze_reminder(snooze(&lead_of(a), Length::Days(10)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(snoozed.snoozed_until, ts(at("2026-09-05T06:00:00Z")));
    assert_eq!(snoozed.next_reminder_at, ts(at("2026-09-05T06:00:00Z")));
    let dismissed = c
        .dismiss_reminder(DismissReminderRequest {
            reminder_id: lead_of(b),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(dismissed.dismissed);
    assert_eq!(
        dismissed.next_reminder_at,
        ts(at("2026-09-02T21:00:00Z")),
        "woken when the occurrence is over (midnight in Istanbul), to move on"
    );

    jobs_at(&app, "2026-09-02T06:00:00Z").await;
    jobs_at(&app, "2026-09-05T06:00:00Z").await;
    jobs_at(&app, "2026-09-16T06:00:00Z").await;
    let events = sent(&app).await;
    assert_eq!(kinds_of(&events, a), ["lead", "due", "overdue"]);
    assert_eq!(
        events
            .iter()
            .find(|e| &e.schedule_id == a && e.kind == "due")
            .unwrap()
            .send_at,
        ts(at("2026-09-05T06:00:00Z"))
    );
    assert_eq!(
        kinds_of(&events, b),
        ["lead"],
        "dismissed: nothing more this occurrence"
    );
    assert_eq!(kinds_of(&events, &all[2].schedule_id), ["lead", "due", "overdue"]);
    // The dismissed occurrence passed: the next one is reminded as planned.
    let next = c
        .get_schedule(GetScheduleRequest { schedule_id: b.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((next.occurrence, next.dismissed), (2, false));
    assert_eq!(next.next_reminder_at, ts(at("2027-02-23T06:00:00Z")));
    // The first occurrence's reminder is stale now.
    let stale = c
        .snooze_reminder(snooze(&lead_of(b), Length::Days(1)))
        .await
        .unwrap_err();
    assert_eq!(reason(&stale), "REMINDER_STALE");
}

#[tokio::test]
async fn snoozes_are_bounded_and_anothers_reminder_is_not_found() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    jobs_at(&app, "2026-08-26T06:00:00Z").await;
    let id = sent(&app).await[0].reminder_id.clone();
    let mut c = customer(&app);
    for (length, field) in [
        (Length::Days(0), "days"),
        (Length::Days(31), "days"),
        (Length::Until(ts(at("2026-08-26T05:00:00Z")).unwrap()), "until"),
        (Length::Until(ts(at("2026-09-26T06:00:01Z")).unwrap()), "until"),
        (
            Length::Until(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0,
            }),
            "until",
        ),
    ] {
        let e = c.snooze_reminder(snooze(&id, length)).await.unwrap_err();
        assert_eq!(violated_fields(&e), [field]);
    }
    let none = c
        .snooze_reminder(SnoozeReminderRequest {
            reminder_id: "nope".into(),
            length: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&none), ["reminder_id", "until"]);
    for days in 1..=3 {
        c.snooze_reminder(snooze(&id, Length::Days(days))).await.unwrap();
    }
    let fourth = c.snooze_reminder(snooze(&id, Length::Days(4))).await.unwrap_err();
    assert_eq!(reason(&fourth), "TOO_MANY_SNOOZES");
    let mut stranger = app.maintenance(Role::Customer, "c-2");
    for e in [
        stranger
            .snooze_reminder(snooze(&id, Length::Days(1)))
            .await
            .unwrap_err(),
        stranger
            .dismiss_reminder(DismissReminderRequest {
                reminder_id: id.clone(),
            })
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), Code::NotFound);
    }
    let partner = app
        .maintenance(Role::Partner, "ist-1")
        .dismiss_reminder(DismissReminderRequest { reminder_id: id })
        .await
        .unwrap_err();
    assert_eq!(partner.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn skipping_moves_one_occurrence_on_once() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let s = &schedules(&app).await[0];
    let skip = SkipOccurrenceRequest {
        schedule_id: s.schedule_id.clone(),
        request_id: "skip-1".into(),
    };
    let mut c = customer(&app);
    let skipped = c.skip_occurrence(skip.clone()).await.unwrap().into_inner();
    assert_eq!((skipped.occurrence, skipped.due_date.as_str()), (2, "2027-03-02"));
    assert_eq!(skipped.last_done_on, "", "skipped is not done");
    assert_eq!(skipped.next_reminder_at, ts(at("2027-02-23T06:00:00Z")));
    // The retry is the same skip, not a second one.
    let again = c.skip_occurrence(skip).await.unwrap().into_inner();
    assert_eq!(again.occurrence, 2);
    let events: Vec<MaintenanceCompleted> = events_of(&app).await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].skipped, events[0].done_on.as_str()), (true, "2026-09-02"));
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.services WHERE skipped")
            .await,
        1
    );
    let theirs = app
        .maintenance(Role::Customer, "c-2")
        .skip_occurrence(SkipOccurrenceRequest {
            schedule_id: s.schedule_id.clone(),
            request_id: "skip-x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::NotFound);
}

#[tokio::test]
async fn a_muted_product_or_task_hears_nothing() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let all = schedules(&app).await;
    let mut prefs = preferences(&app).await;
    prefs.muted_registration_ids = vec![all[0].registration_id.clone()];
    let save = |p: Preferences| UpdatePreferencesRequest {
        preferences: Some(p),
        source: "app".into(),
    };
    customer(&app).update_preferences(save(prefs.clone())).await.unwrap();
    jobs_at(&app, "2026-08-26T06:00:00Z").await;
    let events = sent(&app).await;
    assert_eq!(events.len(), 3);
    assert!(kinds_of(&events, &all[0].schedule_id).is_empty());
    // Every product's descaling muted: nothing more for any.
    prefs.muted_registration_ids.clear();
    prefs.muted_task_ids = vec!["descale".into()];
    customer(&app).update_preferences(save(prefs.clone())).await.unwrap();
    assert!(schedules(&app).await.iter().all(|s| s.next_reminder_at.is_none()));
    jobs_at(&app, "2026-09-16T06:00:00Z").await;
    assert_eq!(sent(&app).await.len(), 3);
    assert_eq!(preferences(&app).await.muted_task_ids, ["descale"]);
    // Hostile lists are refused, whole.
    prefs.muted_registration_ids = vec!["not-a-uuid".into()];
    prefs.muted_task_ids = vec!["Descale!".into(), "descale".into(), "descale".into()];
    prefs.daily_cap = 21;
    let e = customer(&app).update_preferences(save(prefs)).await.unwrap_err();
    assert_eq!(
        violated_fields(&e),
        [
            "preferences.daily_cap",
            "preferences.muted_registration_ids[0]",
            "preferences.muted_task_ids[0]",
            "preferences.muted_task_ids[2]",
        ]
    );
}

#[tokio::test]
async fn the_daily_cap_holds_across_servers_and_the_rest_goes_the_next_day() {
    let app = TestApp::spawn_with(&["all"], Duration::from_millis(20)).await;
    let _two = app.spawn_replica(&["maintenance"], Duration::from_millis(20));
    let _three = app.spawn_replica(&["maintenance"], Duration::from_millis(20));
    kitchen_plan(&app).await;
    for i in 0..5 {
        delivered(&app, &format!("o-{i}")).await;
    }
    let mut prefs = preferences(&app).await;
    prefs.daily_cap = 6;
    customer(&app)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(prefs),
            source: "app".into(),
        })
        .await
        .unwrap();
    // 20 lead reminders due at once, three servers sending: six a day.
    for (day, moment) in [
        "2026-08-26T06:00:00Z",
        "2026-08-27T06:00:00Z",
        "2026-08-28T06:00:00Z",
        "2026-08-29T06:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        app.clock.set(at(moment));
        let due = format!("SELECT count(*) FROM maintenance.schedules WHERE next_reminder_at <= '{moment}'");
        let deadline = Instant::now() + Duration::from_secs(60);
        while app.count(&due).await > 0 {
            assert!(Instant::now() < deadline, "the servers never caught up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let want = [6, 12, 18, 20][day];
        assert_eq!(sent(&app).await.len(), want, "by {moment}");
    }
    assert_eq!(
        app.count("SELECT max(sent)::bigint FROM maintenance.daily_sends").await,
        6
    );
    // A week on, the counts of those days are gone.
    app.clock.set(at("2026-09-06T06:00:00Z"));
    app.run_jobs().await;
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.daily_sends WHERE day < '2026-08-30'")
            .await,
        0
    );
}
