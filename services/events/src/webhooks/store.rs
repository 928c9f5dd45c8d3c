//! The `events` schema: webhooks, their cursors and their dead letters.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::Positioned;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Webhook {
    pub webhook_id: Uuid,
    pub url: String,
    pub secret: String,
    pub topics: Vec<String>,
    pub after_position: i64,
    pub failed_attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "webhook_id, url, secret, topics, after_position, failed_attempts, last_error,
     next_attempt_at, created_at, deleted_at";

pub async fn insert(conn: &mut PgConnection, w: &Webhook) -> Result<(), Error> {
    sqlx::query(&format!(
        "INSERT INTO events.webhooks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(w.webhook_id)
    .bind(&w.url)
    .bind(&w.secret)
    .bind(&w.topics)
    .bind(w.after_position)
    .bind(w.failed_attempts)
    .bind(&w.last_error)
    .bind(w.next_attempt_at)
    .bind(w.created_at)
    .bind(w.deleted_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Webhook>, Error> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM events.webhooks WHERE webhook_id = $1"))
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

pub async fn list(conn: &mut PgConnection) -> Result<Vec<Webhook>, Error> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events.webhooks ORDER BY created_at, webhook_id"
    ))
    .fetch_all(conn)
    .await?)
}

/// Marks a live webhook deleted; the webhook as it is now, if it exists.
pub async fn delete(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<Option<Webhook>, Error> {
    sqlx::query("UPDATE events.webhooks SET deleted_at = $2 WHERE webhook_id = $1 AND deleted_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    get(conn, id).await
}

/// The longest-waiting live webhook due at `now` and not in `skip`,
/// locked for this transaction (another server's job takes another).
pub async fn claim_due(conn: &mut PgConnection, now: DateTime<Utc>, skip: &[Uuid]) -> Result<Option<Webhook>, Error> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM events.webhooks
         WHERE deleted_at IS NULL AND next_attempt_at <= $1 AND webhook_id <> ALL($2)
         ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    ))
    .bind(now)
    .bind(skip)
    .fetch_optional(conn)
    .await?)
}

/// Where a webhook stands after a run: its cursor and its failures.
pub async fn save_progress(conn: &mut PgConnection, w: &Webhook) -> Result<(), Error> {
    sqlx::query(
        "UPDATE events.webhooks SET after_position = $2, failed_attempts = $3, last_error = $4,
             next_attempt_at = $5
         WHERE webhook_id = $1",
    )
    .bind(w.webhook_id)
    .bind(w.after_position)
    .bind(w.failed_attempts)
    .bind(&w.last_error)
    .bind(w.next_attempt_at)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeadLetter {
    pub position: i64,
    pub event_id: Uuid,
    pub topic: String,
    pub attempts: i32,
    pub last_error: String,
    pub dead_at: DateTime<Utc>,
    pub replay_requested_at: Option<DateTime<Utc>>,
}

pub async fn bury(
    conn: &mut PgConnection,
    webhook: Uuid,
    event: &Positioned,
    attempts: i32,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // A replayed letter that failed again is buried again: one row.
    sqlx::query(
        "INSERT INTO events.webhook_dead_letters
             (webhook_id, position, event_id, topic, attempts, last_error, dead_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (webhook_id, position) DO UPDATE SET attempts = webhook_dead_letters.attempts + EXCLUDED.attempts,
             last_error = EXCLUDED.last_error, dead_at = EXCLUDED.dead_at, replay_requested_at = NULL",
    )
    .bind(webhook)
    .bind(event.position)
    .bind(event.id)
    .bind(&event.topic)
    .bind(attempts)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn dead_letters(conn: &mut PgConnection, webhook: Uuid) -> Result<Vec<DeadLetter>, Error> {
    Ok(sqlx::query_as(
        "SELECT position, event_id, topic, attempts, last_error, dead_at, replay_requested_at
         FROM events.webhook_dead_letters WHERE webhook_id = $1 ORDER BY position",
    )
    .bind(webhook)
    .fetch_all(conn)
    .await?)
}

/// Queues a live webhook's dead letters to be posted again, and makes the
/// webhook due now; how many were queued.
pub async fn request_replay(conn: &mut PgConnection, webhook: Uuid, now: DateTime<Utc>) -> Result<u64, Error> {
    let queued = sqlx::query(
        "UPDATE events.webhook_dead_letters SET replay_requested_at = $2
         WHERE webhook_id = $1 AND replay_requested_at IS NULL",
    )
    .bind(webhook)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE events.webhooks SET next_attempt_at = least(next_attempt_at, $2), failed_attempts = 0
         WHERE webhook_id = $1 AND deleted_at IS NULL",
    )
    .bind(webhook)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(queued)
}

/// The dead letters queued for a replay, oldest first, with their events.
pub async fn replays(conn: &mut PgConnection, webhook: Uuid, limit: i64) -> Result<Vec<Positioned>, Error> {
    Ok(sqlx::query_as(
        "SELECT d.position, e.id, e.topic, e.aggregate_id, e.payload, e.occurred_at
         FROM events.webhook_dead_letters d JOIN platform.outbox_events e ON e.id = d.event_id
         WHERE d.webhook_id = $1 AND d.replay_requested_at IS NOT NULL ORDER BY d.position LIMIT $2",
    )
    .bind(webhook)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// A replayed letter was delivered: it is no longer dead.
pub async fn resurrect(conn: &mut PgConnection, webhook: Uuid, position: i64) -> Result<(), Error> {
    sqlx::query("DELETE FROM events.webhook_dead_letters WHERE webhook_id = $1 AND position = $2")
        .bind(webhook)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(())
}
