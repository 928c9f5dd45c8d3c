//! Warranty's refunds, paid through this service's refund path. Returns
//! keeps what was paid back on every order line, so a unit refunded under
//! warranty is never refunded again by a return, nor the other way round:
//! warranty asks (`ClaimRefundRequested`), the refund is written here on
//! the line's balance and announced like a return's (`RefundRequested`),
//! the payment tool settles it with ConfirmRefund / FailRefund, and
//! warranty learns how it went from `RefundSucceeded` / `RefundFailed`.
//!
//! Returns knows lines, not units: a unit's first warranty money takes it
//! out of the line's returnable units (at the value the next refunded unit
//! of the line is worth), so the line's other units keep their price and no
//! return refunds it after; every warranty payment counts against what was
//! paid for the line.

use aftercare_kernel::Money;
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::uow::UnitOfWork;

use super::Outcome;
use crate::domain::*;
use crate::events;
use crate::projection::CONSUMER as ORDER_CONSUMER;
use crate::store::{orders, warranty_refunds as store};

/// A refund warranty asks for, as its event told it.
pub struct Requested {
    pub warranty_refund_id: uuid::Uuid,
    pub kind: String,
    pub customer_id: String,
    pub order_line: Option<(String, String)>,
    pub bought_elsewhere: bool,
    /// The unit as sold (none for a plan).
    pub unit_id: Option<uuid::Uuid>,
    pub units: i32,
    pub amount: Money,
}

/// Whether the line can pay a warranty refund.
enum Verdict {
    /// Yes; taking the unit out of returns first, worth this, when this is
    /// the unit's first warranty money.
    Pay { take_unit: Option<Money> },
    /// No, and why: the refund fails at once.
    Refuse(&'static str),
}

/// Decides on `r` with its line locked. `Err` only while the order's own
/// events have yet to reach returns (the request is retried after them).
async fn decide(uow: &mut UnitOfWork<'_>, r: &Requested) -> Result<Verdict, Error> {
    use Verdict::*;
    let Some((order, line)) = &r.order_line else {
        return Ok(match r.bought_elsewhere {
            true => Pay { take_unit: None },
            false => Refuse("names neither an order line nor a product bought elsewhere"),
        });
    };
    let balance = orders::line_balance(uow.conn(), order, line).await?;
    let Some(b) = balance.filter(|b| b.delivered) else {
        if orders::events_pending(uow.conn(), ORDER_CONSUMER, order).await? {
            return Err(Error::internal(format!(
                "order {order}: its events have not reached returns yet"
            )));
        }
        return Ok(Refuse("the order line is unknown to returns or was never delivered"));
    };
    if r.amount.currency() != b.currency {
        return Ok(Refuse("not in the order's currency"));
    }
    if r.amount
        .checked_sub(b.paid - b.refunded_amount)
        .is_ok_and(|over| over.is_positive())
    {
        return Ok(Refuse("more than is left to pay back on the order line"));
    }
    let Some(unit) = r.unit_id else {
        return Ok(Pay { take_unit: None });
    };
    if store::unit_taken(uow.conn(), unit).await? {
        return Ok(Pay { take_unit: None });
    }
    if b.units_free < 1 {
        return Ok(Refuse("the unit was returned before"));
    }
    let left_units = b.quantity - b.refunded_units;
    Ok(Pay {
        take_unit: Some(next_units_value(b.paid, b.refunded_value, left_units, 1)),
    })
}

/// Writes warranty's refund once and announces it: pending for the payment
/// tool, its money taken from the line (and, on the unit's first warranty
/// money, the unit too: no return refunds it after); or failed at once,
/// with why, when the line cannot pay it. A request delivered again does
/// nothing.
pub async fn request(uow: &mut UnitOfWork<'_>, r: Requested) -> Result<(), Error> {
    let now = uow.now();
    let verdict = decide(uow, &r).await?;
    let failure = match verdict {
        Verdict::Refuse(why) => Some(why),
        Verdict::Pay { .. } => None,
    };
    let w = WarrantyRefund {
        refund_id: RefundId::new(),
        warranty_refund_id: r.warranty_refund_id,
        kind: r.kind,
        customer_id: r.customer_id,
        unit_id: r.unit_id,
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
    if let (Verdict::Pay { take_unit }, Some((order, line))) = (&verdict, &w.order_line) {
        if let (Some(value), Some(unit)) = (take_unit, w.unit_id) {
            orders::reserve_units(uow.conn(), order, line, 1).await?;
            orders::refund_units(uow.conn(), order, line, 1, Money::zero(value.currency()), *value).await?;
            store::take_unit(uow.conn(), unit, order, line, *value, now).await?;
        }
        orders::refund_money(uow.conn(), order, line, w.amount).await?;
    }
    let aggregate = w.warranty_refund_id.to_string();
    match w.status {
        RefundStatus::Pending => uow.emit(&aggregate, &events::warranty_refund_requested(&w)).await,
        _ => uow.emit(&aggregate, &events::warranty_refund_failed(&w)).await,
    }
}

/// Answers a request that cannot be read whole (a producer's bug) as a
/// failed refund, with why, so that warranty's refund does not wait for
/// ever; nothing is written or paid.
pub async fn refuse_malformed(
    uow: &mut UnitOfWork<'_>,
    warranty_refund_id: uuid::Uuid,
    customer_id: &str,
    why: &str,
) -> Result<(), Error> {
    let event = events::malformed_warranty_refund(warranty_refund_id, customer_id, why);
    uow.emit(&warranty_refund_id.to_string(), &event).await
}

/// Settles a pending warranty refund as the payment tool answered; the
/// same confirmation again answers the settled refund. A failed one gives
/// its money back to the line, and warranty may ask again. Store credit
/// for a product the store did not sell is settled by the payment tool
/// only: an agent alone never makes money out of nothing.
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
    if w.order_line.is_none() && caller.role != Role::Service {
        return Err(Error::PermissionDenied(
            "store credit for a product bought elsewhere is settled by the payment tool".into(),
        ));
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
            // The money goes back to the line; the unit stays with
            // warranty (its claim goes on there).
            if let Some((order, line)) = &w.order_line {
                let back = Money::zero(w.amount.currency()) - w.amount;
                orders::refund_money(uow.conn(), order, line, back).await?;
            }
            uow.emit(&aggregate, &events::warranty_refund_failed(&w)).await?;
        }
    }
    Ok(w)
}
