//! Orders as the storefront reported them, and the rules of order intake:
//! pricing (discounts allocated over lines), delivery and cancellation.
//! Pure: no transport, no storage, no clock reads.

use aftercare_platform::Violations;
use aftercare_platform::channel::Channel;
use aftercare_platform::error::Error;
use aftercare_platform::money::{Currency, allocate};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

pub const MAX_LINES: usize = 500;
pub const MAX_QUANTITY: i32 = 10_000;
pub const MAX_ID_LEN: usize = 128;
pub const MAX_PRODUCT_NAME_LEN: usize = 300;
pub const MAX_CATEGORY_LEN: usize = 100;
pub const MAX_REASON_LEN: usize = 500;
/// How far in the future a reported time may be, for clock skew between the
/// storefront and us.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

/// A paid order as reported, before pricing.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub order_id: String,
    pub customer_id: String,
    pub placed_at: DateTime<Utc>,
    pub currency: Currency,
    pub channel: Channel,
    pub lines: Vec<NewLine>,
    pub shipping_amount: Decimal,
    pub order_discount: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewLine {
    pub line_id: String,
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub serial_numbers: Vec<String>,
}

impl NewLine {
    pub fn gross(&self) -> Decimal {
        self.unit_price * Decimal::from(self.quantity)
    }

    /// The line's amount after its own discount.
    pub fn net(&self) -> Decimal {
        self.gross() - self.discount
    }
}

impl NewOrder {
    /// Rules across fields, recorded as violations. Field-level checks
    /// (formats, lengths, currencies) happen while parsing the request.
    pub fn check(&self, now: DateTime<Utc>, v: &mut Violations) {
        if self.placed_at > now + CLOCK_SKEW {
            v.add("placed_at", "must not be in the future");
        }
        let mut seen = std::collections::HashSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            if !seen.insert(line.line_id.as_str()) {
                v.add(
                    format!("lines[{i}].line_id"),
                    format!("duplicate line id {:?}", line.line_id),
                );
            }
            if line.discount > line.gross() {
                v.add(format!("lines[{i}].discount"), "must not exceed unit_price x quantity");
            }
            if line.serial_numbers.len() > line.quantity.max(0) as usize {
                v.add(
                    format!("lines[{i}].serial_numbers"),
                    "must not list more serial numbers than the quantity",
                );
            }
        }
        let net: Decimal = self.lines.iter().map(NewLine::net).sum();
        if self.order_discount > net.max(Decimal::ZERO) {
            v.add(
                "order_discount",
                "must not exceed the lines' total after line discounts",
            );
        }
    }

    /// Prices the order: the order discount is split over the lines in
    /// proportion to their net amounts, so the lines' paid amounts sum exactly
    /// to what the customer paid for goods. Requires [`NewOrder::check`] to
    /// have passed.
    pub fn price(self) -> PricedOrder {
        let nets: Vec<Decimal> = self.lines.iter().map(NewLine::net).collect();
        let allocations = allocate(self.currency, self.order_discount, &nets);
        let subtotal: Decimal = self.lines.iter().map(NewLine::gross).sum();
        let line_discounts: Decimal = self.lines.iter().map(|l| l.discount).sum();
        let discount_total = line_discounts + self.order_discount;
        let total = subtotal - discount_total + self.shipping_amount;
        let content_hash = self.content_hash();
        let lines = self
            .lines
            .iter()
            .zip(allocations)
            .map(|(line, allocation)| PricedLine {
                order_discount_allocation: allocation,
                paid_amount: line.net() - allocation,
                line: line.clone(),
            })
            .collect();
        PricedOrder {
            subtotal,
            discount_total,
            total,
            content_hash,
            lines,
            order: self,
        }
    }

    /// A fingerprint of everything the storefront reported, to tell a replay
    /// of `RecordOrder` from a conflicting reuse of the order id.
    pub fn content_hash(&self) -> [u8; 32] {
        // Fields joined with separators that validation forbids inside them.
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update(s.as_bytes());
            h.update([0x1f]);
        };
        field(&self.order_id);
        field(&self.customer_id);
        field(&self.placed_at.timestamp_micros().to_string());
        field(self.currency.code());
        field(self.channel.as_str());
        field(&self.shipping_amount.normalize().to_string());
        field(&self.order_discount.normalize().to_string());
        for l in &self.lines {
            field("\u{1e}");
            field(&l.line_id);
            field(&l.sku);
            field(&l.product_name);
            field(&l.category);
            field(&l.quantity.to_string());
            field(&l.unit_price.normalize().to_string());
            field(&l.discount.normalize().to_string());
            for s in &l.serial_numbers {
                field(s);
            }
        }
        h.finalize().into()
    }
}

