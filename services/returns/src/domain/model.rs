//! What a return is: its items, refund, timeline and shipments, the names
//! of its states, and the order lines it draws on.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{Currency, DateTime, Money, Utc};

use super::lifecycle::{Facts, Step, next_status};
use super::{Policies, ReturnError};

aftercare_kernel::uuid_id!(
    /// A return's id.
    ReturnId
);
aftercare_kernel::uuid_id!(
    /// A refund's id.
    RefundId
);
aftercare_kernel::uuid_id!(
    /// The id of a charge for an exchange's difference.
    ChargeId
);

aftercare_kernel::named_enum!(Resolution {
    Refund = "refund",
    StoreCredit = "store_credit",
    Exchange = "exchange",
});

aftercare_kernel::named_enum!(Reason {
    ChangedMind = "changed_mind",
    WrongSize = "wrong_size",
    Defective = "defective",
    DamagedInTransit = "damaged_in_transit",
    WrongItem = "wrong_item",
    NotAsDescribed = "not_as_described",
    ArrivedLate = "arrived_late",
    Other = "other",
});

impl Reason {
    /// The store's fault: the customer pays no shipping or restocking fee.
    pub fn merchant_fault(self) -> bool {
        matches!(
            self,
            Reason::Defective | Reason::DamagedInTransit | Reason::WrongItem | Reason::NotAsDescribed
        )
    }
}

aftercare_kernel::named_enum!(Status {
    Requested = "requested",
    Approved = "approved",
    Rejected = "rejected",
    InTransit = "in_transit",
    Received = "received",
    Completed = "completed",
    Canceled = "canceled",
});

aftercare_kernel::named_enum!(Grade {
    Resellable = "resellable",
    Opened = "opened",
    Damaged = "damaged",
    Missing = "missing",
    WrongItem = "wrong_item",
});

aftercare_kernel::named_enum!(RefundStatus {
    Pending = "pending",
    Succeeded = "succeeded",
    Failed = "failed",
});

aftercare_kernel::named_enum!(ChargeStatus {
    Pending = "pending",
    Succeeded = "succeeded",
    Failed = "failed",
});

aftercare_kernel::named_enum!(RefundMethod {
    OriginalPayment = "original_payment",
    StoreCredit = "store_credit",
});

/// An order line as this service knows it (from order events), with what
/// returns have already taken of it. Amounts are in the order's currency.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub order_id: String,
    pub line_id: String,
    /// An extended-warranty plan: canceled through warranty, never
    /// returned (so never paid back twice).
    pub is_plan: bool,
    pub sku: String,
    pub product_name: String,
    pub category: String,
    pub quantity: i32,
    pub paid_amount: Money,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Units in returns that are not canceled or rejected.
    pub requested_quantity: i32,
    /// Units already refunded (or promised a refund).
    pub refunded_units: i32,
    /// What those refunds pay (after restocking fees).
    pub refunded_amount: Money,
    /// What those units were worth (before fees): the part of the paid
    /// amount they took.
    pub refunded_value: Money,
}

impl OrderLine {
    pub fn delivered_quantity(&self) -> i32 {
        if self.delivered_at.is_some() { self.quantity } else { 0 }
    }

    pub fn returnable_quantity(&self) -> i32 {
        (self.delivered_quantity() - self.requested_quantity).max(0)
    }
}

/// An order as this service knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderFacts {
    pub order_id: String,
    pub customer_id: String,
    pub currency: Currency,
    pub canceled: bool,
    pub lines: Vec<OrderLine>,
}

impl OrderFacts {
    /// A line a return names; a return's lines always exist on its order.
    pub fn line(&self, line_id: &str) -> Result<&OrderLine, ReturnError> {
        self.lines
            .iter()
            .find(|l| l.line_id == line_id)
            .ok_or_else(|| ReturnError::Corrupt(format!("order {} lost line {line_id}", self.order_id)))
    }
}

/// What `items`' replacements cost, or `None` while one is unpriced.
pub fn replacements_total(items: &[Item], currency: Currency) -> Option<Money> {
    let mut total = Money::zero(currency);
    for item in items.iter().filter(|i| i.resolution == Resolution::Exchange) {
        total += item.replacement_price?.times(i64::from(item.quantity));
    }
    Some(total)
}

