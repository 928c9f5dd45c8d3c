//! The events returns emit (`aftercare.returns.events.v1`), built from the
//! domain. The payment tool follows `RefundRequested`; loyalty follows
//! `RefundSucceeded` (its lines) to take back points of refunded units.

use aftercare_platform::wire::money;
use aftercare_proto::return_events as ev;

use crate::domain::{Charge, Refund, Resolution, Return};
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
