//! The transactional outbox: typed events (protobuf messages from `proto/`)
//! are written in the transaction of the change they describe, and delivered
//! at least once to in-process consumers.
//!
//! - **Topics** are the events' protobuf full names
//!   (`aftercare.orders.events.v1.OrderRecorded`), so a topic is defined once,
//!   by its message, and a consumer decodes exactly the type it subscribed to.
//! - **Per-consumer delivery rows**, made in the event's own transaction and
//!   claimed with `FOR UPDATE SKIP LOCKED`: replicas share the work, and an
//!   event whose transaction commits late is still delivered (there is no
//!   "id greater than my cursor" to skip it).
//! - **Order per aggregate**: a consumer never gets an event while an earlier
//!   event of the same aggregate (by `seq`) is undelivered for it, retries
//!   and dead letters included. Writers of one aggregate hold its row lock,
//!   so `seq` follows their commit order.
//! - **Retries** with exponential backoff (1 s, 2 s, 4 s, ... capped at one
//!   hour), at most `max_attempts` times; then the delivery is a **dead
//!   letter** until an admin replays it ([`dead_letters`], [`replay`]).
//! - **Isolation**: each consumer runs its own loop, each handler call runs
//!   in a task of its own under a timeout, and a panic is caught and counted
//!   as a failed attempt, so one bad consumer cannot stall the others.
//! - **One event per claim**: each delivery is claimed, handled and marked
//!   in a transaction of its own, so a row lock is held for one handler call
//!   at most, and a handler task never outlives its claim (it is aborted
//!   with it), so no replica can run an event a second time concurrently.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aftercare_kernel::clock::SharedClock;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::error::Error;

/// A stored event as consumers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    /// Position in the outbox; orders the events of one aggregate.
    pub seq: i64,
    /// The protobuf full name of the payload's message.
    pub topic: String,
    /// The id of the thing the event is about (an order id, a return id).
    pub aggregate_id: String,
    /// The message, protobuf-encoded.
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
}

/// The topic of events carrying `M`.
pub fn topic<M: prost::Name>() -> String {
    M::full_name()
}

impl Event {
    /// The payload as `M`, if this event carries an `M`.
    pub fn decode<M: prost::Message + prost::Name + Default>(&self) -> Result<Option<M>, String> {
        if self.topic != M::full_name() {
            return Ok(None);
        }
        M::decode(self.payload.as_slice())
            .map(Some)
            .map_err(|e| format!("{}: undecodable payload: {e}", self.topic))
    }
}

/// Writes `message` as an event about `aggregate_id` in the caller's
/// transaction, queued for every consumer subscribed to its topic.
pub async fn enqueue<M: prost::Message + prost::Name>(
    tx: &mut PgConnection,
    aggregate_id: &str,
    message: &M,
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    enqueue_raw(tx, &M::full_name(), aggregate_id, &message.encode_to_vec(), now).await
}

/// [`enqueue`] for an already encoded payload.
pub async fn enqueue_raw(
    tx: &mut PgConnection,
    topic: &str,
    aggregate_id: &str,
    payload: &[u8],
    now: DateTime<Utc>,
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    // One statement: the event, and a delivery row per subscribed consumer.
    sqlx::query(
        "WITH event AS (
             INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING seq)
         INSERT INTO platform.outbox_deliveries (consumer, event_id, aggregate_id, seq, next_attempt_at)
         SELECT c.name, $1, $3, event.seq, $5 FROM platform.outbox_consumers c, event
         WHERE cardinality(c.topics) = 0 OR $2 = ANY (c.topics)",
    )
    .bind(id)
    .bind(topic)
    .bind(aggregate_id)
    .bind(payload)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// Registers (or updates) a consumer. It receives events emitted after this.
