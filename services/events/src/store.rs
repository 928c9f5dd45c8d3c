//! The stream's order in the outbox: `platform.outbox_events.position`.
//!
//! Positions are handed out by one positioner at a time (a transaction
//! holding an advisory lock), to the committed events without one, in
//! `seq` order, each batch right after the last position given. So
//! positions only ever become visible in increasing order with no gaps,
//! and a reader's "after position N" never skips an event that committed
//! late: it gets a position after N. An aggregate's events keep their
//! commit order: their writers hold the aggregate's row lock, so their
//! `seq` follows commit order, and no event is visible to a positioner
//! before one committed earlier.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Gives up to `limit` committed events without a position the next
/// positions; how many it gave. When another positioner is at work, none:
/// its positions are seen at the next read, and nobody waits holding a
/// connection.
pub async fn position_pending(pool: &PgPool, limit: i64) -> Result<u64, Error> {
    let mut tx = pool.begin().await?;
    let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext('platform.event_positions'))")
        .fetch_one(&mut *tx)
        .await?;
    if !ours {
        return Ok(0);
    }
    // A statement of its own after the lock: under READ COMMITTED its
    // snapshot sees the previous positioner's commit.
    let given = sqlx::query(
        "WITH last AS (SELECT coalesce(max(position), 0) AS p FROM platform.outbox_events
                       WHERE position IS NOT NULL),
              next AS (SELECT id, row_number() OVER (ORDER BY seq) AS n
                       FROM (SELECT id, seq FROM platform.outbox_events WHERE position IS NULL
                             ORDER BY seq LIMIT $1) pending)
         UPDATE platform.outbox_events e SET position = last.p + next.n
         FROM last, next WHERE e.id = next.id",
    )
    .bind(limit)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(given)
}

/// The last position given (0 before any).
pub async fn last_position(conn: &mut PgConnection) -> Result<i64, Error> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(position), 0) FROM platform.outbox_events WHERE position IS NOT NULL")
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// A positioned event as the stream sends it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Positioned {
    pub position: i64,
    pub id: Uuid,
    pub topic: String,
    pub aggregate_id: String,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
}

/// Up to `limit` events of `topics` (empty: all) after `position`, in order.
pub async fn after(
    conn: &mut PgConnection,
    position: i64,
    topics: &[String],
    limit: i64,
) -> Result<Vec<Positioned>, Error> {
    let rows = if topics.is_empty() {
        sqlx::query_as(
            "SELECT position, id, topic, aggregate_id, payload, occurred_at FROM platform.outbox_events
             WHERE position > $1 AND position IS NOT NULL ORDER BY position LIMIT $2",
        )
        .bind(position)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_as(
            "SELECT position, id, topic, aggregate_id, payload, occurred_at FROM platform.outbox_events
             WHERE position > $1 AND position IS NOT NULL AND topic = ANY($3) ORDER BY position LIMIT $2",
        )
        .bind(position)
        .bind(limit)
        .bind(topics)
        .fetch_all(&mut *conn)
        .await?
    };
    Ok(rows)
}
