//! Taking back the points of refunded units: pro rata per line, cumulative
//! over refunds (so a line refunded unit by unit gives back exactly what it
//! earned once every unit is back), from the order's own lots, pending
//! before available; what the customer already spent becomes debt.

use aftercare_kernel::{DateTime, Utc};

use super::LotId;

/// One of an order's lots, as a reversal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLot {
    pub lot_id: LotId,
    /// A line's lot: its line; the order's campaign bonus: its campaign.
    pub line_id: String,
    /// The order's campaign bonus, not a line's points.
    pub bonus: bool,
    /// A line's points before multipliers (none for the bonus).
    pub base: Option<i64>,
    pub earned: i64,
    pub units: i32,
    pub reversed_units: i32,
    pub reversed: i64,
    /// Points not yet spent or reserved.
    pub remaining: i64,
    pub pending: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reversal {
    /// Per lot whose line was refunded: its units and points taken back so far.
    pub reversed: Vec<(LotId, i32, i64)>,
    /// Points taken out of lots.
    pub taken: Vec<(LotId, i64)>,
    pub from_pending: i64,
    pub from_available: i64,
    /// What could not be taken: already spent (or held).
    pub debt: i64,
}

impl Reversal {
    pub fn points(&self) -> i64 {
        self.from_pending + self.from_available + self.debt
    }
}

/// Takes back the points of `lines` (line id, units refunded now) from
/// `lots`, all of one order. Lines without a lot earned nothing. The
/// order's campaign bonus goes back in proportion to the base points of
/// its refunded units (all of it once every unit is back).
pub fn reverse(lots: &[OrderLot], lines: &[(String, i32)]) -> Reversal {
    let mut lots: Vec<OrderLot> = lots.to_vec();
    let mut out = Reversal::default();
    for (line_id, units) in lines {
        let Some(i) = lots.iter().position(|l| !l.bonus && &l.line_id == line_id) else {
            continue;
        };
        let lot = &mut lots[i];
        let total_units = lot.reversed_units.saturating_add((*units).max(0)).min(lot.units);
        let target = share(lot.earned, i128::from(total_units), i128::from(lot.units));
        lot.reversed_units = total_units;
        take_back(&mut lots, i, target, &mut out);
    }
    if let Some(b) = lots.iter().position(|l| l.bonus) {
        let base = |l: &OrderLot| i128::from(l.base.unwrap_or(0));
        let total: i128 = lots.iter().filter(|l| !l.bonus).map(base).sum();
        let refunded: i128 = lots
            .iter()
            .filter(|l| !l.bonus)
            .map(|l| base(l) * i128::from(l.reversed_units) / i128::from(l.units.max(1)))
            .sum();
        let target = share(lots[b].earned, refunded, total);
        if target > lots[b].reversed {
            take_back(&mut lots, b, target, &mut out);
        }
    }
    out
}

/// `earned` times `part / whole`, rounded down, at most `earned`.
fn share(earned: i64, part: i128, whole: i128) -> i64 {
    if whole <= 0 {
        return 0;
    }
    i64::try_from(i128::from(earned) * part / whole)
        .unwrap_or(earned)
        .min(earned)
}

