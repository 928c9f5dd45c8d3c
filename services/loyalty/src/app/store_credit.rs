//! Store-credit wallets: credited once per store-credit refund, held,
//! captured and released at checkout like points. Every change of a wallet
//! runs under its row's lock (taken first, always), gives back holds past
//! their time, decides in the domain, and posts ledger entries that move
//! the balances in the same statement.

use std::sync::Arc;

use aftercare_kernel::{Currency, DateTime, Duration, Money, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use aftercare_platform::jobs::{Job, JobFuture};
use aftercare_platform::paging;
use aftercare_platform::uow::Replay;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{actor, visible};
use crate::domain::wallet::minor;
use crate::domain::{
    Capture, Changes, CreditEntry, CreditHold, CreditLot, CreditedRefund, Entry, EntryKind, Hold, HoldId, HoldStatus,
    LotId, LoyaltyError, Wallet, take_earliest_expiring,
};
use crate::events::{self, LoyaltyEvent};
use crate::store;
use crate::store::wallets as wallet_store;

pub struct StoreCredit {
    ctx: ServiceContext,
}

/// A page of a wallet's ledger, newest first.
pub struct CreditPage {
    pub entries: Vec<CreditEntry>,
    pub next_page_token: String,
}

/// A hold as asked.
pub struct CreditReserve {
    pub customer_id: String,
    pub amount: Money,
    pub order_ref: String,
    /// 0: the program's default.
    pub ttl_seconds: i32,
    pub request_id: String,
}

impl CreditReserve {
    /// The request as its idempotency key's fingerprint sees it.
    fn canonical(&self) -> Vec<u8> {
        format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            self.customer_id,
            self.amount.currency().code(),
            self.amount.to_amount_string(),
            self.order_ref,
            self.ttl_seconds
        )
        .into_bytes()
    }
}

impl StoreCredit {
    pub fn new(ctx: ServiceContext) -> StoreCredit {
        StoreCredit { ctx }
    }

    pub async fn wallets(&self, caller: &Caller, customer_id: &str) -> Result<Vec<Wallet>, Error> {
        visible(caller, customer_id)?;
        wallet_store::wallets(&mut *self.ctx.read().await?, customer_id).await
    }

    pub async fn transactions(
        &self,
        caller: &Caller,
        customer_id: &str,
        currency: Option<Currency>,
        page_size: i32,
        page_token: &str,
    ) -> Result<CreditPage, Error> {
        visible(caller, customer_id)?;
        let limit = paging::page_size(page_size)?;
        let code = currency.map_or("", |c| c.code());
        let query = format!("store_credit\u{0}{customer_id}\u{0}{code}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut entries =
            wallet_store::list_entries(&mut conn, customer_id, currency, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut entries, limit, &query, |c| {
            (c.entry.at, c.entry.entry_id.to_string())
        });
        Ok(CreditPage {
            entries,
            next_page_token,
        })
    }

    /// Reserves an amount from the wallet's lots, earliest expiry first.
    pub async fn hold(&self, caller: &Caller, r: CreditReserve) -> Result<CreditHold, Error> {
        let mut uow = self.ctx.begin().await?;
        let hold_id = HoldId::new();
        let answer = *hold_id.as_uuid().as_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "loyalty.HoldStoreCredit",
                caller,
                "request_id",
                &r.request_id,
                &r.canonical(),
                &answer,
            )
            .await?
        {
            let id = HoldId::from_uuid(Uuid::from_slice(&stored).map_err(Error::internal)?);
            let (hold, _) = wallet_store::get_hold(uow.conn(), id)
                .await?
                .ok_or_else(|| Error::internal("a stored hold is gone"))?;
            return Ok(hold);
        }
        let now = uow.now();
        let who = actor(caller);
        let currency = r.amount.currency();
        if wallet_store::lock(uow.conn(), &r.customer_id, currency, now).await? {
            release_lapsed(uow.conn(), &r.customer_id, currency, &who, now).await?;
        }
        let amount = minor(r.amount);
        let lots = wallet_store::spendable(uow.conn(), &r.customer_id, currency, amount, now).await?;
        let taken = take_earliest_expiring(&lots, amount).ok_or_else(|| LoyaltyError::InsufficientCredit {
            available: Money::from_minor(currency, lots.iter().map(|l| i128::from(l.remaining)).sum()),
            requested: r.amount,
        })?;
        let ttl = match r.ttl_seconds {
            0 => store::program::load(uow.conn()).await?.hold_ttl_seconds,
            ttl => ttl,
        };
        let hold = CreditHold {
            currency,
            hold: Hold {
                hold_id,
                customer_id: r.customer_id.clone(),
                points: amount,
                captured: 0,
                order_ref: r.order_ref.clone(),
                status: HoldStatus::Held,
                expires_at: now + Duration::seconds(ttl.into()),
                created_at: now,
                resolved_at: None,
            },
        };
        wallet_store::insert_hold(uow.conn(), &hold, &taken).await?;
        let held = Entry::new(&r.customer_id, EntryKind::Held, Changes::held(amount), &who, now).taking(&taken);
        post(uow.conn(), &hold, held, "").await?;
        uow.commit().await?;
        Ok(hold)
    }

