//! The built-in notifier: each `MaintenanceReminderDue` becomes a message
//! in the customer's language ([`crate::domain::message`]) posted to the
//! store's notification provider as a signed webhook, with the customer's
//! channels in order for the provider to choose from.
//!
//! It is an outbox consumer, so a message goes at least once: a receiver
//! that fails or does not answer gets it again with backoff, then it is a
//! dead letter an admin can replay. A receiver drops repeats by the
//! message's `id`, the reminder's id (the same on every retry; also in the
//! `Idempotency-Key` header, which the signature does not cover).
//!
//! A retry or a replay can come hours or days after the reminder: each
//! attempt first checks, in the delivery's transaction, that the message
//! still stands (the customer has not opted out or muted it since, the
//! occurrence was not done, skipped or dismissed since, the visit is still
//! booked for that time) and drops it otherwise.

use std::sync::Arc;

use aftercare_kernel::clock::SharedClock;
use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::outbox::{self, Event, EventHandler, HandlerFuture};
use aftercare_platform::webhook;
use aftercare_proto::maintenance_events::MaintenanceReminderDue;
use sqlx::PgConnection;

use crate::app::visits::visit_reach;
use crate::domain::message::{Facts, Language, Notice, render};
use crate::domain::{AppointmentId, AppointmentStatus, ScheduleId, VisitFor};
use crate::store;

/// The message type receivers see (`Aftercare-Type`).
pub const MESSAGE_TYPE: &str = "maintenance.reminder";

pub struct ReminderMessages {
    pub sender: Arc<webhook::Sender>,
    pub clock: SharedClock,
}

impl EventHandler for ReminderMessages {
    fn name(&self) -> &str {
        "maintenance.notifier"
    }

    fn topics(&self) -> Vec<String> {
        vec![outbox::topic::<MaintenanceReminderDue>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let Some(reminder) = event.decode::<MaintenanceReminderDue>()? else {
                return Ok(());
            };
            if !still_stands(tx, &reminder).await.map_err(|e| e.to_string())? {
                tracing::info!(reminder = %reminder.reminder_id, "a reminder no longer stands; not sent");
                return Ok(());
            }
            let body = message(&reminder)?;
            self.sender
                .post(&reminder.reminder_id, MESSAGE_TYPE, body, self.clock.now())
                .await
        })
    }
}

/// Whether the reminder should still reach the customer now.
async fn still_stands(conn: &mut PgConnection, r: &MaintenanceReminderDue) -> Result<bool, Error> {
    if r.kind == "appointment" {
        let visit = AppointmentId::parse(&r.appointment_id).ok_or_else(|| Error::internal("appointment_id invalid"))?;
        let starts_at = r.starts_at.as_ref().and_then(aftercare_platform::wire::from_timestamp);
        let Some(a) = store::appointments::get(conn, visit, false).await? else {
            return Ok(false);
        };
        if a.status != AppointmentStatus::Booked || Some(a.starts_at) != starts_at {
            return Ok(false);
        }
        if let VisitFor::Occurrence { schedule_id, .. } = a.visit_for
            && !store::schedules::get(conn, schedule_id, false)
                .await?
                .is_some_and(|s| s.active)
        {
            return Ok(false);
        }
        return Ok(!visit_reach(conn, &a.visit_for).await?.silenced);
    }
    let id = ScheduleId::parse(&r.schedule_id).ok_or_else(|| Error::internal("schedule_id invalid"))?;
    let Some(s) = store::schedules::get(conn, id, false).await? else {
        return Ok(false);
    };
    if !s.active
        || store::preferences::get(conn, &s.customer_id)
            .await?
            .reach()
            .silences(&s)
    {
        return Ok(false);
    }
    // Done, skipped or dismissed since. (A fixed schedule moves on to its
    // next occurrence by itself once this one's reminders are over: that
    // does not make them stale.)
    let dismissed = s.slot == r.occurrence && s.dismissed;
    Ok(!dismissed && !store::schedules::occurrence_closed(conn, id, r.occurrence).await?)
}

/// The JSON posted for a reminder: who, on which channels, the text, and
/// what it is about (for the app's buttons: snooze, dismiss, book).
pub fn message(r: &MaintenanceReminderDue) -> Result<Vec<u8>, String> {
    let notice = match r.kind.as_str() {
        "lead" => Notice::Lead,
        "due" => Notice::Due,
        "overdue" => Notice::Overdue,
        "appointment" if r.claim_id.is_empty() => Notice::Visit,
        "appointment" => Notice::Repair,
        other => return Err(format!("reminder kind {other:?} unknown")),
    };
    let zone: Tz = zone::parse(&r.time_zone).unwrap_or(Tz::UTC);
    let starts_at = match notice {
        Notice::Visit | Notice::Repair => Some(outbox::required_time(r.starts_at.as_ref(), "starts_at")?),
        Notice::Lead | Notice::Due | Notice::Overdue => None,
    };
    // A claim's visit has no due date: its day is the visit's.
    let due: NaiveDate = match starts_at {
        Some(at) if r.due_date.is_empty() => zone::local_date(at, zone),
        _ => r
            .due_date
            .parse()
            .map_err(|_| format!("due_date {:?} invalid", r.due_date))?,
    };
    let language = Language::of(&r.locale);
    let text = render(
        language,
        &Facts {
            notice,
            product: &r.product_name,
            task: &r.task_name,
            due,
            visit: starts_at.map(|at| (at, r.centre_name.as_str())),
            zone,
        },
    );
    let body = serde_json::json!({
        "id": r.reminder_id,
        "type": MESSAGE_TYPE,
        "customer_id": r.customer_id,
        "channels": r.channels,
        "language": match language { Language::Turkish => "tr", Language::English => "en" },
        "title": text.title,
        "body": text.body,
        "reminder": {
            "kind": r.kind,
            "schedule_id": r.schedule_id,
            "occurrence": r.occurrence,
            "task_id": r.task_id,
            "due_date": r.due_date,
            "appointment_id": (!r.appointment_id.is_empty()).then_some(&r.appointment_id),
            "claim_id": (!r.claim_id.is_empty()).then_some(&r.claim_id),
            "starts_at": starts_at.map(|at: DateTime<Utc>| at.to_rfc3339()),
        },
    });
    serde_json::to_vec(&body).map_err(|e| format!("reminder message: {e}"))
}
