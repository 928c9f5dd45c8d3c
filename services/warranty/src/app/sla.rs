//! The background job that raises claims' service-level alarms: at risk at
//! 80% of a target, breached past it, each once. Claims are claimed with
//! `FOR UPDATE SKIP LOCKED` by their next alarm's time (an index of open
//! clocks only), the alarm is recorded on the claim and its event written
//! in the same transaction: any number of replicas raise each alarm once.

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::outbox;

use crate::events::{self, SlaEvent};
use crate::store;

/// Claims per transaction; a full batch runs again at once.
pub const BATCH: i64 = 200;

pub struct SlaAlarms {
    ctx: ServiceContext,
}

impl SlaAlarms {
    pub fn new(ctx: ServiceContext) -> Arc<SlaAlarms> {
        Arc::new(SlaAlarms { ctx })
    }

    /// Raises what is due now for up to [`BATCH`] claims; whether the
    /// batch was full.
    pub async fn run(&self) -> Result<bool, Error> {
        let now = self.ctx.clock.now();
        let mut tx = self.ctx.pool.begin().await?;
        let ids = store::claims::alarms_due(&mut tx, now, BATCH).await?;
        let mut raised = 0;
        for id in &ids {
            let mut claim = store::claims::get(&mut tx, *id, false)
                .await?
                .ok_or_else(|| Error::internal("a locked claim is gone"))?;
            for (alarm, due_at) in claim.sla.raise(now) {
                let aggregate = id.to_string();
                match events::sla_alarm(&claim, alarm, due_at) {
                    SlaEvent::AtRisk(m) => outbox::enqueue(&mut tx, &aggregate, &m, now).await?,
                    SlaEvent::Breached(m) => outbox::enqueue(&mut tx, &aggregate, &m, now).await?,
                };
                raised += 1;
            }
            store::claims::update(&mut tx, &claim).await?;
        }
        tx.commit().await?;
        if raised > 0 {
            self.ctx.outbox_wake.wake_all();
        }
        Ok(ids.len() as i64 == BATCH)
    }
}

impl Job for SlaAlarms {
    fn name(&self) -> &'static str {
        "warranty.sla"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