/// Records that lot `i` has given back `target` points in all, and takes
/// what is newly due from the order's lots: pending before available,
/// among them lot `i` itself first, then the earliest to expire. What they
/// cannot cover becomes debt.
fn take_back(lots: &mut [OrderLot], i: usize, target: i64, out: &mut Reversal) {
    let mut due = (target - lots[i].reversed).max(0);
    lots[i].reversed = lots[i].reversed.max(target);
    let own = lots[i].lot_id;
    let record = (own, lots[i].reversed_units, lots[i].reversed);
    match out.reversed.iter_mut().find(|(id, ..)| *id == own) {
        Some(r) => *r = record,
        None => out.reversed.push(record),
    }
    let mut order: Vec<usize> = (0..lots.len()).filter(|k| lots[*k].remaining > 0).collect();
    order.sort_by_key(|k| {
        let l = &lots[*k];
        (
            !l.pending,
            l.lot_id != own,
            l.expires_at.is_none(),
            l.expires_at,
            l.created_at,
        )
    });
    for k in order {
        if due == 0 {
            break;
        }
        let take = lots[k].remaining.min(due);
        lots[k].remaining -= take;
        due -= take;
        if lots[k].pending {
            out.from_pending += take;
        } else {
            out.from_available += take;
        }
        match out.taken.iter_mut().find(|(id, _)| *id == lots[k].lot_id) {
            Some((_, p)) => *p += take,
            None => out.taken.push((lots[k].lot_id, take)),
        }
    }
    out.debt += due;
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn lot(line: &str, earned: i64, units: i32, remaining: i64, pending: bool) -> OrderLot {
        OrderLot {
            lot_id: LotId::new(),
            line_id: line.into(),
            bonus: false,
            base: Some(earned),
            earned,
            units,
            reversed_units: 0,
            reversed: 0,
            remaining,
            pending,
            expires_at: None,
            created_at: DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_partial_refund_takes_its_share_from_the_lines_own_pending_lot() {
        let lots = [lot("L1", 150, 2, 150, true), lot("L2", 75, 1, 75, true)];
        let r = reverse(&lots, &[("L1".into(), 1)]);
        assert_eq!(r.taken, vec![(lots[0].lot_id, 75)]);
        assert_eq!((r.from_pending, r.from_available, r.debt), (75, 0, 0));
        assert_eq!(r.reversed, vec![(lots[0].lot_id, 1, 75)]);
    }

    #[test]
    fn unit_by_unit_refunds_give_back_exactly_what_was_earned() {
        let mut l = lot("L1", 100, 3, 100, false);
        let mut total = 0;
        for _ in 0..3 {
            let r = reverse(std::slice::from_ref(&l), &[("L1".into(), 1)]);
            total += r.points();
            let (_, units, reversed) = r.reversed[0];
            l.reversed_units = units;
            l.reversed = reversed;
            l.remaining -= r.from_available;
        }
        assert_eq!(total, 100);
        // A fourth "unit" (more than the line had) takes nothing more.
        assert_eq!(reverse(&[l], &[("L1".into(), 1)]).points(), 0);
    }

    #[test]
    fn spent_points_become_debt_after_the_orders_other_lots() {
        // L1's points were spent; L2's are still pending.
        let lots = [lot("L1", 150, 2, 0, false), lot("L2", 75, 1, 40, true)];
        let r = reverse(&lots, &[("L1".into(), 2)]);
        assert_eq!(r.taken, vec![(lots[1].lot_id, 40)]);
        assert_eq!((r.from_pending, r.from_available, r.debt), (40, 0, 110));
        assert_eq!(r.points(), 150);
    }

    #[test]
    fn the_bonus_goes_back_with_the_share_of_refunded_base_points() {
        let mut bonus = lot("welcome", 1000, 1, 1000, true);
        bonus.bonus = true;
        bonus.base = None;
        let lots = [
            lot("L1", 150, 2, 150, true),
            lot("L2", 150, 1, 150, true),
            bonus.clone(),
        ];
        // Half the base points refunded: half the bonus, from the bonus lot.
        let r = reverse(&lots, &[("L2".into(), 1)]);
        assert!(r.taken.contains(&(bonus.lot_id, 500)), "{r:?}");
        assert_eq!(r.points(), 150 + 500);
        // A line named like the campaign is still a line.
        let r = reverse(&lots, &[("welcome".into(), 1)]);
        assert_eq!(r, Reversal::default());
        // Everything back: all of it.
        let r = reverse(&lots, &[("L1".into(), 2), ("L2".into(), 1)]);
        assert_eq!(r.points(), 150 + 150 + 1000);
    }

    #[test]
    fn lines_without_a_lot_earned_nothing_to_take_back() {
        let lots = [lot("L1", 150, 2, 150, true)];
        assert_eq!(reverse(&lots, &[("L9".into(), 1)]), Reversal::default());
    }

    proptest! {
        /// Whatever the refunds, the points taken back per line never exceed
        /// what it earned, and taken + debt is exactly what is due.
        #[test]
        fn never_more_than_earned(earned in 1i64..10_000, units in 1i32..20, remaining in 0i64..10_000,
                                  refunds in proptest::collection::vec(0i32..25, 1..6)) {
            let mut l = lot("L1", earned, units, remaining.min(earned), false);
            let mut total = 0;
            for u in refunds {
                let r = reverse(std::slice::from_ref(&l), &[("L1".into(), u)]);
                let taken: i64 = r.taken.iter().map(|(_, p)| p).sum();
                prop_assert_eq!(taken + r.debt, r.points());
                prop_assert!(taken <= l.remaining);
                total += r.points();
                if let Some((_, units_back, reversed)) = r.reversed.first() {
                    l.reversed_units = *units_back;
                    l.reversed = *reversed;
                }
                l.remaining -= taken;
            }
            prop_assert!(total <= earned);
            prop_assert_eq!(total, l.reversed);
        }
    }
}
