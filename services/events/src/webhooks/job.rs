//! The delivery job: each run takes the due webhooks one at a time (locked,
//! so a replica takes others), posts the dead letters queued for a replay,
//! then the stream's next events of the webhook's topics, in order, one
//! POST each, and records how far it got in the same transaction. A
//! failure stops that webhook's run and backs it off; its later events
//! wait, so order holds. After `MAX_ATTEMPTS` the event is buried as a
//! dead letter and the webhook goes on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aftercare_kernel::{DateTime, Duration, Utc};
use aftercare_platform::clock::SharedClock;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::outbox::backoff;
use aftercare_platform::webhook::{self, Endpoint, Sender};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::body;
use super::store::{self, Webhook};
use crate::store::{Positioned, after, position_pending};

/// Attempts at one event before it is a dead letter (about 8.5 minutes of
/// backoff: 1 + 2 + ... + 256 s).
pub const MAX_ATTEMPTS: i32 = 10;
/// Events posted to one webhook per run, at most.
const BATCH: i64 = 200;
/// Webhooks served per run, at most, before the loop runs again.
const WEBHOOKS_PER_RUN: usize = 50;

pub struct Delivery {
    pool: PgPool,
    clock: SharedClock,
    /// One sender per webhook, so its connections are kept alive between
    /// posts. A webhook's URL and secret never change.
    senders: Mutex<HashMap<Uuid, Arc<Sender>>>,
}

impl Delivery {
    pub fn new(pool: PgPool, clock: SharedClock) -> Delivery {
        Delivery {
            pool,
            clock,
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

    /// Serves the next due webhook; `None` when none is due, else whether it
    /// posted a whole batch (more may be waiting).
    async fn next(&self, done: &mut Vec<Uuid>) -> Result<Option<bool>, Error> {
        let now = self.clock.now();
        let mut tx = self.pool.begin().await?;
        let Some(mut w) = store::claim_due(&mut tx, now, done).await? else {
            return Ok(None);
        };
        done.push(w.webhook_id);
        let sender = match self.sender(&w) {
            Ok(sender) => sender,
            Err(e) => {
                // Registered URLs are checked: this is a bug, not a caller's.
                return Err(Error::internal(format!("webhook {}: {e}", w.webhook_id)));
            }
        };
        let full = self.post_all(&mut tx, &mut w, &sender).await?;
        store::save_progress(&mut tx, &w).await?;
        tx.commit().await?;
        Ok(Some(full))
    }

    /// Posts queued replays, then new events, until one fails or a batch
    /// is done; `w` records the outcome. Whether a whole batch went out.
    async fn post_all(&self, tx: &mut PgConnection, w: &mut Webhook, sender: &Sender) -> Result<bool, Error> {
        let now = self.clock.now();
        for letter in store::replays(tx, w.webhook_id, BATCH).await? {
            match post(sender, &letter, now).await {
                Ok(()) => store::resurrect(tx, w.webhook_id, letter.position).await?,
                Err(e) => {
                    if failed(w, &e, now) {
                        store::bury(tx, w.webhook_id, &letter, MAX_ATTEMPTS, &e, now).await?;
                    }
                    return Ok(false);
                }
            }
        }
        let events = after(tx, w.after_position, &w.topics, BATCH).await?;
        let full = events.len() as i64 == BATCH;
        for event in events {
            match post(sender, &event, now).await {
                Ok(()) => {
                    w.after_position = event.position;
                    w.failed_attempts = 0;
                    w.last_error = None;
                }
                Err(e) => {
                    if failed(w, &e, now) {
                        store::bury(tx, w.webhook_id, &event, MAX_ATTEMPTS, &e, now).await?;
                        w.after_position = event.position;
                    }
                    return Ok(false);
                }
            }
        }
        w.next_attempt_at = now;
        Ok(full)
    }
}

/// Records a failed attempt on `w`: backed off, or (the last attempt)
/// given up on, which is true when the caller must bury the event.
fn failed(w: &mut Webhook, error: &str, now: DateTime<Utc>) -> bool {
    w.failed_attempts += 1;
    w.last_error = Some(error.to_owned());
    if w.failed_attempts >= MAX_ATTEMPTS {
        w.failed_attempts = 0;
        w.next_attempt_at = now;
        return true;
    }
    let wait = Duration::from_std(backoff(w.failed_attempts)).unwrap_or(Duration::hours(1));
    w.next_attempt_at = now + wait;
    false
}

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
            // Webhooks follow stream positions: give the new events theirs
            // (none when another server's positioner is at work).
            position_pending(&self.pool, 5_000).await?;
            let mut done = Vec::new();
            let mut more = false;
            while done.len() < WEBHOOKS_PER_RUN {
                match self.next(&mut done).await? {
                    Some(full) => more |= full,
                    None => return Ok(more),
                }
            }
            Ok(true)
        })
    }
}