    /// Spends up to the held amount; the rest goes back to its lots.
    pub async fn capture(&self, caller: &Caller, hold_id: HoldId, amount: Option<Money>) -> Result<CreditHold, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let (mut hold, lots) = locked_hold(uow.conn(), hold_id).await?;
        let (spent, returned) = match hold.capture(amount, &lots, now)? {
            Capture::Replay => return Ok(hold),
            Capture::Spend { spent, returned } => (spent, returned),
        };
        let who = actor(caller);
        let customer = hold.hold.customer_id.clone();
        let spent_amount: i64 = spent.iter().map(|(_, a)| a).sum();
        wallet_store::resolve_hold(uow.conn(), hold_id, HoldStatus::Captured, spent_amount, now).await?;
        let redeemed = Entry::new(
            &customer,
            EntryKind::Redeemed,
            Changes::captured(spent_amount),
            &who,
            now,
        )
        .with_lots(&spent);
        let redeemed = post(uow.conn(), &hold, redeemed, "").await?;
        let back = hold.hold.points - spent_amount;
        if back > 0 {
            let rest =
                Entry::new(&customer, EntryKind::Released, Changes::released(back), &who, now).giving_back(&returned);
            post(uow.conn(), &hold, rest, "not captured").await?;
        }
        hold.hold.status = HoldStatus::Captured;
        hold.hold.captured = spent_amount;
        hold.hold.resolved_at = Some(now);
        events::store_credit_redeemed(&redeemed, &hold).emit(&mut uow).await?;
        uow.commit().await?;
        Ok(hold)
    }

    /// Gives a held amount back; a hold already given back is answered as is.
    pub async fn release(&self, caller: &Caller, hold_id: HoldId) -> Result<CreditHold, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let (mut hold, lots) = locked_hold(uow.conn(), hold_id).await?;
        if !hold.hold.release()? {
            return Ok(hold);
        }
        give_back(uow.conn(), &hold, &lots, HoldStatus::Released, &actor(caller), now).await?;
        hold.hold.status = HoldStatus::Released;
        hold.hold.resolved_at = Some(now);
        uow.commit().await?;
        Ok(hold)
    }
}

