//! The `aftercare.warranty.events.v1` messages this service emits: a
//! registration's with the registration id as aggregate, a claim's with the
//! claim id.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::wire::{channel_to_proto, money, timestamp};
use aftercare_proto::warranty_events as pb;

use crate::domain::{Alarm, Claim, ClaimStatus, Registration, RegistrationId, ServiceOrder, WarrantyError};
use crate::store::service::{Refund, RefundKind};

pub fn product_registered(r: &Registration) -> Result<pb::ProductRegistered, WarrantyError> {
    let (order_id, line_id) = r
        .order_line
        .as_ref()
        .map(|(o, l, _)| (o.clone(), l.clone()))
        .unwrap_or_default();
    Ok(pb::ProductRegistered {
        registration_id: r.registration_id.to_string(),
        customer_id: r.customer_id.clone(),
        sku: r.sku.clone(),
        category: r.category.clone(),
        serial_number: r.serial_number.clone().unwrap_or_default(),
        order_id,
        line_id,
        coverage_starts_at: Some(timestamp(r.coverage_starts_at)),
        covered_through: r.covered_through()?.to_string(),
        time_zone: r.time_zone.name().to_owned(),
        product_name: r.product_name.clone(),
        replaces_registration_id: r.replaces.map(|id| id.to_string()).unwrap_or_default(),
    })
}

pub fn claim_filed(c: &Claim) -> pb::ClaimFiled {
    pb::ClaimFiled {
        claim_id: c.claim_id.to_string(),
        registration_id: c.registration_id.to_string(),
        customer_id: c.customer_id.clone(),
        fault_category: c.fault_category.clone(),
        covered: c.coverage_at_filing.covered(),
        filed_at: Some(timestamp(c.filed_at)),
        channel: channel_to_proto(c.channel),
    }
}

pub fn status_changed(c: &Claim, from: ClaimStatus, at: DateTime<Utc>) -> pb::ClaimStatusChanged {
    pb::ClaimStatusChanged {
        claim_id: c.claim_id.to_string(),
        customer_id: c.customer_id.clone(),
        from_status: from.as_str().to_uppercase(),
        to_status: c.status.as_str().to_uppercase(),
        changed_at: Some(timestamp(at)),
        first_response_at: c.sla.first_response_at.map(timestamp),
        resolved_at: c.sla.resolved_at.map(timestamp),
        paused_micros: c.sla.paused.num_microseconds().unwrap_or(i64::MAX),
        clock: true,
    }
}

pub fn responded(c: &Claim, at: DateTime<Utc>) -> pb::ClaimResponded {
    pb::ClaimResponded {
        claim_id: c.claim_id.to_string(),
        customer_id: c.customer_id.clone(),
        responded_at: Some(timestamp(at)),
    }
}

/// An alarm of a claim's clocks, as its event.
pub enum SlaEvent {
    AtRisk(pb::ClaimSlaAtRisk),
    Breached(pb::ClaimSlaBreached),
}

pub fn sla_alarm(c: &Claim, alarm: Alarm, due_at: DateTime<Utc>) -> SlaEvent {
    let (claim_id, customer_id, target) = (c.claim_id.to_string(), c.customer_id.clone(), alarm.target().to_owned());
    let due_at = Some(timestamp(due_at));
    if alarm.breached() {
        SlaEvent::Breached(pb::ClaimSlaBreached {
            claim_id,
            customer_id,
            target,
            due_at,
        })
    } else {
        SlaEvent::AtRisk(pb::ClaimSlaAtRisk {
            claim_id,
            customer_id,
            target,
            due_at,
        })
    }
}

pub fn service_order_updated(o: &ServiceOrder) -> pb::ServiceOrderUpdated {
    pb::ServiceOrderUpdated {
        service_order_id: o.service_order_id.to_string(),
        claim_id: o.claim_id.to_string(),
        centre_id: o.centre_id.clone(),
        status: o.status.as_str().to_uppercase(),
        at: Some(timestamp(o.updated_at)),
    }
}

pub fn claim_resolved(c: &Claim, at: DateTime<Utc>) -> pb::ClaimResolved {
    pb::ClaimResolved {
        claim_id: c.claim_id.to_string(),
        customer_id: c.customer_id.clone(),
        remedy: c.remedy.map_or("", |r| r.as_str()).to_owned(),
        resolved_at: Some(timestamp(at)),
        fault_category: c.fault_category.clone(),
        reviewer: c.reviewer.clone().unwrap_or_default(),
        channel: channel_to_proto(c.channel),
    }
}

/// Money to pay back on `unit` (none for a plan), on the order line
/// `paid_on` (order, line) when the store sold it: a refund pays the unit
/// back in full.
pub fn refund_requested(
    r: &Refund,
    customer_id: &str,
    unit: Option<RegistrationId>,
    paid_on: Option<&(String, String)>,
) -> pb::ClaimRefundRequested {
    let (order_id, line_id) = paid_on.cloned().unwrap_or_default();
    let units = i32::from(paid_on.is_some() && r.kind == RefundKind::Refund);
    pb::ClaimRefundRequested {
        order_id,
        line_id,
        units,
        unit_id: unit.map(|u| u.to_string()).unwrap_or_default(),
        bought_elsewhere: paid_on.is_none(),
        refund_id: r.refund_id.to_string(),
        claim_id: r.claim_id.map(|c| c.to_string()).unwrap_or_default(),
        extension_id: r.extension_id.map(|e| e.to_string()).unwrap_or_default(),
        customer_id: customer_id.to_owned(),
        amount: Some(money(r.amount)),
        kind: r.kind.as_str().to_owned(),
    }
}
