//! Feedback: a survey after every resolved case, sent when the customer may
//! be contacted; answers from the app or a signed e-mail link; follow-ups of
//! unhappy answers on a first-response target; the figures.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — surveys, answers, follow-ups, figures, link tokens (pure,
//!   on the kernel);
//! - [`store`] — the `feedback` schema;
//! - [`wire`], [`events`] — the `aftercare.feedback.events.v1` messages;
//! - [`app`] — the use cases, and the jobs sending surveys and raising
//!   follow-ups' breaches;
//! - [`grpc`] — `aftercare.feedback.v1.FeedbackService`;
//! - [`projection`] — resolved returns, claims and maintenance in (each
//!   gets a survey), and maintenance's contact preferences;
//! - [`notifier`] — surveys out, as signed webhooks to the store's
//!   notification provider (when one is configured).

pub mod app;
pub mod domain;
pub mod events;
pub mod grpc;
pub mod notifier;
pub mod projection;
pub mod store;
pub mod wire;

use std::sync::Arc;

use aftercare_platform::context::ServiceContext;
use aftercare_platform::jobs::Job;
use aftercare_platform::outbox::EventHandler;
use aftercare_platform::registry::ServiceDef;
use tonic::service::RoutesBuilder;

/// Feedback as the server runs it.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "feedback",
    grpc_service: grpc::SERVICE_NAME,
    roles: grpc::ROLES,
    anonymous: grpc::ANONYMOUS,
    routes,
    consumers,
    jobs,
};

fn app(ctx: &ServiceContext) -> Arc<app::Feedback> {
    Arc::new(app::Feedback::new(ctx.clone()))
}

fn routes(ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(grpc::FeedbackGrpc::server(app(ctx)));
}

fn consumers(ctx: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    let mut consumers: Vec<Arc<dyn EventHandler>> = vec![
        Arc::new(projection::CaseSurveys {
            clock: ctx.clock.clone(),
        }),
        Arc::new(projection::Contacts),
    ];
    if let Some(sender) = &ctx.notifier {
        consumers.push(Arc::new(notifier::SurveyMessages {
            sender: sender.clone(),
            clock: ctx.clock.clone(),
        }));
    }
    consumers
}

fn jobs(ctx: &ServiceContext) -> Vec<Arc<dyn Job>> {
    vec![
        app::cases::SurveySender::new(ctx.clone()),
        app::follow_ups::Breaches::new(ctx.clone()),
    ]
}
