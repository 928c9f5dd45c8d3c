//! The job sending reminders: schedules are claimed by their next
//! reminder's time (an index of pending reminders only) with `FOR UPDATE
//! SKIP LOCKED`; the reminder is recorded (unique per occurrence and kind)
//! and its event written in the same transaction, so any number of servers
//! send each reminder once, and a crash before the commit sends nothing.

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::outbox;

use crate::domain::ReminderId;
use crate::events;
use crate::store;

/// Schedules per transaction; a full batch runs again at once.
pub const BATCH: i64 = 500;

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
            let mut s = store::schedules::get(&mut tx, *id, false)
                .await?
                .ok_or_else(|| Error::internal("a claimed schedule is gone"))?;
            let prefs = store::preferences::get(&mut tx, &s.customer_id).await?;
            let already = store::schedules::sent(&mut tx, s.schedule_id, s.slot).await?;
            let (due, next) = s.due_reminder(&prefs.reach(), &already, now);
            if let Some((kind, at)) = due {
                let reminder = ReminderId::new();
                if store::schedules::insert_reminder(&mut tx, reminder, &s, kind, now).await? {
                    let event = events::reminder_due(&s, reminder, kind, &prefs.channels, at);
                    outbox::enqueue(&mut tx, &s.schedule_id.to_string(), &event, now).await?;
                    sent += 1;
                }
            }
            s.next_reminder_at = next;
            s.updated_at = now;
            store::schedules::update(&mut tx, &s).await?;
        }
        tx.commit().await?;
        if sent > 0 {
            self.ctx.outbox_wake.notify_one();
        }
        Ok(ids.len() as i64 == BATCH)
    }
}

impl Job for Reminders {
    fn name(&self) -> &'static str {
        "maintenance.reminders"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
