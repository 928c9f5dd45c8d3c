//! MaintenanceService end to end: products scheduled from warranty's
//! registrations, reminders at the customer's local morning and each sent
//! once (also by three servers), completion, opt-out, hostile plans.

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use aftercare_proto::orders::RecordDeliveryRequest;
use chrono::{DateTime, Utc};
use tonic::Code;

use crate::fixtures::{order, ts};
use crate::support::{Maintenance, TestApp, start_time, violated_fields};

const CUSTOMER: &str = "c-1";

fn customer(app: &TestApp) -> Maintenance {
    app.maintenance(Role::Customer, CUSTOMER)
}

fn descale() -> MaintenanceTask {
    MaintenanceTask {
        task_id: "descale".into(),
        name: "Descale".into(),
        interval_days: 0,
        interval_months: 6,
        anchor: "fixed".into(),
        lead_days: 7,
        overdue_days: 14,
        max_reminders: 3,
    }
}

/// Every kitchen product: descale every 6 months.
async fn kitchen_plan(app: &TestApp) -> MaintenancePlan {
    app.maintenance(Role::Admin, "admin-1")
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![descale()],
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
}

/// Records `order_id` of c-1 (four kitchen units) delivered at the start,
/// and waits until warranty registered them and maintenance scheduled them.
async fn delivered(app: &TestApp, order_id: &str) {
    let mut orders = app.storefront();
    orders.record_order(order(order_id, CUSTOMER)).await.unwrap();
    orders
        .record_delivery(RecordDeliveryRequest {
            order_id: order_id.into(),
            line_ids: vec![],
            delivered_at: ts(start_time()),
        })
        .await
        .unwrap();
    app.settle().await;
}

async fn schedules(app: &TestApp) -> Vec<Schedule> {
    customer(app)
        .list_schedules(ListSchedulesRequest {
            customer_id: CUSTOMER.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .schedules
}

/// The reminder events sent, as (schedule, kind).
async fn reminders(app: &TestApp) -> Vec<(String, String)> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT s.schedule_id::text, r.kind FROM maintenance.reminders r JOIN maintenance.schedules s
         USING (schedule_id) ORDER BY r.sent_at, s.schedule_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let events = app
        .count("SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.maintenance.events.v1.MaintenanceReminderDue'")
        .await;
    assert_eq!(events, rows.len() as i64, "one event per reminder recorded");
    rows
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn registered_products_are_reminded_once_per_occurrence_at_nine_in_the_morning() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let all = schedules(&app).await;
    assert_eq!(all.len(), 4, "one per unit: L1 x 2, L2, L3");
    for s in &all {
        // Delivered 2 March (Istanbul): due 2 September; the lead reminder
        // a week before at 09:00 Istanbul.
        assert_eq!(
            (s.task_id.as_str(), s.due_date.as_str(), s.occurrence),
            ("descale", "2026-09-02", 1)
        );
        assert_eq!(s.next_reminder_at, ts(at("2026-08-26T06:00:00Z")));
    }
    app.clock.set(at("2026-08-26T05:59:59Z"));
    app.run_jobs().await;
    assert!(reminders(&app).await.is_empty());
    app.clock.set(at("2026-08-26T06:00:00Z"));
    app.run_jobs().await;
    app.run_jobs().await;
    let lead = reminders(&app).await;
    assert_eq!(lead.len(), 4);
    assert!(lead.iter().all(|(_, kind)| kind == "lead"));
    // Down past the due day: only the due reminder goes, not a late lead.
    app.clock.set(at("2026-09-03T00:00:00Z"));
    app.run_jobs().await;
    let sent = reminders(&app).await;
    assert_eq!(sent.len(), 8);
    assert_eq!(sent.iter().filter(|(_, k)| k == "due").count(), 4);
    // Then the overdue one, and nothing more for this occurrence.
    app.clock.set(at("2026-12-31T00:00:00Z"));
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(reminders(&app).await.len(), 12);
    assert!(schedules(&app).await.iter().all(|s| s.next_reminder_at.is_none()));
    // A registration delivered again schedules nothing twice.
    assert_eq!(app.count("SELECT count(*) FROM maintenance.schedules").await, 4);
}

#[tokio::test]
async fn completing_moves_to_the_next_slot_and_is_the_customers_own() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let s = schedules(&app).await.remove(0);
    let record = |done_on: &str, key: &str| RecordServiceRequest {
        schedule_id: s.schedule_id.clone(),
        done_on: done_on.into(),
        notes: "Descaled with citric acid.".into(),
        request_id: key.into(),
    };
    let future = customer(&app)
        .record_service(record("2026-03-10", "k-0"))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&future), ["done_on"]);
    app.clock.set(at("2026-04-01T09:00:00Z"));
    let done = customer(&app)
        .record_service(record("2026-03-30", "k-1"))
        .await
        .unwrap()
        .into_inner();
    // Fixed slots: done early, the next is still a year from delivery.
    assert_eq!(
        (done.occurrence, done.due_date.as_str(), done.last_done_on.as_str()),
        (2, "2027-03-02", "2026-03-30")
    );
    let again = customer(&app)
        .record_service(record("2026-03-30", "k-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, done, "the same request answers the same");
    assert_eq!(app.count("SELECT count(*) FROM maintenance.services").await, 1);
    let stranger = app
        .maintenance(Role::Customer, "c-2")
        .record_service(record("2026-03-31", "k-2"))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let listed = app
        .maintenance(Role::Customer, "c-2")
        .list_schedules(ListSchedulesRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(listed.code(), Code::NotFound);
}

#[tokio::test]
async fn an_opted_out_customer_gets_nothing_and_consent_is_on_record() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let mut prefs = customer(&app)
        .get_preferences(GetPreferencesRequest {
            customer_id: CUSTOMER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (prefs.quiet_start.as_str(), prefs.quiet_end.as_str()),
        ("21:00", "09:00")
    );
    prefs.opted_out = true;
    customer(&app)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(prefs),
            source: "app".into(),
        })
        .await
        .unwrap();
    assert!(schedules(&app).await.iter().all(|s| s.next_reminder_at.is_none()));
    app.clock.set(at("2027-12-31T00:00:00Z"));
    app.run_jobs().await;
    assert!(reminders(&app).await.is_empty());
    assert_eq!(
        app.count(
            "SELECT count(*) FROM maintenance.consents WHERE customer_id = 'c-1' AND opted_out AND source = 'app'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_customers_own_hours_and_zone_move_the_reminders() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    // New York, no messages before noon: the lead reminder goes at 12:00
    // New York on 26 August (EDT, UTC-4).
    customer(&app)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(Preferences {
                customer_id: CUSTOMER.into(),
                time_zone: "America/New_York".into(),
                quiet_start: "21:00".into(),
                quiet_end: "12:00".into(),
                channels: vec!["sms".into(), "push".into()],
                ..Default::default()
            }),
            source: "web".into(),
        })
        .await
        .unwrap();
    assert!(
        schedules(&app)
            .await
            .iter()
            .all(|s| s.next_reminder_at == ts(at("2026-08-26T16:00:00Z")))
    );
    let bad = customer(&app)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(Preferences {
                customer_id: CUSTOMER.into(),
                time_zone: "Mars/Olympus".into(),
                quiet_start: "25:00".into(),
                quiet_end: "09:00".into(),
                channels: vec!["pigeon".into()],
                ..Default::default()
            }),
            source: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&bad),
        [
            "source",
            "preferences.time_zone",
            "preferences.quiet_start",
            "preferences.channels[0]"
        ]
    );
}

