//! Contact preferences, and consent as it was given.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, NaiveDate, NaiveTime, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{ContactHours, DailySpan, MaintenanceError, Reach};

/// A customer's preferences as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub customer_id: String,
    pub time_zone: Option<Tz>,
    pub hours: ContactHours,
    pub channels: Vec<String>,
    pub opted_out: bool,
    /// Reminders a day at most, across products; 0: no cap.
    pub daily_cap: u32,
    pub muted_products: Vec<Uuid>,
    pub muted_tasks: Vec<String>,
    /// BCP 47 language tag of their messages; empty: English.
    pub locale: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl Preferences {
    /// What a customer who saved nothing gets.
    pub fn defaults(customer_id: &str) -> Preferences {
        Preferences {
            customer_id: customer_id.to_owned(),
            time_zone: None,
            hours: ContactHours::default_hours(),
            channels: vec!["push".into(), "email".into()],
            opted_out: false,
            daily_cap: 0,
            muted_products: Vec::new(),
            muted_tasks: Vec::new(),
            locale: String::new(),
            updated_at: None,
        }
    }

    pub fn reach(&self) -> Reach {
        Reach {
            time_zone: self.time_zone,
            hours: self.hours,
            opted_out: self.opted_out,
            muted_products: self.muted_products.clone(),
            muted_tasks: self.muted_tasks.clone(),
        }
    }
}

/// The stored columns; also read as JSON with a schedule being booked.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub(super) struct Row {
    customer_id: String,
    time_zone: String,
    quiet_start: NaiveTime,
    quiet_end: NaiveTime,
    preferred_start: Option<NaiveTime>,
    preferred_end: Option<NaiveTime>,
    channels: Vec<String>,
    opted_out: bool,
    daily_cap: i32,
    muted_products: Vec<Uuid>,
    muted_tasks: Vec<String>,
    locale: String,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for Preferences {
    type Error = MaintenanceError;
    fn try_from(r: Row) -> Result<Preferences, MaintenanceError> {
        let time_zone = match r.time_zone.as_str() {
            "" => None,
            name => {
                Some(zone::parse(name).ok_or_else(|| MaintenanceError::Corrupt(format!("stored time zone {name:?}")))?)
            }
        };
        Ok(Preferences {
            customer_id: r.customer_id,
            time_zone,
            hours: ContactHours {
                quiet: DailySpan::new(r.quiet_start, r.quiet_end),
                preferred: r
                    .preferred_start
                    .zip(r.preferred_end)
                    .map(|(s, e)| DailySpan::new(s, e)),
            },
            channels: r.channels,
            opted_out: r.opted_out,
            daily_cap: r.daily_cap.unsigned_abs(),
            muted_products: r.muted_products,
            muted_tasks: r.muted_tasks,
            locale: r.locale,
            updated_at: Some(r.updated_at),
        })
    }
}

/// A customer's preferences, or the defaults.
pub async fn get(conn: &mut PgConnection, customer_id: &str) -> Result<Preferences, Error> {
    let row: Option<Row> = sqlx::query_as("SELECT * FROM maintenance.preferences WHERE customer_id = $1")
        .bind(customer_id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(r) => Ok(r.try_into()?),
        None => Ok(Preferences::defaults(customer_id)),
    }
}

