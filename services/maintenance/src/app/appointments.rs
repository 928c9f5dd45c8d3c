//! Service centres and visits: slots with their seats left, booking a seat
//! for a schedule's occurrence or a warranty claim (the database keeps a
//! slot within its seats), moving, canceling, and the visit's outcome
//! (missed, or done, which completes an occurrence).

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::paging;
use aftercare_platform::uow::{Replay, UnitOfWork};

use super::visits::{VisitReach, claim_reach, visit_reach};
use super::{Maintenance, visible};
use crate::domain::{Appointment, AppointmentId, AppointmentStatus, Centre, MaintenanceError, ScheduleId, VisitFor};
use crate::events;
use crate::store;
use crate::store::appointments::Of;
use crate::store::centres::Seat;

/// What a visit is booked for.
pub enum Target {
    Schedule(ScheduleId),
    Claim(String),
}

/// A request to book a visit.
pub struct Booking {
    pub target: Target,
    pub centre_id: String,
    pub starts_at: DateTime<Utc>,
    pub request_id: String,
}

pub struct AppointmentPage {
    pub appointments: Vec<Appointment>,
    pub next_page_token: String,
}

/// A partner reaches its own centre's visits only; a customer their own.
/// Anything else is as absent as a missing one.
fn reachable(caller: &Caller, a: &Appointment) -> Result<(), Error> {
    let ok = match caller.role {
        Role::Partner => caller.subject == a.centre_id,
        _ => caller.may_see_customer(&a.customer_id),
    };
    if ok {
        Ok(())
    } else {
        Err(MaintenanceError::not_found("appointment", a.appointment_id.to_string()).into())
    }
}

/// The centre, locked against an admin's edit while a seat is taken.
async fn centre(uow: &mut UnitOfWork<'_>, id: &str) -> Result<Centre, Error> {
    store::centres::centre(uow.conn(), id, true)
        .await?
        .ok_or_else(|| MaintenanceError::not_found("centre", id).into())
}

/// Claims the call's request id with the appointment `id` as its answer;
/// on a replay, the appointment the first call answered, as it is now.
async fn replay(
    uow: &mut UnitOfWork<'_>,
    scope: &str,
    caller: &Caller,
    request_id: &str,
    request: &[u8],
    id: AppointmentId,
) -> Result<Option<Appointment>, Error> {
    let answer = *id.as_uuid().as_bytes();
    let Replay::Stored(stored) = uow
        .claim_answered(scope, caller, "request_id", request_id, request, &answer)
        .await?
    else {
        return Ok(None);
    };
    let id = uuid::Uuid::from_slice(&stored).map_err(|_| Error::internal("a stored answer is not an id"))?;
    store::appointments::get(uow.conn(), AppointmentId::from_uuid(id), false)
        .await?
        .map(Some)
        .ok_or_else(|| Error::internal("a stored appointment is gone"))
}