#[tokio::test]
async fn three_servers_send_each_reminder_once() {
    let app = TestApp::spawn_with(&["all"], std::time::Duration::from_millis(20)).await;
    let _two = app.spawn_replica(&["maintenance"], std::time::Duration::from_millis(20));
    let _three = app.spawn_replica(&["maintenance"], std::time::Duration::from_millis(20));
    kitchen_plan(&app).await;
    for i in 0..10 {
        delivered(&app, &format!("o-{i}")).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM maintenance.schedules").await, 40);
    app.clock.set(at("2026-08-26T06:00:00Z"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app
        .count("SELECT count(*) FROM maintenance.schedules WHERE next_reminder_at <= '2026-08-26T06:00:00Z'")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the servers never sent every reminder"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let per_schedule: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, count(*) FROM platform.outbox_events
         WHERE topic = 'aftercare.maintenance.events.v1.MaintenanceReminderDue' GROUP BY aggregate_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(per_schedule.len(), 40);
    assert!(per_schedule.iter().all(|(_, n)| *n == 1), "{per_schedule:?}");
}

#[tokio::test]
async fn hostile_plans_are_invalid_argument_and_write_nothing() {
    let app = TestApp::spawn().await;
    let mut admin = app.maintenance(Role::Admin, "admin-1");
    let bad = admin
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "k".repeat(101),
                name: String::new(),
                tasks: vec![
                    MaintenanceTask {
                        task_id: "Bad Id!".into(),
                        interval_days: 5,
                        interval_months: 5,
                        anchor: "sometimes".into(),
                        lead_days: -1,
                        max_reminders: i32::MAX,
                        ..descale()
                    },
                    descale(),
                    descale(),
                ],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&bad),
        [
            "plan.category",
            "plan.name",
            "plan.tasks[0].task_id",
            "plan.tasks[0].interval_days",
            "plan.tasks[0].anchor",
            "plan.tasks[0].lead_days",
            "plan.tasks[0].max_reminders",
            "plan.tasks"
        ]
    );
    assert_eq!(app.count("SELECT count(*) FROM maintenance.plans").await, 0);
    let customer_may_not = customer(&app)
        .upsert_plan(UpsertPlanRequest { plan: None })
        .await
        .unwrap_err();
    assert_eq!(customer_may_not.code(), Code::PermissionDenied);
    let nothing = customer(&app)
        .get_schedule(GetScheduleRequest {
            schedule_id: "not-an-id".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&nothing), ["schedule_id"]);
}
