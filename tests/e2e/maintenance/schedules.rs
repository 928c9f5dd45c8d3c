//! Schedules and their reminders.

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use tonic::Code;

use super::*;
use crate::fixtures::ts;
use crate::support::{TestApp, violated_fields};

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
    // Down past the due day, back at 03:00 Istanbul: nothing at night;
    // at 09:00 only the due reminder goes, not a late lead.
    app.clock.set(at("2026-09-03T00:00:00Z"));
    app.run_jobs().await;
    assert_eq!(reminders(&app).await.len(), 4);
    app.clock.set(at("2026-09-03T06:00:00Z"));
    app.run_jobs().await;
    let sent = reminders(&app).await;
    assert_eq!(sent.len(), 8);
    assert_eq!(sent.iter().filter(|(_, k)| k == "due").count(), 4);
    // Then the overdue one, nothing more for this occurrence, and the
    // work never recorded: the fixed schedule moves on to its next slot.
    app.clock.set(at("2026-12-31T09:00:00Z"));
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(reminders(&app).await.len(), 12);
    for s in schedules(&app).await {
        assert_eq!((s.occurrence, s.due_date.as_str()), (2, "2027-03-02"));
        assert_eq!(s.next_reminder_at, ts(at("2027-02-23T06:00:00Z")));
    }
    // Every registration delivered again schedules nothing twice.
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, next_attempt_at = '2000-01-01'
         WHERE consumer = 'maintenance.products'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(app.count("SELECT count(*) FROM maintenance.schedules").await, 4);
}

#[tokio::test]
async fn a_reminder_due_at_night_waits_for_the_morning() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let mut prefs = preferences(&app).await;
    prefs.opted_out = true;
    let save = |p: Preferences| UpdatePreferencesRequest {
        preferences: Some(p),
        source: "app".into(),
    };
    customer(&app).update_preferences(save(prefs.clone())).await.unwrap();
    // Opted back in at 23:30 Istanbul on 3 September, past the due day:
    // the due reminder goes at 09:00 the next morning, not at once.
    app.clock.set(at("2026-09-03T20:30:00Z"));
    prefs.opted_out = false;
    customer(&app).update_preferences(save(prefs)).await.unwrap();
    app.run_jobs().await;
    assert!(reminders(&app).await.is_empty(), "nothing at night");
    assert!(
        schedules(&app)
            .await
            .iter()
            .all(|s| s.next_reminder_at == ts(at("2026-09-04T06:00:00Z")))
    );
    app.clock.set(at("2026-09-04T06:00:00Z"));
    app.run_jobs().await;
    let sent = reminders(&app).await;
    assert_eq!(sent.len(), 4);
    assert!(sent.iter().all(|(_, kind)| kind == "due"));
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.consents WHERE customer_id = 'c-1' AND by_subject = 'c-1'")
            .await,
        2,
        "the opt-out and the opt-in, each on record"
    );
}

