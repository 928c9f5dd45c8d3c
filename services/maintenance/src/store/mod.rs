//! Storage in the `maintenance` schema: queries returning domain types.
//!
//! - [`appointments`] — appointments and their reminders;
//! - [`centres`] — centres, their opening hours and slots' seats;
//! - [`claims`] — warranty claims visits are booked for;
//! - [`meters`] — products' meter readings;
//! - [`plans`] — plans and their tasks, one row set per version;
//! - [`schedules`] — schedules, the reminders sent and services recorded;
//! - [`summaries`] — a customer's schedules as their app lists them;
//! - [`preferences`] — contact preferences and consent;
//! - [`products`] — registered products, as warranty's events told them.

pub mod appointments;
pub mod centres;
pub mod claims;
pub mod meters;
pub mod plans;
pub mod preferences;
pub mod products;
pub mod schedules;
pub mod summaries;

use crate::domain::MaintenanceError;

/// A stored name parsed back; an unknown one is corrupt data.
fn parse<T>(value: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, MaintenanceError> {
    f(value).ok_or_else(|| MaintenanceError::Corrupt(format!("stored {what} {value:?} is unknown")))
}
