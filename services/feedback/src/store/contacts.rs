//! Customers' contact preferences as maintenance announced them, and the
//! per-customer row that serialises "one survey per N days".

use aftercare_kernel::contact_hours::{ContactHours, DailySpan};
use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, NaiveTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use super::parse;
use crate::domain::Contact;

type Row = (
    String,
    NaiveTime,
    NaiveTime,
    Option<NaiveTime>,
    Option<NaiveTime>,
    Vec<String>,
    bool,
    String,
);

/// A customer's contact, or the defaults when none was announced.
pub async fn get(conn: &mut PgConnection, customer_id: &str) -> Result<Contact, Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT time_zone, quiet_start, quiet_end, preferred_start, preferred_end, channels, opted_out, locale
           FROM feedback.contacts WHERE customer_id = $1",
    )
    .bind(customer_id)
    .fetch_optional(conn)
    .await?;
    let Some((tz, quiet_start, quiet_end, preferred_start, preferred_end, channels, opted_out, locale)) = row else {
        return Ok(Contact::defaults());
    };
    let time_zone = match tz.as_str() {
        "" => None,
        name => Some(parse(name, "time zone", zone::parse)?),
    };
    Ok(Contact {
        time_zone,
        hours: ContactHours {
            quiet: DailySpan::new(quiet_start, quiet_end),
            preferred: preferred_start.zip(preferred_end).map(|(s, e)| DailySpan::new(s, e)),
        },
        channels,
        opted_out,
        locale,
    })
}

/// Stores an announcement. A customer's announcements arrive in the order
/// they were made (one aggregate's events are delivered in order), so the
/// last one stored is the latest, whatever the clocks that stamped them.
pub async fn put(conn: &mut PgConnection, customer_id: &str, c: &Contact, at: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO feedback.contacts (customer_id, time_zone, quiet_start, quiet_end, preferred_start,
                                        preferred_end, channels, opted_out, locale, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (customer_id) DO UPDATE
            SET time_zone = EXCLUDED.time_zone, quiet_start = EXCLUDED.quiet_start,
                quiet_end = EXCLUDED.quiet_end, preferred_start = EXCLUDED.preferred_start,
                preferred_end = EXCLUDED.preferred_end, channels = EXCLUDED.channels,
                opted_out = EXCLUDED.opted_out, locale = EXCLUDED.locale, updated_at = EXCLUDED.updated_at",
    )
    .bind(customer_id)
    .bind(c.time_zone.map(|tz| tz.name()).unwrap_or_default())
    .bind(c.hours.quiet.start)
    .bind(c.hours.quiet.end)
    .bind(c.hours.preferred.map(|p| p.start))
    .bind(c.hours.preferred.map(|p| p.end))
    .bind(&c.channels)
    .bind(c.opted_out)
    .bind(&c.locale)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Locks the customer's row (made on first use) and answers when they
/// were last sent, or scheduled, a survey.
pub async fn lock_last_survey(conn: &mut PgConnection, customer_id: &str) -> Result<Option<DateTime<Utc>>, Error> {
    sqlx::query("INSERT INTO feedback.customers (customer_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(customer_id)
        .execute(&mut *conn)
        .await?;
    let (last,): (Option<DateTime<Utc>>,) =
        sqlx::query_as("SELECT last_survey_at FROM feedback.customers WHERE customer_id = $1 FOR UPDATE")
            .bind(customer_id)
            .fetch_one(conn)
            .await?;
    Ok(last)
}

pub async fn set_last_survey(
    conn: &mut PgConnection,
    customer_id: &str,
    at: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    sqlx::query("UPDATE feedback.customers SET last_survey_at = $2 WHERE customer_id = $1")
        .bind(customer_id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

/// A survey scheduled for `from` goes at `to` instead (`None`: never):
/// the customer's last survey moves with it, unless a later one was
/// scheduled since.
pub async fn move_last_survey(
    conn: &mut PgConnection,
    customer_id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE feedback.customers SET last_survey_at = $3
          WHERE customer_id = $1 AND last_survey_at IS NOT DISTINCT FROM $2",
    )
    .bind(customer_id)
    .bind(from)
    .bind(to)
    .execute(conn)
    .await?;
    Ok(())
}
