//! Warranty.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — terms, registrations and their coverage on any day in the
//!   customer's time zone, claims and their status graph (pure, on the
//!   kernel);
//! - [`store`] — the `warranty` schema;
//! - [`events`] — the `aftercare.warranty.events.v1` messages it emits;
//! - [`app`] — the use cases;
//! - [`grpc`] — `aftercare.warranty.v1.WarrantyService`: parse, call, convert;
//! - [`projection`] — events in: delivered units register themselves;
//!   refunds paid through returns are settled.

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

/// Warranty as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "warranty",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers,
    jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::WarrantyGrpc::server(app::Warranty::new(ctx.clone())));
}

fn consumers(ctx: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    vec![
        Arc::new(projection::OrderRegistrations {
            clock: ctx.clock.clone(),
        }),
        Arc::new(projection::RefundOutcomes {
            clock: ctx.clock.clone(),
        }),
    ]
}

fn jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![app::sla::SlaAlarms::new(ctx.clone())]
}
