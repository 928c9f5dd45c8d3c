//! The job sending reminders: schedules are claimed by their next
//! reminder's time (an index of pending reminders only) with `FOR UPDATE
//! SKIP LOCKED`; the reminder is recorded (unique per occurrence and kind)
//! and its event written in the same transaction, so any number of servers
//! send each reminder once, and a crash before the commit sends nothing.
//!
//! A reminder is only sent at a moment the customer may be contacted: one
//! due while they are in quiet hours (the job was down, they opted back in
//! at night, a completion moved it into the past) waits for the next
//! allowed moment. A fixed schedule whose occurrence passed with all its
//! reminders moves on to its next slot. Each schedule runs in its own
//! savepoint: one that fails is put back an hour, the others go on.
//!
//! Booked visits are reminded the same way, a day before (claimed by their
//! reminder's time, cleared with the event in one transaction); a visit
//! moved afterwards is reminded again for its new time.

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::outbox;

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use crate::domain::appointment::reminder_moment;
use crate::domain::{AppointmentId, ReminderId, ScheduleId};
use crate::events;
use crate::store;

/// Schedules per transaction; a full batch runs again at once.
pub const BATCH: i64 = 100;

/// How long a schedule that failed waits before it is tried again.
const RETRY_AFTER_MINUTES: i64 = 60;

pub struct Reminders {
    ctx: ServiceContext,
}

impl Reminders {
    pub fn new(ctx: ServiceContext) -> Arc<Reminders> {
        Arc::new(Reminders { ctx })
    }

    /// Sends what is due now for up to [`BATCH`] schedules; whether the
    /// batch was full.
    pub async fn run(&self) -> Result<bool, Error> {
        let now = self.ctx.clock.now();
        let mut tx = self.ctx.pool.begin().await?;
        let ids = store::schedules::reminders_due(&mut tx, now, BATCH).await?;
        let mut sent = 0;
        for id in &ids {
            let mut one = sqlx::Connection::begin(&mut *tx).await?;
            match remind(&mut one, *id, now).await {
                Ok(n) => {
                    one.commit().await?;
                    sent += n;
                }
                Err(e) => {
                    one.rollback().await?;
                    tracing::error!(schedule = %id, error = %e, "a schedule's reminder failed; retried later");
                    let later = now + Duration::minutes(RETRY_AFTER_MINUTES);
                    store::schedules::put_off(&mut tx, *id, later).await?;
                }
            }
        }
        let visits = store::appointments::reminders_due(&mut tx, now, BATCH).await?;
        for id in &visits {
            let mut one = sqlx::Connection::begin(&mut *tx).await?;
            match remind_visit(&mut one, *id, now).await {
                Ok(n) => {
                    one.commit().await?;
                    sent += n;
                }
                Err(e) => {
                    one.rollback().await?;
                    tracing::error!(appointment = %id, error = %e, "a visit's reminder failed; retried later");
                    let later = now + Duration::minutes(RETRY_AFTER_MINUTES);
                    store::appointments::put_off(&mut tx, *id, later).await?;
                }
            }
        }
        tx.commit().await?;
        if sent > 0 {
            self.ctx.outbox_wake.wake_all();
        }
        Ok(ids.len() as i64 == BATCH || visits.len() as i64 == BATCH)
    }
}

/// Sends a booked visit's reminder when the customer may be contacted now
/// (else it waits for the next allowed moment before the visit, or is
/// dropped when there is none). The reminders sent (0 or 1).
async fn remind_visit(conn: &mut PgConnection, id: AppointmentId, now: DateTime<Utc>) -> Result<usize, Error> {
    let mut a = store::appointments::get(conn, id, false)
        .await?
        .ok_or_else(|| Error::internal("a claimed appointment is gone"))?;
    let s = store::schedules::get(conn, a.schedule_id, false)
        .await?
        .ok_or_else(|| Error::internal("an appointment's schedule is gone"))?;
    let prefs = store::preferences::get(conn, &s.customer_id).await?;
    let reach = prefs.reach();
    let zone = s.zone(&reach);
    let allowed = reach.hours.next_allowed(now, zone);
    if allowed > now || reach.opted_out {
        a.remind_at = reminder_moment(a.starts_at, &reach.hours, zone, reach.opted_out, now);
        a.updated_at = now;
        store::appointments::update(conn, &a).await?;
        return Ok(0);
    }
    let centre = store::appointments::centre(conn, &a.centre_id)
        .await?
        .ok_or_else(|| Error::internal("an appointment's centre is gone"))?;
    let reminder = ReminderId::new();
    if !store::appointments::reminded(conn, id, reminder).await? {
        return Ok(0);
    }
    let event = events::appointment_reminder(&s, &a, &centre, reminder, &prefs.channels, now);
    outbox::enqueue(conn, &s.schedule_id.to_string(), &event, now).await?;
    Ok(1)
}

/// Sends the schedule's due reminder, if one is due and the customer may
/// be contacted now; sets when the next goes. The reminders sent (0 or 1).
async fn remind(conn: &mut PgConnection, id: ScheduleId, now: DateTime<Utc>) -> Result<usize, Error> {
    let mut s = store::schedules::get(conn, id, false)
        .await?
        .ok_or_else(|| Error::internal("a claimed schedule is gone"))?;
    let prefs = store::preferences::get(conn, &s.customer_id).await?;
    let reach = prefs.reach();
    let zone = s.zone(&reach);
    let already = store::schedules::sent(conn, s.schedule_id, s.slot).await?;
    let (due, mut next) = s.due_reminder(&reach, &already, now);
    let mut sent = 0;
    match due {
        Some(_) if reach.hours.next_allowed(now, zone) > now => {
            // Due, but not a moment to contact them: at the next one.
            next = Some(reach.hours.next_allowed(now, zone));
        }
        Some((kind, _)) => {
            let reminder = ReminderId::new();
            if store::schedules::insert_reminder(conn, reminder, &s, kind, now).await? {
                let event = events::reminder_due(&s, reminder, kind, &prefs.channels, now);
                outbox::enqueue(conn, &s.schedule_id.to_string(), &event, now).await?;
                sent = 1;
            }
        }
        None => {}
    }
    if next.is_none() && s.move_past_missed(zone::local_date(now, zone), now) {
        next = s.reminders_left(&reach, &[]).first().map(|(_, at)| *at);
    }
    s.next_reminder_at = next;
    s.updated_at = now;
    store::schedules::update(conn, &s).await?;
    Ok(sent)
}

impl Job for Reminders {
    fn name(&self) -> &'static str {
        "maintenance.reminders"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
