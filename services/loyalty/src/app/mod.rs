//! Loyalty's use cases, free of transport. Every change of a customer's
//! points runs under their account's lock (taken first, always), settles
//! what fell due, decides in the domain, and posts ledger entries that move
//! the balances in the same statement.
//!
//! - [`checkout`] — quote, hold, capture, release, redeem;
//! - [`accounts`] — the account, its ledger, grants and adjustments, the program;
//! - [`earning`] — points from order events;
//! - [`jobs`] — maturing, expiring, and releasing holds past their time;
//! - [`rewards`] — the rewards catalogue and redemptions;
//! - [`store_credit`] — store-credit wallets: credited by refunds, held and
//!   captured at checkout.

pub mod accounts;
pub mod checkout;
pub mod earning;
pub mod jobs;
pub mod rewards;
pub mod store_credit;

use std::sync::{Arc, Mutex};

use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::uow::UnitOfWork;
use sqlx::PgConnection;

use crate::domain::{
    Changes, Entry, EntryKind, HoldStatus, LoyaltyError, Program, Standing, take_earliest_expiring, tier,
};
use crate::events::{self, LoyaltyEvent};
use crate::store;

pub struct Loyalty {
    ctx: ServiceContext,
    /// The program as last read: checkouts learn the version in force from
    /// their lock statement and read the program again only when it moved.
    program: Mutex<Option<Arc<Program>>>,
}

impl Loyalty {
    pub fn new(ctx: ServiceContext) -> Loyalty {
        Loyalty {
            ctx,
            program: Mutex::new(None),
        }
    }

    /// The program at `version`: the cached one, or read and cached.
    async fn program_at(&self, conn: &mut PgConnection, version: i32) -> Result<Arc<Program>, Error> {
        let cached = self.program.lock().expect("program cache").clone();
        if let Some(program) = cached.filter(|p| p.version == version) {
            return Ok(program);
        }
        let program = Arc::new(store::program::load(conn).await?);
        *self.program.lock().expect("program cache") = Some(program.clone());
        Ok(program)
    }
}

/// Who did it, as the ledger records it.
fn actor(caller: &Caller) -> String {
    format!("{}:{}", caller.role, caller.subject)
}

/// Another customer's account is as absent as a missing one.
fn visible(caller: &Caller, customer_id: &str) -> Result<(), Error> {
    if caller.may_see_customer(customer_id) {
        Ok(())
    } else {
        Err(Error::NotFound(format!("account of {customer_id:?} not found")))
    }
}

/// Writes events in a unit of work.
async fn emit_all(uow: &mut UnitOfWork<'_>, events: &[LoyaltyEvent]) -> Result<(), Error> {
    for event in events {
        event.emit(uow).await?;
    }
    Ok(())
}

