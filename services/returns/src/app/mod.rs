//! Returns' use cases, free of transport. Each mutating one runs the
//! platform's unit of work: begin -> (claim the request_id) -> load the
//! return with its lock -> ask the domain -> store -> emit events -> commit.
//!
//! - [`policies`] — policies and customer flags;
//! - [`eligibility`] — what an order's lines allow;
//! - [`create`] — new returns and their triage;
//! - [`lifecycle`] — approve, reject, cancel, ship, receive, exchange, messages;
//! - [`refunds`] — refunds issued exactly once, confirmed or failed;
//! - [`warranty_refunds`] — warranty's refunds, paid on the order lines here;
//! - [`charges`] — exchange prices, and differences charged exactly once;
//! - [`queries`] — reading and listing returns.

pub mod charges;
pub mod create;
pub mod eligibility;
pub mod lifecycle;
pub mod policies;
pub mod queries;
pub mod refunds;
pub mod warranty_refunds;

use std::collections::HashMap;
use std::sync::Arc;

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Money, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::outbox::{self, EventHandler};
use aftercare_platform::uow::UnitOfWork;
use sqlx::PgConnection;

use crate::domain::*;
use crate::events;
use crate::projection::OrderProjection;
use crate::store::orders::OrderView;
use crate::store::policies::PolicyCache;
use crate::store::{orders, refunds as refund_store, returns as return_store};

type PooledConnection = sqlx::pool::PoolConnection<sqlx::Postgres>;

pub struct Returns {
    ctx: ServiceContext,
    /// What keeps the order facts, for catching an order up on demand.
    order_facts: Arc<dyn EventHandler>,
    policies: PolicyCache,
}

impl Returns {
    pub fn new(ctx: ServiceContext) -> Returns {
        let order_facts: Arc<dyn EventHandler> = Arc::new(OrderProjection);
        Returns {
            ctx,
            order_facts,
            policies: PolicyCache::default(),
        }
    }

    /// Applies the order's events this service has not applied yet, before
    /// reading its facts: an order (or a delivery) that order intake just
    /// acknowledged is known here at once, not a moment later.
    async fn catch_up_order(&self, order_id: &str) {
        outbox::catch_up(&self.ctx.pool, &self.ctx.clock, &self.order_facts, order_id).await
    }

    /// Writes the return's changes and commits the unit of work.
    async fn finish(
        &self,
        mut uow: UnitOfWork<'_>,
        r: Return,
        policies: Policies,
    ) -> Result<(Return, Policies), Error> {
        return_store::update_return(uow.conn(), &r).await?;
        uow.commit().await?;
        Ok((r, policies))
    }
}

/// What the payment provider answered to a refund or a charge.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Paid, with the provider's reference.
    Paid(String),
    /// Not paid, with the provider's error.
    Failed(String),
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

impl Returns {
    /// A return the caller may see (customers: their own; another
    /// customer's is as absent as a missing one), with the policies it was
    /// decided under.
    async fn visible_return(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        return_id: ReturnId,
        lock: bool,
    ) -> Result<(Return, Policies), Error> {
        let not_found = || ReturnError::not_found("return", return_id.to_string());
        let r = return_store::get_return(conn, return_id, lock)
            .await?
            .ok_or_else(not_found)?;
        if !caller.may_see_customer(&r.customer_id) {
            return Err(not_found().into());
        }
        let policies = self.policies_of(conn, &r).await?;
        Ok((r, policies))
    }

    /// The policies each item of `r` was decided under, with the perks it
    /// was decided with.
    async fn policies_of(&self, conn: &mut PgConnection, r: &Return) -> Result<Policies, Error> {
        let mut items = Vec::with_capacity(r.items.len());
        for item in &r.items {
            let policy = self
                .policies
                .version(conn, &item.policy_category, item.policy_version)
                .await?;
            items.push((item.line_id.clone(), r.perks.apply(&policy)));
        }
        Ok(Policies::new(items, r.currency))
    }

    /// An order's facts with the policy in force for each line, caught up
    /// with order intake: an order (or a delivery) that intake has just
    /// acknowledged is known here at once. Usually one read; when events are
    /// pending, the connection goes back to the pool (the handler applying
    /// them needs one), they are applied, and a fresh connection reads again.
    async fn current_order(&self, order_id: &str) -> Result<(PooledConnection, OrderView), Error> {
        let now = self.ctx.clock.now();
        let pending_for = Some((self.order_facts.name(), now));
        let mut conn = self.ctx.read().await?;
        match orders::order(&mut conn, order_id, false, pending_for).await? {
            Some(view) if !view.pending => return Ok((conn, view)),
            _ => drop(conn),
        }
        self.catch_up_order(order_id).await;
        let mut conn = self.ctx.read().await?;
        let view = orders::order(&mut conn, order_id, false, None)
            .await?
            .ok_or_else(|| ReturnError::not_found("order", order_id))?;
        Ok((conn, view))
    }

