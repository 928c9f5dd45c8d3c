//! The `aftercare` binary as a library, so end-to-end tests run the very
//! server `main` runs.
//!
//! - [`cli`] — flags and environment variables;
//! - [`database`] — the configured or embedded Postgres, and migrations;
//! - [`registry`] — every service the binary can run, one entry each;
//! - [`server`] — services, auth, health, reflection, outbox dispatcher, shutdown;
//! - [`health`] — the database probe and the dispatcher's supervisor;
//! - [`admin`] — `/metrics` and `/healthz`;
//! - [`keys`] — where the JWT key comes from.

pub mod admin;
pub mod cli;
pub mod database;
pub mod health;
pub mod keys;
pub mod registry;
pub mod server;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
