//! Warranty's use cases, free of transport. Each mutating one runs the
//! platform's unit of work: begin -> (claim the request_id) -> load with a
//! lock -> ask the domain -> store -> emit events -> commit.
//!
//! - [`terms`] — terms and business calendars;
//! - [`cache`] — terms versions and the default calendar kept in memory;
//! - [`registrations`] — registering products (from deliveries, by hand),
//!   verifying them, and whether they are covered;
//! - [`claims`] — filing claims and taking them through their lifecycle,
//!   with their service-level clocks;
//! - [`sla`] — the job raising at-risk and breached alarms, each once;
//! - [`service`] — repairs at service centres;
//! - [`remedies`] — replacements, and money paid back once;
//! - [`extensions`] — extended-warranty plans, canceled and paid back once.

pub mod cache;
pub mod claims;
pub mod extensions;
pub mod registrations;
pub mod remedies;
pub mod service;
pub mod sla;
pub mod terms;

use aftercare_kernel::channel::Channel;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;

use crate::domain::{ClaimStatus, TimelineEntry, WarrantyError};

pub struct Warranty {
    ctx: ServiceContext,
    cache: cache::Cache,
}

impl Warranty {
    pub fn new(ctx: ServiceContext) -> Warranty {
        Warranty {
            ctx,
            cache: cache::Cache::default(),
        }
    }

    /// The service clock's now, for answers that show running clocks.
    pub fn now(&self) -> DateTime<Utc> {
        self.ctx.clock.now()
    }
}

/// Another customer's data is as absent as a missing one.
fn visible(caller: &Caller, customer_id: &str, what: &'static str, id: impl ToString) -> Result<(), Error> {
    if caller.may_see_customer(customer_id) {
        Ok(())
    } else {
        Err(WarrantyError::not_found(what, id.to_string()).into())
    }
}

/// A timeline entry by `caller` (or the system when `None`).
fn entry(
    caller: Option<&Caller>,
    status: Option<ClaimStatus>,
    text: String,
    channel: Option<Channel>,
    customer_visible: bool,
    at: DateTime<Utc>,
) -> TimelineEntry {
    TimelineEntry {
        at,
        status,
        text,
        actor_role: caller.map_or("system", |c| c.role.as_str()).to_owned(),
        channel,
        customer_visible,
    }
}
