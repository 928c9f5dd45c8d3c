//! The events maintenance emits (`aftercare.maintenance.events.v1`): the
//! notifier follows `MaintenanceReminderDue`.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::wire::timestamp;
use aftercare_proto::maintenance_events as pb;

use crate::app::visits::VisitReach;
use crate::domain::{Appointment, Centre, ReminderId, ReminderKind, Schedule, VisitFor};
use crate::store::preferences::Preferences;

pub fn scheduled(s: &Schedule) -> pb::MaintenanceScheduled {
    pb::MaintenanceScheduled {
        schedule_id: s.schedule_id.to_string(),
        registration_id: s.registration_id.to_string(),
        customer_id: s.customer_id.clone(),
        task_id: s.task.task_id.clone(),
        due_date: s.due_date.to_string(),
    }
}

/// A reminder to `prefs`' customer, in their language and zone.
pub fn reminder_due(
    s: &Schedule,
    id: ReminderId,
    kind: ReminderKind,
    prefs: &Preferences,
    send_at: DateTime<Utc>,
) -> pb::MaintenanceReminderDue {
    pb::MaintenanceReminderDue {
        reminder_id: id.to_string(),
        schedule_id: s.schedule_id.to_string(),
        customer_id: s.customer_id.clone(),
        task_id: s.task.task_id.clone(),
        task_name: s.task.name.clone(),
        product_name: s.product_name.clone(),
        occurrence: s.slot,
        kind: kind.as_str().to_owned(),
        due_date: s.due_date.to_string(),
        channels: prefs.channels.clone(),
        send_at: Some(timestamp(send_at)),
        appointment_id: String::new(),
        starts_at: None,
        centre_name: String::new(),
        locale: prefs.locale.clone(),
        time_zone: prefs.time_zone.unwrap_or(s.time_zone).name().to_owned(),
        claim_id: String::new(),
    }
}

/// The occurrence `s` is on is overdue; `reminder` is its overdue reminder.
pub fn overdue(s: &Schedule, reminder: ReminderId) -> pb::MaintenanceOverdue {
    pb::MaintenanceOverdue {
        schedule_id: s.schedule_id.to_string(),
        customer_id: s.customer_id.clone(),
        task_id: s.task.task_id.clone(),
        occurrence: s.slot,
        due_date: s.due_date.to_string(),
        reminder_id: reminder.to_string(),
    }
}

pub fn completed(s: &Schedule, occurrence: i32) -> pb::MaintenanceCompleted {
    pb::MaintenanceCompleted {
        schedule_id: s.schedule_id.to_string(),
        customer_id: s.customer_id.clone(),
        task_id: s.task.task_id.clone(),
        occurrence,
        done_on: s.last_done_on.map(|d| d.to_string()).unwrap_or_default(),
        next_due_date: s.due_date.to_string(),
        skipped: false,
    }
}

/// An occurrence skipped: "completed" without the work, on its due date.
pub fn skipped(s: &Schedule, occurrence: i32, due: aftercare_kernel::NaiveDate) -> pb::MaintenanceCompleted {
    pb::MaintenanceCompleted {
        done_on: due.to_string(),
        skipped: true,
        ..completed(s, occurrence)
    }
}

/// A visit's (schedule, occurrence, claim) as the wire has them.
fn visit_for(a: &Appointment) -> (String, i32, String) {
    match &a.visit_for {
        VisitFor::Occurrence {
            schedule_id,
            occurrence,
        } => (schedule_id.to_string(), *occurrence, String::new()),
        VisitFor::Claim { claim_id } => (String::new(), 0, claim_id.clone()),
    }
}

pub fn booked(a: &Appointment, previous: Option<DateTime<Utc>>) -> pb::AppointmentBooked {
    let (schedule_id, occurrence, claim_id) = visit_for(a);
    pb::AppointmentBooked {
        appointment_id: a.appointment_id.to_string(),
        schedule_id,
        customer_id: a.customer_id.clone(),
        centre_id: a.centre_id.clone(),
        occurrence,
        starts_at: Some(timestamp(a.starts_at)),
        previous_starts_at: previous.map(timestamp),
        claim_id,
    }
}

pub fn canceled(a: &Appointment, by: &str) -> pb::AppointmentCanceled {
    let (schedule_id, _, claim_id) = visit_for(a);
    pb::AppointmentCanceled {
        appointment_id: a.appointment_id.to_string(),
        schedule_id,
        claim_id,
        customer_id: a.customer_id.clone(),
        centre_id: a.centre_id.clone(),
        starts_at: Some(timestamp(a.starts_at)),
        late: a.late,
        by: by.to_owned(),
    }
}

/// The reminder of a booked visit, a day before it; `reach` is what the
/// visit is about and how its customer is reached.
pub fn appointment_reminder(
    a: &Appointment,
    c: &Centre,
    id: ReminderId,
    reach: &VisitReach,
    send_at: DateTime<Utc>,
) -> pb::MaintenanceReminderDue {
    let (schedule_id, occurrence, claim_id) = visit_for(a);
    let task_id = match &a.visit_for {
        VisitFor::Occurrence { .. } => reach.task_id.clone(),
        VisitFor::Claim { .. } => String::new(),
    };
    pb::MaintenanceReminderDue {
        reminder_id: id.to_string(),
        schedule_id,
        customer_id: a.customer_id.clone(),
        task_id,
        task_name: reach.task_name.clone(),
        product_name: reach.product_name.clone(),
        occurrence,
        kind: "appointment".into(),
        due_date: reach.due_date.clone(),
        channels: reach.prefs.channels.clone(),
        send_at: Some(timestamp(send_at)),
        appointment_id: a.appointment_id.to_string(),
        starts_at: Some(timestamp(a.starts_at)),
        centre_name: c.name.clone(),
        locale: reach.prefs.locale.clone(),
        // The visit's time as the centre's clocks show it: where it is.
        time_zone: c.time_zone.name().to_owned(),
        claim_id,
    }
}

/// The preferences as saved, for the services that message customers.
pub fn preferences_changed(p: &Preferences, at: DateTime<Utc>) -> pb::ContactPreferencesChanged {
    let hm = |t: aftercare_kernel::NaiveTime| t.format("%H:%M").to_string();
    pb::ContactPreferencesChanged {
        customer_id: p.customer_id.clone(),
        time_zone: p.time_zone.map(|tz| tz.name().to_owned()).unwrap_or_default(),
        quiet_start: hm(p.hours.quiet.start),
        quiet_end: hm(p.hours.quiet.end),
        preferred_start: p.hours.preferred.map(|s| hm(s.start)).unwrap_or_default(),
        preferred_end: p.hours.preferred.map(|s| hm(s.end)).unwrap_or_default(),
        channels: p.channels.clone(),
        opted_out: p.opted_out,
        locale: p.locale.clone(),
        updated_at: Some(timestamp(at)),
    }
}