/// An order with its totals computed, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedOrder {
    pub order: NewOrder,
    pub lines: Vec<PricedLine>,
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    pub total: Decimal,
    pub content_hash: [u8; 32],
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub line: NewLine,
    pub order_discount_allocation: Decimal,
    pub paid_amount: Decimal,
}

/// A recorded order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub placed_at: DateTime<Utc>,
    pub currency: Currency,
    pub channel: Channel,
    pub lines: Vec<Line>,
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    pub order_discount: Decimal,
    pub shipping_amount: Decimal,
    pub total: Decimal,
    pub canceled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub line_id: String,
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub line_discount: Decimal,
    pub order_discount_allocation: Decimal,
    pub paid_amount: Decimal,
    pub serial_numbers: Vec<String>,
    pub delivered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Placed,
    PartiallyDelivered,
    Delivered,
    Canceled,
}

impl Order {
    pub fn status(&self) -> OrderStatus {
        let delivered = self.lines.iter().filter(|l| l.delivered_at.is_some()).count();
        match (self.canceled_at, delivered) {
            (Some(_), _) => OrderStatus::Canceled,
            (None, 0) => OrderStatus::Placed,
            (None, n) if n == self.lines.len() => OrderStatus::Delivered,
            (None, _) => OrderStatus::PartiallyDelivered,
        }
    }

    /// The lines a delivery newly delivers (lines already delivered keep their
    /// first delivery). `line_ids` empty means every line.
    pub fn plan_delivery(
        &self,
        line_ids: &[String],
        delivered_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, Error> {
        if self.canceled_at.is_some() {
            return Err(
                Error::precondition("ORDER_CANCELED", format!("order {} is canceled", self.order_id))
                    .with_metadata("order_id", self.order_id.clone()),
            );
        }
        let mut v = Violations::new();
        if delivered_at < self.placed_at {
            v.add("delivered_at", "must not be before the order was placed");
        }
        if delivered_at > now + CLOCK_SKEW {
            v.add("delivered_at", "must not be in the future");
        }
        for (i, id) in line_ids.iter().enumerate() {
            if !self.lines.iter().any(|l| &l.line_id == id) {
                v.add(format!("line_ids[{i}]"), format!("order has no line {id:?}"));
            }
        }
        v.finish()?;
        Ok(self
            .lines
            .iter()
            .filter(|l| l.delivered_at.is_none() && (line_ids.is_empty() || line_ids.contains(&l.line_id)))
            .map(|l| l.line_id.clone())
            .collect())
    }

    /// Whether a cancel changes anything: `Ok(false)` when the order is
    /// already canceled, an error once any line is delivered.
    pub fn check_cancel(&self) -> Result<bool, Error> {
        if self.canceled_at.is_some() {
            return Ok(false);
        }
        if self.lines.iter().any(|l| l.delivered_at.is_some()) {
            return Err(Error::precondition(
                "ORDER_ALREADY_DELIVERED",
                format!(
                    "order {} has delivered lines and can no longer be canceled; return them instead",
                    self.order_id
                ),
            )
            .with_metadata("order_id", self.order_id.clone()));
        }
        Ok(true)
    }
}

/// Event payloads, as consumers (returns, loyalty, outside tools) read them.
pub mod events {
    use super::*;
    use serde_json::{Value, json};

    pub const ORDER_RECORDED: &str = "orders.OrderRecorded";
    pub const ORDER_DELIVERED: &str = "orders.OrderDelivered";
    pub const ORDER_CANCELED: &str = "orders.OrderCanceled";

