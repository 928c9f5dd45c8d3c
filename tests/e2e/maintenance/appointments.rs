//! Appointments: a centre's slots in its own zone, booking races the
//! database decides, moving and canceling around the cut-off, the visit's
//! reminder a day before, its outcome, and who may see what.

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use prost_types::Timestamp;
use tonic::Code;

use super::*;
use crate::fixtures::ts;
use crate::support::{TestApp, reason, violated_fields};

/// Tuesday 10 March 2026, 10:00 in Istanbul.
pub(super) const SLOT: &str = "2026-03-10T07:00:00Z";

pub(super) fn weekdays() -> Vec<Opening> {
    (1..=5)
        .flat_map(|d| {
            [("09:00", "12:00"), ("13:00", "17:00")].map(|(open, close)| Opening {
                weekday: d,
                open: open.into(),
                close: close.into(),
            })
        })
        .collect()
}

pub(super) fn istanbul(capacity: i32) -> Centre {
    Centre {
        centre_id: "ist-1".into(),
        name: "Istanbul service centre".into(),
        time_zone: "Europe/Istanbul".into(),
        opening: weekdays(),
        slot_minutes: 60,
        capacity,
        cancel_cutoff_hours: 24,
        updated_at: None,
    }
}

pub(super) async fn centre(app: &TestApp, c: Centre) -> Centre {
    app.maintenance(Role::Admin, "admin-1")
        .upsert_centre(UpsertCentreRequest { centre: Some(c) })
        .await
        .unwrap()
        .into_inner()
}

/// Kitchen plan, `orders` orders of four units delivered: c-1's schedules.
pub(super) async fn with_schedules(app: &TestApp, orders: usize) -> Vec<Schedule> {
    kitchen_plan(app).await;
    for i in 0..orders {
        delivered(app, &format!("o-{i}")).await;
    }
    schedules(app).await
}

pub(super) fn booking(schedule: &Schedule, starts_at: &str, request_id: &str) -> BookAppointmentRequest {
    BookAppointmentRequest {
        schedule_id: schedule.schedule_id.clone(),
        centre_id: "ist-1".into(),
        starts_at: ts(at(starts_at)),
        request_id: request_id.into(),
        ..Default::default()
    }
}

pub(super) async fn seats_left(app: &TestApp, starts_at: &str) -> i32 {
    let slots = customer(app)
        .list_slots(ListSlotsRequest {
            centre_id: "ist-1".into(),
            from: ts(at(starts_at)),
            to: ts(at(starts_at) + chrono::Duration::minutes(1)),
        })
        .await
        .unwrap()
        .into_inner()
        .slots;
    assert_eq!(slots.len(), 1, "{starts_at} is a slot");
    slots[0].seats_left
}

async fn events(app: &TestApp, topic: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM platform.outbox_events WHERE topic = 'aftercare.maintenance.events.v1.{topic}'"
    ))
    .await
}

#[tokio::test]
async fn twenty_concurrent_bookings_of_a_five_seat_slot_take_exactly_five() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 5).await;
    assert_eq!(all.len(), 20);
    let calls = all.iter().enumerate().map(|(i, s)| {
        let mut client = customer(&app);
        let request = booking(s, SLOT, &format!("race-{i}"));
        tokio::spawn(async move { client.book_appointment(request).await })
    });
    let mut booked = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(_) => booked += 1,
            Err(e) => {
                assert_eq!((e.code(), reason(&e).as_str()), (Code::FailedPrecondition, "SLOT_FULL"));
            }
        }
    }
    assert_eq!(booked, 5);
    assert_eq!(seats_left(&app, SLOT).await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.appointments WHERE status = 'booked'")
            .await,
        5
    );
    assert_eq!(events(&app, "AppointmentBooked").await, 5);
}

#[tokio::test]
async fn an_occurrence_has_one_booked_visit_whatever_the_races() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    // Ten bookings of one occurrence, each in its own slot.
    let starts = (0..10).map(|d| at(SLOT) + chrono::Duration::days(7 * d));
    let calls = starts.enumerate().map(|(i, start)| {
        let mut client = customer(&app);
        let request = BookAppointmentRequest {
            starts_at: ts(start),
            ..booking(&all[0], SLOT, &format!("one-{i}"))
        };
        tokio::spawn(async move { client.book_appointment(request).await })
    });
    let mut booked = 0;
    for call in calls.collect::<Vec<_>>() {
        match call.await.unwrap() {
            Ok(_) => booked += 1,
            Err(e) => assert_eq!(reason(&e), "ALREADY_BOOKED", "{e:?}"),
        }
    }
    assert_eq!(booked, 1);
    assert_eq!(
        app.count("SELECT coalesce(sum(booked), 0) FROM maintenance.slots")
            .await,
        1,
        "the refused bookings hold no seat"
    );
}