/// A shipment (the return parcel or the exchange's replacements).
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub line_id: String,
    pub sku: String,
    pub product_name: String,
    pub quantity: i32,
    pub reason: Reason,
    pub note: String,
    pub photo_urls: Vec<String>,
    pub resolution: Resolution,
    pub replacement_sku: Option<String>,
    /// Per unit, in the order's currency.
    pub replacement_price: Option<Money>,
    pub received_quantity: Option<i32>,
    pub grade: Option<Grade>,
    /// Estimated until received.
    pub refund_amount: Money,
    /// What the units it holds as refunded were worth before fees.
    pub refunded_value: Money,
    /// The policy this item was decided under: its line's category's.
    pub policy_category: String,
    pub policy_version: i32,
    /// Units of the line this item holds as refunded (kept or received and
    /// accepted), with `refund_amount`: what a cancellation gives back.
    pub refunded_units: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Refund {
    pub refund_id: RefundId,
    pub return_id: ReturnId,
    pub status: RefundStatus,
    pub method: RefundMethod,
    pub amount: Money,
    pub provider_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Refund {
    /// Pending or succeeded: the return is (being) refunded.
    pub fn live(&self) -> bool {
        matches!(self.status, RefundStatus::Pending | RefundStatus::Succeeded)
    }
}

/// Money the warranty service pays back (a claim's refund or price
/// reduction, a canceled plan), paid through this service's refund path so
/// that every order line's refunds are counted in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct WarrantyRefund {
    pub refund_id: RefundId,
    /// Warranty's own id of the refund, which it is answered by.
    pub warranty_refund_id: uuid::Uuid,
    /// "refund", "price_reduction" or "plan_cancellation".
    pub kind: String,
    pub customer_id: String,
    /// The order line (order, line) paid back on; `None` for a product
    /// bought elsewhere, paid back as store credit.
    pub order_line: Option<(String, String)>,
    /// The unit as sold (none for a plan's cancellation).
    pub unit_id: Option<uuid::Uuid>,
    /// Units of the line paid back in full (1 for a refund, else 0).
    pub units: i32,
    pub status: RefundStatus,
    pub method: RefundMethod,
    pub amount: Money,
    pub provider_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the customer pays on an exchange whose replacements cost more than
/// the credit for what they return: collected like a refund, the other way.
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    pub charge_id: ChargeId,
    pub return_id: ReturnId,
    pub status: ChargeStatus,
    pub amount: Money,
    pub provider_reference: Option<String>,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `Some` for status changes, `None` for messages.
    pub status: Option<Status>,
    pub text: String,
    pub actor_role: String,
    pub channel: Option<Channel>,
    pub customer_visible: bool,
}

/// Where a return is in its lifecycle. The status changes only through
/// [`Return::apply`], which asks the status graph ([`next_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle(Status);

impl Lifecycle {
    /// A new return.
    pub fn requested() -> Lifecycle {
        Lifecycle(Status::Requested)
    }

    /// A status read back from storage, which only ever stored statuses
    /// the graph produced.
    pub fn restored(status: Status) -> Lifecycle {
        Lifecycle(status)
    }

    pub fn status(&self) -> Status {
        self.0
    }
}

/// What a return settles to, in the order's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub items_refund: Money,
    pub shipping_fee: Money,
    pub bonus: Money,
    /// What a refund of the return pays (zero for exchanges).
    pub refund_total: Money,
    /// Replacements' price minus the credit for the returned items.
    pub exchange_difference: Money,
}

impl Settlement {
    pub fn zero(currency: Currency) -> Settlement {
        let zero = Money::zero(currency);
        Settlement {
            items_refund: zero,
            shipping_fee: zero,
            bonus: zero,
            refund_total: zero,
            exchange_difference: zero,
        }
    }
}

/// A return with everything a caller sees of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Return {
    pub return_id: ReturnId,
    pub order_id: String,
    pub customer_id: String,
    pub lifecycle: Lifecycle,
    pub channel: Channel,
    pub resolution: Resolution,
    pub currency: Currency,
    pub policy_category: String,
    pub policy_version: i32,
    pub keep_items: bool,
    /// Triage's decision, made once at creation: approval lets the customer
    /// keep the items.
    pub keep_allowed: bool,
    pub manual_review: bool,
    pub settlement: Settlement,
    pub rejection_reason: Option<String>,
    pub return_shipment: Option<Shipment>,
    pub exchange_shipment: Option<Shipment>,
    pub ship_by: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<Item>,
    /// The latest refund.
    pub refund: Option<Refund>,
    /// The latest charge of an exchange's difference.
    pub charge: Option<Charge>,
    /// What succeeded charges collected.
    pub collected: Money,
    pub timeline: Vec<TimelineEntry>,
    /// The customer's loyalty perks the return was decided with.
    pub perks: super::Perks,
}

impl Return {
    pub fn status(&self) -> Status {
        self.lifecycle.status()
    }

