//! The console's other pages over HTTP: the claims and follow-ups queues,
//! a customer's page (a section per service, one failing alone) and the
//! overview's charts, with values shown as text.

use aftercare_platform::auth::Role;
use aftercare_proto::common::Channel;
use aftercare_proto::feedback::{GetFeedbackSummaryRequest, ListSurveysRequest, SubmitFeedbackRequest};
use aftercare_proto::return_events::{ReturnCanceled, ReturnSummary};
use aftercare_proto::warranty::{FileClaimRequest, ListRegistrationsRequest};
use http::{Method, StatusCode};

use crate::console::{send, sign_in};
use crate::fixtures::ts;
use crate::support::{TestApp, start_time};

/// c-1's delivered order, a claim on one of its units, and an unhappy
/// answer about a canceled return whose comment is markup.
async fn cases(app: &TestApp) -> String {
    crate::console::delivered(app).await;
    let units = app
        .warranty(Role::Agent, "agent-1")
        .list_registrations(ListRegistrationsRequest {
            customer_id: "c-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .registrations;
    let claim = app
        .warranty(Role::Customer, "c-1")
        .file_claim(FileClaimRequest {
            registration_id: units[0].registration_id.clone(),
            fault_category: "does not heat".into(),
            description: "Cold.".into(),
            channel: Channel::MobileApp as i32,
            request_id: "k-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .claim_id;
    let mut tx = app.pool.begin().await.unwrap();
    let event = ReturnCanceled {
        summary: Some(ReturnSummary {
            return_id: "r-9".into(),
            customer_id: "c-1".into(),
            ..Default::default()
        }),
    };
    aftercare_platform::outbox::enqueue(&mut tx, "r-9", &event, start_time())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.settle().await;
    let mut feedback = app.feedback(Role::Customer, "c-1");
    let survey = feedback
        .list_surveys(ListSurveysRequest {
            customer_id: "c-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .surveys
        .remove(0);
    feedback
        .submit_feedback(SubmitFeedbackRequest {
            survey_id: survey.survey_id,
            csat: 1,
            nps: Some(2),
            comment: "<img src=x onerror=alert(1)> cold kettle".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    app.settle().await;
    claim
}

#[tokio::test]
async fn the_queues_and_a_customers_page_show_every_service_as_text() {
    let app = TestApp::spawn().await;
    let claim = cases(&app).await;
    let cookie = sign_in(&app, &app.token(Role::Agent, "agent-1")).await;
    let claims = send(&app, Method::GET, "/console/claims", Some(&cookie), None, None).await;
    assert_eq!(claims.status, StatusCode::OK);
    assert!(
        claims.body.contains(&claim) && claims.body.contains("does not heat"),
        "{}",
        claims.body
    );
    let follow_ups = send(&app, Method::GET, "/console/follow-ups", Some(&cookie), None, None).await;
    assert!(follow_ups.body.contains("cold kettle"), "{}", follow_ups.body);
    assert!(
        follow_ups.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "shown as text"
    );
    assert!(!follow_ups.body.contains("<img"));
    let customer = send(&app, Method::GET, "/console/customers/c-1", Some(&cookie), None, None).await;
    for section in ["Orders", "Returns", "Claims", "Points", "Maintenance", "Feedback"] {
        assert!(customer.body.contains(&format!(">{section}</h2>")), "{section}");
    }
    assert!(customer.body.contains(">o-1<") && customer.body.contains(&claim));
    assert!(customer.body.contains("id=\"points-available\""));
    assert!(customer.body.contains("&lt;img src=x onerror=alert(1)&gt;") && !customer.body.contains("<img"));
    assert!(!customer.body.contains("could not be read"), "{}", customer.body);
}

#[tokio::test]
async fn a_service_this_deployment_does_not_run_empties_its_section_only() {
    let app = TestApp::spawn_serving(&["orders", "returns", "feedback"]).await;
    let cookie = sign_in(&app, &app.token(Role::Agent, "agent-1")).await;
    let customer = send(&app, Method::GET, "/console/customers/c-1", Some(&cookie), None, None).await;
    assert_eq!(customer.status, StatusCode::OK);
    assert_eq!(
        customer.body.matches("could not be read").count(),
        3,
        "claims, points, maintenance"
    );
    assert!(customer.body.contains(">Orders</h2><div") || customer.body.contains(">Orders</h2><p>None.</p>"));
}

#[tokio::test]
async fn the_overview_draws_its_charts_from_insight_and_feedback() {
    let app = TestApp::spawn().await;
    cases(&app).await;
    let cookie = sign_in(&app, &app.token(Role::Admin, "admin-1")).await;
    let page = send(
        &app,
        Method::GET,
        "/console/overview?days=30",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    for chart in ["first-response", "csat-trend", "return-reasons"] {
        assert!(page.body.contains(&format!("id=\"{chart}-caption\"")), "{chart}");
    }
    assert!(page.body.contains("role=\"img\""), "charts are images with titles");
    // The week of the one answer (CSAT 1: none of 4-5), as a bar and in its table.
    assert!(page.body.contains(">Week of 2026-03-02</text>"), "{}", page.body);
    assert!(page.body.contains("<tr><td>Week of 2026-03-02</td><td>0.00</td></tr>"));
    let summary = app
        .feedback(Role::Admin, "admin-1")
        .get_feedback_summary(GetFeedbackSummaryRequest {
            from: ts(start_time() + chrono::Duration::seconds(1) - chrono::Duration::days(30)),
            to: ts(start_time() + chrono::Duration::seconds(1)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        page.body
            .contains(&format!("<dd id=\"csat\">{}%</dd>", summary.csat_percent))
    );
    // A period is clamped, never an error.
    let wild = send(
        &app,
        Method::GET,
        "/console/overview?days=-5",
        Some(&cookie),
        None,
        None,
    )
    .await;
    assert_eq!(wild.status, StatusCode::OK);
}

#[tokio::test]
async fn an_agent_reviews_approves_and_replaces_a_claimed_product_through_the_rpcs() {
    use aftercare_proto::warranty::{ClaimStatus, GetClaimRequest};
    let app = TestApp::spawn().await;
    let claim = cases(&app).await;
    let cookie = sign_in(&app, &app.token(Role::Agent, "agent-1")).await;
    let path = format!("/console/claims/{claim}");
    let page = send(&app, Method::GET, &path, Some(&cookie), None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let at = page.body.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = page.body[at..].split('"').next().unwrap().to_owned();
    let own = format!("http://{}", app.http_addr);
    let post = async |action: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str()), ("request_id", "k-req")];
        all.extend_from_slice(fields);
        send(
            &app,
            Method::POST,
            &format!("{path}/{action}"),
            Some(&cookie),
            Some(&all),
            Some(&own),
        )
        .await
    };
    let forged = send(
        &app,
        Method::POST,
        &format!("{path}/review"),
        Some(&cookie),
        Some(&[("csrf", "guess")]),
        Some(&own),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no CSRF value, no action");
    assert_eq!(post("review", &[]).await.status, StatusCode::SEE_OTHER);
    // No remedy chosen: refused, in words, nothing changed.
    let unchosen = post("approve", &[("remedy", ""), ("note", "")]).await;
    assert_eq!(unchosen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unchosen.body.contains("role=\"alert\""));
    let replacement = (aftercare_proto::warranty::Remedy::Replacement as i32).to_string();
    assert_eq!(
        post(
            "approve",
            &[("remedy", &replacement), ("note", "A new one is on its way.")]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post("message", &[("text", "checked the serial twice"), ("internal", "on")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        post("replace", &[("serial_number", "SN-NEW-1")]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = send(&app, Method::GET, &path, Some(&cookie), None, None).await;
    assert!(page.body.contains("<dd id=\"status\">resolved</dd>"), "{}", page.body);
    assert!(page.body.contains("id=\"do-close\""), "a resolved claim may be closed");
    let seen = app
        .warranty(Role::Customer, "c-1")
        .get_claim(GetClaimRequest {
            claim_id: claim.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.status, ClaimStatus::Resolved as i32);
    assert!(
        seen.timeline.iter().all(|e| !e.text.contains("serial twice")),
        "internal notes stay internal"
    );
}
