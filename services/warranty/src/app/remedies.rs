//! Remedies other than repair: a replacement unit that continues the
//! remaining coverage, and money paid back (a refund or a price
//! reduction) exactly once per claim, paid through the returns service's
//! refund path (which counts it on the order line) and settled from its
//! outcome.

use aftercare_kernel::Money;
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::uow::{Replay, UnitOfWork};
use uuid::Uuid;

use super::Warranty;
use super::claims::{locked_claim, resolve};
use crate::domain::{
    ClaimId, ClaimRefundId, ClaimStatus, Registration, RegistrationId, RegistrationStatus, Remedy, Source,
    WarrantyError,
};
use crate::events;
use crate::store;
use crate::store::service::{Refund, RefundKind};

/// How a payment tool settled a refund.
pub enum Settlement {
    Paid(String),
    Failed(String),
}

impl Warranty {
    /// Sends a replacement: a new registration with the new serial carries
    /// the old one's remaining coverage; the claim is resolved.
    pub async fn replace(
        &self,
        caller: &Caller,
        claim_id: ClaimId,
        serial: String,
        note: String,
    ) -> Result<crate::domain::Claim, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut claim = locked_claim(&mut uow, caller, claim_id).await?;
        if claim.remedy != Some(Remedy::Replacement) {
            return Err(WarrantyError::WrongRemedy("approved for a replacement").into());
        }
        if !matches!(claim.status, ClaimStatus::Approved | ClaimStatus::InService) {
            return Err(WarrantyError::StepNotAllowed {
                status: claim.status,
                step: crate::domain::ClaimStep::Resolve,
            }
            .into());
        }
        let old = store::registrations::get(uow.conn(), claim.registration_id, true)
            .await?
            .ok_or_else(|| WarrantyError::Corrupt("a claim without its registration".into()))?;
        if old.status != RegistrationStatus::Active {
            return Err(WarrantyError::UnitSettled(old.status.as_str()).into());
        }
        // Money being paid back on the unit first settles or fails.
        if store::service::unit_refund_live(uow.conn(), old.registration_id).await? {
            return Err(WarrantyError::RefundLive.into());
        }
        let new = Registration {
            registration_id: RegistrationId::new(),
            source: Source::Replacement,
            status: RegistrationStatus::Active,
            serial_number: Some(serial.clone()),
            order_line: None,
            proof_of_purchase_ref: None,
            replaces: Some(old.registration_id),
            created_at: now,
            verification_note: String::new(),
            ..old.clone()
        };
        store::registrations::insert(uow.conn(), &new).await?;
        store::registrations::set_status(uow.conn(), old.registration_id, "replaced", now).await?;
        let text = if note.is_empty() {
            format!("A replacement is on its way (serial {serial}); it keeps the remaining warranty.")
        } else {
            note
        };
        resolve(&mut uow, &mut claim, Some(caller), text).await?;
        uow.emit(&new.registration_id.to_string(), &events::product_registered(&new)?)
            .await?;
        uow.commit().await?;
        Ok(claim)
    }

    /// Issues the claim's money once: the unit's price for a refund, the
    /// amount asked (up to it) for a price reduction.
    pub async fn issue_refund(
        &self,
        caller: &Caller,
        claim_id: ClaimId,
        amount: Option<Money>,
        request_id: &str,
    ) -> Result<Refund, Error> {
        let mut uow = self.ctx.begin().await?;
        let refund_id = ClaimRefundId::new();
        let request = format!(
            "{claim_id}\u{0}{}",
            amount
                .map(|m| format!("{} {}", m.currency().code(), m.to_amount_string()))
                .unwrap_or_default()
        );
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "warranty.IssueClaimRefund",
                caller,
                "request_id",
                request_id,
                request.as_bytes(),
                refund_id.as_uuid().as_bytes(),
            )
            .await?
        {
            let id = ClaimRefundId::from_uuid(Uuid::from_slice(&stored).map_err(Error::internal)?);
            return store::service::refund(uow.conn(), id, false)
                .await?
                .ok_or_else(|| Error::internal("a stored refund is gone"));
        }
        let now = uow.now();
        let claim = locked_claim(&mut uow, caller, claim_id).await?;
        let Some(kind) = claim.remedy.and_then(RefundKind::of) else {
            return Err(WarrantyError::WrongRemedy("approved for a refund or a price reduction").into());
        };
        if claim.status != ClaimStatus::Approved {
            return Err(WarrantyError::StepNotAllowed {
                status: claim.status,
                step: crate::domain::ClaimStep::Resolve,
            }
            .into());
        }
        // The unit, locked: whatever its claims, it is paid back at most its
        // price, and nothing once refunded or replaced.
        let registration = store::registrations::get(uow.conn(), claim.registration_id, true)
            .await?
            .ok_or_else(|| WarrantyError::Corrupt("a claim without its registration".into()))?;
        if store::service::live_refund(uow.conn(), claim_id).await? {
            return Err(WarrantyError::RefundAlreadyIssued.into());
        }
        match registration.status {
            RegistrationStatus::Replaced => return Err(WarrantyError::UnitSettled("replaced").into()),
            RegistrationStatus::Refunded => return Err(WarrantyError::UnitSettled("refunded").into()),
            _ => {}
        }
        let left = match registration.unit_price {
            Some(price) => {
                let paid =
                    store::service::paid_back(uow.conn(), registration.registration_id, price.currency()).await?;
                Some(
                    price
                        .checked_sub(paid)
                        .map_err(Error::internal)?
                        .max(Money::zero(price.currency())),
                )
            }
            // No recorded price: only an agent names what is paid back.
            None if caller.role != Role::Agent => return Err(WarrantyError::PriceUnknown.into()),
            None => None,
        };
        let amount = refund_amount(kind, amount, left)?;
        let refund = Refund {
            refund_id,
            claim_id: Some(claim_id),
            extension_id: None,
            kind,
            amount,
            status: "pending",
            provider_reference: None,
            failure_reason: None,
            created_at: now,
        };
        store::service::insert_refund(uow.conn(), &refund).await?;
        let origin = store::registrations::origin(uow.conn(), registration.registration_id).await?;
        uow.emit(
            &claim_id.to_string(),
            &events::refund_requested(
                &refund,
                &claim.customer_id,
                Some(origin.unit),
                origin.order_line.as_ref(),
            ),
        )
        .await?;
        uow.commit().await?;
        Ok(refund)
    }

    /// One refund of a claim or plan the caller may see.
    pub async fn claim_refund(&self, caller: &Caller, id: ClaimRefundId) -> Result<Refund, Error> {
        let mut conn = self.ctx.read().await?;
        let not_found = || WarrantyError::not_found("refund", id.to_string());
        let refund = store::service::refund(&mut conn, id, false)
            .await?
            .ok_or_else(not_found)?;
        let customer_id = match (refund.claim_id, refund.extension_id) {
            (Some(claim_id), _) => store::claims::get(&mut conn, claim_id, false)
                .await?
                .map(|c| c.customer_id),
            (None, Some(plan)) => store::plans::extension(&mut conn, plan, false)
                .await?
                .map(|e| e.customer_id),
            (None, None) => None,
        };
        match customer_id {
            Some(c) if caller.may_see_customer(&c) => Ok(refund),
            _ => Err(not_found().into()),
        }
    }
}

