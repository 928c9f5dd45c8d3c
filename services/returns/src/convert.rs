//! Between the wire (`aftercare.returns.v1`) and the domain.

use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::money::{Currency, Money};
use aftercare_platform::timestamp::to_proto;
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::returns as pb;
use rust_decimal::Decimal;

use crate::domain::*;

pub fn money(currency: Currency, amount: Decimal) -> Option<PbMoney> {
    Some(Money::from_decimal(currency, amount).to_proto())
}

pub fn resolution_from_proto(v: i32) -> Option<Resolution> {
    match pb::Resolution::try_from(v).ok()? {
        pb::Resolution::Unspecified => None,
        pb::Resolution::Refund => Some(Resolution::Refund),
        pb::Resolution::StoreCredit => Some(Resolution::StoreCredit),
        pb::Resolution::Exchange => Some(Resolution::Exchange),
    }
}

pub fn resolution_to_proto(r: Resolution) -> i32 {
    (match r {
        Resolution::Refund => pb::Resolution::Refund,
        Resolution::StoreCredit => pb::Resolution::StoreCredit,
        Resolution::Exchange => pb::Resolution::Exchange,
    }) as i32
}

const REASONS: [(pb::ReturnReason, Reason); 8] = [
    (pb::ReturnReason::ChangedMind, Reason::ChangedMind),
    (pb::ReturnReason::WrongSize, Reason::WrongSize),
    (pb::ReturnReason::Defective, Reason::Defective),
    (pb::ReturnReason::DamagedInTransit, Reason::DamagedInTransit),
    (pb::ReturnReason::WrongItem, Reason::WrongItem),
    (pb::ReturnReason::NotAsDescribed, Reason::NotAsDescribed),
    (pb::ReturnReason::ArrivedLate, Reason::ArrivedLate),
    (pb::ReturnReason::Other, Reason::Other),
];

pub fn reason_from_proto(v: i32) -> Option<Reason> {
    REASONS.iter().find(|(p, _)| *p as i32 == v).map(|(_, r)| *r)
}

pub fn reason_to_proto(r: Reason) -> i32 {
    REASONS
        .iter()
        .find(|(_, d)| *d == r)
        .map(|(p, _)| *p as i32)
        .unwrap_or_default()
}

const STATUSES: [(pb::ReturnStatus, Status); 7] = [
    (pb::ReturnStatus::Requested, Status::Requested),
    (pb::ReturnStatus::Approved, Status::Approved),
    (pb::ReturnStatus::Rejected, Status::Rejected),
    (pb::ReturnStatus::InTransit, Status::InTransit),
    (pb::ReturnStatus::Received, Status::Received),
    (pb::ReturnStatus::Completed, Status::Completed),
    (pb::ReturnStatus::Canceled, Status::Canceled),
];

pub fn status_from_proto(v: i32) -> Option<Status> {
    STATUSES.iter().find(|(p, _)| *p as i32 == v).map(|(_, s)| *s)
}

pub fn status_to_proto(s: Status) -> i32 {
    STATUSES
        .iter()
        .find(|(_, d)| *d == s)
        .map(|(p, _)| *p as i32)
        .unwrap_or_default()
}

pub fn grade_from_proto(v: i32) -> Option<Grade> {
    match pb::Grade::try_from(v).ok()? {
        pb::Grade::Unspecified => None,
        pb::Grade::Resellable => Some(Grade::Resellable),
        pb::Grade::Opened => Some(Grade::Opened),
        pb::Grade::Damaged => Some(Grade::Damaged),
        pb::Grade::Missing => Some(Grade::Missing),
        pb::Grade::WrongItem => Some(Grade::WrongItem),
    }
}

fn grade_to_proto(g: Grade) -> i32 {
    (match g {
        Grade::Resellable => pb::Grade::Resellable,
        Grade::Opened => pb::Grade::Opened,
        Grade::Damaged => pb::Grade::Damaged,
        Grade::Missing => pb::Grade::Missing,
        Grade::WrongItem => pb::Grade::WrongItem,
    }) as i32
}

pub fn refund_to_proto(f: &Refund) -> pb::Refund {
    pb::Refund {
        refund_id: f.refund_id.to_string(),
        return_id: f.return_id.to_string(),
        status: (match f.status {
            RefundStatus::Pending => pb::RefundStatus::Pending,
            RefundStatus::Succeeded => pb::RefundStatus::Succeeded,
            RefundStatus::Failed => pb::RefundStatus::Failed,
        }) as i32,
        method: (match f.method {
            RefundMethod::OriginalPayment => pb::RefundMethod::OriginalPayment,
            RefundMethod::StoreCredit => pb::RefundMethod::StoreCredit,
        }) as i32,
        amount: money(f.currency, f.amount),
        provider_reference: f.provider_reference.clone().unwrap_or_default(),
        failure_reason: f.failure_reason.clone().unwrap_or_default(),
        create_time: Some(to_proto(f.created_at)),
        update_time: Some(to_proto(f.updated_at)),
    }
}

