//! The dispatcher: a few loops per consumer, one claim per delivery, order
//! per aggregate, retries with backoff, dead letters, timeouts and caught
//! panics.

use std::sync::Arc;
use std::time::Duration;

use aftercare_kernel::clock::SharedClock;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::attempt::{Outcome, attempt};
use super::{Event, EventHandler, Waker, register_consumer};
use crate::error::Error;

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
    /// Loops per consumer. A loop delivers one event per transaction (and
    /// commit); several loops share the consumer's work (SKIP LOCKED) and
    /// their commits are flushed together.
    /// One aggregate's events still go one at a time and in order: an event
    /// is not due while an earlier one of its aggregate is undelivered. The
    /// loops together take at most half the pool's connections.
    pub workers_per_consumer: usize,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            poll_interval: Duration::from_millis(500),
            batch_size: 100,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            handler_timeout: DEFAULT_HANDLER_TIMEOUT,
            workers_per_consumer: 4,
        }
    }
}

/// Delivers queued events to the registered handlers.
pub struct Dispatcher {
    pool: PgPool,
    clock: SharedClock,
    handlers: Vec<Arc<dyn EventHandler>>,
    options: DispatchOptions,
    waker: Waker,
    /// How many consumer loops are waiting for work (a wake-up or the
    /// poll): what a test waits on to know the dispatcher is quiet.
    idle: watch::Sender<usize>,
}

impl Dispatcher {
    pub fn new(pool: PgPool, clock: SharedClock, options: DispatchOptions) -> Dispatcher {
        Dispatcher {
            pool,
            clock,
            handlers: Vec::new(),
            options,
            waker: Waker::default(),
            idle: watch::channel(0).0,
        }
    }

    /// The number of consumer loops waiting for work, as it changes.
    pub fn idle_loops(&self) -> watch::Receiver<usize> {
        self.idle.subscribe()
    }

    /// Adds a handler and registers its consumer.
    pub async fn register(&mut self, handler: Arc<dyn EventHandler>) -> Result<(), Error> {
        register_consumer(&self.pool, handler.name(), &handler.topics()).await?;
        self.handlers.push(handler);
        Ok(())
    }

    /// A handle that makes the dispatcher's consumers of the topics just
    /// committed look for work now instead of at their next poll.
    pub fn waker(&self) -> Waker {
        self.waker.clone()
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

    /// Delivers until `shutdown` turns true, each consumer in
    /// [`DispatchOptions::workers_per_consumer`] loops of its own: a batch,
    /// then (when there was nothing to do) a wait for the poll interval or a
    /// wake-up. Returns an error if a consumer's loop dies
    /// before shutdown (the server then reports itself not serving).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), String> {
        if self.handlers.is_empty() {
            // Nothing to deliver (a deployment of services that consume no
            // events), but alive until shutdown like any other.
            let _ = shutdown.wait_for(|stop| *stop).await;
            return Ok(());
        }
        let mut loops = JoinSet::new();
        // A commit wakes one loop of each consumer of its events' topics
        // (the consumer's other loops go on polling, and join in when that
        // one finds a batch): each woken loop costs Postgres a query.
        let consumer_wakes: Vec<_> = self.handlers.iter().map(|h| self.waker.subscribe(h.topics())).collect();
        // Each loop holds a connection (its claim, in which the handler
        // works): the loops together take at most half the pool, the rest
        // serves calls and catch-ups.
        let per_consumer = self.pool.options().get_max_connections() as usize / (2 * self.handlers.len());
        let workers = self.options.workers_per_consumer.min(per_consumer).max(1);
        for (handler, woken) in self
            .handlers
            .iter()
            .zip(&consumer_wakes)
            .flat_map(|(h, w)| std::iter::repeat_n((h.clone(), w.clone()), workers))
        {
            let (pool, clock, options) = (self.pool.clone(), self.clock.clone(), self.options);
            let mut shutdown = shutdown.clone();
            let idle = self.idle.clone();
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
                    idle.send_modify(|n| *n += 1);
                    let stop = tokio::select! {
                        // A dropped sender is a shutdown too.
                        changed = shutdown.changed() => changed.is_err(),
                        _ = woken.notified() => false,
                        _ = tokio::time::sleep(options.poll_interval) => false,
                    };
                    idle.send_modify(|n| *n -= 1);
                    if stop {
                        break;
                    }
                }
                name
            });
        }
        let mut shutdown_rx = shutdown.clone();
        tokio::select! {
            _ = shutdown_rx.wait_for(|stop| *stop) => {}
            ended = loops.join_next() => {
                let why = match ended {
                    Some(Ok(name)) => format!("the loop of consumer {name} ended"),
                    Some(Err(e)) => format!("a consumer loop died: {e}"),
                    None => "no consumer loop is left".to_owned(),
                };
                if !*shutdown.borrow() {
                    tracing::error!(%why, "outbox dispatcher is down");
                    loops.abort_all();
                    return Err(why);
                }
            }
        }
        // A loop in the middle of a handler call would hold shutdown up for as
        // long as the call takes: abort them all. An aborted call's claim
        // rolls back with the handler's effect; it is delivered again later.
        loops.abort_all();
        while loops.join_next().await.is_some() {}
        Ok(())
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
/// service acknowledged is not invisible to it. A delivery the dispatcher is
/// handling right now is waited for (its row lock), not skipped: skipping it
/// would read the facts without it. A failure is the dispatcher's to retry.
/// The caller must hold no lock the handler needs.
pub async fn catch_up(pool: &PgPool, clock: &SharedClock, handler: &Arc<dyn EventHandler>, aggregate_id: &str) {
    let options = DispatchOptions::default();
    for _ in 0..options.batch_size {
        if !has_pending(pool, clock, handler, aggregate_id).await {
            return;
        }
        match deliver_one(pool, clock, &options, handler, Some(aggregate_id)).await {
            Ok(true) => {}
            // The delivery waited for was delivered meanwhile (or failed
            // and backs off): look again at what is due now.
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(consumer = handler.name(), aggregate_id, error = %e, "catching up failed");
                return;
            }
        }
    }
}

