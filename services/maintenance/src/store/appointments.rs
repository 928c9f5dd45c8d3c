//! Centres with their opening hours, slots' seats, and appointments.

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, NaiveTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, Centre, MaintenanceError, Opening, ReminderId, ScheduleId, VisitFor,
};

#[derive(sqlx::FromRow)]
struct CentreRow {
    centre_id: String,
    name: String,
    time_zone: String,
    slot_minutes: i32,
    capacity: i32,
    cancel_cutoff_hours: i32,
    updated_at: DateTime<Utc>,
    revision: i64,
    /// (weekday, open, close) as JSON: one statement per centre read.
    opening: sqlx::types::Json<Vec<(i32, NaiveTime, NaiveTime)>>,
}

impl TryFrom<CentreRow> for Centre {
    type Error = MaintenanceError;
    fn try_from(r: CentreRow) -> Result<Centre, MaintenanceError> {
        Ok(Centre {
            time_zone: parse(&r.time_zone, "time zone", zone::parse)?,
            centre_id: r.centre_id,
            name: r.name,
            opening: r
                .opening
                .0
                .into_iter()
                .map(|(weekday, open, close)| Opening {
                    weekday: weekday.unsigned_abs(),
                    open,
                    close,
                })
                .collect(),
            slot_minutes: r.slot_minutes.unsigned_abs(),
            capacity: r.capacity.unsigned_abs(),
            cancel_cutoff_hours: r.cancel_cutoff_hours.unsigned_abs(),
            updated_at: r.updated_at,
        })
    }
}

const CENTRE: &str = "SELECT c.centre_id, c.name, c.time_zone, c.slot_minutes, c.capacity, c.cancel_cutoff_hours,
        c.updated_at, c.revision,
        COALESCE((SELECT json_agg(json_build_array(o.weekday, o.open, o.close) ORDER BY o.weekday, o.open)
                  FROM maintenance.centre_opening o WHERE o.centre_id = c.centre_id), '[]') AS opening
    FROM maintenance.centres c";

