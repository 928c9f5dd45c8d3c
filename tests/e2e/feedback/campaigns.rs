//! Survey campaigns: an answered survey earns the running campaign's
//! bonus once, whatever redelivers the event.

use aftercare_platform::auth::Role;
use aftercare_proto::common::Channel;
use aftercare_proto::loyalty::{Campaign, CampaignTrigger, GetAccountRequest, UpsertCampaignRequest};
use chrono::Duration;

use super::*;
use crate::support::start_time;

async fn campaign(app: &TestApp, id: &str, bonus: i64, channels: Vec<Channel>) {
    app.loyalty(Role::Admin, "admin-1")
        .upsert_campaign(UpsertCampaignRequest {
            campaign: Some(Campaign {
                campaign_id: id.into(),
                name: id.into(),
                trigger: CampaignTrigger::Survey as i32,
                starts_at: ts(start_time()),
                ends_at: ts(start_time() + Duration::days(7)),
                earn_multiplier: "1".into(),
                bonus_points: bonus,
                channels: channels.into_iter().map(|c| c as i32).collect(),
                active: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
}

async fn available(app: &TestApp, customer: &str) -> i64 {
    app.loyalty(Role::Agent, "agent-1")
        .get_account(GetAccountRequest {
            customer_id: customer.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .available
}

async fn answered(app: &TestApp, customer: &str, case_id: &str) -> Survey {
    let told = Told {
        case_id,
        customer,
        reason: "",
        agent: "",
    };
    tell(app, &[told]).await;
    let survey = only_survey(app, customer).await;
    submit(app, customer, answer(&survey.survey_id, 5, None, ""))
        .await
        .unwrap();
    app.settle().await;
    survey
}

#[tokio::test]
async fn a_changed_answer_earns_nothing_even_when_a_campaign_began_since() {
    let app = TestApp::spawn().await;
    let survey = answered(&app, CUSTOMER, "r-1").await;
    assert_eq!(available(&app, CUSTOMER).await, 0, "no campaign ran");
    campaign(&app, "late", 50, vec![]).await;
    submit(&app, CUSTOMER, answer(&survey.survey_id, 3, None, ""))
        .await
        .unwrap();
    app.settle().await;
    assert_eq!(available(&app, CUSTOMER).await, 0, "a change is no answered survey");
}

#[tokio::test]
async fn an_answered_survey_earns_the_best_running_campaigns_bonus_once() {
    let app = TestApp::spawn().await;
    campaign(&app, "thanks", 50, vec![]).await;
    campaign(&app, "thanks-more", 80, vec![]).await;
    campaign(&app, "email-only", 500, vec![Channel::Email]).await;
    let survey = answered(&app, CUSTOMER, "r-1").await;
    assert_eq!(available(&app, CUSTOMER).await, 80, "the best one, from the app");
    // A changed answer earns nothing more; nor does the event delivered again.
    submit(&app, CUSTOMER, answer(&survey.survey_id, 4, None, ""))
        .await
        .unwrap();
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0
          WHERE consumer = 'loyalty.surveys'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(available(&app, CUSTOMER).await, 80);
    // After the campaigns end, an answer earns nothing.
    app.clock.set(start_time() + Duration::days(7));
    answered(&app, "c-2", "r-2").await;
    assert_eq!(available(&app, "c-2").await, 0);
}
