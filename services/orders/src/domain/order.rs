//! A recorded order and what it may do next: deliveries and cancellation.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{Currency, DateTime, Money, Utc, Violations};

use super::{CLOCK_SKEW, OrderError};

/// A recorded order. Amounts are in its currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub placed_at: DateTime<Utc>,
    pub currency: Currency,
    pub channel: Channel,
    pub lines: Vec<Line>,
    pub subtotal: Money,
    pub discount_total: Money,
    pub order_discount: Money,
    pub shipping_amount: Money,
    pub total: Money,
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
    pub unit_price: Money,
    pub line_discount: Money,
    pub order_discount_allocation: Money,
    pub paid_amount: Money,
    pub serial_numbers: Vec<String>,
    /// An extended-warranty plan: the line it extends.
    pub extends_line_id: Option<String>,
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
    ) -> Result<Vec<String>, OrderError> {
        if self.canceled_at.is_some() {
            return Err(OrderError::Canceled {
                order_id: self.order_id.clone(),
            });
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
    pub fn check_cancel(&self) -> Result<bool, OrderError> {
        if self.canceled_at.is_some() {
            return Ok(false);
        }
        if self.lines.iter().any(|l| l.delivered_at.is_some()) {
            return Err(OrderError::AlreadyDelivered {
                order_id: self.order_id.clone(),
            });
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn recorded(lines: &[(&str, Option<&str>)]) -> Order {
        let eur = Currency::from_code("EUR").unwrap();
        let m = |s: &str| Money::parse(eur, s).unwrap();
        Order {
            order_id: "o-1".into(),
            customer_id: "c-1".into(),
            placed_at: t("2026-01-10T10:00:00Z"),
            currency: eur,
            channel: Channel::Web,
            lines: lines
                .iter()
                .map(|(id, delivered)| Line {
                    line_id: (*id).into(),
                    sku: "s".into(),
                    product_name: "p".into(),
                    category: "c".into(),
                    quantity: 1,
                    unit_price: m("1"),
                    line_discount: m("0"),
                    order_discount_allocation: m("0"),
                    paid_amount: m("1"),
                    serial_numbers: vec![],
                    extends_line_id: None,
                    delivered_at: delivered.map(t),
                })
                .collect(),
            subtotal: m("2"),
            discount_total: m("0"),
            order_discount: m("0"),
            shipping_amount: m("0"),
            total: m("2"),
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
        let invalid = |r: Result<Vec<String>, OrderError>| matches!(r, Err(OrderError::Invalid(_)));
        assert!(invalid(o.plan_delivery(&["zz".into()], now, now)));
        assert!(invalid(o.plan_delivery(&[], t("2026-01-09T00:00:00Z"), now)));
        assert!(invalid(o.plan_delivery(&[], t("2026-01-12T00:06:00Z"), now)));
    }

    #[test]
    fn cancel_only_before_delivery() {
        assert!(recorded(&[("a", None)]).check_cancel().unwrap());
        let delivered = recorded(&[("a", Some("2026-01-11T00:00:00Z")), ("b", None)]);
        assert!(matches!(
            delivered.check_cancel(),
            Err(OrderError::AlreadyDelivered { .. })
        ));
        let mut canceled = recorded(&[("a", None)]);
        canceled.canceled_at = Some(t("2026-01-11T00:00:00Z"));
        assert!(!canceled.check_cancel().unwrap());
        assert!(matches!(
            canceled.plan_delivery(&[], t("2026-01-11T00:00:00Z"), t("2026-01-11T00:00:00Z")),
            Err(OrderError::Canceled { .. })
        ));
    }
}