/// Writes a centre and its opening hours; the seats of slots to come
/// follow its capacity (bookings over it stand; none is added until
/// cancellations bring the slot under it).
pub async fn upsert_centre(conn: &mut PgConnection, c: &Centre, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO maintenance.centres (centre_id, name, time_zone, slot_minutes, capacity, cancel_cutoff_hours,
             updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (centre_id) DO UPDATE SET name = EXCLUDED.name, time_zone = EXCLUDED.time_zone,
             slot_minutes = EXCLUDED.slot_minutes, capacity = EXCLUDED.capacity,
             cancel_cutoff_hours = EXCLUDED.cancel_cutoff_hours, updated_at = EXCLUDED.updated_at,
             revision = nextval('maintenance.centre_revisions')",
    )
    .bind(&c.centre_id)
    .bind(&c.name)
    .bind(c.time_zone.name())
    .bind(c.slot_minutes as i32)
    .bind(c.capacity as i32)
    .bind(c.cancel_cutoff_hours as i32)
    .bind(c.updated_at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM maintenance.centre_opening WHERE centre_id = $1")
        .bind(&c.centre_id)
        .execute(&mut *conn)
        .await?;
    let weekdays: Vec<i32> = c.opening.iter().map(|o| o.weekday as i32).collect();
    let opens: Vec<NaiveTime> = c.opening.iter().map(|o| o.open).collect();
    let closes: Vec<NaiveTime> = c.opening.iter().map(|o| o.close).collect();
    sqlx::query(
        "INSERT INTO maintenance.centre_opening (centre_id, weekday, open, close)
         SELECT $1, * FROM UNNEST($2::int[], $3::time[], $4::time[])",
    )
    .bind(&c.centre_id)
    .bind(weekdays)
    .bind(opens)
    .bind(closes)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE maintenance.slots SET capacity = $2 WHERE centre_id = $1 AND starts_at > $3")
        .bind(&c.centre_id)
        .bind(c.capacity as i32)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A centre; `lock`: shared, so that an admin's edit of it waits for the
/// bookings in flight (and they for it).
pub async fn centre(conn: &mut PgConnection, id: &str, lock: bool) -> Result<Option<Centre>, Error> {
    let lock = if lock { " FOR SHARE OF c" } else { "" };
    let row: Option<CentreRow> = sqlx::query_as(&format!("{CENTRE} WHERE c.centre_id = $1{lock}"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Centre::try_from).transpose()?)
}

/// A centre with the revision it was read at.
#[derive(Debug, Clone)]
pub struct Revised {
    pub centre: Centre,
    pub revision: i64,
}

/// A centre and its revision, unlocked (for a server to keep).
pub async fn centre_revised(conn: &mut PgConnection, id: &str) -> Result<Option<Revised>, Error> {
    let row: Option<CentreRow> = sqlx::query_as(&format!("{CENTRE} WHERE c.centre_id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let revision = row.revision;
    Ok(Some(Revised {
        centre: row.try_into()?,
        revision,
    }))
}

/// What [`take_seat_at`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    Taken,
    /// None left.
    Full,
    /// The centre is at another revision (or gone): nothing taken.
    Changed,
}

/// [`take_seat`] while the centre is at `revision`, in one statement that
/// also locks the centre's row shared, as [`centre`] with `lock` does (so
/// an admin's edit waits for the booking, and it for the edit).
pub async fn take_seat_at(
    conn: &mut PgConnection,
    centre: &str,
    revision: i64,
    start: DateTime<Utc>,
) -> Result<Seat, Error> {
    let (current, taken): (bool, bool) = sqlx::query_as(
        "WITH c AS (
             SELECT capacity FROM maintenance.centres WHERE centre_id = $1 AND revision = $2 FOR SHARE),
         seat AS (
             INSERT INTO maintenance.slots (centre_id, starts_at, capacity, booked)
             SELECT $1, $3, c.capacity, 1 FROM c
             ON CONFLICT (centre_id, starts_at) DO UPDATE SET booked = slots.booked + 1
                 WHERE slots.booked < slots.capacity
             RETURNING booked)
         SELECT EXISTS (SELECT 1 FROM c), EXISTS (SELECT 1 FROM seat)",
    )
    .bind(centre)
    .bind(revision)
    .bind(start)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match (current, taken) {
        (false, _) => Seat::Changed,
        (true, true) => Seat::Taken,
        (true, false) => Seat::Full,
    })
}

pub async fn centres(conn: &mut PgConnection) -> Result<Vec<Centre>, Error> {
    let rows: Vec<CentreRow> = sqlx::query_as(&format!("{CENTRE} ORDER BY c.centre_id"))
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| Centre::try_from(r).map_err(Error::from))
        .collect()
}

/// Seats booked in a centre's slots starting in `[from, to)`.
pub async fn booked(
    conn: &mut PgConnection,
    centre: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, i32, i32)>, Error> {
    Ok(sqlx::query_as(
        "SELECT starts_at, capacity, booked FROM maintenance.slots
         WHERE centre_id = $1 AND starts_at >= $2 AND starts_at < $3",
    )
    .bind(centre)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?)
}

/// Takes a seat of a slot (its row made by the first booking, with the
/// centre's capacity); `false` when none is left. The row's lock orders
/// concurrent bookings and its check keeps them within the seats.
pub async fn take_seat(
    conn: &mut PgConnection,
    centre: &str,
    start: DateTime<Utc>,
    capacity: u32,
) -> Result<bool, Error> {
    let taken: Option<i32> = sqlx::query_scalar(
        "INSERT INTO maintenance.slots (centre_id, starts_at, capacity, booked) VALUES ($1, $2, $3, 1)
         ON CONFLICT (centre_id, starts_at) DO UPDATE SET booked = slots.booked + 1
             WHERE slots.booked < slots.capacity
         RETURNING booked",
    )
    .bind(centre)
    .bind(start)
    .bind(capacity as i32)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(taken.is_some())
}

