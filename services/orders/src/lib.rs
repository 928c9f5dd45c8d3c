//! Order intake: the storefront's paid orders and their deliveries, which
//! every after-sales case starts from.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — intake checks, pricing, delivery and cancellation rules
//!   (pure, on the kernel);
//! - [`store`] — the `orders` schema;
//! - [`events`] — the `aftercare.orders.events.v1` messages it emits;
//! - [`app`] — the use cases, each one unit of work;
//! - [`grpc`] — `aftercare.orders.v1.OrderService`: parse, call, convert.

pub mod app;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod store;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::registry::{ServiceDef, no_consumers, no_jobs};
use tonic::service::RoutesBuilder;

/// Order intake as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "orders",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers: no_consumers,
    jobs: no_jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::OrderGrpc::server(app::Orders::new(ctx.clone())));
}
