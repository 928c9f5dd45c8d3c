//! The transactional outbox: typed events (protobuf messages from `proto/`)
//! are written in the transaction of the change they describe, and applied
//! by in-process consumers in the transaction that claims them: a handler's
//! effect commits with its "delivered" mark, or neither does.
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
//! - **Isolation**: each consumer runs its own loops, each handler call runs
//!   in a task of its own (owning the claim's transaction) under a timeout,
//!   and a panic is caught and counted as a failed attempt, so one bad
//!   consumer cannot stall the others.
//! - **One event per claim**: each delivery is claimed, handled and marked
//!   in a transaction of its own, so a row lock is held for one handler call
//!   at most; a failed, panicking or timed-out call's effect rolls back to a
//!   savepoint and the failure is recorded while the claim still holds the
//!   delivery (no other loop retries it before its backoff).

mod attempt;
mod dead;
mod dispatch;
mod wake;

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::Error;

pub use dead::{DeadLetter, dead_letters, discard, replay};
pub use dispatch::{
    DEFAULT_HANDLER_TIMEOUT, DEFAULT_MAX_ATTEMPTS, DispatchOptions, Dispatcher, MAX_BACKOFF, backoff, catch_up,
    deliverable_sql,
};
pub use wake::Waker;

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

/// A payload's required text field, or why the event cannot be applied.
pub fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, String> {
    if value.is_empty() {
        Err(format!("{field} missing"))
    } else {
        Ok(value)
    }
}

/// A payload's required instant, or why the event cannot be applied.
pub fn required_time(ts: Option<&prost_types::Timestamp>, field: &str) -> Result<DateTime<Utc>, String> {
    ts.and_then(crate::wire::from_timestamp)
        .ok_or_else(|| format!("{field} missing or invalid"))
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

/// Writes many events of one type in one statement, each about its own
/// aggregate, in the order given (a delivery of a 10,000-unit line writes
/// 10,000 registrations' events at once, not one round trip each).
pub async fn enqueue_many<M: prost::Message + prost::Name>(
    tx: &mut PgConnection,
    events: &[(String, M)],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // Statements of at most CHUNK events keep each one's arrays small.
    const CHUNK: usize = 5_000;
    for chunk in events.chunks(CHUNK) {
        enqueue_chunk(tx, chunk, now).await?;
    }
    Ok(())
}

async fn enqueue_chunk<M: prost::Message + prost::Name>(
    tx: &mut PgConnection,
    events: &[(String, M)],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::now_v7()).collect();
    let aggregates: Vec<&str> = events.iter().map(|(a, _)| a.as_str()).collect();
    let payloads: Vec<Vec<u8>> = events.iter().map(|(_, m)| m.encode_to_vec()).collect();
    let positions: Vec<i32> = (0..events.len() as i32).collect();
    sqlx::query(
        "WITH event AS (
             INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
             SELECT e.id, $1, e.aggregate_id, e.payload, $5
             FROM UNNEST($2::uuid[], $3::text[], $4::bytea[], $6::int[]) AS e (id, aggregate_id, payload, position)
             ORDER BY e.position
             RETURNING id, aggregate_id, seq)
         INSERT INTO platform.outbox_deliveries (consumer, event_id, aggregate_id, seq, next_attempt_at)
         SELECT c.name, event.id, event.aggregate_id, event.seq, $5 FROM platform.outbox_consumers c, event
         WHERE cardinality(c.topics) = 0 OR $1 = ANY (c.topics)",
    )
    .bind(M::full_name())
    .bind(ids)
    .bind(aggregates)
    .bind(payloads)
    .bind(now)
    .bind(positions)
    .execute(&mut *tx)
    .await?;
    Ok(())
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

/// An in-process consumer. `handle` works in `tx`, the transaction that
/// claimed the delivery: its effect and the delivery's "delivered" mark
/// commit together, or neither does (a failure, a panic or a timeout rolls
/// the effect back and the event is retried). Handlers should still be
/// idempotent: events about one thing can also arrive from a replay.
pub trait EventHandler: Send + Sync + 'static {
    /// The consumer's stable name; its delivery rows are keyed by it.
    fn name(&self) -> &str;
    /// Topics to receive ([`topic`] of each message type); empty means all.
    fn topics(&self) -> Vec<String>;
    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a>;
}