/// Gives a seat back.
pub async fn free_seat(conn: &mut PgConnection, centre: &str, start: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query("UPDATE maintenance.slots SET booked = booked - 1 WHERE centre_id = $1 AND starts_at = $2")
        .bind(centre)
        .bind(start)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    appointment_id: Uuid,
    centre_id: String,
    starts_at: DateTime<Utc>,
    schedule_id: Option<Uuid>,
    occurrence: Option<i32>,
    claim_id: Option<String>,
    customer_id: String,
    status: String,
    late: bool,
    reschedules: i32,
    remind_at: Option<DateTime<Utc>>,
    booked_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Appointment {
    type Error = MaintenanceError;
    fn try_from(r: Row) -> Result<Appointment, MaintenanceError> {
        Ok(Appointment {
            appointment_id: AppointmentId::from_uuid(r.appointment_id),
            centre_id: r.centre_id,
            starts_at: r.starts_at,
            visit_for: match (r.schedule_id, r.occurrence, r.claim_id) {
                (Some(schedule_id), Some(occurrence), None) => VisitFor::Occurrence {
                    schedule_id: ScheduleId::from_uuid(schedule_id),
                    occurrence,
                },
                (None, None, Some(claim_id)) => VisitFor::Claim { claim_id },
                _ => {
                    return Err(MaintenanceError::Corrupt(
                        "an appointment for neither an occurrence nor a claim".into(),
                    ));
                }
            },
            customer_id: r.customer_id,
            status: parse(&r.status, "appointment status", AppointmentStatus::parse)?,
            late: r.late,
            reschedules: r.reschedules,
            remind_at: r.remind_at,
            booked_at: r.booked_at,
            updated_at: r.updated_at,
        })
    }
}

const SELECT: &str =
    "SELECT appointment_id, centre_id, starts_at, schedule_id, occurrence, claim_id, customer_id, status,
        late, reschedules, remind_at, booked_at, updated_at
    FROM maintenance.appointments";

/// Writes a new appointment; `false` when its occurrence or claim has a
/// booked one (the database's unique indexes).
pub async fn insert(conn: &mut PgConnection, a: &Appointment) -> Result<bool, Error> {
    // The one booked visit an occurrence, or a claim, may have.
    let one_booked = match &a.visit_for {
        VisitFor::Occurrence { .. } => "(schedule_id, occurrence) WHERE status = 'booked'",
        VisitFor::Claim { .. } => "(claim_id) WHERE status = 'booked'",
    };
    let written = sqlx::query(&format!(
        "INSERT INTO maintenance.appointments (appointment_id, centre_id, starts_at, schedule_id, occurrence,
             customer_id, status, late, reschedules, remind_at, booked_at, updated_at, claim_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
         ON CONFLICT {one_booked} DO NOTHING"
    ))
    .bind(a.appointment_id.as_uuid())
    .bind(&a.centre_id)
    .bind(a.starts_at)
    .bind(match &a.visit_for {
        VisitFor::Occurrence { schedule_id, .. } => Some(schedule_id.as_uuid()),
        VisitFor::Claim { .. } => None,
    })
    .bind(match &a.visit_for {
        VisitFor::Occurrence { occurrence, .. } => Some(*occurrence),
        VisitFor::Claim { .. } => None,
    })
    .bind(&a.customer_id)
    .bind(a.status.as_str())
    .bind(a.late)
    .bind(a.reschedules)
    .bind(a.remind_at)
    .bind(a.booked_at)
    .bind(match &a.visit_for {
        VisitFor::Claim { claim_id } => Some(claim_id.as_str()),
        VisitFor::Occurrence { .. } => None,
    })
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}

pub async fn get(conn: &mut PgConnection, id: AppointmentId, lock: bool) -> Result<Option<Appointment>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE appointment_id = $1{lock}"))
        .bind(id.as_uuid())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Appointment::try_from).transpose()?)
}

