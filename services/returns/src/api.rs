//! `aftercare.returns.v1.ReturnService`: parse, authorize, run the domain
//! rules in one transaction per call, answer.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use aftercare_platform::auth::{Caller, Guard, Role, RoleTable};
use aftercare_platform::channel::Channel;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::idempotency::{self, Claim};
use aftercare_platform::money::{Currency, Money};
use aftercare_platform::timestamp::{from_proto, to_proto};
use aftercare_platform::{Violations, outbox, paging, validate};
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::returns as pb;
use aftercare_proto::returns::return_service_server::{ReturnService, ReturnServiceServer};
use chrono::{DateTime, Utc};
use prost::Message;
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use tonic::{Request, Response, Status as GrpcStatus};
use uuid::Uuid;

use crate::convert::*;
use crate::domain::*;
use crate::store::{self, OrderFacts, ReturnFilter};

const ANYONE: &[Role] = &[Role::Customer, Role::Agent, Role::Admin, Role::Service];
const CUSTOMER_SIDE: &[Role] = &[Role::Customer, Role::Service, Role::Agent];
const MONEY_DESK: &[Role] = &[Role::Agent, Role::Service];

/// Who may call what. Customers additionally act on their own orders and
/// returns only.
pub const ROLES: RoleTable = &[
    ("GetReturnPolicy", ANYONE),
    ("ListReturnPolicies", &[Role::Agent, Role::Admin, Role::Service]),
    ("UpdateReturnPolicy", &[Role::Admin]),
    ("SetCustomerFlag", &[Role::Agent, Role::Admin]),
    ("CheckEligibility", CUSTOMER_SIDE),
    ("CreateReturn", CUSTOMER_SIDE),
    ("GetReturn", ANYONE),
    ("ListReturns", ANYONE),
    ("ApproveReturn", &[Role::Agent]),
    ("RejectReturn", &[Role::Agent]),
    ("CancelReturn", CUSTOMER_SIDE),
    ("RecordReturnShipment", CUSTOMER_SIDE),
    ("ReceiveReturn", &[Role::Agent]),
    ("IssueRefund", MONEY_DESK),
    ("ConfirmRefund", MONEY_DESK),
    ("FailRefund", MONEY_DESK),
    ("ShipExchange", MONEY_DESK),
    ("AddReturnMessage", &[Role::Customer, Role::Agent]),
];

pub const SERVICE_NAME: &str = pb::return_service_server::SERVICE_NAME;

const MAX_ITEMS: usize = 100;
const MAX_NOTE: usize = 2000;
const MAX_MESSAGE: usize = 4000;
const MAX_PHOTOS: usize = 10;
const MAX_URL: usize = 2048;
const MAX_ID: usize = 128;
const MAX_SHORT_TEXT: usize = 500;

/// Event topics.
pub mod topics {
    pub const RETURN_REQUESTED: &str = "returns.ReturnRequested";
    pub const RETURN_APPROVED: &str = "returns.ReturnApproved";
    pub const RETURN_REJECTED: &str = "returns.ReturnRejected";
    pub const RETURN_CANCELED: &str = "returns.ReturnCanceled";
    pub const RETURN_RECEIVED: &str = "returns.ReturnReceived";
    pub const RETURN_COMPLETED: &str = "returns.ReturnCompleted";
    pub const REFUND_REQUESTED: &str = "returns.RefundRequested";
    pub const REFUND_SUCCEEDED: &str = "returns.RefundSucceeded";
    pub const REFUND_FAILED: &str = "returns.RefundFailed";
    pub const EXCHANGE_SHIPPED: &str = "returns.ExchangeShipped";
}

pub struct ReturnApi {
    ctx: ServiceContext,
    guard: Guard,
}

/// Who did something, for the timeline.
struct Author<'a> {
    role: &'a str,
    channel: Option<Channel>,
}

const SYSTEM: Author<'static> = Author {
    role: "system",
    channel: None,
};

fn author(caller: &Caller) -> Author<'_> {
    Author {
        role: caller.role.as_str(),
        channel: None,
    }
}

fn not_found(what: &str, id: &str) -> Error {
    Error::NotFound(format!("{what} {id:?} not found"))
}

fn parse_id(v: &mut Violations, field: &str, value: &str) -> Option<Uuid> {
    if value.is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.take(field, Uuid::parse_str(value).map_err(|_| "is not a valid id"))
}

fn required_id(field: &str, value: &str) -> Result<Uuid, Error> {
    let mut v = Violations::new();
    let id = parse_id(&mut v, field, value);
    v.finish_with(id)
}

fn return_event(r: &Return) -> serde_json::Value {
    json!({
        "return_id": r.return_id.to_string(),
        "order_id": r.order_id,
        "customer_id": r.customer_id,
        "status": r.status.as_str(),
        "resolution": r.resolution.as_str(),
        "currency_code": r.currency.code(),
        "refund_total": r.currency.format(r.settlement.refund_total),
        "exchange_difference": r.currency.format(r.settlement.exchange_difference),
    })
}

fn refund_event(r: &Return, f: &Refund) -> serde_json::Value {
    json!({
        "refund_id": f.refund_id.to_string(),
        "return_id": r.return_id.to_string(),
        "order_id": r.order_id,
        "customer_id": r.customer_id,
        "status": f.status.as_str(),
        "method": f.method.as_str(),
        "amount": f.currency.format(f.amount),
        "currency_code": f.currency.code(),
        "provider_reference": f.provider_reference,
        "failure_reason": f.failure_reason,
    })
}

async fn emit(tx: &mut PgConnection, topic: &str, r: &Return, payload: serde_json::Value) -> Result<(), Error> {
    outbox::enqueue(tx, topic, &r.return_id.to_string(), payload, r.updated_at)
        .await
        .map(drop)
}

/// Moves a return to `status`, with a timeline entry.
async fn set_status(
    tx: &mut PgConnection,
    r: &mut Return,
    status: Status,
    text: String,
    by: &Author<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    r.status = status;
    r.updated_at = now;
    note(tx, r, Some(status), text, by, true, now).await
}

async fn note(
    tx: &mut PgConnection,
    r: &mut Return,
    status: Option<Status>,
    text: String,
    by: &Author<'_>,
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
    store::add_timeline(tx, r.return_id, &entry).await?;
    r.timeline.push(entry);
    Ok(())
}

