//! Maintenance on the wire (`aftercare.maintenance.v1`).

use aftercare_platform::wire::timestamp;
use aftercare_proto::maintenance as pb;

use crate::domain::{Anchor, Appointment, Centre, Interval, Plan, Schedule, Summary, Task, VisitFor};
use crate::store::preferences::Preferences;

fn task(t: &Task) -> pb::MaintenanceTask {
    let (interval_days, interval_months) = match t.interval {
        Interval::Days(d) => (d as i32, 0),
        Interval::Months(m) => (0, m as i32),
    };
    pb::MaintenanceTask {
        task_id: t.task_id.clone(),
        name: t.name.clone(),
        interval_days,
        interval_months,
        anchor: match t.anchor {
            Anchor::Fixed => "fixed",
            Anchor::Completion => "completion",
        }
        .into(),
        lead_days: t.reminders.lead_days as i32,
        overdue_days: t.reminders.overdue_days as i32,
        max_reminders: t.reminders.max_per_occurrence as i32,
        usage_meter: t.usage.as_ref().map(|u| u.meter.clone()).unwrap_or_default(),
        usage_every: t.usage.as_ref().map_or(0, |u| u.threshold.every),
    }
}

pub fn plan(p: &Plan) -> pb::MaintenancePlan {
    pb::MaintenancePlan {
        category: p.category.clone(),
        sku: p.sku.clone(),
        version: p.version,
        name: p.name.clone(),
        tasks: p.tasks.iter().map(task).collect(),
        created_at: Some(timestamp(p.created_at)),
    }
}

pub fn schedule(s: &Schedule) -> pb::Schedule {
    summary(s.summary())
}

/// By value: a page's summaries move into the answer, not copied.
pub fn summary(s: Summary) -> pb::Schedule {
    pb::Schedule {
        schedule_id: s.schedule_id.to_string(),
        registration_id: s.registration_id.to_string(),
        customer_id: s.customer_id,
        sku: s.sku,
        product_name: s.product_name,
        task_id: s.task_id,
        task_name: s.task_name,
        occurrence: s.occurrence,
        due_date: s.due_date.to_string(),
        last_done_on: s.last_done_on.map(|d| d.to_string()).unwrap_or_default(),
        next_reminder_at: s.next_reminder_at.map(timestamp),
        snoozed_until: s.snoozed_until.map(timestamp),
        dismissed: s.dismissed,
    }
}

pub fn preferences(p: &Preferences) -> pb::Preferences {
    let hm = |t: aftercare_kernel::NaiveTime| t.format("%H:%M").to_string();
    pb::Preferences {
        customer_id: p.customer_id.clone(),
        time_zone: p.time_zone.map(|z| z.name().to_owned()).unwrap_or_default(),
        quiet_start: hm(p.hours.quiet.start),
        quiet_end: hm(p.hours.quiet.end),
        preferred_start: p.hours.preferred.map(|s| hm(s.start)).unwrap_or_default(),
        preferred_end: p.hours.preferred.map(|s| hm(s.end)).unwrap_or_default(),
        channels: p.channels.clone(),
        opted_out: p.opted_out,
        updated_at: p.updated_at.map(timestamp),
        daily_cap: p.daily_cap as i32,
        muted_registration_ids: p.muted_products.iter().map(|u| u.to_string()).collect(),
        muted_task_ids: p.muted_tasks.clone(),
        locale: p.locale.clone(),
    }
}

pub fn centre(c: &Centre) -> pb::Centre {
    let hm = |t: aftercare_kernel::NaiveTime| t.format("%H:%M").to_string();
    pb::Centre {
        centre_id: c.centre_id.clone(),
        name: c.name.clone(),
        time_zone: c.time_zone.name().to_owned(),
        opening: c
            .opening
            .iter()
            .map(|o| pb::Opening {
                weekday: o.weekday as i32,
                open: hm(o.open),
                close: hm(o.close),
            })
            .collect(),
        slot_minutes: c.slot_minutes as i32,
        capacity: c.capacity as i32,
        cancel_cutoff_hours: c.cancel_cutoff_hours as i32,
        updated_at: Some(timestamp(c.updated_at)),
    }
}

pub fn appointment(a: &Appointment) -> pb::Appointment {
    pb::Appointment {
        appointment_id: a.appointment_id.to_string(),
        centre_id: a.centre_id.clone(),
        starts_at: Some(timestamp(a.starts_at)),
        schedule_id: match &a.visit_for {
            VisitFor::Occurrence { schedule_id, .. } => schedule_id.to_string(),
            VisitFor::Claim { .. } => String::new(),
        },
        occurrence: match &a.visit_for {
            VisitFor::Occurrence { occurrence, .. } => *occurrence,
            VisitFor::Claim { .. } => 0,
        },
        claim_id: match &a.visit_for {
            VisitFor::Claim { claim_id } => claim_id.clone(),
            VisitFor::Occurrence { .. } => String::new(),
        },
        customer_id: a.customer_id.clone(),
        status: a.status.as_str().to_owned(),
        late: a.late,
        reschedules: a.reschedules,
        remind_at: a.remind_at.map(timestamp),
        booked_at: Some(timestamp(a.booked_at)),
    }
}