/// Replaces a customer's preferences.
pub async fn put(conn: &mut PgConnection, p: &Preferences, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO maintenance.preferences (customer_id, time_zone, quiet_start, quiet_end, preferred_start,
             preferred_end, channels, opted_out, updated_at, daily_cap, muted_products, muted_tasks, locale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (customer_id) DO UPDATE SET time_zone = $2, quiet_start = $3, quiet_end = $4,
             preferred_start = $5, preferred_end = $6, channels = $7, opted_out = $8, updated_at = $9,
             daily_cap = $10, muted_products = $11, muted_tasks = $12, locale = $13",
    )
    .bind(&p.customer_id)
    .bind(p.time_zone.map_or("", |z| z.name()))
    .bind(p.hours.quiet.start)
    .bind(p.hours.quiet.end)
    .bind(p.hours.preferred.map(|s| s.start))
    .bind(p.hours.preferred.map(|s| s.end))
    .bind(&p.channels)
    .bind(p.opted_out)
    .bind(now)
    .bind(p.daily_cap as i32)
    .bind(&p.muted_products)
    .bind(&p.muted_tasks)
    .bind(&p.locale)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records consent (or its withdrawal) as given, and by whom.
pub async fn consent(
    conn: &mut PgConnection,
    by: &Caller,
    customer_id: &str,
    opted_out: bool,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO maintenance.consents (customer_id, at, source, by_role, by_subject, opted_out)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(customer_id)
    .bind(now)
    .bind(source)
    .bind(by.role.as_str())
    .bind(&by.subject)
    .bind(opted_out)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The preferences of each of `customers` that saved some (the others
/// have the defaults), in one statement.
pub async fn of_customers(conn: &mut PgConnection, customers: &[&str]) -> Result<Vec<Preferences>, Error> {
    let rows: Vec<Row> = sqlx::query_as("SELECT * FROM maintenance.preferences WHERE customer_id = ANY($1)")
        .bind(customers)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| Preferences::try_from(r).map_err(Error::from))
        .collect()
}

/// Takes up to `wanted` of each (customer, local day)'s cap: how many each
/// got. The days' rows are made and locked in one order (customer, day),
/// so servers sending to the same customers at once neither deadlock nor
/// exceed a cap.
pub async fn take_daily(conn: &mut PgConnection, wanted: &[(&str, NaiveDate, u32, u32)]) -> Result<Vec<u32>, Error> {
    let customers: Vec<&str> = wanted.iter().map(|w| w.0).collect();
    let days: Vec<NaiveDate> = wanted.iter().map(|w| w.1).collect();
    sqlx::query(
        "INSERT INTO maintenance.daily_sends (customer_id, day, sent)
         SELECT c, d, 0 FROM UNNEST($1::text[], $2::date[]) AS u (c, d) ORDER BY c, d
         ON CONFLICT (customer_id, day) DO NOTHING",
    )
    .bind(&customers)
    .bind(&days)
    .execute(&mut *conn)
    .await?;
    let sent: Vec<(String, NaiveDate, i32)> = sqlx::query_as(
        "SELECT customer_id, day, sent FROM maintenance.daily_sends
         WHERE (customer_id, day) IN (SELECT * FROM UNNEST($1::text[], $2::date[]))
         ORDER BY customer_id, day FOR UPDATE",
    )
    .bind(&customers)
    .bind(&days)
    .fetch_all(&mut *conn)
    .await?;
    let mut granted = Vec::with_capacity(wanted.len());
    let mut totals = Vec::with_capacity(wanted.len());
    for (customer, day, n, cap) in wanted {
        let before = sent
            .iter()
            .find(|(c, d, _)| c == customer && d == day)
            .map_or(0, |(.., s)| s.unsigned_abs());
        let got = (*n).min(cap.saturating_sub(before));
        granted.push(got);
        totals.push((before + got) as i32);
    }
    sqlx::query(
        "UPDATE maintenance.daily_sends s SET sent = u.sent
         FROM UNNEST($1::text[], $2::date[], $3::int[]) AS u (c, d, sent)
         WHERE s.customer_id = u.c AND s.day = u.d",
    )
    .bind(&customers)
    .bind(&days)
    .bind(totals)
    .execute(&mut *conn)
    .await?;
    Ok(granted)
}

/// Forgets the daily counts of days long past (the cap only reads today's
/// and tomorrow's, in any zone), at most `limit` rows a call; how many.
pub async fn prune_daily(conn: &mut PgConnection, before: NaiveDate, limit: i64) -> Result<u64, Error> {
    Ok(sqlx::query(
        "DELETE FROM maintenance.daily_sends WHERE ctid IN (
             SELECT ctid FROM maintenance.daily_sends WHERE day < $1 LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
