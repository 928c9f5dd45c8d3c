//! Returns and exchanges.
//!
//! - [`domain`] — policies, eligibility, refund math, the status graph (pure);
//! - [`store`] — the `returns` schema;
//! - [`projection`] — the order facts this service keeps from order events;
//! - [`api`] — `aftercare.returns.v1.ReturnService`.

pub mod api;
mod convert;
pub mod domain;
pub mod projection;
pub mod store;
