//! One handler call: in the claim's transaction, inside a savepoint, in a
//! task of its own, with panics caught and a timeout.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use sqlx::{Postgres, Transaction};

use super::{Event, EventHandler};

/// What happened to one attempt.
pub(super) enum Outcome {
    Delivered,
    Failed(String),
}

/// Aborts a spawned task when dropped: a handler never outlives the attempt
/// (and the claim) it belongs to.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Catches a panic in the future it wraps (`std::panic::catch_unwind` for
/// one poll at a time).
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Pin::new(inner).poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-text panic".to_owned()))),
        }
    }
}

/// Runs one handler call in the claim's transaction, inside a savepoint,
/// in a task of its own, with panics caught and a timeout; a failed,
/// panicking or timed-out call's effect is rolled back to the savepoint.
/// The transaction comes back (still holding the delivery's lock) unless
/// the connection itself broke, so the caller records the outcome before
/// anyone else can claim the delivery. The claim's `statement_timeout` (set
/// by the caller) makes the server cancel a statement cut off mid-way, so
/// the rollback never waits on it for long.
pub(super) async fn attempt(
    handler: &Arc<dyn EventHandler>,
    mut tx: Transaction<'static, Postgres>,
    event: Event,
    timeout: Duration,
) -> (Option<Transaction<'static, Postgres>>, Outcome) {
    let handler = handler.clone();
    let mut task = AbortOnDrop(tokio::spawn(async move {
        let result = tokio::time::timeout(timeout, CatchUnwind(handler.handle(&mut tx, &event))).await;
        let error = match result {
            Ok(Ok(Ok(()))) => return Ok((tx, Outcome::Delivered)),
            Ok(Ok(Err(error))) => error,
            Ok(Err(panic)) => format!("handler panicked: {panic}"),
            Err(_) => format!("handler timed out after {timeout:?}"),
        };
        match sqlx::query("ROLLBACK TO SAVEPOINT handler").execute(&mut *tx).await {
            Ok(_) => Ok((tx, Outcome::Failed(error))),
            Err(e) => Err(format!("{error}; its rollback failed: {e}")),
        }
    }));
    // The task bounds itself; this only guards against a handler that
    // blocks its thread.
    match tokio::time::timeout(timeout * 2 + Duration::from_secs(5), &mut task.0).await {
        Ok(Ok(Ok((tx, outcome)))) => (Some(tx), outcome),
        Ok(Ok(Err(error))) => (None, Outcome::Failed(error)),
        Ok(Err(join)) => (None, Outcome::Failed(format!("handler task failed: {join}"))),
        Err(_) => (None, Outcome::Failed(format!("handler stuck past {timeout:?}"))),
    }
}
