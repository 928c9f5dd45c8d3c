//! The job sending reminders, a batch of schedules per transaction:
//! schedules are claimed by their next reminder's time (an index of
//! pending reminders only) with `FOR UPDATE SKIP LOCKED`, each with the
//! reminders its occurrence had, in one statement; what each sends and
//! when its next goes is decided in memory; the reminders (unique per
//! occurrence and kind), their events and the schedules are written in a
//! statement each. So any number of servers send each reminder once, a
//! crash before the commit sends nothing, and a batch costs a handful of
//! statements however large.
//!
//! A reminder is only sent at a moment the customer may be contacted: one
//! due while they are in quiet hours (the job was down, they opted back in
//! at night, a completion moved it into the past) waits for the next
//! allowed moment, and one over the customer's daily cap for the next day.
//! A fixed schedule whose occurrence passed with all its reminders moves
//! on to its next slot. A schedule whose stored row cannot be read is put
//! back an hour; the others go on.
//!
//! Booked visits are reminded too, a day before (claimed by their
//! reminder's time, cleared with the event in one transaction; not counted
//! against the cap); a visit moved afterwards is reminded again for its new
//! time.

use std::sync::{Arc, Mutex, PoisonError};

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::outbox;

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, Duration, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::app::visits::visit_reach;
use crate::domain::{AppointmentId, AppointmentStatus, ReminderId, ReminderKind, Schedule};
use crate::events;
use crate::store;
use crate::store::preferences::Preferences;

/// Schedules per transaction; a full batch runs again at once.
pub const BATCH: i64 = 500;

/// How long a schedule that failed waits before it is tried again.
const RETRY_AFTER_MINUTES: i64 = 60;

pub struct Reminders {
    ctx: ServiceContext,
    /// When this server last pruned the cap's old daily counts.
    pruned_at: Mutex<Option<DateTime<Utc>>>,
}

/// How often a server prunes the cap's daily counts of days long past
/// (with every batch, it was a statement a batch for a table that changes
/// by the day).
const PRUNE_EVERY_MINUTES: i64 = 60;

impl Reminders {
    pub fn new(ctx: ServiceContext) -> Arc<Reminders> {
        Arc::new(Reminders {
            ctx,
            pruned_at: Mutex::new(None),
        })
    }

    /// Forgets the cap's counts of days a week past, at most every
    /// [`PRUNE_EVERY_MINUTES`] on this server, in transactions of its own.
    /// A failure is logged and tried again at the next run. The turn is
    /// taken before pruning, so the job's loops do not prune together.
    async fn prune(&self, now: DateTime<Utc>) {
        let last = {
            let mut at = self.pruned_at.lock().unwrap_or_else(PoisonError::into_inner);
            if at.is_some_and(|at| now - at < Duration::minutes(PRUNE_EVERY_MINUTES)) {
                return;
            }
            at.replace(now)
        };
        let week_ago = (now - Duration::days(7)).date_naive();
        let pruned = async {
            let mut conn = self.ctx.pool.acquire().await?;
            while store::preferences::prune_daily(&mut conn, week_ago, BATCH).await? == BATCH.unsigned_abs() {}
            Ok::<_, Error>(())
        };
        if let Err(e) = pruned.await {
            // Handed back, unless another run took a turn since.
            let mut at = self.pruned_at.lock().unwrap_or_else(PoisonError::into_inner);
            if *at == Some(now) {
                *at = last;
            }
            tracing::warn!(error = %e, "pruning the cap's old daily counts failed; tried again next run");
        }
    }

    /// Sends what is due now for up to [`BATCH`] schedules and as many
    /// booked visits; whether a batch was full.
    pub async fn run(&self) -> Result<bool, Error> {
        let now = self.ctx.clock.now();
        let mut tx = self.ctx.pool.begin().await?;
        let due = store::schedules::claim_due(&mut tx, now, BATCH).await?;
        let full = due.len() as i64 == BATCH;
        let mut sent = remind_schedules(&mut tx, due, now).await?;
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
        self.prune(now).await;
        Ok(full || visits.len() as i64 == BATCH)
    }
}

