//! Exchange differences made real: the store prices the replacements, what
//! the customer owes is charged (exactly once per request_id, one pending
//! charge per return) before the replacements ship, and what the store owes
//! is refunded through the normal refund path.

use aftercare_kernel::Money;
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;

use super::{Author, Outcome, Returns, complete, note};
use crate::domain::*;
use crate::events;
use crate::store::{charges as store, returns as return_store};

/// The idempotency scope of ChargeExchangeDifference.
const SCOPE: &str = "returns.ChargeExchangeDifference";

impl Returns {
    /// Sets replacement prices (per unit, by line) and settles the exchange
    /// again under them.
    pub async fn price_exchange(
        &self,
        caller: &Caller,
        id: ReturnId,
        prices: Vec<(String, Money)>,
    ) -> Result<(Return, Policies), Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        r.check_pricing()?;
        let mut v = aftercare_kernel::Violations::new();
        for (i, (line_id, price)) in prices.iter().enumerate() {
            if price.currency() != r.currency {
                v.add(
                    format!("prices[{i}].price.currency_code"),
                    format!("must be the order currency {}", r.currency),
                );
                continue;
            }
            match r.items.iter_mut().find(|item| &item.line_id == line_id) {
                Some(item) if item.resolution != Resolution::Exchange => v.add(
                    format!("prices[{i}].line_id"),
                    format!("line {line_id:?} is not exchanged"),
                ),
                Some(item) if price.times(i64::from(item.quantity)).exceeds_limit() => v.add(
                    format!("prices[{i}].price"),
                    "price x quantity is above the largest amount accepted",
                ),
                Some(item) => item.replacement_price = Some(*price),
                None => v.add(
                    format!("prices[{i}].line_id"),
                    format!("the return has no item for line {line_id:?}"),
                ),
            }
        }
        v.finish()?;
        let refunds: Vec<(Money, Reason)> = r.items.iter().map(|i| (i.refund_amount, i.reason)).collect();
        r.settlement = settle(
            &refunds,
            r.resolution,
            r.keep_items,
            r.replacements_total(),
            &policies.terms,
        );
        r.updated_at = now;
        let text = if !r.exchange_priced() {
            "Replacement partly priced.".to_owned()
        } else if r.exchange_balance().is_positive() {
            format!("Replacement priced: {} to pay before it ships.", r.exchange_balance())
        } else if r.settlement.refund_total.is_positive() {
            format!("Replacement priced: {} comes back to you.", r.settlement.refund_total)
        } else {
            "Replacement priced: nothing to pay.".to_owned()
        };
        note(uow.conn(), &mut r, None, text, &Author::of(caller), true, now).await?;
        return_store::update_items(uow.conn(), &r).await?;
        self.finish(uow, r, policies).await
    }

    pub async fn charge_difference(&self, caller: &Caller, id: ReturnId, request_id: &str) -> Result<Charge, Error> {
        let mut uow = self.ctx.begin().await?;
        let claim = uow
            .claim(SCOPE, caller, "request_id", request_id, id.as_uuid().as_bytes())
            .await?;
        if let Replay::Stored(charge_id) = claim {
            let charge_id = uuid::Uuid::from_slice(&charge_id).map_err(Error::internal)?;
            return store::get_charge(uow.conn(), ChargeId::from_uuid(charge_id), false)
                .await?
                .ok_or_else(|| Error::internal("a stored charge is gone"));
        }
        let now = uow.now();
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        let amount = r.charge_due(&policies)?;
        let charge = Charge {
            charge_id: ChargeId::new(),
            return_id: r.return_id,
            status: ChargeStatus::Pending,
            amount,
            provider_reference: None,
            failure_reason: None,
            created_at: now,
            updated_at: now,
        };
        store::insert_charge(uow.conn(), &charge).await?;
        r.charge = Some(charge.clone());
        r.updated_at = now;
        let text = format!("Payment of {amount} requested for the exchange.");
        note(uow.conn(), &mut r, None, text, &Author::of(caller), true, now).await?;
        uow.emit(&r.return_id.to_string(), &events::charge_requested(&r, &charge))
            .await?;
        return_store::update_return(uow.conn(), &r).await?;
        uow.complete(charge.charge_id.as_uuid().as_bytes()).await?;
        uow.commit().await?;
        Ok(charge)
    }

    /// Settles a pending charge; a repeated confirmation with the same
    /// reference answers the settled charge. A paid charge completes an
    /// exchange that was only waiting for it.
    pub async fn settle_charge(&self, caller: &Caller, id: ChargeId, outcome: Outcome) -> Result<Charge, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let not_found = || ReturnError::not_found("charge", id.to_string());
        let charge = store::get_charge(uow.conn(), id, false).await?.ok_or_else(not_found)?;
        // The return first, then the charge: the order every writer uses.
        let (mut r, policies) = self.visible_return(uow.conn(), caller, charge.return_id, true).await?;
        let mut charge = store::get_charge(uow.conn(), id, true).await?.ok_or_else(not_found)?;
        match (&outcome, charge.status) {
            (Outcome::Paid(reference), ChargeStatus::Succeeded)
                if charge.provider_reference.as_deref() == Some(reference) =>
            {
                return Ok(charge);
            }
            (_, ChargeStatus::Pending) => {}
            (_, status) => return Err(ReturnError::ChargeNotPending(status).into()),
        }
        charge.updated_at = now;
        r.updated_at = now;
        let by = Author::of(caller);
        let aggregate = r.return_id.to_string();
        match outcome {
            Outcome::Paid(reference) => {
                charge.status = ChargeStatus::Succeeded;
                charge.provider_reference = Some(reference);
                store::update_charge(uow.conn(), &charge).await?;
                r.collected += charge.amount;
                r.charge = Some(charge.clone());
                note(uow.conn(), &mut r, None, "Payment received.".into(), &by, true, now).await?;
                uow.emit(&aggregate, &events::charge_succeeded(&r, &charge)).await?;
                if r.check(Step::Complete, &policies).is_ok() {
                    complete(&mut uow, &mut r, &policies, &Author::SYSTEM).await?;
                }
            }
            Outcome::Failed(reason) => {
                charge.status = ChargeStatus::Failed;
                charge.failure_reason = Some(reason.clone());
                store::update_charge(uow.conn(), &charge).await?;
                r.charge = Some(charge.clone());
                let internal = format!("Payment failed: {reason}");
                note(uow.conn(), &mut r, None, internal, &by, false, now).await?;
                let visible = "Your payment did not go through; we will ask again.".to_owned();
                note(uow.conn(), &mut r, None, visible, &Author::SYSTEM, true, now).await?;
                uow.emit(&aggregate, &events::charge_failed(&r, &charge)).await?;
            }
        }
        return_store::update_return(uow.conn(), &r).await?;
        uow.commit().await?;
        Ok(charge)
    }
}
