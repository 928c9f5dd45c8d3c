//! A paid order as the storefront reports it: the checks across its fields,
//! and its pricing (the order discount allocated over the lines).

use std::collections::HashSet;

use aftercare_kernel::channel::Channel;
use aftercare_kernel::fingerprint::Fingerprint;
use aftercare_kernel::{Currency, DateTime, Money, Utc, Violations};

use super::CLOCK_SKEW;
use super::order::{Line, Order};

/// A paid order as reported, before pricing. Amounts are in its currency.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub order_id: String,
    pub customer_id: String,
    pub placed_at: DateTime<Utc>,
    pub currency: Currency,
    pub channel: Channel,
    pub lines: Vec<NewLine>,
    pub shipping_amount: Money,
    pub order_discount: Money,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewLine {
    pub line_id: String,
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub discount: Money,
    pub serial_numbers: Vec<String>,
    /// An extended-warranty plan: the line of this order it extends.
    pub extends_line_id: Option<String>,
}

impl NewLine {
    pub fn gross(&self) -> Money {
        self.unit_price.times(i64::from(self.quantity))
    }

    /// The line's amount after its own discount.
    pub fn net(&self) -> Money {
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
        if self.placed_at < super::EARLIEST_ORDER {
            v.add("placed_at", "must be after 2000-01-01");
        }
        let mut seen = HashSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            if !seen.insert(line.line_id.as_str()) {
                v.add(
                    format!("lines[{i}].line_id"),
                    format!("duplicate line id {:?}", line.line_id),
                );
            }
            if line.gross().exceeds_limit() {
                v.add(
                    format!("lines[{i}].unit_price"),
                    "unit_price x quantity is above the largest amount accepted",
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
            if let Some(target) = &line.extends_line_id {
                // A plan extends another product line of this order.
                let extended = self.lines.iter().find(|l| &l.line_id == target);
                // One plan per line: a second would stack its months.
                let second = self.lines[..i]
                    .iter()
                    .any(|l| l.extends_line_id.as_ref() == Some(target));
                if target == &line.line_id || second || extended.is_none_or(|l| l.extends_line_id.is_some()) {
                    v.add(
                        format!("lines[{i}].extends_line_id"),
                        "must be another line of this order, not itself a plan nor extended by another",
                    );
                }
            }
        }
        let gross = Money::sum(self.currency, self.lines.iter().map(NewLine::gross));
        if (gross + self.shipping_amount).exceeds_limit() {
            v.add("lines", "the order's total is above the largest amount accepted");
        }
        let net = Money::sum(self.currency, self.lines.iter().map(NewLine::net));
        if self.order_discount > net.max(Money::zero(self.currency)) {
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
        let nets: Vec<Money> = self.lines.iter().map(NewLine::net).collect();
        let allocations = self.order_discount.split(&nets);
        let subtotal = Money::sum(self.currency, self.lines.iter().map(NewLine::gross));
        let line_discounts = Money::sum(self.currency, self.lines.iter().map(|l| l.discount));
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
        let mut h = Fingerprint::new();
        h.field(&self.order_id)
            .field(&self.customer_id)
            .field(&self.placed_at.timestamp_micros().to_string())
            .field(self.currency.code())
            .field(self.channel.as_str())
            .field(&self.shipping_amount.amount().normalize().to_string())
            .field(&self.order_discount.amount().normalize().to_string());
        for l in &self.lines {
            h.field("\u{1e}")
                .field(&l.line_id)
                .field(&l.sku)
                .field(&l.product_name)
                .field(&l.category)
                .field(&l.quantity.to_string())
                .field(&l.unit_price.amount().normalize().to_string())
                .field(&l.discount.amount().normalize().to_string());
            for s in &l.serial_numbers {
                h.field(s);
            }
            // Only plans carry it, so orders recorded before keep their hash.
            if let Some(target) = &l.extends_line_id {
                h.field("\u{1f}").field(target);
            }
        }
        h.finish()
    }
}

/// An order with its totals computed, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PricedOrder {
    pub order: NewOrder,
    pub lines: Vec<PricedLine>,
    pub subtotal: Money,
    pub discount_total: Money,
    pub total: Money,
    pub content_hash: [u8; 32],
}

#[derive(Debug, Clone, PartialEq)]
pub struct PricedLine {
    pub line: NewLine,
    pub order_discount_allocation: Money,
    pub paid_amount: Money,
}

impl PricedOrder {
    /// The order as stored when recorded at `now`: what reading it back in
    /// the same transaction would return, without the round trip.
    pub fn into_order(self, now: DateTime<Utc>) -> Order {
        let o = self.order;
        Order {
            order_id: o.order_id,
            customer_id: o.customer_id,
            placed_at: o.placed_at,
            currency: o.currency,
            channel: o.channel,
            lines: self
                .lines
                .into_iter()
                .map(|p| Line {
                    line_id: p.line.line_id,
                    sku: p.line.sku,
                    product_name: p.line.product_name,
                    category: p.line.category,
                    quantity: p.line.quantity,
                    unit_price: p.line.unit_price,
                    line_discount: p.line.discount,
                    order_discount_allocation: p.order_discount_allocation,
                    paid_amount: p.paid_amount,
                    serial_numbers: p.line.serial_numbers,
                    extends_line_id: p.line.extends_line_id,
                    delivered_at: None,
                })
                .collect(),
            subtotal: self.subtotal,
            discount_total: self.discount_total,
            order_discount: o.order_discount,
            shipping_amount: o.shipping_amount,
            total: self.total,
            canceled_at: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_kernel::InvalidInput;

    fn eur(s: &str) -> Money {
        Money::parse(Currency::from_code("EUR").unwrap(), s).unwrap()
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
            unit_price: eur(price),
            discount: eur(discount),
            serial_numbers: vec![],
            extends_line_id: None,
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
            shipping_amount: eur("4.99"),
            order_discount: eur(order_discount),
        }
    }

    fn violations(o: &NewOrder) -> Vec<String> {
        let mut v = Violations::new();
        o.check(t("2026-01-10T12:00:00Z"), &mut v);
        match v.finish() {
            Ok(()) => vec![],
            Err(InvalidInput(v)) => v.into_iter().map(|v| v.field).collect(),
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
        assert_eq!(allocations, [eur("5.00"), eur("2.50"), eur("2.50")]);
        assert_eq!(p.subtotal, eur("40.00"));
        assert_eq!(p.discount_total, eur("10.00"));
        assert_eq!(p.total, eur("34.99"));
        let paid = Money::sum(p.order.currency, p.lines.iter().map(|l| l.paid_amount));
        assert_eq!(paid + eur("4.99"), p.total);
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
        assert_eq!(allocations, [eur("0.34"), eur("0.33"), eur("0.33")]);
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
        let mut ancient = order(vec![line("a", 1, "5", "0")], "0");
        ancient.placed_at = t("0001-01-01T00:00:00Z");
        assert_eq!(violations(&ancient), ["placed_at"]);
        let huge = order(vec![line("a", 10_000, "1000000000000", "0")], "0");
        assert_eq!(violations(&huge), ["lines[0].unit_price", "lines"]);
        let many = order(
            (0..3).map(|i| line(&format!("l{i}"), 1, "500000000000", "0")).collect(),
            "0",
        );
        assert_eq!(violations(&many), ["lines"], "each fits, the total does not");
        let mut serials = order(vec![line("a", 1, "5", "0")], "0");
        serials.lines[0].serial_numbers = vec!["s1".into(), "s2".into()];
        assert_eq!(violations(&serials), ["lines[0].serial_numbers"]);
        // A plan extends another line of the order, never itself or a plan.
        let mut plans = order(
            vec![line("a", 1, "10", "0"), line("p", 1, "2", "0"), line("q", 1, "2", "0")],
            "0",
        );
        plans.lines[1].extends_line_id = Some("a".into());
        assert!(violations(&plans).is_empty());
        plans.lines[2].extends_line_id = Some("p".into());
        assert_eq!(violations(&plans), ["lines[2].extends_line_id"]);
        plans.lines[2].extends_line_id = Some("q".into());
        assert_eq!(violations(&plans), ["lines[2].extends_line_id"]);
        plans.lines[2].extends_line_id = Some("nope".into());
        assert_eq!(violations(&plans), ["lines[2].extends_line_id"]);
        // A second plan on one line would stack its months.
        plans.lines[2].extends_line_id = Some("a".into());
        assert_eq!(violations(&plans), ["lines[2].extends_line_id"]);
    }

    #[test]
    fn content_hash_tells_replays_from_conflicts() {
        let a = order(vec![line("a", 1, "5", "0")], "0");
        let mut same = a.clone();
        same.lines[0].unit_price = eur("5.00");
        assert_eq!(a.content_hash(), same.content_hash());
        let mut other = a.clone();
        other.lines[0].quantity = 2;
        assert_ne!(a.content_hash(), other.content_hash());
    }
}
