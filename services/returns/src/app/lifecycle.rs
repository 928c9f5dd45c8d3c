//! The steps of a return after its creation, each on the locked return and
//! through the status graph.

use std::collections::HashMap;

use aftercare_kernel::channel::Channel;
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;

use super::{Author, Returns, complete, issue_refund, load_order, note, on_approved, release, transition};
use crate::domain::*;
use crate::events;
use crate::store::{orders, returns as return_store};

/// The idempotency scope of AddReturnMessage.
const MESSAGE_SCOPE: &str = "returns.AddReturnMessage";

/// A timeline holds at most this many entries: messages beyond it are
/// refused, so no one can grow a case past what a response can carry.
pub const MAX_TIMELINE: usize = 300;
/// Messages a customer may write on one case.
pub const MAX_CUSTOMER_MESSAGES: usize = 100;

/// A message for the timeline, already checked.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub text: String,
    pub channel: Option<Channel>,
    pub internal: bool,
}

/// A carrier's parcel, already checked.
#[derive(Debug, Clone)]
pub struct Parcel {
    pub carrier: String,
    pub tracking_number: String,
}

/// What an agent found in the parcel, per line of the return.
pub type Received = HashMap<String, (i32, Grade)>;

impl Returns {
    pub async fn approve(&self, caller: &Caller, id: ReturnId, note_text: &str) -> Result<(Return, Policies), Error> {
        let mut uow = self.ctx.begin().await?;
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        let by = Author::of(caller);
        let text = if note_text.is_empty() {
            "Approved.".to_owned()
        } else {
            format!("Approved: {note_text}")
        };
        transition(&mut uow, &mut r, &policies, Step::Approve, text, &by).await?;
        on_approved(&mut uow, &mut r, &policies, &by).await?;
        self.finish(uow, r, policies).await
    }

    pub async fn reject(&self, caller: &Caller, id: ReturnId, reason: &str) -> Result<(Return, Policies), Error> {
        let mut uow = self.ctx.begin().await?;
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        r.check(Step::Reject, &policies)?;
        release(uow.conn(), &mut r).await?;
        r.rejection_reason = Some(reason.to_owned());
        let text = format!("Rejected: {reason}");
        transition(&mut uow, &mut r, &policies, Step::Reject, text, &Author::of(caller)).await?;
        uow.emit(&r.return_id.to_string(), &events::return_rejected(&r)).await?;
        self.finish(uow, r, policies).await
    }

    /// Customers (and the storefront for them) cancel before shipment;
    /// agents until receipt.
    pub async fn cancel(&self, caller: &Caller, id: ReturnId, reason: &str) -> Result<(Return, Policies), Error> {
        let who = if caller.role == Role::Agent {
            Actor::Staff
        } else {
            Actor::Customer
        };
        let mut uow = self.ctx.begin().await?;
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        r.check(Step::Cancel(who), &policies)?;
        release(uow.conn(), &mut r).await?;
        let text = if reason.is_empty() {
            "Canceled.".to_owned()
        } else {
            format!("Canceled: {reason}")
        };
        transition(
            &mut uow,
            &mut r,
            &policies,
            Step::Cancel(who),
            text,
            &Author::of(caller),
        )
        .await?;
        uow.emit(&r.return_id.to_string(), &events::return_canceled(&r)).await?;
        self.finish(uow, r, policies).await
    }

    pub async fn record_shipment(
        &self,
        caller: &Caller,
        id: ReturnId,
        parcel: Parcel,
    ) -> Result<(Return, Policies), Error> {
        let mut uow = self.ctx.begin().await?;
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        r.check(Step::Ship, &policies)?;
        let text = format!("Shipped back with {} ({}).", parcel.carrier, parcel.tracking_number);
        r.return_shipment = Some(Shipment {
            carrier: parcel.carrier,
            tracking_number: parcel.tracking_number,
            shipped_at: uow.now(),
        });
        transition(&mut uow, &mut r, &policies, Step::Ship, text, &Author::of(caller)).await?;
        self.finish(uow, r, policies).await
    }

    /// Grades what came back and prices the refund from it; units that did
    /// not come back are released; an advance exchange completes here, and a
    /// policy may refund at once.
    pub async fn receive(
        &self,
        caller: &Caller,
        id: ReturnId,
        received: &[(String, i32, Grade)],
    ) -> Result<(Return, Policies), Error> {
        let mut uow = self.ctx.begin().await?;
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        r.check(Step::Receive, &policies)?;
        let received = check_received(received, &r)?;
        let order = load_order(uow.conn(), &r.order_id, true).await?;
        let mut refunds = Vec::with_capacity(r.items.len());
        for item in &mut r.items {
            let (quantity, grade) = received[&item.line_id];
            let units = accepted_units(grade, quantity);
            let value = order.line(&item.line_id)?.price_of_next_units(units);
            let priced = PricedUnits {
                value,
                reason: item.reason,
                grade: Some(grade),
            };
            item.refund_amount = item_refund(&priced, policies.of(&item.line_id));
            item.received_quantity = Some(quantity);
            item.grade = Some(grade);
            item.refunded_units = units;
            item.refunded_value = value;
            if units > 0 {
                let (line, amount) = (&item.line_id, item.refund_amount);
                orders::refund_units(uow.conn(), &r.order_id, line, units, amount, value).await?;
            }
            // Units that did not come back (missing, the wrong item, fewer
            // than announced) were not returned: they are the customer's to
            // return again, within the window.
            // (Not for exchanges: the customer gets a replacement for them,
            // and owes its price if they did not come back.)
            let not_returned = item.quantity - units;
            if not_returned > 0 && r.resolution != Resolution::Exchange {
                orders::release_units(uow.conn(), &r.order_id, &item.line_id, not_returned).await?;
            }
            refunds.push((item.refund_amount, item.reason));
        }
        r.settlement = settle(&refunds, r.resolution, false, r.replacements_total(), &policies.terms);
        return_store::update_items(uow.conn(), &r).await?;
        let by = Author::of(caller);
        let text = "Received and inspected.".to_owned();
        transition(&mut uow, &mut r, &policies, Step::Receive, text, &by).await?;
        uow.emit(&r.return_id.to_string(), &events::return_received(&r)).await?;
        if r.check(Step::Complete, &policies).is_ok() {
            // An advance exchange whose replacement already shipped.
            complete(&mut uow, &mut r, &policies, &Author::SYSTEM).await?;
            return self.finish(uow, r, policies).await;
        }
        let all_resellable = r
            .items
            .iter()
            .all(|i| i.grade == Some(Grade::Resellable) && i.received_quantity == Some(i.quantity));
        if policies.terms.auto_refund_on_receipt
            && all_resellable
            && r.resolution != Resolution::Exchange
            && r.settlement.refund_total.is_positive()
        {
            issue_refund(&mut uow, &mut r, RefundId::new(), &Author::SYSTEM).await?;
        }
        self.finish(uow, r, policies).await
    }