    /// The policy in force for each line of `view`, with the customer's
    /// perks, by line id.
    async fn line_policies(&self, conn: &mut PgConnection, view: &OrderView) -> Result<HashMap<String, Policy>, Error> {
        let now = self.ctx.clock.now();
        let mut out = HashMap::with_capacity(view.facts.lines.len());
        for (line, key) in view.facts.lines.iter().zip(&view.policies) {
            let policy = self.policies.in_force(conn, key.as_ref(), now).await?;
            out.insert(line.line_id.clone(), view.perks.apply(&policy));
        }
        Ok(out)
    }
}

/// An order's facts; with `lock`, its lines locked in position order — the
/// one order in which every writer takes them, so writers never deadlock.
async fn load_order(conn: &mut PgConnection, order_id: &str, lock: bool) -> Result<OrderFacts, Error> {
    orders::order(conn, order_id, lock, None)
        .await?
        .map(|view| view.facts)
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
    uow: &mut UnitOfWork<'_>,
    r: &mut Return,
    policies: &Policies,
    step: Step,
    text: String,
    by: &Author,
) -> Result<Status, Error> {
    let now = uow.now();
    let status = r.apply(step, policies, now)?;
    note(uow.conn(), r, Some(status), text, by, true, now).await?;
    Ok(status)
}

/// Completes a settled return: its refund paid, or its exchange shipped.
async fn complete(uow: &mut UnitOfWork<'_>, r: &mut Return, policies: &Policies, by: &Author) -> Result<(), Error> {
    transition(uow, r, policies, Step::Complete, "Return completed.".into(), by).await?;
    uow.emit(&r.return_id.to_string(), &events::return_completed(r)).await
}

/// Creates the return's refund (PENDING) and asks the payment tool for it.
/// `refund_id` is new (IssueRefund makes it before claiming its request id,
/// so that the key is stored with its answer).
async fn issue_refund(
    uow: &mut UnitOfWork<'_>,
    r: &mut Return,
    refund_id: RefundId,
    by: &Author,
) -> Result<Refund, Error> {
    if !r.settlement.refund_total.is_positive() {
        return Err(ReturnError::NothingToRefund.into());
    }
    let now = uow.now();
    let refund = Refund {
        refund_id,
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

/// What approval sets in motion: a ship-by date, or — when triage let the
/// customer keep the items — their refund at once. Whoever approves, the
/// decision is triage's, made at creation.
async fn on_approved(uow: &mut UnitOfWork<'_>, r: &mut Return, policies: &Policies, by: &Author) -> Result<(), Error> {
    let now = uow.now();
    uow.emit(&r.return_id.to_string(), &events::return_approved(r)).await?;
    if !r.keep_allowed {
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
        item.refund_amount = item_refund(&priced, policies.of(&item.line_id));
        item.refunded_units = item.quantity;
        item.refunded_value = value;
        let (line, units, amount) = (&item.line_id, item.quantity, item.refund_amount);
        orders::refund_units(uow.conn(), &r.order_id, line, units, amount, value).await?;
        refunds.push((item.refund_amount, item.reason));
    }
    r.settlement = settle(&refunds, r.resolution, true, r.replacements_total(), &policies.terms);
    return_store::update_items(uow.conn(), r).await?;
    let text = "Keep the items: no need to send them back.".to_owned();
    note(uow.conn(), r, None, text, by, true, now).await?;
    return_store::update_return(uow.conn(), r).await?;
    if r.settlement.refund_total.is_positive() {
        issue_refund(uow, r, RefundId::new(), &Author::SYSTEM).await?;
    }
    Ok(())
}

/// Gives a canceled or rejected return's units back to its order lines, and
/// the money its items held as refunded with them: a unit that is not being
/// returned any more is refundable again, in full.
async fn release(conn: &mut PgConnection, r: &mut Return) -> Result<(), Error> {
    // The order's lines first, in their one global order (see `load_order`).
    load_order(conn, &r.order_id, true).await?;
    let mut items: Vec<&mut Item> = r.items.iter_mut().collect();
    items.sort_by(|a, b| a.line_id.cmp(&b.line_id));
    for item in items {
        orders::release_units(conn, &r.order_id, &item.line_id, item.quantity).await?;
        if item.refunded_units > 0 {
            orders::unrefund_units(
                conn,
                &r.order_id,
                &item.line_id,
                item.refunded_units,
                item.refund_amount,
                item.refunded_value,
            )
            .await?;
            item.refunded_units = 0;
            item.refunded_value = Money::zero(item.refunded_value.currency());
        }
    }
    return_store::update_items(conn, r).await
}
