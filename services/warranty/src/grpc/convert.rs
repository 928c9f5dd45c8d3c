//! Domain values out, as the contract's messages. Customers (and services
//! acting for them) never see internal notes or who reviews a claim.

use aftercare_kernel::zone::WorkingDays;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::auth::Role;
use aftercare_platform::wire::{channel_to_proto, money, timestamp};
use aftercare_proto::warranty as pb;

use crate::app::service::OrderView;
use crate::domain::{
    Claim, ClaimStatus, Coverage, CoverageReason, Exclusion, Registration, RegistrationStatus, RejectionReason, Remedy,
    ServiceOrderStatus, Sla, Source, Terms,
};
use crate::store::calendars::Calendar;
use crate::store::service::{Centre, Refund};

pub fn remedy(r: Remedy) -> pb::Remedy {
    match r {
        Remedy::Repair => pb::Remedy::Repair,
        Remedy::Replacement => pb::Remedy::Replacement,
        Remedy::PriceReduction => pb::Remedy::PriceReduction,
        Remedy::Refund => pb::Remedy::Refund,
    }
}

fn exclusion(e: Exclusion) -> pb::Exclusion {
    match e {
        Exclusion::PhysicalDamage => pb::Exclusion::PhysicalDamage,
        Exclusion::Liquid => pb::Exclusion::Liquid,
        Exclusion::Misuse => pb::Exclusion::Misuse,
        Exclusion::UnauthorisedRepair => pb::Exclusion::UnauthorisedRepair,
    }
}

fn remedies(list: &[Remedy]) -> Vec<i32> {
    list.iter().map(|r| remedy(*r) as i32).collect()
}

pub fn terms(t: &Terms) -> pb::WarrantyTerms {
    let r = &t.repeat_failure;
    pb::WarrantyTerms {
        category: t.category.clone(),
        sku: t.sku.clone(),
        version: t.version,
        duration_months: t.duration_months,
        covers_parts: t.covers_parts,
        covers_labour: t.covers_labour,
        covers_shipping: t.covers_shipping,
        exclusions: t.exclusions.iter().map(|e| exclusion(*e) as i32).collect(),
        remedies: remedies(&t.remedies),
        max_repair_working_days: t.max_repair_working_days,
        repair_time_extends: t.repair_time_extends,
        repeat_failure: Some(pb::RepeatFailureRule {
            window_months: r.window_months,
            same_fault_max: r.same_fault_max,
            different_faults_max: r.different_faults_max,
            total_faults_max: r.total_faults_max,
        }),
        first_response_hours: t.first_response_hours,
        updated_at: Some(timestamp(t.updated_at)),
    }
}

pub fn calendar(c: &Calendar) -> pb::BusinessCalendar {
    let WorkingDays { weekdays, holidays } = &c.days;
    pb::BusinessCalendar {
        country_code: c.country_code.clone(),
        time_zone: c.time_zone.name().to_owned(),
        working_weekdays: weekdays.iter().map(|d| *d as i32).collect(),
        holidays: holidays.iter().map(|d| d.to_string()).collect(),
        updated_at: Some(timestamp(c.updated_at)),
        business_hours_start: c
            .business_hours
            .map(|(s, _)| s.format("%H:%M").to_string())
            .unwrap_or_default(),
        business_hours_end: c
            .business_hours
            .map(|(_, e)| e.format("%H:%M").to_string())
            .unwrap_or_default(),
    }
}

pub fn registration(r: &Registration) -> pb::Registration {
    let (order_id, line_id, unit) = r.order_line.clone().unwrap_or_default();
    pb::Registration {
        registration_id: r.registration_id.to_string(),
        customer_id: r.customer_id.clone(),
        source: match r.source {
            Source::Order => pb::RegistrationSource::Order,
            Source::Manual => pb::RegistrationSource::Manual,
            Source::Replacement => pb::RegistrationSource::Replacement,
        } as i32,
        status: match r.status {
            RegistrationStatus::PendingVerification => pb::RegistrationStatus::PendingVerification,
            RegistrationStatus::Active => pb::RegistrationStatus::Active,
            RegistrationStatus::Rejected => pb::RegistrationStatus::Rejected,
            RegistrationStatus::Replaced => pb::RegistrationStatus::Replaced,
            RegistrationStatus::Refunded => pb::RegistrationStatus::Refunded,
        } as i32,
        sku: r.sku.clone(),
        category: r.category.clone(),
        product_name: r.product_name.clone(),
        serial_number: r.serial_number.clone().unwrap_or_default(),
        order_id,
        line_id,
        unit,
        purchased_at: Some(timestamp(r.purchased_at)),
        proof_of_purchase_ref: r.proof_of_purchase_ref.clone().unwrap_or_default(),
        coverage_starts_at: Some(timestamp(r.coverage_starts_at)),
        terms_category: r.terms.category.clone(),
        terms_sku: r.terms.sku.clone(),
        terms_version: r.terms.version,
        time_zone: r.time_zone.name().to_owned(),
        repair_extension_days: r.repair_extension_days,
        covered_through: r.covered_through().map(|d| d.to_string()).unwrap_or_default(),
        verification_note: r.verification_note.clone(),
        created_at: Some(timestamp(r.created_at)),
        unit_price: r.unit_price.map(money),
        replaces: r.replaces.map(|id| id.to_string()).unwrap_or_default(),
        extended_months: r.extended_months,
    }
}