/// Creates the return's refund (PENDING) and asks the payment tool for it.
async fn issue_refund(
    tx: &mut PgConnection,
    r: &mut Return,
    by: &Author<'_>,
    now: DateTime<Utc>,
) -> Result<Refund, Error> {
    if r.settlement.refund_total <= Decimal::ZERO {
        return Err(Error::precondition("NOTHING_TO_REFUND", "this return refunds nothing"));
    }
    let refund = Refund {
        refund_id: Uuid::now_v7(),
        return_id: r.return_id,
        status: RefundStatus::Pending,
        method: r.refund_method(),
        amount: r.settlement.refund_total,
        currency: r.currency,
        provider_reference: None,
        failure_reason: None,
        created_at: now,
        updated_at: now,
    };
    store::insert_refund(tx, &refund).await?;
    r.updated_at = now;
    let text = format!(
        "Refund of {} {} requested.",
        r.currency.format(refund.amount),
        r.currency.code()
    );
    note(tx, r, None, text, by, true, now).await?;
    emit(tx, topics::REFUND_REQUESTED, r, refund_event(r, &refund)).await?;
    r.refund = Some(refund.clone());
    Ok(refund)
}

async fn complete(tx: &mut PgConnection, r: &mut Return, by: &Author<'_>, now: DateTime<Utc>) -> Result<(), Error> {
    set_status(tx, r, Status::Completed, "Return completed.".into(), by, now).await?;
    emit(tx, topics::RETURN_COMPLETED, r, return_event(r)).await
}

/// What approval sets in motion: a ship-by date, or — when the policy lets
/// the customer keep the items — the refund at once.
async fn on_approved(
    tx: &mut PgConnection,
    r: &mut Return,
    policy: &Policy,
    by: &Author<'_>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    emit(tx, topics::RETURN_APPROVED, r, return_event(r)).await?;
    if !keeps(policy, r.currency, r.settlement.items_refund, r.resolution) {
        r.ship_by = Some(now + SHIP_BY);
        return Ok(());
    }
    r.keep_items = true;
    r.ship_by = None;
    let order = load_order(tx, &r.order_id, true).await?;
    let mut refunds = Vec::with_capacity(r.items.len());
    for item in &mut r.items {
        let line = order.line(&item.line_id)?;
        let value = line.price_of_next_units(r.currency, item.quantity);
        let priced = PricedUnits {
            value,
            reason: item.reason,
            grade: None,
        };
        item.refund_amount = item_refund(&priced, policy, r.currency);
        store::refund_units(tx, &r.order_id, &item.line_id, item.quantity, item.refund_amount).await?;
        refunds.push((item.refund_amount, item.reason));
    }
    r.settlement = settle(&refunds, r.resolution, true, r.replacements_total(), policy, r.currency);
    note(
        tx,
        r,
        None,
        "Keep the items: no need to send them back.".into(),
        by,
        true,
        now,
    )
    .await?;
    store::update_return(tx, r).await?;
    if r.settlement.refund_total > Decimal::ZERO {
        issue_refund(tx, r, &SYSTEM, now).await?;
    }
    Ok(())
}

async fn load_order(conn: &mut PgConnection, order_id: &str, lock: bool) -> Result<OrderFacts, Error> {
    store::order(conn, order_id, lock)
        .await?
        .ok_or_else(|| not_found("order", order_id))
}

trait LineLookup {
    fn line(&self, line_id: &str) -> Result<&OrderLine, Error>;
}

impl LineLookup for OrderFacts {
    fn line(&self, line_id: &str) -> Result<&OrderLine, Error> {
        self.lines
            .iter()
            .find(|l| l.line_id == line_id)
            .ok_or_else(|| Error::internal(format!("order {} lost line {line_id}", self.order_id)))
    }
}

impl ReturnApi {
    pub fn new(ctx: ServiceContext) -> ReturnApi {
        let guard = Guard::new(ctx.auth.clone(), ROLES);
        ReturnApi { ctx, guard }
    }

    pub fn into_server(self) -> ReturnServiceServer<ReturnApi> {
        ReturnServiceServer::new(self)
    }

    fn now(&self) -> DateTime<Utc> {
        self.ctx.clock.now()
    }

    /// A return the caller may see (customers: their own), locked with `lock`.
    async fn visible_return(
        &self,
        conn: &mut PgConnection,
        caller: &Caller,
        return_id: &str,
        lock: bool,
    ) -> Result<(Return, Policy), Error> {
        let id = required_id("return_id", return_id)?;
        let r = store::get_return(conn, id, lock)
            .await?
            .ok_or_else(|| not_found("return", return_id))?;
        if !caller.may_see_customer(&r.customer_id) {
            return Err(not_found("return", return_id));
        }
        let policy = store::policy_version(conn, &r.policy_category, r.policy_version).await?;
        Ok((r, policy))
    }

    async fn answer(&self, conn: &mut PgConnection, caller: &Caller, id: Uuid) -> Result<pb::Return, Error> {
        let (r, policy) = self.visible_return(conn, caller, &id.to_string(), false).await?;
        Ok(return_to_proto(&r, caller, &policy))
    }

    async fn get_policy(&self, req: pb::GetReturnPolicyRequest) -> Result<pb::ReturnPolicy, Error> {
        let mut v = Violations::new();
        validate::text(&mut v, "category", &req.category, 100);
        v.finish()?;
        let mut conn = self.ctx.pool.acquire().await?;
        Ok(policy_to_proto(
            &store::effective_policy(&mut conn, &req.category, self.now()).await?,
        ))
    }

    async fn update_policy(&self, req: pb::UpdateReturnPolicyRequest) -> Result<pb::ReturnPolicy, Error> {
        let now = self.now();
        let input = req.policy.unwrap_or_default();
        let mask: Vec<String> = req.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut tx = self.ctx.pool.begin().await?;
        let mut policy = store::effective_policy(&mut tx, &input.category, now).await?;
        policy.category = input.category.clone();
        apply_policy(&mut policy, &input, &mask)?;
        policy.version = store::insert_policy(&mut tx, &policy, now).await?;
        policy.updated_at = now;
        tx.commit().await?;
        Ok(policy_to_proto(&policy))
    }

    async fn set_flag(&self, req: pb::SetCustomerFlagRequest) -> Result<pb::CustomerFlag, Error> {
        let mut v = Violations::new();
        validate::id(&mut v, "customer_id", &req.customer_id, MAX_ID);
        validate::text(&mut v, "note", &req.note, MAX_SHORT_TEXT);
        v.finish()?;
        let now = self.now();
        let mut tx = self.ctx.pool.begin().await?;
        store::set_flag(&mut tx, &req.customer_id, req.flagged, &req.note, now).await?;
        tx.commit().await?;
        Ok(pb::CustomerFlag {
            customer_id: req.customer_id,
            flagged: req.flagged,
            note: req.note,
            update_time: Some(to_proto(now)),
        })
    }

