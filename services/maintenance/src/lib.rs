//! Maintenance: service plans per product, reminders sent once and on time
//! in the customer's local time, completion and opt-out.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — recurrence, contact hours, reminder planning, plans and
//!   schedules (pure, on the kernel);
//! - [`store`] — the `maintenance` schema;
//! - [`events`] — the `aftercare.maintenance.events.v1` messages it emits;
//! - [`app`] — the use cases, and the reminder job;
//! - [`grpc`] — `aftercare.maintenance.v1.MaintenanceService`;
//! - [`projection`] — warranty's registered products in (each is
//!   scheduled) and its claims (visits are booked for open ones);
//! - [`notifier`] — reminders out, as signed webhooks to the store's
//!   notification provider (when one is configured).

pub mod app;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod notifier;
pub mod projection;
pub mod store;

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::jobs::Job;
use aftercare_platform::outbox::EventHandler;
use aftercare_platform::registry::ServiceDef;
use tonic::service::RoutesBuilder;

/// Maintenance as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "maintenance",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: &[],
    routes,
    consumers,
    jobs,
};

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::MaintenanceGrpc::server(app::Maintenance::new(ctx.clone())));
}

fn consumers(ctx: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    let mut consumers: Vec<Arc<dyn EventHandler>> = vec![
        Arc::new(projection::ProductSchedules {
            clock: ctx.clock.clone(),
        }),
        Arc::new(projection::ClaimVisits {
            clock: ctx.clock.clone(),
        }),
    ];
    if let Some(sender) = &ctx.notifier {
        consumers.push(Arc::new(notifier::ReminderMessages {
            sender: sender.clone(),
            clock: ctx.clock.clone(),
        }));
    }
    consumers
}

fn jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![app::reminders::Reminders::new(ctx.clone())]
}
