//! What each line of an order allows now.

use std::collections::HashMap;

use aftercare_kernel::Violations;
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;

use super::{Returns, load_order};
use crate::domain::{Eligibility, Policy, ReturnError, eligibility};
use crate::store::policies as policy_store;

impl Returns {
    /// Each requested line's eligibility (every line when `line_ids` is
    /// empty) with the version of the policy that decided it.
    pub async fn eligibility(
        &self,
        caller: &Caller,
        order_id: &str,
        line_ids: &[String],
    ) -> Result<Vec<(Eligibility, i32)>, Error> {
        self.catch_up_order(order_id).await;
        let now = self.ctx.clock.now();
        let mut conn = self.ctx.read().await?;
        let order = load_order(&mut conn, order_id, false).await?;
        if !caller.may_see_customer(&order.customer_id) {
            return Err(ReturnError::not_found("order", order_id).into());
        }
        let mut v = Violations::new();
        for (i, id) in line_ids.iter().enumerate() {
            if !order.lines.iter().any(|l| &l.line_id == id) {
                v.add(format!("line_ids[{i}]"), format!("order has no line {id:?}"));
            }
        }
        v.finish()?;
        let mut policies: HashMap<String, Policy> = HashMap::new();
        let mut out = Vec::new();
        for line in order
            .lines
            .iter()
            .filter(|l| line_ids.is_empty() || line_ids.contains(&l.line_id))
        {
            if !policies.contains_key(&line.category) {
                let p = policy_store::effective_policy(&mut conn, &line.category, now).await?;
                policies.insert(line.category.clone(), p);
            }
            let policy = &policies[&line.category];
            out.push((
                eligibility(line, order.canceled, policy, order.currency, now),
                policy.version,
            ));
        }
        Ok(out)
    }
}
