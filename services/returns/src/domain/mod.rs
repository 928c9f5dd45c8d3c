//! The rules of returns, on the kernel only (no transport, no storage, no
//! clock reads):
//!
//! - [`model`] — returns, items, refunds, timelines, the order lines they draw on;
//! - [`policy`] — category policies;
//! - [`eligibility`] — what can be returned now, and why not;
//! - [`pricing`] — unit prices, fees, bonuses, settlements;
//! - [`terms`] — return-level terms combined from the items' policies;
//! - [`triage`] — manual review, automatic approval, keeping the items;
//! - [`lifecycle`] — the status graph, the only way a status changes;
//! - [`error`] — what can go wrong.

pub mod eligibility;
pub mod error;
pub mod lifecycle;
pub mod model;
pub mod perks;
pub mod policy;
pub mod pricing;
pub mod terms;
pub mod triage;

pub use eligibility::{Eligibility, eligibility};
pub use error::ReturnError;
pub use lifecycle::{Actor, Facts, Step, next_status, next_step};
pub use model::*;
pub use perks::Perks;
pub use policy::{PerCurrency, Policy, PolicyPatch, amount_in};
pub use pricing::{PricedUnits, accepted_units, item_refund, next_units_value, settle};
pub use terms::{Policies, Terms};
pub use triage::{Triage, triage};

use aftercare_kernel::Duration;

/// How far back "returns in the last 90 days" looks.
pub const RECENT_RETURNS_WINDOW: Duration = Duration::days(90);
/// How long a customer has to ship an approved return.
pub const SHIP_BY: Duration = Duration::days(14);
