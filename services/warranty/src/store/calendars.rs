//! Business calendars per country.

use aftercare_kernel::zone::{self, WorkingDays};
use aftercare_kernel::{DateTime, NaiveDate, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::WarrantyError;

/// A country's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub country_code: String,
    pub time_zone: zone::Tz,
    pub days: WorkingDays,
    pub updated_at: DateTime<Utc>,
    /// Moved by every change (0 for one not stored yet).
    pub revision: i64,
}

#[derive(sqlx::FromRow)]
struct CalendarRow {
    country_code: String,
    time_zone: String,
    working_weekdays: Vec<i32>,
    holidays: Vec<NaiveDate>,
    updated_at: DateTime<Utc>,
    revision: i64,
}

impl TryFrom<CalendarRow> for Calendar {
    type Error = WarrantyError;
    fn try_from(r: CalendarRow) -> Result<Calendar, WarrantyError> {
        Ok(Calendar {
            time_zone: zone::parse(&r.time_zone)
                .ok_or_else(|| WarrantyError::Corrupt(format!("stored time zone {:?}", r.time_zone)))?,
            days: WorkingDays::new(r.working_weekdays.iter().map(|d| *d as u32), r.holidays),
            country_code: r.country_code,
            updated_at: r.updated_at,
            revision: r.revision,
        })
    }
}

const SELECT: &str =
    "SELECT country_code, time_zone, working_weekdays, holidays, updated_at, revision FROM warranty.calendars";

pub async fn get(conn: &mut PgConnection, country_code: &str) -> Result<Option<Calendar>, Error> {
    let row: Option<CalendarRow> = sqlx::query_as(&format!("{SELECT} WHERE country_code = $1"))
        .bind(country_code)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(Calendar::try_from).transpose()?)
}

/// The default calendar: its zone is the one order registrations take.
pub async fn default(conn: &mut PgConnection) -> Result<Calendar, Error> {
    let row: CalendarRow = sqlx::query_as(&format!("{SELECT} WHERE is_default"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.try_into()?)
}

/// Creates or replaces a country's calendar; its revision now.
pub async fn upsert(conn: &mut PgConnection, c: &Calendar) -> Result<i64, Error> {
    let weekdays: Vec<i32> = c.days.weekdays.iter().map(|d| *d as i32).collect();
    let holidays: Vec<NaiveDate> = c.days.holidays.iter().copied().collect();
    let revision = sqlx::query_scalar(
        "INSERT INTO warranty.calendars (country_code, time_zone, working_weekdays, holidays, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (country_code) DO UPDATE
         SET time_zone = $2, working_weekdays = $3, holidays = $4, updated_at = $5,
             revision = warranty.calendars.revision + 1
         RETURNING revision",
    )
    .bind(&c.country_code)
    .bind(c.time_zone.name())
    .bind(weekdays)
    .bind(holidays)
    .bind(c.updated_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(revision)
}