/// One schedule's turn: the reminder it sends now, if any, with the
/// schedule as it was sent about (its occurrence may move on after it).
struct Turn {
    schedule: Schedule,
    send: Option<(ReminderKind, Schedule)>,
    /// The customer's local day, for the cap.
    day: NaiveDate,
}

/// Decides and writes the claimed schedules' reminders; how many went.
async fn remind_schedules(
    conn: &mut PgConnection,
    due: Vec<store::schedules::Due>,
    now: DateTime<Utc>,
) -> Result<usize, Error> {
    let (claimed, unreadable): (Vec<_>, Vec<_>) = due.into_iter().partition(Result::is_ok);
    let unreadable: Vec<_> = unreadable.into_iter().filter_map(Result::err).collect();
    if !unreadable.is_empty() {
        tracing::error!(schedules = ?unreadable, "stored schedules cannot be read; retried later");
        store::schedules::put_off(conn, &unreadable, now + Duration::minutes(RETRY_AFTER_MINUTES)).await?;
    }
    let claimed: Vec<_> = claimed.into_iter().filter_map(Result::ok).collect();
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut customers: Vec<&str> = claimed.iter().map(|(s, _)| s.customer_id.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    let saved = store::preferences::of_customers(conn, &customers).await?;
    let prefs_of = |customer: &str| {
        saved
            .iter()
            .find(|p| p.customer_id == customer)
            .cloned()
            .unwrap_or_else(|| Preferences::defaults(customer))
    };
    let mut turns: Vec<(Turn, Preferences)> = claimed
        .into_iter()
        .map(|(s, sent)| {
            let prefs = prefs_of(&s.customer_id);
            (turn(s, &sent, &prefs, now), prefs)
        })
        .collect();
    hold_over_cap(conn, &mut turns, now).await?;

    let sends: Vec<(ReminderId, &Schedule, ReminderKind)> = turns
        .iter()
        .filter_map(|(t, _)| t.send.as_ref().map(|(kind, about)| (ReminderId::new(), about, *kind)))
        .collect();
    let written = store::schedules::insert_reminders(conn, &sends, now).await?;
    let mut reminders = Vec::with_capacity(written.len());
    let mut overdue = Vec::new();
    for (id, s, kind) in sends.iter().filter(|(id, ..)| written.contains(id)) {
        let Some((_, prefs)) = turns.iter().find(|(t, _)| t.schedule.schedule_id == s.schedule_id) else {
            continue;
        };
        reminders.push((
            s.schedule_id.to_string(),
            events::reminder_due(s, *id, *kind, prefs, now),
        ));
        if *kind == ReminderKind::Overdue {
            overdue.push((s.schedule_id.to_string(), events::overdue(s, *id)));
        }
    }
    outbox::enqueue_many(conn, &reminders, now).await?;
    outbox::enqueue_many(conn, &overdue, now).await?;
    let schedules: Vec<Schedule> = turns.into_iter().map(|(t, _)| t.schedule).collect();
    store::schedules::update_many(conn, &schedules).await?;
    Ok(reminders.len())
}

/// What a schedule sends now, if its customer may be contacted now, and
/// when its next reminder goes.
fn turn(mut s: Schedule, sent: &[ReminderKind], prefs: &Preferences, now: DateTime<Utc>) -> Turn {
    let reach = prefs.reach();
    let zone = s.zone(&reach);
    let (due, mut next) = s.due_reminder(&reach, sent, now);
    let mut send = None;
    match due {
        Some(_) if reach.hours.next_allowed(now, zone) > now => {
            // Due, but not a moment to contact them: at the next one.
            next = Some(reach.hours.next_allowed(now, zone));
        }
        Some((kind, _)) => send = Some((kind, s.clone())),
        None => {}
    }
    let day = zone::local_date(now, zone);
    if next.is_none() {
        next = if s.move_past_missed(day, now) {
            s.next_wake(&reach, &[])
        } else {
            // Nothing left of this occurrence: looked at again when it is
            // over, to move on (a fixed one; none for a silenced customer).
            let mut had = sent.to_vec();
            had.extend(send.as_ref().map(|(kind, _)| *kind));
            s.next_wake(&reach, &had)
        };
    }
    s.next_reminder_at = next;
    s.updated_at = now;
    Turn { schedule: s, send, day }
}

/// A reminder over its customer's daily cap is not sent: it waits for the
/// first allowed moment of their next day.
async fn hold_over_cap(
    conn: &mut PgConnection,
    turns: &mut [(Turn, Preferences)],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut wanted: Vec<(&str, NaiveDate, u32, u32)> = Vec::new();
    for (t, p) in turns.iter().filter(|(t, p)| t.send.is_some() && p.daily_cap > 0) {
        match wanted
            .iter_mut()
            .find(|w| w.0 == t.schedule.customer_id && w.1 == t.day)
        {
            Some(w) => w.2 += 1,
            None => wanted.push((t.schedule.customer_id.as_str(), t.day, 1, p.daily_cap)),
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let granted = store::preferences::take_daily(conn, &wanted).await?;
    let mut left: Vec<(String, NaiveDate, u32)> = wanted
        .iter()
        .zip(granted)
        .map(|(w, g)| (w.0.to_owned(), w.1, g))
        .collect();
    for (t, p) in turns.iter_mut().filter(|(t, p)| t.send.is_some() && p.daily_cap > 0) {
        let Some(quota) = left.iter_mut().find(|l| l.0 == t.schedule.customer_id && l.1 == t.day) else {
            continue;
        };
        if quota.2 > 0 {
            quota.2 -= 1;
            continue;
        }
        // Held: the schedule stays on the occurrence it was to remind of.
        let Some((_, about)) = t.send.take() else {
            continue;
        };
        let reach = p.reach();
        let zone = about.zone(&reach);
        let tomorrow = t.day.succ_opt().unwrap_or(t.day);
        t.schedule = about;
        t.schedule.next_reminder_at = Some(reach.hours.next_allowed(zone::start_of_day(tomorrow, zone), zone));
        t.schedule.updated_at = now;
    }
    Ok(())
}

/// Sends a booked visit's reminder when the customer may be contacted now
/// (else it waits for the next allowed moment before the visit, or is
/// dropped when there is none). The reminders sent (0 or 1).
async fn remind_visit(conn: &mut PgConnection, id: AppointmentId, now: DateTime<Utc>) -> Result<usize, Error> {
    let mut a = store::appointments::get(conn, id, false)
        .await?
        .ok_or_else(|| Error::internal("a claimed appointment is gone"))?;
    if a.status != AppointmentStatus::Booked || now >= a.starts_at {
        // Too late to remind (the job was down, or a retry): never after.
        a.remind_at = None;
        a.updated_at = now;
        store::appointments::update(conn, &a).await?;
        return Ok(0);
    }
    let reach = visit_reach(conn, &a.visit_for).await?;
    let allowed = reach.prefs.hours.next_allowed(now, reach.zone);
    if allowed > now || reach.silenced {
        a.remind_at = reach.reminder_at(a.starts_at, now);
        a.updated_at = now;
        store::appointments::update(conn, &a).await?;
        return Ok(0);
    }
    let centre = store::centres::centre(conn, &a.centre_id, false)
        .await?
        .ok_or_else(|| Error::internal("an appointment's centre is gone"))?;
    let reminder = ReminderId::new();
    if !store::appointments::reminded(conn, id, reminder).await? {
        return Ok(0);
    }
    let event = events::appointment_reminder(&a, &centre, reminder, &reach, now);
    outbox::enqueue(conn, &a.visit_for.aggregate(), &event, now).await?;
    Ok(1)
}

impl Job for Reminders {
    fn name(&self) -> &'static str {
        "maintenance.reminders"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }

    /// Two: a batch is several statements (six for the schedules, with
    /// the visits' claim) whose Postgres time is most of it, so a second
    /// loop's batch is decided and written meanwhile.
    fn loops(&self) -> usize {
        2
    }
}
