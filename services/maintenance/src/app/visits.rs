//! What a visit is for, seen from outside a booking: how its customer is
//! reached about it (their hours and zone, whether they are silenced) and
//! what it is about, for its reminder; and a claim closing, which cancels
//! the claim's visit.

use aftercare_kernel::zone::Tz;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::outbox;
use sqlx::PgConnection;

use crate::domain::appointment::reminder_moment;
use crate::domain::{MaintenanceError, Schedule, VisitFor};
use crate::events;
use crate::store;
use crate::store::preferences::Preferences;

/// How a visit's customer may be reached about it, and what it is about.
pub struct VisitReach {
    pub prefs: Preferences,
    /// The zone their days are in (theirs, else the product's).
    pub zone: Tz,
    /// Opted out, or the product or task muted.
    pub silenced: bool,
    pub product_name: String,
    /// The task and the occurrence's due date; empty for a claim's visit.
    pub task_id: String,
    pub task_name: String,
    pub due_date: String,
}

impl VisitReach {
    pub(super) fn of_schedule(s: &Schedule, prefs: Preferences) -> VisitReach {
        let reach = prefs.reach();
        VisitReach {
            zone: s.zone(&reach),
            silenced: reach.silences(s),
            product_name: s.product_name.clone(),
            task_id: s.task.task_id.clone(),
            task_name: s.task.name.clone(),
            due_date: s.due_date.to_string(),
            prefs,
        }
    }

    /// When the reminder of a visit at `start` goes out.
    pub fn reminder_at(&self, start: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        reminder_moment(start, &self.prefs.hours, self.zone, self.silenced, now)
    }
}

/// [`VisitReach`] of a visit for `visit_for`.
pub async fn visit_reach(conn: &mut PgConnection, visit_for: &VisitFor) -> Result<VisitReach, Error> {
    match visit_for {
        VisitFor::Occurrence { schedule_id, .. } => {
            let (s, prefs) = store::schedules::get_with_preferences(conn, *schedule_id, false)
                .await?
                .ok_or_else(|| Error::internal("an appointment's schedule is gone"))?;
            Ok(VisitReach::of_schedule(&s, prefs))
        }
        VisitFor::Claim { claim_id } => {
            let claim = store::claims::get(conn, claim_id, false)
                .await?
                .ok_or_else(|| Error::internal("an appointment's claim is gone"))?;
            claim_reach(conn, &claim).await
        }
    }
}

/// A claim closed (rejected, canceled, resolved): its booked visit, when it
/// has not begun, is canceled (not late, by "system"), its seat freed.
/// Run by the claims consumer in the transaction that closes the claim.
pub async fn claim_closed(conn: &mut PgConnection, claim_id: &str, now: DateTime<Utc>) -> Result<(), Error> {
    let Some(mut a) = store::appointments::booked_for_claim(conn, claim_id).await? else {
        return Ok(());
    };
    if now >= a.starts_at {
        // Under way: the centre marks how it went.
        return Ok(());
    }
    a.cancel(a.starts_at, now)?;
    store::centres::free_seat(conn, &a.centre_id, a.starts_at).await?;
    store::appointments::update(conn, &a).await?;
    outbox::enqueue(conn, &a.visit_for.aggregate(), &events::canceled(&a, "system"), now).await?;
    Ok(())
}

pub(super) async fn claim_reach(conn: &mut PgConnection, claim: &store::claims::Claim) -> Result<VisitReach, Error> {
    let product = store::products::get(conn, claim.registration_id)
        .await?
        .ok_or_else(|| MaintenanceError::ProductUnknown(claim.registration_id.to_string()))?;
    let prefs = store::preferences::get(conn, &claim.customer_id).await?;
    Ok(VisitReach {
        zone: prefs.time_zone.unwrap_or(product.time_zone),
        silenced: prefs.opted_out || prefs.muted_products.contains(&claim.registration_id),
        product_name: product.product_name,
        task_id: String::new(),
        task_name: String::new(),
        due_date: String::new(),
        prefs,
    })
}
