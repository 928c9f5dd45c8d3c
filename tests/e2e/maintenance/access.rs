//! Every role against every RPC with real objects, and a hostile request
//! to every RPC: refused with the field named, nothing written.

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::snooze_reminder_request::Length;
use aftercare_proto::maintenance::*;
use prost_types::Timestamp;
use tonic::Code;

use super::*;
use crate::fixtures::ts;
use crate::support::TestApp;

const CENTRE: &str = "ist-1";

struct Objects {
    schedule: String,
    reminder: String,
    appointment: String,
}

fn centre() -> Centre {
    Centre {
        centre_id: CENTRE.into(),
        name: "Istanbul".into(),
        time_zone: "Europe/Istanbul".into(),
        opening: (1..=5)
            .map(|d| Opening {
                weekday: d,
                open: "09:00".into(),
                close: "17:00".into(),
            })
            .collect(),
        slot_minutes: 60,
        capacity: 50,
        cancel_cutoff_hours: 24,
        updated_at: None,
    }
}

/// A plan, four scheduled products, a lead reminder sent, a centre and a
/// visit booked; the clock on the lead reminder's morning.
async fn objects(app: &TestApp) -> Objects {
    kitchen_plan(app).await;
    delivered(app, "o-1").await;
    app.maintenance(Role::Admin, "admin-1")
        .upsert_centre(UpsertCentreRequest { centre: Some(centre()) })
        .await
        .unwrap();
    app.clock.set(at("2026-08-26T06:00:00Z"));
    app.run_jobs().await;
    let all = schedules(app).await;
    let reminder: String =
        sqlx::query_scalar("SELECT reminder_id::text FROM maintenance.reminders WHERE schedule_id = $1::uuid")
            .bind(&all[0].schedule_id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let appointment = customer(app)
        .book_appointment(BookAppointmentRequest {
            schedule_id: all[1].schedule_id.clone(),
            centre_id: CENTRE.into(),
            starts_at: ts(at("2026-09-01T07:00:00Z")),
            request_id: "setup".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    Objects {
        schedule: all[0].schedule_id.clone(),
        reminder,
        appointment: appointment.appointment_id,
    }
}

/// Calls one RPC with a request that would pass its role check: the
/// answer may be a refusal of state (FAILED_PRECONDITION), never of access.
async fn call(app: &TestApp, role: Role, rpc: &str, o: &Objects) -> Result<(), tonic::Status> {
    let subject = if role == Role::Partner { CENTRE } else { CUSTOMER };
    let mut c = app.maintenance(role, subject);
    let key = uuid::Uuid::now_v7().to_string();
    let appointment_id = o.appointment.clone();
    match rpc {
        "UpsertPlan" => c
            .upsert_plan(UpsertPlanRequest {
                plan: Some(MaintenancePlan {
                    category: "garden".into(),
                    name: "Garden".into(),
                    tasks: vec![descale()],
                    ..Default::default()
                }),
            })
            .await
            .map(drop),
        "ListPlans" => c.list_plans(ListPlansRequest {}).await.map(drop),
        "GetSchedule" => c
            .get_schedule(GetScheduleRequest {
                schedule_id: o.schedule.clone(),
            })
            .await
            .map(drop),
        "ListSchedules" => c
            .list_schedules(ListSchedulesRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "RecordService" => c
            .record_service(RecordServiceRequest {
                schedule_id: o.schedule.clone(),
                done_on: "2026-08-20".into(),
                notes: String::new(),
                request_id: key,
            })
            .await
            .map(drop),
        "SnoozeReminder" => c
            .snooze_reminder(SnoozeReminderRequest {
                reminder_id: o.reminder.clone(),
                length: Some(Length::Days(1)),
            })
            .await
            .map(drop),
        "DismissReminder" => c
            .dismiss_reminder(DismissReminderRequest {
                reminder_id: o.reminder.clone(),
            })
            .await
            .map(drop),
        "SkipOccurrence" => c
            .skip_occurrence(SkipOccurrenceRequest {
                schedule_id: o.schedule.clone(),
                request_id: key,
            })
            .await
            .map(drop),
        "ReportUsage" => {
            let registration_id: String = sqlx::query_scalar(
                "SELECT registration_id::text FROM maintenance.schedules WHERE schedule_id = $1::uuid",
            )
            .bind(&o.schedule)
            .fetch_one(&app.pool)
            .await
            .unwrap();
            c.report_usage(ReportUsageRequest {
                registration_id,
                meter: "cycles".into(),
                value: 10,
            })
            .await
            .map(drop)
        }
        "GetPreferences" => c
            .get_preferences(GetPreferencesRequest {
                customer_id: CUSTOMER.into(),
            })
            .await
            .map(drop),
        "UpdatePreferences" => c
            .update_preferences(UpdatePreferencesRequest {
                preferences: Some(Preferences {
                    customer_id: CUSTOMER.into(),
                    channels: vec!["push".into()],
                    ..Default::default()
                }),
                source: "app".into(),
            })
            .await
            .map(drop),
        "UpsertCentre" => c
            .upsert_centre(UpsertCentreRequest { centre: Some(centre()) })
            .await
            .map(drop),
        "ListCentres" => c.list_centres(ListCentresRequest {}).await.map(drop),
        "ListSlots" => c
            .list_slots(ListSlotsRequest {
                centre_id: CENTRE.into(),
                from: ts(at("2026-08-27T00:00:00Z")),
                to: ts(at("2026-09-03T00:00:00Z")),
            })
            .await
            .map(drop),
        "BookAppointment" => c
            .book_appointment(BookAppointmentRequest {
                schedule_id: o.schedule.clone(),
                centre_id: CENTRE.into(),
                starts_at: ts(at("2026-09-02T07:00:00Z")),
                request_id: key,
                ..Default::default()
            })
            .await
            .map(drop),
        "RescheduleAppointment" => c
            .reschedule_appointment(RescheduleAppointmentRequest {
                appointment_id,
                starts_at: ts(at("2026-09-03T07:00:00Z")),
                request_id: key,
            })
            .await
            .map(drop),
        "CancelAppointment" => c
            .cancel_appointment(CancelAppointmentRequest {
                appointment_id,
                request_id: key,
            })
            .await
            .map(drop),
        "MarkNoShow" => c.mark_no_show(MarkNoShowRequest { appointment_id }).await.map(drop),
        "CompleteAppointment" => c
            .complete_appointment(CompleteAppointmentRequest {
                appointment_id,
                notes: String::new(),
                request_id: key,
            })
            .await
            .map(drop),
        "GetAppointment" => c
            .get_appointment(GetAppointmentRequest { appointment_id })
            .await
            .map(drop),
        "ListAppointments" => {
            let (customer_id, centre_id) = match role {
                Role::Partner => ("", CENTRE),
                _ => (CUSTOMER, ""),
            };
            c.list_appointments(ListAppointmentsRequest {
                customer_id: customer_id.into(),
                centre_id: centre_id.into(),
                ..Default::default()
            })
            .await
            .map(drop)
        }
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_rpc_with_real_objects() {
    let app = TestApp::spawn().await;
    let o = objects(&app).await;
    use Role::*;
    let matrix: &[(&str, &[Role])] = &[
        ("UpsertPlan", &[Admin]),
        ("ListPlans", &[Agent, Admin, Service]),
        ("GetSchedule", &[Customer, Agent, Admin, Service]),
        ("ListSchedules", &[Customer, Agent, Admin, Service]),
        ("RecordService", &[Customer, Agent, Service]),
        ("SnoozeReminder", &[Customer, Agent, Service]),
        ("DismissReminder", &[Customer, Agent, Service]),
        ("SkipOccurrence", &[Customer, Agent, Service]),
        ("ReportUsage", &[Customer, Agent, Service]),
        ("GetPreferences", &[Customer, Agent, Service]),
        ("UpdatePreferences", &[Customer, Service]),
        ("UpsertCentre", &[Admin]),
        ("ListCentres", &[Customer, Agent, Admin, Service, Partner]),
        ("ListSlots", &[Customer, Agent, Admin, Service, Partner]),
        ("BookAppointment", &[Customer, Agent, Service]),
        ("RescheduleAppointment", &[Customer, Agent, Service]),
        ("CancelAppointment", &[Customer, Agent, Service, Partner]),
        ("MarkNoShow", &[Agent, Partner]),
        ("CompleteAppointment", &[Agent, Service, Partner]),
        ("GetAppointment", &[Customer, Agent, Admin, Service, Partner]),
        ("ListAppointments", &[Customer, Agent, Admin, Service, Partner]),
    ];
    let table: Vec<&str> = aftercare_maintenance::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(table, matrix.iter().map(|(rpc, _)| *rpc).collect::<Vec<_>>());
    for (rpc, allowed) in matrix {
        for role in Role::ALL {
            let code = call(&app, role, rpc, &o).await.err().map(|e| e.code());
            if allowed.contains(&role) {
                assert!(
                    !matches!(code, Some(Code::PermissionDenied | Code::NotFound | Code::Internal)),
                    "{role} may call {rpc} on real objects: {code:?}"
                );
            } else {
                assert_eq!(code, Some(Code::PermissionDenied), "{role} may not call {rpc}");
            }
        }
    }
}

/// Rows in every maintenance table: what a refused request must not move.
async fn rows(app: &TestApp) -> i64 {
    app.count(
        "SELECT (SELECT count(*) FROM maintenance.plans) + (SELECT count(*) FROM maintenance.schedules)
              + (SELECT count(*) FROM maintenance.reminders) + (SELECT count(*) FROM maintenance.services)
              + (SELECT count(*) FROM maintenance.preferences) + (SELECT count(*) FROM maintenance.consents)
              + (SELECT count(*) FROM maintenance.centres) + (SELECT count(*) FROM maintenance.slots)
              + (SELECT count(*) FROM maintenance.appointments) + (SELECT count(*) FROM platform.outbox_events)
              + (SELECT count(*) FROM maintenance.meters)
              + (SELECT count(*) FROM platform.idempotency_keys)",
    )
    .await
}

#[tokio::test]
async fn a_hostile_request_to_every_rpc_is_invalid_argument_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let _objects = objects(&app).await;
    let before = rows(&app).await;
    let mut admin = app.maintenance(Role::Admin, "admin-1");
    let mut agent = app.maintenance(Role::Agent, "agent-1");
    let long = "x".repeat(100_000);
    let bad_id = "'; DROP TABLE maintenance.schedules; --".to_owned();
    let far = Some(Timestamp {
        seconds: i64::MAX,
        nanos: 0,
    });
    let refusals: Vec<(&str, tonic::Status)> = vec![
        (
            "UpsertPlan",
            admin
                .upsert_plan(UpsertPlanRequest {
                    plan: Some(MaintenancePlan {
                        category: long.clone(),
                        ..Default::default()
                    }),
                })
                .await
                .unwrap_err(),
        ),
        (
            "GetSchedule",
            agent
                .get_schedule(GetScheduleRequest {
                    schedule_id: bad_id.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "ListSchedules",
            agent
                .list_schedules(ListSchedulesRequest {
                    customer_id: long.clone(),
                    page_size: -1,
                    page_token: long.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "RecordService",
            agent
                .record_service(RecordServiceRequest {
                    schedule_id: bad_id.clone(),
                    done_on: "99999-01-01".into(),
                    notes: long.clone(),
                    request_id: long.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "SnoozeReminder",
            agent
                .snooze_reminder(SnoozeReminderRequest {
                    reminder_id: bad_id.clone(),
                    length: Some(Length::Days(i32::MIN)),
                })
                .await
                .unwrap_err(),
        ),
        (
            "DismissReminder",
            agent
                .dismiss_reminder(DismissReminderRequest {
                    reminder_id: bad_id.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "SkipOccurrence",
            agent
                .skip_occurrence(SkipOccurrenceRequest {
                    schedule_id: bad_id.clone(),
                    request_id: String::new(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "ReportUsage",
            agent
                .report_usage(ReportUsageRequest {
                    registration_id: bad_id.clone(),
                    meter: long.clone(),
                    value: i64::MIN,
                })
                .await
                .unwrap_err(),
        ),
        (
            "GetPreferences",
            agent
                .get_preferences(GetPreferencesRequest {
                    customer_id: long.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "UpdatePreferences",
            app.maintenance(Role::Service, "storefront")
                .update_preferences(UpdatePreferencesRequest {
                    preferences: Some(Preferences {
                        customer_id: CUSTOMER.into(),
                        time_zone: long.clone(),
                        daily_cap: i32::MAX,
                        ..Default::default()
                    }),
                    source: String::new(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "UpsertCentre",
            admin
                .upsert_centre(UpsertCentreRequest {
                    centre: Some(Centre {
                        slot_minutes: i32::MIN,
                        ..centre()
                    }),
                })
                .await
                .unwrap_err(),
        ),
        (
            "ListSlots",
            agent
                .list_slots(ListSlotsRequest {
                    centre_id: CENTRE.into(),
                    from: far,
                    to: None,
                })
                .await
                .unwrap_err(),
        ),
        (
            "BookAppointment",
            agent
                .book_appointment(BookAppointmentRequest {
                    schedule_id: bad_id.clone(),
                    centre_id: long.clone(),
                    starts_at: far,
                    request_id: long.clone(),
                    ..Default::default()
                })
                .await
                .unwrap_err(),
        ),
        (
            "RescheduleAppointment",
            agent
                .reschedule_appointment(RescheduleAppointmentRequest {
                    appointment_id: bad_id.clone(),
                    starts_at: None,
                    request_id: String::new(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "CancelAppointment",
            agent
                .cancel_appointment(CancelAppointmentRequest {
                    appointment_id: bad_id.clone(),
                    request_id: long.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "MarkNoShow",
            agent
                .mark_no_show(MarkNoShowRequest {
                    appointment_id: bad_id.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "CompleteAppointment",
            agent
                .complete_appointment(CompleteAppointmentRequest {
                    appointment_id: bad_id.clone(),
                    notes: long.clone(),
                    request_id: String::new(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "GetAppointment",
            agent
                .get_appointment(GetAppointmentRequest {
                    appointment_id: bad_id.clone(),
                })
                .await
                .unwrap_err(),
        ),
        (
            "ListAppointments",
            agent
                .list_appointments(ListAppointmentsRequest {
                    customer_id: String::new(),
                    centre_id: bad_id.clone(),
                    page_size: i32::MAX,
                    page_token: long.clone(),
                })
                .await
                .unwrap_err(),
        ),
    ];
    for (rpc, status) in &refusals {
        assert_eq!(status.code(), Code::InvalidArgument, "{rpc}: {status:?}");
        assert!(!status.message().contains("DROP"), "{rpc} echoes no input: {status:?}");
    }
    // Every RPC but the listing ones without input had a hostile call.
    let called: Vec<&str> = refusals.iter().map(|(rpc, _)| *rpc).collect();
    for (rpc, _) in aftercare_maintenance::grpc::ROLES {
        assert!(
            called.contains(rpc) || matches!(*rpc, "ListPlans" | "ListCentres"),
            "{rpc} has no hostile call"
        );
    }
    assert_eq!(rows(&app).await, before, "nothing written");
}
