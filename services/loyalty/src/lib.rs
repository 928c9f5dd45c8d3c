//! Loyalty points.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — the program's arithmetic, spending lots earliest expiry
//!   first, holds, reversals, tiers, campaigns, rewards (pure, on the
//!   kernel);
//! - [`store`] — the `loyalty` schema;
//! - [`events`] — the `aftercare.loyalty.events.v1` messages it emits;
//! - [`app`] — the use cases, the order-event rules and the background job;
//! - [`grpc`] — `aftercare.loyalty.v1.LoyaltyService`: parse, call, convert;
//! - [`projection`] — order and refund events in, through [`app::earning`].

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
    ]
}

fn jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![app::jobs::DueWork::new(ctx.clone())]
}
