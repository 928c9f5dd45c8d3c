//! Refunds: issued exactly once per return (a row lock, a partial unique
//! index and the request_id together), then confirmed or failed by the
//! payment tool; after a failure a new one may be issued.

use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;

use super::{Author, Outcome, Returns, complete, issue_refund, note, warranty_refunds};
use crate::domain::*;
use crate::events;
use crate::store::{refunds as store, returns as return_store};

/// The idempotency scope of IssueRefund.
const SCOPE: &str = "returns.IssueRefund";

impl Returns {
    pub async fn issue_refund(&self, caller: &Caller, id: ReturnId, request_id: &str) -> Result<Refund, Error> {
        let mut uow = self.ctx.begin().await?;
        let refund_id = RefundId::new();
        let (request, answer) = (*id.as_uuid().as_bytes(), *refund_id.as_uuid().as_bytes());
        if let Replay::Stored(refund_id) = uow
            .claim_answered(SCOPE, caller, "request_id", request_id, &request, &answer)
            .await?
        {
            let refund_id = uuid::Uuid::from_slice(&refund_id).map_err(Error::internal)?;
            let refund = store::get_refund(uow.conn(), RefundId::from_uuid(refund_id), false)
                .await?
                .ok_or_else(|| Error::internal("a stored refund is gone"))?;
            return Ok(refund);
        }
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        if let Some(existing) = r.refund.as_ref().filter(|f| f.live()) {
            return Err(ReturnError::RefundAlreadyIssued {
                refund_id: Some(existing.refund_id),
            }
            .into());
        }
        r.check(Step::IssueRefund, &policies)?;
        let refund = issue_refund(&mut uow, &mut r, refund_id, &Author::of(caller)).await?;
        return_store::update_return(uow.conn(), &r).await?;
        uow.commit().await?;
        Ok(refund)
    }

    /// Settles a pending refund (a return's, or a warranty refund paid
    /// here); a repeated confirmation with the same reference answers the
    /// settled refund.
    pub async fn settle_refund(
        &self,
        caller: &Caller,
        refund_id: RefundId,
        outcome: Outcome,
    ) -> Result<Settled, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let not_found = || ReturnError::not_found("refund", refund_id.to_string());
        let Some(refund) = store::get_refund(uow.conn(), refund_id, false).await? else {
            let w = warranty_refunds::settle(&mut uow, caller, refund_id, outcome).await?;
            uow.commit().await?;
            return Ok(Settled::Warranty(w));
        };
        // Lock the return first, then the refund: the order every writer uses.
        let (mut r, policies) = self.visible_return(uow.conn(), caller, refund.return_id, true).await?;
        let mut refund = store::get_refund(uow.conn(), refund_id, true)
            .await?
            .ok_or_else(not_found)?;
        match (&outcome, refund.status) {
            (Outcome::Paid(reference), RefundStatus::Succeeded)
                if refund.provider_reference.as_deref() == Some(reference) =>
            {
                return Ok(Settled::Return(refund)); // a repeated confirmation
            }
            (_, RefundStatus::Pending) => {}
            (_, status) => return Err(ReturnError::RefundNotPending(status).into()),
        }
        refund.updated_at = now;
        r.updated_at = now;
        let by = Author::of(caller);
        let aggregate = r.return_id.to_string();
        match outcome {
            Outcome::Paid(reference) => {
                refund.status = RefundStatus::Succeeded;
                refund.provider_reference = Some(reference);
                store::update_refund(uow.conn(), &refund).await?;
                r.refund = Some(refund.clone());
                note(uow.conn(), &mut r, None, "Refund paid.".into(), &by, true, now).await?;
                uow.emit(&aggregate, &events::refund_succeeded(&r, &refund)).await?;
                if r.check(Step::Complete, &policies).is_ok() {
                    complete(&mut uow, &mut r, &policies, &Author::SYSTEM).await?;
                }
            }
            Outcome::Failed(reason) => {
                refund.status = RefundStatus::Failed;
                refund.failure_reason = Some(reason.clone());
                store::update_refund(uow.conn(), &refund).await?;
                r.refund = Some(refund.clone());
                let internal = format!("Refund failed: {reason}");
                note(uow.conn(), &mut r, None, internal, &by, false, now).await?;
                let visible = "Your refund did not go through; we will try again.".to_owned();
                note(uow.conn(), &mut r, None, visible, &Author::SYSTEM, true, now).await?;
                uow.emit(&aggregate, &events::refund_failed(&r, &refund)).await?;
            }
        }
        return_store::update_return(uow.conn(), &r).await?;
        uow.commit().await?;
        Ok(Settled::Return(refund))
    }
}

/// A settled refund: a return's, or a warranty refund paid here.
pub enum Settled {
    Return(Refund),
    Warranty(WarrantyRefund),
}
