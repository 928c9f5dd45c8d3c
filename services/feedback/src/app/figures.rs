//! The summary of a period's surveys, and the settings.

use aftercare_kernel::{DateTime, Duration, NaiveDate, Utc, Violations};
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;

use super::Feedback;
use crate::domain::figures::Counts;
use crate::domain::{CaseType, Settings};
use crate::store;
use crate::store::figures::Filter;

/// The longest period one summary covers.
pub const MAX_DAYS: i64 = 366;

pub struct Query {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub case_type: Option<CaseType>,
    pub channel: Option<String>,
    pub reason: Option<String>,
}

pub struct Summary {
    pub total: Counts,
    pub weeks: Vec<(NaiveDate, Counts)>,
    /// Empty unless an admin asked.
    pub agents: Vec<(String, Counts)>,
}

impl Query {
    pub fn check(&self, v: &mut Violations) {
        if self.to <= self.from {
            v.add("to", "must be after from");
        } else if self.to - self.from > Duration::days(MAX_DAYS) {
            v.add("to", format!("must be at most {MAX_DAYS} days after from"));
        }
    }
}

impl Feedback {
    pub async fn summary(&self, caller: &Caller, q: &Query) -> Result<Summary, Error> {
        let mut v = Violations::new();
        q.check(&mut v);
        v.finish()?;
        let filter = Filter {
            from: q.from,
            to: q.to,
            case_type: q.case_type,
            channel: q.channel.as_deref(),
            reason: q.reason.as_deref(),
        };
        let by_agent = caller.role == Role::Admin;
        let (total, weeks, agents) = store::figures::snapshot(&self.ctx.pool, &filter, by_agent).await?;
        Ok(Summary { total, weeks, agents })
    }

    pub async fn settings(&self) -> Result<Settings, Error> {
        store::settings::get(&mut *self.ctx.read().await?).await
    }

    pub async fn update_settings(&self, settings: Settings) -> Result<Settings, Error> {
        let mut v = Violations::new();
        settings.check(&mut v);
        v.finish()?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::settings::put(uow.conn(), &settings, now).await?;
        let saved = store::settings::get(uow.conn()).await?;
        uow.commit().await?;
        Ok(saved)
    }
}
