//! What can go wrong in loyalty. The API edge maps each variant to a gRPC
//! status and a stable `ErrorInfo` reason, in one place.

use aftercare_kernel::{InvalidInput, Money};

use super::HoldId;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoyaltyError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("hold {0} not found")]
    HoldNotFound(HoldId),
    #[error("entry not found")]
    EntryNotFound,
    #[error("not enough points: {available} available, {requested} requested")]
    InsufficientPoints { available: i64, requested: i64 },
    #[error("at least {minimum} points must be used at once")]
    BelowMinimum { minimum: i64 },
    #[error("the hold is already {status}")]
    HoldResolved { status: &'static str },
    #[error("the hold expired")]
    HoldExpired,
    #[error("{requested} points requested but only {held} are held")]
    CaptureExceedsHold { held: i64, requested: i64 },
    #[error("a grant may give at most {limit} points")]
    GrantOverLimit { limit: i64 },
    #[error("no earn rate or point value for currency {0}")]
    CurrencyNotInProgram(String),
    #[error("reward {0:?} not found")]
    RewardNotFound(String),
    #[error("reward {0:?} has no code pool")]
    NotACouponReward(String),
    #[error("reward {0:?} keeps the kind it was created with")]
    RewardKindFixed(String),
    #[error("reward {0:?} is out of stock")]
    RewardOutOfStock(String),
    #[error("not enough store credit: {available} available, {requested} requested")]
    InsufficientCredit { available: Money, requested: Money },
    #[error("{requested} requested but only {held} is held")]
    CreditCaptureExceedsHold { held: Money, requested: Money },
    #[error("the amount is in {got}, the hold in {expected}")]
    CurrencyMismatch { expected: &'static str, got: &'static str },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}
