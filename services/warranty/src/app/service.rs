//! Repairs at service centres: a service order per approved repair, moved
//! on by the centre (a partner sees and moves only its own centre's), the
//! customer answering a paid repair's quote, and the claim resolved when
//! the repaired product is shipped back — the days in service extending the
//! warranty when the terms say so.

use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::paging;

use super::claims::{clocks, locked_claim, resolve};
use super::{Warranty, entry};
use crate::domain::{
    Claim, ClaimStep, Entitlement, Remedy, ServiceOrder, ServiceOrderId, ServiceOrderStatus, ServiceStep, Trigger,
    WarrantyError,
};
use crate::events;
use crate::store;
use crate::store::service::Centre;

/// A service order with what a centre needs of its claim: the product and
/// the fault category, never the customer nor their own words.
pub struct OrderView {
    pub order: ServiceOrder,
    pub sku: String,
    pub product_name: String,
    pub serial_number: String,
    pub fault_category: String,
    pub fault_description: String,
}

/// A page of service orders.
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    pub next_page_token: String,
}

/// A partner reaches only its own centre's orders; another's is as absent
/// as a missing one.
fn reachable(caller: &Caller, o: &ServiceOrder) -> Result<(), Error> {
    if caller.role == Role::Partner && caller.subject != o.centre_id {
        return Err(WarrantyError::not_found("service order", o.service_order_id.to_string()).into());
    }
    Ok(())
}

impl Warranty {
    pub async fn upsert_centre(&self, centre: Centre) -> Result<Centre, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::service::upsert_centre(uow.conn(), &centre, now).await?;
        uow.commit().await?;
        Ok(centre)
    }

    pub async fn centres(&self) -> Result<Vec<Centre>, Error> {
        store::service::centres(&mut *self.ctx.read().await?).await
    }

    /// APPROVED (a repair) -> IN_SERVICE, with a new order at `centre_id`.
    pub async fn create_service_order(
        &self,
        caller: &Caller,
        claim_id: crate::domain::ClaimId,
        centre_id: &str,
        inbound_tracking: String,
    ) -> Result<OrderView, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut claim = locked_claim(&mut uow, caller, claim_id).await?;
        let centre = store::service::centre(uow.conn(), centre_id)
            .await?
            .filter(|c| c.active)
            .ok_or_else(|| WarrantyError::not_found("service centre", centre_id))?;
        match claim.remedy {
            Some(Remedy::Repair) => {}
            Some(other) => return Err(WarrantyError::NotARepair(other).into()),
            None => {}
        }
        let from = claim.apply(ClaimStep::StartService, &caller.subject, now)?;
        let order = ServiceOrder {
            service_order_id: ServiceOrderId::new(),
            claim_id,
            centre_id: centre.centre_id.clone(),
            status: ServiceOrderStatus::Created,
            paid: claim.paid_repair,
            inbound_tracking,
            diagnosis: String::new(),
            parts: String::new(),
            labour_minutes: 0,
            quote: None,
            result_notes: String::new(),
            repaired: None,
            outbound_carrier: String::new(),
            outbound_tracking: String::new(),
            created_at: now,
            received_at: None,
            shipped_back_at: None,
            updated_at: now,
        };
        store::service::insert_order(uow.conn(), &order).await?;
        let text = format!("Sent to {} for repair.", centre.name);
        let e = entry(Some(caller), Some(claim.status), text, None, true, now);
        store::claims::update(uow.conn(), &claim).await?;
        store::claims::add_timeline(uow.conn(), claim_id, &e).await?;
        let aggregate = claim_id.to_string();
        uow.emit(&aggregate, &events::status_changed(&claim, from, now)).await?;
        uow.emit(&aggregate, &events::service_order_updated(&order)).await?;
        let view = view(uow.conn(), order, &claim).await?;
        uow.commit().await?;
        Ok(view)
    }

    pub async fn service_order(&self, caller: &Caller, id: ServiceOrderId) -> Result<OrderView, Error> {
        let mut conn = self.ctx.read().await?;
        let order = store::service::order(&mut conn, id, false)
            .await?
            .ok_or_else(|| WarrantyError::not_found("service order", id.to_string()))?;
        reachable(caller, &order)?;
        let claim = store::claims::get(&mut conn, order.claim_id, false)
            .await?
            .ok_or_else(|| WarrantyError::Corrupt(format!("service order {id} without its claim")))?;
        view(&mut conn, order, &claim).await
    }

    pub async fn service_orders(
        &self,
        caller: &Caller,
        centre_id: Option<&str>,
        page_size: i32,
        page_token: &str,
    ) -> Result<OrderPage, Error> {
        // A partner lists its own centre's, whatever it asks.
        let centre = if caller.role == Role::Partner {
            Some(caller.subject.as_str())
        } else {
            centre_id
        };
        let limit = paging::page_size(page_size)?;
        let query = format!("service_orders\u{0}{}", centre.unwrap_or_default());
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut orders = store::service::orders(&mut conn, centre, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut orders, limit, &query, |o| {
            (o.created_at, o.service_order_id.to_string())
        });
        let mut views = Vec::with_capacity(orders.len());
        for order in orders {
            let claim = store::claims::get(&mut conn, order.claim_id, false)
                .await?
                .ok_or_else(|| WarrantyError::Corrupt("a service order without its claim".into()))?;
            views.push(view(&mut conn, order, &claim).await?);
        }
        Ok(OrderPage {
            orders: views,
            next_page_token,
        })
    }

    /// Moves a service order on; shipping a repaired product back resolves
    /// its claim and extends the warranty by the days in service.
    pub async fn update_service_order(
        &self,
        caller: &Caller,
        id: ServiceOrderId,
        step: ServiceStep,
    ) -> Result<OrderView, Error> {
        let customer_step = matches!(step, ServiceStep::AnswerQuote { .. });
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        // The claim first, then its order: the order every writer locks in.
        let peek = store::service::order(uow.conn(), id, false)
            .await?
            .ok_or_else(|| WarrantyError::not_found("service order", id.to_string()))?;
        reachable(caller, &peek)?;
        let mut claim = if customer_step {
            // Another customer's order is as absent as a missing one.
            locked_claim(&mut uow, caller, peek.claim_id)
                .await
                .map_err(|_| WarrantyError::not_found("service order", id.to_string()))?
        } else {
            store::claims::get(uow.conn(), peek.claim_id, true)
                .await?
                .ok_or_else(|| WarrantyError::Corrupt(format!("service order {id} without its claim")))?
        };
        let mut order = store::service::order(uow.conn(), id, true)
            .await?
            .ok_or_else(|| WarrantyError::not_found("service order", id.to_string()))?;
        let quote = match &step {
            ServiceStep::Quote { amount } => Some(*amount),
            _ => None,
        };
        order.apply(step, now)?;
        store::service::update_order(uow.conn(), &order).await?;
        // Waiting on the customer's answer to a quote stops the claim's
        // clocks, as a question does; the answer restarts them.
        match order.status {
            ServiceOrderStatus::Quoted => {
                claim.sla.pause(now);
                store::claims::update(uow.conn(), &claim).await?;
            }
            ServiceOrderStatus::QuoteAccepted | ServiceOrderStatus::QuoteDeclined => {
                let clocks = clocks(uow.conn()).await?;
                if let Some((started, ended)) = claim.sla.resume(now, &clocks) {
                    store::claims::add_pause(uow.conn(), claim.claim_id, started, ended).await?;
                }
                store::claims::update(uow.conn(), &claim).await?;
            }
            _ => {}
        }
        if let Some(amount) = quote {
            // The customer sees what they are asked to accept.
            let text = format!(
                "Repair quote: {}. Accept or decline it to go on.",
                amount.currency().format(amount.amount())
            );
            let e = entry(Some(caller), None, text, None, true, now);
            store::claims::add_timeline(uow.conn(), claim.claim_id, &e).await?;
        }
        let aggregate = claim.claim_id.to_string();
        uow.emit(&aggregate, &events::service_order_updated(&order)).await?;
        if order.status == ServiceOrderStatus::ShippedBack {
            shipped_back(&mut uow, caller, &mut claim, &order).await?;
        }
        let view = view(uow.conn(), order, &claim).await?;
        uow.commit().await?;
        Ok(view)
    }
}