pub async fn register_consumer(pool: &PgPool, name: &str, topics: &[String]) -> Result<(), Error> {
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
/// idempotent (an event may arrive again after a crash, a timeout or a retry).
pub trait EventHandler: Send + Sync + 'static {
    /// The consumer's stable name; its delivery rows are keyed by it.
    fn name(&self) -> &str;
    /// Topics to receive ([`topic`] of each message type); empty means all.
    fn topics(&self) -> Vec<String>;
    fn handle<'a>(&'a self, event: &'a Event) -> HandlerFuture<'a>;
}

/// How many attempts a delivery gets before it becomes a dead letter, by
/// default: with the backoff below, about four hours of retries.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 15;
/// How long one handler call may take by default before it counts as failed.
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Delay before the next attempt after `attempts` failures: 1 s, 2 s, 4 s, …
/// capped at [`MAX_BACKOFF`].
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 13) as u32 - 1;
    Duration::from_secs(2u64.pow(exp)).min(MAX_BACKOFF)
}

#[derive(Debug, Clone, Copy)]
pub struct DispatchOptions {
    /// How often each consumer looks for due work when not woken.
    pub poll_interval: Duration,
    pub batch_size: i64,
    pub max_attempts: i32,
    pub handler_timeout: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            poll_interval: Duration::from_millis(500),
            batch_size: 100,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            handler_timeout: DEFAULT_HANDLER_TIMEOUT,
        }
    }
}

/// Delivers queued events to the registered handlers.
pub struct Dispatcher {
    pool: PgPool,
    clock: SharedClock,
    handlers: Vec<Arc<dyn EventHandler>>,
    options: DispatchOptions,
    wake: Arc<Notify>,
}

/// What happened to one attempt.
enum Outcome {
    Delivered,
    Failed(String),
}

impl Dispatcher {
    pub fn new(pool: PgPool, clock: SharedClock, options: DispatchOptions) -> Dispatcher {
        Dispatcher {
            pool,
            clock,
            handlers: Vec::new(),
            options,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Adds a handler and registers its consumer.
    pub async fn register(&mut self, handler: Arc<dyn EventHandler>) -> Result<(), Error> {
        register_consumer(&self.pool, handler.name(), &handler.topics()).await?;
        self.handlers.push(handler);
        Ok(())
    }

    /// A handle that makes the dispatcher look for work now instead of at its
    /// next poll.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Delivers up to a batch of due events to each handler, one handler
    /// after the other; returns how many deliveries were attempted.
    pub async fn run_once(&self) -> Result<usize, Error> {
        let mut attempted = 0;
        for handler in &self.handlers {
            attempted += deliver_batch(&self.pool, &self.clock, &self.options, handler).await?;
        }
        Ok(attempted)
    }

    /// Delivers until `shutdown` turns true, each consumer in a loop of its
    /// own: a batch, then (when there was nothing to do) a wait for the poll
    /// interval or a wake-up. Returns an error if a consumer's loop dies
    /// before shutdown (the server then reports itself not serving).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), String> {
        if self.handlers.is_empty() {
            // Nothing to deliver (a deployment of services that consume no
            // events), but alive until shutdown like any other.
            let _ = shutdown.wait_for(|stop| *stop).await;
            return Ok(());
        }
        let mut loops = JoinSet::new();
        let wake = self.wake.clone();
        // Every loop is woken on a commit; Notify wakes one waiter, so one
        // relay task fans each wake-up out to all of them.
        let (fan_tx, _) = tokio::sync::broadcast::channel::<()>(1);
        for handler in self.handlers {
            let (pool, clock, options) = (self.pool.clone(), self.clock.clone(), self.options);
            let (mut shutdown, mut woken) = (shutdown.clone(), fan_tx.subscribe());
            loops.spawn(async move {
                let name = handler.name().to_owned();
                while !*shutdown.borrow() {
                    let busy = match deliver_batch(&pool, &clock, &options, &handler).await {
                        Ok(n) => n > 0,
                        Err(e) => {
                            tracing::error!(consumer = %name, error = %e, "outbox dispatch failed");
                            false
                        }
                    };
                    if busy {
                        continue;
                    }
                    tokio::select! {
                        changed = shutdown.changed() => {
                            // A dropped sender is a shutdown too.
                            if changed.is_err() {
                                break;
                            }
                        }
                        _ = woken.recv() => {}
                        _ = tokio::time::sleep(options.poll_interval) => {}
                    }
                }
                name
            });
        }
        let mut shutdown_rx = shutdown.clone();
        loop {
            tokio::select! {
                _ = wake.notified() => { let _ = fan_tx.send(()); }
                _ = shutdown_rx.wait_for(|stop| *stop) => break,
                ended = loops.join_next() => {
                    let why = match ended {
                        Some(Ok(name)) => format!("the loop of consumer {name} ended"),
                        Some(Err(e)) => format!("a consumer loop died: {e}"),
                        None => "no consumer loop is left".to_owned(),
                    };
                    if *shutdown.borrow() {
                        break;
                    }
                    tracing::error!(%why, "outbox dispatcher is down");
                    loops.abort_all();
                    return Err(why);
                }
            }
        }
        // A loop in the middle of a handler call would hold shutdown up for as
        // long as the call takes: abort them all. An aborted call's claim and
        // the handler's own transaction roll back; it is delivered again later.
        loops.abort_all();
        while loops.join_next().await.is_some() {}
        Ok(())
    }
}

/// Aborts a spawned task when dropped: a handler never outlives the attempt
/// (and the claim) it belongs to.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one handler call in a task of its own, so that a panic is caught and
/// a call past the timeout is cut off.
async fn attempt(handler: &Arc<dyn EventHandler>, event: Event, timeout: Duration) -> Outcome {
    let handler = handler.clone();
    let mut task = AbortOnDrop(tokio::spawn(async move { handler.handle(&event).await }));
    match tokio::time::timeout(timeout, &mut task.0).await {
        Ok(Ok(Ok(()))) => Outcome::Delivered,
        Ok(Ok(Err(error))) => Outcome::Failed(error),
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text panic".to_owned());
            Outcome::Failed(format!("handler panicked: {message}"))
        }
        Ok(Err(join)) => Outcome::Failed(format!("handler task failed: {join}")),
        Err(_) => Outcome::Failed(format!("handler timed out after {timeout:?}")),
    }
}

