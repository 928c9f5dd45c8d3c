//! A survey answered over REST from its e-mail link, with no token: the
//! one route the gateway passes on without a caller.

use http::{Method, StatusCode};
use serde_json::json;

use super::*;
use crate::gateway::{rest, status_name};

#[tokio::test]
async fn a_link_answers_over_rest_without_a_token_and_a_bad_one_is_401() {
    let app = TestApp::spawn().await;
    tell(
        &app,
        &[Told {
            case_id: "r-1",
            customer: CUSTOMER,
            reason: "",
            agent: "",
        }],
    )
    .await;
    let survey = only_survey(&app, CUSTOMER).await;
    let token = link_token(&app, &survey.survey_id).await;
    let path = format!("/v1/surveys/{}:submit", survey.survey_id);
    let body = |link: &str| json!({"csat": 5, "nps": 10, "comment": "great", "linkToken": link});

    let forged = rest(&app, Method::POST, &path, None, Some(body("abc.def")), &[]).await;
    assert_eq!(
        (forged.status, status_name(&forged)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    let bare = rest(&app, Method::POST, &path, None, Some(json!({"csat": 5})), &[]).await;
    assert_eq!(bare.status, StatusCode::UNAUTHORIZED);
    // Other routes still want a token.
    let other = rest(
        &app,
        Method::GET,
        &format!("/v1/surveys/{}", survey.survey_id),
        None,
        None,
        &[],
    )
    .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    // A token that is there is checked, link or not.
    let bad_bearer = rest(&app, Method::POST, &path, Some("not-a-jwt"), Some(body(&token)), &[]).await;
    assert_eq!(bad_bearer.status, StatusCode::UNAUTHORIZED);

    let answered = rest(&app, Method::POST, &path, None, Some(body(&token)), &[]).await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.json);
    assert_eq!(answered.json["status"], "SURVEY_STATUS_ANSWERED");
    assert_eq!(answered.json["answer"]["channel"], "CHANNEL_EMAIL");
    assert_eq!(answered.json["answer"]["csat"], 5);
}
