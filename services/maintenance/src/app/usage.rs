//! Meter readings (hours, cycles, km) from the customer or a device: a
//! task with a usage threshold falls due when its meter has run that far
//! since the occurrence began, or at its date, whichever comes first.

use aftercare_kernel::zone;
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Maintenance, visible};
use crate::domain::{MaintenanceError, Schedule};
use crate::store;

/// A reading of one of a product's meters.
pub struct Reading {
    pub registration_id: Uuid,
    pub meter: String,
    pub value: i64,
}

impl Maintenance {
    /// Records a reading (never lower than the last) and brings forward
    /// the occurrences it makes due; the product's schedules after it.
    pub async fn report_usage(&self, caller: &Caller, r: Reading) -> Result<Vec<Schedule>, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let owner = store::products::owner(uow.conn(), r.registration_id)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("product", r.registration_id.to_string()))?;
        visible(caller, &owner, "product", r.registration_id)?;
        let lower = || {
            Error::invalid(
                "value",
                "must not be below the meter's last reading (a reading never goes down)",
            )
        };
        // Only the meters the product's tasks count (a device cannot fill
        // the table with names of its own).
        let mut schedules = store::schedules::of_product(uow.conn(), r.registration_id).await?;
        if !schedules
            .iter()
            .any(|s| s.task.usage.as_ref().is_some_and(|u| u.meter == r.meter))
        {
            return Err(Error::invalid(
                "meter",
                "is not a meter any of the product's tasks counts",
            ));
        }
        let last = store::meters::reading(uow.conn(), r.registration_id, &r.meter, true).await?;
        if last.is_some_and(|last| r.value < last) {
            return Err(lower());
        }
        // A report racing this one for a new meter: the higher one wins.
        if !store::meters::put(uow.conn(), r.registration_id, &r.meter, r.value, now).await? {
            return Err(lower());
        }
        let reach = store::preferences::get(uow.conn(), &owner).await?.reach();
        for s in &mut schedules {
            let today = zone::local_date(now, s.zone(&reach));
            if s.reading(&r.meter, r.value, today, now) {
                let sent = store::schedules::sent(uow.conn(), s.schedule_id, s.slot).await?;
                s.next_reminder_at = s.next_wake(&reach, &sent);
                store::schedules::update(uow.conn(), s).await?;
            }
        }
        uow.commit().await?;
        Ok(schedules)
    }
}

/// A new occurrence counts its task's meter from the reading now.
pub(crate) async fn rebase(conn: &mut PgConnection, s: &mut Schedule) -> Result<(), Error> {
    if let Some(usage) = &s.task.usage {
        s.usage_base = store::meters::reading(conn, s.registration_id, &usage.meter, false).await?;
    }
    Ok(())
}