/// `start` is one of the centre's slots, and to come.
fn bookable(c: &Centre, start: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Error> {
    if start <= now {
        return Err(Error::invalid("starts_at", "must be in the future"));
    }
    if !c.offers(start) {
        return Err(Error::invalid(
            "starts_at",
            "is not the start of one of the centre's slots",
        ));
    }
    Ok(())
}

impl Maintenance {
    /// Writes a centre. Its zone, slots and hours may change only as long
    /// as every booked visit to come stays on one of its slots.
    pub async fn upsert_centre(&self, mut c: Centre) -> Result<Centre, Error> {
        let mut uow = self.ctx.begin().await?;
        c.updated_at = uow.now();
        if store::centres::lock_centre(uow.conn(), &c.centre_id).await? {
            let booked = store::centres::booked_starts(uow.conn(), &c.centre_id, c.updated_at).await?;
            if let Some(off) = booked.iter().find(|start| !c.offers(**start)) {
                return Err(MaintenanceError::BookingsOffGrid(off.to_rfc3339()).into());
            }
        }
        store::centres::upsert_centre(uow.conn(), &c, c.updated_at).await?;
        uow.commit().await?;
        Ok(c)
    }

    pub async fn centres(&self) -> Result<Vec<Centre>, Error> {
        store::centres::centres(&mut *self.ctx.read().await?).await
    }

    /// A centre's slots starting in `[from, to)` and not yet begun, with
    /// their seats left.
    pub async fn slots(
        &self,
        centre_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u32)>, Error> {
        let mut conn = self.ctx.read().await?;
        let c = store::centres::centre(&mut conn, centre_id, false)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("centre", centre_id))?;
        let from = from.max(self.ctx.clock.now());
        let booked = store::centres::booked(&mut conn, centre_id, from, to).await?;
        Ok(c.slots(from, to)
            .into_iter()
            .map(|start| {
                let left = match booked.iter().find(|(at, ..)| *at == start) {
                    Some((_, capacity, booked)) => (capacity - booked).max(0).unsigned_abs(),
                    None => c.capacity,
                };
                (start, left)
            })
            .collect())
    }

    /// Books a seat for the schedule's current occurrence.
    pub async fn book(&self, caller: &Caller, b: Booking) -> Result<Appointment, Error> {
        let mut uow = self.ctx.begin().await?;
        let id = AppointmentId::new();
        let target = match &b.target {
            Target::Schedule(id) => id.to_string(),
            Target::Claim(id) => format!("claim:{id}"),
        };
        let request = format!("{target}\u{0}{}\u{0}{}", b.centre_id, b.starts_at.to_rfc3339());
        if let Some(a) = replay(
            &mut uow,
            "maintenance.BookAppointment",
            caller,
            &b.request_id,
            request.as_bytes(),
            id,
        )
        .await?
        {
            return Ok(a);
        }
        let now = uow.now();
        // The schedule's (or claim's) lock orders bookings for it.
        let (visit_for, customer_id, reach) = match &b.target {
            Target::Schedule(schedule_id) => {
                let (s, prefs) = store::schedules::get_with_preferences(uow.conn(), *schedule_id, true)
                    .await?
                    .ok_or_else(|| MaintenanceError::not_found("schedule", schedule_id.to_string()))?;
                visible(caller, &s.customer_id, "schedule", schedule_id)?;
                if !s.active {
                    return Err(MaintenanceError::ScheduleEnded.into());
                }
                let visit_for = VisitFor::Occurrence {
                    schedule_id: s.schedule_id,
                    occurrence: s.slot,
                };
                (visit_for, s.customer_id.clone(), VisitReach::of_schedule(&s, prefs))
            }
            Target::Claim(claim_id) => {
                let claim = store::claims::get(uow.conn(), claim_id, true)
                    .await?
                    .ok_or_else(|| MaintenanceError::not_found("claim", claim_id))?;
                visible(caller, &claim.customer_id, "claim", claim_id)?;
                if !claim.open {
                    return Err(MaintenanceError::ClaimClosed.into());
                }
                if !claim.takes_visits() {
                    return Err(MaintenanceError::ClaimNotApproved.into());
                }
                let reach = claim_reach(uow.conn(), &claim).await?;
                let visit_for = VisitFor::Claim {
                    claim_id: claim.claim_id.clone(),
                };
                (visit_for, claim.customer_id, reach)
            }
        };
        let c = self.take_seat(&mut uow, &b.centre_id, b.starts_at).await?;
        let a = Appointment {
            appointment_id: id,
            centre_id: c.centre_id.clone(),
            starts_at: b.starts_at,
            visit_for,
            customer_id,
            status: AppointmentStatus::Booked,
            late: false,
            reschedules: 0,
            remind_at: reach.reminder_at(b.starts_at, now),
            booked_at: now,
            updated_at: now,
        };
        if !store::appointments::insert(uow.conn(), &a).await? {
            return Err(MaintenanceError::AlreadyBooked.into());
        }
        uow.emit(&a.visit_for.aggregate(), &events::booked(&a, None)).await?;
        uow.commit().await?;
        Ok(a)
    }

    /// Takes a seat of the slot at `start` in the centre as this server
    /// keeps it, or as it is now when it was edited since.
    async fn take_seat(
        &self,
        uow: &mut UnitOfWork<'_>,
        centre_id: &str,
        start: DateTime<Utc>,
    ) -> Result<Centre, Error> {
        let now = uow.now();
        let mut kept = self.centres.get(uow.conn(), centre_id).await?;
        let mut current = false;
        // An admin's edit between reading the centre again and taking the
        // seat is rare; a third edit in one call is answered as a conflict.
        for _ in 0..3 {
            match bookable(&kept.centre, start, now) {
                Ok(()) => match store::centres::take_seat_at(uow.conn(), centre_id, kept.revision, start).await? {
                    Seat::Taken => return Ok(kept.centre.clone()),
                    Seat::Full => return Err(MaintenanceError::SlotFull.into()),
                    Seat::Changed => {}
                },
                // Off the grid of the centre as read in this call.
                Err(e) if current => return Err(e),
                // Off the kept grid: the centre may have been edited since.
                Err(_) => {}
            }
            kept = self.centres.reload(uow.conn(), centre_id).await?;
            current = true;
        }
        Err(Error::Aborted("the centre changed while booking; try again".into()))
    }

    /// Moves a booked visit to another slot of its centre.
    pub async fn reschedule(
        &self,
        caller: &Caller,
        id: AppointmentId,
        start: DateTime<Utc>,
        request_id: &str,
    ) -> Result<Appointment, Error> {
        let mut uow = self.ctx.begin().await?;
        let request = format!("{id}\u{0}{}", start.to_rfc3339());
        let scope = "maintenance.RescheduleAppointment";
        if let Some(a) = replay(&mut uow, scope, caller, request_id, request.as_bytes(), id).await? {
            return Ok(a);
        }
        let now = uow.now();
        let mut a = self.locked(&mut uow, caller, id).await?;
        let c = centre(&mut uow, &a.centre_id).await?;
        bookable(&c, start, now)?;
        if start == a.starts_at {
            return Err(Error::invalid("starts_at", "is the slot the appointment holds"));
        }
        let old = a.starts_at;
        a.reschedule(start, c.cutoff(old), now)?;
        // Seats are taken and given back in the order of their slots, so
        // two visits swapping slots cannot deadlock.
        if start < old {
            if !store::centres::take_seat(uow.conn(), &c.centre_id, start, c.capacity).await? {
                return Err(MaintenanceError::SlotFull.into());
            }
            store::centres::free_seat(uow.conn(), &c.centre_id, old).await?;
        } else {
            store::centres::free_seat(uow.conn(), &c.centre_id, old).await?;
            if !store::centres::take_seat(uow.conn(), &c.centre_id, start, c.capacity).await? {
                return Err(MaintenanceError::SlotFull.into());
            }
        }
        a.remind_at = visit_reach(uow.conn(), &a.visit_for).await?.reminder_at(start, now);
        store::appointments::update(uow.conn(), &a).await?;
        uow.emit(&a.visit_for.aggregate(), &events::booked(&a, Some(old)))
            .await?;
        uow.commit().await?;
        Ok(a)
    }

    /// Cancels a booked visit and frees its seat; late after the cut-off.
    pub async fn cancel(&self, caller: &Caller, id: AppointmentId, request_id: &str) -> Result<Appointment, Error> {
        let mut uow = self.ctx.begin().await?;
        let scope = "maintenance.CancelAppointment";
        if let Some(a) = replay(&mut uow, scope, caller, request_id, id.as_uuid().as_bytes(), id).await? {
            return Ok(a);
        }
        let now = uow.now();
        let mut a = self.locked(&mut uow, caller, id).await?;
        let c = centre(&mut uow, &a.centre_id).await?;
        a.cancel(c.cutoff(a.starts_at), now)?;
        store::centres::free_seat(uow.conn(), &a.centre_id, a.starts_at).await?;
        store::appointments::update(uow.conn(), &a).await?;
        let by = if caller.role == Role::Customer {
            "customer"
        } else {
            "staff"
        };
        uow.emit(&a.visit_for.aggregate(), &events::canceled(&a, by)).await?;
        uow.commit().await?;
        Ok(a)
    }

    /// The customer did not come.
    pub async fn no_show(&self, caller: &Caller, id: AppointmentId) -> Result<Appointment, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut a = self.locked(&mut uow, caller, id).await?;
        a.no_show(now)?;
        store::appointments::update(uow.conn(), &a).await?;
        uow.commit().await?;
        Ok(a)
    }

    /// The visit was done: a visit for an occurrence completes it, on the
    /// visit's day in the customer's zone, unless that occurrence was
    /// recorded done already (by the customer, say).
    pub async fn complete_visit(
        &self,
        caller: &Caller,
        id: AppointmentId,
        notes: &str,
        request_id: &str,
    ) -> Result<Appointment, Error> {
        let mut uow = self.ctx.begin().await?;
        let request = format!("{id}\u{0}{notes}");
        let scope = "maintenance.CompleteAppointment";
        if let Some(a) = replay(&mut uow, scope, caller, request_id, request.as_bytes(), id).await? {
            return Ok(a);
        }
        let now = uow.now();
        // Locks in the order a booking takes them: the schedule, then the
        // appointment (read first to find its schedule, checked again).
        let seen = store::appointments::get(uow.conn(), id, false)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("appointment", id.to_string()))?;
        reachable(caller, &seen)?;
        let VisitFor::Occurrence { schedule_id, .. } = seen.visit_for else {
            // A claim's visit: the claim goes on in warranty.
            let mut a = self.locked(&mut uow, caller, id).await?;
            a.complete(now)?;
            store::appointments::update(uow.conn(), &a).await?;
            uow.commit().await?;
            return Ok(a);
        };
        let mut s = store::schedules::get(uow.conn(), schedule_id, true)
            .await?
            .ok_or_else(|| Error::internal("an appointment's schedule is gone"))?;
        let mut a = self.locked(&mut uow, caller, id).await?;
        a.complete(now)?;
        store::appointments::update(uow.conn(), &a).await?;
        let VisitFor::Occurrence { occurrence, .. } = a.visit_for else {
            return Err(Error::internal("an appointment changed what it is for"));
        };
        let reach = store::preferences::get(uow.conn(), &s.customer_id).await?.reach();
        let done_on = zone::local_date(a.starts_at, s.zone(&reach));
        let open = s.slot == occurrence && s.last_done_on.is_none_or(|last| done_on > last);
        if open && s.active && s.complete(done_on, now) {
            super::usage::rebase(uow.conn(), &mut s).await?;
            s.next_reminder_at = s.reminders_left(&reach, &[]).first().map(|(_, at)| *at);
            store::schedules::record_service(uow.conn(), &s, occurrence, done_on, caller, notes, now).await?;
            store::schedules::update(uow.conn(), &s).await?;
            uow.emit(&s.schedule_id.to_string(), &events::completed(&s, occurrence))
                .await?;
        }
        uow.commit().await?;
        Ok(a)
    }

    pub async fn appointment(&self, caller: &Caller, id: AppointmentId) -> Result<Appointment, Error> {
        let a = store::appointments::get(&mut *self.ctx.read().await?, id, false)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("appointment", id.to_string()))?;
        reachable(caller, &a)?;
        Ok(a)
    }

    /// A customer's or a centre's appointments, soonest first.
    pub async fn appointments(
        &self,
        caller: &Caller,
        of: Of<'_>,
        page_size: i32,
        page_token: &str,
    ) -> Result<AppointmentPage, Error> {
        let query = match of {
            Of::Customer(c) => {
                visible(caller, c, "customer", c)?;
                format!("appointments:customer:{c}")
            }
            Of::Centre(c) => {
                let own = match caller.role {
                    Role::Partner => caller.subject == c,
                    Role::Customer => false,
                    Role::Agent | Role::Admin | Role::Service => true,
                };
                if !own {
                    return Err(MaintenanceError::not_found("centre", c).into());
                }
                format!("appointments:centre:{c}")
            }
        };
        let limit = paging::page_size(page_size)?;
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut appointments = store::appointments::list(&mut conn, of, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut appointments, limit, &query, |a| {
            (a.starts_at, a.appointment_id.to_string())
        });
        Ok(AppointmentPage {
            appointments,
            next_page_token,
        })
    }

    /// An appointment, locked, that the caller may act on.
    async fn locked(&self, uow: &mut UnitOfWork<'_>, caller: &Caller, id: AppointmentId) -> Result<Appointment, Error> {
        let a = store::appointments::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| MaintenanceError::not_found("appointment", id.to_string()))?;
        reachable(caller, &a)?;
        Ok(a)
    }
}