#[tokio::test]
async fn a_plan_written_later_schedules_the_products_registered_before_it() {
    let app = TestApp::spawn().await;
    delivered(&app, "o-1").await;
    assert!(schedules(&app).await.is_empty());
    // Months later the store starts the programme: each kettle is due at
    // its first slot still to come.
    app.clock.set(at("2026-10-01T09:00:00Z"));
    kitchen_plan(&app).await;
    let all = schedules(&app).await;
    assert_eq!(all.len(), 4);
    assert!(
        all.iter()
            .all(|s| (s.occurrence, s.due_date.as_str()) == (2, "2027-03-02"))
    );
    // A second version with one more task schedules only what is missing.
    app.maintenance(Role::Admin, "admin-1")
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![
                    descale(),
                    MaintenanceTask {
                        task_id: "filter".into(),
                        name: "Change the filter".into(),
                        interval_months: 0,
                        interval_days: 90,
                        anchor: "completion".into(),
                        ..descale()
                    },
                ],
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    assert_eq!(app.count("SELECT count(*) FROM maintenance.schedules").await, 8);
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.schedules WHERE task_id = 'descale' AND plan_version = 1")
            .await,
        4,
        "scheduled products keep their version"
    );
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
    // The same visit recorded again (a technician's copy) skips nothing;
    // an older one cannot move it back.
    let twice = customer(&app)
        .record_service(record("2026-03-30", "k-3"))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let older = customer(&app)
        .record_service(record("2026-03-20", "k-4"))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&older), ["done_on"]);
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
    let mut prefs = preferences(&app).await;
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
    app.clock.set(at("2027-12-31T09:00:00Z"));
    app.run_jobs().await;
    assert!(reminders(&app).await.is_empty());
    // Even a schedule the job finds due sends nothing to an opted-out
    // customer (a preference saved while a reminder was being claimed).
    sqlx::query("UPDATE maintenance.schedules SET next_reminder_at = '2027-12-31T09:00:00Z'")
        .execute(&app.pool)
        .await
        .unwrap();
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
    // More schedules than one batch, so that the servers share them.
    for i in 0..40 {
        delivered(&app, &format!("o-{i}")).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM maintenance.schedules").await, 160);
    // Lead, due and overdue, each at its moment, with the servers running.
    for moment in ["2026-08-26T06:00:00Z", "2026-09-02T06:00:00Z", "2026-09-16T06:00:00Z"] {
        app.clock.set(at(moment));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let left = format!("SELECT count(*) FROM maintenance.schedules WHERE next_reminder_at <= '{moment}'");
        while app.count(&left).await > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the servers never sent every reminder"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let per_kind: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM maintenance.reminders GROUP BY kind ORDER BY kind")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        per_kind,
        [("due".into(), 160), ("lead".into(), 160), ("overdue".into(), 160)]
    );
    assert_eq!(reminders(&app).await.len(), 480, "one event per reminder");
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

