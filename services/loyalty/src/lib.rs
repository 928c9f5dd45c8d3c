//! Loyalty points, and store-credit wallets on the same ledger machinery
//! (a service of their own, [`STORE_CREDIT`]).
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — the program's arithmetic, spending lots earliest expiry
//!   first, holds, reversals, tiers, campaigns, rewards (pure, on the
//!   kernel);
//! - [`store`] — the `loyalty` schema;
//! - [`events`] — the `aftercare.loyalty.events.v1` messages it emits;
//! - [`app`] — the use cases, the order-event rules and the background job;
//! - [`grpc`] — `aftercare.loyalty.v1.LoyaltyService` and
//!   `StoreCreditService`: parse, call, convert;
//! - [`projection`] — order and refund events in, through [`app::earning`]
//!   and [`app::store_credit`]; feedback's goodwill grants and survey
//!   campaigns' bonuses.

pub mod app;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod projection;
pub mod store;

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::jobs::Job;
use aftercare_platform::outbox::EventHandler;
use aftercare_platform::registry::ServiceDef;
use tonic::service::RoutesBuilder;

/// Loyalty as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "loyalty",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers,
    jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::LoyaltyGrpc::server(app::Loyalty::new(ctx.clone())));
}

fn consumers(ctx: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    vec![
        Arc::new(projection::OrderEarnings {
            clock: ctx.clock.clone(),
        }),
        Arc::new(projection::RefundReversals {
            clock: ctx.clock.clone(),
        }),
        Arc::new(projection::FeedbackGoodwill {
            app: Arc::new(app::Loyalty::new(ctx.clone())),
            clock: ctx.clock.clone(),
        }),
        Arc::new(projection::SurveyBonuses {
            app: Arc::new(app::Loyalty::new(ctx.clone())),
            clock: ctx.clock.clone(),
        }),
    ]
}

fn jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![app::jobs::DueWork::new(ctx.clone())]
}

/// Store-credit wallets as the server runs them.
pub const STORE_CREDIT: ServiceDef = ServiceDef {
    name: "store-credit",
    grpc_service: grpc::store_credit::SERVICE_NAME,
    roles: grpc::store_credit::ROLES,
    anonymous: &[],
    routes: store_credit_routes,
    consumers: store_credit_consumers,
    jobs: store_credit_jobs,
};

fn store_credit_routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::store_credit::StoreCreditGrpc::server(
        app::store_credit::StoreCredit::new(ctx.clone()),
    ));
}

fn store_credit_consumers(ctx: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    vec![Arc::new(projection::StoreCreditRefunds {
        clock: ctx.clock.clone(),
    })]
}

fn store_credit_jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![app::store_credit::LapsedCreditHolds::new(ctx.clone())]
}
