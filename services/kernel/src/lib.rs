//! The I/O-free core every aftercare domain is written on: [`money`]
//! (currencies and currency-checked arithmetic), [`percent`], the [`clock`],
//! customers' local days and working days ([`zone`]), when a customer may
//! be contacted ([`contact_hours`]), time as a service
//! clock counts it ([`working_time`]), typed [`ids`],
//! [`channel`]s, input checks ([`violations`], [`validate`]), a content
//! [`fingerprint`], and satisfaction figures (CSAT, NPS: [`satisfaction`]).
//!
//! Nothing here reaches the network, a database or a runtime; `cargo tree -p
//! aftercare-kernel` shows no tonic, prost, sqlx, tokio or jsonwebtoken. Domain
//! modules import from this crate and `std` only, which is why the decimal
//! and time types they use are re-exported here.

pub mod channel;
pub mod clock;
pub mod contact_hours;
pub mod currency;
pub mod fingerprint;
pub mod ids;
pub mod money;
pub mod named;
pub mod percent;
pub mod satisfaction;
pub mod validate;
pub mod violations;
pub mod working_time;
pub mod zone;

pub use chrono::{DateTime, Datelike, Duration, LocalResult, Months, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
pub use currency::Currency;
pub use money::{Money, MoneyError};
pub use percent::Percent;
pub use rust_decimal::{Decimal, RoundingStrategy};
pub use violations::{InvalidInput, Violation, Violations};
