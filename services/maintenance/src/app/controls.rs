//! What a customer does with reminders: snooze or dismiss the ones of an
//! occurrence (by the id of a reminder they got), or skip an occurrence.

use aftercare_kernel::{DateTime, Utc, zone};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::{Replay, UnitOfWork};

use super::{Maintenance, visible};
use crate::domain::{MaintenanceError, ReminderId, Schedule, ScheduleId};
use crate::events;
use crate::store;

/// How long a snooze lasts.
pub enum Snooze {
    Until(DateTime<Utc>),
    Days(i64),
}

impl Maintenance {
    /// Puts off the reminders of the occurrence `reminder` was about.
    pub async fn snooze(&self, caller: &Caller, reminder: ReminderId, how: Snooze) -> Result<Schedule, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut s = of_reminder(&mut uow, caller, reminder).await?;
        let until = match how {
            Snooze::Until(at) => at,
            Snooze::Days(d) => now + aftercare_kernel::Duration::days(d),
        };
        s.snooze(until, now)?;
        self.replan(&mut uow, &mut s).await?;
        uow.commit().await?;
        Ok(s)
    }

    /// No more reminders of the occurrence `reminder` was about.
    pub async fn dismiss(&self, caller: &Caller, reminder: ReminderId) -> Result<Schedule, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut s = of_reminder(&mut uow, caller, reminder).await?;
        s.dismiss(now);
        self.replan(&mut uow, &mut s).await?;
        uow.commit().await?;
        Ok(s)
    }

    /// Skips the schedule's current occurrence without the work.
    pub async fn skip(&self, caller: &Caller, id: ScheduleId, request_id: &str) -> Result<Schedule, Error> {
        let mut uow = self.ctx.begin().await?;
        let scope = "maintenance.SkipOccurrence";
        let answer = *id.as_uuid().as_bytes();
        if let Replay::Stored(_) = uow
            .claim_answered(scope, caller, "request_id", request_id, &answer, &answer)
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
        if !s.active {
            return Err(MaintenanceError::ScheduleEnded.into());
        }
        let (slot, due) = (s.slot, s.due_date);
        if store::appointments::booked_for(uow.conn(), id, slot).await? {
            return Err(MaintenanceError::VisitBooked.into());
        }
        if !s.skip(now) {
            return Err(MaintenanceError::ScheduleEnded.into());
        }
        super::usage::rebase(uow.conn(), &mut s).await?;
        store::schedules::record_skip(uow.conn(), id, slot, due, caller, now).await?;
        self.replan(&mut uow, &mut s).await?;
        uow.emit(&id.to_string(), &events::skipped(&s, slot, due)).await?;
        uow.commit().await?;
        Ok(s)
    }

    /// Writes `s` with its next reminder planned anew.
    async fn replan(&self, uow: &mut UnitOfWork<'_>, s: &mut Schedule) -> Result<(), Error> {
        let reach = store::preferences::get(uow.conn(), &s.customer_id).await?.reach();
        let sent = store::schedules::sent(uow.conn(), s.schedule_id, s.slot).await?;
        s.next_reminder_at = s.next_wake(&reach, &sent);
        // A fixed occurrence skipped long ago may still lie in the past.
        let today = zone::local_date(uow.now(), s.zone(&reach));
        if s.next_reminder_at.is_none() && s.move_past_missed(today, uow.now()) {
            s.next_reminder_at = s.reminders_left(&reach, &[]).first().map(|(_, at)| *at);
        }
        store::schedules::update(uow.conn(), s).await
    }
}

/// The schedule a reminder was about, locked, if the caller may act on it
/// and the reminder's occurrence is still the current one.
async fn of_reminder(uow: &mut UnitOfWork<'_>, caller: &Caller, reminder: ReminderId) -> Result<Schedule, Error> {
    let not_found = || MaintenanceError::not_found("reminder", reminder.to_string());
    let (id, slot) = store::schedules::reminder(uow.conn(), reminder)
        .await?
        .ok_or_else(not_found)?;
    let s = store::schedules::get(uow.conn(), id, true)
        .await?
        .ok_or_else(not_found)?;
    if !caller.may_see_customer(&s.customer_id) {
        return Err(not_found().into());
    }
    if !s.active {
        return Err(MaintenanceError::ScheduleEnded.into());
    }
    if s.slot != slot {
        return Err(MaintenanceError::ReminderStale.into());
    }
    Ok(s)
}
