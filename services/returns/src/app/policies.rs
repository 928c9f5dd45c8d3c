//! Policies (every update a new version) and customer flags.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;

use super::Returns;
use crate::domain::{Policy, PolicyPatch};
use crate::store::policies as store;

impl Returns {
    /// The policy in force for a category (the default when it has none).
    pub async fn policy(&self, category: &str) -> Result<Policy, Error> {
        let mut conn = self.ctx.read().await?;
        store::effective_policy(&mut conn, category, self.ctx.clock.now()).await
    }

    pub async fn policies(&self) -> Result<Vec<Policy>, Error> {
        let mut conn = self.ctx.read().await?;
        store::list_policies(&mut conn).await
    }

    /// Stores the category's policy with `patch` applied as its next version.
    pub async fn update_policy(&self, category: &str, patch: PolicyPatch) -> Result<Policy, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let current = store::effective_policy(uow.conn(), category, now).await?;
        let mut next = current.patched(category, patch);
        next.version = store::insert_policy(uow.conn(), &next, now).await?;
        next.updated_at = now;
        uow.commit().await?;
        Ok(next)
    }

    /// Marks a customer for manual review of every return (or clears it).
    pub async fn set_flag(&self, customer_id: &str, flagged: bool, note: &str) -> Result<DateTime<Utc>, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::set_flag(uow.conn(), customer_id, flagged, note, now).await?;
        uow.commit().await?;
        Ok(now)
    }
}
