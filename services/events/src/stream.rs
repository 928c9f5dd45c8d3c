//! One subscriber's feed: a task that reads the events after the
//! subscriber's place, queues them for the client, then waits for new
//! positions (given by this server's positioner, or a short poll for other
//! servers') and does it again.
//!
//! Each server runs one positioner while it has subscribers: woken by its
//! commits (and the poll), it gives positions to what is pending and tells
//! the feeds. Feeds only read, so a commit costs one positioning per
//! server and a read per feed, whatever the number of feeds.
//!
//! The queue is the flow control. It holds at most [`BUFFERED`] events the
//! client has not taken; while it is full the feed waits, holding no
//! database connection, so a client that reads slowly is fed at its pace.
//! One that takes nothing for [`STALL`] while the queue is full is cut
//! off: after the events queued, it gets RESOURCE_EXHAUSTED with the
//! cursor of the last event queued, and resumes from its own cursor (the
//! last event it processed), missing nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::{ERROR_DOMAIN, Error};
use aftercare_proto::events as pb;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::store::{self, Positioned};

/// Events queued for a client that has not taken them, at most.
pub const BUFFERED: usize = 1024;
/// How long a full queue waits for the client to take an event.
pub const STALL: Duration = Duration::from_secs(5);
/// Events read in one statement.
const BATCH: i64 = 2000;
/// Events positioned in one transaction.
const POSITIONS: i64 = 5000;
/// How often an idle feed looks for events other servers committed.
const POLL: Duration = Duration::from_millis(250);

pub type Feed = ReceiverStream<Result<pb::StreamedEvent, Status>>;

static CUT_OFF: AtomicU64 = AtomicU64::new(0);

/// Subscribers this process cut off for taking nothing while their queue
/// was full, since it started (a metric: a tool that stalls).
pub fn slow_consumers_cut_off() -> u64 {
    CUT_OFF.load(Ordering::Relaxed)
}

/// What every feed of a server shares.
#[derive(Clone)]
pub struct Feeds {
    pub pool: PgPool,
    /// Changes after this server's positioner gave positions.
    pub news: watch::Sender<()>,
    /// The server's subscriber limit; the positioner works only while a
    /// seat is taken.
    pub seats: Arc<tokio::sync::Semaphore>,
    /// The server stopping: each feed ends with UNAVAILABLE, so its client
    /// resumes elsewhere at once and the server need not wait for it.
    pub stopping: watch::Receiver<bool>,
}

/// The server's positioner: after each commit of this server that wrote
/// events (`commits`), and every [`POLL`], while a subscriber is fed, gives
/// positions to what is pending and tells the feeds. Runs for the
/// server's life.
pub async fn position(feeds: Feeds, commits: Arc<tokio::sync::Notify>) {
    loop {
        tokio::select! {
            _ = commits.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
        if feeds.seats.available_permits() == MAX_FEEDS {
            continue; // nobody reads: nothing to pay for
        }
        loop {
            match store::position_pending(&feeds.pool, POSITIONS).await {
                Ok(0) => break,
                Ok(given) => {
                    feeds.news.send_replace(());
                    if given < POSITIONS.unsigned_abs() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "giving stream positions failed; tried again at the next poll");
                    break;
                }
            }
        }
    }
}

/// Starts the feed of `topics` (empty: all) after position `after`; it
/// holds `seat` (of the server's subscriber limit) until it ends.
pub fn start(feeds: Feeds, topics: Vec<String>, after: i64, seat: OwnedSemaphorePermit) -> Feed {
    // One place more than the bound, kept for the cut-off's status.
    let (tx, rx) = mpsc::channel(BUFFERED + 1);
    tokio::spawn(async move {
        run(feeds, topics, after, tx).await;
        drop(seat);
    });
    ReceiverStream::new(rx)
}

async fn run(feeds: Feeds, topics: Vec<String>, mut after: i64, tx: mpsc::Sender<Result<pb::StreamedEvent, Status>>) {
    let mut news = feeds.news.subscribe();
    let stopping = ServiceContext::stopped(feeds.stopping.clone());
    tokio::pin!(stopping);
    // Where reading goes on: the last event queued, or past it when a read
    // of a few topics has seen that nothing of theirs came before.
    let mut read_after = after;
    loop {
        let next = tokio::select! {
            _ = tx.closed() => return,
            _ = &mut stopping => return stop(&tx),
            next = next(&feeds, read_after, &topics) => next,
        };
        let (batch, seen_to) = match next {
            Ok(next) => next,
            Err(e) => {
                let _ = tx.try_send(Err(e.into()));
                return;
            }
        };
        let full = batch.len() as i64 == BATCH;
        for event in batch {
            // Two places: one for the event, one always kept free for the
            // cut-off's status.
            match tokio::time::timeout(STALL, tx.reserve_many(2)).await {
                Ok(Ok(mut places)) => {
                    after = event.position;
                    if let Some(place) = places.next() {
                        place.send(Ok(streamed(event)));
                    }
                }
                Ok(Err(_)) => return, // the client went away
                Err(_) => {
                    tracing::info!(resume_after = after, "a stalled subscriber was cut off");
                    let _ = tx.try_send(Err(slow_consumer(after)));
                    CUT_OFF.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        read_after = if full { after } else { after.max(seen_to) };
        if full {
            continue;
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = &mut stopping => return stop(&tx),
            _ = news.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Ends a feed because the server is stopping.
fn stop(tx: &mpsc::Sender<Result<pb::StreamedEvent, Status>>) {
    let _ = tx.try_send(Err(Status::unavailable(
        "the server is stopping: subscribe again (another server) from the cursor of the last event processed",
    )));
}

/// The next batch after `after`, and the position up to which a short
/// batch has seen everything of its topics.
async fn next(feeds: &Feeds, after: i64, topics: &[String]) -> Result<(Vec<Positioned>, i64), Error> {
    read(&mut *feeds.pool.acquire().await?, after, topics).await
}

async fn read(conn: &mut PgConnection, after: i64, topics: &[String]) -> Result<(Vec<Positioned>, i64), Error> {
    // Every event up to the last position given before the read is
    // visible to it (a positioner commits its batch at once, right after
    // the one before), so a short read of a few topics has seen all of
    // theirs up to there.
    let seen_to = if topics.is_empty() {
        after
    } else {
        store::last_position(conn).await?
    };
    let batch = store::after(conn, after, topics, BATCH).await?;
    Ok((batch, seen_to))
}

fn streamed(e: Positioned) -> pb::StreamedEvent {
    pb::StreamedEvent {
        cursor: cursor(e.position),
        event_id: e.id.to_string(),
        aggregate_id: e.aggregate_id,
        occurred_at: Some(aftercare_platform::wire::timestamp(e.occurred_at)),
        payload: Some(prost_types::Any {
            type_url: format!("type.googleapis.com/{}", e.topic),
            value: e.payload,
        }),
        topic: e.topic,
    }
}

/// A position as the client sees it.
pub fn cursor(position: i64) -> String {
    position.to_string()
}

fn slow_consumer(after: i64) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        format!(
            "the subscriber took no event for {} s while {BUFFERED} were waiting; subscribe again from \
             the cursor of the last event it processed",
            STALL.as_secs()
        ),
        ErrorDetails::with_error_info(
            "SLOW_CONSUMER",
            ERROR_DOMAIN,
            HashMap::from([("resume_after".to_owned(), cursor(after))]),
        ),
    )
}

/// Subscribers one server feeds at once: each is a task and, while it
/// reads, a database connection.
pub const MAX_FEEDS: usize = 64;