/// Writes what moves: the slot, the status, the reminder.
pub async fn update(conn: &mut PgConnection, a: &Appointment) -> Result<(), Error> {
    sqlx::query(
        "UPDATE maintenance.appointments SET starts_at = $2, status = $3, late = $4, reschedules = $5,
             remind_at = $6, updated_at = $7
         WHERE appointment_id = $1",
    )
    .bind(a.appointment_id.as_uuid())
    .bind(a.starts_at)
    .bind(a.status.as_str())
    .bind(a.late)
    .bind(a.reschedules)
    .bind(a.remind_at)
    .bind(a.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whose appointments a list is of.
pub enum Of<'a> {
    Customer(&'a str),
    Centre(&'a str),
}

/// Appointments soonest first, after `cursor`.
pub async fn list(
    conn: &mut PgConnection,
    of: Of<'_>,
    cursor: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Appointment>, Error> {
    let (column, key) = match of {
        Of::Customer(c) => ("customer_id", c),
        Of::Centre(c) => ("centre_id", c),
    };
    let (at, id) = match cursor {
        Some(c) => (
            Some(c.at),
            Some(Uuid::parse_str(&c.id).map_err(|_| Error::invalid("page_token", "is not a valid page token"))?),
        ),
        None => (None, None),
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE {column} = $1 AND ($2::timestamptz IS NULL OR (starts_at, appointment_id) > ($2, $3))
         ORDER BY starts_at, appointment_id LIMIT $4"
    ))
    .bind(key)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Appointment::try_from(r).map_err(Error::from))
        .collect()
}

/// Appointments whose reminder is due by `now`, claimed for this
/// transaction: another server skips them.
pub async fn reminders_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<AppointmentId>, Error> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT appointment_id FROM maintenance.appointments WHERE remind_at <= $1
         ORDER BY remind_at LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(AppointmentId::from_uuid).collect())
}

/// Records an appointment's reminder as sent, with its id; `false` when
/// it was sent before (a moved appointment is reminded again).
pub async fn reminded(conn: &mut PgConnection, id: AppointmentId, reminder: ReminderId) -> Result<bool, Error> {
    let written = sqlx::query(
        "UPDATE maintenance.appointments SET remind_at = NULL, reminder_id = $2, reminded_for = starts_at
         WHERE appointment_id = $1 AND remind_at IS NOT NULL",
    )
    .bind(id.as_uuid())
    .bind(reminder.as_uuid())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}

/// Puts a visit's reminder off until `at` (after a failure).
pub async fn put_off(conn: &mut PgConnection, id: AppointmentId, at: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query("UPDATE maintenance.appointments SET remind_at = $2 WHERE appointment_id = $1")
        .bind(id.as_uuid())
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A customer's booked visits to come whose reminder is not sent yet,
/// locked (their reminders move with the customer's preferences).
pub async fn unreminded(
    conn: &mut PgConnection,
    customer_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Appointment>, Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE customer_id = $1 AND status = 'booked' AND starts_at > $2
           AND reminded_for IS DISTINCT FROM starts_at
         ORDER BY appointment_id FOR UPDATE"
    ))
    .bind(customer_id)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| Appointment::try_from(r).map_err(Error::from))
        .collect()
}

/// Locks a centre for an edit: bookings in flight finish first, and new
/// ones wait for it. Whether it exists.
pub async fn lock_centre(conn: &mut PgConnection, id: &str) -> Result<bool, Error> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM maintenance.centres WHERE centre_id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

/// The starts of a centre's slots after `now` that hold bookings (an
/// admin's edit must keep them on its grid).
pub async fn booked_starts(
    conn: &mut PgConnection,
    centre: &str,
    now: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, Error> {
    Ok(sqlx::query_scalar(
        "SELECT starts_at FROM maintenance.slots WHERE centre_id = $1 AND starts_at > $2 AND booked > 0
         ORDER BY starts_at",
    )
    .bind(centre)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?)
}

/// The claim's booked visit, locked.
pub async fn booked_for_claim(conn: &mut PgConnection, claim_id: &str) -> Result<Option<Appointment>, Error> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE claim_id = $1 AND status = 'booked' FOR UPDATE"
    ))
    .bind(claim_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Appointment::try_from).transpose()?)
}

/// Whether the schedule's occurrence has a booked visit.
pub async fn booked_for(conn: &mut PgConnection, schedule: ScheduleId, occurrence: i32) -> Result<bool, Error> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM maintenance.appointments
                        WHERE schedule_id = $1 AND occurrence = $2 AND status = 'booked')",
    )
    .bind(schedule.as_uuid())
    .bind(occurrence)
    .fetch_one(&mut *conn)
    .await?)
}

/// Moves the booked visits of one schedule to another (a replaced unit's
/// to its replacement's, which carries its occurrence on).
pub async fn move_visits(conn: &mut PgConnection, from: ScheduleId, to: ScheduleId) -> Result<(), Error> {
    sqlx::query("UPDATE maintenance.appointments SET schedule_id = $2 WHERE schedule_id = $1 AND status = 'booked'")
        .bind(from.as_uuid())
        .bind(to.as_uuid())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
