//! The ledger's vocabulary: entry kinds, the balance changes an entry
//! carries, and how a debit is spread over lots.

use aftercare_kernel::{DateTime, Utc};

use super::{EntryId, HoldId, LotId, Standing, Tier};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Earned,
    Matured,
    Voided,
    Held,
    Redeemed,
    Released,
    Expired,
    Granted,
    Adjusted,
    Reversed,
    DebtRepaid,
    /// Store credit from a refund (wallets only).
    Credited,
}

impl EntryKind {
    pub const ALL: [EntryKind; 12] = [
        EntryKind::Earned,
        EntryKind::Matured,
        EntryKind::Voided,
        EntryKind::Held,
        EntryKind::Redeemed,
        EntryKind::Released,
        EntryKind::Expired,
        EntryKind::Granted,
        EntryKind::Adjusted,
        EntryKind::Reversed,
        EntryKind::DebtRepaid,
        EntryKind::Credited,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EntryKind::Earned => "earned",
            EntryKind::Matured => "matured",
            EntryKind::Voided => "voided",
            EntryKind::Held => "held",
            EntryKind::Redeemed => "redeemed",
            EntryKind::Released => "released",
            EntryKind::Expired => "expired",
            EntryKind::Granted => "granted",
            EntryKind::Adjusted => "adjusted",
            EntryKind::Reversed => "reversed",
            EntryKind::DebtRepaid => "debt_repaid",
            EntryKind::Credited => "credited",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How an entry changes each balance of the account. The account's
/// balances are always the sums of its entries' changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub available: i64,
    pub pending: i64,
    pub held: i64,
    pub debt: i64,
    /// Lifetime earned moves with earnings, grants, positive adjustments
    /// and voids; it is not a balance.
    pub lifetime: i64,
}

impl Changes {
    pub fn earned(points: i64) -> Changes {
        Changes {
            pending: points,
            lifetime: points,
            ..Changes::default()
        }
    }
    pub fn matured(points: i64) -> Changes {
        Changes {
            pending: -points,
            available: points,
            ..Changes::default()
        }
    }
    pub fn voided(points: i64) -> Changes {
        Changes {
            pending: -points,
            lifetime: -points,
            ..Changes::default()
        }
    }
    pub fn held(points: i64) -> Changes {
        Changes {
            available: -points,
            held: points,
            ..Changes::default()
        }
    }
    /// Spent from a hold.
    pub fn captured(points: i64) -> Changes {
        Changes {
            held: -points,
            ..Changes::default()
        }
    }
    pub fn released(points: i64) -> Changes {
        Changes {
            available: points,
            held: -points,
            ..Changes::default()
        }
    }
    /// Available points gone: spent at once, expired, or adjusted away.
    pub fn debited(points: i64) -> Changes {
        Changes {
            available: -points,
            ..Changes::default()
        }
    }
    /// Points of refunded units taken back: from pending and available
    /// lots, and as debt what was already spent. Never earned after all.
    pub fn reversed(from_pending: i64, from_available: i64, debt: i64) -> Changes {
        Changes {
            pending: -from_pending,
            available: -from_available,
            debt,
            lifetime: -(from_pending + from_available + debt),
            held: 0,
        }
    }
    pub fn debt_repaid(points: i64) -> Changes {
        Changes {
            available: -points,
            debt: -points,
            ..Changes::default()
        }
    }
    /// Available points given: a grant or a positive adjustment.
    pub fn credited(points: i64) -> Changes {
        Changes {
            available: points,
            lifetime: points,
            ..Changes::default()
        }
    }
}

/// An account's balances, and its available points expiring soon.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    pub customer_id: String,
    pub available: i64,
    pub pending: i64,
    pub held: i64,
    pub debt: i64,
    pub lifetime_earned: i64,
    /// (points, when they expire), earliest first.
    pub expiring_soon: Vec<(i64, DateTime<Utc>)>,
    pub tier: TierStatus,
}

/// Where an account stands among the tiers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierStatus {
    /// `None` when the program has no tiers.
    pub tier: Option<Tier>,
    pub qualifying_points: i64,
    /// The next tier up and the qualifying points it still needs.
    pub next: Option<(String, i64)>,
    pub downgrade_at: Option<DateTime<Utc>>,
}

impl TierStatus {
    /// The status of `standing` with `qualifying` points under `tiers`.
    pub fn of(tiers: &[Tier], grace_days: i32, standing: &Standing, qualifying: i64) -> TierStatus {
        let at = standing
            .tier
            .as_deref()
            .and_then(|n| tiers.iter().position(|t| t.name == n))
            .unwrap_or(0);
        TierStatus {
            tier: tiers.get(at).cloned(),
            qualifying_points: qualifying,
            next: tiers
                .get(at + 1)
                .map(|t| (t.name.clone(), (t.min_qualifying_points - qualifying).max(0))),
            downgrade_at: standing
                .below_since
                .map(|since| since + aftercare_kernel::Duration::days(grace_days.into())),
        }
    }
}

/// How many of a lot's points an entry moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotMovement {
    pub lot_id: LotId,
    pub points: i64,
    /// Read back for display; ignored when writing.
    pub expires_at: Option<DateTime<Utc>>,
}