    pub fn facts(&self, policies: &Policies) -> Facts {
        Facts {
            status: self.status(),
            resolution: self.resolution,
            keep_items: self.keep_items,
            advance_exchange: policies.terms.advance_exchange,
            exchange_shipped: self.exchange_shipment.is_some(),
            refund_live: self.refund.as_ref().is_some_and(Refund::live),
            refund_succeeded: self
                .refund
                .as_ref()
                .is_some_and(|f| f.status == RefundStatus::Succeeded),
            charge_pending: self.charge_pending(),
            collected: self.collected.is_positive(),
            exchange_priced: self.exchange_priced(),
            exchange_paid: !self.exchange_balance().is_positive(),
            refund_due: self.settlement.refund_total.is_positive(),
        }
    }

    /// Every replacement of an exchange has its price (set by a trusted
    /// caller, never by the customer).
    pub fn exchange_priced(&self) -> bool {
        self.resolution != Resolution::Exchange || self.items.iter().all(|i| i.replacement_price.is_some())
    }

    /// What the customer still owes on an exchange: its difference less what
    /// was collected. Zero for other resolutions and unpriced exchanges.
    pub fn exchange_balance(&self) -> Money {
        if self.resolution != Resolution::Exchange || !self.exchange_priced() {
            return Money::zero(self.currency);
        }
        self.settlement.exchange_difference - self.collected
    }

    fn charge_pending(&self) -> bool {
        self.charge.as_ref().is_some_and(|c| c.status == ChargeStatus::Pending)
    }

    /// The amount a new charge collects now, or why there is none. Only when
    /// shipping the replacement is next: after receipt, or at approval of an
    /// advance exchange — never for a return that may still not come back.
    pub fn charge_due(&self, policies: &Policies) -> Result<Money, ReturnError> {
        let status = self.status();
        let shipping_next = match status {
            Status::Received => true,
            Status::Approved => policies.terms.advance_exchange,
            _ => false,
        };
        if self.resolution != Resolution::Exchange || !shipping_next {
            return Err(ReturnError::InvalidStatus {
                step: Step::ChargeDifference,
                status,
            });
        }
        if !self.exchange_priced() {
            return Err(ReturnError::ExchangeNotPriced);
        }
        if self.charge_pending() {
            return Err(ReturnError::ChargeAlreadyPending);
        }
        let balance = self.exchange_balance();
        if !balance.is_positive() {
            return Err(ReturnError::NothingToCharge);
        }
        Ok(balance)
    }

    /// Whether an exchange's replacements may be priced now: before they
    /// ship and before anything was charged against the price.
    pub fn check_pricing(&self) -> Result<(), ReturnError> {
        let status = self.status();
        let open = matches!(
            status,
            Status::Requested | Status::Approved | Status::InTransit | Status::Received
        );
        if self.resolution != Resolution::Exchange || !open || self.exchange_shipment.is_some() {
            return Err(ReturnError::InvalidStatus {
                step: Step::PriceExchange,
                status,
            });
        }
        // Prices are frozen once money moved either way: a charge, or a
        // refund of a difference that was in the customer's favour.
        let refunded = self.refund.as_ref().is_some_and(Refund::live);
        if self.charge_pending() || self.collected.is_positive() || refunded {
            return Err(ReturnError::ChargeAlreadyPending);
        }
        Ok(())
    }

    /// Why the replacements may not ship yet, if they may not: unpriced, or
    /// the customer still owes the difference.
    pub fn check_ship_exchange(&self, policies: &Policies) -> Result<(), ReturnError> {
        self.check(Step::ShipExchange, policies)?;
        if !self.exchange_priced() {
            return Err(ReturnError::ExchangeNotPriced);
        }
        let balance = self.exchange_balance();
        if balance.is_positive() {
            return Err(ReturnError::ExchangeDifferenceUnpaid { balance });
        }
        Ok(())
    }

    /// The status `step` would lead to, or why it may not happen now.
    pub fn check(&self, step: Step, policies: &Policies) -> Result<Status, ReturnError> {
        next_status(self.facts(policies), step)
    }

    /// Takes `step`: the only way a return's status changes.
    pub fn apply(&mut self, step: Step, policies: &Policies, now: DateTime<Utc>) -> Result<Status, ReturnError> {
        let next = self.check(step, policies)?;
        self.lifecycle = Lifecycle(next);
        self.updated_at = now;
        Ok(next)
    }

    /// The replacements' price, once every one is priced.
    pub fn replacements_total(&self) -> Option<Money> {
        replacements_total(&self.items, self.currency)
    }

    pub fn refund_method(&self) -> RefundMethod {
        match self.resolution {
            Resolution::StoreCredit | Resolution::Exchange => RefundMethod::StoreCredit,
            Resolution::Refund => RefundMethod::OriginalPayment,
        }
    }
}

/// What staff may filter returns by.
#[derive(Debug, Default, Clone)]
pub struct ReturnFilter {
    pub customer_id: Option<String>,
    pub status: Option<Status>,
    pub reason: Option<Reason>,
    pub order_id: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Oldest first (work queues) instead of newest first.
    pub oldest_first: bool,
}
