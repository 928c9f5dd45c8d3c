//! The checkout path: quote, hold, capture, release, and redeem (hold and
//! capture at once). Racing calls of one customer serialize on the account
//! lock; a hold resolves once because every resolution re-reads it under
//! that lock.

use aftercare_kernel::{DateTime, Duration, Money, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::{Replay, UnitOfWork};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Loyalty, actor, emit_all, repay_debt, settle, visible};
use crate::domain::{
    Capture, Changes, Entry, EntryKind, Hold, HoldId, HoldStatus, Lot, LotId, LoyaltyError, take_earliest_expiring,
};
use crate::events;
use crate::store;

/// What a checkout may use.
pub struct Quote {
    pub points: i64,
    pub value: Money,
    pub available: i64,
    pub min_redeem_points: i64,
}

/// A hold or a redemption as asked.
pub struct Reserve {
    pub customer_id: String,
    pub points: i64,
    pub order_ref: String,
    /// 0: the program's default.
    pub ttl_seconds: i32,
    pub request_id: String,
}

impl Reserve {
    /// The request as its idempotency key's fingerprint sees it.
    fn canonical(&self) -> Vec<u8> {
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}",
            self.customer_id, self.points, self.order_ref, self.ttl_seconds
        )
        .into_bytes()
    }
}

impl Loyalty {
    pub async fn quote(&self, caller: &Caller, customer_id: &str, total: Money) -> Result<Quote, Error> {
        visible(caller, customer_id)?;
        let now = self.ctx.clock.now();
        let mut conn = self.ctx.read().await?;
        let program = store::program::load(&mut conn).await?;
        let account = store::accounts::get(&mut conn, customer_id, now).await?;
        // What a hold could take now: unexpired points, less the debt they
        // would pay back first.
        let spendable = store::lots::spendable_total(&mut conn, customer_id, now).await?;
        let available = (spendable - account.debt).max(0);
        let (points, value) = program.quote(available, total)?;
        Ok(Quote {
            points,
            value,
            available,
            min_redeem_points: program.min_redeem_points,
        })
    }

    pub async fn hold(&self, caller: &Caller, r: Reserve) -> Result<Hold, Error> {
        self.reserve(caller, r, "loyalty.HoldPoints", HoldStatus::Held).await
    }

    pub async fn redeem(&self, caller: &Caller, r: Reserve) -> Result<Hold, Error> {
        self.reserve(caller, r, "loyalty.RedeemPoints", HoldStatus::Captured)
            .await
    }

    /// A hold (`Held`) or a redemption (`Captured` at once): the points are
    /// taken from the earliest-expiring lots and the hold records which.
    async fn reserve(&self, caller: &Caller, r: Reserve, scope: &str, status: HoldStatus) -> Result<Hold, Error> {
        let mut uow = self.ctx.begin().await?;
        let hold_id = HoldId::new();
        let answer = *hold_id.as_uuid().as_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(scope, caller, "request_id", &r.request_id, &r.canonical(), &answer)
            .await?
        {
            return stored_hold(uow.conn(), &stored).await;
        }
        let now = uow.now();
        let who = actor(caller);
        let locked = store::accounts::lock(uow.conn(), &r.customer_id, now).await?;
        let program = self.program_at(uow.conn(), locked.program_version).await?;
        if r.points < program.min_redeem_points {
            return Err(LoyaltyError::BelowMinimum {
                minimum: program.min_redeem_points,
            }
            .into());
        }
        let mut out = Vec::new();
        if locked.due {
            out = settle(uow.conn(), &r.customer_id, program.expiry_months, &who, now).await?;
        }
        if locked.debt > 0 {
            // Points given back since the debt arose pay it first.
            repay_debt(uow.conn(), &r.customer_id, &who, now).await?;
        }
        let taken = take(uow.conn(), &r.customer_id, r.points, now).await?;
        let ttl = if r.ttl_seconds == 0 {
            program.hold_ttl_seconds
        } else {
            r.ttl_seconds
        };
        let captured = status == HoldStatus::Captured;
        let hold = Hold {
            hold_id,
            customer_id: r.customer_id.clone(),
            points: r.points,
            captured: if captured { r.points } else { 0 },
            order_ref: r.order_ref.clone(),
            status,
            expires_at: now + Duration::seconds(ttl.into()),
            created_at: now,
            resolved_at: captured.then_some(now),
        };
        store::holds::insert(uow.conn(), &hold, &taken).await?;
        let (kind, changes) = if captured {
            (EntryKind::Redeemed, Changes::debited(r.points))
        } else {
            (EntryKind::Held, Changes::held(r.points))
        };
        let mut entry = Entry::new(&r.customer_id, kind, changes, &who, now).taking(&taken);
        entry.hold_id = Some(hold_id);
        store::accounts::post(uow.conn(), &entry).await?;
        if captured {
            out.push(events::redeemed(&entry, &hold));
        }
        emit_all(&mut uow, &out).await?;
        uow.commit().await?;
        Ok(hold)
    }

