//! Maintenance's rules, free of transport and storage: when a task falls
//! due ([`recurrence`]: calendar months without drift, fixed or
//! completion-anchored, meter thresholds), when a customer may be contacted
//! ([`timing`]: local time, quiet and preferred hours, daylight saving),
//! and which reminders an occurrence gets ([`reminder`]).

pub mod recurrence;
pub mod reminder;
pub mod timing;

pub use recurrence::{Anchor, Interval, Recurrence, UsageThreshold};
pub use reminder::{ReminderKind, ReminderRule};
pub use timing::{ContactHours, DailySpan};
