//! The events returns emit (`aftercare.returns.events.v1`), built from the
//! domain. The payment tool follows `RefundRequested` (a return's refund
//! or a warranty refund paid here); loyalty follows `RefundSucceeded` (its
//! lines) to take back points of refunded units; warranty follows the
//! outcome of its own.

use aftercare_platform::wire::{channel_to_proto, money};
use aftercare_proto::return_events as ev;

use crate::domain::{Charge, Refund, Resolution, Return, WarrantyRefund};
use crate::wire::{
    charge_status_to_proto, refund_method_to_proto, refund_status_to_proto, resolution_to_proto, status_to_proto,
};

pub fn summary(r: &Return) -> ev::ReturnSummary {
    ev::ReturnSummary {
        return_id: r.return_id.to_string(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        status: status_to_proto(r.status()),
        resolution: resolution_to_proto(r.resolution),
        refund_total: Some(money(r.settlement.refund_total)),
        exchange_difference: Some(money(r.settlement.exchange_difference)),
        reason: r.items.first().map_or("", |i| i.reason.as_str()).to_owned(),
        channel: channel_to_proto(r.channel),
        lines: r
            .items
            .iter()
            .map(|i| ev::ReturnedLine {
                line_id: i.line_id.clone(),
                quantity: i.quantity,
                reason: i.reason.as_str().to_owned(),
            })
            .collect(),
    }
}

pub fn refund_summary(r: &Return, f: &Refund) -> ev::RefundSummary {
    ev::RefundSummary {
        refund_id: f.refund_id.to_string(),
        return_id: r.return_id.to_string(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        status: refund_status_to_proto(f.status),
        method: refund_method_to_proto(f.method),
        amount: Some(money(f.amount)),
        provider_reference: f.provider_reference.clone().unwrap_or_default(),
        failure_reason: f.failure_reason.clone().unwrap_or_default(),
        lines: refunded_lines(r),
        warranty_refund_id: String::new(),
    }
}

/// The units a refund of `r` pays back, per line: none for an exchange.
fn refunded_lines(r: &Return) -> Vec<ev::RefundedLine> {
    if r.resolution == Resolution::Exchange {
        return Vec::new();
    }
    r.items
        .iter()
        .filter(|i| i.refunded_units > 0)
        .map(|i| ev::RefundedLine {
            line_id: i.line_id.clone(),
            units: i.refunded_units,
        })
        .collect()
}

/// Declares a constructor per return event: each wraps the return's summary.
macro_rules! return_events {
    ($($name:ident: $msg:ident),+ $(,)?) => {
        $(
            pub fn $name(r: &Return) -> ev::$msg {
                ev::$msg { summary: Some(summary(r)) }
            }
        )+
    };
}

return_events!(
    return_requested: ReturnRequested,
    return_approved: ReturnApproved,
    return_rejected: ReturnRejected,
    return_canceled: ReturnCanceled,
    return_received: ReturnReceived,
    return_completed: ReturnCompleted,
    exchange_shipped: ExchangeShipped,
);

pub fn charge_summary(r: &Return, c: &Charge) -> ev::ChargeSummary {
    ev::ChargeSummary {
        charge_id: c.charge_id.to_string(),
        return_id: r.return_id.to_string(),
        order_id: r.order_id.clone(),
        customer_id: r.customer_id.clone(),
        status: charge_status_to_proto(c.status),
        amount: Some(money(c.amount)),
        provider_reference: c.provider_reference.clone().unwrap_or_default(),
        failure_reason: c.failure_reason.clone().unwrap_or_default(),
    }
}

pub fn charge_requested(r: &Return, c: &Charge) -> ev::ExchangeChargeRequested {
    ev::ExchangeChargeRequested {
        charge: Some(charge_summary(r, c)),
    }
}

pub fn charge_succeeded(r: &Return, c: &Charge) -> ev::ExchangeChargeSucceeded {
    ev::ExchangeChargeSucceeded {
        charge: Some(charge_summary(r, c)),
    }
}

pub fn charge_failed(r: &Return, c: &Charge) -> ev::ExchangeChargeFailed {
    ev::ExchangeChargeFailed {
        charge: Some(charge_summary(r, c)),
    }
}

pub fn refund_requested(r: &Return, f: &Refund) -> ev::RefundRequested {
    ev::RefundRequested {
        refund: Some(refund_summary(r, f)),
    }
}

pub fn refund_succeeded(r: &Return, f: &Refund) -> ev::RefundSucceeded {
    ev::RefundSucceeded {
        refund: Some(refund_summary(r, f)),
    }
}

pub fn refund_failed(r: &Return, f: &Refund) -> ev::RefundFailed {
    ev::RefundFailed {
        refund: Some(refund_summary(r, f)),
    }
}

/// A warranty refund paid through returns: no return, the warranty
/// refund's id, and the unit it takes back (none for a price reduction or
/// a plan).
fn warranty_refund_summary(w: &WarrantyRefund) -> ev::RefundSummary {
    let (order_id, line_id) = w.order_line.clone().unwrap_or_default();
    ev::RefundSummary {
        refund_id: w.refund_id.to_string(),
        return_id: String::new(),
        order_id,
        customer_id: w.customer_id.clone(),
        status: refund_status_to_proto(w.status),
        method: refund_method_to_proto(w.method),
        amount: Some(money(w.amount)),
        provider_reference: w.provider_reference.clone().unwrap_or_default(),
        failure_reason: w.failure_reason.clone().unwrap_or_default(),
        lines: if w.units > 0 {
            vec![ev::RefundedLine {
                line_id,
                units: w.units,
            }]
        } else {
            Vec::new()
        },
        warranty_refund_id: w.warranty_refund_id.to_string(),
    }
}

pub fn warranty_refund_requested(w: &WarrantyRefund) -> ev::RefundRequested {
    ev::RefundRequested {
        refund: Some(warranty_refund_summary(w)),
    }
}

pub fn warranty_refund_succeeded(w: &WarrantyRefund) -> ev::RefundSucceeded {
    ev::RefundSucceeded {
        refund: Some(warranty_refund_summary(w)),
    }
}

/// A warranty refund request that could not be read: failed, with why.
pub fn malformed_warranty_refund(warranty_refund_id: uuid::Uuid, customer_id: &str, why: &str) -> ev::RefundFailed {
    ev::RefundFailed {
        refund: Some(ev::RefundSummary {
            customer_id: customer_id.to_owned(),
            status: refund_status_to_proto(crate::domain::RefundStatus::Failed),
            failure_reason: format!("the request could not be read: {why}"),
            warranty_refund_id: warranty_refund_id.to_string(),
            ..Default::default()
        }),
    }
}

pub fn warranty_refund_failed(w: &WarrantyRefund) -> ev::RefundFailed {
    ev::RefundFailed {
        refund: Some(warranty_refund_summary(w)),
    }
}