    /// Spends up to the held points; the rest goes back to its lots.
    pub async fn capture(&self, caller: &Caller, hold_id: HoldId, points: i64) -> Result<Hold, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let (mut hold, lots, debt) = locked_hold(&mut uow, hold_id).await?;
        let (spent, returned) = match hold.capture(points, &lots, now)? {
            Capture::Replay => return Ok(hold),
            Capture::Spend { spent, returned } => (spent, returned),
        };
        let who = actor(caller);
        let spent_points: i64 = spent.iter().map(|(_, p)| p).sum();
        let returned_points = hold.points - spent_points;
        store::holds::resolve(uow.conn(), hold_id, HoldStatus::Captured, spent_points, now).await?;
        let mut entry = Entry::new(
            &hold.customer_id,
            EntryKind::Redeemed,
            Changes::captured(spent_points),
            &who,
            now,
        )
        .with_lots(&spent);
        entry.hold_id = Some(hold_id);
        store::accounts::post(uow.conn(), &entry).await?;
        if returned_points > 0 {
            let mut rest = Entry::new(
                &hold.customer_id,
                EntryKind::Released,
                Changes::released(returned_points),
                &who,
                now,
            )
            .giving_back(&returned);
            rest.hold_id = Some(hold_id);
            rest.reason = "not captured".into();
            store::accounts::post(uow.conn(), &rest).await?;
            if debt > 0 {
                repay_debt(uow.conn(), &hold.customer_id, &who, now).await?;
            }
        }
        hold.status = HoldStatus::Captured;
        hold.captured = spent_points;
        hold.resolved_at = Some(now);
        events::redeemed(&entry, &hold).emit(&mut uow).await?;
        uow.commit().await?;
        Ok(hold)
    }

    /// Gives held points back; a hold already given back is answered as is.
    pub async fn release(&self, caller: &Caller, hold_id: HoldId) -> Result<Hold, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let (mut hold, lots, debt) = locked_hold(&mut uow, hold_id).await?;
        if !hold.release()? {
            return Ok(hold);
        }
        let who = actor(caller);
        let moves: Vec<_> = lots.iter().map(|l| (l.lot_id, l.remaining)).collect();
        store::holds::resolve(uow.conn(), hold_id, HoldStatus::Released, 0, now).await?;
        let mut entry = Entry::new(
            &hold.customer_id,
            EntryKind::Released,
            Changes::released(hold.points),
            &who,
            now,
        )
        .giving_back(&moves);
        entry.hold_id = Some(hold_id);
        store::accounts::post(uow.conn(), &entry).await?;
        if debt > 0 {
            repay_debt(uow.conn(), &hold.customer_id, &who, now).await?;
        }
        hold.status = HoldStatus::Released;
        hold.resolved_at = Some(now);
        uow.commit().await?;
        Ok(hold)
    }
}

/// Takes `points` from the customer's spendable lots, earliest expiry first,
/// or fails with what is available.
pub(super) async fn take(
    conn: &mut PgConnection,
    customer_id: &str,
    points: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(LotId, i64)>, Error> {
    let lots: Vec<Lot> = store::lots::spendable(conn, customer_id, points, now).await?;
    take_earliest_expiring(&lots, points).ok_or_else(|| {
        LoyaltyError::InsufficientPoints {
            available: lots.iter().map(|l| l.remaining).sum(),
            requested: points,
        }
        .into()
    })
}

/// Locks the hold's account (the account first, as every change does), then
/// reads the hold; with the account's debt, which points given back repay.
async fn locked_hold(uow: &mut UnitOfWork<'_>, hold_id: HoldId) -> Result<(Hold, Vec<Lot>, i64), Error> {
    let (_, locked) = store::accounts::lock_by_hold(uow.conn(), hold_id)
        .await?
        .ok_or(LoyaltyError::HoldNotFound(hold_id))?;
    let (hold, lots) = store::holds::get(uow.conn(), hold_id)
        .await?
        .ok_or(LoyaltyError::HoldNotFound(hold_id))?;
    Ok((hold, lots, locked.debt))
}

/// The hold a replayed request created.
async fn stored_hold(conn: &mut PgConnection, stored: &[u8]) -> Result<Hold, Error> {
    let id = Uuid::from_slice(stored).map_err(Error::internal)?;
    let (hold, _) = store::holds::get(conn, HoldId::from_uuid(id))
        .await?
        .ok_or_else(|| Error::internal("a stored hold is gone"))?;
    Ok(hold)
}
