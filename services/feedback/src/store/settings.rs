//! The one row of settings, and the key survey links are signed with.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::link::LinkKey;
use crate::domain::{FeedbackError, Settings};

type Row = (i32, i32, i32, i32, i64, i32, DateTime<Utc>);

pub async fn get(conn: &mut PgConnection) -> Result<Settings, Error> {
    let r: Row = sqlx::query_as(
        "SELECT min_days_between_surveys, low_csat, low_nps, follow_up_hours, max_goodwill_points,
                answer_days, updated_at
           FROM feedback.settings",
    )
    .fetch_one(conn)
    .await?;
    Ok(Settings {
        min_days_between_surveys: r.0,
        low_csat: r.1,
        low_nps: r.2,
        follow_up_hours: r.3,
        max_goodwill_points: r.4,
        answer_days: r.5,
        updated_at: Some(r.6),
    })
}

pub async fn put(conn: &mut PgConnection, s: &Settings, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query(
        "UPDATE feedback.settings
            SET min_days_between_surveys = $1, low_csat = $2, low_nps = $3, follow_up_hours = $4,
                max_goodwill_points = $5, answer_days = $6, updated_at = $7",
    )
    .bind(s.min_days_between_surveys)
    .bind(s.low_csat)
    .bind(s.low_nps)
    .bind(s.follow_up_hours)
    .bind(s.max_goodwill_points)
    .bind(s.answer_days)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn link_key(conn: &mut PgConnection) -> Result<LinkKey, Error> {
    let (secret,): (Vec<u8>,) = sqlx::query_as("SELECT secret FROM feedback.link_key")
        .fetch_one(conn)
        .await?;
    let bytes: [u8; 32] = secret
        .try_into()
        .map_err(|_| FeedbackError::Corrupt("the link key is not 32 bytes".into()))?;
    Ok(LinkKey::new(bytes))
}
