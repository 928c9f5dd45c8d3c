//! Background jobs: work a service does when it falls due rather than when
//! it is called (maturing points, expiring holds). Every replica runs every
//! job of its services; a job takes its rows with `SKIP LOCKED`, so replicas
//! share the work and never do one piece twice, and commits each piece on
//! its own, so a crash loses at most the piece in flight (it is done again
//! by the next run, since nothing of it committed).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::Error;

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, Error>> + Send + 'a>>;

pub trait Job: Send + Sync + 'static {
    /// A stable name, for logs.
    fn name(&self) -> &'static str;
    /// Does one batch of what is due now. `Ok(true)`: the batch was full and
    /// more may be due, so the loop runs again at once.
    fn run_once(&self) -> JobFuture<'_>;
    /// How many loops of it each server runs at once. Loops share the work
    /// as replicas do (each batch claims its rows with `SKIP LOCKED`), so
    /// more than one lets a job whose batch is several statements keep
    /// both the server and Postgres busy: one loop's statement runs while
    /// another's batch is decided.
    fn loops(&self) -> usize {
        1
    }
}

/// Runs `job` every `interval` (at once again while it has more) until
/// `stop`. A failed or panicking run is logged and the loop goes on: the
/// work is still due and the next run retries it.
pub async fn run(job: Arc<dyn Job>, interval: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let this = job.clone();
        // A task of its own, so a panic is an error here, not a dead loop.
        let more = match tokio::spawn(async move { this.run_once().await }).await {
            Ok(Ok(more)) => more,
            Ok(Err(e)) => {
                tracing::warn!(job = job.name(), error = %e, "job run failed");
                false
            }
            Err(e) => {
                tracing::error!(job = job.name(), error = %e, "job run panicked");
                false
            }
        };
        if more {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
