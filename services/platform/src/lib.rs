//! The shared runtime of aftercare's services: errors and their gRPC mapping,
//! authentication and role tables, idempotency, the transactional outbox,
//! money, the clock, paging, telemetry and the database (including the
//! embedded Postgres default).

pub mod auth;
pub mod channel;
pub mod clock;
pub mod context;
pub mod db;
pub mod embedded;
pub mod error;
pub mod idempotency;
pub mod money;
pub mod outbox;
pub mod paging;
pub mod telemetry;
pub mod timestamp;
pub mod validate;

pub use error::{Error, Result, Violations};
