//! Dead letters: deliveries that used up their attempts, for an admin to
//! list, replay or discard (`aftercare outbox dead | replay | discard`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Error;

/// A delivery that used up its attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub consumer: String,
    pub event_id: Uuid,
    pub topic: String,
    pub aggregate_id: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dead_at: DateTime<Utc>,
}

/// Dead letters, oldest first, optionally of one consumer, at most `limit`
/// (all when `None`).
pub async fn dead_letters(pool: &PgPool, consumer: Option<&str>, limit: Option<i64>) -> Result<Vec<DeadLetter>, Error> {
    let rows = sqlx::query_as::<_, (String, Uuid, String, String, i32, Option<String>, DateTime<Utc>)>(
        "SELECT d.consumer, d.event_id, e.topic, e.aggregate_id, d.attempts, d.last_error, d.dead_at
         FROM platform.outbox_deliveries d JOIN platform.outbox_events e ON e.id = d.event_id
         WHERE d.dead_at IS NOT NULL AND ($1::text IS NULL OR d.consumer = $1)
         ORDER BY d.dead_at, d.seq
         LIMIT $2",
    )
    .bind(consumer)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(consumer, event_id, topic, aggregate_id, attempts, last_error, dead_at)| DeadLetter {
                consumer,
                event_id,
                topic,
                aggregate_id,
                attempts,
                last_error,
                dead_at,
            },
        )
        .collect())
}

/// Puts dead letters back in the queue with a fresh set of attempts, due
/// now: all of them, or those of one consumer and/or one event. Returns how
/// many were replayed.
pub async fn replay(
    pool: &PgPool,
    consumer: Option<&str>,
    event_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    Ok(sqlx::query(
        "UPDATE platform.outbox_deliveries SET dead_at = NULL, attempts = 0, next_attempt_at = $3
         WHERE dead_at IS NOT NULL AND ($1::text IS NULL OR consumer = $1) AND ($2::uuid IS NULL OR event_id = $2)",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Gives up on dead letters for good (a poison event that no fix of its
/// consumer will ever handle): they count as delivered, with a note, and
/// stop holding back later events of their aggregate. All of them, or those
/// of one consumer and/or one event; returns how many.
pub async fn discard(
    pool: &PgPool,
    consumer: Option<&str>,
    event_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    Ok(sqlx::query(
        "UPDATE platform.outbox_deliveries
         SET dead_at = NULL, delivered_at = $3, last_error = 'discarded by an admin: ' || COALESCE(last_error, '')
         WHERE dead_at IS NOT NULL AND ($1::text IS NULL OR consumer = $1) AND ($2::uuid IS NULL OR event_id = $2)",
    )
    .bind(consumer)
    .bind(event_id)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected())
}
