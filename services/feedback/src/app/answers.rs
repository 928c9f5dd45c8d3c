//! Surveys read and answered. An answer comes from the customer's own
//! token or, without one, from the survey link's signed token; an unhappy
//! one opens the survey's follow-up (once).

use aftercare_kernel::channel::Channel;
use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::paging;

use super::{Feedback, visible};
use crate::domain::survey::{Answered, Given};
use crate::domain::{FeedbackError, FollowUp, FollowUpId, Survey, SurveyId};
use crate::{events, store};

/// A survey with the id of its follow-up, if one was opened.
pub struct Shown {
    pub survey: Survey,
    pub follow_up: Option<FollowUpId>,
}

pub struct SurveyPage {
    pub surveys: Vec<Survey>,
    pub next_page_token: String,
}

/// Who answers: a caller the auth layer admitted, or the holder of a link.
pub enum Answerer<'a> {
    Caller(&'a Caller),
    Link(&'a str),
}

fn not_found(id: SurveyId) -> Error {
    FeedbackError::not_found("survey", id.to_string()).into()
}

impl Feedback {
    pub async fn survey(&self, caller: &Caller, id: SurveyId) -> Result<Shown, Error> {
        let mut conn = self.ctx.read().await?;
        let survey = store::surveys::get(&mut conn, id, false)
            .await?
            .ok_or_else(|| not_found(id))?;
        visible(caller, &survey.case.customer_id, "survey", id)?;
        let follow_up = store::follow_ups::of_survey(&mut conn, id.as_uuid()).await?;
        Ok(Shown { survey, follow_up })
    }

    pub async fn surveys(
        &self,
        caller: &Caller,
        customer_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<SurveyPage, Error> {
        if caller.role == Role::Customer && caller.subject != customer_id {
            // Named someone else: nothing of theirs exists for this caller.
            return Err(FeedbackError::not_found("customer", customer_id).into());
        }
        let limit = paging::page_size(page_size)?;
        let query = format!("surveys\u{0}{customer_id}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut surveys = store::surveys::of_customer(&mut conn, customer_id, cursor.as_ref(), limit + 1).await?;
        let next_page_token =
            paging::next_token(&mut surveys, limit, &query, |s| (s.created_at, s.survey_id.to_string()));
        Ok(SurveyPage {
            surveys,
            next_page_token,
        })
    }

    pub async fn submit(&self, who: Answerer<'_>, id: SurveyId, mut given: Given) -> Result<Shown, Error> {
        // A link is checked before a transaction is opened or the survey
        // read: a bad one learns nothing, not even whether it exists. It
        // answers from the e-mail it came in, whatever the request says.
        if let Answerer::Link(token) = who {
            let key = self.key().await?;
            key.verify(token, id, self.ctx.clock.now())
                .map_err(FeedbackError::Link)?;
            given.channel = Some(Channel::Email);
        }
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut survey = store::surveys::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| not_found(id))?;
        if let Answerer::Caller(caller) = who {
            visible(caller, &survey.case.customer_id, "survey", id)?;
            given.channel = given.channel.or(Some(Channel::MobileApp));
        }
        let answered = survey.answer(given, now)?;
        store::surveys::update(uow.conn(), &survey).await?;
        let aggregate = id.to_string();
        // Every answer, first or changed: the figures follow the latest.
        let changed = answered == Answered::Changed;
        uow.emit(&aggregate, &events::feedback_submitted(&survey, changed))
            .await?;
        let mut follow_up = store::follow_ups::of_survey(uow.conn(), id.as_uuid()).await?;
        if follow_up.is_none() {
            let settings = store::settings::get(uow.conn()).await?;
            if let Some(f) = FollowUp::open(&survey, &settings, now) {
                store::follow_ups::insert(uow.conn(), &f).await?;
                uow.emit(&f.follow_up_id.to_string(), &events::follow_up_opened(&f))
                    .await?;
                follow_up = Some(f.follow_up_id);
            }
        }
        uow.commit().await?;
        Ok(Shown { survey, follow_up })
    }

    pub async fn delete_comment(&self, caller: &Caller, id: SurveyId) -> Result<Shown, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut survey = store::surveys::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| not_found(id))?;
        visible(caller, &survey.case.customer_id, "survey", id)?;
        if survey.delete_comment(now) {
            store::surveys::update(uow.conn(), &survey).await?;
        }
        let follow_up = store::follow_ups::of_survey(uow.conn(), id.as_uuid()).await?;
        uow.commit().await?;
        Ok(Shown { survey, follow_up })
    }
}
