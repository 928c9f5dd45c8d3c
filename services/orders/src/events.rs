//! The events order intake emits (`aftercare.orders.events.v1`), built from
//! the domain. Consumers: returns (its order facts), and later loyalty and
//! warranty.

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::wire::{channel_to_proto, money, timestamp};
use aftercare_proto::order_events as ev;

use crate::domain::Order;

pub fn order_recorded(o: &Order) -> ev::OrderRecorded {
    ev::OrderRecorded {
        order_id: o.order_id.clone(),
        customer_id: o.customer_id.clone(),
        placed_at: Some(timestamp(o.placed_at)),
        currency_code: o.currency.code().to_owned(),
        channel: channel_to_proto(o.channel),
        total: Some(money(o.total)),
        lines: o
            .lines
            .iter()
            .map(|l| ev::RecordedLine {
                line_id: l.line_id.clone(),
                sku: l.sku.clone(),
                product_name: l.product_name.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                paid_amount: Some(money(l.paid_amount)),
                extends_line_id: l.extends_line_id.clone().unwrap_or_default(),
                serial_numbers: l.serial_numbers.clone(),
            })
            .collect(),
    }
}

pub fn order_delivered(o: &Order, line_ids: &[String], delivered_at: DateTime<Utc>) -> ev::OrderDelivered {
    ev::OrderDelivered {
        order_id: o.order_id.clone(),
        customer_id: o.customer_id.clone(),
        delivered_at: Some(timestamp(delivered_at)),
        line_ids: line_ids.to_vec(),
    }
}

pub fn order_canceled(o: &Order, canceled_at: DateTime<Utc>, reason: &str) -> ev::OrderCanceled {
    ev::OrderCanceled {
        order_id: o.order_id.clone(),
        customer_id: o.customer_id.clone(),
        canceled_at: Some(timestamp(canceled_at)),
        reason: reason.to_owned(),
    }
}
