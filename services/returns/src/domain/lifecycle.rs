//! The status graph: the only way a return's status changes.
//!
//! ```text
//! REQUESTED -> APPROVED | REJECTED | CANCELED
//! APPROVED  -> IN_TRANSIT | CANCELED          (kept items: refunded here, then COMPLETED)
//! IN_TRANSIT -> RECEIVED | CANCELED (staff)
//! RECEIVED  -> COMPLETED                      (refund succeeded, or exchange shipped)
//! ```

use aftercare_kernel::{DateTime, Utc};

use super::{Resolution, ReturnError, Status};

/// Who is acting, for the transitions that depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Customer,
    Staff,
}

/// A step of the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Approve,
    Reject,
    Cancel(Actor),
    Ship,
    Receive,
    IssueRefund,
    ShipExchange,
    /// Settled: the refund succeeded, or the exchange's replacement shipped
    /// and its difference is paid either way.
    Complete,
    /// Not status changes, named for their errors.
    PriceExchange,
    ChargeDifference,
}

impl Step {
    pub fn verb(&self) -> &'static str {
        match self {
            Step::Approve => "approve",
            Step::Reject => "reject",
            Step::Cancel(_) => "cancel",
            Step::Ship => "ship",
            Step::Receive => "receive",
            Step::IssueRefund => "refund",
            Step::ShipExchange => "ship the exchange of",
            Step::Complete => "complete",
            Step::PriceExchange => "price the exchange of",
            Step::ChargeDifference => "charge the difference of",
        }
    }
}

/// What the transition graph needs to know about a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: Status,
    pub resolution: Resolution,
    pub keep_items: bool,
    pub advance_exchange: bool,
    pub exchange_shipped: bool,
    /// A refund is pending or succeeded.
    pub refund_live: bool,
    pub refund_succeeded: bool,
    /// A charge of an exchange's difference is pending.
    pub charge_pending: bool,
    /// Charges collected something.
    pub collected: bool,
    /// Every replacement has a price.
    pub exchange_priced: bool,
    /// Nothing is left for the customer to pay on the exchange.
    pub exchange_paid: bool,
    /// The return's settlement pays something back.
    pub refund_due: bool,
}

/// The status after `step`, or `InvalidStatus` naming the current status.
pub fn next_status(facts: Facts, step: Step) -> Result<Status, ReturnError> {
    use Status::*;
    let f = facts;
    let exchange = f.resolution == Resolution::Exchange;
    let next = match (step, f.status) {
        (Step::Approve, Requested) => Some(Approved),
        (Step::Reject, Requested) => Some(Rejected),
        (Step::Cancel(_), Requested | Approved) if !f.refund_live && !f.exchange_shipped && !f.money_moved() => {
            Some(Canceled)
        }
        (Step::Cancel(Actor::Staff), InTransit) if !f.refund_live && !f.exchange_shipped && !f.money_moved() => {
            Some(Canceled)
        }
        (Step::Ship, Approved) if !f.keep_items => Some(InTransit),
        (Step::Receive, InTransit) => Some(Received),
        (Step::IssueRefund, Received) if !f.refund_live && (!exchange || f.refund_due) => Some(Received),
        (Step::IssueRefund, Approved) if f.keep_items && !f.refund_live => Some(Approved),
        (Step::ShipExchange, Received) if exchange && !f.exchange_shipped => Some(Received),
        (Step::ShipExchange, Approved) if exchange && f.advance_exchange && !f.exchange_shipped => Some(Approved),
        // An exchange completes once its replacement shipped, the return
        // came back and the difference is settled both ways; a refund once it
        // is paid (kept items: at approval).
        (Step::Complete, Received)
            if exchange
                && f.exchange_shipped
                && f.exchange_paid
                && !f.charge_pending
                && (!f.refund_due || f.refund_succeeded) =>
        {
            Some(Completed)
        }
        (Step::Complete, Received) if !exchange && f.refund_succeeded => Some(Completed),
        (Step::Complete, Approved) if !exchange && f.keep_items && f.refund_succeeded => Some(Completed),
        _ => None,
    };
    next.ok_or(ReturnError::InvalidStatus { step, status: f.status })
}

impl Facts {
    /// A charge is pending or collected something: canceling would strand it.
    fn money_moved(&self) -> bool {
        self.charge_pending || self.collected
    }
}

