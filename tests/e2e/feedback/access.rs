//! Every role against every RPC with real objects, and hostile requests:
//! refused with the field named, nothing written.

use aftercare_platform::auth::Role;
use prost_types::Timestamp;
use tonic::Code;

use super::*;
use crate::support::{start_time, violated_fields};

/// A sent survey of c-1 answered unhappily, and one follow-up per staff
/// role that may close one (a follow-up closes once).
struct Objects {
    survey: String,
    follow_ups: Vec<String>,
}

async fn objects(app: &TestApp) -> Objects {
    let told: Vec<Told> = [("r-1", CUSTOMER), ("r-2", "c-2"), ("r-3", "c-3")]
        .iter()
        .map(|(case_id, customer)| Told {
            case_id,
            customer,
            reason: "",
            agent: "",
        })
        .collect();
    tell(app, &told).await;
    let mut follow_ups = Vec::new();
    let mut survey = String::new();
    for customer in [CUSTOMER, "c-2", "c-3"] {
        let s = only_survey(app, customer).await;
        let answered = submit(app, customer, answer(&s.survey_id, 1, None, "bad"))
            .await
            .unwrap();
        follow_ups.push(answered.answer.unwrap().follow_up_id);
        if customer == CUSTOMER {
            survey = s.survey_id;
        }
    }
    Objects { survey, follow_ups }
}

