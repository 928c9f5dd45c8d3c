//! Feedback errors as gRPC statuses, in one place.

use aftercare_platform::error::Error;

use crate::domain::FeedbackError;

impl From<FeedbackError> for Error {
    fn from(e: FeedbackError) -> Error {
        let message = e.to_string();
        match e {
            FeedbackError::NotFound { .. } => Error::NotFound(message),
            FeedbackError::NotSent => Error::precondition("SURVEY_NOT_SENT", message),
            FeedbackError::SurveyExpired(_) => Error::precondition("SURVEY_EXPIRED", message),
            FeedbackError::AnswerClosed => Error::precondition("ANSWER_CLOSED", message),
            FeedbackError::FollowUpClosed => Error::precondition("FOLLOW_UP_CLOSED", message),
            FeedbackError::GoodwillOverLimit { limit } => {
                Error::precondition("GOODWILL_OVER_LIMIT", message).with_metadata("limit", limit.to_string())
            }
            FeedbackError::Link(_) => Error::Unauthenticated(message),
            FeedbackError::Corrupt(_) => Error::internal(message),
        }
    }
}
