//! The delivery job. Each run leases the due webhooks (a few at once, in
//! one short statement; another server leases others) and serves them
//! concurrently: the dead letters queued for a replay first, then the
//! stream's next events of the webhook's topics, in order, one POST each.
//! No transaction is held while posting: each delivered event moves the
//! webhook's cursor at once, and only while its lease is held, so a run
//! that lost its lease (or whose webhook was deleted) stops. A failure
//! backs the webhook off and its later events wait, so order holds; the
//! tenth failed attempt at one event buries it as a dead letter and the
//! webhook goes on. A run posts for at most `BUDGET`, well inside its
//! lease, so a slow receiver delays only itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use aftercare_kernel::{DateTime, Duration, Utc};
use aftercare_platform::clock::SharedClock;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::outbox::backoff;
use aftercare_platform::webhook::{self, Endpoint, Sender};
use futures_util::future::join_all;
use sqlx::PgPool;
use uuid::Uuid;

use super::body;
use super::store::{self, Webhook};
use crate::store::{Positioned, after, position_pending};

/// Attempts at one event before it is a dead letter (backoff 1, 2, 4, ...
/// 256 s between them: about 8.5 minutes).
pub const MAX_ATTEMPTS: i32 = 10;
/// Events (and replays) posted to one webhook per run, at most.
const BATCH: i64 = 100;
/// Webhooks served at once by one server.
const CONCURRENT: i64 = 8;
/// How long one run may post to one webhook before it lets go: with one
/// POST's timeout on top, well inside the lease.
const BUDGET: StdDuration = StdDuration::from_secs(20);
const LEASE: Duration = Duration::seconds(60);
/// A webhook whose stored URL no longer passes the checks waits this long.
const BROKEN_WAIT: Duration = Duration::hours(1);

pub struct Delivery {
    pool: PgPool,
    clock: SharedClock,
    /// This job's leases.
    owner: Uuid,
    /// One sender per webhook, so its connections are kept alive between
    /// runs. A webhook's URL and secret never change.
    senders: Mutex<HashMap<Uuid, Arc<Sender>>>,
}

/// How a run for one webhook ended.
enum Ran {
    /// Everything due was posted.
    Done,
    /// Stopped with more to post (a full batch, or the budget spent).
    More,
    /// A failure backed it off, or its lease was lost.
    Stopped,
}

impl Delivery {
    pub fn new(pool: PgPool, clock: SharedClock) -> Delivery {
        Delivery {
            pool,
            clock,
            owner: Uuid::now_v7(),
            senders: Mutex::new(HashMap::new()),
        }
    }

    fn sender(&self, w: &Webhook) -> Result<Arc<Sender>, String> {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = senders.get(&w.webhook_id) {
            return Ok(sender.clone());
        }
        let endpoint = Endpoint::new(&w.url, &w.secret)?;
        let sender = Arc::new(Sender::new(endpoint, webhook::DEFAULT_TIMEOUT));
        senders.insert(w.webhook_id, sender.clone());
        Ok(sender)
    }

    /// Serves one leased webhook, then releases it with where it stands.
    async fn serve(&self, mut w: Webhook) -> Result<Ran, Error> {
        let ran = match self.sender(&w) {
            Ok(sender) => self.post_due(&mut w, &sender).await?,
            Err(e) => {
                // Checked at registration: a rule tightened since. The
                // webhook waits; the others go on.
                tracing::error!(webhook_id = %w.webhook_id, error = %e, "webhook cannot be posted to");
                w.last_error = Some(e);
                w.next_attempt_at = self.clock.now() + BROKEN_WAIT;
                Ran::Stopped
            }
        };
        if matches!(ran, Ran::Done | Ran::More) {
            w.next_attempt_at = self.clock.now();
        }
        store::release(&self.pool, &w, self.owner).await?;
        Ok(ran)
    }

    async fn post_due(&self, w: &mut Webhook, sender: &Sender) -> Result<Ran, Error> {
        let started = Instant::now();
        for (position, letter) in store::replays(&self.pool, w.webhook_id, BATCH).await? {
            let Some(letter) = letter else {
                // Its event is gone (a retention job): nothing to replay.
                store::resurrect(&self.pool, w.webhook_id, position).await?;
                continue;
            };
            match post(sender, &letter, self.clock.now()).await {
                Ok(()) => {
                    store::resurrect(&self.pool, w.webhook_id, position).await?;
                    w.failed_attempts = 0;
                    w.last_error = None;
                }
                Err(e) => {
                    // A replay failing ten times is buried again.
                    if self.failed(w, e) {
                        store::bury(&self.pool, w, self.owner, &letter, MAX_ATTEMPTS, self.clock.now()).await?;
                    }
                    return Ok(Ran::Stopped);
                }
            }
        }
        let events = after(&mut *self.pool.acquire().await?, w.after_position, &w.topics, BATCH).await?;
        let full = events.len() as i64 == BATCH;
        for event in events {
            if started.elapsed() > BUDGET {
                return Ok(Ran::More);
            }
            match post(sender, &event, self.clock.now()).await {
                Ok(()) => {
                    w.after_position = event.position;
                    w.failed_attempts = 0;
                    w.last_error = None;
                    if !store::advance(&mut *self.pool.acquire().await?, w, self.owner).await? {
                        return Ok(Ran::Stopped);
                    }
                }
                Err(e) => {
                    if self.failed(w, e) {
                        w.after_position = event.position;
                        store::bury(&self.pool, w, self.owner, &event, MAX_ATTEMPTS, self.clock.now()).await?;
                    }
                    return Ok(Ran::Stopped);
                }
            }
        }
        Ok(if full { Ran::More } else { Ran::Done })
    }

    /// Records a failed attempt on `w`: backed off, or (the last attempt)
    /// given up on, which is true when the caller must bury the event.
    fn failed(&self, w: &mut Webhook, error: String) -> bool {
        let now = self.clock.now();
        w.failed_attempts += 1;
        w.last_error = Some(error);
        if w.failed_attempts >= MAX_ATTEMPTS {
            w.failed_attempts = 0;
            w.next_attempt_at = now;
            return true;
        }
        w.next_attempt_at = now + Duration::from_std(backoff(w.failed_attempts)).unwrap_or(Duration::hours(1));
        false
    }
}

/// One event, signed at the moment it is sent.
async fn post(sender: &Sender, event: &Positioned, now: DateTime<Utc>) -> Result<(), String> {
    let id = event.id.to_string();
    sender.post(&id, &event.topic, body::of(event), now).await
}

impl Job for Delivery {
    fn name(&self) -> &'static str {
        "events.webhooks"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(async move {
            // Without a webhook the stream needs no positions from here.
            if !store::any_live(&self.pool).await? {
                return Ok(false);
            }
            // Webhooks follow stream positions: give the new events theirs
            // (none when another server's positioner is at work).
            position_pending(&self.pool, 5_000).await?;
            let now = self.clock.now();
            let leased = store::lease_due(&self.pool, now, self.owner, now + LEASE, CONCURRENT).await?;
            let mut more = false;
            for ran in join_all(leased.into_iter().map(|w| self.serve(w))).await {
                more |= matches!(ran?, Ran::More);
            }
            Ok(more)
        })
    }
}
