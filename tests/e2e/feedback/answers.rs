//! Answers: from the customer's token or the survey's link, one per
//! survey, changed for seven days; never another customer's.

use aftercare_platform::auth::Role;
use aftercare_proto::common::Channel;
use aftercare_proto::feedback::SurveyStatus;
use tonic::Code;

use super::*;
use crate::support::{reason, start_time};

async fn sent_survey(app: &TestApp, customer: &str, case_id: &str) -> Survey {
    tell(
        app,
        &[Told {
            case_id,
            customer,
            reason: "",
            agent: "",
        }],
    )
    .await;
    let survey = surveys_of(app, customer)
        .await
        .into_iter()
        .find(|s| s.case_id == case_id)
        .unwrap();
    assert_eq!(survey.status, SurveyStatus::Sent as i32);
    survey
}

/// FeedbackSubmitted events of first answers.
async fn first_answers(app: &TestApp) -> usize {
    use prost::Message;
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT payload FROM platform.outbox_events WHERE topic = 'aftercare.feedback.events.v1.FeedbackSubmitted'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    payloads
        .iter()
        .filter(|p| {
            !aftercare_proto::feedback_events::FeedbackSubmitted::decode(p.as_slice())
                .unwrap()
                .changed
        })
        .count()
}

#[tokio::test]
async fn an_answer_is_given_once_and_changed_for_seven_days() {
    let app = TestApp::spawn().await;
    let survey = sent_survey(&app, CUSTOMER, "r-1").await;
    let id = survey.survey_id.as_str();
    let answered = submit(&app, CUSTOMER, answer(id, 4, Some(9), "quick refund"))
        .await
        .unwrap();
    assert_eq!(answered.status, SurveyStatus::Answered as i32);
    let a = answered.answer.clone().unwrap();
    assert_eq!((a.csat, a.nps, a.comment.as_str()), (4, Some(9), "quick refund"));
    assert_eq!(
        a.channel,
        Channel::MobileApp as i32,
        "a customer token answers from the app"
    );
    assert_eq!(a.follow_up_id, "", "a happy answer needs no follow-up");
    assert_eq!(events(&app, "FeedbackSubmitted").await, 1);
    app.clock
        .set(start_time() + chrono::Duration::days(7) - chrono::Duration::seconds(1));
    let changed = submit(&app, CUSTOMER, answer(id, 5, None, "")).await.unwrap();
    let a = changed.answer.unwrap();
    assert_eq!((a.csat, a.nps, a.comment.as_str()), (5, None, ""));
    assert_eq!(a.answered_at, ts(start_time()), "still answered when it was first");
    assert_eq!(first_answers(&app).await, 1, "a change is no first answer");
    assert_eq!(events(&app, "FeedbackSubmitted").await, 2, "but it is told");
    app.clock.set(start_time() + chrono::Duration::days(7));
    let closed = submit(&app, CUSTOMER, answer(id, 1, None, "")).await.unwrap_err();
    assert_eq!(
        (closed.code(), reason(&closed).as_str()),
        (Code::FailedPrecondition, "ANSWER_CLOSED")
    );
    let kept = only_survey(&app, CUSTOMER).await.answer.unwrap();
    assert_eq!(kept.csat, 5, "the refused change wrote nothing");
}

#[tokio::test]
async fn a_link_answers_its_survey_only_until_it_expires() {
    let app = TestApp::spawn().await;
    let survey = sent_survey(&app, CUSTOMER, "r-1").await;
    let other = sent_survey(&app, "c-2", "r-2").await;
    let token = link_token(&app, &survey.survey_id).await;
    let other_token = link_token(&app, &other.survey_id).await;
    let id = survey.survey_id.as_str();

    // Tampered: each part changed; another survey's; none at all.
    let (payload, tag) = token.split_once('.').unwrap();
    let flip = |s: &str| {
        let mut b = s.as_bytes().to_vec();
        b[3] = if b[3] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    };
    for bad in [
        format!("{}.{tag}", flip(payload)),
        format!("{payload}.{}", flip(tag)),
        other_token.clone(),
        "x".repeat(64),
    ] {
        let refused = submit_by_link(&app, answer(id, 1, None, "no"), &bad).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{bad}: {refused:?}");
    }
    let anonymous = app
        .feedback_with(Bearer::none())
        .submit_feedback(answer(id, 1, None, ""))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), Code::Unauthenticated);
    // A bad link learns nothing of a survey that does not exist either.
    let missing = submit_by_link(&app, answer(&uuid::Uuid::now_v7().to_string(), 1, None, ""), &token)
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert_eq!(
        only_survey(&app, CUSTOMER).await.status,
        SurveyStatus::Sent as i32,
        "nothing written"
    );

    // The right one answers, from e-mail.
    let answered = submit_by_link(&app, answer(id, 3, None, ""), &token).await.unwrap();
    assert_eq!(answered.answer.unwrap().channel, Channel::Email as i32);
    // Past the survey's end the link is refused: the other survey's own
    // link expired with it.
    app.clock.set(start_time() + chrono::Duration::days(30));
    let expired = submit_by_link(&app, answer(&other.survey_id, 4, None, ""), &other_token)
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert!(expired.message().contains("expired"), "{expired:?}");
}

