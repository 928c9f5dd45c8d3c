//! Requests into domain values, every bad field reported at once.

use aftercare_kernel::{Currency, DateTime, Money, Utc, Violations, validate};
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_from_proto, from_timestamp};
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::orders as pb;

use crate::app::Delivery;
use crate::domain::{self, NewLine, NewOrder};

pub fn timestamp(v: &mut Violations, field: &str, value: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    match value {
        None => {
            v.add(field, "is required");
            None
        }
        Some(ts) => v.take(field, from_timestamp(ts).ok_or("is not a valid timestamp")),
    }
}

/// An optional or required amount in the order currency; unset optional
/// amounts are zero. `None` only when a violation was recorded.
fn amount(
    v: &mut Violations,
    field: &str,
    value: Option<&PbMoney>,
    currency: Option<Currency>,
    required: bool,
) -> Option<Money> {
    let currency = currency?; // the order's currency_code is already reported
    let Some(m) = value else {
        if required {
            v.add(field, "is required");
            return None;
        }
        return Some(Money::zero(currency));
    };
    if m.currency_code != currency.code() {
        v.add(
            format!("{field}.currency_code"),
            format!("must be the order currency {}", currency.code()),
        );
        return None;
    }
    v.take(
        &format!("{field}.amount"),
        Money::parse_non_negative(currency, &m.amount),
    )
}

/// A `RecordOrderRequest` as a [`NewOrder`]; cross-field rules are the
/// domain's ([`NewOrder::check`]).
pub fn record(req: &pb::RecordOrderRequest) -> Result<NewOrder, Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
    validate::id(&mut v, "customer_id", &req.customer_id, domain::MAX_ID_LEN);
    let placed_at = timestamp(&mut v, "placed_at", req.placed_at.as_ref());
    let currency = if req.currency_code.is_empty() {
        v.add("currency_code", "is required");
        None
    } else {
        let c = Currency::from_code(&req.currency_code);
        if c.is_none() {
            v.add(
                "currency_code",
                format!(
                    "unknown currency {:?}",
                    req.currency_code.chars().take(8).collect::<String>()
                ),
            );
        }
        c
    };
    let channel = channel_from_proto(req.channel);
    if channel.is_none() {
        v.add("channel", "must be set to a known channel");
    }
    let shipping_amount = amount(&mut v, "shipping_amount", req.shipping_amount.as_ref(), currency, false);
    let order_discount = amount(&mut v, "order_discount", req.order_discount.as_ref(), currency, false);

    let mut lines = Vec::with_capacity(req.lines.len().min(domain::MAX_LINES));
    if req.lines.is_empty() {
        v.add("lines", "at least one line is required");
    } else if req.lines.len() > domain::MAX_LINES {
        // Not worth looking at each line of an oversized order.
        v.add("lines", format!("must have at most {} lines", domain::MAX_LINES));
    } else {
        for (i, l) in req.lines.iter().enumerate() {
            let f = |name: &str| format!("lines[{i}].{name}");
            validate::id(&mut v, &f("line_id"), &l.line_id, domain::MAX_ID_LEN);
            validate::id(&mut v, &f("sku"), &l.sku, domain::MAX_ID_LEN);
            validate::required_text(
                &mut v,
                &f("product_name"),
                &l.product_name,
                domain::MAX_PRODUCT_NAME_LEN,
            );
            validate::required_text(&mut v, &f("category"), &l.category, domain::MAX_CATEGORY_LEN);
            if !(1..=domain::MAX_QUANTITY).contains(&l.quantity) {
                v.add(f("quantity"), format!("must be between 1 and {}", domain::MAX_QUANTITY));
            }
            let unit_price = amount(&mut v, &f("unit_price"), l.unit_price.as_ref(), currency, true);
            let discount = amount(&mut v, &f("discount"), l.discount.as_ref(), currency, false);
            if l.serial_numbers.len() <= domain::MAX_QUANTITY as usize {
                for (j, s) in l.serial_numbers.iter().enumerate() {
                    validate::id(&mut v, &f(&format!("serial_numbers[{j}]")), s, domain::MAX_ID_LEN);
                }
            }
            if let (Some(unit_price), Some(discount)) = (unit_price, discount) {
                lines.push(NewLine {
                    line_id: l.line_id.clone(),
                    sku: l.sku.clone(),
                    product_name: l.product_name.clone(),
                    category: l.category.clone(),
                    quantity: l.quantity,
                    unit_price,
                    discount,
                    serial_numbers: l.serial_numbers.clone(),
                    extends_line_id: (!l.extends_line_id.is_empty()).then(|| l.extends_line_id.clone()),
                });
            }
        }
    }
    let fields = (placed_at, currency, channel, shipping_amount, order_discount);
    v.finish()?;
    let (Some(placed_at), Some(currency), Some(channel), Some(shipping_amount), Some(order_discount)) = fields else {
        return Err(Error::internal("a required field was missing without a violation"));
    };
    Ok(NewOrder {
        order_id: req.order_id.clone(),
        customer_id: req.customer_id.clone(),
        placed_at,
        currency,
        channel,
        lines,
        shipping_amount,
        order_discount,
    })
}

pub fn delivery(req: pb::RecordDeliveryRequest) -> Result<Delivery, Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "order_id", &req.order_id, domain::MAX_ID_LEN);
    let delivered_at = timestamp(&mut v, "delivered_at", req.delivered_at.as_ref());
    if req.line_ids.len() > domain::MAX_LINES {
        v.add("line_ids", format!("must list at most {} lines", domain::MAX_LINES));
    } else {
        for (i, id) in req.line_ids.iter().enumerate() {
            validate::id(&mut v, &format!("line_ids[{i}]"), id, domain::MAX_ID_LEN);
        }
    }
    let delivered_at = v.finish_with(delivered_at)?;
    Ok(Delivery {
        order_id: req.order_id,
        line_ids: req.line_ids,
        delivered_at,
    })
}

pub fn order_id(field: &str, value: &str) -> Result<(), Error> {
    let mut v = Violations::new();
    validate::id(&mut v, field, value, domain::MAX_ID_LEN);
    Ok(v.finish()?)
}
