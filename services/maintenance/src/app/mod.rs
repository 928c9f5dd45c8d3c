//! Maintenance's use cases, free of transport. Each mutating one runs the
//! platform's unit of work.
//!
//! - [`plans`] — plans per category or SKU, versioned;
//! - [`schedules`] — schedules made from registered products, read, and
//!   completed;
//! - [`appointments`] — centres, slots and visits; [`centres`] — the
//!   centres a server keeps for booking; [`visits`] — how a visit's
//!   customer is reached, and a claim's visit canceled when it closes;
//! - [`controls`] — snooze, dismiss, skip;
//! - [`preferences`] — contact preferences and consent;
//! - [`reminders`] — the job sending each reminder once;
//! - [`usage`] — meter readings bringing occurrences forward.

pub mod appointments;
pub mod centres;
pub mod controls;
pub mod plans;
pub mod preferences;
pub mod reminders;
pub mod schedules;
pub mod usage;
pub mod visits;

use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;

use crate::domain::MaintenanceError;

pub struct Maintenance {
    ctx: ServiceContext,
    centres: centres::Centres,
}

impl Maintenance {
    pub fn new(ctx: ServiceContext) -> Maintenance {
        Maintenance {
            ctx,
            centres: centres::Centres::default(),
        }
    }
}

/// Another customer's data is as absent as a missing one.
fn visible(caller: &Caller, customer_id: &str, what: &'static str, id: impl ToString) -> Result<(), Error> {
    if caller.may_see_customer(customer_id) {
        Ok(())
    } else {
        Err(MaintenanceError::not_found(what, id.to_string()).into())
    }
}