impl LotMovement {
    pub fn of(moves: &[(LotId, i64)]) -> Vec<LotMovement> {
        moves
            .iter()
            .filter(|(_, points)| *points > 0)
            .map(|(lot_id, points)| LotMovement {
                lot_id: *lot_id,
                points: *points,
                expires_at: None,
            })
            .collect()
    }
}

/// What posting an entry does to its lots' remaining points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LotFlow {
    /// Nothing: the lots were created, voided, matured or expired by their
    /// own statement, or the points came out of a hold.
    #[default]
    Recorded,
    /// The points leave the lots (a hold, a spend, a debit).
    Out,
    /// The points go back into the lots (a release).
    In,
}

/// One immutable ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub entry_id: EntryId,
    pub customer_id: String,
    pub kind: EntryKind,
    pub changes: Changes,
    pub order_id: Option<String>,
    pub hold_id: Option<HoldId>,
    pub reason: String,
    /// Who made it: `role:subject`, or the event or job that did.
    pub actor: String,
    pub at: DateTime<Utc>,
    pub lots: Vec<LotMovement>,
    /// Not stored: how posting moves the lots' points.
    pub flow: LotFlow,
}

impl Entry {
    pub fn new(customer_id: &str, kind: EntryKind, changes: Changes, actor: &str, at: DateTime<Utc>) -> Entry {
        Entry {
            entry_id: EntryId::new(),
            customer_id: customer_id.to_owned(),
            kind,
            changes,
            order_id: None,
            hold_id: None,
            reason: String::new(),
            actor: actor.to_owned(),
            at,
            lots: Vec::new(),
            flow: LotFlow::Recorded,
        }
    }

    /// The lots the entry touched, already changed by their own statement.
    pub fn with_lots(mut self, moves: &[(LotId, i64)]) -> Entry {
        self.lots = LotMovement::of(moves);
        self
    }

    /// Takes the points out of these lots as the entry is posted.
    pub fn taking(mut self, moves: &[(LotId, i64)]) -> Entry {
        self.lots = LotMovement::of(moves);
        self.flow = LotFlow::Out;
        self
    }

    /// Gives the points back to these lots as the entry is posted.
    pub fn giving_back(mut self, moves: &[(LotId, i64)]) -> Entry {
        self.lots = LotMovement::of(moves);
        self.flow = LotFlow::In;
        self
    }
}

/// A lot's spendable points, as debits see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub lot_id: LotId,
    pub remaining: i64,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Takes `points` from `lots`, earliest expiry first (never-expiring last,
/// older first among equals): the lots and how many points each gives.
/// `None` when the lots hold fewer points than asked.
pub fn take_earliest_expiring(lots: &[Lot], points: i64) -> Option<Vec<(LotId, i64)>> {
    let mut order: Vec<&Lot> = lots.iter().filter(|l| l.remaining > 0).collect();
    order.sort_by_key(|l| (l.expires_at.is_none(), l.expires_at, l.created_at, l.lot_id));
    let mut left = points;
    let mut taken = Vec::new();
    for lot in order {
        if left == 0 {
            break;
        }
        let take = lot.remaining.min(left);
        taken.push((lot.lot_id, take));
        left -= take;
    }
    (left == 0).then_some(taken)
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::Duration;
    use proptest::prelude::*;

    use super::*;

    fn lot(remaining: i64, expires_in_days: Option<i64>) -> Lot {
        let t0 = DateTime::UNIX_EPOCH;
        Lot {
            lot_id: LotId::new(),
            remaining,
            expires_at: expires_in_days.map(|d| t0 + Duration::days(d)),
            created_at: t0,
        }
    }

    #[test]
    fn takes_the_earliest_expiring_first_and_never_expiring_last() {
        let lots = [lot(50, None), lot(30, Some(20)), lot(40, Some(10))];
        let taken = take_earliest_expiring(&lots, 60).unwrap();
        assert_eq!(taken, vec![(lots[2].lot_id, 40), (lots[1].lot_id, 20)]);
        let all = take_earliest_expiring(&lots, 120).unwrap();
        assert_eq!(all.last(), Some(&(lots[0].lot_id, 50)));
        assert_eq!(take_earliest_expiring(&lots, 121), None);
        assert_eq!(take_earliest_expiring(&lots, 0), Some(vec![]));
    }

    #[test]
    fn kinds_round_trip() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
    }

    proptest! {
        /// Whatever the lots, a debit takes exactly what was asked, never
        /// more than a lot has, and only when the lots cover it.
        #[test]
        fn takes_exactly(remaining in proptest::collection::vec((0i64..1000, proptest::option::of(0i64..100)), 0..8),
                         points in 0i64..5000) {
            let lots: Vec<Lot> = remaining.iter().map(|(r, e)| lot(*r, *e)).collect();
            let total: i64 = lots.iter().map(|l| l.remaining).sum();
            match take_earliest_expiring(&lots, points) {
                None => prop_assert!(points > total),
                Some(taken) => {
                    prop_assert!(points <= total);
                    prop_assert_eq!(taken.iter().map(|(_, p)| p).sum::<i64>(), points);
                    for (id, p) in &taken {
                        let l = lots.iter().find(|l| l.lot_id == *id).unwrap();
                        prop_assert!(*p > 0 && *p <= l.remaining);
                    }
                }
            }
        }
    }
}
