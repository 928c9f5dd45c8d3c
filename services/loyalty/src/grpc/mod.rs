//! `aftercare.loyalty.v1.LoyaltyService` over tonic: parse -> call the app
//! -> convert. Authentication and the role check ([`ROLES`]) already
//! happened in the platform's auth layer; the caller is in the request.

mod convert;
mod errors;
mod parse;
pub mod store_credit;

use aftercare_kernel::Violations;
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_proto::loyalty as pb;
use aftercare_proto::loyalty::loyalty_service_server::{LoyaltyService, LoyaltyServiceServer};
use tonic::{Request, Response, Status};

use crate::app::Loyalty;

/// Who may call what. A customer additionally sees only their own account.
pub const ROLES: RoleTable = &[
    ("GetProgram", &[Role::Customer, Role::Service, Role::Agent, Role::Admin]),
    ("UpdateProgram", &[Role::Admin]),
    ("GetAccount", &[Role::Customer, Role::Service, Role::Agent, Role::Admin]),
    (
        "ListTransactions",
        &[Role::Customer, Role::Service, Role::Agent, Role::Admin],
    ),
    ("QuoteRedemption", &[Role::Customer, Role::Service, Role::Agent]),
    ("HoldPoints", &[Role::Service]),
    ("CapturePoints", &[Role::Service]),
    ("ReleaseHold", &[Role::Service, Role::Agent]),
    ("RedeemPoints", &[Role::Service]),
    ("GrantPoints", &[Role::Agent, Role::Admin]),
    ("AdjustPoints", &[Role::Admin]),
    (
        "ListRewards",
        &[Role::Customer, Role::Service, Role::Agent, Role::Admin],
    ),
    ("UpsertReward", &[Role::Admin]),
    ("AddRewardCodes", &[Role::Admin]),
    ("RedeemReward", &[Role::Customer, Role::Service, Role::Agent]),
    ("UpsertCampaign", &[Role::Admin]),
    ("ListCampaigns", &[Role::Service, Role::Agent, Role::Admin]),
];

pub const SERVICE_NAME: &str = pb::loyalty_service_server::SERVICE_NAME;

pub struct LoyaltyGrpc {
    app: Loyalty,
}

impl LoyaltyGrpc {
    pub fn server(app: Loyalty) -> LoyaltyServiceServer<LoyaltyGrpc> {
        LoyaltyServiceServer::new(LoyaltyGrpc { app })
    }
}

fn customer_only(customer_id: &str) -> Result<(), Error> {
    let mut v = Violations::new();
    parse::customer(&mut v, customer_id);
    Ok(v.finish()?)
}

#[tonic::async_trait]
impl LoyaltyService for LoyaltyGrpc {
    async fn get_program(&self, request: Request<pb::GetProgramRequest>) -> Result<Response<pb::Program>, Status> {
        caller(&request)?;
        Ok(Response::new(convert::program(&self.app.program().await?)))
    }

    async fn update_program(
        &self,
        request: Request<pb::UpdateProgramRequest>,
    ) -> Result<Response<pb::Program>, Status> {
        caller(&request)?;
        let program = parse::program(request.get_ref().program.as_ref())?;
        Ok(Response::new(convert::program(
            &self.app.update_program(program).await?,
        )))
    }

