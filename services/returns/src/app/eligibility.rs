//! What each line of an order allows now.

use aftercare_kernel::Violations;
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;

use super::Returns;
use crate::domain::{Eligibility, ReturnError, eligibility};

impl Returns {
    /// Each requested line's eligibility (every line when `line_ids` is
    /// empty) with the version of the policy that decided it.
    pub async fn eligibility(
        &self,
        caller: &Caller,
        order_id: &str,
        line_ids: &[String],
    ) -> Result<Vec<(Eligibility, i32)>, Error> {
        let now = self.ctx.clock.now();
        let (mut conn, view) = self.current_order(order_id).await?;
        let order = &view.facts;
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
        let policies = self.line_policies(&mut conn, &view).await?;
        let mut out = Vec::new();
        for line in order
            .lines
            .iter()
            .filter(|l| line_ids.is_empty() || line_ids.contains(&l.line_id))
        {
            let policy = &policies[&line.line_id];
            out.push((
                eligibility(line, order.canceled, policy, order.currency, now),
                policy.version,
            ));
        }
        Ok(out)
    }
}