    async fn check_eligibility(
        &self,
        caller: &Caller,
        req: pb::CheckEligibilityRequest,
    ) -> Result<pb::CheckEligibilityResponse, Error> {
        let mut v = Violations::new();
        validate::id(&mut v, "order_id", &req.order_id, MAX_ID);
        if req.line_ids.len() > 500 {
            v.add("line_ids", "must list at most 500 lines");
        }
        v.finish()?;
        let now = self.now();
        let mut conn = self.ctx.pool.acquire().await?;
        let order = load_order(&mut conn, &req.order_id, false).await?;
        if !caller.may_see_customer(&order.customer_id) {
            return Err(not_found("order", &req.order_id));
        }
        let mut v = Violations::new();
        for (i, id) in req.line_ids.iter().enumerate() {
            if !order.lines.iter().any(|l| &l.line_id == id) {
                v.add(format!("line_ids[{i}]"), format!("order has no line {id:?}"));
            }
        }
        v.finish()?;
        let mut policies = HashMap::new();
        let mut lines = Vec::new();
        for line in order
            .lines
            .iter()
            .filter(|l| req.line_ids.is_empty() || req.line_ids.contains(&l.line_id))
        {
            let policy = policy_for(&mut conn, &mut policies, &line.category, now).await?;
            let e = eligibility(line, order.canceled, &policy, order.currency, now);
            lines.push(eligibility_to_proto(&e, order.currency, policy.version));
        }
        Ok(pb::CheckEligibilityResponse {
            order_id: order.order_id,
            lines,
        })
    }

