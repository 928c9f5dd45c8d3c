//! What every service gets from the server: the pool, the clock, a way to
//! wake the outbox dispatcher and the notifier's webhook. Use cases start their transactions from here
//! ([`ServiceContext::begin`]).

use std::sync::Arc;

use aftercare_kernel::clock::SharedClock;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::error::Error;
use crate::outbox::Waker;
use crate::uow::UnitOfWork;
use crate::webhook;

#[derive(Clone)]
pub struct ServiceContext {
    pub pool: PgPool,
    pub clock: SharedClock,
    /// Woken after a transaction that wrote events commits, so they are
    /// delivered now rather than at the next poll.
    pub outbox_wake: Waker,
    /// Where messages for customers (reminders) are posted, when set: the
    /// store's notification provider behind a signed webhook.
    pub notifier: Option<Arc<webhook::Sender>>,
    /// The NATS server the outbox is relayed to (JetStream), when set.
    pub nats_url: Option<String>,
    /// Turns true when the server starts stopping: what runs for as long as
    /// its client stays (an event subscription) ends then.
    pub stopping: watch::Receiver<bool>,
}

impl ServiceContext {
    /// Opens the unit of work of one mutating call.
    pub async fn begin(&self) -> Result<UnitOfWork<'static>, Error> {
        UnitOfWork::begin(&self.pool, self.clock.now(), self.outbox_wake.clone()).await
    }

    /// Waits until the server starts stopping (never, for a context whose
    /// server is gone or never was).
    pub async fn stopped(mut stopping: watch::Receiver<bool>) {
        if stopping.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// A connection for reads outside a unit of work.
    pub async fn read(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, Error> {
        Ok(self.pool.acquire().await?)
    }
}