/// An SQL condition on a delivery `d`: it is the earliest undelivered one of
/// its aggregate for its consumer (a dead one counts as undelivered), so
/// nothing overtakes an event that is failing, backing off or dead. A
/// correlated scalar subquery, not `NOT EXISTS`: the planner may turn that
/// into an anti join scanning every undelivered row of the consumer per
/// candidate (it did, misled by the statistics of a fast-growing table: 12
/// ms per claim at a 5,000-event backlog, so a backlog drained ever slower);
/// a scalar subquery is one index probe per candidate.
const FIRST_OF_ITS_AGGREGATE: &str = "d.seq = (SELECT min(p.seq) FROM platform.outbox_deliveries p
     WHERE p.consumer = d.consumer AND p.aggregate_id = d.aggregate_id AND p.delivered_at IS NULL)";

/// An SQL condition: `consumer` has a delivery of `aggregate` it could
/// take now — due, and with no earlier event of the aggregate undelivered
/// (the rule the dispatcher delivers by). An aggregate held back by a dead
/// or backing-off event is not pending: catching up could do nothing. The
/// arguments are SQL expressions (parameters, columns).
pub fn deliverable_sql(consumer: &str, aggregate: &str, now: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM platform.outbox_deliveries d
                 WHERE d.consumer = {consumer} AND d.aggregate_id = {aggregate} AND d.delivered_at IS NULL
                   AND d.dead_at IS NULL AND d.next_attempt_at <= {now} AND {FIRST_OF_ITS_AGGREGATE})"
    )
}

/// Whether `handler`'s consumer has a delivery of the aggregate it could
/// take now: one indexed read, no transaction (almost always, nothing is).
async fn has_pending(pool: &PgPool, clock: &SharedClock, handler: &Arc<dyn EventHandler>, aggregate_id: &str) -> bool {
    let pending = sqlx::query_scalar::<_, bool>(&format!("SELECT {}", deliverable_sql("$1", "$2", "$3")))
        .bind(handler.name())
        .bind(aggregate_id)
        .bind(clock.now())
        .fetch_one(pool)
        .await;
    // An error reads as pending: the delivery attempt reports it.
    !matches!(pending, Ok(false))
}

