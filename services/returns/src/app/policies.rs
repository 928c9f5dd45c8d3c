//! Policies (every update a new version) and customer flags.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;

use super::Returns;
use crate::domain::{Policy, PolicyPatch};
use crate::store::policies as store;

/// The idempotency scope of UpdateReturnPolicy.
const SCOPE: &str = "returns.UpdateReturnPolicy";

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

    /// Stores the category's policy with `patch` applied as its next version,
    /// once per `request` (its id and canonical bytes) when it has one.
    pub async fn update_policy(
        &self,
        caller: &Caller,
        category: &str,
        patch: PolicyPatch,
        request: Option<(&str, &[u8])>,
    ) -> Result<Policy, Error> {
        let mut uow = self.ctx.begin().await?;
        if let Some((key, fingerprint)) = request
            && let Replay::Stored(version) = uow.claim(SCOPE, caller, "request_id", key, fingerprint).await?
        {
            let version = i32::from_be_bytes(version.try_into().map_err(|_| Error::internal("stored version"))?);
            return store::policy_version(uow.conn(), category, version).await;
        }
        let now = uow.now();
        let current = store::effective_policy(uow.conn(), category, now).await?;
        let mut next = current.patched(category, patch);
        next.version = store::insert_policy(uow.conn(), &next, now).await?;
        next.updated_at = now;
        if request.is_some() {
            uow.complete(&next.version.to_be_bytes()).await?;
        }
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
