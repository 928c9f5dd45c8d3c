//! Returns on the wire (`aftercare.returns.v1`): everything there is to see;
//! what a customer may see of it is `visibility`'s to decide.

use aftercare_platform::wire::{channel_to_proto, money, timestamp};
use aftercare_proto::returns as pb;

use crate::app::refunds::Settled;
use crate::domain::*;
use crate::wire::*;

pub fn refund_to_proto(f: &Refund) -> pb::Refund {
    pb::Refund {
        refund_id: f.refund_id.to_string(),
        return_id: f.return_id.to_string(),
        status: refund_status_to_proto(f.status),
        method: refund_method_to_proto(f.method),
        amount: Some(money(f.amount)),
        provider_reference: f.provider_reference.clone().unwrap_or_default(),
        failure_reason: f.failure_reason.clone().unwrap_or_default(),
        create_time: Some(timestamp(f.created_at)),
        update_time: Some(timestamp(f.updated_at)),
        warranty_refund_id: String::new(),
    }
}

/// A settled refund: a return's, or a warranty refund paid here (no
/// return; warranty's refund id).
pub fn settled_to_proto(s: &Settled) -> pb::Refund {
    match s {
        Settled::Return(f) => refund_to_proto(f),
        Settled::Warranty(w) => pb::Refund {
            refund_id: w.refund_id.to_string(),
            return_id: String::new(),
            status: refund_status_to_proto(w.status),
            method: refund_method_to_proto(w.method),
            amount: Some(money(w.amount)),
            provider_reference: w.provider_reference.clone().unwrap_or_default(),
            failure_reason: w.failure_reason.clone().unwrap_or_default(),
            create_time: Some(timestamp(w.created_at)),
            update_time: Some(timestamp(w.updated_at)),
            warranty_refund_id: w.warranty_refund_id.to_string(),
        },
    }
}

fn shipment(s: &Option<Shipment>) -> Option<pb::Shipment> {
    s.as_ref().map(|s| pb::Shipment {
        carrier: s.carrier.clone(),
        tracking_number: s.tracking_number.clone(),
        ship_time: Some(timestamp(s.shipped_at)),
    })
}

fn item_to_proto(i: &Item) -> pb::ReturnItem {
    pb::ReturnItem {
        line_id: i.line_id.clone(),
        sku: i.sku.clone(),
        product_name: i.product_name.clone(),
        quantity: i.quantity,
        reason: reason_to_proto(i.reason),
        note: i.note.clone(),
        photo_urls: i.photo_urls.clone(),
        resolution: resolution_to_proto(i.resolution),
        replacement_sku: i.replacement_sku.clone().unwrap_or_default(),
        replacement_price: i.replacement_price.map(money),
        received_quantity: i.received_quantity.unwrap_or_default(),
        grade: i.grade.map(grade_to_proto).unwrap_or_default(),
        refund_amount: Some(money(i.refund_amount)),
        policy_category: i.policy_category.clone(),
        policy_version: i.policy_version,
    }
}

fn timeline_to_proto(e: &TimelineEntry) -> pb::TimelineEntry {
    pb::TimelineEntry {
        time: Some(timestamp(e.at)),
        kind: if e.status.is_some() { "status" } else { "message" }.into(),
        status: e.status.map(status_to_proto).unwrap_or_default(),
        text: e.text.clone(),
        actor_role: e.actor_role.clone(),
        channel: e.channel.map(channel_to_proto).unwrap_or_default(),
        customer_visible: e.customer_visible,
    }
}

/// A return, all of it; answer it through `visibility::visible_to`.
pub fn return_to_proto(r: &Return, policies: &Policies) -> pb::Return {
    let s = &r.settlement;
    pb::Return {
        return_id: r.return_id.to_string(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        status: status_to_proto(r.status()),
        channel: channel_to_proto(r.channel),
        items: r.items.iter().map(item_to_proto).collect(),
        resolution: resolution_to_proto(r.resolution),
        policy_version: r.policy_version,
        policy_category: r.policy_category.clone(),
        keep_items: r.keep_items,
        manual_review: r.manual_review,
        items_refund: Some(money(s.items_refund)),
        shipping_fee: Some(money(s.shipping_fee)),
        bonus: Some(money(s.bonus)),
        refund_total: Some(money(s.refund_total)),
        exchange_difference: Some(money(s.exchange_difference)),
        rejection_reason: r.rejection_reason.clone().unwrap_or_default(),
        return_shipment: shipment(&r.return_shipment),
        exchange_shipment: shipment(&r.exchange_shipment),
        refund: r.refund.as_ref().map(refund_to_proto),
        timeline: r.timeline.iter().map(timeline_to_proto).collect(),
        next_step: next_step(r.facts(policies), r.ship_by),
        ship_by: r.ship_by.map(timestamp),
        create_time: Some(timestamp(r.created_at)),
        update_time: Some(timestamp(r.updated_at)),
        exchange_priced: r.exchange_priced(),
        exchange_collected: Some(money(r.collected)),
        exchange_balance: Some(money(r.exchange_balance())),
        charge: r.charge.as_ref().map(charge_to_proto),
        perks: r.perks.any().then(|| pb::AppliedPerks {
            tier: r.perks.tier.clone().unwrap_or_default(),
            extra_return_days: r.perks.extra_return_days,
            free_return_shipping: r.perks.free_return_shipping,
        }),
    }
}

pub fn charge_to_proto(c: &Charge) -> pb::Charge {
    pb::Charge {
        charge_id: c.charge_id.to_string(),
        return_id: c.return_id.to_string(),
        status: charge_status_to_proto(c.status),
        amount: Some(money(c.amount)),
        provider_reference: c.provider_reference.clone().unwrap_or_default(),
        failure_reason: c.failure_reason.clone().unwrap_or_default(),
        create_time: Some(timestamp(c.created_at)),
        update_time: Some(timestamp(c.updated_at)),
    }
}

pub fn policy_to_proto(p: &Policy) -> pb::ReturnPolicy {
    let per_currency = |list: &PerCurrency| list.iter().map(|m| money(*m)).collect();
    pb::ReturnPolicy {
        category: p.category.clone(),
        version: p.version,
        return_window_days: p.return_window_days,
        final_sale: p.final_sale,
        allowed_resolutions: p.allowed_resolutions.iter().map(|r| resolution_to_proto(*r)).collect(),
        restocking_fee_percent: p.restocking_fee_percent.to_string(),
        return_shipping_fees: per_currency(&p.return_shipping_fees),
        auto_approve_max_refund: per_currency(&p.auto_approve_max_refund),
        keep_item_max_refund: per_currency(&p.keep_item_max_refund),
        auto_refund_on_receipt: p.auto_refund_on_receipt,
        manual_review_return_count: p.manual_review_return_count,
        manual_review_refund_limit: per_currency(&p.manual_review_refund_limit),
        exchange_bonus_percent: p.exchange_bonus_percent.to_string(),
        advance_exchange: p.advance_exchange,
        update_time: Some(timestamp(p.updated_at)),
    }
}

pub fn eligibility_to_proto(e: &Eligibility, policy_version: i32) -> pb::LineEligibility {
    pb::LineEligibility {
        line_id: e.line_id.clone(),
        eligible: e.eligible(),
        returnable_quantity: e.returnable_quantity,
        deadline: e.deadline.map(timestamp),
        allowed_resolutions: e.allowed_resolutions.iter().map(|r| resolution_to_proto(*r)).collect(),
        estimated_refund_per_unit: Some(money(e.estimated_refund_per_unit)),
        reasons: e.reasons.iter().map(|r| (*r).to_owned()).collect(),
        policy_version,
    }
}