async fn deliver_batch(
    pool: &PgPool,
    clock: &SharedClock,
    options: &DispatchOptions,
    handler: &Arc<dyn EventHandler>,
) -> Result<usize, Error> {
    let mut attempted = 0;
    while attempted < options.batch_size as usize && deliver_one(pool, clock, options, handler, None).await? {
        attempted += 1;
    }
    Ok(attempted)
}

/// Delivers to `handler`, now and in the caller's task, what its consumer
/// has due for one aggregate: read-your-writes across services. A service
/// about to read what it keeps from another's events (returns, an order it
/// is asked about) catches that aggregate up first, so a write the other
/// service acknowledged is not invisible to it. Best effort and never
/// blocking: a delivery the dispatcher is handling right now is skipped (it
/// lands a moment later), and a failure is the dispatcher's to retry.
pub async fn catch_up(pool: &PgPool, clock: &SharedClock, handler: &Arc<dyn EventHandler>, aggregate_id: &str) {
    let options = DispatchOptions::default();
    let mut delivered = 0;
    while delivered < options.batch_size {
        match deliver_one(pool, clock, &options, handler, Some(aggregate_id)).await {
            Ok(true) => delivered += 1,
            Ok(false) => break,
            Err(e) => {
                tracing::warn!(consumer = handler.name(), aggregate_id, error = %e, "catching up failed");
                break;
            }
        }
    }
}

