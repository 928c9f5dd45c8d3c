//! The `feedback` schema: [`settings`] and the link key, customers'
//! [`contacts`] as announced, [`surveys`] with their answers,
//! [`follow_ups`], and the counts behind the figures ([`figures`]).

pub mod contacts;
pub mod figures;
pub mod follow_ups;
pub mod settings;
pub mod surveys;

use crate::domain::FeedbackError;

/// A stored name read back into its type; anything else is corruption.
fn parse<T>(value: &str, what: &str, f: impl Fn(&str) -> Option<T>) -> Result<T, FeedbackError> {
    f(value).ok_or_else(|| FeedbackError::Corrupt(format!("stored {what} {value:?}")))
}
