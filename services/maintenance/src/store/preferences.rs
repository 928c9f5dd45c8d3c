//! Contact preferences, and consent as it was given.

use aftercare_kernel::zone::{self, Tz};
use aftercare_kernel::{DateTime, NaiveTime, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::{ContactHours, DailySpan, MaintenanceError, Reach};

/// A customer's preferences as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preferences {
    pub customer_id: String,
    pub time_zone: Option<Tz>,
    pub hours: ContactHours,
    pub channels: Vec<String>,
    pub opted_out: bool,
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
            updated_at: None,
        }
    }

    pub fn reach(&self) -> Reach {
        Reach {
            time_zone: self.time_zone,
            hours: self.hours,
            opted_out: self.opted_out,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    customer_id: String,
    time_zone: String,
    quiet_start: NaiveTime,
    quiet_end: NaiveTime,
    preferred_start: Option<NaiveTime>,
    preferred_end: Option<NaiveTime>,
    channels: Vec<String>,
    opted_out: bool,
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
             preferred_end, channels, opted_out, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (customer_id) DO UPDATE SET time_zone = $2, quiet_start = $3, quiet_end = $4,
             preferred_start = $5, preferred_end = $6, channels = $7, opted_out = $8, updated_at = $9",
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
