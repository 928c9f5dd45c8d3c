//! Requests the tests start from.

use aftercare_platform::wire::timestamp as to_proto;
use aftercare_proto::common::{Channel, Money};
use aftercare_proto::orders::{OrderLineInput, RecordOrderRequest};
use chrono::{DateTime, Utc};

use crate::support::start_time;

pub fn eur(amount: &str) -> Option<Money> {
    Some(Money {
        currency_code: "EUR".into(),
        amount: amount.into(),
    })
}

pub fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(to_proto(t))
}

pub fn line(id: &str, quantity: i32, unit_price: &str) -> OrderLineInput {
    OrderLineInput {
        line_id: id.into(),
        sku: format!("SKU-{id}"),
        product_name: format!("Product {id}"),
        category: "kitchen".into(),
        quantity,
        unit_price: eur(unit_price),
        discount: None,
        serial_numbers: vec![],
        extends_line_id: String::new(),
    }
}

/// A three-line order of customer `customer_id`: 2 x 10.00, 1 x 10.00 and
/// 1 x 10.00 with 10.00 off the order and 4.99 shipping.
pub fn order(order_id: &str, customer_id: &str) -> RecordOrderRequest {
    RecordOrderRequest {
        order_id: order_id.into(),
        customer_id: customer_id.into(),
        placed_at: ts(start_time() - chrono::Duration::days(3)),
        currency_code: "EUR".into(),
        channel: Channel::Web as i32,
        lines: vec![line("L1", 2, "10.00"), line("L2", 1, "10.00"), line("L3", 1, "10.00")],
        shipping_amount: eur("4.99"),
        order_discount: eur("10.00"),
    }
}