#[tokio::test]
async fn another_customers_survey_is_not_found() {
    let app = TestApp::spawn().await;
    let survey = sent_survey(&app, CUSTOMER, "r-1").await;
    let id = survey.survey_id.clone();
    let mut intruder = app.feedback(Role::Customer, "c-2");
    let get = intruder
        .get_survey(GetSurveyRequest { survey_id: id.clone() })
        .await
        .unwrap_err();
    let answer_it = intruder
        .submit_feedback(answer(&id, 1, None, "mine now"))
        .await
        .unwrap_err();
    let delete = intruder
        .delete_feedback_comment(DeleteFeedbackCommentRequest { survey_id: id.clone() })
        .await
        .unwrap_err();
    let list = intruder
        .list_surveys(ListSurveysRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    for status in [get, answer_it, delete, list] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
    assert_eq!(only_survey(&app, CUSTOMER).await, survey, "untouched");
}

#[tokio::test]
async fn racing_answers_make_one_answer_one_event_and_one_follow_up() {
    let app = TestApp::spawn().await;
    let survey = sent_survey(&app, CUSTOMER, "r-1").await;
    let token = link_token(&app, &survey.survey_id).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (app_feedback, request) = if i % 2 == 0 {
                (
                    app.feedback(Role::Customer, CUSTOMER),
                    answer(&survey.survey_id, 1, Some(2), "bad"),
                )
            } else {
                let mut r = answer(&survey.survey_id, 2, None, "bad");
                r.link_token = token.clone();
                (app.feedback_with(Bearer::none()), r)
            };
            let mut client = app_feedback;
            tokio::spawn(async move { client.submit_feedback(request).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(first_answers(&app).await, 1);
    assert_eq!(events(&app, "FeedbackSubmitted").await, 12, "each answer told");
    assert_eq!(events(&app, "FollowUpOpened").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM feedback.follow_ups").await, 1);
}

#[tokio::test]
async fn a_deleted_comment_is_gone_everywhere_and_the_scores_stay() {
    let app = TestApp::spawn().await;
    let survey = sent_survey(&app, CUSTOMER, "r-1").await;
    let id = survey.survey_id.clone();
    let marker = "my phone is 555-0199";
    submit(&app, CUSTOMER, answer(&id, 1, Some(0), marker)).await.unwrap();
    let deleted = app
        .feedback(Role::Customer, CUSTOMER)
        .delete_feedback_comment(DeleteFeedbackCommentRequest { survey_id: id.clone() })
        .await
        .unwrap()
        .into_inner()
        .answer
        .unwrap();
    assert_eq!(
        (deleted.csat, deleted.comment.as_str(), deleted.comment_deleted),
        (1, "", true)
    );
    let follow_up = app
        .feedback(Role::Agent, "agent-1")
        .get_follow_up(GetFollowUpRequest {
            follow_up_id: deleted.follow_up_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (follow_up.comment.as_str(), follow_up.csat),
        ("", 1),
        "the agent no longer sees it"
    );
    // Nowhere in the schema, nor in any event.
    let left = app
        .count(
            "SELECT (SELECT count(*) FROM feedback.surveys WHERE comment LIKE '%555-0199%')
                  + (SELECT count(*) FROM platform.outbox_events WHERE position('555-0199' in encode(payload, 'escape')) > 0)",
        )
        .await;
    assert_eq!(left, 0, "{marker} left behind");
}
