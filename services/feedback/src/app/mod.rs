//! Feedback's use cases, free of transport. Each mutating one runs the
//! platform's unit of work.
//!
//! - [`cases`] — a survey per resolved case, and the job sending each
//!   when its moment comes;
//! - [`answers`] — reading, answering (with a token or a link), deleting
//!   a comment;
//! - [`follow_ups`] — unhappy answers' follow-ups, closed with goodwill,
//!   and the job raising their breaches;
//! - [`figures`] — the summary, and the settings.

pub mod answers;
pub mod cases;
pub mod figures;
pub mod follow_ups;

use aftercare_platform::auth::Caller;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::error::Error;
use tokio::sync::OnceCell;

use crate::domain::FeedbackError;
use crate::domain::link::LinkKey;
use crate::store;

pub struct Feedback {
    ctx: ServiceContext,
    /// Read once: it never changes.
    key: OnceCell<LinkKey>,
}

impl Feedback {
    pub fn new(ctx: ServiceContext) -> Feedback {
        Feedback {
            ctx,
            key: OnceCell::new(),
        }
    }

    /// The key survey links are signed with, read once.
    async fn key(&self) -> Result<&LinkKey, Error> {
        self.key
            .get_or_try_init(|| async { store::settings::link_key(&mut *self.ctx.read().await?).await })
            .await
    }
}

/// Another customer's survey is as absent as a missing one.
fn visible(caller: &Caller, customer_id: &str, what: &'static str, id: impl ToString) -> Result<(), Error> {
    if caller.may_see_customer(customer_id) {
        Ok(())
    } else {
        Err(FeedbackError::not_found(what, id.to_string()).into())
    }
}

fn actor(caller: &Caller) -> String {
    format!("{}:{}", caller.role, caller.subject)
}