/// Claims the next due delivery of `handler`'s consumer, handles it and
/// records the outcome, all in one transaction; false when nothing was due.
/// Of any aggregate, it skips deliveries another worker has claimed; of one
/// aggregate (catching up), it waits for them.
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
    let wait = if aggregate.is_some() {
        // Catching up waits for a delivery in flight, but not for a hung
        // one (the dispatcher's own handler timeout is longer).
        sqlx::query("SET LOCAL lock_timeout = '2s'").execute(&mut *tx).await?;
        ""
    } else {
        "SKIP LOCKED"
    };
    // Only the earliest undelivered event of each aggregate is eligible, so
    // nothing overtakes an event that is failing, backing off or dead.
    let due = sqlx::query_as::<_, (Uuid, i64, String, String, Vec<u8>, DateTime<Utc>, i32)>(&format!(
        "SELECT e.id, e.seq, e.topic, e.aggregate_id, e.payload, e.occurred_at, d.attempts
         FROM platform.outbox_deliveries d
         JOIN platform.outbox_events e ON e.id = d.event_id
         WHERE d.consumer = $1 AND d.delivered_at IS NULL AND d.dead_at IS NULL AND d.next_attempt_at <= $2
           AND ($3::text IS NULL OR d.aggregate_id = $3) AND {FIRST_OF_ITS_AGGREGATE}
         ORDER BY d.seq
         LIMIT 1
         FOR UPDATE OF d {wait}",
    ))
    .bind(&consumer)
    .bind(now)
    .bind(aggregate)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, seq, topic, aggregate_id, payload, occurred_at, attempts)) = due else {
        return Ok(false);
    };
    // One round trip: catch-up's lock timeout was for the claim only; the
    // server cancels any statement of the handler past its timeout; the
    // savepoint the handler's effect rolls back to when it fails.
    let setup = format!(
        "SET LOCAL lock_timeout TO DEFAULT; SET LOCAL statement_timeout = {}; SAVEPOINT handler",
        options.handler_timeout.as_millis().max(1)
    );
    // A query without arguments goes as one simple-protocol message, so the
    // three statements cost one round trip.
    sqlx::Executor::execute(&mut *tx, setup.as_str()).await?;
    let event = Event {
        id,
        seq,
        topic,
        aggregate_id,
        payload,
        occurred_at,
    };
    let attempts = attempts + 1;
    let (tx, outcome) = attempt(handler, tx, event.clone(), options.handler_timeout).await;
    let error = match (tx, outcome) {
        (Some(mut tx), Outcome::Delivered) => {
            let marked = sqlx::query(
                "UPDATE platform.outbox_deliveries SET delivered_at = $3, attempts = $4, last_error = NULL
                 WHERE consumer = $1 AND event_id = $2",
            )
            .bind(&consumer)
            .bind(event.id)
            .bind(now)
            .bind(attempts)
            .execute(&mut *tx)
            .await;
            match marked {
                Ok(_) => match tx.commit().await {
                    Ok(()) => return Ok(true),
                    Err(e) => format!("committing the delivery failed: {e}"),
                },
                Err(e) => format!("marking the delivery failed: {e}"),
            }
        }
        (Some(mut tx), Outcome::Failed(error)) => {
            // Recorded under the claim's lock: nobody retries it before its
            // backoff, and attempts are counted once each.
            let recorded = record_failure(&mut tx, &consumer, &event, &error, options, now).await;
            match recorded {
                Ok(()) => match tx.commit().await {
                    Ok(()) => return Ok(true),
                    Err(e) => format!("{error}; committing the failure failed: {e}"),
                },
                Err(e) => format!("{error}; recording the failure failed: {e}"),
            }
        }
        (None, Outcome::Failed(error)) => error,
        (None, Outcome::Delivered) => "the handler's transaction was lost".to_owned(),
    };
    // The claim's transaction is gone (its connection broke): record the
    // failure on its own, counting from what is stored now.
    let mut conn = pool.acquire().await?;
    record_failure(&mut conn, &consumer, &event, &error, options, now).await?;
    Ok(true)
}

/// Counts a failed attempt of `event` for `consumer`: the error, the next
/// attempt after the backoff, or a dead letter after the last attempt.
async fn record_failure(
    conn: &mut PgConnection,
    consumer: &str,
    event: &Event,
    error: &str,
    options: &DispatchOptions,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let attempts: i32 =
        sqlx::query_scalar("SELECT attempts + 1 FROM platform.outbox_deliveries WHERE consumer = $1 AND event_id = $2")
            .bind(consumer)
            .bind(event.id)
            .fetch_one(&mut *conn)
            .await?;
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
         SET attempts = attempts + 1, next_attempt_at = $3, last_error = $4,
             dead_at = CASE WHEN attempts + 1 >= $5 THEN $6 END
         WHERE consumer = $1 AND event_id = $2 AND delivered_at IS NULL",
    )
    .bind(consumer)
    .bind(event.id)
    .bind(retry_at)
    .bind(error.chars().take(2000).collect::<String>())
    .bind(options.max_attempts)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
