//! The shared runtime of aftercare's services: errors and their gRPC mapping,
//! SQLSTATE mapping, authentication and the role layer, idempotency, the unit
//! of work, the transactional outbox and its dispatcher, paging, telemetry,
//! the service registry, signed webhooks, wire forms of kernel types, and
//! the database (including the embedded Postgres default).
//!
//! The I/O-free core (money, clock, ids, input checks) is
//! `aftercare-kernel`, re-exported here as [`kernel`].

pub mod access;
pub mod auth;
pub mod context;
pub mod db;
pub mod embedded;
pub mod error;
pub mod idempotency;
pub mod jobs;
pub mod outbox;
pub mod paging;
pub mod ratelimit;
pub mod registry;
pub mod sqlstate;
pub mod telemetry;
pub mod uow;
pub mod webhook;
pub mod wire;

pub use aftercare_kernel as kernel;
pub use aftercare_kernel::{clock, validate};
pub use error::{Error, Result, Violations};
