//! New returns: every item checked against its line and its category's
//! policy, units reserved, triage (manual review, automatic approval, kept
//! items), exactly once per request_id.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{Money, Violations};
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;

use super::{Author, Returns, on_approved, transition};
use crate::domain::*;
use crate::events;
use crate::store::{orders, returns as return_store};

/// An item as requested, already checked field by field.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub line_id: String,
    pub quantity: i32,
    pub reason: Reason,
    pub note: String,
    pub photo_urls: Vec<String>,
    pub resolution: Resolution,
    pub replacement_sku: Option<String>,
    pub replacement_price: Option<Money>,
}

/// A return as requested. Every item shares `resolution`.
#[derive(Debug, Clone)]
pub struct NewReturn {
    pub order_id: String,
    pub channel: Channel,
    pub resolution: Resolution,
    pub items: Vec<NewItem>,
}

/// The idempotency scope of CreateReturn.
const SCOPE: &str = "returns.CreateReturn";

impl Returns {
    /// Creates a return once per `request_id`; `fingerprint` is the request's
    /// canonical bytes, to tell a replay from a reuse of the key.
    pub async fn create(
        &self,
        caller: &Caller,
        request_id: &str,
        fingerprint: &[u8],
        input: NewReturn,
    ) -> Result<(Return, Policies), Error> {
        // Usually the order's facts are current and this is one attempt.
        // When order intake has events for the order that this service has
        // not applied yet (an order or a delivery just acknowledged), the
        // attempt is rolled back (its key claim with it), they are applied,
        // and the call runs again.
        if let Some(created) = self.try_create(caller, request_id, fingerprint, &input, true).await? {
            return Ok(created);
        }
        self.catch_up_order(&input.order_id).await;
        self.try_create(caller, request_id, fingerprint, &input, false)
            .await?
            .ok_or_else(|| ReturnError::not_found("order", &input.order_id).into())
    }

    /// One attempt at [`Returns::create`]; `None` (only with `may_defer`)
    /// when the order's facts must be caught up first.
    async fn try_create(
        &self,
        caller: &Caller,
        request_id: &str,
        fingerprint: &[u8],
        input: &NewReturn,
        may_defer: bool,
    ) -> Result<Option<(Return, Policies)>, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        // The new return's id is the key's answer, stored with the claim.
        let return_id = ReturnId::new();
        let answer = *return_id.as_uuid().as_bytes();
        if let Replay::Stored(id) = uow
            .claim_answered(SCOPE, caller, "request_id", request_id, fingerprint, &answer)
            .await?
        {
            let id = uuid::Uuid::from_slice(&id).map_err(Error::internal)?;
            let id = ReturnId::from_uuid(id);
            return Ok(Some(self.visible_return(uow.conn(), caller, id, false).await?));
        }
        // The store prices replacements, never the customer (who could ask
        // for anything at 0.01); a customer's exchange is priced by
        // PriceExchange before it ships.
        if caller.role == Role::Customer {
            let mut v = Violations::new();
            for (i, item) in input.items.iter().enumerate() {
                if item.replacement_price.is_some() {
                    v.add(
                        format!("items[{i}].replacement_price"),
                        "is set by the store; leave it empty",
                    );
                }
            }
            v.finish()?;
        }
        let pending_for = may_defer.then(|| (self.order_facts.name(), now));
        let view = match orders::order(uow.conn(), &input.order_id, true, pending_for).await? {
            Some(view) if !view.pending => view,
            _ if may_defer => return Ok(None),
            Some(view) => view,
            None => return Err(ReturnError::not_found("order", &input.order_id).into()),
        };
        let policies = self.line_policies(uow.conn(), &view).await?;
        let order = view.facts;
        if !caller.may_see_customer(&order.customer_id) {
            return Err(ReturnError::not_found("order", &input.order_id).into());
        }