/// What happens next, for the customer.
pub fn next_step(f: Facts, ship_by: Option<DateTime<Utc>>) -> String {
    match f.status {
        Status::Requested => "We are reviewing your return request.".into(),
        Status::Approved if f.keep_items => "Approved: keep the items; your refund is on its way.".into(),
        Status::Approved => match ship_by {
            Some(t) => format!("Approved: please ship the items back by {}.", t.format("%Y-%m-%d")),
            None => "Approved: please ship the items back.".into(),
        },
        Status::InTransit => "On its way back to us; we will inspect it on arrival.".into(),
        Status::Received if f.resolution == Resolution::Exchange => "Received: your replacement ships next.".into(),
        Status::Received => "Received and inspected: your refund is being processed.".into(),
        Status::Completed => "Done.".into(),
        Status::Rejected => "Your return request was declined.".into(),
        Status::Canceled => "This return was canceled.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [Step; 9] = [
        Step::Approve,
        Step::Reject,
        Step::Cancel(Actor::Customer),
        Step::Cancel(Actor::Staff),
        Step::Ship,
        Step::Receive,
        Step::IssueRefund,
        Step::ShipExchange,
        Step::Complete,
    ];

    fn facts(status: Status) -> Facts {
        Facts {
            status,
            resolution: Resolution::Refund,
            keep_items: false,
            advance_exchange: false,
            exchange_shipped: false,
            refund_live: false,
            refund_succeeded: false,
            charge_pending: false,
            collected: false,
            exchange_priced: true,
            exchange_paid: true,
            refund_due: false,
        }
    }

    #[test]
    fn the_status_graph() {
        use Status::*;
        let ok = |f: Facts, step| next_status(f, step).ok();
        assert_eq!(ok(facts(Requested), Step::Approve), Some(Approved));
        assert_eq!(ok(facts(Requested), Step::Reject), Some(Rejected));
        assert_eq!(ok(facts(Approved), Step::Ship), Some(InTransit));
        assert_eq!(ok(facts(InTransit), Step::Receive), Some(Received));
        assert_eq!(ok(facts(Received), Step::IssueRefund), Some(Received));
        assert_eq!(ok(facts(Approved), Step::Cancel(Actor::Customer)), Some(Canceled));
        assert_eq!(
            ok(facts(InTransit), Step::Cancel(Actor::Customer)),
            None,
            "customers cancel before shipment"
        );
        assert_eq!(ok(facts(InTransit), Step::Cancel(Actor::Staff)), Some(Canceled));
        assert_eq!(ok(facts(Received), Step::Cancel(Actor::Staff)), None);
        let live = Facts {
            refund_live: true,
            ..facts(Received)
        };
        assert_eq!(ok(live, Step::IssueRefund), None);
        assert_eq!(ok(live, Step::Complete), None, "not before the refund is paid");
        let paid = Facts {
            refund_succeeded: true,
            ..live
        };
        assert_eq!(ok(paid, Step::Complete), Some(Completed));
        assert_eq!(
            ok(facts(Approved), Step::IssueRefund),
            None,
            "only kept items refund before receipt"
        );
        let kept = Facts {
            keep_items: true,
            ..facts(Approved)
        };
        assert_eq!(ok(kept, Step::IssueRefund), Some(Approved));
        assert_eq!(ok(kept, Step::Ship), None);
        let kept_paid = Facts {
            refund_live: true,
            refund_succeeded: true,
            ..kept
        };
        assert_eq!(ok(kept_paid, Step::Complete), Some(Completed));
        let exchange = Facts {
            resolution: Resolution::Exchange,
            ..facts(Received)
        };
        assert_eq!(ok(exchange, Step::ShipExchange), Some(Received));
        assert_eq!(ok(exchange, Step::Complete), None, "not before the replacement ships");
        assert_eq!(ok(exchange, Step::IssueRefund), None);
        let shipped_after_receipt = Facts {
            exchange_shipped: true,
            ..exchange
        };
        assert_eq!(ok(shipped_after_receipt, Step::Complete), Some(Completed));
        let advance = Facts {
            resolution: Resolution::Exchange,
            advance_exchange: true,
            ..facts(Approved)
        };
        assert_eq!(ok(advance, Step::ShipExchange), Some(Approved));
        let shipped = Facts {
            exchange_shipped: true,
            status: InTransit,
            ..advance
        };
        assert_eq!(ok(shipped, Step::Receive), Some(Received));
        assert_eq!(
            ok(
                Facts {
                    status: Received,
                    ..shipped
                },
                Step::Complete
            ),
            Some(Completed)
        );
        let err = next_status(facts(Rejected), Step::Approve).unwrap_err();
        assert_eq!(
            err,
            ReturnError::InvalidStatus {
                step: Step::Approve,
                status: Rejected
            }
        );
        assert_eq!(err.to_string(), "cannot approve a return that is rejected");
    }

    /// Every (status, step) pair of a plain refund return: exactly the
    /// allowed ones move, every other is refused.
    #[test]
    fn every_transition_of_a_refund_return() {
        use Status::*;
        let allowed = [
            (Requested, Step::Approve, Approved),
            (Requested, Step::Reject, Rejected),
            (Requested, Step::Cancel(Actor::Customer), Canceled),
            (Requested, Step::Cancel(Actor::Staff), Canceled),
            (Approved, Step::Cancel(Actor::Customer), Canceled),
            (Approved, Step::Cancel(Actor::Staff), Canceled),
            (Approved, Step::Ship, InTransit),
            (InTransit, Step::Cancel(Actor::Staff), Canceled),
            (InTransit, Step::Receive, Received),
            (Received, Step::IssueRefund, Received),
        ];
        for status in Status::ALL {
            for step in STEPS {
                let expected = allowed
                    .iter()
                    .find(|(s, st, _)| s == status && *st == step)
                    .map(|(_, _, to)| *to);
                assert_eq!(
                    next_status(facts(*status), step).ok(),
                    expected,
                    "{status:?} + {step:?}"
                );
            }
        }
    }

    #[test]
    fn terminal_statuses_have_no_way_out() {
        for status in [Status::Rejected, Status::Canceled, Status::Completed] {
            for resolution in Resolution::ALL {
                for step in STEPS {
                    let f = Facts {
                        resolution: *resolution,
                        keep_items: true,
                        advance_exchange: true,
                        refund_succeeded: true,
                        ..facts(status)
                    };
                    assert!(next_status(f, step).is_err(), "{status:?} {step:?}");
                }
            }
        }
    }
}
