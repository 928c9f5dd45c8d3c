//! The read model made again from the outbox's history: every stored
//! event of its topics, in the order they were written, applied by the
//! consumer's own code, in one transaction that holds the tables (so a
//! reader sees the old figures or the new ones, never half). Events the
//! live consumer delivers meanwhile wait for the lock and then change
//! nothing: every write is idempotent.

use aftercare_platform::error::Error;
use aftercare_platform::outbox::Event;
use sqlx::PgPool;

use crate::{projection, store};

/// Events read per statement.
const BATCH: i64 = 1000;

/// An outbox row: id, seq, topic, aggregate, payload, when.
type Row = (
    uuid::Uuid,
    i64,
    String,
    String,
    Vec<u8>,
    aftercare_kernel::DateTime<aftercare_kernel::Utc>,
);

/// Rebuilds the read model; the number of events applied.
pub async fn rebuild(pool: &PgPool) -> Result<u64, Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(&format!("TRUNCATE {}", store::TABLES))
        .execute(&mut *tx)
        .await?;
    let topics = projection::topics();
    let (mut after, mut applied) = (i64::MIN, 0u64);
    loop {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, seq, topic, aggregate_id, payload, occurred_at FROM platform.outbox_events
                  WHERE topic = ANY ($1) AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(&topics)
        .bind(after)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.1;
        for (id, seq, topic, aggregate_id, payload, occurred_at) in rows {
            let event = Event {
                id,
                seq,
                topic,
                aggregate_id,
                payload,
                occurred_at,
            };
            projection::apply(&mut tx, &event)
                .await
                .map_err(|e| Error::internal(format!("event {id}: {e}")))?;
            applied += 1;
        }
    }
    tx.commit().await?;
    Ok(applied)
}
