//! One subscriber's feed: a task that positions what is pending, reads the
//! events after the subscriber's cursor, and queues them for the client,
//! then waits for a commit (this server's, or a short poll for other
//! servers') and does it again.
//!
//! The queue is the flow control: it holds at most [`BUFFERED`] events
//! that the client has not taken. When it is full the feed stops and the
//! client, after the events queued, gets RESOURCE_EXHAUSTED with the
//! cursor of the last event queued; it resumes from its own cursor (the
//! last event it processed), so it misses nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aftercare_platform::error::{ERROR_DOMAIN, Error};
use aftercare_proto::events as pb;
use sqlx::PgPool;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::store::{self, Positioned};

/// Events queued for a client that has not taken them, at most.
pub const BUFFERED: usize = 1024;
/// Events read in one statement.
const BATCH: i64 = 500;
/// Events positioned in one transaction.
const POSITIONS: i64 = 5000;
/// How often an idle feed looks for events other servers committed.
const POLL: Duration = Duration::from_millis(250);

pub type Feed = ReceiverStream<Result<pb::StreamedEvent, Status>>;

static CUT_OFF: AtomicU64 = AtomicU64::new(0);

/// Subscribers this process cut off for reading too slowly, since it
/// started (a metric: many mean a tool that cannot keep up).
pub fn slow_consumers_cut_off() -> u64 {
    CUT_OFF.load(Ordering::Relaxed)
}

/// Starts the feed of `topics` (empty: all) after position `after`.
/// `commits` changes after every commit of this server that wrote events.
pub fn start(pool: PgPool, topics: Vec<String>, after: i64, commits: watch::Receiver<()>) -> Feed {
    // One place more than the bound, kept for the cut-off's status.
    let (tx, rx) = mpsc::channel(BUFFERED + 1);
    tokio::spawn(run(pool, topics, after, commits, tx));
    ReceiverStream::new(rx)
}

async fn run(
    pool: PgPool,
    topics: Vec<String>,
    mut after: i64,
    mut commits: watch::Receiver<()>,
    tx: mpsc::Sender<Result<pb::StreamedEvent, Status>>,
) {
    loop {
        let batch = match next(&pool, after, &topics).await {
            Ok(batch) => batch,
            Err(e) => {
                let _ = tx.try_send(Err(e.into()));
                return;
            }
        };
        let full = batch.len() as i64 == BATCH;
        for event in batch {
            if tx.capacity() <= 1 {
                tracing::info!(resume_after = after, "a slow subscriber was cut off");
                let _ = tx.try_send(Err(slow_consumer(after)));
                CUT_OFF.fetch_add(1, Ordering::Relaxed);
                return;
            }
            after = event.position;
            if tx.try_send(Ok(streamed(event))).is_err() {
                return; // the client went away
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = commits.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

async fn next(pool: &PgPool, after: i64, topics: &[String]) -> Result<Vec<Positioned>, Error> {
    store::position_pending(pool, POSITIONS).await?;
    store::after(&mut *pool.acquire().await?, after, topics, BATCH).await
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
            "the subscriber read slower than events arrived and {BUFFERED} were waiting; \
             subscribe again from the cursor of the last event processed"
        ),
        ErrorDetails::with_error_info(
            "SLOW_CONSUMER",
            ERROR_DOMAIN,
            HashMap::from([("resume_after".to_owned(), cursor(after))]),
        ),
    )
}
