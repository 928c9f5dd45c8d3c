//! The NATS JetStream relay (`--nats-url`): the outbox published to
//! JetStream, every event once, in stream order, on subject
//! `aftercare.<area>.<Event>` (`aftercare.returns.ReturnReceived`) with
//! `Nats-Msg-Id` set to the event id.
//!
//! The relay follows the stream's positions with a cursor of its own
//! (`events.relay_cursors`), claimed `FOR UPDATE SKIP LOCKED` so one server
//! relays at a time. It publishes a batch, waits for JetStream to
//! acknowledge every message, then moves the cursor in the claiming
//! transaction. A crash in between publishes the batch again: JetStream
//! drops what it already has by `Nats-Msg-Id` within the stream's
//! duplicate window (10 minutes). So every event arrives, at least once,
//! and within the window exactly once.

use std::time::Duration;

use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;
use sqlx::PgPool;
use tokio::sync::Mutex;

use crate::store::{after, position_pending};

/// The JetStream stream the relay publishes to (created if missing).
pub const STREAM: &str = "AFTERCARE";
/// How long JetStream remembers a message id to drop a repeat.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);
/// Events per batch: published together, acknowledged, then recorded.
const BATCH: i64 = 500;
/// The relay's row in `events.relay_cursors`.
const CURSOR: &str = "nats";

pub struct Relay {
    pool: PgPool,
    url: String,
    /// Connected on first use, and again after a failure.
    jetstream: Mutex<Option<jetstream::Context>>,
}

impl Relay {
    pub fn new(pool: PgPool, url: String) -> Relay {
        Relay {
            pool,
            url,
            jetstream: Mutex::new(None),
        }
    }

    async fn connect(&self) -> Result<jetstream::Context, Error> {
        let mut slot = self.jetstream.lock().await;
        if let Some(js) = slot.as_ref() {
            return Ok(js.clone());
        }
        let unavailable = |e: &dyn std::fmt::Display| Error::Unavailable(format!("NATS at {}: {e}", self.url));
        let client = async_nats::connect(&self.url).await.map_err(|e| unavailable(&e))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(stream::Config {
            name: STREAM.into(),
            subjects: vec!["aftercare.>".into()],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        })
        .await
        .map_err(|e| unavailable(&e))?;
        *slot = Some(js.clone());
        Ok(js)
    }

    /// Relays one batch; whether it was full (more may be waiting).
    async fn relay_batch(&self) -> Result<bool, Error> {
        position_pending(&self.pool, 5_000).await?;
        let js = self.connect().await?;
        let mut tx = self.pool.begin().await?;
        let cursor: Option<i64> = sqlx::query_scalar(
            "SELECT after_position FROM events.relay_cursors WHERE name = $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(CURSOR)
        .fetch_optional(&mut *tx)
        .await?;
        // Another server is relaying.
        let Some(cursor) = cursor else { return Ok(false) };
        let events = after(&mut tx, cursor, &[], BATCH).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            return Ok(false);
        };
        // Published one after the other, acknowledged together.
        let mut acks = Vec::with_capacity(events.len());
        for e in &events {
            let message = PublishMessage::build()
                .payload(Bytes::from(e.payload.clone()))
                .message_id(e.id.to_string())
                .header("Aftercare-Topic", e.topic.as_str())
                .header("Aftercare-Aggregate-Id", e.aggregate_id.as_str())
                .header("Aftercare-Cursor", e.position.to_string().as_str())
                .header("Aftercare-Occurred-At", e.occurred_at.to_rfc3339().as_str());
            let ack = js.send_publish(subject(&e.topic), message).await;
            acks.push(ack.map_err(|e| self.failed(e))?);
        }
        for ack in acks {
            ack.await.map_err(|e| self.failed(e))?;
        }
        sqlx::query("UPDATE events.relay_cursors SET after_position = $2 WHERE name = $1")
            .bind(CURSOR)
            .bind(last)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(events.len() as i64 == BATCH)
    }

    /// A publish failed: the next run connects anew and publishes the batch
    /// again (what JetStream has is dropped as a duplicate).
    fn failed(&self, e: impl std::fmt::Display) -> Error {
        if let Ok(mut slot) = self.jetstream.try_lock() {
            *slot = None;
        }
        Error::Unavailable(format!("publishing to NATS at {}: {e}", self.url))
    }
}

/// `aftercare.returns.events.v1.ReturnReceived` -> `aftercare.returns.ReturnReceived`.
pub fn subject(topic: &str) -> String {
    let mut parts = topic.split('.');
    let area = parts.nth(1).unwrap_or("unknown");
    let event = topic.rsplit('.').next().unwrap_or(topic);
    format!("aftercare.{area}.{event}")
}

impl Job for Relay {
    fn name(&self) -> &'static str {
        "events.nats-relay"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.relay_batch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_area_and_event() {
        assert_eq!(
            subject("aftercare.returns.events.v1.ReturnReceived"),
            "aftercare.returns.ReturnReceived"
        );
        assert_eq!(
            subject("aftercare.maintenance.events.v1.MaintenanceReminderDue"),
            "aftercare.maintenance.MaintenanceReminderDue"
        );
    }
}