#[tokio::test]
async fn a_visit_is_reminded_a_day_before_once_and_again_when_moved() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    let mut c = customer(&app);
    let first = booking(&all[0], SLOT, "book-1");
    let a = c.book_appointment(first.clone()).await.unwrap().into_inner();
    assert_eq!((a.status.as_str(), a.occurrence), ("booked", 1));
    assert_eq!(
        a.remind_at,
        ts(at("2026-03-09T07:00:00Z")),
        "a day before, 10:00 Istanbul"
    );
    assert_eq!(seats_left(&app, SLOT).await, 4);
    // The same request again is the same appointment; another request
    // under its key is refused.
    let again = c.book_appointment(first.clone()).await.unwrap().into_inner();
    assert_eq!(again.appointment_id, a.appointment_id);
    let other = BookAppointmentRequest {
        starts_at: ts(at("2026-03-10T08:00:00Z")),
        ..first
    };
    assert_eq!(c.book_appointment(other).await.unwrap_err().code(), Code::AlreadyExists);

    app.clock.set(at("2026-03-09T06:59:59Z"));
    app.run_jobs().await;
    assert_eq!(visit_reminders(&app).await, 0);
    app.clock.set(at("2026-03-09T07:00:00Z"));
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(visit_reminders(&app).await, 1, "sent once");

    // Moved a week on, before the cut-off: the seat moves, and the new
    // time is reminded.
    let moved = c
        .reschedule_appointment(RescheduleAppointmentRequest {
            appointment_id: a.appointment_id.clone(),
            starts_at: ts(at("2026-03-17T07:00:00Z")),
            request_id: "move-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (moved.reschedules, moved.appointment_id.as_str()),
        (1, a.appointment_id.as_str())
    );
    assert_eq!(moved.remind_at, ts(at("2026-03-16T07:00:00Z")));
    assert_eq!(seats_left(&app, SLOT).await, 5);
    assert_eq!(seats_left(&app, "2026-03-17T07:00:00Z").await, 4);
    app.clock.set(at("2026-03-16T07:00:00Z"));
    app.run_jobs().await;
    assert_eq!(visit_reminders(&app).await, 2);
    assert_eq!(events(&app, "AppointmentBooked").await, 2);
}

/// Reminders of visits sent, as events.
async fn visit_reminders(app: &TestApp) -> usize {
    let visits: Vec<_> = events_of::<aftercare_proto::maintenance_events::MaintenanceReminderDue>(app)
        .await
        .into_iter()
        .filter(|e| e.kind == "appointment")
        .collect();
    for e in &visits {
        assert!(!e.appointment_id.is_empty() && e.centre_name == "Istanbul service centre");
    }
    visits.len()
}