/// Does what fell due on a locked account by `now`: holds past their time
/// go back to their lots, pending lots due mature, available lots past
/// their expiry expire. In that order, so points a hold gives back to an
/// expired lot expire in the same pass, and points that just matured pay
/// debt back first. Returns the events to write.
async fn settle(
    conn: &mut PgConnection,
    customer_id: &str,
    expiry_months: i32,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<LoyaltyEvent>, Error> {
    let mut out = Vec::new();
    for hold_id in store::holds::due(conn, customer_id, now).await? {
        let (hold, lots) = store::holds::get(conn, hold_id)
            .await?
            .ok_or(LoyaltyError::HoldNotFound(hold_id))?;
        let moves: Vec<_> = lots.iter().map(|l| (l.lot_id, l.remaining)).collect();
        store::holds::resolve(conn, hold_id, HoldStatus::Expired, 0, now).await?;
        let mut entry = Entry::new(
            customer_id,
            EntryKind::Released,
            Changes::released(hold.points),
            actor,
            now,
        )
        .giving_back(&moves);
        entry.hold_id = Some(hold_id);
        entry.reason = "hold expired".into();
        store::accounts::post(conn, &entry).await?;
    }
    let (matured, earliest) = store::lots::mature_due(conn, customer_id, expiry_months, now).await?;
    let points: i64 = matured.iter().map(|(_, p)| p).sum();
    if points > 0 {
        let entry =
            Entry::new(customer_id, EntryKind::Matured, Changes::matured(points), actor, now).with_lots(&matured);
        store::accounts::post(conn, &entry).await?;
        out.push(events::matured(&entry, earliest));
    }
    repay_debt(conn, customer_id, actor, now).await?;
    let expired = store::lots::expire_due(conn, customer_id, now).await?;
    let points: i64 = expired.iter().map(|(_, p)| p).sum();
    if points > 0 {
        let entry =
            Entry::new(customer_id, EntryKind::Expired, Changes::debited(points), actor, now).with_lots(&expired);
        store::accounts::post(conn, &entry).await?;
        out.push(events::expired(&entry));
    }
    Ok(out)
}

/// Pays a locked account's debt back from its spendable points, earliest
/// expiry first, as far as they go.
async fn repay_debt(conn: &mut PgConnection, customer_id: &str, actor: &str, now: DateTime<Utc>) -> Result<(), Error> {
    let debt = store::accounts::debt(conn, customer_id).await?;
    if debt == 0 {
        return Ok(());
    }
    let lots = store::lots::spendable(conn, customer_id, debt, now).await?;
    let points = debt.min(lots.iter().map(|l| l.remaining).sum());
    let Some(taken) = take_earliest_expiring(&lots, points).filter(|_| points > 0) else {
        return Ok(());
    };
    let entry = Entry::new(
        customer_id,
        EntryKind::DebtRepaid,
        Changes::debt_repaid(points),
        actor,
        now,
    )
    .taking(&taken);
    store::accounts::post(conn, &entry).await
}

/// Why a tier is reviewed: spend aging out of the 12 months gets the
/// program's grace period; spend taken back (a cancel, a refund) does not,
/// or ordering and canceling would buy a tier for the grace period.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Review {
    Aging,
    TakenBack,
}

/// Reviews a locked account's tier against its qualifying spend at `now`
/// and writes the standing (stamped, so the job's daily review moves on);
/// `TierChanged` when the tier changed, or when the perks of the tier in
/// force are not the ones last announced (an admin changed them).
async fn review_tier(
    conn: &mut PgConnection,
    customer_id: &str,
    program: &Program,
    standing: &Standing,
    review: Review,
    now: DateTime<Utc>,
) -> Result<Option<LoyaltyEvent>, Error> {
    let no_tier = Standing {
        tier: None,
        below_since: None,
    };
    let Some(lowest) = program.tiers.first() else {
        // No tiers: nobody has one, and whoever had perks loses them.
        let announced = store::accounts::set_standing(conn, customer_id, &no_tier, None, now).await?;
        let had = standing.tier.is_some() || announced.is_some();
        return Ok(had.then(|| {
            let from = standing.tier.as_deref().unwrap_or_default();
            events::tier_changed(customer_id, from, None, now)
        }));
    };
    let qualifying = store::accounts::qualifying(conn, customer_id, now).await?;
    let grace = match review {
        Review::Aging => program.tier_grace_days,
        Review::TakenBack => 0,
    };
    let (next, changed) = tier::review(&program.tiers, grace, standing, qualifying, now);
    let in_force = next
        .tier
        .as_deref()
        .and_then(|n| program.tiers.iter().find(|t| t.name == n))
        .unwrap_or(lowest);
    let perks = perks_key(in_force);
    let announced = store::accounts::set_standing(conn, customer_id, &next, perks.as_deref(), now).await?;
    if !changed && announced == perks {
        return Ok(None);
    }
    let from = standing.tier.clone().unwrap_or_else(|| lowest.name.clone());
    Ok(Some(events::tier_changed(customer_id, &from, Some(in_force), now)))
}

/// The perks a tier gives, as announced; `None` for a tier without any.
fn perks_key(t: &tier::Tier) -> Option<String> {
    (t.extra_return_days > 0 || t.free_return_shipping || t.early_access)
        .then(|| format!("{}|{}|{}", t.extra_return_days, t.free_return_shipping, t.early_access))
}