/// A repaired product back with its customer resolves the claim; days in
/// service extend the warranty when the terms say so. Anything else (not
/// repairable, a declined quote) leaves the claim in service for an agent
/// to decide.
async fn shipped_back(
    uow: &mut aftercare_platform::uow::UnitOfWork<'_>,
    caller: &Caller,
    claim: &mut Claim,
    order: &ServiceOrder,
) -> Result<(), Error> {
    let now = uow.now();
    let registration = store::registrations::get(uow.conn(), claim.registration_id, true)
        .await?
        .ok_or_else(|| WarrantyError::Corrupt("a claim without its registration".into()))?;
    let terms = store::terms::version(uow.conn(), &registration.terms).await?;
    let days = order.days_in_service().unwrap_or(0);
    if order.repaired == Some(true) {
        if terms.repair_time_extends && !claim.paid_repair && days > 0 {
            let days = i32::try_from(days).unwrap_or(i32::MAX);
            store::registrations::extend(uow.conn(), registration.registration_id, days, now).await?;
        }
        return resolve(uow, claim, Some(caller), "Repaired and shipped back to you.".into()).await;
    }
    let text = match order.repaired {
        Some(false) if !claim.paid_repair => {
            // Not repairable under warranty: a replacement or a refund is
            // the customer's; an agent approves one (IN_SERVICE -> APPROVED).
            claim.entitlement = Some(Entitlement::to(Trigger::Unrepairable));
            store::claims::update(uow.conn(), claim).await?;
            "Your product could not be repaired and is on its way back; you are entitled to a replacement or a refund."
        }
        Some(false) => "Your product could not be repaired and is on its way back.",
        _ => "The quote was declined; your product is on its way back.",
    };
    let e = entry(Some(caller), None, text.into(), None, true, now);
    store::claims::add_timeline(uow.conn(), claim.claim_id, &e).await?;
    claim.timeline.push(e);
    Ok(())
}

async fn view(conn: &mut sqlx::PgConnection, order: ServiceOrder, claim: &Claim) -> Result<OrderView, Error> {
    let registration = store::registrations::get(conn, claim.registration_id, false)
        .await?
        .ok_or_else(|| WarrantyError::Corrupt("a claim without its registration".into()))?;
    Ok(OrderView {
        order,
        sku: registration.sku,
        product_name: registration.product_name,
        serial_number: registration.serial_number.unwrap_or_default(),
        fault_category: claim.fault_category.clone(),
        fault_description: claim.description.clone(),
    })
}
