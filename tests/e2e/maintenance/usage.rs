//! Usage thresholds: a meter that has run far enough since the occurrence
//! began makes it due today, whichever comes first; readings never go down.

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use tonic::Code;

use super::*;
use crate::support::{TestApp, violated_fields};

/// Every kitchen product: a new filter every year or every 500 cycles.
async fn filter_plan(app: &TestApp) {
    app.maintenance(Role::Admin, "admin-1")
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![MaintenanceTask {
                    task_id: "filter".into(),
                    name: "Replace the filter".into(),
                    interval_months: 12,
                    usage_meter: "cycles".into(),
                    usage_every: 500,
                    ..descale()
                }],
                ..Default::default()
            }),
        })
        .await
        .unwrap();
}

fn reading(registration_id: &str, value: i64) -> ReportUsageRequest {
    ReportUsageRequest {
        registration_id: registration_id.into(),
        meter: "cycles".into(),
        value,
    }
}

#[tokio::test]
async fn a_meter_past_its_threshold_brings_the_occurrence_forward_whichever_comes_first() {
    let app = TestApp::spawn().await;
    filter_plan(&app).await;
    delivered(&app, "o-1").await;
    let all = schedules(&app).await;
    let (a, product) = (&all[0], all[0].registration_id.clone());
    assert_eq!(a.due_date, "2027-03-02");
    let mut c = customer(&app);
    app.clock.set(at("2026-05-10T10:00:00Z"));
    let under = c.report_usage(reading(&product, 300)).await.unwrap().into_inner();
    assert_eq!(under.schedules[0].due_date, "2027-03-02", "300 of 500 cycles");
    let lower = c.report_usage(reading(&product, 200)).await.unwrap_err();
    assert_eq!(violated_fields(&lower), ["value"]);
    c.report_usage(reading(&product, 300)).await.unwrap();

    // 520 cycles: due today (10 May, Istanbul), reminded at once.
    let over = c.report_usage(reading(&product, 520)).await.unwrap().into_inner();
    let moved = over.schedules.iter().find(|s| s.schedule_id == a.schedule_id).unwrap();
    assert_eq!((moved.due_date.as_str(), moved.occurrence), ("2026-05-10", 1));
    app.run_jobs().await;
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM maintenance.reminders WHERE schedule_id = $1::uuid")
        .bind(&a.schedule_id)
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(kinds, ["due"]);
    // The other units' meters are their own.
    assert!(
        schedules(&app)
            .await
            .iter()
            .filter(|s| s.due_date == "2026-05-10")
            .count()
            == 1
    );

    // Done the next day: the next occurrence counts from 520 cycles.
    app.clock.set(at("2026-05-11T10:00:00Z"));
    let done = c
        .record_service(RecordServiceRequest {
            schedule_id: a.schedule_id.clone(),
            done_on: "2026-05-11".into(),
            notes: String::new(),
            request_id: "done-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    // Fixed slots: the first done early, the second is its date by the
    // calendar, two years from the start.
    assert_eq!((done.occurrence, done.due_date.as_str()), (2, "2028-03-02"));
    let short = c.report_usage(reading(&product, 1019)).await.unwrap().into_inner();
    assert_eq!(short.schedules[0].due_date, "2028-03-02", "499 cycles since the work");
    let again = c.report_usage(reading(&product, 1020)).await.unwrap().into_inner();
    assert_eq!(again.schedules[0].due_date, "2026-05-11");
}

#[tokio::test]
async fn readings_are_the_owners_and_hostile_ones_are_refused() {
    let app = TestApp::spawn().await;
    filter_plan(&app).await;
    delivered(&app, "o-1").await;
    let product = schedules(&app).await[0].registration_id.clone();
    let theirs = app
        .maintenance(Role::Customer, "c-2")
        .report_usage(reading(&product, 10))
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::NotFound);
    let unknown = customer(&app)
        .report_usage(reading(&uuid::Uuid::now_v7().to_string(), 10))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let hostile = customer(&app)
        .report_usage(ReportUsageRequest {
            registration_id: "x".into(),
            meter: "Cycles!".into(),
            value: -1,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&hostile), ["registration_id", "meter", "value"]);
    let huge = customer(&app)
        .report_usage(reading(&product, i64::MAX))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&huge), ["value"]);
    // A device reports with a service token.
    app.maintenance(Role::Service, "device-gateway")
        .report_usage(reading(&product, 10))
        .await
        .unwrap();
    assert_eq!(app.count("SELECT count(*) FROM maintenance.meters").await, 1);
    let plan = app
        .maintenance(Role::Admin, "admin-1")
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![MaintenanceTask {
                    usage_meter: "Cycles!".into(),
                    usage_every: 0,
                    ..descale()
                }],
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&plan),
        ["plan.tasks[0].usage_meter", "plan.tasks[0].usage_every"]
    );
}
