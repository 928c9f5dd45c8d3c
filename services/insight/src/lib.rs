//! Service insight: the figures a support lead reads across services
//! (response and resolution times, breaches, satisfaction, return reasons,
//! faults, refunds, points), from a read model in its own schema fed by the
//! services' events and never their tables, rebuildable from the outbox.
//!
//! - [`projection`] — each event into the read model, idempotently;
//! - [`store`] — the `insight` schema and its figures;
//! - [`rebuild`] — the read model made again from the outbox's history;
//! - [`grpc`] — `aftercare.insight.v1.InsightService`.

pub mod grpc;
pub mod projection;
pub mod rebuild;
pub mod store;

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::outbox::EventHandler;
use aftercare_platform::registry::{ServiceDef, no_jobs};
use tonic::service::RoutesBuilder;

/// Insight as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "insight",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers,
    jobs: no_jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::InsightGrpc::server(ctx.clone()));
}

fn consumers(_: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    vec![Arc::new(projection::ReadModel)]
}
