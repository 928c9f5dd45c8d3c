//! Storage in the `returns` schema: queries returning domain types, and the
//! database constraints turned into domain errors. The transactions are the
//! app's; the rules are the domain's.
//!
//! - [`policies`] — policies and customer flags;
//! - [`orders`] — the order facts kept from order events, units taken and refunded;
//! - [`returns`] — reading returns with their items and timelines, listing;
//! - [`return_writes`] — writing returns, their items and timelines;
//! - [`refunds`] — refunds;
//! - [`warranty_refunds`] — warranty's refunds paid through returns;
//! - [`charges`] — charges of exchange differences.

pub mod charges;
pub mod orders;
pub mod policies;
pub mod refunds;
pub mod return_writes;
pub mod returns;
pub mod warranty_refunds;

use aftercare_kernel::Currency;

use crate::domain::ReturnError;

/// A stored name parsed back into its enum; an unknown one is corrupt data.
fn parse<T>(value: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, ReturnError> {
    f(value).ok_or_else(|| ReturnError::Corrupt(format!("stored {what} {value:?} is unknown")))
}

fn currency(code: &str) -> Result<Currency, ReturnError> {
    parse(code, "currency", Currency::from_code)
}