        // Every item against its line and its category's policy.
        let mut v = Violations::new();
        let mut ineligible: Vec<(String, String)> = Vec::new();
        let mut items = Vec::with_capacity(input.items.len());
        let mut priced = Vec::with_capacity(input.items.len());
        for (i, item) in input.items.iter().enumerate() {
            let Some(line) = order.lines.iter().find(|l| l.line_id == item.line_id) else {
                v.add(
                    format!("items[{i}].line_id"),
                    format!("order has no line {:?}", item.line_id),
                );
                continue;
            };
            if let Some(price) = &item.replacement_price {
                if price.currency() != order.currency {
                    v.add(
                        format!("items[{i}].replacement_price.currency_code"),
                        format!("must be the order currency {}", order.currency),
                    );
                    continue;
                }
                if price.times(i64::from(item.quantity)).exceeds_limit() {
                    v.add(
                        format!("items[{i}].replacement_price"),
                        "price x quantity is above the largest amount accepted",
                    );
                    continue;
                }
            }
            let policy = &policies[&line.line_id];
            let e = eligibility(line, order.canceled, policy, order.currency, now);
            let mut reasons: Vec<&str> = e.reasons.clone();
            if e.eligible() && item.quantity > e.returnable_quantity {
                reasons.push("QUANTITY_EXCEEDS_RETURNABLE");
            }
            if e.eligible() && !policy.allowed_resolutions.contains(&item.resolution) {
                reasons.push("RESOLUTION_NOT_ALLOWED");
            }
            if !reasons.is_empty() {
                ineligible.push((item.line_id.clone(), reasons.join(",")));
            }
            let value = line.price_of_next_units(item.quantity);
            priced.push((value, item.reason));
            items.push(Item {
                line_id: item.line_id.clone(),
                sku: line.sku.clone(),
                product_name: line.product_name.clone(),
                quantity: item.quantity,
                reason: item.reason,
                note: item.note.clone(),
                photo_urls: item.photo_urls.clone(),
                resolution: item.resolution,
                replacement_sku: item.replacement_sku.clone(),
                replacement_price: item.replacement_price,
                received_quantity: None,
                grade: None,
                refund_amount: value,
                refunded_value: Money::zero(order.currency),
                policy_category: policy.category.clone(),
                policy_version: policy.version,
                refunded_units: 0,
            });
        }
        v.finish()?;
        if !ineligible.is_empty() {
            return Err(ReturnError::ItemsNotEligible(ineligible).into());
        }

        // Each item under its own category's policy; the return as a whole
        // under terms combined from them, whatever the items' order.
        let item_policies: Vec<(String, Policy)> = items
            .iter()
            .map(|i| (i.line_id.clone(), policies[&i.line_id].clone()))
            .collect();
        let first = item_policies[0].1.clone();
        let decided = Policies::new(item_policies, order.currency);
        let replacements = replacements_total(&items, order.currency);
        let settlement = settle(&priced, input.resolution, false, replacements, &decided.terms);
        let (flagged, recent) = orders::standing(uow.conn(), &order.customer_id, now - RECENT_RETURNS_WINDOW).await?;
        let decision = triage(
            &decided.terms,
            settlement.items_refund,
            input.resolution,
            flagged,
            recent,
        );

        for item in &items {
            orders::reserve_units(uow.conn(), &order.order_id, &item.line_id, item.quantity).await?;
        }
        let mut r = Return {
            return_id,
            order_id: order.order_id.clone(),
            customer_id: order.customer_id.clone(),
            lifecycle: Lifecycle::requested(),
            channel: input.channel,
            resolution: input.resolution,
            currency: order.currency,
            policy_category: first.category.clone(),
            policy_version: first.version,
            keep_items: false,
            keep_allowed: decision.keep_items,
            manual_review: decision.manual_review,
            settlement,
            rejection_reason: None,
            return_shipment: None,
            exchange_shipment: None,
            ship_by: None,
            created_at: now,
            updated_at: now,
            items,
            refund: None,
            charge: None,
            collected: Money::zero(order.currency),
            timeline: Vec::new(),
            perks: view.perks.clone(),
        };
        return_store::insert_return(uow.conn(), &r).await?;
        let by = Author::via(caller, Some(input.channel));
        let text = "Return requested.".to_owned();
        super::note(uow.conn(), &mut r, Some(Status::Requested), text, &by, true, now).await?;
        let aggregate = r.return_id.to_string();
        uow.emit(&aggregate, &events::return_requested(&r)).await?;
        if decision.auto_approve {
            let text = "Approved automatically.".to_owned();
            transition(&mut uow, &mut r, &decided, Step::Approve, text, &Author::SYSTEM).await?;
            on_approved(&mut uow, &mut r, &decided, &Author::SYSTEM).await?;
            // Inserted as requested; approval changed it since.
            return_store::update_return(uow.conn(), &r).await?;
        }
        uow.commit().await?;
        Ok(Some((r, decided)))
    }
}