/// How returns settled a warranty refund it paid (its `RefundSucceeded` or
/// `RefundFailed`): paid resolves the claim and, for a refund, settles the
/// unit; failed lets a new refund be issued. The same outcome delivered
/// again changes nothing.
pub async fn settle_refund(uow: &mut UnitOfWork<'_>, id: ClaimRefundId, s: Settlement) -> Result<(), Error> {
    let now = uow.now();
    let peek = store::service::refund(uow.conn(), id, false)
        .await?
        .ok_or_else(|| WarrantyError::not_found("refund", id.to_string()))?;
    // The claim or the plan first, then the refund: the order every
    // writer locks in.
    let mut claim = match (peek.claim_id, peek.extension_id) {
        (Some(claim_id), _) => Some(
            store::claims::get(uow.conn(), claim_id, true)
                .await?
                .ok_or_else(|| WarrantyError::Corrupt("a refund without its claim".into()))?,
        ),
        (None, Some(plan)) => {
            store::plans::extension(uow.conn(), plan, true).await?;
            None
        }
        (None, None) => return Err(Error::internal("a refund of nothing")),
    };
    let mut refund = store::service::refund(uow.conn(), id, true)
        .await?
        .ok_or_else(|| WarrantyError::not_found("refund", id.to_string()))?;
    match (&s, refund.status) {
        (_, "pending") => {}
        (Settlement::Paid(_), "succeeded") | (Settlement::Failed(_), "failed") => return Ok(()),
        (_, status) => return Err(WarrantyError::RefundNotPending(status).into()),
    }
    match s {
        Settlement::Paid(reference) => {
            refund.status = "succeeded";
            refund.provider_reference = Some(reference);
            store::service::settle_refund(uow.conn(), &refund, now).await?;
            if let Some(claim) = claim.as_mut() {
                if refund.kind == RefundKind::Refund {
                    // Paid back in full: the unit is no longer covered.
                    store::registrations::settle_refunded(uow.conn(), claim.registration_id, now).await?;
                }
                let text = format!(
                    "{} paid back to you.",
                    refund.amount.currency().format(refund.amount.amount())
                );
                resolve(uow, claim, None, text).await?;
            }
        }
        Settlement::Failed(reason) => {
            refund.status = "failed";
            refund.failure_reason = Some(reason);
            store::service::settle_refund(uow.conn(), &refund, now).await?;
        }
    }
    Ok(())
}

/// What a refund pays: a refund what is left of the unit's price (or, with
/// no recorded price, the amount an agent names); a price reduction the
/// amount named, never more than what is left.
fn refund_amount(kind: RefundKind, asked: Option<Money>, left: Option<Money>) -> Result<Money, Error> {
    if left.is_some_and(|l| l.is_zero()) {
        return Err(WarrantyError::UnitSettled("paid back in full").into());
    }
    match (kind, asked, left) {
        (RefundKind::Refund, None, Some(left)) => Ok(left),
        (_, None, _) => Err(Error::invalid(
            "amount",
            "is required: no price is recorded for this unit",
        )),
        (_, Some(a), Some(p)) if a.currency() != p.currency() => Err(Error::invalid(
            "amount.currency_code",
            format!("must be {}", p.currency().code()),
        )),
        (_, Some(a), Some(p)) if a.checked_sub(p).is_ok_and(|d| d.is_positive()) => {
            Err(WarrantyError::AmountExceedsPrice(p.currency().format(p.amount())).into())
        }
        (_, Some(a), _) => Ok(a),
    }
}
