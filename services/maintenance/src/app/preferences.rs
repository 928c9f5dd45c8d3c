//! Contact preferences: replaced whole; every save is consent on record
//! (when, where from, by whom, opted in or out); every schedule's next
//! reminder, and every booked visit's, follows the new hours and zone.

use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;

use super::visits::visit_reach;
use super::{Maintenance, visible};
use crate::domain::VisitFor;
use crate::domain::appointment::reminder_moment;
use crate::store;
use crate::store::preferences::Preferences;

impl Maintenance {
    pub async fn preferences(&self, caller: &Caller, customer_id: &str) -> Result<Preferences, Error> {
        visible(caller, customer_id, "customer", customer_id)?;
        store::preferences::get(&mut *self.ctx.read().await?, customer_id).await
    }

    pub async fn update_preferences(
        &self,
        caller: &Caller,
        mut p: Preferences,
        source: &str,
    ) -> Result<Preferences, Error> {
        visible(caller, &p.customer_id, "customer", &p.customer_id)?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::preferences::put(uow.conn(), &p, now).await?;
        p.updated_at = Some(now);
        // Every save states the customer's consent as it now stands.
        store::preferences::consent(uow.conn(), caller, &p.customer_id, p.opted_out, source, now).await?;
        // Others who message the customer (surveys) follow the same hours.
        let changed = crate::events::preferences_changed(&p, now);
        uow.emit(&format!("preferences:{}", p.customer_id), &changed).await?;
        // The next reminder of every schedule moves with the hours and the
        // zone; an opted-out customer has none.
        let reach = p.reach();
        let schedules = store::schedules::of_customer(uow.conn(), &p.customer_id).await?;
        for s in &schedules {
            let mut s = s.clone();
            let sent = store::schedules::sent(uow.conn(), s.schedule_id, s.slot).await?;
            s.next_reminder_at = s.next_wake(&reach, &sent);
            s.updated_at = now;
            store::schedules::update(uow.conn(), &s).await?;
        }
        // So do the reminders of booked visits not reminded yet.
        for mut a in store::appointments::unreminded(uow.conn(), &p.customer_id, now).await? {
            a.remind_at = match &a.visit_for {
                VisitFor::Occurrence { schedule_id, .. } => {
                    let Some(s) = schedules.iter().find(|s| s.schedule_id == *schedule_id) else {
                        continue;
                    };
                    reminder_moment(a.starts_at, &reach.hours, s.zone(&reach), reach.silences(s), now)
                }
                // Read after the save: the new preferences.
                VisitFor::Claim { .. } => visit_reach(uow.conn(), &a.visit_for)
                    .await?
                    .reminder_at(a.starts_at, now),
            };
            a.updated_at = now;
            store::appointments::update(uow.conn(), &a).await?;
        }
        uow.commit().await?;
        Ok(p)
    }
}
