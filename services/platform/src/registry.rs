//! What a service is to the server: one [`ServiceDef`] — its gRPC routes,
//! its role table, the event consumers and background jobs it runs. The binary keeps one list of
//! them; adding a service is one entry there.

use std::sync::Arc;

use tonic::service::RoutesBuilder;

use crate::auth::RoleTable;
use crate::context::ServiceContext;
use crate::jobs::Job;
use crate::outbox::EventHandler;

pub struct ServiceDef {
    /// The name `--services` selects it by (`orders`, `returns`).
    pub name: &'static str,
    /// The fully-qualified gRPC service name, for health and the role table.
    pub grpc_service: &'static str,
    /// Who may call each RPC; every RPC of the contract must be listed.
    pub roles: RoleTable,
    /// Methods also callable without a token, whose handler then checks a
    /// credential of its own (a survey link's signed token); a call that
    /// brings a token is authenticated as any other.
    pub anonymous: &'static [&'static str],
    /// Adds the tonic service(s) to the server's routes.
    pub routes: fn(&ServiceContext, &mut RoutesBuilder),
    /// The in-process event consumers this service runs (projections).
    pub consumers: fn(&ServiceContext) -> Vec<Arc<dyn EventHandler>>,
    /// The background jobs this service runs (on every replica).
    pub jobs: fn(&ServiceContext) -> Vec<Arc<dyn Job>>,
}

impl std::fmt::Debug for ServiceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceDef").field("name", &self.name).finish()
    }
}

/// For services that consume no events.
pub fn no_consumers(_: &ServiceContext) -> Vec<Arc<dyn EventHandler>> {
    Vec::new()
}

/// For services without background jobs.
pub fn no_jobs(_: &ServiceContext) -> Vec<Arc<dyn Job>> {
    Vec::new()
}
