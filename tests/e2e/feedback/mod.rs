//! FeedbackService end to end, on helpers shared here:
//! - [`surveys`] — one survey per resolved case (duplicate events, three
//!   servers), sent at an allowed hour, held back for opted-out or
//!   recently asked customers;
//! - [`answers`] — answers with a token or a link (tampered, expired,
//!   another survey's), changes for seven days, races, deleted comments;
//! - [`campaigns`] — survey campaigns' bonus, once per survey;
//! - [`follow_ups`] — unhappy answers' follow-ups, their breach, closing
//!   with goodwill credited once;
//! - [`notifier`] — the signed message with the link's token, which no
//!   event carries; a retry in quiet hours waits for the morning;
//! - [`figures`] — the summary against figures computed by hand;
//! - [`access`] — every role against every RPC, hostile input;
//! - [`rest`] — a link answering over the REST gateway without a token.

mod access;
mod answers;
mod campaigns;
mod figures;
mod follow_ups;
mod notifier;
mod rest;
mod surveys;

use aftercare_platform::auth::Role;
use aftercare_proto::common::Channel;
use aftercare_proto::feedback::*;
use aftercare_proto::feedback_events::SurveyRequested;
use aftercare_proto::orders::RecordDeliveryRequest;
use aftercare_proto::return_events::{ReturnCanceled, ReturnSummary};
use aftercare_proto::returns::CancelReturnRequest;
use aftercare_proto::warranty_events::ClaimResolved;
use prost::Message;

use crate::fixtures::{order, ts};
use crate::returns::{create, refund_item};
use crate::support::{Bearer, TestApp};

const CUSTOMER: &str = "c-1";

/// A return of `customer` that they canceled: a resolved case, made the
/// real way through orders and returns. Its id.
async fn canceled_return(app: &TestApp, order_id: &str, customer: &str) -> String {
    use aftercare_platform::clock::Clock;
    let mut storefront = app.storefront();
    storefront.record_order(order(order_id, customer)).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: order_id.into(),
            delivered_at: ts(app.clock.now()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
    let mut returns = app.returns(Role::Customer, customer);
    let r = returns
        .create_return(create(order_id, vec![refund_item("L1", 1)]))
        .await
        .unwrap()
        .into_inner();
    returns
        .cancel_return(CancelReturnRequest {
            return_id: r.return_id.clone(),
            reason: "changed my mind".into(),
        })
        .await
        .unwrap();
    app.settle().await;
    r.return_id
}

/// A resolved case told by its event alone, as a service would write it:
/// a canceled return (`agent` empty) or a resolved claim.
struct Told<'a> {
    case_id: &'a str,
    customer: &'a str,
    reason: &'a str,
    agent: &'a str,
}

async fn tell(app: &TestApp, cases: &[Told<'_>]) {
    use aftercare_platform::clock::Clock;
    let now = app.clock.now();
    let mut tx = app.pool.begin().await.unwrap();
    for c in cases {
        if c.agent.is_empty() {
            let event = ReturnCanceled {
                summary: Some(ReturnSummary {
                    return_id: c.case_id.into(),
                    customer_id: c.customer.into(),
                    reason: c.reason.into(),
                    channel: Channel::Web as i32,
                    ..Default::default()
                }),
            };
            aftercare_platform::outbox::enqueue(&mut tx, c.case_id, &event, now)
                .await
                .unwrap();
        } else {
            let event = ClaimResolved {
                claim_id: c.case_id.into(),
                customer_id: c.customer.into(),
                remedy: "repair".into(),
                resolved_at: ts(now),
                fault_category: c.reason.into(),
                reviewer: c.agent.into(),
                channel: Channel::Web as i32,
            };
            aftercare_platform::outbox::enqueue(&mut tx, c.case_id, &event, now)
                .await
                .unwrap();
        }
    }
    tx.commit().await.unwrap();
    app.settle().await;
}

/// Every survey of `customer`, newest first (as an agent reads them).
async fn surveys_of(app: &TestApp, customer: &str) -> Vec<Survey> {
    app.feedback(Role::Agent, "agent-1")
        .list_surveys(ListSurveysRequest {
            customer_id: customer.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .surveys
}

/// The one survey of `customer`.
async fn only_survey(app: &TestApp, customer: &str) -> Survey {
    let mut surveys = surveys_of(app, customer).await;
    assert_eq!(surveys.len(), 1, "{surveys:?}");
    surveys.remove(0)
}

/// The SurveyRequested events written for `survey_id`.
async fn requests(app: &TestApp, survey_id: &str) -> Vec<SurveyRequested> {
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM platform.outbox_events
          WHERE topic = 'aftercare.feedback.events.v1.SurveyRequested' AND aggregate_id = $1",
    )
    .bind(survey_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    payloads
        .iter()
        .map(|p| SurveyRequested::decode(p.as_slice()).unwrap())
        .collect()
}

/// The link token the notifier posts for a survey sent once (signed as
/// the notifier signs it, with the service's key; `notifier` checks a real
/// post carries the same).
async fn link_token(app: &TestApp, survey_id: &str) -> String {
    let sent = requests(app, survey_id).await;
    assert_eq!(sent.len(), 1, "sent once");
    let mut conn = app.pool.acquire().await.unwrap();
    let key = aftercare_feedback::store::settings::link_key(&mut conn).await.unwrap();
    let expires_at = aftercare_platform::wire::from_timestamp(sent[0].expires_at.as_ref().unwrap()).unwrap();
    key.sign(
        aftercare_feedback::domain::SurveyId::parse(survey_id).unwrap(),
        expires_at,
    )
}

fn answer(survey_id: &str, csat: i32, nps: Option<i32>, comment: &str) -> SubmitFeedbackRequest {
    SubmitFeedbackRequest {
        survey_id: survey_id.into(),
        csat,
        nps,
        comment: comment.into(),
        ..Default::default()
    }
}

/// Answers as the survey's customer, with their token.
async fn submit(app: &TestApp, customer: &str, request: SubmitFeedbackRequest) -> Result<Survey, tonic::Status> {
    app.feedback(Role::Customer, customer)
        .submit_feedback(request)
        .await
        .map(|r| r.into_inner())
}

/// Answers with the link's token, without logging in.
async fn submit_by_link(
    app: &TestApp,
    mut request: SubmitFeedbackRequest,
    token: &str,
) -> Result<Survey, tonic::Status> {
    request.link_token = token.into();
    app.feedback_with(Bearer::none())
        .submit_feedback(request)
        .await
        .map(|r| r.into_inner())
}

async fn events(app: &TestApp, topic: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM platform.outbox_events WHERE topic = $1")
        .bind(format!("aftercare.feedback.events.v1.{topic}"))
        .fetch_one(&app.pool)
        .await
        .unwrap()
}
