//! Loyalty's rules, free of transport and storage: the program and its
//! arithmetic ([`program`]), how debits are spread over lots ([`ledger`]),
//! how a hold resolves ([`hold`]), how refunds take points back
//! ([`reversal`]), tiers ([`tier`]), campaigns ([`campaign`]), the rewards
//! catalogue ([`reward`]) and store-credit wallets ([`wallet`]).

pub mod campaign;
pub mod error;
pub mod hold;
pub mod ledger;
pub mod program;
pub mod reversal;
pub mod reward;
pub mod tier;
pub mod wallet;

pub use error::LoyaltyError;
pub use hold::{Capture, Hold, HoldStatus};
pub use ledger::{Account, Changes, Entry, EntryKind, Lot, LotFlow, LotMovement, TierStatus, take_earliest_expiring};
pub use program::{CurrencyRate, Program};
pub use reversal::{OrderLot, Reversal, reverse};
pub use reward::{Reward, RewardKind};
pub use tier::{Standing, Tier};
pub use wallet::{CreditEntry, CreditHold, CreditLot, CreditedRefund, Wallet};

aftercare_kernel::uuid_id!(
    /// A hold of points for one checkout.
    HoldId
);
aftercare_kernel::uuid_id!(
    /// One ledger entry.
    EntryId
);
aftercare_kernel::uuid_id!(
    /// One lot of points.
    LotId
);

/// Customer ids, order ids and references are the storefront's.
pub const MAX_ID_LEN: usize = 128;
pub const MAX_REASON_LEN: usize = 500;
/// The longest a hold may last: a checkout, not a reservation.
pub const MAX_HOLD_TTL_SECONDS: i32 = 86_400;
/// Available points expiring within this many days show on the account.
pub const EXPIRING_SOON_DAYS: i64 = 30;
/// More points than any account can sensibly hold; keeps every sum of
/// points far from i64's edge.
pub const MAX_POINTS: i64 = 1_000_000_000_000;