fn shipment(s: &Option<Shipment>) -> Option<pb::Shipment> {
    s.as_ref().map(|s| pb::Shipment {
        carrier: s.carrier.clone(),
        tracking_number: s.tracking_number.clone(),
        ship_time: Some(to_proto(s.shipped_at)),
    })
}

/// A return as `caller` may see it: customers get only customer-visible
/// timeline entries.
pub fn return_to_proto(r: &Return, caller: &Caller, policy: &Policy) -> pb::Return {
    let c = r.currency;
    let facts = r.facts(policy);
    pb::Return {
        return_id: r.return_id.to_string(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        status: status_to_proto(r.status),
        channel: r.channel.to_proto() as i32,
        items: r
            .items
            .iter()
            .map(|i| pb::ReturnItem {
                line_id: i.line_id.clone(),
                sku: i.sku.clone(),
                product_name: i.product_name.clone(),
                quantity: i.quantity,
                reason: reason_to_proto(i.reason),
                note: i.note.clone(),
                photo_urls: i.photo_urls.clone(),
                resolution: resolution_to_proto(i.resolution),
                replacement_sku: i.replacement_sku.clone().unwrap_or_default(),
                replacement_price: i.replacement_price.and_then(|p| money(c, p)),
                received_quantity: i.received_quantity.unwrap_or_default(),
                grade: i.grade.map(grade_to_proto).unwrap_or_default(),
                refund_amount: money(c, i.refund_amount),
            })
            .collect(),
        resolution: resolution_to_proto(r.resolution),
        policy_version: r.policy_version,
        policy_category: r.policy_category.clone(),
        keep_items: r.keep_items,
        manual_review: r.manual_review,
        items_refund: money(c, r.settlement.items_refund),
        shipping_fee: money(c, r.settlement.shipping_fee),
        bonus: money(c, r.settlement.bonus),
        refund_total: money(c, r.settlement.refund_total),
        exchange_difference: money(c, r.settlement.exchange_difference),
        rejection_reason: r.rejection_reason.clone().unwrap_or_default(),
        return_shipment: shipment(&r.return_shipment),
        exchange_shipment: shipment(&r.exchange_shipment),
        refund: r.refund.as_ref().map(refund_to_proto),
        timeline: r
            .timeline
            .iter()
            .filter(|e| e.customer_visible || caller.role != Role::Customer)
            .map(|e| pb::TimelineEntry {
                time: Some(to_proto(e.at)),
                kind: if e.status.is_some() { "status" } else { "message" }.into(),
                status: e.status.map(status_to_proto).unwrap_or_default(),
                text: e.text.clone(),
                actor_role: e.actor_role.clone(),
                channel: e.channel.map(|c| c.to_proto() as i32).unwrap_or_default(),
                customer_visible: e.customer_visible,
            })
            .collect(),
        next_step: next_step(facts, r.ship_by),
        ship_by: r.ship_by.map(to_proto),
        create_time: Some(to_proto(r.created_at)),
        update_time: Some(to_proto(r.updated_at)),
    }
}

fn per_currency(list: &PerCurrency) -> Vec<PbMoney> {
    list.iter()
        .filter_map(|(code, amount)| money(Currency::from_code(code)?, *amount))
        .collect()
}

pub fn policy_to_proto(p: &Policy) -> pb::ReturnPolicy {
    pb::ReturnPolicy {
        category: p.category.clone(),
        version: p.version,
        return_window_days: p.return_window_days,
        final_sale: p.final_sale,
        allowed_resolutions: p.allowed_resolutions.iter().map(|r| resolution_to_proto(*r)).collect(),
        restocking_fee_percent: p.restocking_fee_percent.normalize().to_string(),
        return_shipping_fees: per_currency(&p.return_shipping_fees),
        auto_approve_max_refund: per_currency(&p.auto_approve_max_refund),
        keep_item_max_refund: per_currency(&p.keep_item_max_refund),
        auto_refund_on_receipt: p.auto_refund_on_receipt,
        manual_review_return_count: p.manual_review_return_count,
        manual_review_refund_limit: per_currency(&p.manual_review_refund_limit),
        exchange_bonus_percent: p.exchange_bonus_percent.normalize().to_string(),
        advance_exchange: p.advance_exchange,
        update_time: Some(to_proto(p.updated_at)),
    }
}

pub fn eligibility_to_proto(e: &Eligibility, currency: Currency, policy_version: i32) -> pb::LineEligibility {
    pb::LineEligibility {
        line_id: e.line_id.clone(),
        eligible: e.eligible(),
        returnable_quantity: e.returnable_quantity,
        deadline: e.deadline.map(to_proto),
        allowed_resolutions: e.allowed_resolutions.iter().map(|r| resolution_to_proto(*r)).collect(),
        estimated_refund_per_unit: money(currency, e.estimated_refund_per_unit),
        reasons: e.reasons.iter().map(|r| (*r).to_owned()).collect(),
        policy_version,
    }
}