/// Claims the next due delivery of `handler`'s consumer (of one aggregate,
/// or of any), skipping claimed ones, handles it and records the outcome,
/// all in one transaction; false when nothing was due.
async fn deliver_one(
    pool: &PgPool,
    clock: &SharedClock,
    options: &DispatchOptions,
    handler: &Arc<dyn EventHandler>,
    aggregate: Option<&str>,
) -> Result<bool, Error> {
    let now = clock.now();
    let consumer = handler.name().to_owned();
    let mut tx = pool.begin().await?;
    // Only the earliest undelivered event of each aggregate is eligible, so
    // nothing overtakes an event that is failing, backing off or dead.
    let due = sqlx::query_as::<_, (Uuid, i64, String, String, Vec<u8>, DateTime<Utc>, i32)>(
        "SELECT e.id, e.seq, e.topic, e.aggregate_id, e.payload, e.occurred_at, d.attempts
         FROM platform.outbox_deliveries d
         JOIN platform.outbox_events e ON e.id = d.event_id
         WHERE d.consumer = $1 AND d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= $2
           AND ($3::text IS NULL OR d.aggregate_id = $3)
           AND NOT EXISTS (
               SELECT 1 FROM platform.outbox_deliveries p
               WHERE p.consumer = d.consumer AND p.aggregate_id = d.aggregate_id
                 AND p.seq < d.seq AND p.delivered_at IS NULL)
         ORDER BY d.seq
         LIMIT 1
         FOR UPDATE OF d SKIP LOCKED",
    )
    .bind(&consumer)
    .bind(now)
    .bind(aggregate)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, seq, topic, aggregate_id, payload, occurred_at, attempts)) = due else {
        return Ok(false);
    };
    let event = Event {
        id,
        seq,
        topic,
        aggregate_id,
        payload,
        occurred_at,
    };
    let attempts = attempts + 1;
    match attempt(handler, event.clone(), options.handler_timeout).await {
        Outcome::Delivered => {
            sqlx::query(
                "UPDATE platform.outbox_deliveries SET delivered_at = $3, attempts = $4, last_error = NULL
                 WHERE consumer = $1 AND event_id = $2",
            )
            .bind(&consumer)
            .bind(event.id)
            .bind(now)
            .bind(attempts)
            .execute(&mut *tx)
            .await?;
        }
        Outcome::Failed(error) => {
            let dead = attempts >= options.max_attempts;
            let retry_at = now + chrono::Duration::from_std(backoff(attempts)).expect("backoff in range");
            if dead {
                tracing::error!(%consumer, event_id = %event.id, topic = %event.topic, attempts, %error,
                    "event delivery failed for the last time; it is a dead letter now");
            } else {
                tracing::warn!(%consumer, event_id = %event.id, topic = %event.topic, attempts, %error,
                    "event delivery failed; will retry");
            }
            sqlx::query(
                "UPDATE platform.outbox_deliveries
                 SET attempts = $3, next_attempt_at = $4, last_error = $5, dead_at = $6
                 WHERE consumer = $1 AND event_id = $2",
            )
            .bind(&consumer)
            .bind(event.id)
            .bind(attempts)
            .bind(retry_at)
            .bind(error.chars().take(2000).collect::<String>())
            .bind(dead.then_some(now))
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

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

/// Dead letters, oldest first, optionally of one consumer.
pub async fn dead_letters(pool: &PgPool, consumer: Option<&str>) -> Result<Vec<DeadLetter>, Error> {
    let rows = sqlx::query_as::<_, (String, Uuid, String, String, i32, Option<String>, DateTime<Utc>)>(
        "SELECT d.consumer, d.event_id, e.topic, e.aggregate_id, d.attempts, d.last_error, d.dead_at
         FROM platform.outbox_deliveries d JOIN platform.outbox_events e ON e.id = d.event_id
         WHERE d.dead_at IS NOT NULL AND ($1::text IS NULL OR d.consumer = $1)
         ORDER BY d.dead_at, d.seq",
    )
    .bind(consumer)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped_at_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(16));
        assert_eq!(backoff(12), Duration::from_secs(2048));
        assert_eq!(backoff(13), MAX_BACKOFF);
        assert_eq!(backoff(i32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn retries_span_hours_before_a_dead_letter() {
        let total: Duration = (1..DEFAULT_MAX_ATTEMPTS).map(backoff).sum();
        assert!(total > Duration::from_secs(3 * 3600), "{total:?}");
    }
}
