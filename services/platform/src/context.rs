//! What every service's API gets from the server: the pool, the clock, the
//! authenticator and a way to wake the outbox dispatcher.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::Notify;

use crate::auth::Authenticator;
use crate::clock::SharedClock;

#[derive(Clone)]
pub struct ServiceContext {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub auth: Arc<Authenticator>,
    /// Notified after a transaction that wrote events commits, so they are
    /// delivered now rather than at the next poll.
    pub outbox_wake: Arc<Notify>,
}

impl ServiceContext {
    pub fn events_committed(&self) {
        self.outbox_wake.notify_one();
    }
}