    pub fn order_recorded(o: &Order) -> Value {
        json!({
            "order_id": o.order_id,
            "customer_id": o.customer_id,
            "placed_at": o.placed_at,
            "currency_code": o.currency.code(),
            "channel": o.channel.as_str(),
            "total": o.currency.format(o.total),
            "lines": o.lines.iter().map(|l| json!({
                "line_id": l.line_id,
                "sku": l.sku,
                "product_name": l.product_name,
                "category": l.category,
                "quantity": l.quantity,
                "paid_amount": o.currency.format(l.paid_amount),
            })).collect::<Vec<_>>(),
        })
    }

    pub fn order_delivered(o: &Order, line_ids: &[String], delivered_at: DateTime<Utc>) -> Value {
        json!({
            "order_id": o.order_id,
            "customer_id": o.customer_id,
            "delivered_at": delivered_at,
            "line_ids": line_ids,
        })
    }

    pub fn order_canceled(o: &Order, canceled_at: DateTime<Utc>, reason: &str) -> Value {
        json!({
            "order_id": o.order_id,
            "customer_id": o.customer_id,
            "canceled_at": canceled_at,
            "reason": reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn line(id: &str, qty: i32, price: &str, discount: &str) -> NewLine {
        NewLine {
            line_id: id.into(),
            sku: format!("sku-{id}"),
            product_name: "Kettle".into(),
            category: "kitchen".into(),
            quantity: qty,
            unit_price: d(price),
            discount: d(discount),
            serial_numbers: vec![],
        }
    }

    fn order(lines: Vec<NewLine>, order_discount: &str) -> NewOrder {
        NewOrder {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            placed_at: t("2026-01-10T10:00:00Z"),
            currency: Currency::from_code("EUR").unwrap(),
            channel: Channel::Web,
            lines,
            shipping_amount: d("4.99"),
            order_discount: d(order_discount),
        }
    }

    fn violations(o: &NewOrder) -> Vec<String> {
        let mut v = Violations::new();
        o.check(t("2026-01-10T12:00:00Z"), &mut v);
        match v.finish() {
            Ok(()) => vec![],
            Err(Error::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn pricing_allocates_the_order_discount_over_lines() {
        let o = order(
            vec![
                line("a", 2, "10.00", "0"),
                line("b", 1, "10.00", "0"),
                line("c", 1, "10.00", "0"),
            ],
            "10.00",
        );
        assert!(violations(&o).is_empty());
        let p = o.price();
        let allocations: Vec<_> = p.lines.iter().map(|l| l.order_discount_allocation).collect();
        assert_eq!(allocations, [d("5.00"), d("2.50"), d("2.50")]);
        assert_eq!(p.subtotal, d("40.00"));
        assert_eq!(p.discount_total, d("10.00"));
        assert_eq!(p.total, d("34.99"));
        let paid: Decimal = p.lines.iter().map(|l| l.paid_amount).sum();
        assert_eq!(paid + d("4.99"), p.total);
    }

    #[test]
    fn pricing_rounds_by_largest_remainder() {
        let p = order(
            vec![
                line("a", 1, "1.00", "0"),
                line("b", 1, "1.00", "0"),
                line("c", 1, "1.00", "0"),
            ],
            "1.00",
        )
        .price();
        let allocations: Vec<_> = p.lines.iter().map(|l| l.order_discount_allocation).collect();
        assert_eq!(allocations, [d("0.34"), d("0.33"), d("0.33")]);
    }

    #[test]
    fn cross_field_rules() {
        let dup = order(vec![line("a", 1, "5", "0"), line("a", 1, "5", "0")], "0");
        assert_eq!(violations(&dup), ["lines[1].line_id"]);
        let over_line = order(vec![line("a", 1, "5", "5.01")], "0");
        assert_eq!(violations(&over_line), ["lines[0].discount"]);
        let over_order = order(vec![line("a", 1, "5", "1")], "4.01");
        assert_eq!(violations(&over_order), ["order_discount"]);
        let mut future = order(vec![line("a", 1, "5", "0")], "0");
        future.placed_at = t("2026-01-10T12:06:00Z");
        assert_eq!(violations(&future), ["placed_at"]);
        let mut serials = order(vec![line("a", 1, "5", "0")], "0");
        serials.lines[0].serial_numbers = vec!["s1".into(), "s2".into()];
        assert_eq!(violations(&serials), ["lines[0].serial_numbers"]);
    }

    #[test]
    fn content_hash_tells_replays_from_conflicts() {
        let a = order(vec![line("a", 1, "5", "0")], "0");
        let mut same = a.clone();
        same.lines[0].unit_price = d("5.00");
        assert_eq!(a.content_hash(), same.content_hash());
        let mut other = a.clone();
        other.lines[0].quantity = 2;
        assert_ne!(a.content_hash(), other.content_hash());
    }

    fn recorded(lines: &[(&str, Option<&str>)]) -> Order {
        Order {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            placed_at: t("2026-01-10T10:00:00Z"),
            currency: Currency::from_code("EUR").unwrap(),
            channel: Channel::Web,
            lines: lines
                .iter()
                .map(|(id, delivered)| Line {
                    line_id: (*id).into(),
                    sku: "s".into(),
                    product_name: "p".into(),
                    category: "c".into(),
                    quantity: 1,
                    unit_price: d("1"),
                    line_discount: d("0"),
                    order_discount_allocation: d("0"),
                    paid_amount: d("1"),
                    serial_numbers: vec![],
                    delivered_at: delivered.map(t),
                })
                .collect(),
            subtotal: d("2"),
            discount_total: d("0"),
            order_discount: d("0"),
            shipping_amount: d("0"),
            total: d("2"),
            canceled_at: None,
            created_at: t("2026-01-10T10:00:00Z"),
            updated_at: t("2026-01-10T10:00:00Z"),
        }
    }

    #[test]
    fn status_follows_deliveries() {
        assert_eq!(recorded(&[("a", None), ("b", None)]).status(), OrderStatus::Placed);
        assert_eq!(
            recorded(&[("a", Some("2026-01-11T00:00:00Z")), ("b", None)]).status(),
            OrderStatus::PartiallyDelivered
        );
        let mut o = recorded(&[("a", Some("2026-01-11T00:00:00Z"))]);
        assert_eq!(o.status(), OrderStatus::Delivered);
        o.canceled_at = Some(t("2026-01-12T00:00:00Z"));
        assert_eq!(o.status(), OrderStatus::Canceled);
    }

    #[test]
    fn delivery_plans_only_undelivered_lines() {
        let o = recorded(&[("a", Some("2026-01-11T00:00:00Z")), ("b", None), ("c", None)]);
        let now = t("2026-01-12T00:00:00Z");
        assert_eq!(o.plan_delivery(&[], now, now).unwrap(), ["b", "c"]);
        assert_eq!(o.plan_delivery(&["a".into(), "c".into()], now, now).unwrap(), ["c"]);
        assert!(matches!(
            o.plan_delivery(&["zz".into()], now, now),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            o.plan_delivery(&[], t("2026-01-09T00:00:00Z"), now),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            o.plan_delivery(&[], t("2026-01-12T00:06:00Z"), now),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn cancel_only_before_delivery() {
        assert!(recorded(&[("a", None)]).check_cancel().unwrap());
        let delivered = recorded(&[("a", Some("2026-01-11T00:00:00Z")), ("b", None)]);
        assert!(matches!(
            delivered.check_cancel(),
            Err(Error::FailedPrecondition {
                reason: "ORDER_ALREADY_DELIVERED",
                ..
            })
        ));
        let mut canceled = recorded(&[("a", None)]);
        canceled.canceled_at = Some(t("2026-01-11T00:00:00Z"));
        assert!(!canceled.check_cancel().unwrap());
        assert!(matches!(
            canceled.plan_delivery(&[], t("2026-01-11T00:00:00Z"), t("2026-01-11T00:00:00Z")),
            Err(Error::FailedPrecondition {
                reason: "ORDER_CANCELED",
                ..
            })
        ));
    }
}
