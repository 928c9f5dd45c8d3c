//! The built-in notifier for surveys: each `SurveyRequested` becomes a
//! message in the customer's language posted to the store's notification
//! provider as a signed webhook (the same sender as maintenance's
//! reminders), carrying the link token the provider puts in the survey's
//! link. The token is signed here, as the message is posted: no event
//! holds it. At least once: the receiver drops repeats by `id`, the
//! survey's.
//!
//! A retry can come long after the request: each attempt first checks that
//! the survey still waits for its answer and the customer has not opted
//! out since (else the message is dropped), and that now is within their
//! hours (else the survey is scheduled again for their next allowed
//! moment, and the send job requests it anew then).

use std::sync::Arc;

use aftercare_kernel::clock::SharedClock;
use aftercare_kernel::zone::Tz;
use aftercare_kernel::{DateTime, Utc};
use aftercare_platform::error::Error;
use aftercare_platform::outbox::{self, Event, EventHandler, HandlerFuture};
use aftercare_platform::webhook;
use aftercare_proto::feedback_events::SurveyRequested;
use sqlx::PgConnection;

use crate::domain::message::{self, Language};
use crate::domain::{Survey, SurveyId, SurveyStatus};
use crate::{store, wire};

/// The message type receivers see (`Aftercare-Type`).
pub const MESSAGE_TYPE: &str = "feedback.survey";

pub struct SurveyMessages {
    pub sender: Arc<webhook::Sender>,
    pub clock: SharedClock,
}

impl EventHandler for SurveyMessages {
    fn name(&self) -> &str {
        "feedback.notifier"
    }

    fn topics(&self) -> Vec<String> {
        vec![outbox::topic::<SurveyRequested>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let Some(request) = event.decode::<SurveyRequested>()? else {
                return Ok(());
            };
            let now = self.clock.now();
            let err = |e: Error| e.to_string();
            let Some(survey) = standing(tx, &request, now).await.map_err(err)? else {
                tracing::info!(survey = %request.survey_id, "a survey no longer waits for its answer; not sent");
                return Ok(());
            };
            let token = store::settings::link_key(tx)
                .await
                .map_err(err)?
                .sign(survey.survey_id, survey.expires_at);
            self.sender
                .post(&request.survey_id, MESSAGE_TYPE, message(&request, &token)?, now)
                .await
        })
    }
}

/// The survey, if its message should go out now. One that waits for its
/// answer but whose customer may not be contacted now is scheduled again.
async fn standing(conn: &mut PgConnection, r: &SurveyRequested, now: DateTime<Utc>) -> Result<Option<Survey>, Error> {
    let id = SurveyId::parse(&r.survey_id).ok_or_else(|| Error::internal("survey_id invalid"))?;
    let Some(survey) = store::surveys::get(conn, id, true).await? else {
        return Ok(None);
    };
    if survey.status != SurveyStatus::Sent || now >= survey.expires_at {
        return Ok(None);
    }
    let contact = store::contacts::get(conn, &survey.case.customer_id).await?;
    if contact.opted_out {
        return Ok(None);
    }
    let allowed = contact.hours.next_allowed(now, contact.time_zone.unwrap_or(Tz::UTC));
    if allowed > now {
        store::surveys::unsend(conn, id, allowed).await?;
        return Ok(None);
    }
    Ok(Some(survey))
}

/// The JSON posted for a survey, with its link's token.
pub fn message(r: &SurveyRequested, link_token: &str) -> Result<Vec<u8>, String> {
    let case = wire::case_type_from_proto(r.case_type).ok_or("case_type missing")?;
    let language = Language::of(&r.locale);
    let text = message::survey(language, case);
    let expires_at = outbox::required_time(r.expires_at.as_ref(), "expires_at")?;
    let body = serde_json::json!({
        "id": r.survey_id,
        "type": MESSAGE_TYPE,
        "customer_id": r.customer_id,
        "channels": r.channels,
        "language": language.tag(),
        "title": text.title,
        "body": text.body,
        "survey": {
            "survey_id": r.survey_id,
            "case_type": case.as_str(),
            "case_id": r.case_id,
            "link_token": link_token,
            "expires_at": expires_at.to_rfc3339(),
        },
    });
    serde_json::to_vec(&body).map_err(|e| format!("survey message: {e}"))
}