/// Credits a store-credit refund to its customer's wallet, once per refund:
/// the event to write, or nothing when the refund was credited before.
pub async fn credit_refund(
    conn: &mut PgConnection,
    refund: CreditedRefund,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<LoyaltyEvent>, Error> {
    let currency = refund.amount.currency();
    let amount = minor(refund.amount);
    if amount <= 0 {
        // Returns never pays out nothing; retrying would not change the
        // event, and a dead letter would hold back the return's later ones.
        tracing::warn!(refund_id = %refund.refund_id, amount, "a store-credit refund of nothing credits nothing");
        return Ok(None);
    }
    wallet_store::lock(conn, &refund.customer_id, currency, now).await?;
    let lot = CreditLot {
        lot_id: LotId::new(),
        refund: refund.clone(),
        expires_at: None,
        created_at: now,
    };
    if !wallet_store::insert_lot(conn, &lot).await? {
        return Ok(None);
    }
    let entry = CreditEntry {
        currency,
        refund_id: Some(refund.refund_id.clone()),
        entry: Entry::new(
            &refund.customer_id,
            EntryKind::Credited,
            Changes::credited(amount),
            actor,
            now,
        )
        .with_lots(&[(lot.lot_id, amount)]),
    };
    wallet_store::post(conn, &entry).await?;
    Ok(Some(events::store_credit_credited(&entry, &refund)))
}

/// Posts a hold's entry in the hold's wallet.
async fn post(
    conn: &mut PgConnection,
    hold: &CreditHold,
    mut entry: Entry,
    reason: &str,
) -> Result<CreditEntry, Error> {
    entry.hold_id = Some(hold.hold_id());
    entry.reason = reason.to_owned();
    let entry = CreditEntry {
        currency: hold.currency,
        refund_id: None,
        entry,
    };
    wallet_store::post(conn, &entry).await?;
    Ok(entry)
}

/// Resolves a held hold by giving its whole amount back to its lots.
async fn give_back(
    conn: &mut PgConnection,
    hold: &CreditHold,
    lots: &[crate::domain::Lot],
    status: HoldStatus,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let h = &hold.hold;
    let moves: Vec<_> = lots.iter().map(|l| (l.lot_id, l.remaining)).collect();
    wallet_store::resolve_hold(conn, h.hold_id, status, 0, now).await?;
    let entry = Entry::new(
        &h.customer_id,
        EntryKind::Released,
        Changes::released(h.points),
        actor,
        now,
    )
    .giving_back(&moves);
    let reason = if status == HoldStatus::Expired {
        "hold expired"
    } else {
        ""
    };
    post(conn, hold, entry, reason).await?;
    Ok(())
}

/// Gives back a locked wallet's holds that are past their time.
async fn release_lapsed(
    conn: &mut PgConnection,
    customer_id: &str,
    currency: Currency,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    for hold_id in wallet_store::lapsed_holds(conn, customer_id, currency, now).await? {
        let (hold, lots) = wallet_store::get_hold(conn, hold_id)
            .await?
            .ok_or(LoyaltyError::HoldNotFound(hold_id))?;
        give_back(conn, &hold, &lots, HoldStatus::Expired, actor, now).await?;
    }
    Ok(())
}

/// Locks the hold's wallet (the wallet first, as every change does), then
/// reads the hold.
async fn locked_hold(conn: &mut PgConnection, hold_id: HoldId) -> Result<(CreditHold, Vec<crate::domain::Lot>), Error> {
    wallet_store::lock_by_hold(conn, hold_id)
        .await?
        .ok_or(LoyaltyError::HoldNotFound(hold_id))?;
    Ok(wallet_store::get_hold(conn, hold_id)
        .await?
        .ok_or(LoyaltyError::HoldNotFound(hold_id))?)
}

/// Wallets handled per run; a full batch runs again at once.
const BATCH: i64 = 200;

/// The background job: gives back store-credit holds past their time, a
/// wallet per transaction; a wallet a checkout holds is skipped (SKIP
/// LOCKED) and picked up by the next run.
pub struct LapsedCreditHolds {
    ctx: ServiceContext,
}

impl LapsedCreditHolds {
    pub fn new(ctx: ServiceContext) -> Arc<LapsedCreditHolds> {
        Arc::new(LapsedCreditHolds { ctx })
    }

    /// Gives back what lapsed by now in up to [`BATCH`] wallets; whether a
    /// full batch was handled.
    pub async fn run(&self) -> Result<bool, Error> {
        let now = self.ctx.clock.now();
        let wallets = wallet_store::with_lapsed_holds(&mut *self.ctx.read().await?, now, BATCH).await?;
        let mut handled = 0;
        for (customer, currency) in &wallets {
            let mut tx = self.ctx.pool.begin().await?;
            if !wallet_store::try_lock(&mut tx, customer, *currency).await? {
                continue;
            }
            match release_lapsed(&mut tx, customer, *currency, super::jobs::JOB, now).await {
                Ok(()) => {
                    tx.commit().await?;
                    handled += 1;
                }
                Err(e) => tracing::warn!(customer, error = %e, "releasing lapsed store-credit holds failed"),
            }
        }
        Ok(wallets.len() as i64 == BATCH && handled > 0)
    }
}

impl Job for LapsedCreditHolds {
    fn name(&self) -> &'static str {
        "loyalty.store_credit_holds"
    }

    fn run_once(&self) -> JobFuture<'_> {
        Box::pin(self.run())
    }
}
