//! `aftercare.feedback.v1.FeedbackService`: parse, call the app, convert.
//! Who may call what is the role table below; `SubmitFeedback` is also
//! open without a token, to the holder of a survey's link.

pub mod convert;
mod errors;
mod parse;

use std::sync::Arc;

use aftercare_platform::auth::{Caller, Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_proto::feedback as pb;
use aftercare_proto::feedback::feedback_service_server::{FeedbackService, FeedbackServiceServer};
use tonic::{Request, Response, Status};

use crate::app::Feedback;
use crate::app::answers::Answerer;
use Role::{Admin, Agent, Customer, Service};

/// Who may call what. Customers see and answer their own surveys only.
pub const ROLES: RoleTable = &[
    ("GetSurvey", &[Customer, Agent, Admin, Service]),
    ("ListSurveys", &[Customer, Agent, Admin, Service]),
    ("SubmitFeedback", &[Customer]),
    ("DeleteFeedbackComment", &[Customer, Admin]),
    ("ListFollowUps", &[Agent, Admin]),
    ("GetFollowUp", &[Agent, Admin]),
    ("CloseFollowUp", &[Agent, Admin]),
    ("GetFeedbackSummary", &[Agent, Admin]),
    ("GetFeedbackSettings", &[Agent, Admin]),
    ("UpdateFeedbackSettings", &[Admin]),
];

/// Callable without a token: the handler then asks for the survey link's.
pub const ANONYMOUS: &[&str] = &["SubmitFeedback"];

pub const SERVICE_NAME: &str = pb::feedback_service_server::SERVICE_NAME;

type Answer<T> = Result<Response<T>, Status>;

pub struct FeedbackGrpc {
    app: Arc<Feedback>,
}

impl FeedbackGrpc {
    pub fn server(app: Arc<Feedback>) -> FeedbackServiceServer<FeedbackGrpc> {
        FeedbackServiceServer::new(FeedbackGrpc { app })
    }
}

#[tonic::async_trait]
impl FeedbackService for FeedbackGrpc {
    async fn get_survey(&self, request: Request<pb::GetSurveyRequest>) -> Answer<pb::Survey> {
        let caller = caller(&request)?;
        let id = parse::survey_id(&request.get_ref().survey_id)?;
        Ok(Response::new(convert::shown(&self.app.survey(&caller, id).await?)))
    }

    async fn list_surveys(&self, request: Request<pb::ListSurveysRequest>) -> Answer<pb::ListSurveysResponse> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        parse::customer_id(&r.customer_id)?;
        let page = self
            .app
            .surveys(&caller, &r.customer_id, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListSurveysResponse {
            // A list shows no follow-up ids; GetSurvey does.
            surveys: page.surveys.iter().map(|s| convert::survey(s, None)).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn submit_feedback(&self, request: Request<pb::SubmitFeedbackRequest>) -> Answer<pb::Survey> {
        // With a token the auth layer admitted a customer; without one,
        // the link's token is the only credential.
        let admitted: Option<Caller> = request.extensions().get::<Caller>().cloned();
        let r = request.get_ref();
        let (id, given) = parse::submission(r)?;
        let who = match (&admitted, r.link_token.as_str()) {
            (Some(caller), _) => Answerer::Caller(caller),
            (None, "") => {
                return Err(
                    Error::Unauthenticated("a customer token or the survey's link_token is required".into()).into(),
                );
            }
            (None, token) => Answerer::Link(token),
        };
        Ok(Response::new(convert::shown(&self.app.submit(who, id, given).await?)))
    }

    async fn delete_feedback_comment(&self, request: Request<pb::DeleteFeedbackCommentRequest>) -> Answer<pb::Survey> {
        let caller = caller(&request)?;
        let id = parse::survey_id(&request.get_ref().survey_id)?;
        Ok(Response::new(convert::shown(
            &self.app.delete_comment(&caller, id).await?,
        )))
    }

    async fn list_follow_ups(&self, request: Request<pb::ListFollowUpsRequest>) -> Answer<pb::ListFollowUpsResponse> {
        caller(&request)?;
        let r = request.get_ref();
        let status = parse::follow_up_status(r.status)?;
        let page = self.app.follow_ups(status, r.page_size, &r.page_token).await?;
        Ok(Response::new(pb::ListFollowUpsResponse {
            follow_ups: page.follow_ups.iter().map(convert::follow_up).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_follow_up(&self, request: Request<pb::GetFollowUpRequest>) -> Answer<pb::FollowUp> {
        caller(&request)?;
        let id = parse::follow_up_id(&request.get_ref().follow_up_id)?;
        Ok(Response::new(convert::follow_up(&self.app.follow_up(id).await?)))
    }

    async fn close_follow_up(&self, request: Request<pb::CloseFollowUpRequest>) -> Answer<pb::FollowUp> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (id, closing) = parse::closing(r)?;
        let closed = self.app.close_follow_up(&caller, id, closing, &r.request_id).await?;
        Ok(Response::new(convert::follow_up(&closed)))
    }

    async fn get_feedback_summary(
        &self,
        request: Request<pb::GetFeedbackSummaryRequest>,
    ) -> Answer<pb::FeedbackSummary> {
        let caller = caller(&request)?;
        let query = parse::summary(request.get_ref())?;
        Ok(Response::new(convert::summary(
            &self.app.summary(&caller, &query).await?,
        )))
    }

    async fn get_feedback_settings(
        &self,
        request: Request<pb::GetFeedbackSettingsRequest>,
    ) -> Answer<pb::FeedbackSettings> {
        caller(&request)?;
        Ok(Response::new(convert::settings(&self.app.settings().await?)))
    }

    async fn update_feedback_settings(
        &self,
        request: Request<pb::UpdateFeedbackSettingsRequest>,
    ) -> Answer<pb::FeedbackSettings> {
        caller(&request)?;
        let settings = parse::settings(request.get_ref().settings.as_ref())?;
        Ok(Response::new(convert::settings(
            &self.app.update_settings(settings).await?,
        )))
    }
}