#[tokio::test]
async fn canceling_is_free_until_the_cutoff_then_late_and_moving_stops_there() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    let mut c = customer(&app);
    let early = c
        .book_appointment(booking(&all[0], SLOT, "b-0"))
        .await
        .unwrap()
        .into_inner();
    let late = c
        .book_appointment(booking(&all[1], SLOT, "b-1"))
        .await
        .unwrap()
        .into_inner();
    let cancel = |id: &str, key: &str| CancelAppointmentRequest {
        appointment_id: id.into(),
        request_id: key.into(),
    };
    // At the cut-off itself it is still free.
    app.clock.set(at("2026-03-09T07:00:00Z"));
    let freed = c
        .cancel_appointment(cancel(&early.appointment_id, "c-0"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((freed.status.as_str(), freed.late), ("canceled", false));
    app.clock.set(at("2026-03-09T07:00:01Z"));
    let moving = c
        .reschedule_appointment(RescheduleAppointmentRequest {
            appointment_id: late.appointment_id.clone(),
            starts_at: ts(at("2026-03-17T07:00:00Z")),
            request_id: "m-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&moving), "PAST_CUTOFF");
    let recorded = c
        .cancel_appointment(cancel(&late.appointment_id, "c-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((recorded.status.as_str(), recorded.late), ("canceled", true));
    assert_eq!(seats_left(&app, SLOT).await, 5, "both seats given back");
    assert_eq!(events(&app, "AppointmentCanceled").await, 2);
    // Canceled is final; a retry of the cancel answers as before.
    let twice = c
        .cancel_appointment(cancel(&late.appointment_id, "c-2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "APPOINTMENT_NOT_BOOKED");
    let retried = c
        .cancel_appointment(cancel(&late.appointment_id, "c-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried, recorded);
    assert_eq!(seats_left(&app, SLOT).await, 5, "a retry frees nothing more");
}

#[tokio::test]
async fn a_completed_visit_completes_its_occurrence_and_a_missed_one_does_not() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    let mut c = customer(&app);
    let done = c
        .book_appointment(booking(&all[0], SLOT, "b-0"))
        .await
        .unwrap()
        .into_inner();
    let missed = c
        .book_appointment(booking(&all[1], SLOT, "b-1"))
        .await
        .unwrap()
        .into_inner();
    let mut partner = app.maintenance(Role::Partner, "ist-1");
    let complete = CompleteAppointmentRequest {
        appointment_id: done.appointment_id.clone(),
        notes: "descaled".into(),
        request_id: "done-1".into(),
    };
    let early = partner.complete_appointment(complete.clone()).await.unwrap_err();
    assert_eq!(reason(&early), "APPOINTMENT_NOT_STARTED");
    app.clock.set(at(SLOT) + chrono::Duration::minutes(30));
    let completed = partner
        .complete_appointment(complete.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(completed.status, "completed");
    // Done on 10 March (fixed slots): the next occurrence is the second.
    let s = c
        .get_schedule(GetScheduleRequest {
            schedule_id: all[0].schedule_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((s.occurrence, s.last_done_on.as_str()), (2, "2026-03-10"));
    assert_eq!(events(&app, "MaintenanceCompleted").await, 1);
    // A retry completes nothing twice.
    partner.complete_appointment(complete).await.unwrap();
    assert_eq!(events(&app, "MaintenanceCompleted").await, 1);

    let no_show = partner
        .mark_no_show(MarkNoShowRequest {
            appointment_id: missed.appointment_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(no_show.status, "no_show");
    let untouched = c
        .get_schedule(GetScheduleRequest {
            schedule_id: all[1].schedule_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(untouched.occurrence, 1);
}

#[tokio::test]
async fn customers_and_partners_reach_their_own_visits_only() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    centre(
        &app,
        Centre {
            centre_id: "ank-1".into(),
            ..istanbul(5)
        },
    )
    .await;
    let all = with_schedules(&app, 1).await;
    let a = customer(&app)
        .book_appointment(booking(&all[0], SLOT, "b-0"))
        .await
        .unwrap()
        .into_inner();
    // Another customer cannot book on c-1's schedule, see or cancel c-1's visit.
    let mut stranger = app.maintenance(Role::Customer, "c-2");
    let theirs = stranger
        .book_appointment(booking(&all[1], SLOT, "x-0"))
        .await
        .unwrap_err();
    assert_eq!(theirs.code(), Code::NotFound);
    let get = || GetAppointmentRequest {
        appointment_id: a.appointment_id.clone(),
    };
    assert_eq!(
        stranger.get_appointment(get()).await.unwrap_err().code(),
        Code::NotFound
    );
    let cancel = CancelAppointmentRequest {
        appointment_id: a.appointment_id.clone(),
        request_id: "x-1".into(),
    };
    assert_eq!(
        stranger.cancel_appointment(cancel.clone()).await.unwrap_err().code(),
        Code::NotFound
    );
    // Another centre's partner: as absent; the own centre's sees it.
    let mut ankara = app.maintenance(Role::Partner, "ank-1");
    assert_eq!(ankara.get_appointment(get()).await.unwrap_err().code(), Code::NotFound);
    assert_eq!(
        ankara.cancel_appointment(cancel).await.unwrap_err().code(),
        Code::NotFound
    );
    let list = |customer_id: &str, centre_id: &str| ListAppointmentsRequest {
        customer_id: customer_id.into(),
        centre_id: centre_id.into(),
        page_size: 10,
        page_token: String::new(),
    };
    assert_eq!(
        ankara.list_appointments(list("", "ist-1")).await.unwrap_err().code(),
        Code::NotFound
    );
    assert!(
        ankara
            .list_appointments(list("", "ank-1"))
            .await
            .unwrap()
            .into_inner()
            .appointments
            .is_empty()
    );
    let mut istanbul = app.maintenance(Role::Partner, "ist-1");
    assert_eq!(istanbul.get_appointment(get()).await.unwrap().into_inner(), a);
    let own = istanbul
        .list_appointments(list("", "ist-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.appointments, std::slice::from_ref(&a));
    assert_eq!(
        stranger.list_appointments(list("c-1", "")).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        customer(&app)
            .list_appointments(list("", "ist-1"))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound,
        "a centre's list is staff's and its partner's"
    );
    // A partner cannot book nor reach a customer's schedules.
    let booked = istanbul
        .book_appointment(booking(&all[1], SLOT, "p-0"))
        .await
        .unwrap_err();
    assert_eq!(booked.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn hostile_centres_slots_and_bookings_are_invalid_argument_and_write_nothing() {
    let app = TestApp::spawn().await;
    let mut admin = app.maintenance(Role::Admin, "admin-1");
    let bad = Centre {
        centre_id: "Ist 1".into(),
        name: String::new(),
        time_zone: "Mars/Olympus".into(),
        opening: vec![
            Opening {
                weekday: 8,
                open: "09:00".into(),
                close: "08:00".into(),
            },
            Opening {
                weekday: 1,
                open: "09:00".into(),
                close: "12:00".into(),
            },
            Opening {
                weekday: 1,
                open: "11:00".into(),
                close: "13:00".into(),
            },
        ],
        slot_minutes: 0,
        capacity: i32::MAX,
        cancel_cutoff_hours: -1,
        updated_at: None,
    };
    let e = admin
        .upsert_centre(UpsertCentreRequest { centre: Some(bad) })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&e),
        [
            "centre.centre_id",
            "centre.name",
            "centre.time_zone",
            "centre.slot_minutes",
            "centre.capacity",
            "centre.cancel_cutoff_hours",
            "centre.opening[0].weekday",
            "centre.opening[0].close",
            "centre.opening[2].open",
        ]
    );
    assert_eq!(app.count("SELECT count(*) FROM maintenance.centres").await, 0);

    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    let mut c = customer(&app);
    let at_edge = |seconds: i64| Some(Timestamp { seconds, nanos: 0 });
    for (starts_at, field) in [
        (ts(at("2026-03-10T07:30:00Z")), "starts_at"),
        (ts(at("2026-03-14T07:00:00Z")), "starts_at"),
        (ts(at("2026-03-02T07:00:00Z")), "starts_at"),
        (at_edge(i64::MAX), "starts_at"),
        (at_edge(i64::MIN), "starts_at"),
        (None, "starts_at"),
    ] {
        let e = c
            .book_appointment(BookAppointmentRequest {
                starts_at,
                ..booking(&all[0], SLOT, "hostile")
            })
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&e), [field]);
    }
    let e = c
        .book_appointment(BookAppointmentRequest {
            schedule_id: "nope".into(),
            centre_id: "../etc".into(),
            request_id: String::new(),
            ..booking(&all[0], SLOT, "")
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&e), ["schedule_id", "centre_id", "request_id"]);
    let unknown = c
        .book_appointment(BookAppointmentRequest {
            centre_id: "nowhere".into(),
            ..booking(&all[0], SLOT, "h-2")
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let span = c
        .list_slots(ListSlotsRequest {
            centre_id: "ist-1".into(),
            from: ts(at(SLOT)),
            to: ts(at(SLOT) + chrono::Duration::days(32)),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&span), ["to"]);
    let both = c
        .list_appointments(ListAppointmentsRequest {
            customer_id: "c-1".into(),
            centre_id: "ist-1".into(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&both), ["centre_id"]);
    assert_eq!(app.count("SELECT count(*) FROM maintenance.appointments").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM maintenance.slots").await, 0);
}

#[tokio::test]
async fn slots_follow_the_opening_hours_and_capacity_never_drops_below_bookings() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(2)).await;
    let all = with_schedules(&app, 1).await;
    let day = customer(&app)
        .list_slots(ListSlotsRequest {
            centre_id: "ist-1".into(),
            from: ts(at("2026-03-10T00:00:00Z")),
            to: ts(at("2026-03-11T00:00:00Z")),
        })
        .await
        .unwrap()
        .into_inner()
        .slots;
    assert_eq!(day.len(), 7, "09-12 and 13-17, hourly");
    assert!(day.iter().all(|s| s.seats_left == 2));
    let mut visits = Vec::new();
    for (i, s) in all.iter().take(2).enumerate() {
        let a = customer(&app)
            .book_appointment(booking(s, SLOT, &format!("b-{i}")))
            .await
            .unwrap()
            .into_inner();
        visits.push(a.appointment_id);
    }
    // Down to one seat a slot: the full slot keeps its two bookings.
    centre(&app, istanbul(1)).await;
    assert_eq!(seats_left(&app, SLOT).await, 0);
    assert_eq!(seats_left(&app, "2026-03-10T08:00:00Z").await, 1);
    let full = customer(&app)
        .book_appointment(booking(&all[2], SLOT, "b-2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&full), "SLOT_FULL");
    // Up to three: one more seat there.
    centre(&app, istanbul(3)).await;
    assert_eq!(seats_left(&app, SLOT).await, 1);
    // Down to one again, then a cancellation: still no seat, as the one
    // seat is the other visit's.
    centre(&app, istanbul(1)).await;
    customer(&app)
        .cancel_appointment(CancelAppointmentRequest {
            appointment_id: visits[0].clone(),
            request_id: "c-0".into(),
        })
        .await
        .unwrap();
    assert_eq!(seats_left(&app, SLOT).await, 0);
    let still_full = customer(&app)
        .book_appointment(booking(&all[2], SLOT, "b-3"))
        .await
        .unwrap_err();
    assert_eq!(reason(&still_full), "SLOT_FULL");

    // The grid may not move under a booked visit: not the zone, the slot
    // length or the hours; the name may change.
    let mut admin = app.maintenance(Role::Admin, "admin-1");
    for moved in [
        Centre {
            time_zone: "Europe/Berlin".into(),
            ..istanbul(1)
        },
        Centre {
            slot_minutes: 90,
            ..istanbul(1)
        },
        Centre {
            opening: weekdays().into_iter().filter(|o| o.weekday != 2).collect(),
            ..istanbul(1)
        },
    ] {
        let e = admin
            .upsert_centre(UpsertCentreRequest { centre: Some(moved) })
            .await
            .unwrap_err();
        assert_eq!(reason(&e), "BOOKINGS_OFF_GRID");
    }
    centre(
        &app,
        Centre {
            name: "Istanbul Kadikoy".into(),
            ..istanbul(1)
        },
    )
    .await;
}

#[tokio::test]
async fn a_visit_is_never_reminded_after_it_started_nor_to_an_opted_out_customer() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    // Booked at 22:00 Istanbul for 10:00 the next morning: reminded at 09:00.
    app.clock.set(at("2026-03-09T19:00:00Z"));
    let a = customer(&app)
        .book_appointment(booking(&all[0], SLOT, "late-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.remind_at, ts(at("2026-03-10T06:00:00Z")));
    // The job was down until after the visit began: nothing is sent.
    app.clock.set(at("2026-03-10T07:30:00Z"));
    app.run_jobs().await;
    assert_eq!(visit_reminders(&app).await, 0);
    let after = customer(&app)
        .get_appointment(GetAppointmentRequest {
            appointment_id: a.appointment_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.remind_at, None);
    // An opted-out customer's visit has no reminder to send; a skip of an
    // occurrence with a visit booked is refused.
    let mut prefs = preferences(&app).await;
    prefs.opted_out = true;
    customer(&app)
        .update_preferences(UpdatePreferencesRequest {
            preferences: Some(prefs),
            source: "app".into(),
        })
        .await
        .unwrap();
    let quiet = customer(&app)
        .book_appointment(booking(&all[1], "2026-03-17T07:00:00Z", "late-2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(quiet.remind_at, None);
    let skip = customer(&app)
        .skip_occurrence(SkipOccurrenceRequest {
            schedule_id: all[1].schedule_id.clone(),
            request_id: "skip-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&skip), "VISIT_BOOKED");
}
