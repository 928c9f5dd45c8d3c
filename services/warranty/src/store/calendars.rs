//! Business calendars per country.

use aftercare_kernel::zone::{self, WorkingDays};
use aftercare_kernel::{DateTime, NaiveDate, NaiveTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::{Clocks, WarrantyError};

/// A country's calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    pub country_code: String,
    pub time_zone: zone::Tz,
    pub days: WorkingDays,
    pub updated_at: DateTime<Utc>,
    /// Moved by every change (0 for one not stored yet).
    pub revision: i64,
    /// Local business hours `[start, end)` on working days, if the
    /// calendar keeps them: a claim's first response counts only these.
    pub business_hours: Option<(NaiveTime, NaiveTime)>,
}

impl Calendar {
    /// The clocks a claim filed under this calendar runs on.
    pub fn clocks(&self) -> Clocks {
        Clocks::of_calendar(&self.days, self.time_zone, self.business_hours)
    }
}

#[derive(sqlx::FromRow)]
struct CalendarRow {
    country_code: String,
    time_zone: String,
    working_weekdays: Vec<i32>,
    holidays: Vec<NaiveDate>,
    updated_at: DateTime<Utc>,
    revision: i64,
    business_hours_start: Option<NaiveTime>,
    business_hours_end: Option<NaiveTime>,
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
            business_hours: r.business_hours_start.zip(r.business_hours_end),
        })
    }
}

const SELECT: &str =
    "SELECT country_code, time_zone, working_weekdays, holidays, updated_at, revision, business_hours_start,
         business_hours_end
     FROM warranty.calendars";

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
        "INSERT INTO warranty.calendars (country_code, time_zone, working_weekdays, holidays, updated_at,
             business_hours_start, business_hours_end)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (country_code) DO UPDATE
         SET time_zone = $2, working_weekdays = $3, holidays = $4, updated_at = $5, business_hours_start = $6,
             business_hours_end = $7,
             revision = warranty.calendars.revision + 1
         RETURNING revision",
    )
    .bind(&c.country_code)
    .bind(c.time_zone.name())
    .bind(weekdays)
    .bind(holidays)
    .bind(c.updated_at)
    .bind(c.business_hours.map(|(s, _)| s))
    .bind(c.business_hours.map(|(_, e)| e))
    .fetch_one(&mut *conn)
    .await?;
    Ok(revision)
}