    async fn create(&self, caller: &Caller, req: pb::CreateReturnRequest) -> Result<pb::Return, Error> {
        let now = self.now();
        let input = parse_create(&req)?;
        let mut canonical = req.clone();
        canonical.request_id.clear();
        let mut bytes = caller.subject.clone().into_bytes();
        bytes.extend(canonical.encode_to_vec());
        let hash = idempotency::request_hash(&bytes);

        let mut tx = self.ctx.pool.begin().await?;
        match idempotency::claim(&mut tx, "returns.CreateReturn", &req.request_id, &hash, now).await? {
            Claim::Fresh => {}
            Claim::Replay(id) => {
                let id = Uuid::from_slice(&id).map_err(Error::internal)?;
                return self.answer(&mut tx, caller, id).await;
            }
            Claim::Conflict => return Err(idempotency::key_reused("request_id")),
        }
        let order = load_order(&mut tx, &req.order_id, true).await?;
        if !caller.may_see_customer(&order.customer_id) {
            return Err(not_found("order", &req.order_id));
        }

        // Every item against its line and its category's policy.
        let mut v = Violations::new();
        let mut ineligible: Vec<(String, String)> = Vec::new();
        let mut policies = HashMap::new();
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
            if let Some(price) = &item.replacement_price
                && price.currency() != order.currency
            {
                v.add(
                    format!("items[{i}].replacement_price.currency_code"),
                    format!("must be the order currency {}", order.currency),
                );
            }
            let policy = policy_for(&mut tx, &mut policies, &line.category, now).await?;
            let e = eligibility(line, order.canceled, &policy, order.currency, now);
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
            let value = line.price_of_next_units(order.currency, item.quantity);
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
                replacement_price: item.replacement_price.map(|m| m.amount()),
                received_quantity: None,
                grade: None,
                refund_amount: value,
            });
        }
        v.finish()?;
        if !ineligible.is_empty() {
            let mut err = Error::precondition(
                "ITEMS_NOT_ELIGIBLE",
                format!(
                    "not returnable: {}",
                    ineligible
                        .iter()
                        .map(|(l, r)| format!("line {l} ({r})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            for (line, reasons) in ineligible {
                err = err.with_metadata(line, reasons);
            }
            return Err(err);
        }

        // The return is decided under its first item's category policy.
        let first_category = &order.line(&items[0].line_id)?.category;
        let policy = policy_for(&mut tx, &mut policies, first_category, now).await?;
        let resolution = input.resolution;
        let replacements: Decimal = items
            .iter()
            .filter_map(|i| i.replacement_price.map(|p| p * Decimal::from(i.quantity)))
            .sum();
        let settlement = settle(&priced, resolution, false, replacements, &policy, order.currency);
        let flagged = store::is_flagged(&mut tx, &order.customer_id).await?;
        let recent = store::recent_returns(&mut tx, &order.customer_id, now - RECENT_RETURNS_WINDOW).await?;
        let decision = triage(
            &policy,
            order.currency,
            settlement.items_refund,
            resolution,
            flagged,
            recent,
        );

        for item in &items {
            store::reserve_units(&mut tx, &order.order_id, &item.line_id, item.quantity).await?;
        }
        let mut r = Return {
            return_id: Uuid::now_v7(),
            order_id: order.order_id.clone(),
            customer_id: order.customer_id.clone(),
            status: Status::Requested,
            channel: input.channel,
            resolution,
            currency: order.currency,
            policy_category: policy.category.clone(),
            policy_version: policy.version,
            keep_items: false,
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
            timeline: Vec::new(),
        };
        store::insert_return(&mut tx, &r).await?;
        let by = Author {
            role: caller.role.as_str(),
            channel: Some(input.channel),
        };
        note(
            &mut tx,
            &mut r,
            Some(Status::Requested),
            "Return requested.".into(),
            &by,
            true,
            now,
        )
        .await?;
        emit(&mut tx, topics::RETURN_REQUESTED, &r, return_event(&r)).await?;
        if decision.auto_approve {
            set_status(
                &mut tx,
                &mut r,
                Status::Approved,
                "Approved automatically.".into(),
                &SYSTEM,
                now,
            )
            .await?;
            on_approved(&mut tx, &mut r, &policy, &SYSTEM, now).await?;
        }
        store::update_return(&mut tx, &r).await?;
        idempotency::complete(&mut tx, "returns.CreateReturn", &req.request_id, r.return_id.as_bytes()).await?;
        tx.commit().await?;
        self.ctx.events_committed();
        Ok(return_to_proto(&r, caller, &policy))
    }

    async fn get(&self, caller: &Caller, req: pb::GetReturnRequest) -> Result<pb::Return, Error> {
        let mut conn = self.ctx.pool.acquire().await?;
        let (r, policy) = self.visible_return(&mut conn, caller, &req.return_id, false).await?;
        Ok(return_to_proto(&r, caller, &policy))
    }

    async fn list(&self, caller: &Caller, req: pb::ListReturnsRequest) -> Result<pb::ListReturnsResponse, Error> {
        let mut v = Violations::new();
        let mut filter = ReturnFilter::default();
        if caller.role == Role::Customer {
            if !req.customer_id.is_empty() && req.customer_id != caller.subject {
                return Err(Error::PermissionDenied(
                    "customers may list only their own returns".into(),
                ));
            }
            filter.customer_id = Some(caller.subject.clone());
        } else if !req.customer_id.is_empty() {
            validate::id(&mut v, "customer_id", &req.customer_id, MAX_ID);
            filter.customer_id = Some(req.customer_id.clone());
        }
        if req.status != 0 {
            filter.status = status_from_proto(req.status);
            if filter.status.is_none() {
                v.add("status", "unknown status");
            }
        }
        if req.reason != 0 {
            filter.reason = reason_from_proto(req.reason);
            if filter.reason.is_none() {
                v.add("reason", "unknown reason");
            }
        }
        if !req.order_id.is_empty() {
            validate::id(&mut v, "order_id", &req.order_id, MAX_ID);
            filter.order_id = Some(req.order_id.clone());
        }
        filter.created_after = optional_time(&mut v, "created_after", req.created_after.as_ref());
        filter.created_before = optional_time(&mut v, "created_before", req.created_before.as_ref());
        // Staff working a status queue take the oldest first.
        filter.oldest_first = caller.role != Role::Customer && filter.status.is_some();
        let page_size = v.take("page_size", paging::page_size(req.page_size));
        v.finish()?;
        let page_size = page_size.unwrap_or(paging::DEFAULT_PAGE_SIZE);
        let query = format!("returns.ListReturns:{filter:?}");
        let cursor = paging::decode("page_token", &query, &req.page_token)?;

        let mut conn = self.ctx.pool.acquire().await?;
        let mut returns = store::list_returns(&mut conn, &filter, cursor.as_ref(), page_size + 1).await?;
        let next_page_token = if returns.len() as i64 > page_size {
            returns.truncate(page_size as usize);
            let last = returns.last().expect("a full page");
            paging::encode(
                &query,
                &paging::Cursor {
                    at: last.created_at,
                    id: last.return_id.to_string(),
                },
            )
        } else {
            String::new()
        };
        let mut policies: HashMap<(String, i32), Policy> = HashMap::new();
        let mut out = Vec::with_capacity(returns.len());
        for r in &returns {
            let key = (r.policy_category.clone(), r.policy_version);
            if !policies.contains_key(&key) {
                let p = store::policy_version(&mut conn, &key.0, key.1).await?;
                policies.insert(key.clone(), p);
            }
            out.push(return_to_proto(r, caller, &policies[&key]));
        }
        Ok(pb::ListReturnsResponse {
            returns: out,
            next_page_token,
        })
    }

    /// Runs one lifecycle step on a locked return and commits.
    async fn step<F>(&self, caller: &Caller, return_id: &str, f: F) -> Result<pb::Return, Error>
    where
        F: for<'c> FnOnce(
            &'c mut PgConnection,
            &'c mut Return,
            &'c Policy,
            DateTime<Utc>,
        )
            -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send + 'c>>,
    {
        let now = self.now();
        let mut tx = self.ctx.pool.begin().await?;
        let (mut r, policy) = self.visible_return(&mut tx, caller, return_id, true).await?;
        f(&mut tx, &mut r, &policy, now).await?;
        store::update_return(&mut tx, &r).await?;
        tx.commit().await?;
        self.ctx.events_committed();
        Ok(return_to_proto(&r, caller, &policy))
    }

    async fn approve(&self, caller: &Caller, req: pb::ApproveReturnRequest) -> Result<pb::Return, Error> {
        let mut v = Violations::new();
        validate::text(&mut v, "note", &req.note, MAX_SHORT_TEXT);
        v.finish()?;
        let by_role = caller.role.as_str().to_owned();
        self.step(caller, &req.return_id, move |tx, r, policy, now| {
            Box::pin(async move {
                let by = Author {
                    role: &by_role,
                    channel: None,
                };
                let next = next_status(r.facts(policy), Step::Approve)?;
                let text = if req.note.is_empty() {
                    "Approved.".to_owned()
                } else {
                    format!("Approved: {}", req.note)
                };
                set_status(tx, r, next, text, &by, now).await?;
                on_approved(tx, r, policy, &by, now).await
            })
        })
        .await
    }

    async fn reject(&self, caller: &Caller, req: pb::RejectReturnRequest) -> Result<pb::Return, Error> {
        let mut v = Violations::new();
        validate::required_text(&mut v, "reason", &req.reason, MAX_SHORT_TEXT);
        v.finish()?;
        let by_role = caller.role.as_str().to_owned();
        self.step(caller, &req.return_id, move |tx, r, policy, now| {
            Box::pin(async move {
                let next = next_status(r.facts(policy), Step::Reject)?;
                release(tx, r).await?;
                r.rejection_reason = Some(req.reason.clone());
                let by = Author {
                    role: &by_role,
                    channel: None,
                };
                set_status(tx, r, next, format!("Rejected: {}", req.reason), &by, now).await?;
                emit(tx, topics::RETURN_REJECTED, r, return_event(r)).await
            })
        })
        .await
    }

    async fn cancel(&self, caller: &Caller, req: pb::CancelReturnRequest) -> Result<pb::Return, Error> {
        let mut v = Violations::new();
        validate::text(&mut v, "reason", &req.reason, MAX_SHORT_TEXT);
        v.finish()?;
        let by_role = caller.role.as_str().to_owned();
        // The storefront cancels on the customer's behalf.
        let who = if caller.role == Role::Agent {
            Actor::Staff
        } else {
            Actor::Customer
        };
        self.step(caller, &req.return_id, move |tx, r, policy, now| {
            Box::pin(async move {
                let next = next_status(r.facts(policy), Step::Cancel(who))?;
                release(tx, r).await?;
                let by = Author {
                    role: &by_role,
                    channel: None,
                };
                let text = if req.reason.is_empty() {
                    "Canceled.".to_owned()
                } else {
                    format!("Canceled: {}", req.reason)
                };
                set_status(tx, r, next, text, &by, now).await?;
                emit(tx, topics::RETURN_CANCELED, r, return_event(r)).await
            })
        })
        .await
    }

    async fn record_shipment(
        &self,
        caller: &Caller,
        req: pb::RecordReturnShipmentRequest,
    ) -> Result<pb::Return, Error> {
        let (carrier, tracking) = parse_shipment(&req.carrier, &req.tracking_number)?;
        let by_role = caller.role.as_str().to_owned();
        self.step(caller, &req.return_id, move |tx, r, policy, now| {
            Box::pin(async move {
                let next = next_status(r.facts(policy), Step::Ship)?;
                let text = format!("Shipped back with {carrier} ({tracking}).");
                r.return_shipment = Some(Shipment {
                    carrier,
                    tracking_number: tracking,
                    shipped_at: now,
                });
                let by = Author {
                    role: &by_role,
                    channel: None,
                };
                set_status(tx, r, next, text, &by, now).await
            })
        })
        .await
    }

    async fn receive(&self, caller: &Caller, req: pb::ReceiveReturnRequest) -> Result<pb::Return, Error> {
        let by_role = caller.role.as_str().to_owned();
        self.step(caller, &req.return_id, move |tx, r, policy, now| {
            Box::pin(async move {
                let next = next_status(r.facts(policy), Step::Receive)?;
                let received = parse_received(&req.items, r)?;
                let order = load_order(tx, &r.order_id, true).await?;
                let mut refunds = Vec::with_capacity(r.items.len());
                for item in &mut r.items {
                    let (quantity, grade) = received[&item.line_id];
                    let units = accepted_units(grade, quantity);
                    let value = order.line(&item.line_id)?.price_of_next_units(r.currency, units);
                    let priced = PricedUnits {
                        value,
                        reason: item.reason,
                        grade: Some(grade),
                    };
                    item.refund_amount = item_refund(&priced, policy, r.currency);
                    item.received_quantity = Some(quantity);
                    item.grade = Some(grade);
                    if units > 0 {
                        store::refund_units(tx, &r.order_id, &item.line_id, units, item.refund_amount).await?;
                    }
                    refunds.push((item.refund_amount, item.reason));
                }
                r.settlement = settle(
                    &refunds,
                    r.resolution,
                    false,
                    r.replacements_total(),
                    policy,
                    r.currency,
                );
                let by = Author {
                    role: &by_role,
                    channel: None,
                };
                set_status(tx, r, Status::Received, "Received and inspected.".into(), &by, now).await?;
                emit(tx, topics::RETURN_RECEIVED, r, return_event(r)).await?;
                if next == Status::Completed {
                    return complete(tx, r, &SYSTEM, now).await;
                }
                let all_resellable = r
                    .items
                    .iter()
                    .all(|i| i.grade == Some(Grade::Resellable) && i.received_quantity == Some(i.quantity));
                if policy.auto_refund_on_receipt
                    && all_resellable
                    && r.resolution != Resolution::Exchange
                    && r.settlement.refund_total > Decimal::ZERO
                {
                    issue_refund(tx, r, &SYSTEM, now).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn ship_exchange(&self, caller: &Caller, req: pb::ShipExchangeRequest) -> Result<pb::Return, Error> {
        let (carrier, tracking) = parse_shipment(&req.carrier, &req.tracking_number)?;
        let by_role = caller.role.as_str().to_owned();
        self.step(caller, &req.return_id, move |tx, r, policy, now| {
            Box::pin(async move {
                let next = next_status(r.facts(policy), Step::ShipExchange)?;
                let by = Author {
                    role: &by_role,
                    channel: None,
                };
                let text = format!("Replacement shipped with {carrier} ({tracking}).");
                r.exchange_shipment = Some(Shipment {
                    carrier,
                    tracking_number: tracking,
                    shipped_at: now,
                });
                r.updated_at = now;
                note(tx, r, None, text, &by, true, now).await?;
                emit(tx, topics::EXCHANGE_SHIPPED, r, return_event(r)).await?;
                if next == Status::Completed {
                    complete(tx, r, &by, now).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn add_message(&self, caller: &Caller, req: pb::AddReturnMessageRequest) -> Result<pb::Return, Error> {
        let mut v = Violations::new();
        validate::required_text(&mut v, "text", &req.text, MAX_MESSAGE);
        let channel = if req.channel == 0 {
            None
        } else {
            let c = Channel::from_proto(req.channel);
            if c.is_none() {
                v.add("channel", "unknown channel");
            }
            c
        };
        v.finish()?;
        if req.internal && caller.role == Role::Customer {
            return Err(Error::PermissionDenied("customers cannot write internal notes".into()));
        }
        let by_role = caller.role.as_str().to_owned();
        self.step(caller, &req.return_id, move |tx, r, _policy, now| {
            Box::pin(async move {
                let by = Author {
                    role: &by_role,
                    channel,
                };
                r.updated_at = now;
                note(tx, r, None, req.text.clone(), &by, !req.internal, now).await
            })
        })
        .await
    }

    async fn issue(&self, caller: &Caller, req: pb::IssueRefundRequest) -> Result<pb::Refund, Error> {
        let mut v = Violations::new();
        let return_id = parse_id(&mut v, "return_id", &req.return_id);
        validate::id(&mut v, "request_id", &req.request_id, MAX_ID);
        let return_id = v.finish_with(return_id)?;
        let now = self.now();
        let hash = idempotency::request_hash(return_id.as_bytes());
        let mut tx = self.ctx.pool.begin().await?;
        match idempotency::claim(&mut tx, "returns.IssueRefund", &req.request_id, &hash, now).await? {
            Claim::Fresh => {}
            Claim::Replay(id) => {
                let id = Uuid::from_slice(&id).map_err(Error::internal)?;
                let refund = store::get_refund(&mut tx, id, false)
                    .await?
                    .ok_or_else(|| Error::internal("lost refund"))?;
                return Ok(refund_to_proto(&refund));
            }
            Claim::Conflict => return Err(idempotency::key_reused("request_id")),
        }
        let (mut r, policy) = self.visible_return(&mut tx, caller, &req.return_id, true).await?;
        if let Some(existing) = r.refund.as_ref().filter(|f| f.live()) {
            return Err(Error::precondition(
                "REFUND_ALREADY_ISSUED",
                "this return already has a pending or succeeded refund",
            )
            .with_metadata("refund_id", existing.refund_id.to_string()));
        }
        next_status(r.facts(&policy), Step::IssueRefund)?;
        let refund = issue_refund(&mut tx, &mut r, &author(caller), now).await?;
        store::update_return(&mut tx, &r).await?;
        idempotency::complete(
            &mut tx,
            "returns.IssueRefund",
            &req.request_id,
            refund.refund_id.as_bytes(),
        )
        .await?;
        tx.commit().await?;
        self.ctx.events_committed();
        Ok(refund_to_proto(&refund))
    }

    /// Settles a pending refund: `Ok(reference)` succeeds it, `Err(reason)` fails it.
    async fn settle_refund(
        &self,
        caller: &Caller,
        refund_id: &str,
        outcome: Result<String, String>,
    ) -> Result<pb::Refund, Error> {
        let id = required_id("refund_id", refund_id)?;
        let now = self.now();
        let mut tx = self.ctx.pool.begin().await?;
        let refund = store::get_refund(&mut tx, id, false)
            .await?
            .ok_or_else(|| not_found("refund", refund_id))?;
        // Lock the return first, then the refund: the order every writer uses.
        let (mut r, _policy) = self
            .visible_return(&mut tx, caller, &refund.return_id.to_string(), true)
            .await?;
        let mut refund = store::get_refund(&mut tx, id, true)
            .await?
            .ok_or_else(|| not_found("refund", refund_id))?;
        match (&outcome, refund.status) {
            (Ok(reference), RefundStatus::Succeeded) if refund.provider_reference.as_deref() == Some(reference) => {
                return Ok(refund_to_proto(&refund)); // a repeated confirmation
            }
            (_, RefundStatus::Pending) => {}
            (_, status) => {
                return Err(
                    Error::precondition("REFUND_NOT_PENDING", format!("the refund is {}", status.as_str()))
                        .with_metadata("status", status.as_str().to_uppercase()),
                );
            }
        }
        refund.updated_at = now;
        r.updated_at = now;
        let by = author(caller);
        match outcome {
            Ok(reference) => {
                refund.status = RefundStatus::Succeeded;
                refund.provider_reference = Some(reference);
                store::update_refund(&mut tx, &refund).await?;
                r.refund = Some(refund.clone());
                note(&mut tx, &mut r, None, "Refund paid.".into(), &by, true, now).await?;
                emit(&mut tx, topics::REFUND_SUCCEEDED, &r, refund_event(&r, &refund)).await?;
                let exchange_pending = r.resolution == Resolution::Exchange && r.exchange_shipment.is_none();
                if !exchange_pending && r.status != Status::Completed {
                    complete(&mut tx, &mut r, &SYSTEM, now).await?;
                }
            }
            Err(reason) => {
                refund.status = RefundStatus::Failed;
                refund.failure_reason = Some(reason.clone());
                store::update_refund(&mut tx, &refund).await?;
                r.refund = Some(refund.clone());
                note(
                    &mut tx,
                    &mut r,
                    None,
                    format!("Refund failed: {reason}"),
                    &by,
                    false,
                    now,
                )
                .await?;
                note(
                    &mut tx,
                    &mut r,
                    None,
                    "Your refund did not go through; we will try again.".into(),
                    &SYSTEM,
                    true,
                    now,
                )
                .await?;
                emit(&mut tx, topics::REFUND_FAILED, &r, refund_event(&r, &refund)).await?;
            }
        }
        store::update_return(&mut tx, &r).await?;
        tx.commit().await?;
        self.ctx.events_committed();
        Ok(refund_to_proto(&refund))
    }
}

async fn release(tx: &mut PgConnection, r: &Return) -> Result<(), Error> {
    for item in &r.items {
        store::release_units(tx, &r.order_id, &item.line_id, item.quantity).await?;
    }
    Ok(())
}

async fn policy_for(
    conn: &mut PgConnection,
    cache: &mut HashMap<String, Policy>,
    category: &str,
    now: DateTime<Utc>,
) -> Result<Policy, Error> {
    if let Some(p) = cache.get(category) {
        return Ok(p.clone());
    }
    let p = store::effective_policy(conn, category, now).await?;
    cache.insert(category.to_owned(), p.clone());
    Ok(p)
}

fn optional_time(v: &mut Violations, field: &str, ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(|ts| v.take(field, from_proto(ts).ok_or("is not a valid timestamp")))
}

fn parse_shipment(carrier: &str, tracking: &str) -> Result<(String, String), Error> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "carrier", carrier, 100);
    validate::id(&mut v, "tracking_number", tracking, MAX_ID);
    v.finish()?;
    Ok((carrier.to_owned(), tracking.to_owned()))
}

/// Received quantities and grades by line, one per item of the return.
fn parse_received(items: &[pb::ReceivedItem], r: &Return) -> Result<HashMap<String, (i32, Grade)>, Error> {
    let mut v = Violations::new();
    let mut out = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let f = |name: &str| format!("items[{i}].{name}");
        let Some(requested) = r.items.iter().find(|x| x.line_id == item.line_id) else {
            v.add(
                f("line_id"),
                format!("the return has no item for line {:?}", item.line_id),
            );
            continue;
        };
        if !(0..=requested.quantity).contains(&item.received_quantity) {
            v.add(
                f("received_quantity"),
                format!("must be between 0 and {}", requested.quantity),
            );
        }
        let grade = grade_from_proto(item.grade);
        if grade.is_none() {
            v.add(f("grade"), "must be set");
        }
        if out
            .insert(
                item.line_id.clone(),
                (item.received_quantity, grade.unwrap_or(Grade::Missing)),
            )
            .is_some()
        {
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

struct NewItem {
    line_id: String,
    quantity: i32,
    reason: Reason,
    note: String,
    photo_urls: Vec<String>,
    resolution: Resolution,
    replacement_sku: Option<String>,
    replacement_price: Option<Money>,
}

struct NewReturn {
    channel: Channel,
    resolution: Resolution,
    items: Vec<NewItem>,
}

fn parse_money_any(v: &mut Violations, field: &str, m: &PbMoney) -> Option<Money> {
    let Some(currency) = Currency::from_code(&m.currency_code) else {
        v.add(format!("{field}.currency_code"), "unknown currency");
        return None;
    };
    v.take(
        &format!("{field}.amount"),
        Money::parse_non_negative(currency, &m.amount),
    )
}

fn parse_create(req: &pb::CreateReturnRequest) -> Result<NewReturn, Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "request_id", &req.request_id, MAX_ID);
    validate::id(&mut v, "order_id", &req.order_id, MAX_ID);
    let channel = Channel::from_proto(req.channel);
    if channel.is_none() {
        v.add("channel", "must be set to a known channel");
    }
    let mut items = Vec::new();
    if req.items.is_empty() {
        v.add("items", "at least one item is required");
    } else if req.items.len() > MAX_ITEMS {
        v.add("items", format!("must have at most {MAX_ITEMS} items"));
    } else {
        let mut seen = HashSet::new();
        for (i, it) in req.items.iter().enumerate() {
            let f = |name: &str| format!("items[{i}].{name}");
            validate::id(&mut v, &f("line_id"), &it.line_id, MAX_ID);
            if !seen.insert(it.line_id.as_str()) {
                v.add(f("line_id"), "listed twice; put the whole quantity on one item");
            }
            if !(1..=10_000).contains(&it.quantity) {
                v.add(f("quantity"), "must be between 1 and 10000");
            }
            let reason = reason_from_proto(it.reason);
            if reason.is_none() {
                v.add(f("reason"), "must be set to a known reason");
            }
            validate::text(&mut v, &f("note"), &it.note, MAX_NOTE);
            if it.photo_urls.len() > MAX_PHOTOS {
                v.add(f("photo_urls"), format!("at most {MAX_PHOTOS} photos"));
            }
            for (j, url) in it.photo_urls.iter().enumerate().take(MAX_PHOTOS) {
                if !url.starts_with("https://") || url.len() > MAX_URL || url.chars().any(char::is_whitespace) {
                    v.add(
                        f(&format!("photo_urls[{j}]")),
                        "must be an https URL of at most 2048 characters",
                    );
                }
            }
            let resolution = resolution_from_proto(it.resolution);
            if resolution.is_none() {
                v.add(f("resolution"), "must be set to a known resolution");
            }
            let mut replacement_price = None;
            if resolution == Some(Resolution::Exchange) {
                validate::id(&mut v, &f("replacement_sku"), &it.replacement_sku, MAX_ID);
                match &it.replacement_price {
                    None => v.add(f("replacement_price"), "is required for an exchange"),
                    Some(m) => replacement_price = parse_money_any(&mut v, &f("replacement_price"), m),
                }
            } else if !it.replacement_sku.is_empty() || it.replacement_price.is_some() {
                v.add(f("replacement_sku"), "only exchanges name a replacement");
            }
            if let (Some(reason), Some(resolution)) = (reason, resolution) {
                items.push(NewItem {
                    line_id: it.line_id.clone(),
                    quantity: it.quantity,
                    reason,
                    note: it.note.clone(),
                    photo_urls: it.photo_urls.clone(),
                    resolution,
                    replacement_sku: (resolution == Resolution::Exchange).then(|| it.replacement_sku.clone()),
                    replacement_price,
                });
            }
        }
        let resolutions: HashSet<_> = items.iter().map(|i| i.resolution).collect();
        if resolutions.len() > 1 {
            v.add(
                "items",
                "every item of one return must have the same resolution; create one return per resolution",
            );
        }
    }
    v.finish()?;
    let resolution = items[0].resolution;
    Ok(NewReturn {
        channel: channel.expect("checked"),
        resolution,
        items,
    })
}

fn percent(v: &mut Violations, field: &str, s: &str) -> Decimal {
    match Decimal::from_str(s.trim()) {
        Ok(d) if d >= Decimal::ZERO && d <= Decimal::ONE_HUNDRED && d.normalize().scale() <= 2 => d,
        _ => {
            v.add(field, "must be a percentage between 0 and 100 with at most 2 decimals");
            Decimal::ZERO
        }
    }
}

fn per_currency_input(v: &mut Violations, field: &str, list: &[PbMoney]) -> PerCurrency {
    let mut out: PerCurrency = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if let Some(money) = parse_money_any(v, &f, m) {
            if out.iter().any(|(c, _)| c == money.currency().code()) {
                v.add(format!("{f}.currency_code"), "listed twice");
            }
            out.push((money.currency().code().to_owned(), money.amount()));
        }
    }
    out.sort();
    out
}

const POLICY_FIELDS: [&str; 12] = [
    "return_window_days",
    "final_sale",
    "allowed_resolutions",
    "restocking_fee_percent",
    "return_shipping_fees",
    "auto_approve_max_refund",
    "keep_item_max_refund",
    "auto_refund_on_receipt",
    "manual_review_return_count",
    "manual_review_refund_limit",
    "exchange_bonus_percent",
    "advance_exchange",
];

/// Applies the masked fields of `input` (all of them when `mask` is empty).
fn apply_policy(p: &mut Policy, input: &pb::ReturnPolicy, mask: &[String]) -> Result<(), Error> {
    let mut v = Violations::new();
    validate::text(&mut v, "policy.category", &input.category, 100);
    for (i, path) in mask.iter().enumerate() {
        if !POLICY_FIELDS.contains(&path.as_str()) {
            v.add(
                format!("update_mask.paths[{i}]"),
                format!("{path:?} is not an updatable field"),
            );
        }
    }
    let set = |field: &str| mask.is_empty() || mask.iter().any(|m| m == field);
    if set("return_window_days") {
        if !(0..=3650).contains(&input.return_window_days) {
            v.add("policy.return_window_days", "must be between 0 and 3650");
        }
        p.return_window_days = input.return_window_days;
    }
    if set("final_sale") {
        p.final_sale = input.final_sale;
    }
    if set("allowed_resolutions") {
        let mut resolutions = Vec::new();
        for (i, r) in input.allowed_resolutions.iter().enumerate() {
            match resolution_from_proto(*r) {
                Some(r) if !resolutions.contains(&r) => resolutions.push(r),
                Some(_) => v.add(format!("policy.allowed_resolutions[{i}]"), "listed twice"),
                None => v.add(format!("policy.allowed_resolutions[{i}]"), "unknown resolution"),
            }
        }
        p.allowed_resolutions = resolutions;
    }
    if set("restocking_fee_percent") {
        p.restocking_fee_percent = percent(&mut v, "policy.restocking_fee_percent", &input.restocking_fee_percent);
    }
    if set("exchange_bonus_percent") {
        p.exchange_bonus_percent = percent(&mut v, "policy.exchange_bonus_percent", &input.exchange_bonus_percent);
    }
    if set("return_shipping_fees") {
        p.return_shipping_fees = per_currency_input(&mut v, "policy.return_shipping_fees", &input.return_shipping_fees);
    }
    if set("auto_approve_max_refund") {
        p.auto_approve_max_refund =
            per_currency_input(&mut v, "policy.auto_approve_max_refund", &input.auto_approve_max_refund);
    }
    if set("keep_item_max_refund") {
        p.keep_item_max_refund = per_currency_input(&mut v, "policy.keep_item_max_refund", &input.keep_item_max_refund);
    }
    if set("manual_review_refund_limit") {
        p.manual_review_refund_limit = per_currency_input(
            &mut v,
            "policy.manual_review_refund_limit",
            &input.manual_review_refund_limit,
        );
    }
    if set("auto_refund_on_receipt") {
        p.auto_refund_on_receipt = input.auto_refund_on_receipt;
    }
    if set("manual_review_return_count") {
        if input.manual_review_return_count < 0 {
            v.add("policy.manual_review_return_count", "must not be negative");
        }
        p.manual_review_return_count = input.manual_review_return_count;
    }
    if set("advance_exchange") {
        p.advance_exchange = input.advance_exchange;
    }
    v.finish()
}

#[tonic::async_trait]
impl ReturnService for ReturnApi {
    async fn get_return_policy(
        &self,
        request: Request<pb::GetReturnPolicyRequest>,
    ) -> Result<Response<pb::ReturnPolicy>, GrpcStatus> {
        self.guard.check(&request, "GetReturnPolicy")?;
        Ok(Response::new(self.get_policy(request.into_inner()).await?))
    }

    async fn list_return_policies(
        &self,
        request: Request<pb::ListReturnPoliciesRequest>,
    ) -> Result<Response<pb::ListReturnPoliciesResponse>, GrpcStatus> {
        self.guard.check(&request, "ListReturnPolicies")?;
        let mut conn = self.ctx.pool.acquire().await.map_err(Error::from)?;
        let policies = store::list_policies(&mut conn).await?;
        Ok(Response::new(pb::ListReturnPoliciesResponse {
            policies: policies.iter().map(policy_to_proto).collect(),
        }))
    }

    async fn update_return_policy(
        &self,
        request: Request<pb::UpdateReturnPolicyRequest>,
    ) -> Result<Response<pb::ReturnPolicy>, GrpcStatus> {
        self.guard.check(&request, "UpdateReturnPolicy")?;
        Ok(Response::new(self.update_policy(request.into_inner()).await?))
    }

    async fn set_customer_flag(
        &self,
        request: Request<pb::SetCustomerFlagRequest>,
    ) -> Result<Response<pb::CustomerFlag>, GrpcStatus> {
        self.guard.check(&request, "SetCustomerFlag")?;
        Ok(Response::new(self.set_flag(request.into_inner()).await?))
    }

    async fn check_eligibility(
        &self,
        request: Request<pb::CheckEligibilityRequest>,
    ) -> Result<Response<pb::CheckEligibilityResponse>, GrpcStatus> {
        let caller = self.guard.check(&request, "CheckEligibility")?;
        Ok(Response::new(
            ReturnApi::check_eligibility(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn create_return(
        &self,
        request: Request<pb::CreateReturnRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "CreateReturn")?;
        Ok(Response::new(self.create(&caller, request.into_inner()).await?))
    }

    async fn get_return(&self, request: Request<pb::GetReturnRequest>) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "GetReturn")?;
        Ok(Response::new(self.get(&caller, request.into_inner()).await?))
    }

    async fn list_returns(
        &self,
        request: Request<pb::ListReturnsRequest>,
    ) -> Result<Response<pb::ListReturnsResponse>, GrpcStatus> {
        let caller = self.guard.check(&request, "ListReturns")?;
        Ok(Response::new(self.list(&caller, request.into_inner()).await?))
    }

    async fn approve_return(
        &self,
        request: Request<pb::ApproveReturnRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "ApproveReturn")?;
        Ok(Response::new(self.approve(&caller, request.into_inner()).await?))
    }

    async fn reject_return(
        &self,
        request: Request<pb::RejectReturnRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "RejectReturn")?;
        Ok(Response::new(self.reject(&caller, request.into_inner()).await?))
    }

    async fn cancel_return(
        &self,
        request: Request<pb::CancelReturnRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "CancelReturn")?;
        Ok(Response::new(self.cancel(&caller, request.into_inner()).await?))
    }

    async fn record_return_shipment(
        &self,
        request: Request<pb::RecordReturnShipmentRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "RecordReturnShipment")?;
        Ok(Response::new(
            self.record_shipment(&caller, request.into_inner()).await?,
        ))
    }

    async fn receive_return(
        &self,
        request: Request<pb::ReceiveReturnRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "ReceiveReturn")?;
        Ok(Response::new(self.receive(&caller, request.into_inner()).await?))
    }

    async fn issue_refund(&self, request: Request<pb::IssueRefundRequest>) -> Result<Response<pb::Refund>, GrpcStatus> {
        let caller = self.guard.check(&request, "IssueRefund")?;
        Ok(Response::new(self.issue(&caller, request.into_inner()).await?))
    }

    async fn confirm_refund(
        &self,
        request: Request<pb::ConfirmRefundRequest>,
    ) -> Result<Response<pb::Refund>, GrpcStatus> {
        let caller = self.guard.check(&request, "ConfirmRefund")?;
        let req = request.into_inner();
        let mut v = Violations::new();
        validate::id(&mut v, "provider_reference", &req.provider_reference, MAX_ID);
        v.finish()?;
        Ok(Response::new(
            self.settle_refund(&caller, &req.refund_id, Ok(req.provider_reference))
                .await?,
        ))
    }

    async fn fail_refund(&self, request: Request<pb::FailRefundRequest>) -> Result<Response<pb::Refund>, GrpcStatus> {
        let caller = self.guard.check(&request, "FailRefund")?;
        let req = request.into_inner();
        let mut v = Violations::new();
        validate::required_text(&mut v, "reason", &req.reason, MAX_SHORT_TEXT);
        v.finish()?;
        Ok(Response::new(
            self.settle_refund(&caller, &req.refund_id, Err(req.reason)).await?,
        ))
    }

    async fn ship_exchange(
        &self,
        request: Request<pb::ShipExchangeRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "ShipExchange")?;
        Ok(Response::new(
            ReturnApi::ship_exchange(self, &caller, request.into_inner()).await?,
        ))
    }

    async fn add_return_message(
        &self,
        request: Request<pb::AddReturnMessageRequest>,
    ) -> Result<Response<pb::Return>, GrpcStatus> {
        let caller = self.guard.check(&request, "AddReturnMessage")?;
        Ok(Response::new(self.add_message(&caller, request.into_inner()).await?))
    }
}
