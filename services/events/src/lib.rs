//! `aftercare.events.v1.EventService`: the outbox as a stream for internal
//! tools (refund automations, reporting, audits). Events get their stream
//! position from each server's positioner while that server has
//! subscribers (`store::position_pending`), so a deployment without
//! subscribers pays one index entry per event for the stream.
//!
//! - `topics`: the event topics a subscriber may name (the contracts'
//!   `aftercare.<area>.events.v1` messages);
//! - `store`: positions and reads;
//! - `stream`: one subscriber's feed, its queue's bound and the server's
//!   subscriber limit;
//! - `grpc`: the RPC and its role table.

mod grpc;
pub mod store;
mod stream;
pub mod topics;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::registry::{ServiceDef, no_consumers, no_jobs};
use tonic::service::RoutesBuilder;

pub use stream::{BUFFERED, MAX_FEEDS, STALL, slow_consumers_cut_off};

/// The event stream as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "events",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    routes,
    consumers: no_consumers,
    jobs: no_jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::EventsGrpc::server(ctx.clone()));
}
