//! Feedback's rules, free of transport and storage: when a survey goes out
//! or is held back ([`survey`]), what an answer may be and when it may
//! change, follow-ups of unhappy answers ([`follow_up`]), the figures
//! ([`figures`]), the admin's [`settings`] and the signed survey links
//! ([`link`]).

pub mod error;
/// Satisfaction figures are the kernel's: service insight counts them too.
pub use aftercare_kernel::satisfaction as figures;
pub mod follow_up;
pub mod link;
pub mod message;
pub mod settings;
pub mod survey;

pub use error::FeedbackError;
pub use follow_up::{FollowUp, FollowUpStatus};
pub use settings::Settings;
pub use survey::{Answer, Case, CaseType, Contact, Suppressed, Survey, SurveyStatus};

aftercare_kernel::uuid_id!(
    /// A survey about one resolved case.
    SurveyId
);

aftercare_kernel::uuid_id!(
    /// An unhappy answer's follow-up.
    FollowUpId
);
