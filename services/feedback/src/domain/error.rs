//! What can go wrong with feedback. The API edge maps each variant to a
//! gRPC status and a stable `ErrorInfo` reason, in one place.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("the survey was not sent: it takes no answer")]
    NotSent,
    #[error("the survey stopped taking answers at {0}")]
    SurveyExpired(String),
    #[error(
        "an answer may be changed for {} days after it was given",
        super::survey::CHANGE_DAYS
    )]
    AnswerClosed,
    #[error("the follow-up is closed")]
    FollowUpClosed,
    #[error("a follow-up grants {limit} goodwill points at most")]
    GoodwillOverLimit { limit: i64 },
    #[error("the survey link {0}")]
    Link(super::link::LinkError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl FeedbackError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> FeedbackError {
        FeedbackError::NotFound { what, id: id.into() }
    }
}
