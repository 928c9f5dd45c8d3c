//! Warranty's refunds, paid through this service's refund path. Returns
//! keeps what was paid back on every order line, so a unit refunded under
//! warranty is never refunded again by a return, nor the other way round:
//! warranty asks (`ClaimRefundRequested`), the refund is written here on
//! the line's balance and announced like a return's (`RefundRequested`),
//! the payment tool settles it with ConfirmRefund / FailRefund, and
//! warranty learns how it went from `RefundSucceeded` / `RefundFailed`.

use aftercare_kernel::Money;
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::UnitOfWork;

use super::Outcome;
use crate::domain::*;
use crate::events;
use crate::store::{orders, warranty_refunds as store};

/// A refund warranty asks for, as its event told it.
pub struct Requested {
    pub warranty_refund_id: uuid::Uuid,
    pub kind: String,
    pub customer_id: String,
    pub order_line: Option<(String, String)>,
    pub units: i32,
    pub amount: Money,
}

/// Why an order line cannot pay a warranty refund, or `None` when it can.
/// `Err` when the line is not known here yet (its order's events are on
/// their way): the request waits for them.
async fn unpayable(uow: &mut UnitOfWork<'_>, r: &Requested) -> Result<Option<&'static str>, Error> {
    let Some((order, line)) = &r.order_line else {
        return Ok(None);
    };
    let Some(balance) = orders::line_balance(uow.conn(), order, line).await? else {
        return Err(Error::internal(format!(
            "order {order} line {line}: its order events have not reached returns yet"
        )));
    };
    Ok(if balance.units_free < r.units {
        Some("the unit was returned or refunded before")
    } else if r.amount.amount() > balance.amount_left {
        Some("more than is left to pay back on the order line")
    } else {
        None
    })
}

/// Writes warranty's refund once and announces it: pending for the payment
/// tool, with its units and money taken from the line; or failed at once,
/// with why, when the line cannot pay it. A request delivered again does
/// nothing.
pub async fn request(uow: &mut UnitOfWork<'_>, r: Requested) -> Result<(), Error> {
    let now = uow.now();
    let failure = unpayable(uow, &r).await?;
    let w = WarrantyRefund {
        refund_id: RefundId::new(),
        warranty_refund_id: r.warranty_refund_id,
        kind: r.kind,
        customer_id: r.customer_id,
        units: r.units,
        // Money for a product the store did not sell goes to the
        // customer's store credit: there is no payment to return it to.
        method: match r.order_line {
            Some(_) => RefundMethod::OriginalPayment,
            None => RefundMethod::StoreCredit,
        },
        order_line: r.order_line,
        status: match failure {
            Some(_) => RefundStatus::Failed,
            None => RefundStatus::Pending,
        },
        amount: r.amount,
        provider_reference: None,
        failure_reason: failure.map(str::to_owned),
        created_at: now,
        updated_at: now,
    };
    if !store::insert(uow.conn(), &w).await? {
        return Ok(());
    }
    if failure.is_none() {
        take_from_line(uow, &w, 1).await?;
    }
    let aggregate = w.warranty_refund_id.to_string();
    match w.status {
        RefundStatus::Pending => uow.emit(&aggregate, &events::warranty_refund_requested(&w)).await,
        _ => uow.emit(&aggregate, &events::warranty_refund_failed(&w)).await,
    }
}

/// Takes (`sign` 1) or gives back (-1) the refund's units and money on
/// its line.
async fn take_from_line(uow: &mut UnitOfWork<'_>, w: &WarrantyRefund, sign: i32) -> Result<(), Error> {
    let Some((order, line)) = &w.order_line else {
        return Ok(());
    };
    let amount = if sign > 0 {
        w.amount
    } else {
        Money::zero(w.amount.currency()) - w.amount
    };
    orders::reserve_units(uow.conn(), order, line, sign * w.units).await?;
    orders::refund_units(uow.conn(), order, line, sign * w.units, amount, amount).await
}

/// Settles a pending warranty refund as the payment tool answered; the
/// same confirmation again answers the settled refund. A failed one gives
/// its units and money back to the line, and warranty may ask again.
pub async fn settle(
    uow: &mut UnitOfWork<'_>,
    caller: &Caller,
    id: RefundId,
    outcome: Outcome,
) -> Result<WarrantyRefund, Error> {
    let not_found = || ReturnError::not_found("refund", id.to_string());
    let mut w = store::get(uow.conn(), id, true).await?.ok_or_else(not_found)?;
    if !caller.may_see_customer(&w.customer_id) {
        return Err(not_found().into());
    }
    match (&outcome, w.status) {
        (Outcome::Paid(reference), RefundStatus::Succeeded) if w.provider_reference.as_deref() == Some(reference) => {
            return Ok(w);
        }
        (_, RefundStatus::Pending) => {}
        (_, status) => return Err(ReturnError::RefundNotPending(status).into()),
    }
    w.updated_at = uow.now();
    let aggregate = w.warranty_refund_id.to_string();
    match outcome {
        Outcome::Paid(reference) => {
            w.status = RefundStatus::Succeeded;
            w.provider_reference = Some(reference);
            store::update(uow.conn(), &w).await?;
            uow.emit(&aggregate, &events::warranty_refund_succeeded(&w)).await?;
        }
        Outcome::Failed(reason) => {
            w.status = RefundStatus::Failed;
            w.failure_reason = Some(reason);
            store::update(uow.conn(), &w).await?;
            take_from_line(uow, &w, -1).await?;
            uow.emit(&aggregate, &events::warranty_refund_failed(&w)).await?;
        }
    }
    Ok(w)
}