pub fn coverage(c: &Coverage) -> pb::Coverage {
    pb::Coverage {
        covered: c.covered(),
        reason: match c.reason {
            CoverageReason::Covered => pb::CoverageReason::Covered,
            CoverageReason::Expired => pb::CoverageReason::Expired,
            CoverageReason::NotRegistered => pb::CoverageReason::NotRegistered,
            CoverageReason::PendingVerification => pb::CoverageReason::PendingVerification,
            CoverageReason::Excluded => pb::CoverageReason::Excluded,
            CoverageReason::Rejected => pb::CoverageReason::Rejected,
            CoverageReason::NotStarted => pb::CoverageReason::NotStarted,
            CoverageReason::Replaced => pb::CoverageReason::Replaced,
            CoverageReason::Refunded => pb::CoverageReason::Refunded,
        } as i32,
        registration_id: c.registration_id.map(|r| r.to_string()).unwrap_or_default(),
        covered_through: c.covered_through.map(|d| d.to_string()).unwrap_or_default(),
        remedies: remedies(&c.remedies),
        covers_parts: c.covers_parts,
        covers_labour: c.covers_labour,
        covers_shipping: c.covers_shipping,
    }
}

fn status(s: ClaimStatus) -> pb::ClaimStatus {
    match s {
        ClaimStatus::Submitted => pb::ClaimStatus::Submitted,
        ClaimStatus::InReview => pb::ClaimStatus::InReview,
        ClaimStatus::AwaitingCustomer => pb::ClaimStatus::AwaitingCustomer,
        ClaimStatus::Approved => pb::ClaimStatus::Approved,
        ClaimStatus::Rejected => pb::ClaimStatus::Rejected,
        ClaimStatus::Canceled => pb::ClaimStatus::Canceled,
        ClaimStatus::InService => pb::ClaimStatus::InService,
        ClaimStatus::Resolved => pb::ClaimStatus::Resolved,
        ClaimStatus::Closed => pb::ClaimStatus::Closed,
    }
}

fn sla(s: &Sla, now: DateTime<Utc>) -> pb::ClaimSla {
    pb::ClaimSla {
        first_response_due_at: s.first_response_due_at().map(timestamp),
        resolution_due_at: s.resolution_due_at().map(timestamp),
        first_response_at: s.first_response_at.map(timestamp),
        resolved_at: s.resolved_at.map(timestamp),
        paused: s.paused_since.is_some(),
        running_seconds: s.running(now).num_seconds(),
        alarms: s.alarms_sent.iter().map(|a| a.as_str().to_owned()).collect(),
    }
}

/// A claim as `viewer` may see it at `now`: internal notes and the
/// reviewer for agents and admins only (a service acts for the customer).
pub fn claim(c: &Claim, viewer: Role, now: DateTime<Utc>) -> pb::Claim {
    let staff = matches!(viewer, Role::Agent | Role::Admin);
    pb::Claim {
        claim_id: c.claim_id.to_string(),
        registration_id: c.registration_id.to_string(),
        customer_id: c.customer_id.clone(),
        status: status(c.status) as i32,
        fault_category: c.fault_category.clone(),
        description: c.description.clone(),
        photo_urls: c.photo_urls.clone(),
        channel: channel_to_proto(c.channel),
        coverage_at_filing: Some(coverage(&c.coverage_at_filing)),
        remedy: c.remedy.map_or(0, |r| remedy(r) as i32),
        rejection_reason: c.rejection_reason.map_or(0, |r| {
            (match r {
                RejectionReason::Expired => pb::RejectionReason::Expired,
                RejectionReason::ExcludedFault => pb::RejectionReason::ExcludedFault,
                RejectionReason::NoFaultFound => pb::RejectionReason::NoFaultFound,
            }) as i32
        }),
        appealed: c.appealed,
        reviewer: if staff {
            c.reviewer.clone().unwrap_or_default()
        } else {
            String::new()
        },
        timeline: c
            .timeline
            .iter()
            .filter(|e| staff || e.customer_visible)
            .map(|e| pb::ClaimTimelineEntry {
                time: Some(timestamp(e.at)),
                kind: if e.status.is_some() { "status" } else { "message" }.into(),
                status: e.status.map_or(0, |s| status(s) as i32),
                text: e.text.clone(),
                actor_role: e.actor_role.clone(),
                channel: e.channel.map_or(0, channel_to_proto),
                customer_visible: e.customer_visible,
            })
            .collect(),
        next_step: c.next_step(),
        filed_at: Some(timestamp(c.filed_at)),
        updated_at: Some(timestamp(c.updated_at)),
        sla: Some(sla(&c.sla, now)),
        paid_repair: c.paid_repair,
        entitled_remedies: c.entitlement.as_ref().map_or_else(Vec::new, |e| remedies(&e.remedies)),
        entitlement_rule: c.entitlement.as_ref().map_or("", |e| e.trigger.as_str()).to_owned(),
    }
}