#[tokio::test]
async fn a_replacement_carries_its_units_schedule_on_and_the_old_one_ends() {
    use aftercare_proto::warranty as w;
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    delivered(&app, "o-1").await;
    let old = schedules(&app).await.remove(0);
    app.clock.set(at("2026-04-01T09:00:00Z"));
    customer(&app)
        .record_service(RecordServiceRequest {
            schedule_id: old.schedule_id.clone(),
            done_on: "2026-03-30".into(),
            notes: String::new(),
            request_id: "k-1".into(),
        })
        .await
        .unwrap();
    // A visit booked for its next occurrence follows the replacement.
    app.maintenance(Role::Admin, "admin-1")
        .upsert_centre(UpsertCentreRequest {
            centre: Some(Centre {
                centre_id: "ist-1".into(),
                name: "Istanbul".into(),
                time_zone: "Europe/Istanbul".into(),
                opening: vec![Opening {
                    weekday: 2,
                    open: "09:00".into(),
                    close: "17:00".into(),
                }],
                slot_minutes: 60,
                capacity: 5,
                cancel_cutoff_hours: 24,
                updated_at: None,
            }),
        })
        .await
        .unwrap();
    let visit = customer(&app)
        .book_appointment(BookAppointmentRequest {
            schedule_id: old.schedule_id.clone(),
            centre_id: "ist-1".into(),
            starts_at: ts(at("2026-09-01T07:00:00Z")),
            request_id: "v-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(visit.occurrence, 2);
    // The unit is replaced under warranty.
    let claim = app
        .warranty(Role::Customer, CUSTOMER)
        .file_claim(w::FileClaimRequest {
            registration_id: old.registration_id.clone(),
            fault_category: "does not heat".into(),
            description: "Stopped heating.".into(),
            photo_urls: vec![],
            channel: aftercare_proto::common::Channel::Web as i32,
            request_id: "c-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .claim_id;
    let mut agent = app.warranty(Role::Agent, "agent-1");
    agent
        .review_claim(w::ReviewClaimRequest {
            claim_id: claim.clone(),
        })
        .await
        .unwrap();
    agent
        .approve_claim(w::ApproveClaimRequest {
            claim_id: claim.clone(),
            remedy: w::Remedy::Replacement as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    agent
        .replace_product(w::ReplaceProductRequest {
            claim_id: claim,
            serial_number: "NEW-1".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    app.settle().await;
    let now = schedules(&app).await;
    assert_eq!(now.len(), 4, "the old unit's schedule ended, the new one's began");
    assert!(now.iter().all(|s| s.schedule_id != old.schedule_id));
    let new = now
        .iter()
        .find(|s| s.last_done_on == "2026-03-30")
        .expect("the replacement carries the service done");
    assert_ne!(new.registration_id, old.registration_id);
    assert_eq!((new.occurrence, new.due_date.as_str()), (2, "2027-03-02"));
    let moved = customer(&app)
        .get_appointment(GetAppointmentRequest {
            appointment_id: visit.appointment_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (moved.schedule_id.as_str(), moved.occurrence, moved.status.as_str()),
        (new.schedule_id.as_str(), 2, "booked")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM maintenance.schedules WHERE schedule_id = '{}' AND status = 'ended'
               AND next_reminder_at IS NULL",
            old.schedule_id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_task_with_one_reminder_moves_on_to_its_next_occurrence() {
    let app = TestApp::spawn().await;
    app.maintenance(Role::Admin, "admin-1")
        .upsert_plan(UpsertPlanRequest {
            plan: Some(MaintenancePlan {
                category: "kitchen".into(),
                name: "Kitchen care".into(),
                tasks: vec![MaintenanceTask {
                    lead_days: 0,
                    overdue_days: 0,
                    max_reminders: 1,
                    ..descale()
                }],
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    delivered(&app, "o-1").await;
    app.clock.set(at("2026-09-02T06:00:00Z"));
    app.run_jobs().await;
    let after_due = schedules(&app).await;
    assert!(
        after_due
            .iter()
            .all(|s| s.occurrence == 1 && s.next_reminder_at == ts(at("2026-09-02T21:00:00Z"))),
        "its only reminder sent, looked at again when its day is over: {after_due:?}"
    );
    app.clock.set(at("2026-09-02T21:00:00Z"));
    app.run_jobs().await;
    for s in schedules(&app).await {
        assert_eq!((s.occurrence, s.due_date.as_str()), (2, "2027-03-02"));
        assert_eq!(s.next_reminder_at, ts(at("2027-03-02T06:00:00Z")));
    }
    assert_eq!(reminders(&app).await.len(), 4);
}

/// The longest product name warranty takes (2,000 characters, each four
/// bytes in UTF-8 and in no repeating pattern, so nothing compresses it)
/// is scheduled and listed like any other: no index of schedules may hold
/// the name, whose 8 kB no b-tree entry takes.
#[tokio::test]
async fn a_product_with_the_longest_name_is_scheduled_and_listed() {
    let app = TestApp::spawn().await;
    kitchen_plan(&app).await;
    let mut x: u32 = 2_463_534_242;
    let name: String = (0..2000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from_u32(0x20000 + x % 0xA6D0).unwrap()
        })
        .collect();
    assert_eq!(name.len(), 8000, "four bytes each");
    let registration = app
        .warranty(Role::Customer, CUSTOMER)
        .register_product(aftercare_proto::warranty::RegisterProductRequest {
            customer_id: CUSTOMER.into(),
            sku: "KETTLE-1".into(),
            category: "kitchen".into(),
            product_name: name.clone(),
            serial_number: "SN-LONG".into(),
            purchased_at: ts(start_time()),
            proof_of_purchase_ref: "receipt-1".into(),
            time_zone: "Europe/Istanbul".into(),
            request_id: "long-name".into(),
        })
        .await
        .unwrap()
        .into_inner();
    app.warranty(Role::Agent, "agent-1")
        .verify_registration(aftercare_proto::warranty::VerifyRegistrationRequest {
            registration_id: registration.registration_id.clone(),
            accept: true,
            note: String::new(),
        })
        .await
        .unwrap();
    app.settle().await;
    let listed = schedules(&app).await;
    assert_eq!(
        listed.len(),
        1,
        "{:?}",
        listed.iter().map(|s| &s.task_id).collect::<Vec<_>>()
    );
    assert_eq!(listed[0].product_name, name);
    assert_eq!(listed[0].registration_id, registration.registration_id);
    let dead = app
        .count("SELECT count(*) FROM platform.outbox_deliveries WHERE dead_at IS NOT NULL")
        .await;
    assert_eq!(dead, 0, "no event was dead-lettered");
}