    async fn get_account(&self, request: Request<pb::GetAccountRequest>) -> Result<Response<pb::Account>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        customer_only(&req.customer_id)?;
        let account = self.app.account(&caller, &req.customer_id).await?;
        Ok(Response::new(convert::account(&account)))
    }

    async fn list_transactions(
        &self,
        request: Request<pb::ListTransactionsRequest>,
    ) -> Result<Response<pb::ListTransactionsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        customer_only(&req.customer_id)?;
        let page = self
            .app
            .transactions(&caller, &req.customer_id, req.page_size, &req.page_token)
            .await?;
        Ok(Response::new(pb::ListTransactionsResponse {
            entries: page.entries.iter().map(convert::entry).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn quote_redemption(
        &self,
        request: Request<pb::QuoteRedemptionRequest>,
    ) -> Result<Response<pb::RedemptionQuote>, Status> {
        let caller = caller(&request)?;
        let total = parse::quote(request.get_ref())?;
        let quote = self.app.quote(&caller, &request.get_ref().customer_id, total).await?;
        Ok(Response::new(convert::quote(&quote)))
    }

    async fn hold_points(&self, request: Request<pb::HoldPointsRequest>) -> Result<Response<pb::Hold>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let reserve = parse::reserve(&r.customer_id, r.points, &r.order_ref, r.ttl_seconds, &r.request_id)?;
        Ok(Response::new(convert::hold(&self.app.hold(&caller, reserve).await?)))
    }

    async fn capture_points(&self, request: Request<pb::CapturePointsRequest>) -> Result<Response<pb::Hold>, Status> {
        let caller = caller(&request)?;
        let (hold_id, points) = parse::capture(request.get_ref())?;
        let hold = self.app.capture(&caller, hold_id, points).await?;
        Ok(Response::new(convert::hold(&hold)))
    }

    async fn release_hold(&self, request: Request<pb::ReleaseHoldRequest>) -> Result<Response<pb::Hold>, Status> {
        let caller = caller(&request)?;
        let mut v = Violations::new();
        let hold_id = parse::hold_id(&mut v, &request.get_ref().hold_id);
        v.finish().map_err(Error::from)?;
        Ok(Response::new(convert::hold(&self.app.release(&caller, hold_id).await?)))
    }

    async fn redeem_points(&self, request: Request<pb::RedeemPointsRequest>) -> Result<Response<pb::Hold>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let reserve = parse::reserve(&r.customer_id, r.points, &r.order_ref, 0, &r.request_id)?;
        Ok(Response::new(convert::hold(&self.app.redeem(&caller, reserve).await?)))
    }

    async fn grant_points(
        &self,
        request: Request<pb::GrantPointsRequest>,
    ) -> Result<Response<pb::LedgerEntry>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let credit = parse::credit(&r.customer_id, r.points, &r.reason, &r.request_id, false)?;
        Ok(Response::new(convert::entry(&self.app.grant(&caller, credit).await?)))
    }

    async fn adjust_points(
        &self,
        request: Request<pb::AdjustPointsRequest>,
    ) -> Result<Response<pb::LedgerEntry>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let credit = parse::credit(&r.customer_id, r.points, &r.reason, &r.request_id, true)?;
        Ok(Response::new(convert::entry(&self.app.adjust(&caller, credit).await?)))
    }

    async fn list_rewards(
        &self,
        request: Request<pb::ListRewardsRequest>,
    ) -> Result<Response<pb::ListRewardsResponse>, Status> {
        let caller = caller(&request)?;
        let rewards = self.app.rewards(&caller).await?;
        Ok(Response::new(pb::ListRewardsResponse {
            rewards: rewards.iter().map(convert::reward).collect(),
        }))
    }

    async fn upsert_reward(&self, request: Request<pb::UpsertRewardRequest>) -> Result<Response<pb::Reward>, Status> {
        caller(&request)?;
        let reward = parse::reward(request.get_ref().reward.as_ref())?;
        Ok(Response::new(convert::reward(&self.app.upsert_reward(reward).await?)))
    }

    async fn add_reward_codes(
        &self,
        request: Request<pb::AddRewardCodesRequest>,
    ) -> Result<Response<pb::AddRewardCodesResponse>, Status> {
        caller(&request)?;
        let req = request.get_ref();
        let mut v = Violations::new();
        aftercare_kernel::validate::id(&mut v, "reward_id", &req.reward_id, crate::domain::MAX_ID_LEN);
        v.finish().map_err(Error::from)?;
        let (added, reward) = self.app.add_reward_codes(&req.reward_id, &req.codes).await?;
        Ok(Response::new(pb::AddRewardCodesResponse {
            added: added as i64,
            reward: Some(convert::reward(&reward)),
        }))
    }

    async fn redeem_reward(
        &self,
        request: Request<pb::RedeemRewardRequest>,
    ) -> Result<Response<pb::RewardRedemption>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let mut v = Violations::new();
        parse::customer(&mut v, &req.customer_id);
        aftercare_kernel::validate::id(&mut v, "reward_id", &req.reward_id, crate::domain::MAX_ID_LEN);
        aftercare_kernel::validate::id(&mut v, "request_id", &req.request_id, crate::domain::MAX_ID_LEN);
        v.finish().map_err(Error::from)?;
        let redemption = self
            .app
            .redeem_reward(&caller, &req.customer_id, &req.reward_id, &req.request_id)
            .await?;
        Ok(Response::new(convert::redemption(&redemption)))
    }

    async fn upsert_campaign(
        &self,
        request: Request<pb::UpsertCampaignRequest>,
    ) -> Result<Response<pb::Campaign>, Status> {
        caller(&request)?;
        let campaign = parse::campaign(request.get_ref().campaign.as_ref())?;
        Ok(Response::new(convert::campaign(
            &self.app.upsert_campaign(campaign).await?,
        )))
    }

    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        caller(&request)?;
        let campaigns = self.app.campaigns().await?;
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns: campaigns.iter().map(convert::campaign).collect(),
        }))
    }
}
