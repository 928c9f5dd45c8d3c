//! Storage in the `warranty` schema. The transactions are the app's; the
//! rules are the domain's.
//!
//! - [`terms`] — terms, one row per version;
//! - [`calendars`] — business calendars per country;
//! - [`order_lines`] — order lines as order events told them;
//! - [`plans`] — extended-warranty plans and the plans sold;
//! - [`registrations`] — registered products;
//! - [`claims`] — claims, their timelines and pauses;
//! - [`service`] — service centres, service orders, money paid back;
//! - [`metrics`] — the support lead's figures.

pub mod calendars;
pub mod claims;
pub mod metrics;
pub mod order_lines;
pub mod plans;
pub mod registrations;
pub mod service;
pub mod terms;

use crate::domain::WarrantyError;

/// A stored name parsed back into its enum; an unknown one is corrupt data.
fn parse<T>(value: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, WarrantyError> {
    f(value).ok_or_else(|| WarrantyError::Corrupt(format!("stored {what} {value:?} is unknown")))
}

/// Stored names parsed back into their enums.
fn parse_all<T>(values: &[String], what: &str, f: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, WarrantyError> {
    values.iter().map(|v| parse(v, what, &f)).collect()
}