    /// Ships an exchange's replacements: after receipt (which completes the
    /// return) or at approval when the policy allows advance exchange.
    pub async fn ship_exchange(
        &self,
        caller: &Caller,
        id: ReturnId,
        parcel: Parcel,
    ) -> Result<(Return, Policies), Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        // Priced by the store, and nothing left for the customer to pay.
        r.check_ship_exchange(&policies)?;
        r.apply(Step::ShipExchange, &policies, now)?;
        let by = Author::of(caller);
        let text = format!(
            "Replacement shipped with {} ({}).",
            parcel.carrier, parcel.tracking_number
        );
        r.exchange_shipment = Some(Shipment {
            carrier: parcel.carrier,
            tracking_number: parcel.tracking_number,
            shipped_at: now,
        });
        note(uow.conn(), &mut r, None, text, &by, true, now).await?;
        uow.emit(&r.return_id.to_string(), &events::exchange_shipped(&r))
            .await?;
        if r.check(Step::Complete, &policies).is_ok() {
            complete(&mut uow, &mut r, &policies, &by).await?;
        }
        self.finish(uow, r, policies).await
    }

    /// A message on the case timeline; agents may write internal notes. With
    /// a `request` (its id and canonical bytes), a retry adds nothing.
    pub async fn add_message(
        &self,
        caller: &Caller,
        id: ReturnId,
        message: NewMessage,
        request: Option<(&str, &[u8])>,
    ) -> Result<(Return, Policies), Error> {
        if message.internal && caller.role == Role::Customer {
            return Err(ReturnError::InternalNoteByCustomer.into());
        }
        let mut uow = self.ctx.begin().await?;
        if let Some((key, fingerprint)) = request
            && let Replay::Stored(_) = uow.claim(MESSAGE_SCOPE, caller, "request_id", key, fingerprint).await?
        {
            return self.visible_return(uow.conn(), caller, id, false).await;
        }
        let now = uow.now();
        let (mut r, policies) = self.visible_return(uow.conn(), caller, id, true).await?;
        // Customers write at most MAX_CUSTOMER_MESSAGES; staff are never
        // locked out of a case, up to MAX_TIMELINE entries in all.
        let customer_messages = r
            .timeline
            .iter()
            .filter(|e| e.status.is_none() && e.actor_role == Role::Customer.as_str())
            .count();
        if caller.role == Role::Customer && customer_messages >= MAX_CUSTOMER_MESSAGES {
            return Err(ReturnError::TimelineFull {
                limit: MAX_CUSTOMER_MESSAGES,
            }
            .into());
        }
        if r.timeline.len() >= MAX_TIMELINE {
            return Err(ReturnError::TimelineFull { limit: MAX_TIMELINE }.into());
        }
        r.updated_at = now;
        let by = Author::via(caller, message.channel);
        note(uow.conn(), &mut r, None, message.text, &by, !message.internal, now).await?;
        if request.is_some() {
            uow.complete(r.return_id.as_uuid().as_bytes()).await?;
        }
        self.finish(uow, r, policies).await
    }
}

/// Received quantities and grades by line: exactly one per item of the
/// return, each at most what was requested.
fn check_received(items: &[(String, i32, Grade)], r: &Return) -> Result<Received, ReturnError> {
    let mut v = aftercare_kernel::Violations::new();
    let mut out = HashMap::new();
    for (i, (line_id, quantity, grade)) in items.iter().enumerate() {
        let f = |name: &str| format!("items[{i}].{name}");
        let Some(requested) = r.items.iter().find(|x| &x.line_id == line_id) else {
            v.add(f("line_id"), format!("the return has no item for line {line_id:?}"));
            continue;
        };
        if !(0..=requested.quantity).contains(quantity) {
            v.add(
                f("received_quantity"),
                format!("must be between 0 and {}", requested.quantity),
            );
        }
        if out.insert(line_id.clone(), (*quantity, *grade)).is_some() {
            v.add(f("line_id"), "listed twice");
        }
    }
    for item in &r.items {
        if !out.contains_key(&item.line_id) {
            v.add("items", format!("line {:?} of the return is missing", item.line_id));
        }
    }
    v.finish()?;
    Ok(out)
}
