//! Centres with their opening hours, and their slots' seats: a slot's
//! row is made by its first booking and keeps the seats within capacity.

use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, NaiveTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse;
use crate::domain::{Centre, MaintenanceError, Opening};

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
