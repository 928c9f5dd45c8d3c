//! The `events` schema: webhooks, their cursors and their dead letters.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::store::Positioned;

#[derive(Clone, sqlx::FromRow)]
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

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("webhook_id", &self.webhook_id)
            .field("url", &self.url)
            .field("after_position", &self.after_position)
            .finish_non_exhaustive()
    }
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

/// Whether any webhook is live: without one, the job does nothing (not
/// even give stream positions).
pub async fn any_live(pool: &PgPool) -> Result<bool, Error> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events.webhooks WHERE deleted_at IS NULL)")
            .fetch_one(pool)
            .await?,
    )
}

/// Leases up to `limit` live webhooks due at `now` and not leased, the
/// longest-waiting first, to `owner` until `until`: one statement, so
/// servers share the webhooks and nobody waits.
pub async fn lease_due(
    pool: &PgPool,
    now: DateTime<Utc>,
    owner: Uuid,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Webhook>, Error> {
    Ok(sqlx::query_as(&format!(
        "UPDATE events.webhooks SET lease_owner = $2, leased_until = $3
         WHERE webhook_id IN (
             SELECT webhook_id FROM events.webhooks
             WHERE deleted_at IS NULL AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until < $1)
             ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED)
         RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(owner)
    .bind(until)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Records a webhook's cursor and failures while `owner` holds its lease
/// and it is live; false when it does not (the run must stop).
pub async fn advance(conn: &mut PgConnection, w: &Webhook, owner: Uuid) -> Result<bool, Error> {
    let done = sqlx::query(
        "UPDATE events.webhooks SET after_position = $2, failed_attempts = $3, last_error = $4
         WHERE webhook_id = $1 AND lease_owner = $5 AND deleted_at IS NULL",
    )
    .bind(w.webhook_id)
    .bind(w.after_position)
    .bind(w.failed_attempts)
    .bind(&w.last_error)
    .bind(owner)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends `owner`'s lease, recording where the webhook stands and when it is
/// next due.
pub async fn release(pool: &PgPool, w: &Webhook, owner: Uuid) -> Result<(), Error> {
    sqlx::query(
        "UPDATE events.webhooks SET after_position = $2, failed_attempts = $3, last_error = $4,
             next_attempt_at = $5, lease_owner = NULL, leased_until = NULL
         WHERE webhook_id = $1 AND lease_owner = $6",
    )
    .bind(w.webhook_id)
    .bind(w.after_position)
    .bind(w.failed_attempts)
    .bind(&w.last_error)
    .bind(w.next_attempt_at)
    .bind(owner)
    .execute(pool)
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

/// Buries `event` as a dead letter of `w` and records `w`, in one
/// transaction, while `owner` holds the lease; false when it does not.
pub async fn bury(
    pool: &PgPool,
    w: &Webhook,
    owner: Uuid,
    event: &Positioned,
    attempts: i32,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let mut tx = pool.begin().await?;
    if !advance(&mut tx, w, owner).await? {
        return Ok(false);
    }
    let error = w.last_error.as_deref().unwrap_or_default();
    // A replayed letter that failed again is buried again: one row.
    sqlx::query(
        "INSERT INTO events.webhook_dead_letters
             (webhook_id, position, event_id, topic, attempts, last_error, dead_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (webhook_id, position) DO UPDATE SET attempts = webhook_dead_letters.attempts + EXCLUDED.attempts,
             last_error = EXCLUDED.last_error, dead_at = EXCLUDED.dead_at, replay_requested_at = NULL",
    )
    .bind(w.webhook_id)
    .bind(event.position)
    .bind(event.id)
    .bind(&event.topic)
    .bind(attempts)
    .bind(error)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
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
        "UPDATE events.webhooks SET next_attempt_at = least(next_attempt_at, $2)
         WHERE webhook_id = $1 AND deleted_at IS NULL",
    )
    .bind(webhook)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(queued)
}

/// The dead letters queued for a replay, oldest first: their positions,
/// and their events unless those were deleted since.
pub async fn replays(pool: &PgPool, webhook: Uuid, limit: i64) -> Result<Vec<(i64, Option<Positioned>)>, Error> {
    let rows: Vec<ReplayRow> = sqlx::query_as(
        "SELECT d.position AS letter, e.id, e.topic, e.aggregate_id, e.payload, e.occurred_at
         FROM events.webhook_dead_letters d LEFT JOIN platform.outbox_events e ON e.id = d.event_id
         WHERE d.webhook_id = $1 AND d.replay_requested_at IS NOT NULL ORDER BY d.position LIMIT $2",
    )
    .bind(webhook)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let event = match (r.id, r.topic, r.aggregate_id, r.payload, r.occurred_at) {
                (Some(id), Some(topic), Some(aggregate_id), Some(payload), Some(occurred_at)) => Some(Positioned {
                    position: r.letter,
                    id,
                    topic,
                    aggregate_id,
                    payload,
                    occurred_at,
                }),
                _ => None,
            };
            (r.letter, event)
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct ReplayRow {
    letter: i64,
    id: Option<Uuid>,
    topic: Option<String>,
    aggregate_id: Option<String>,
    payload: Option<Vec<u8>>,
    occurred_at: Option<DateTime<Utc>>,
}

/// A replayed letter was delivered: it is no longer dead.
pub async fn resurrect(pool: &PgPool, webhook: Uuid, position: i64) -> Result<(), Error> {
    sqlx::query("DELETE FROM events.webhook_dead_letters WHERE webhook_id = $1 AND position = $2")
        .bind(webhook)
        .bind(position)
        .execute(pool)
        .await?;
    Ok(())
}
