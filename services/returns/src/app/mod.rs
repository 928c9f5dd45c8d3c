//! Returns' use cases, free of transport. Each mutating one runs the
//! platform's unit of work: begin -> (claim the request_id) -> load the
//! return with its lock -> ask the domain -> store -> emit events -> commit.
//!
//! - [`policies`] — policies and customer flags;
//! - [`eligibility`] — what an order's lines allow;
//! - [`create`] — new returns and their triage;
//! - [`lifecycle`] — approve, reject, cancel, ship, receive, exchange, messages;
//! - [`refunds`] — refunds issued exactly once, confirmed or failed;
//! - [`queries`] — reading and listing returns.

pub mod create;
pub mod eligibility;
pub mod lifecycle;
pub mod policies;
pub mod queries;
pub mod refunds;

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::uow::UnitOfWork;
use sqlx::PgConnection;

use crate::domain::*;
use crate::events;
use crate::store::{orders, policies as policy_store, refunds as refund_store, returns as return_store};

pub struct Returns {
    ctx: ServiceContext,
}

impl Returns {
    pub fn new(ctx: ServiceContext) -> Returns {
        Returns { ctx }
    }

    /// Writes the return's changes and commits the unit of work.
    async fn finish(&self, mut uow: UnitOfWork, r: Return, policy: Policy) -> Result<(Return, Policy), Error> {
        return_store::update_return(uow.conn(), &r).await?;
        uow.commit().await?;
        Ok((r, policy))
    }
}

/// Who did something, for the timeline: a caller's role, or the system.
#[derive(Debug, Clone)]
pub struct Author {
    role: &'static str,
    channel: Option<Channel>,
}

impl Author {
    pub const SYSTEM: Author = Author {
        role: "system",
        channel: None,
    };

    pub fn of(caller: &Caller) -> Author {
        Author {
            role: caller.role.as_str(),
            channel: None,
        }
    }

    pub fn via(caller: &Caller, channel: Option<Channel>) -> Author {
        Author {
            role: caller.role.as_str(),
            channel,
        }
    }
}

/// A return the caller may see (customers: their own; another customer's
/// is as absent as a missing one), with the policy it was decided under.
async fn visible_return(
    conn: &mut PgConnection,
    caller: &Caller,
    return_id: ReturnId,
    lock: bool,
) -> Result<(Return, Policy), Error> {
    let not_found = || ReturnError::not_found("return", return_id.to_string());
    let r = return_store::get_return(conn, return_id, lock)
        .await?
        .ok_or_else(not_found)?;
    if !caller.may_see_customer(&r.customer_id) {
        return Err(not_found().into());
    }
    let policy = policy_store::policy_version(conn, &r.policy_category, r.policy_version).await?;
    Ok((r, policy))
}

async fn load_order(conn: &mut PgConnection, order_id: &str, lock: bool) -> Result<OrderFacts, Error> {
    orders::order(conn, order_id, lock)
        .await?
        .ok_or_else(|| ReturnError::not_found("order", order_id).into())
}

/// Adds an entry to the return's timeline.
async fn note(
    conn: &mut PgConnection,
    r: &mut Return,
    status: Option<Status>,
    text: String,
    by: &Author,
    customer_visible: bool,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let entry = TimelineEntry {
        at: now,
        status,
        text,
        actor_role: by.role.to_owned(),
        channel: by.channel,
        customer_visible,
    };
    return_store::add_timeline(conn, r.return_id, &entry).await?;
    r.timeline.push(entry);
    Ok(())
}

/// Takes a lifecycle step that changes the status, with its timeline entry.
async fn transition(
    uow: &mut UnitOfWork,
    r: &mut Return,
    policy: &Policy,
    step: Step,
    text: String,
    by: &Author,
) -> Result<Status, Error> {
    let now = uow.now();
    let status = r.apply(step, policy, now)?;
    note(uow.conn(), r, Some(status), text, by, true, now).await?;
    Ok(status)
}

/// Completes a settled return: its refund paid, or its exchange shipped.
async fn complete(uow: &mut UnitOfWork, r: &mut Return, policy: &Policy, by: &Author) -> Result<(), Error> {
    transition(uow, r, policy, Step::Complete, "Return completed.".into(), by).await?;
    uow.emit(&r.return_id.to_string(), &events::return_completed(r)).await
}

/// Creates the return's refund (PENDING) and asks the payment tool for it.
async fn issue_refund(uow: &mut UnitOfWork, r: &mut Return, by: &Author) -> Result<Refund, Error> {
    if !r.settlement.refund_total.is_positive() {
        return Err(ReturnError::NothingToRefund.into());
    }
    let now = uow.now();
    let refund = Refund {
        refund_id: RefundId::new(),
        return_id: r.return_id,
        status: RefundStatus::Pending,
        method: r.refund_method(),
        amount: r.settlement.refund_total,
        provider_reference: None,
        failure_reason: None,
        created_at: now,
        updated_at: now,
    };
    refund_store::insert_refund(uow.conn(), &refund).await?;
    r.updated_at = now;
    let text = format!(
        "Refund of {} {} requested.",
        refund.amount.to_amount_string(),
        r.currency.code()
    );
    note(uow.conn(), r, None, text, by, true, now).await?;
    uow.emit(&r.return_id.to_string(), &events::refund_requested(r, &refund))
        .await?;
    r.refund = Some(refund.clone());
    Ok(refund)
}

/// What approval sets in motion: a ship-by date, or — when the policy lets
/// the customer keep the items — their refund at once.
async fn on_approved(uow: &mut UnitOfWork, r: &mut Return, policy: &Policy, by: &Author) -> Result<(), Error> {
    let now = uow.now();
    uow.emit(&r.return_id.to_string(), &events::return_approved(r)).await?;
    if !keeps(policy, r.currency, r.settlement.items_refund, r.resolution) {
        r.ship_by = Some(now + SHIP_BY);
        return Ok(());
    }
    r.keep_items = true;
    r.ship_by = None;
    let order = load_order(uow.conn(), &r.order_id, true).await?;
    let mut refunds = Vec::with_capacity(r.items.len());
    for item in &mut r.items {
        let value = order.line(&item.line_id)?.price_of_next_units(item.quantity);
        let priced = PricedUnits {
            value,
            reason: item.reason,
            grade: None,
        };
        item.refund_amount = item_refund(&priced, policy);
        orders::refund_units(
            uow.conn(),
            &r.order_id,
            &item.line_id,
            item.quantity,
            item.refund_amount,
        )
        .await?;
        refunds.push((item.refund_amount, item.reason));
    }
    r.settlement = settle(&refunds, r.resolution, true, r.replacements_total(), policy, r.currency);
    let text = "Keep the items: no need to send them back.".to_owned();
    note(uow.conn(), r, None, text, by, true, now).await?;
    return_store::update_return(uow.conn(), r).await?;
    if r.settlement.refund_total.is_positive() {
        issue_refund(uow, r, &Author::SYSTEM).await?;
    }
    Ok(())
}

/// Gives a canceled or rejected return's units back to its order lines.
async fn release(conn: &mut PgConnection, r: &Return) -> Result<(), Error> {
    for item in &r.items {
        orders::release_units(conn, &r.order_id, &item.line_id, item.quantity).await?;
    }
    Ok(())
}
