//! Follow-ups of unhappy answers: the agents' queue, closing one (with
//! goodwill points loyalty credits once, from `GoodwillRequested`), and
//! the job raising a breach once when a target passes while one is open.

use std::sync::Arc;

use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::paging;
use aftercare_platform::uow::Replay;

use super::{Feedback, actor};
use crate::domain::follow_up::Closing;
use crate::domain::{FeedbackError, FollowUp, FollowUpId, FollowUpStatus};
use crate::{events, store};

/// Follow-ups per transaction of the breach job.
pub const BATCH: i64 = 200;

pub struct FollowUpPage {
    pub follow_ups: Vec<FollowUp>,
    pub next_page_token: String,
}

fn not_found(id: FollowUpId) -> Error {
    FeedbackError::not_found("follow-up", id.to_string()).into()
}

impl Feedback {
    pub async fn follow_ups(
        &self,
        status: FollowUpStatus,
        page_size: i32,
        page_token: &str,
    ) -> Result<FollowUpPage, Error> {
        let limit = paging::page_size(page_size)?;
        let query = format!("follow-ups\u{0}{status}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut follow_ups = store::follow_ups::list(&mut conn, status, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut follow_ups, limit, &query, |f| {
            let at = match status {
                FollowUpStatus::Open => f.respond_by,
                FollowUpStatus::Closed => f.closed_at.unwrap_or(f.respond_by),
            };
            (at, f.follow_up_id.to_string())
        });
        Ok(FollowUpPage {
            follow_ups,
            next_page_token,
        })
    }

    pub async fn follow_up(&self, id: FollowUpId) -> Result<FollowUp, Error> {
        store::follow_ups::get(&mut *self.ctx.read().await?, id, false)
            .await?
            .ok_or_else(|| not_found(id))
    }

    pub async fn close_follow_up(
        &self,
        caller: &Caller,
        id: FollowUpId,
        closing: Closing,
        request_id: &str,
    ) -> Result<FollowUp, Error> {
        let mut uow = self.ctx.begin().await?;
        let request = format!("{id}\u{0}{}\u{0}{}", closing.note, closing.goodwill_points).into_bytes();
        let scope = "feedback.CloseFollowUp";
        if let Replay::Stored(_) = uow
            .claim_answered(
                scope,
                caller,
                "request_id",
                request_id,
                &request,
                id.as_uuid().as_bytes(),
            )
            .await?
        {
            return store::follow_ups::get(uow.conn(), id, false)
                .await?
                .ok_or_else(|| not_found(id));
        }
        let now = uow.now();
        let mut f = store::follow_ups::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| not_found(id))?;
        let settings = store::settings::get(uow.conn()).await?;
        f.close(&actor(caller), closing, &settings, now)?;
        store::follow_ups::update(uow.conn(), &f).await?;
        let aggregate = id.to_string();
        uow.emit(&aggregate, &events::follow_up_closed(&f)).await?;
        if f.goodwill_points > 0 {
            uow.emit(&aggregate, &events::goodwill_requested(&f)).await?;
        }
        uow.commit().await?;
        Ok(f)
    }
}

/// The job raising each follow-up's breach once.
pub struct Breaches {
    ctx: ServiceContext,
}

impl Breaches {
    pub fn new(ctx: ServiceContext) -> Arc<Breaches> {
        Arc::new(Breaches { ctx })
    }

    pub async fn run(&self) -> Result<bool, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let due = store::follow_ups::breaches_due(uow.conn(), now, BATCH).await?;
        for f in &due {
            if !f.breach_due(now) {
                continue;
            }
            let mut f = f.clone();
            f.breached = true;
            store::follow_ups::update(uow.conn(), &f).await?;
            uow.emit(&f.follow_up_id.to_string(), &events::follow_up_breached(&f))
                .await?;
        }
        uow.commit().await?;
        Ok(due.len() as i64 == BATCH)
    }
}

impl Job for Breaches {
    fn name(&self) -> &'static str {
        "feedback.follow_up_sla"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
