//! The transactional outbox: events are written in the transaction of the
//! change they describe, and delivered at least once to in-process consumers.
//!
//! Each registered consumer gets a delivery row per event of its topics, made
//! in the event's own transaction. Dispatchers claim due rows with
//! `FOR UPDATE SKIP LOCKED`, so several replicas share the work without
//! delivering a row twice at once, and an event whose transaction commits late
//! is still delivered (there is no "id greater than my cursor" to skip it).
//! A failed delivery is retried with exponential backoff.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::clock::SharedClock;
use crate::error::Error;

/// A stored event as consumers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    /// E.g. "orders.OrderRecorded".
    pub topic: String,
    /// The id of the thing the event is about (an order id, a return id).
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// Writes an event in the caller's transaction and queues it for every
/// consumer subscribed to its topic.
pub async fn enqueue(
    tx: &mut PgConnection,
    topic: &str,
    aggregate_id: &str,
    payload: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(topic)
    .bind(aggregate_id)
    .bind(&payload)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO platform.outbox_deliveries (consumer, event_id, next_attempt_at)
         SELECT name, $1, $3 FROM platform.outbox_consumers
         WHERE cardinality(topics) = 0 OR $2 = ANY (topics)",
    )
    .bind(id)
    .bind(topic)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// Registers (or updates) a consumer. It receives events emitted after this.
pub async fn register_consumer(pool: &PgPool, name: &str, topics: &[&str]) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO platform.outbox_consumers (name, topics) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET topics = EXCLUDED.topics",
    )
    .bind(name)
    .bind(topics)
    .execute(pool)
    .await?;
    Ok(())
}

pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// An in-process consumer. Delivery is at least once: `handle` must be
/// idempotent (an event may arrive again after a crash or a retry).
pub trait EventHandler: Send + Sync + 'static {
    /// The consumer's stable name; its delivery rows are keyed by it.
    fn name(&self) -> &str;
    /// Topics to receive; empty means all.
    fn topics(&self) -> Vec<String>;
    fn handle<'a>(&'a self, event: &'a Event) -> HandlerFuture<'a>;
}

/// Delay before the next attempt after `attempts` failures: 1 s, 2 s, 4 s, …
/// capped at one hour.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 12) as u32 - 1;
    Duration::from_secs(2u64.pow(exp)).min(Duration::from_secs(3600))
}

/// Delivers queued events to the registered handlers.
pub struct Dispatcher {
    pool: PgPool,
    clock: SharedClock,
    handlers: Vec<Arc<dyn EventHandler>>,
    batch_size: i64,
    poll_interval: Duration,
    wake: Arc<Notify>,
}

impl Dispatcher {
    pub fn new(pool: PgPool, clock: SharedClock, poll_interval: Duration) -> Dispatcher {
        Dispatcher {
            pool,
            clock,
            handlers: Vec::new(),
            batch_size: 100,
            poll_interval,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Adds a handler and registers its consumer.
    pub async fn register(&mut self, handler: Arc<dyn EventHandler>) -> Result<(), Error> {
        let topics = handler.topics();
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        register_consumer(&self.pool, handler.name(), &topics).await?;
        self.handlers.push(handler);
        Ok(())
    }

    /// A handle that makes the dispatcher look for work now instead of at its
    /// next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Delivers one batch of due events to each handler; returns how many
    /// deliveries were attempted.
    pub async fn run_once(&self) -> Result<usize, Error> {
        let mut attempted = 0;
        for handler in &self.handlers {
            attempted += self.deliver_batch(handler.as_ref()).await?;
        }
        Ok(attempted)
    }

    async fn deliver_batch(&self, handler: &dyn EventHandler) -> Result<usize, Error> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let due: Vec<(Event, i32)> =
            sqlx::query_as::<_, (Uuid, String, String, serde_json::Value, DateTime<Utc>, i32)>(
                "SELECT e.id, e.topic, e.aggregate_id, e.payload, e.occurred_at, d.attempts
             FROM platform.outbox_deliveries d
             JOIN platform.outbox_events e ON e.id = d.event_id
             WHERE d.consumer = $1 AND d.delivered_at IS NULL AND d.next_attempt_at <= $2
             ORDER BY d.next_attempt_at, e.occurred_at, e.id
             LIMIT $3
             FOR UPDATE OF d SKIP LOCKED",
            )
            .bind(handler.name())
            .bind(now)
            .bind(self.batch_size)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id, topic, aggregate_id, payload, occurred_at, attempts)| {
                (
                    Event {
                        id,
                        topic,
                        aggregate_id,
                        payload,
                        occurred_at,
                    },
                    attempts,
                )
            })
            .collect();

        for (event, attempts) in &due {
            match handler.handle(event).await {
                Ok(()) => {
                    sqlx::query(
                        "UPDATE platform.outbox_deliveries SET delivered_at = $3, attempts = attempts + 1,
                         last_error = NULL WHERE consumer = $1 AND event_id = $2",
                    )
                    .bind(handler.name())
                    .bind(event.id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                Err(error) => {
                    let attempts = attempts + 1;
                    let retry_at = now + chrono::Duration::from_std(backoff(attempts)).expect("backoff in range");
                    tracing::warn!(consumer = handler.name(), event_id = %event.id, topic = %event.topic,
                        attempts, %error, "event delivery failed; will retry");
                    sqlx::query(
                        "UPDATE platform.outbox_deliveries SET attempts = $3, next_attempt_at = $4, last_error = $5
                         WHERE consumer = $1 AND event_id = $2",
                    )
                    .bind(handler.name())
                    .bind(event.id)
                    .bind(attempts)
                    .bind(retry_at)
                    .bind(error.chars().take(2000).collect::<String>())
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(due.len())
    }

    /// Delivers until `shutdown` turns true: a batch, then (when there was
    /// nothing to do) a wait for the poll interval or a wake-up.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if self.handlers.is_empty() {
            return;
        }
        while !*shutdown.borrow() {
            let busy = match self.run_once().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::error!(error = %e, "outbox dispatch failed");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll_interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(100), Duration::from_secs(2048));
        assert!(backoff(i32::MAX) <= Duration::from_secs(3600));
    }
}
