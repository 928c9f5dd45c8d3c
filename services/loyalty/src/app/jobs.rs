//! The background job: for every customer with something due (a hold past
//! its time, a lot to mature or expire or to warn about, a tier to review
//! as its 12 months move on), settle it in a transaction of that
//! customer's own. Accounts a checkout holds are skipped (SKIP LOCKED) and
//! picked up by the next run, so the job never makes a checkout wait; what
//! it settles, it settles once, because every step re-checks under the lock.

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};

use super::{Review, review_tier, settle};
use crate::domain::{EXPIRING_SOON_DAYS, Program};
use crate::events;
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
        let mut settled: i64 = 0;
        for customer in &customers {
            // One customer's failure is logged and retried next run; it
            // never holds the others back.
            match self.settle_one(customer, &program, now).await {
                Ok(Some(events)) => {
                    wrote_events |= events > 0;
                    settled += 1;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(customer, error = %e, "settling a loyalty account failed"),
            }
        }
        if wrote_events {
            self.ctx.outbox_wake.wake_all();
        }
        // A full batch runs again at once, unless nothing of it could be
        // settled (every account busy or failing): then the next run.
        Ok(customers.len() as i64 == BATCH && settled > 0)
    }

    /// Settles one customer in a transaction of its own: the number of
    /// events written, or `None` when a checkout holds the account.
    async fn settle_one(
        &self,
        customer: &str,
        program: &Program,
        now: aftercare_kernel::DateTime<aftercare_kernel::Utc>,
    ) -> Result<Option<usize>, Error> {
        let mut tx = self.ctx.pool.begin().await?;
        let Some(standing) = store::accounts::try_lock(&mut tx, customer).await? else {
            return Ok(None);
        };
        let mut events = settle(&mut tx, customer, program.expiry_months, JOB, now).await?;
        events.extend(review_tier(&mut tx, customer, program, &standing, Review::Aging, now).await?);
        if let Some((points, earliest)) =
            store::lots::notify_expiring(&mut tx, customer, now, EXPIRING_SOON_DAYS).await?
        {
            events.push(events::expiring_soon(customer, points, earliest));
        }
        for event in &events {
            event.enqueue(&mut tx, now).await?;
        }
        tx.commit().await?;
        Ok(Some(events.len()))
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
