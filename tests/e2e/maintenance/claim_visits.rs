//! Visits booked for warranty claims (known from warranty's events):
//! approved claims only, the customer's own, one booked visit per claim,
//! canceled when the claim closes, reminded a day before like any visit;
//! completing one completes no occurrence.

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use aftercare_proto::maintenance_events::{AppointmentBooked, AppointmentCanceled, MaintenanceReminderDue};
use aftercare_proto::warranty::{
    ApproveClaimRequest, CancelClaimRequest, FileClaimRequest, RejectClaimRequest, RejectionReason, Remedy,
    ReviewClaimRequest,
};
use tonic::Code;

use super::appointments::{SLOT, centre, istanbul, with_schedules};
use super::*;
use crate::fixtures::ts;
use crate::support::{TestApp, reason, violated_fields};

/// Files a claim of c-1 for the product, has an agent approve a repair,
/// and waits until maintenance knows.
pub(super) async fn approved_claim(app: &TestApp, registration_id: &str) -> String {
    let claim = file_claim(app, registration_id).await;
    let mut agent = app.warranty(Role::Agent, "agent-1");
    agent
        .review_claim(ReviewClaimRequest {
            claim_id: claim.clone(),
        })
        .await
        .unwrap();
    agent
        .approve_claim(ApproveClaimRequest {
            claim_id: claim.clone(),
            remedy: Remedy::Repair as i32,
            override_reason: "the customer asked for a repair".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.settle().await;
    claim
}

/// A centre of 5 seats, c-1's four schedules, and an approved claim for
/// the first one's product.
async fn with_approved_claim() -> (TestApp, Vec<Schedule>, String) {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    let claim = approved_claim(&app, &all[0].registration_id).await;
    (app, all, claim)
}

/// Files a claim of c-1 for the product and waits until maintenance knows it.
async fn file_claim(app: &TestApp, registration_id: &str) -> String {
    let claim = app
        .warranty(Role::Customer, CUSTOMER)
        .file_claim(FileClaimRequest {
            registration_id: registration_id.into(),
            fault_category: "does not heat".into(),
            description: "The kettle stopped heating.".into(),
            photo_urls: vec![],
            channel: aftercare_proto::common::Channel::MobileApp as i32,
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    app.settle().await;
    claim.claim_id
}

pub(super) fn for_claim(claim_id: &str, starts_at: &str, request_id: &str) -> BookAppointmentRequest {
    BookAppointmentRequest {
        claim_id: claim_id.into(),
        centre_id: "ist-1".into(),
        starts_at: ts(at(starts_at)),
        request_id: request_id.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_visit_is_booked_once_for_an_approved_claim_of_ones_own() {
    let (app, all, claim) = with_approved_claim().await;
    let mut c = customer(&app);
    let visit = c
        .book_appointment(for_claim(&claim, SLOT, "v-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (visit.claim_id.as_str(), visit.schedule_id.as_str(), visit.occurrence),
        (claim.as_str(), "", 0)
    );
    assert_eq!(
        (visit.status.as_str(), visit.customer_id.as_str()),
        ("booked", CUSTOMER)
    );
    assert_eq!(
        visit.remind_at,
        ts(at("2026-03-09T07:00:00Z")),
        "10:00 in Istanbul, a day before"
    );
    let again = c
        .book_appointment(for_claim(&claim, SLOT, "v-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again, visit, "a retry answers the same visit");
    let twice = c
        .book_appointment(for_claim(&claim, "2026-03-10T08:00:00Z", "v-2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "ALREADY_BOOKED");
    // The unit's maintenance takes its own visit beside the claim's.
    c.book_appointment(BookAppointmentRequest {
        schedule_id: all[0].schedule_id.clone(),
        centre_id: "ist-1".into(),
        starts_at: ts(at("2026-03-10T08:00:00Z")),
        request_id: "v-3".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    // Another customer's claim is as absent as an unknown one.
    let other = app
        .maintenance(Role::Customer, "c-2")
        .book_appointment(for_claim(&claim, SLOT, "x-1"))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::NotFound);
    let unknown = c
        .book_appointment(for_claim(&uuid::Uuid::now_v7().to_string(), SLOT, "x-2"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let both = c
        .book_appointment(BookAppointmentRequest {
            schedule_id: all[1].schedule_id.clone(),
            ..for_claim(&claim, SLOT, "x-3")
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&both), ["claim_id"]);
    let neither = c.book_appointment(for_claim("", SLOT, "x-4")).await.unwrap_err();
    assert_eq!(violated_fields(&neither), ["schedule_id"]);
    for hostile in [
        "x".repeat(129),
        "no-such-claim".into(),
        format!("{claim}\n"),
        format!("\t{claim}"),
        "\0".into(),
    ] {
        let bad = c.book_appointment(for_claim(&hostile, SLOT, "x-5")).await.unwrap_err();
        assert_eq!(violated_fields(&bad), ["claim_id"], "{hostile:?}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.appointments").await,
        2,
        "the claim's visit and the occurrence's"
    );
    let booked: Vec<AppointmentBooked> = events_of(&app).await;
    let of_claim: Vec<_> = booked.iter().filter(|e| e.claim_id == claim).collect();
    assert_eq!(of_claim.len(), 1);
    assert_eq!(of_claim[0].schedule_id, "");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM platform.outbox_events
             WHERE topic = 'aftercare.maintenance.events.v1.AppointmentBooked'
               AND aggregate_id = 'claim-visit:{claim}'"
        ))
        .await,
        1,
        "about the claim"
    );

    // Reminded a day before, of the product, with no schedule or task.
    app.clock.set(at("2026-03-09T07:00:00Z"));
    app.run_jobs().await;
    let reminders: Vec<MaintenanceReminderDue> = events_of(&app).await;
    let told: Vec<_> = reminders.iter().filter(|r| r.claim_id == claim).collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].appointment_id, visit.appointment_id);
    assert_eq!(
        (
            told[0].kind.as_str(),
            told[0].schedule_id.as_str(),
            told[0].task_name.as_str()
        ),
        ("appointment", "", "")
    );
    assert_eq!(told[0].product_name, all[0].product_name);

    // Done: the visit completes; the occurrence does not.
    app.clock.set(at("2026-03-10T07:30:00Z"));
    let done = app
        .maintenance(Role::Agent, "agent-1")
        .complete_appointment(CompleteAppointmentRequest {
            appointment_id: visit.appointment_id.clone(),
            notes: "heating element replaced".into(),
            request_id: "done-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.status, "completed");
    let s = c
        .get_schedule(GetScheduleRequest {
            schedule_id: all[0].schedule_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((s.occurrence, s.last_done_on.as_str()), (1, ""));
}

#[tokio::test]
async fn a_canceled_claim_visit_frees_the_claim_for_another() {
    let (app, _, claim) = with_approved_claim().await;
    let mut c = customer(&app);
    let first = c
        .book_appointment(for_claim(&claim, SLOT, "v-1"))
        .await
        .unwrap()
        .into_inner();
    c.cancel_appointment(CancelAppointmentRequest {
        appointment_id: first.appointment_id.clone(),
        request_id: "c-1".into(),
    })
    .await
    .unwrap();
    let canceled: Vec<AppointmentCanceled> = events_of(&app).await;
    assert_eq!(canceled.len(), 1);
    assert_eq!(
        (canceled[0].claim_id.as_str(), canceled[0].schedule_id.as_str()),
        (claim.as_str(), "")
    );
    c.book_appointment(for_claim(&claim, "2026-03-10T08:00:00Z", "v-2"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_claim_takes_a_visit_once_approved_and_never_once_rejected() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(5)).await;
    let all = with_schedules(&app, 1).await;
    let claim = file_claim(&app, &all[0].registration_id).await;
    let mut agent = app.warranty(Role::Agent, "agent-1");
    let submitted = customer(&app)
        .book_appointment(for_claim(&claim, SLOT, "v-1"))
        .await
        .unwrap_err();
    assert_eq!(reason(&submitted), "CLAIM_NOT_APPROVED");
    agent
        .review_claim(ReviewClaimRequest {
            claim_id: claim.clone(),
        })
        .await
        .unwrap();
    agent
        .reject_claim(RejectClaimRequest {
            claim_id: claim.clone(),
            reason: RejectionReason::NoFaultFound as i32,
            note: "We found no fault.".into(),
        })
        .await
        .unwrap();
    app.settle().await;
    let rejected = customer(&app)
        .book_appointment(for_claim(&claim, SLOT, "v-2"))
        .await
        .unwrap_err();
    assert_eq!(reason(&rejected), "CLAIM_CLOSED");
    assert_eq!(app.count("SELECT count(*) FROM maintenance.appointments").await, 0);
}

#[tokio::test]
async fn a_canceled_claims_visit_is_canceled_and_it_takes_no_other() {
    let (app, all, claim) = with_approved_claim().await;
    let visit = customer(&app)
        .book_appointment(for_claim(&claim, SLOT, "v-0"))
        .await
        .unwrap()
        .into_inner();
    app.warranty(Role::Customer, CUSTOMER)
        .cancel_claim(CancelClaimRequest {
            claim_id: claim.clone(),
            reason: "fixed it myself".into(),
        })
        .await
        .unwrap();
    app.settle().await;
    let canceled = customer(&app)
        .get_appointment(GetAppointmentRequest {
            appointment_id: visit.appointment_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (canceled.status.as_str(), canceled.late, canceled.remind_at),
        ("canceled", false, None)
    );
    let told: Vec<AppointmentCanceled> = events_of(&app).await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0].by.as_str(), told[0].claim_id.as_str()),
        ("system", claim.as_str())
    );
    assert_eq!(
        app.count("SELECT coalesce(sum(booked), 0) FROM maintenance.slots")
            .await,
        0,
        "its seat is free"
    );

    // Refused before any seat is looked at: even a full slot says why.
    centre(&app, istanbul(1)).await;
    customer(&app)
        .book_appointment(BookAppointmentRequest {
            schedule_id: all[1].schedule_id.clone(),
            centre_id: "ist-1".into(),
            starts_at: ts(at(SLOT)),
            request_id: "v-1".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let closed = customer(&app)
        .book_appointment(for_claim(&claim, SLOT, "v-2"))
        .await
        .unwrap_err();
    assert_eq!(
        (closed.code(), reason(&closed).as_str()),
        (Code::FailedPrecondition, "CLAIM_CLOSED")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.appointments WHERE status = 'booked'")
            .await,
        1
    );
    // No reminder goes for the canceled visit; the occurrence's does.
    app.clock.set(at("2026-03-09T07:00:00Z"));
    app.run_jobs().await;
    let reminders: Vec<MaintenanceReminderDue> = events_of(&app).await;
    assert_eq!(reminders.len(), 1);
    assert_eq!(
        (reminders[0].claim_id.as_str(), reminders[0].schedule_id.as_str()),
        ("", all[1].schedule_id.as_str())
    );
}

#[tokio::test]
async fn concurrent_bookings_for_one_claim_book_one_visit() {
    let (app, _, claim) = with_approved_claim().await;
    let hours = [
        "07:00", "08:00", "10:00", "11:00", "12:00", "13:00", "06:00", "07:00", "08:00", "10:00",
    ];
    let calls: Vec<_> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let mut c = customer(&app);
            let request = for_claim(&claim, &format!("2026-03-10T{h}:00Z"), &format!("race-{i}"));
            tokio::spawn(async move { c.book_appointment(request).await })
        })
        .collect();
    let mut booked = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => booked += 1,
            Err(e) => assert_eq!(reason(&e), "ALREADY_BOOKED"),
        }
    }
    assert_eq!(booked, 1);
    assert_eq!(
        app.count("SELECT coalesce(sum(booked), 0) FROM maintenance.slots")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM maintenance.appointments").await, 1);
}
