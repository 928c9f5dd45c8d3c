//! Orders on the wire (`aftercare.orders.v1.Order`).

use aftercare_platform::wire::{channel_to_proto, money, timestamp};
use aftercare_proto::orders as pb;

use crate::domain::{Order, OrderStatus};

pub fn order_to_proto(o: &Order) -> pb::Order {
    pb::Order {
        order_id: o.order_id.clone(),
        customer_id: o.customer_id.clone(),
        placed_at: Some(timestamp(o.placed_at)),
        currency_code: o.currency.code().to_owned(),
        channel: channel_to_proto(o.channel),
        lines: o
            .lines
            .iter()
            .map(|l| pb::OrderLine {
                line_id: l.line_id.clone(),
                sku: l.sku.clone(),
                product_name: l.product_name.clone(),
                category: l.category.clone(),
                quantity: l.quantity,
                unit_price: Some(money(l.unit_price)),
                line_discount: Some(money(l.line_discount)),
                order_discount_allocation: Some(money(l.order_discount_allocation)),
                paid_amount: Some(money(l.paid_amount)),
                serial_numbers: l.serial_numbers.clone(),
                extends_line_id: l.extends_line_id.clone().unwrap_or_default(),
                delivered_at: l.delivered_at.map(timestamp),
            })
            .collect(),
        subtotal: Some(money(o.subtotal)),
        discount_total: Some(money(o.discount_total)),
        shipping_amount: Some(money(o.shipping_amount)),
        order_discount: Some(money(o.order_discount)),
        total: Some(money(o.total)),
        status: match o.status() {
            OrderStatus::Placed => pb::OrderStatus::Placed,
            OrderStatus::PartiallyDelivered => pb::OrderStatus::PartiallyDelivered,
            OrderStatus::Delivered => pb::OrderStatus::Delivered,
            OrderStatus::Canceled => pb::OrderStatus::Canceled,
        } as i32,
        cancel_time: o.canceled_at.map(timestamp),
        create_time: Some(timestamp(o.created_at)),
        update_time: Some(timestamp(o.updated_at)),
    }
}
