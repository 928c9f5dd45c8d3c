//! Schedules: made from registered products (one per task of the plan in
//! force), read by their customer and staff, and completed.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::outbox;
use aftercare_platform::paging;
use aftercare_platform::uow::Replay;
use sqlx::PgConnection;

use super::{Maintenance, visible};
use crate::domain::{MaintenanceError, Product, Schedule, ScheduleId, Summary};
use crate::events;
use crate::store;

/// Keeps a newly registered product and schedules every task of the plan
/// in force for it (none without a plan: writing one later schedules it).
/// A replacement carries on its old unit's schedules (their occurrence,
/// due date, last service and booked visits), which end. A product known before (its
/// event delivered again) changes nothing.
pub async fn schedule_product(conn: &mut PgConnection, p: Product, now: DateTime<Utc>) -> Result<(), Error> {
    if !store::products::insert(conn, &p, now).await? {
        return Ok(());
    }
    let carried = match p.replaces {
        Some(old) => {
            store::products::deactivate(conn, old).await?;
            store::schedules::end_for(conn, old, now).await?
        }
        None => Vec::new(),
    };
    schedule_tasks(conn, &p, &carried, now).await.map(drop)
}

/// Schedules the tasks of the plan in force for `p` it has no schedule
/// for, and announces them; how many.
pub(crate) async fn schedule_tasks(
    conn: &mut PgConnection,
    p: &Product,
    carried: &[Schedule],
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    let Some(plan) = store::plans::in_force(conn, &p.category, &p.sku).await? else {
        return Ok(0);
    };
    let reach = store::preferences::get(conn, &p.customer_id).await?.reach();
    let start = zone::local_date(p.starts_at, p.time_zone);
    let today = zone::local_date(now, reach.time_zone.unwrap_or(p.time_zone));
    let mut schedules = Vec::new();
    for task in &plan.tasks {
        let mut s = Schedule {
            schedule_id: ScheduleId::new(),
            registration_id: p.registration_id,
            customer_id: p.customer_id.clone(),
            sku: p.sku.clone(),
            product_name: p.product_name.clone(),
            plan: (plan.category.clone(), plan.sku.clone(), plan.version),
            task: task.clone(),
            time_zone: p.time_zone,
            start_date: start,
            slot: 1,
            due_date: start,
            last_done_on: None,
            next_reminder_at: None,
            snoozed_until: None,
            snoozes: 0,
            dismissed: false,
            usage_base: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        match carried.iter().find(|old| old.task.task_id == task.task_id) {
            Some(old) => {
                (s.start_date, s.slot, s.due_date) = (old.start_date, old.slot, old.due_date);
                s.last_done_on = old.last_done_on;
            }
            None => {
                let Some((_, due)) = s.recurrence().first() else {
                    tracing::warn!(task = %task.task_id, "a task with no first due date is not scheduled");
                    continue;
                };
                s.due_date = due;
                // A product registered late starts at its first slot to come.
                s.move_past_missed(today, now);
            }
        }
        // Its meter counts from the product's reading now.
        super::usage::rebase(conn, &mut s).await?;
        s.next_reminder_at = s.reminders_left(&reach, &[]).first().map(|(_, at)| *at);
        schedules.push(s);
    }
    let written = store::schedules::insert_new(conn, &schedules).await?;
    for s in schedules.iter().filter(|s| written.contains(&s.schedule_id)) {
        outbox::enqueue(conn, &s.schedule_id.to_string(), &events::scheduled(s), now).await?;
        // A visit booked for the old unit's occurrence is the new one's.
        if let Some(old) = carried.iter().find(|old| old.task.task_id == s.task.task_id) {
            store::appointments::move_visits(conn, old.schedule_id, s.schedule_id).await?;
        }
    }
    Ok(written.len())
}

/// A page of schedules.
pub struct SchedulePage {
    pub schedules: Vec<Summary>,
    pub next_page_token: String,
}

/// Completing an occurrence.
pub struct Completion {
    pub done_on: NaiveDate,
    pub notes: String,
    pub request_id: String,
}

impl Maintenance {
    pub async fn schedule(&self, caller: &Caller, id: ScheduleId) -> Result<Schedule, Error> {
        let s = store::schedules::get(&mut *self.ctx.read().await?, id, false)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("schedule", id.to_string()))?;
        visible(caller, &s.customer_id, "schedule", id)?;
        Ok(s)
    }

    /// A customer's upcoming maintenance, soonest first.
    pub async fn schedules(
        &self,
        caller: &Caller,
        customer_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<SchedulePage, Error> {
        visible(caller, customer_id, "customer", customer_id)?;
        let limit = paging::page_size(page_size)?;
        let query = format!("schedules:{customer_id}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut schedules = store::summaries::list(&mut conn, customer_id, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut schedules, limit, &query, |s| {
            (zone::start_of_day(s.due_date, Tz::UTC), s.schedule_id.to_string())
        });
        Ok(SchedulePage {
            schedules,
            next_page_token,
        })
    }

    /// Completes the schedule's current occurrence: the next one is due an
    /// interval after the work, or at the first fixed slot after it.
    pub async fn record_service(&self, caller: &Caller, id: ScheduleId, c: Completion) -> Result<Schedule, Error> {
        let mut uow = self.ctx.begin().await?;
        let request = format!("{id}\u{0}{}\u{0}{}", c.done_on, c.notes);
        if let Replay::Stored(_) = uow
            .claim_answered(
                "maintenance.RecordService",
                caller,
                "request_id",
                &c.request_id,
                request.as_bytes(),
                id.as_uuid().as_bytes(),
            )
            .await?
        {
            return store::schedules::get(uow.conn(), id, false)
                .await?
                .ok_or_else(|| Error::internal("a stored schedule is gone"));
        }
        let now = uow.now();
        let mut s = store::schedules::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("schedule", id.to_string()))?;
        visible(caller, &s.customer_id, "schedule", id)?;
        let reach = store::preferences::get(uow.conn(), &s.customer_id).await?.reach();
        let today = zone::local_date(now, s.zone(&reach));
        if c.done_on > today {
            return Err(Error::invalid("done_on", "must not be in the future"));
        }
        if c.done_on < s.start_date {
            return Err(Error::invalid("done_on", "must not be before the product's first day"));
        }
        // The same visit recorded twice (the customer and a technician)
        // must not skip an occurrence, nor an older one move it back.
        match s.last_done_on {
            Some(last) if c.done_on < last => {
                return Err(Error::invalid(
                    "done_on",
                    "must not be before the last service recorded",
                ));
            }
            Some(last) if c.done_on == last => return Err(MaintenanceError::AlreadyRecorded.into()),
            _ => {}
        }
        let slot = s.slot;
        if !s.complete(c.done_on, now) {
            return Err(MaintenanceError::ScheduleEnded.into());
        }
        super::usage::rebase(uow.conn(), &mut s).await?;
        s.next_reminder_at = s.reminders_left(&reach, &[]).first().map(|(_, at)| *at);
        store::schedules::record_service(uow.conn(), &s, slot, c.done_on, caller, &c.notes, now).await?;
        store::schedules::update(uow.conn(), &s).await?;
        uow.emit(&id.to_string(), &events::completed(&s, slot)).await?;
        uow.commit().await?;
        Ok(s)
    }
}
