//! `aftercare.events.v1.EventService`: the outbox as a stream for internal
//! tools (refund automations, reporting, audits). Events get their stream
//! position from each server's positioner while that server has
//! subscribers, or from the webhook job while a webhook is live, or from
//! the NATS relay (`store::position_pending`), so a deployment with none
//! of them pays one index entry per event for the stream.
//!
//! - `topics`: the event topics a subscriber may name (the contracts'
//!   `aftercare.<area>.events.v1` messages);
//! - `store`: positions and reads;
//! - `stream`: one subscriber's feed, its queue's bound and the server's
//!   subscriber limit;
//! - `grpc`: the RPC and its role table;
//! - `relay`: the same events published to NATS JetStream (`--nats-url`);
//! - `webhooks`: the same events posted to admin-registered endpoints
//!   (`WebhookService`, `--services webhooks`).

mod grpc;
pub mod relay;
pub mod store;
mod stream;
pub mod topics;
pub mod webhooks;

use aftercare_platform::context::ServiceContext;
use std::sync::Arc;

use aftercare_platform::jobs::Job;
use aftercare_platform::registry::{ServiceDef, no_consumers};
use tonic::service::RoutesBuilder;

pub use stream::{BUFFERED, MAX_FEEDS, STALL, slow_consumers_cut_off};

/// The event stream as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "events",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers: no_consumers,
    jobs,
};

/// The NATS relay, when the server has a NATS URL.
fn jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    match &ctx.nats_url {
        Some(url) => vec![Arc::new(relay::Relay::new(ctx.pool.clone(), url.clone()))],
        None => Vec::new(),
    }
}

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::EventsGrpc::server(ctx.clone()));
}

/// Webhooks per topic, as the server runs them: the admin RPCs and the
/// delivery job.
pub const WEBHOOKS: ServiceDef = ServiceDef {
    name: "webhooks",
    grpc_service: webhooks::SERVICE_NAME,
    roles: webhooks::ROLES,
    anonymous: &[],
    routes: webhook_routes,
    consumers: no_consumers,
    jobs: webhook_jobs,
};

fn webhook_routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(webhooks::WebhooksGrpc::server(ctx.clone()));
}

fn webhook_jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![Arc::new(webhooks::job::Delivery::new(
        ctx.pool.clone(),
        ctx.clock.clone(),
    ))]
}
