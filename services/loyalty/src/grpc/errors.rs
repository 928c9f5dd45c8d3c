//! Loyalty errors as gRPC statuses: the one place their codes, reasons and
//! metadata are decided.

use aftercare_platform::error::Error;

use crate::domain::LoyaltyError;

impl From<LoyaltyError> for Error {
    fn from(e: LoyaltyError) -> Error {
        let message = e.to_string();
        match e {
            LoyaltyError::Invalid(invalid) => invalid.into(),
            LoyaltyError::HoldNotFound(_) | LoyaltyError::EntryNotFound | LoyaltyError::RewardNotFound(_) => {
                Error::NotFound(message)
            }
            LoyaltyError::NotACouponReward(_) => Error::precondition("NOT_A_COUPON_REWARD", message),
            LoyaltyError::RewardOutOfStock(_) => Error::precondition("REWARD_OUT_OF_STOCK", message),
            LoyaltyError::RewardKindFixed(_) => Error::precondition("REWARD_KIND_FIXED", message),
            LoyaltyError::InsufficientPoints { available, requested } => {
                Error::precondition("INSUFFICIENT_POINTS", message)
                    .with_metadata("available", available.to_string())
                    .with_metadata("requested", requested.to_string())
            }
            LoyaltyError::BelowMinimum { minimum } => {
                Error::precondition("BELOW_MINIMUM_REDEMPTION", message).with_metadata("minimum", minimum.to_string())
            }
            LoyaltyError::HoldResolved { status } => {
                Error::precondition("HOLD_RESOLVED", message).with_metadata("status", status.to_uppercase())
            }
            LoyaltyError::HoldExpired => Error::precondition("HOLD_EXPIRED", message),
            LoyaltyError::CaptureExceedsHold { held, .. } => {
                Error::precondition("CAPTURE_EXCEEDS_HOLD", message).with_metadata("held", held.to_string())
            }
            LoyaltyError::GrantOverLimit { limit } => {
                Error::precondition("GRANT_OVER_LIMIT", message).with_metadata("limit", limit.to_string())
            }
            LoyaltyError::CurrencyNotInProgram(code) => {
                Error::precondition("CURRENCY_NOT_IN_PROGRAM", message).with_metadata("currency_code", code)
            }
            LoyaltyError::InsufficientCredit { available, requested } => {
                Error::precondition("INSUFFICIENT_STORE_CREDIT", message)
                    .with_metadata("available", available.to_amount_string())
                    .with_metadata("requested", requested.to_amount_string())
                    .with_metadata("currency_code", available.currency().code())
            }
            LoyaltyError::CreditCaptureExceedsHold { held, .. } => {
                Error::precondition("CAPTURE_EXCEEDS_HOLD", message).with_metadata("held", held.to_amount_string())
            }
            LoyaltyError::CurrencyMismatch { .. } => Error::invalid("amount.currency_code", message),
            LoyaltyError::Corrupt(_) => Error::internal(message),
        }
    }
}