async fn call(app: &TestApp, role: Role, rpc: &str, o: &Objects, n: usize) -> Result<(), tonic::Status> {
    let mut c = app.feedback(role, if role == Role::Customer { CUSTOMER } else { "staff-1" });
    let survey_id = o.survey.clone();
    match rpc {
        "GetSurvey" => c.get_survey(GetSurveyRequest { survey_id }).await.map(drop),
        "ListSurveys" => c
            .list_surveys(ListSurveysRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "SubmitFeedback" => c.submit_feedback(answer(&survey_id, 2, None, "")).await.map(drop),
        "DeleteFeedbackComment" => c
            .delete_feedback_comment(DeleteFeedbackCommentRequest { survey_id })
            .await
            .map(drop),
        "ListFollowUps" => c.list_follow_ups(ListFollowUpsRequest::default()).await.map(drop),
        "GetFollowUp" => c
            .get_follow_up(GetFollowUpRequest {
                follow_up_id: o.follow_ups[0].clone(),
            })
            .await
            .map(drop),
        "CloseFollowUp" => c
            .close_follow_up(CloseFollowUpRequest {
                follow_up_id: o.follow_ups[n].clone(),
                note: "called".into(),
                goodwill_points: 0,
                request_id: format!("close-{role}"),
            })
            .await
            .map(drop),
        "GetFeedbackSummary" => c
            .get_feedback_summary(GetFeedbackSummaryRequest {
                from: ts(start_time()),
                to: ts(start_time() + chrono::Duration::days(1)),
                ..Default::default()
            })
            .await
            .map(drop),
        "GetFeedbackSettings" => c.get_feedback_settings(GetFeedbackSettingsRequest {}).await.map(drop),
        "UpdateFeedbackSettings" => {
            let settings = c
                .get_feedback_settings(GetFeedbackSettingsRequest {})
                .await
                .map(|s| s.into_inner())
                .unwrap_or_default();
            c.update_feedback_settings(UpdateFeedbackSettingsRequest {
                settings: Some(FeedbackSettings {
                    follow_up_hours: 24,
                    answer_days: 30,
                    ..settings
                }),
            })
            .await
            .map(drop)
        }
        other => panic!("no call for {other}"),
    }
}

#[tokio::test]
async fn every_role_against_every_rpc() {
    use Role::*;
    let app = TestApp::spawn().await;
    let o = objects(&app).await;
    let allowed = |rpc: &str, role: Role| -> bool {
        let roles: &[Role] = match rpc {
            "GetSurvey" | "ListSurveys" => &[Customer, Agent, Admin, Service],
            "SubmitFeedback" => &[Customer],
            "DeleteFeedbackComment" => &[Customer, Admin],
            "ListFollowUps" | "GetFollowUp" | "CloseFollowUp" | "GetFeedbackSummary" | "GetFeedbackSettings" => {
                &[Agent, Admin]
            }
            "UpdateFeedbackSettings" => &[Admin],
            other => panic!("{other}"),
        };
        roles.contains(&role)
    };
    let rpcs: Vec<&str> = aftercare_feedback::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(rpcs.len(), 10, "the matrix covers the table");
    for rpc in rpcs {
        let mut n = 0;
        for role in Role::ALL {
            let result = call(&app, role, rpc, &o, n).await;
            if allowed(rpc, role) {
                assert!(result.is_ok(), "{role} should be able to call {rpc}: {result:?}");
                n += 1;
            } else {
                let status = result.unwrap_err();
                assert_eq!(status.code(), Code::PermissionDenied, "{role} must not call {rpc}");
            }
        }
    }
}

#[tokio::test]
async fn without_a_token_only_submitting_with_a_link_passes_the_door() {
    let app = TestApp::spawn().await;
    let o = objects(&app).await;
    for rpc in aftercare_feedback::grpc::ROLES.iter().map(|(rpc, _)| *rpc) {
        let mut anonymous = app.feedback_with(Bearer::none());
        let status = match rpc {
            "GetSurvey" => anonymous
                .get_survey(GetSurveyRequest {
                    survey_id: o.survey.clone(),
                })
                .await
                .map(drop),
            "ListSurveys" => anonymous
                .list_surveys(ListSurveysRequest {
                    customer_id: CUSTOMER.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
            // Past the door, and then refused for want of a link.
            "SubmitFeedback" => anonymous
                .submit_feedback(answer(&o.survey, 5, None, ""))
                .await
                .map(drop),
            "DeleteFeedbackComment" => anonymous
                .delete_feedback_comment(DeleteFeedbackCommentRequest {
                    survey_id: o.survey.clone(),
                })
                .await
                .map(drop),
            "ListFollowUps" => anonymous
                .list_follow_ups(ListFollowUpsRequest::default())
                .await
                .map(drop),
            "GetFollowUp" => anonymous
                .get_follow_up(GetFollowUpRequest {
                    follow_up_id: o.follow_ups[0].clone(),
                })
                .await
                .map(drop),
            "CloseFollowUp" => anonymous
                .close_follow_up(CloseFollowUpRequest {
                    follow_up_id: o.follow_ups[0].clone(),
                    note: "n".into(),
                    goodwill_points: 0,
                    request_id: "k".into(),
                })
                .await
                .map(drop),
            "GetFeedbackSummary" => anonymous
                .get_feedback_summary(GetFeedbackSummaryRequest::default())
                .await
                .map(drop),
            "GetFeedbackSettings" => anonymous
                .get_feedback_settings(GetFeedbackSettingsRequest {})
                .await
                .map(drop),
            "UpdateFeedbackSettings" => anonymous
                .update_feedback_settings(UpdateFeedbackSettingsRequest::default())
                .await
                .map(drop),
            other => panic!("no call for {other}"),
        }
        .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{rpc}: {status:?}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM feedback.follow_ups WHERE status = 'closed'")
            .await,
        0
    );
}

#[tokio::test]
async fn hostile_requests_are_refused_by_field_and_write_nothing() {
    let app = TestApp::spawn().await;
    let o = objects(&app).await;
    let before = only_survey(&app, CUSTOMER).await;
    let mut customer = app.feedback(Role::Customer, CUSTOMER);
    let mut admin = app.feedback(Role::Admin, "admin-1");
    let far = Some(Timestamp {
        seconds: 253_402_300_800, // year 10000
        nanos: 0,
    });
    let mut cases: Vec<(tonic::Status, &str)> = Vec::new();
    for (request, field) in [
        (answer("", 3, None, ""), "survey_id"),
        (answer("not-a-uuid", 3, None, ""), "survey_id"),
        (answer(&o.survey, 0, None, ""), "csat"),
        (answer(&o.survey, 6, None, ""), "csat"),
        (answer(&o.survey, i32::MIN, None, ""), "csat"),
        (answer(&o.survey, 3, Some(11), ""), "nps"),
        (answer(&o.survey, 3, Some(-1), ""), "nps"),
        (answer(&o.survey, 3, None, &"é".repeat(2001)), "comment"),
        (answer(&o.survey, 3, None, "nul\u{0}byte"), "comment"),
        (
            SubmitFeedbackRequest {
                channel: 99,
                ..answer(&o.survey, 3, None, "")
            },
            "channel",
        ),
        (
            SubmitFeedbackRequest {
                link_token: "t".repeat(10_000),
                ..answer(&o.survey, 3, None, "")
            },
            "link_token",
        ),
    ] {
        cases.push((customer.submit_feedback(request).await.unwrap_err(), field));
    }
    let close = |points: i64, note: &str, request_id: &str| CloseFollowUpRequest {
        follow_up_id: o.follow_ups[0].clone(),
        note: note.into(),
        goodwill_points: points,
        request_id: request_id.into(),
    };
    for (request, field) in [
        (close(-1, "n", "k"), "goodwill_points"),
        (close(i64::MIN, "n", "k"), "goodwill_points"),
        (close(0, "", "k"), "note"),
        (close(0, "n", ""), "request_id"),
        (close(0, "n", &"k".repeat(129)), "request_id"),
    ] {
        cases.push((admin.close_follow_up(request).await.unwrap_err(), field));
    }
    let over = admin.close_follow_up(close(i64::MAX, "n", "k")).await.unwrap_err();
    assert_eq!(crate::support::reason(&over), "GOODWILL_OVER_LIMIT");
    for (request, field) in [
        (
            GetFeedbackSummaryRequest {
                from: ts(start_time()),
                to: ts(start_time()),
                ..Default::default()
            },
            "to",
        ),
        (
            GetFeedbackSummaryRequest {
                from: ts(start_time()),
                to: ts(start_time() + chrono::Duration::days(367)),
                ..Default::default()
            },
            "to",
        ),
        (
            GetFeedbackSummaryRequest {
                from: far,
                to: ts(start_time()),
                ..Default::default()
            },
            "from",
        ),
        (
            GetFeedbackSummaryRequest {
                to: ts(start_time()),
                ..Default::default()
            },
            "from",
        ),
        (
            GetFeedbackSummaryRequest {
                from: ts(start_time()),
                to: ts(start_time() + chrono::Duration::days(1)),
                case_type: 42,
                ..Default::default()
            },
            "case_type",
        ),
    ] {
        cases.push((admin.get_feedback_summary(request).await.unwrap_err(), field));
    }
    for (settings, field) in [
        (
            FeedbackSettings {
                follow_up_hours: 0,
                answer_days: 30,
                ..Default::default()
            },
            "settings.follow_up_hours",
        ),
        (
            FeedbackSettings {
                follow_up_hours: 24,
                answer_days: 30,
                max_goodwill_points: i64::MAX,
                ..Default::default()
            },
            "settings.max_goodwill_points",
        ),
        (
            FeedbackSettings {
                follow_up_hours: 24,
                answer_days: 30,
                low_nps: -2,
                ..Default::default()
            },
            "settings.low_nps",
        ),
    ] {
        let status = admin
            .update_feedback_settings(UpdateFeedbackSettingsRequest {
                settings: Some(settings),
            })
            .await
            .unwrap_err();
        cases.push((status, field));
    }
    for (request, field) in [
        (
            ListSurveysRequest {
                customer_id: "c\u{0}1".into(),
                ..Default::default()
            },
            "customer_id",
        ),
        (
            ListSurveysRequest {
                customer_id: "c".repeat(129),
                ..Default::default()
            },
            "customer_id",
        ),
        (
            ListSurveysRequest {
                customer_id: CUSTOMER.into(),
                page_token: "%%%".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            ListSurveysRequest {
                customer_id: CUSTOMER.into(),
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
    ] {
        cases.push((customer.list_surveys(request).await.unwrap_err(), field));
    }
    let bad_id = customer
        .get_survey(GetSurveyRequest {
            survey_id: "x".repeat(5000),
        })
        .await
        .unwrap_err();
    cases.push((bad_id, "survey_id"));
    let bad_id = customer
        .delete_feedback_comment(DeleteFeedbackCommentRequest { survey_id: "1".into() })
        .await
        .unwrap_err();
    cases.push((bad_id, "survey_id"));
    for reason in ["r".repeat(101), "bell\u{7}".to_owned()] {
        let status = admin
            .get_feedback_summary(GetFeedbackSummaryRequest {
                from: ts(start_time()),
                to: ts(start_time() + chrono::Duration::days(1)),
                reason,
                ..Default::default()
            })
            .await
            .unwrap_err();
        cases.push((status, "reason"));
    }
    let page = admin
        .list_follow_ups(ListFollowUpsRequest {
            page_token: "bm90LWEtdG9rZW4".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    cases.push((page, "page_token"));
    let status = admin
        .list_follow_ups(ListFollowUpsRequest {
            status: 7,
            ..Default::default()
        })
        .await
        .unwrap_err();
    cases.push((status, "status"));
    let id = admin
        .get_follow_up(GetFollowUpRequest {
            follow_up_id: "'; DROP TABLE feedback.surveys; --".into(),
        })
        .await
        .unwrap_err();
    cases.push((id, "follow_up_id"));
    for (status, field) in &cases {
        assert_eq!(violated_fields(status), [field.to_string()], "{status:?}");
    }
    assert_eq!(only_survey(&app, CUSTOMER).await, before, "nothing written");
    assert_eq!(
        app.count("SELECT count(*) FROM feedback.follow_ups WHERE status = 'closed'")
            .await,
        0
    );
    let settings = admin
        .get_feedback_settings(GetFeedbackSettingsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(settings.follow_up_hours, 24, "the defaults stand");
}