pub fn centre(c: &Centre) -> pb::ServiceCentre {
    pb::ServiceCentre {
        centre_id: c.centre_id.clone(),
        name: c.name.clone(),
        kind: c.kind.as_str().to_owned(),
        active: c.active,
    }
}

fn order_status(s: ServiceOrderStatus) -> pb::ServiceOrderStatus {
    match s {
        ServiceOrderStatus::Created => pb::ServiceOrderStatus::Created,
        ServiceOrderStatus::Received => pb::ServiceOrderStatus::Received,
        ServiceOrderStatus::Diagnosed => pb::ServiceOrderStatus::Diagnosed,
        ServiceOrderStatus::Quoted => pb::ServiceOrderStatus::Quoted,
        ServiceOrderStatus::QuoteAccepted => pb::ServiceOrderStatus::QuoteAccepted,
        ServiceOrderStatus::QuoteDeclined => pb::ServiceOrderStatus::QuoteDeclined,
        ServiceOrderStatus::Repaired => pb::ServiceOrderStatus::Repaired,
        ServiceOrderStatus::Unrepairable => pb::ServiceOrderStatus::Unrepairable,
        ServiceOrderStatus::ShippedBack => pb::ServiceOrderStatus::ShippedBack,
    }
}

/// A service order as `viewer` sees it: a partner gets the fault category,
/// not the customer's own words (which may say who they are).
pub fn service_order(v: &OrderView, viewer: Role) -> pb::ServiceOrder {
    let o = &v.order;
    pb::ServiceOrder {
        service_order_id: o.service_order_id.to_string(),
        claim_id: o.claim_id.to_string(),
        centre_id: o.centre_id.clone(),
        status: order_status(o.status) as i32,
        paid: o.paid,
        sku: v.sku.clone(),
        product_name: v.product_name.clone(),
        serial_number: v.serial_number.clone(),
        fault_category: v.fault_category.clone(),
        fault_description: if viewer == Role::Partner {
            String::new()
        } else {
            v.fault_description.clone()
        },
        inbound_tracking: o.inbound_tracking.clone(),
        diagnosis: o.diagnosis.clone(),
        parts: o.parts.clone(),
        labour_minutes: o.labour_minutes,
        quote: o.quote.map(money),
        result_notes: o.result_notes.clone(),
        outbound_carrier: o.outbound_carrier.clone(),
        outbound_tracking: o.outbound_tracking.clone(),
        created_at: Some(timestamp(o.created_at)),
        received_at: o.received_at.map(timestamp),
        shipped_back_at: o.shipped_back_at.map(timestamp),
    }
}

/// A refund as `role` may see it: why it failed is for staff.
pub fn refund_for(r: &Refund, role: aftercare_platform::auth::Role) -> pb::ClaimRefund {
    let mut refund = refund(r);
    if role == aftercare_platform::auth::Role::Customer {
        refund.failure_reason.clear();
    }
    refund
}

pub fn refund(r: &Refund) -> pb::ClaimRefund {
    pb::ClaimRefund {
        refund_id: r.refund_id.to_string(),
        claim_id: r.claim_id.map(|c| c.to_string()).unwrap_or_default(),
        extension_id: r.extension_id.map(|e| e.to_string()).unwrap_or_default(),
        kind: r.kind.as_str().to_owned(),
        amount: Some(money(r.amount)),
        status: match r.status {
            "pending" => pb::ClaimRefundStatus::Pending,
            "succeeded" => pb::ClaimRefundStatus::Succeeded,
            _ => pb::ClaimRefundStatus::Failed,
        } as i32,
        provider_reference: r.provider_reference.clone().unwrap_or_default(),
        created_at: Some(timestamp(r.created_at)),
        failure_reason: r.failure_reason.clone().unwrap_or_default(),
    }
}
