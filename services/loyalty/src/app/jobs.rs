//! The background job: for every customer with something due (a hold past
//! its time, a lot to mature or expire), settle it in a transaction of that
//! customer's own. Accounts a checkout holds are skipped (SKIP LOCKED) and
//! picked up by the next run, so the job never makes a checkout wait; what
//! it settles, it settles once, because every step re-checks under the lock.

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};

use super::settle;
use crate::store;

/// Customers settled per run; a full batch runs again at once.
pub const BATCH: i64 = 200;
/// The actor the job's entries are recorded under.
pub const JOB: &str = "job:loyalty";

pub struct DueWork {
    ctx: ServiceContext,
}

impl DueWork {
    pub fn new(ctx: ServiceContext) -> Arc<DueWork> {
        Arc::new(DueWork { ctx })
    }

    /// Settles what is due now for up to [`BATCH`] customers; whether a
    /// full batch was settled.
    pub async fn run(&self) -> Result<bool, Error> {
        let now = self.ctx.clock.now();
        let (customers, program) = {
            let mut conn = self.ctx.read().await?;
            let customers = store::lots::due_customers(&mut conn, now, BATCH).await?;
            if customers.is_empty() {
                return Ok(false);
            }
            (customers, store::program::load(&mut conn).await?)
        };
        let mut wrote_events = false;
        let mut settled = 0;
        for customer in &customers {
            let mut tx = self.ctx.pool.begin().await?;
            if !store::accounts::try_lock(&mut tx, customer).await? {
                continue;
            }
            let events = settle(&mut tx, customer, program.expiry_months, JOB, now).await?;
            for event in &events {
                event.enqueue(&mut tx, now).await?;
            }
            tx.commit().await?;
            wrote_events |= !events.is_empty();
            settled += 1;
        }
        if wrote_events {
            self.ctx.outbox_wake.notify_one();
        }
        // Only a full batch actually settled runs again at once: accounts
        // skipped as locked wait for the next run.
        Ok(settled == BATCH)
    }
}

impl Job for DueWork {
    fn name(&self) -> &'static str {
        "loyalty.due"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
