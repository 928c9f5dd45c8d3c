//! Plans: a new version per write. Products scheduled before keep their
//! version; every known product the new plan applies to gets the tasks it
//! has no schedule for (a first plan schedules every product registered
//! before it).

use aftercare_platform::error::Error;

use super::Maintenance;
use super::schedules::schedule_tasks;
use crate::domain::Plan;
use crate::store;

impl Maintenance {
    pub async fn upsert_plan(&self, mut plan: Plan) -> Result<Plan, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        plan.version = store::plans::insert_next(uow.conn(), &plan, now).await?;
        plan.created_at = now;
        let mut after = None;
        loop {
            let products = store::products::for_plan(uow.conn(), &plan.category, &plan.sku, after, 500).await?;
            for p in &products {
                schedule_tasks(uow.conn(), p, &[], now).await?;
            }
            match products.last() {
                Some(p) if products.len() == 500 => after = Some(p.registration_id),
                _ => break,
            }
        }
        uow.commit().await?;
        Ok(plan)
    }

    pub async fn plans(&self) -> Result<Vec<Plan>, Error> {
        store::plans::all_in_force(&mut *self.ctx.read().await?).await
    }
}
