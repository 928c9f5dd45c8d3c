//! Returns and exchanges.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — policies, eligibility, refund math, triage, the status
//!   graph (pure, on the kernel);
//! - [`store`] — the `returns` schema;
//! - [`wire`], [`events`] — enum names on the wire, the
//!   `aftercare.returns.events.v1` messages it emits;
//! - [`app`] — the use cases, each one unit of work;
//! - [`grpc`] — `aftercare.returns.v1.ReturnService`: parse, call, convert;
//! - [`projection`] — the order facts it keeps from order events, and
//!   warranty's refund requests.

pub mod app;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod projection;
pub mod store;
pub mod wire;

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::outbox::EventHandler;
use aftercare_platform::registry::{ServiceDef, no_jobs};
use tonic::service::RoutesBuilder;

/// Returns and exchanges as the server runs them.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "returns",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers,
    jobs: no_jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::ReturnGrpc::server(app::Returns::new(ctx.clone())));
}

/// Returns keeps the order facts it needs from order events and the
/// customers' tier perks from loyalty's, and pays warranty's refunds.
fn consumers(ctx: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    vec![
        Arc::new(projection::OrderProjection),
        Arc::new(projection::TierPerks),
        Arc::new(projection::WarrantyRefundRequests {
            clock: ctx.clock.clone(),
        }),
    ]
}
