//! Plans: a new version per write; products scheduled before keep theirs.

use aftercare_platform::error::Error;

use super::Maintenance;
use crate::domain::Plan;
use crate::store;

impl Maintenance {
    pub async fn upsert_plan(&self, mut plan: Plan) -> Result<Plan, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        plan.version = store::plans::insert_next(uow.conn(), &plan, now).await?;
        plan.created_at = now;
        uow.commit().await?;
        Ok(plan)
    }

    pub async fn plans(&self) -> Result<Vec<Plan>, Error> {
        store::plans::all_in_force(&mut *self.ctx.read().await?).await
    }
}
