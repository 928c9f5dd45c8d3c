//! A hold of points for one checkout, and how it resolves: once, by a
//! capture, a release or its expiry.

use aftercare_kernel::{DateTime, Utc};

use super::ledger::{Lot, take_earliest_expiring};
use super::{HoldId, LotId, LoyaltyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldStatus {
    Held,
    Captured,
    Released,
    Expired,
}

impl HoldStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            HoldStatus::Held => "held",
            HoldStatus::Captured => "captured",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<HoldStatus> {
        [
            HoldStatus::Held,
            HoldStatus::Captured,
            HoldStatus::Released,
            HoldStatus::Expired,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub hold_id: HoldId,
    pub customer_id: String,
    pub points: i64,
    pub captured: i64,
    pub order_ref: String,
    pub status: HoldStatus,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What a capture does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// The same capture again: answer the hold as it is.
    Replay,
    /// Spend these lots' points and give these back.
    Spend {
        spent: Vec<(LotId, i64)>,
        returned: Vec<(LotId, i64)>,
    },
}

impl Hold {
    /// Decides a capture of `points` (0: all) from `lots`, the points this
    /// hold reserved per lot. The earliest-expiring reserved points are
    /// spent, the rest go back to their lots.
    pub fn capture(&self, points: i64, lots: &[Lot], now: DateTime<Utc>) -> Result<Capture, LoyaltyError> {
        let requested = if points == 0 { self.points } else { points };
        match self.status {
            HoldStatus::Captured if self.captured == requested => return Ok(Capture::Replay),
            HoldStatus::Held => {}
            status => {
                return Err(LoyaltyError::HoldResolved {
                    status: status.as_str(),
                });
            }
        }
        if self.expires_at <= now {
            return Err(LoyaltyError::HoldExpired);
        }
        if requested > self.points {
            return Err(LoyaltyError::CaptureExceedsHold {
                held: self.points,
                requested,
            });
        }
        let spent = take_earliest_expiring(lots, requested).ok_or_else(|| {
            LoyaltyError::Corrupt(format!("hold {} reserved fewer points than it holds", self.hold_id))
        })?;
        let returned = lots
            .iter()
            .filter_map(|lot| {
                let taken = spent.iter().find(|(id, _)| *id == lot.lot_id).map_or(0, |(_, p)| *p);
                let back = lot.remaining - taken;
                (back > 0).then_some((lot.lot_id, back))
            })
            .collect();
        Ok(Capture::Spend { spent, returned })
    }

    /// Whether a release gives points back (`true`) or answers a hold
    /// already given back (`false`). A captured hold cannot be released.
    pub fn release(&self) -> Result<bool, LoyaltyError> {
        match self.status {
            HoldStatus::Held => Ok(true),
            HoldStatus::Released | HoldStatus::Expired => Ok(false),
            HoldStatus::Captured => Err(LoyaltyError::HoldResolved {
                status: self.status.as_str(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Duration;

    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(minutes)
    }

    fn hold(status: HoldStatus, points: i64, captured: i64) -> Hold {
        Hold {
            hold_id: HoldId::new(),
            customer_id: "c".into(),
            points,
            captured,
            order_ref: "o".into(),
            status,
            expires_at: t(15),
            created_at: t(0),
            resolved_at: None,
        }
    }

    fn lot(remaining: i64, expires: i64) -> Lot {
        Lot {
            lot_id: LotId::new(),
            remaining,
            expires_at: Some(t(expires)),
            created_at: t(0),
        }
    }

    #[test]
    fn a_partial_capture_spends_the_earliest_expiring_and_returns_the_rest() {
        let lots = [lot(60, 500), lot(40, 100)];
        let h = hold(HoldStatus::Held, 100, 0);
        let Capture::Spend { spent, returned } = h.capture(70, &lots, t(1)).unwrap() else {
            panic!("a spend")
        };
        assert_eq!(spent, vec![(lots[1].lot_id, 40), (lots[0].lot_id, 30)]);
        assert_eq!(returned, vec![(lots[0].lot_id, 30)]);
        let Capture::Spend { returned, .. } = h.capture(0, &lots, t(1)).unwrap() else {
            panic!("a spend")
        };
        assert!(returned.is_empty(), "0 captures all");
    }

    #[test]
    fn a_hold_resolves_once() {
        let lots = [lot(100, 500)];
        let captured = hold(HoldStatus::Captured, 100, 80);
        assert_eq!(captured.capture(80, &lots, t(1)).unwrap(), Capture::Replay);
        assert!(matches!(
            captured.capture(90, &lots, t(1)),
            Err(LoyaltyError::HoldResolved { .. })
        ));
        assert!(captured.release().is_err());
        let released = hold(HoldStatus::Released, 100, 0);
        assert!(matches!(
            released.capture(100, &lots, t(1)),
            Err(LoyaltyError::HoldResolved { status: "released" })
        ));
        assert_eq!(released.release(), Ok(false));
        let held = hold(HoldStatus::Held, 100, 0);
        assert_eq!(held.release(), Ok(true));
        assert_eq!(held.capture(1, &lots, t(15)), Err(LoyaltyError::HoldExpired));
        assert!(matches!(
            held.capture(101, &lots, t(1)),
            Err(LoyaltyError::CaptureExceedsHold { .. })
        ));
    }
}
