//! Maintenance: service plans per product, reminders sent once and on time
//! in the customer's local time, completion, snooze and opt-out.
//!
//! Layers, each depending only on those before it:
//! - [`domain`] — recurrence, contact hours and reminder planning (pure, on
//!   the kernel).

pub mod domain;
