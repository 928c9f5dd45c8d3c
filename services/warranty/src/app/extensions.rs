//! Extended-warranty plans: configured by SKU, sold on order lines (see
//! [`super::registrations`] for their delivery), and canceled with their
//! money paid back once, in full within the cooling-off period, else pro
//! rata by the extra days left.

use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;
use uuid::Uuid;

use super::{Warranty, visible};
use crate::domain::{Base, ClaimRefundId, Extension, ExtensionId, Plan, WarrantyError};
use crate::events;
use crate::store;
use crate::store::service::{Refund, RefundKind};

impl Warranty {
    pub async fn upsert_plan(&self, plan: Plan) -> Result<Plan, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::plans::upsert_plan(uow.conn(), &plan, now).await?;
        uow.commit().await?;
        Ok(plan)
    }

    pub async fn plans(&self) -> Result<Vec<Plan>, Error> {
        store::plans::plans(&mut *self.ctx.read().await?).await
    }

    pub async fn extensions(&self, caller: &Caller, customer_id: &str) -> Result<Vec<Extension>, Error> {
        visible(caller, customer_id, "customer", customer_id)?;
        store::plans::customer_extensions(&mut *self.ctx.read().await?, customer_id).await
    }

    /// Cancels a plan and pays its money back once.
    pub async fn cancel_extension(
        &self,
        caller: &Caller,
        id: ExtensionId,
        request_id: &str,
    ) -> Result<(Extension, Option<Refund>), Error> {
        let mut uow = self.ctx.begin().await?;
        let refund_id = ClaimRefundId::new();
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "warranty.CancelExtendedWarranty",
                caller,
                "request_id",
                request_id,
                id.as_uuid().as_bytes(),
                refund_id.as_uuid().as_bytes(),
            )
            .await?
        {
            let extension = store::plans::extension(uow.conn(), id, false)
                .await?
                .ok_or_else(|| Error::internal("a canceled plan is gone"))?;
            let refund = store::service::refund(
                uow.conn(),
                ClaimRefundId::from_uuid(Uuid::from_slice(&stored).map_err(Error::internal)?),
                false,
            )
            .await?;
            return Ok((extension, refund));
        }
        let now = uow.now();
        let not_found = || WarrantyError::not_found("extended warranty", id.to_string());
        let mut extension = store::plans::extension(uow.conn(), id, true)
            .await?
            .ok_or_else(not_found)?;
        visible(caller, &extension.customer_id, "extended warranty", id)?;
        if extension.canceled_at.is_some() && store::service::live_plan_refund(uow.conn(), id).await? {
            return Err(WarrantyError::PlanCanceled.into());
        }
        // What it pays back is decided when it is canceled, and kept: a
        // failed refund is issued again for the same amount.
        let amount = match extension.refund_due {
            Some(due) => due,
            None => {
                let base =
                    store::registrations::first_unit(uow.conn(), &extension.order_id, &extension.extends_line_id)
                        .await?
                        .map(|r| Base {
                            starts_at: r.coverage_starts_at,
                            months: r.duration_months,
                            repair_days: r.repair_extension_days,
                            zone: r.time_zone,
                        });
                let due = extension.refund_at(base, now);
                store::plans::cancel(uow.conn(), id, due, now).await?;
                store::registrations::extend_line(
                    uow.conn(),
                    &extension.order_id,
                    &extension.extends_line_id,
                    -extension.months,
                    now,
                )
                .await?;
                extension.canceled_at = Some(now);
                extension.refund_due = Some(due);
                due
            }
        };
        let refund = if amount.is_positive() {
            let refund = Refund {
                refund_id,
                claim_id: None,
                extension_id: Some(id),
                kind: RefundKind::PlanCancellation,
                amount,
                status: "pending",
                provider_reference: None,
                failure_reason: None,
                created_at: now,
            };
            store::service::insert_refund(uow.conn(), &refund).await?;
            uow.emit(
                &id.to_string(),
                &events::refund_requested(
                    &refund,
                    &extension.customer_id,
                    None,
                    Some(&(extension.order_id.clone(), extension.plan_line_id.clone())),
                ),
            )
            .await?;
            Some(refund)
        } else {
            None
        };
        uow.commit().await?;
        Ok((extension, refund))
    }
}
