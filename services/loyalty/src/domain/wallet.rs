//! Store credit: a wallet per customer and currency on the points ledger's
//! machinery. Credits are lots; a checkout's hold reserves from them
//! earliest expiry first and resolves once, by [`Hold`]'s rules; every
//! change is an [`Entry`] with the lots it moved. Amounts are whole minor
//! units of the wallet's currency, so every sum is exact; [`Money`] is what
//! goes in and out.

use aftercare_kernel::{Currency, DateTime, Money, Utc};

use super::hold::{Capture, Hold};
use super::ledger::{Entry, Lot};
use super::{HoldId, LotId, LoyaltyError};

/// An amount in minor units. Every [`Money`] fits: its limit is far below
/// i64's.
pub fn minor(m: Money) -> i64 {
    i64::try_from(m.to_minor()).expect("money fits i64 minor units")
}

/// A customer's wallet in one currency: its balances in minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub currency: Currency,
    pub available: i64,
    pub held: i64,
    /// Everything ever credited.
    pub credited: i64,
}

impl Wallet {
    pub fn money(&self, minor: i64) -> Money {
        Money::from_minor(self.currency, minor.into())
    }
}

/// A ledger entry of a wallet. The entry's amounts are minor units of
/// `currency`; only `available`, `held` and `lifetime` (credited) move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditEntry {
    pub currency: Currency,
    /// The refund that credited it.
    pub refund_id: Option<String>,
    pub entry: Entry,
}

/// A refund paid as store credit, as its event tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditedRefund {
    pub customer_id: String,
    pub refund_id: String,
    pub return_id: String,
    pub order_id: String,
    pub amount: Money,
}

/// A lot a refund credited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLot {
    pub lot_id: LotId,
    pub refund: CreditedRefund,
    /// `None`: never expires (the default for store credit).
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A hold of store credit: a [`Hold`] whose points are minor units of
/// `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditHold {
    pub currency: Currency,
    pub hold: Hold,
}

impl CreditHold {
    pub fn money(&self, minor: i64) -> Money {
        Money::from_minor(self.currency, minor.into())
    }

    pub fn hold_id(&self) -> HoldId {
        self.hold.hold_id
    }

    /// Decides a capture of `amount` (`None`: all) from the amounts this
    /// hold reserved per lot, by [`Hold::capture`]'s rules; an amount in
    /// another currency is refused before anything else.
    pub fn capture(&self, amount: Option<Money>, lots: &[Lot], now: DateTime<Utc>) -> Result<Capture, LoyaltyError> {
        let requested = match amount {
            None => 0,
            Some(m) if m.currency() != self.currency => {
                return Err(LoyaltyError::CurrencyMismatch {
                    expected: self.currency.code(),
                    got: m.currency().code(),
                });
            }
            Some(m) => minor(m),
        };
        self.hold.capture(requested, lots, now).map_err(|e| match e {
            LoyaltyError::CaptureExceedsHold { held, requested } => LoyaltyError::CreditCaptureExceedsHold {
                held: self.money(held),
                requested: self.money(requested),
            },
            e => e,
        })
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Duration;

    use super::*;
    use crate::domain::HoldStatus;

    fn eur(s: &str) -> Money {
        Money::parse(Currency::from_code("EUR").unwrap(), s).unwrap()
    }

    fn held(amount: i64) -> CreditHold {
        let t0 = DateTime::UNIX_EPOCH;
        CreditHold {
            currency: Currency::from_code("EUR").unwrap(),
            hold: Hold {
                hold_id: HoldId::new(),
                customer_id: "c".into(),
                points: amount,
                captured: 0,
                order_ref: "o".into(),
                status: HoldStatus::Held,
                expires_at: t0 + Duration::minutes(15),
                created_at: t0,
                resolved_at: None,
            },
        }
    }

    #[test]
    fn amounts_are_exact_minor_units() {
        assert_eq!(minor(eur("12.34")), 1234);
        assert_eq!(minor(eur("0.01")), 1);
        let w = Wallet {
            currency: Currency::from_code("EUR").unwrap(),
            available: 1999,
            held: 1,
            credited: 2000,
        };
        assert_eq!(w.money(w.available), eur("19.99"));
    }

    #[test]
    fn a_capture_in_money_spends_minor_units_and_names_amounts_in_money() {
        let h = held(1000);
        let lot = Lot {
            lot_id: LotId::new(),
            remaining: 1000,
            expires_at: None,
            created_at: DateTime::UNIX_EPOCH,
        };
        let now = DateTime::UNIX_EPOCH;
        match h.capture(Some(eur("2.50")), std::slice::from_ref(&lot), now).unwrap() {
            Capture::Spend { spent, returned } => {
                assert_eq!(spent, vec![(lot.lot_id, 250)]);
                assert_eq!(returned, vec![(lot.lot_id, 750)]);
            }
            Capture::Replay => panic!("not captured before"),
        }
        assert_eq!(
            h.capture(Some(eur("10.01")), std::slice::from_ref(&lot), now),
            Err(LoyaltyError::CreditCaptureExceedsHold {
                held: eur("10.00"),
                requested: eur("10.01")
            })
        );
        let try_ = Money::parse(Currency::from_code("TRY").unwrap(), "1").unwrap();
        assert!(matches!(
            h.capture(Some(try_), std::slice::from_ref(&lot), now),
            Err(LoyaltyError::CurrencyMismatch { .. })
        ));
    }
}
