//! Storage in the `loyalty` schema. The transactions are the app's; the
//! rules are the domain's.
//!
//! - [`program`] — the program and its currency rates;
//! - [`accounts`] — account rows (the per-customer lock) and the ledger's
//!   entries, posted together so balances always equal the ledger;
//! - [`campaigns`] — campaigns and whether an order is a customer's first;
//! - [`lots`] — lots: earning, spending, maturing, expiring;
//! - [`holds`] — holds and the lots they reserved;
//! - [`rewards`] — the rewards catalogue, code pools, redemptions;
//! - [`wallets`] — store-credit wallets, their lots, holds and ledger.

pub mod accounts;
pub mod campaigns;
pub mod holds;
pub mod lots;
pub mod program;
pub mod rewards;
pub mod wallets;

use aftercare_kernel::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::LoyaltyError;

/// A lot's id, points, expiry and creation, as rows and JSON carry them.
type LotRow = (Uuid, i64, Option<DateTime<Utc>>, DateTime<Utc>);
/// A lot's id, points moved and expiry.
type MovedRow = (Uuid, i64, Option<DateTime<Utc>>);

/// A stored name parsed back into its enum; an unknown one is corrupt data.
fn parse<T>(value: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, LoyaltyError> {
    f(value).ok_or_else(|| LoyaltyError::Corrupt(format!("stored {what} {value:?} is unknown")))
}
