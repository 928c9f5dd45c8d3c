//! Appointments: visits booked for an occurrence or a claim, their
//! reminders, and the lists of them.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::paging::Cursor;
use sqlx::PgConnection;
use uuid::Uuid;

use super::parse;
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, MaintenanceError, ReminderId, ScheduleId, VisitFor,
};

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
