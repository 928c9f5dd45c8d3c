//! The rewards catalogue (admins keep it, customers spend points on it)
//! and the campaigns admins run.
//! A redemption takes its points and its code (for a coupon reward) in one
//! transaction under the account lock; a pool that ran out refuses it
//! whole, and no code ever goes to two redemptions (each code row is handed
//! out once, `SKIP LOCKED` among racing redemptions).

use aftercare_kernel::Violations;
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::uow::Replay;
use uuid::Uuid;

use super::checkout::take;
use super::{Loyalty, actor, emit_all, repay_debt, settle, visible};
use crate::domain::campaign::Campaign;
use crate::domain::reward::check_codes;
use crate::domain::{Changes, Entry, EntryKind, LoyaltyError, Reward};
use crate::events;
use crate::store;
use crate::store::rewards::Redemption;

impl Loyalty {
    pub async fn upsert_reward(&self, reward: Reward) -> Result<Reward, Error> {
        let mut v = Violations::new();
        reward.check(&mut v);
        v.finish()?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        // A reward's kind is fixed: a pool's codes and past redemptions
        // belong to what it was.
        let existing = store::rewards::get(uow.conn(), &reward.reward_id).await?;
        if existing.is_some_and(|e| e.kind != reward.kind) {
            return Err(LoyaltyError::RewardKindFixed(reward.reward_id).into());
        }
        store::rewards::upsert(uow.conn(), &reward, now).await?;
        let saved = store::rewards::get(uow.conn(), &reward.reward_id)
            .await?
            .ok_or_else(|| Error::internal("a saved reward is gone"))?;
        uow.commit().await?;
        Ok(saved)
    }

    /// Adds codes to a coupon reward's pool; the reward with its codes left.
    pub async fn add_reward_codes(&self, reward_id: &str, codes: &[String]) -> Result<(u64, Reward), Error> {
        let mut v = Violations::new();
        check_codes(codes, &mut v);
        v.finish()?;
        let mut uow = self.ctx.begin().await?;
        let reward = store::rewards::get(uow.conn(), reward_id)
            .await?
            .ok_or_else(|| LoyaltyError::RewardNotFound(reward_id.to_owned()))?;
        if reward.kind != crate::domain::RewardKind::CouponCode {
            return Err(LoyaltyError::NotACouponReward(reward_id.to_owned()).into());
        }
        let added = store::rewards::add_codes(uow.conn(), reward_id, codes).await?;
        let reward = store::rewards::get(uow.conn(), reward_id)
            .await?
            .ok_or_else(|| Error::internal("a reward is gone"))?;
        uow.commit().await?;
        Ok((added, reward))
    }

    /// The catalogue: staff see every reward, customers the active ones.
    pub async fn rewards(&self, caller: &Caller) -> Result<Vec<Reward>, Error> {
        let only_active = caller.role == aftercare_platform::auth::Role::Customer;
        store::rewards::list(&mut *self.ctx.read().await?, only_active).await
    }

    /// Spends points on a reward, once per request.
    pub async fn redeem_reward(
        &self,
        caller: &Caller,
        customer_id: &str,
        reward_id: &str,
        request_id: &str,
    ) -> Result<Redemption, Error> {
        visible(caller, customer_id)?;
        let mut uow = self.ctx.begin().await?;
        let redemption_id = Uuid::now_v7();
        let request = format!("{customer_id}\u{0}{reward_id}").into_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "loyalty.RedeemReward",
                caller,
                "request_id",
                request_id,
                &request,
                redemption_id.as_bytes(),
            )
            .await?
        {
            let id = Uuid::from_slice(&stored).map_err(Error::internal)?;
            return store::rewards::get_redemption(uow.conn(), id)
                .await?
                .ok_or_else(|| Error::internal("a stored redemption is gone"));
        }
        let now = uow.now();
        let who = actor(caller);
        let locked = store::accounts::lock(uow.conn(), customer_id, now).await?;
        let program = self.program_at(uow.conn(), locked.program_version).await?;
        let reward = store::rewards::get(uow.conn(), reward_id)
            .await?
            .filter(|r| r.active)
            .ok_or_else(|| LoyaltyError::RewardNotFound(reward_id.to_owned()))?;
        let mut out = Vec::new();
        if locked.due {
            out = settle(uow.conn(), customer_id, program.expiry_months, &who, now).await?;
        }
        if locked.debt > 0 {
            repay_debt(uow.conn(), customer_id, &who, now).await?;
        }
        // Points first: a code is only taken by a redemption that can pay.
        let taken = take(uow.conn(), customer_id, reward.points_cost, now).await?;
        let code = if reward.kind == crate::domain::RewardKind::CouponCode {
            Some(
                store::rewards::take_code(uow.conn(), reward_id, redemption_id)
                    .await?
                    .ok_or_else(|| LoyaltyError::RewardOutOfStock(reward_id.to_owned()))?,
            )
        } else {
            None
        };
        let mut entry = Entry::new(
            customer_id,
            EntryKind::Redeemed,
            Changes::debited(reward.points_cost),
            &who,
            now,
        )
        .taking(&taken);
        entry.reason = format!("reward {reward_id}");
        store::accounts::post(uow.conn(), &entry).await?;
        let redemption = Redemption {
            redemption_id,
            reward_id: reward_id.to_owned(),
            customer_id: customer_id.to_owned(),
            points: reward.points_cost,
            code,
            entry_id: entry.entry_id,
            at: now,
        };
        store::rewards::insert_redemption(uow.conn(), &redemption).await?;
        out.push(events::reward_redeemed(&entry, &reward, redemption_id));
        emit_all(&mut uow, &out).await?;
        uow.commit().await?;
        Ok(redemption)
    }
}

impl Loyalty {
    pub async fn upsert_campaign(&self, campaign: Campaign) -> Result<Campaign, Error> {
        let mut v = Violations::new();
        campaign.check(&mut v);
        v.finish()?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::campaigns::upsert(uow.conn(), &campaign, now).await?;
        uow.commit().await?;
        Ok(campaign)
    }

    pub async fn campaigns(&self) -> Result<Vec<Campaign>, Error> {
        store::campaigns::list(&mut *self.ctx.read().await?).await
    }
}
