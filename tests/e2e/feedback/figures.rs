//! The summary against figures worked out by hand from the answers below.

use aftercare_platform::auth::Role;
use aftercare_proto::common::Channel;
use aftercare_proto::feedback::{AgentFigures, CaseType, FeedbackSummary, WeekFigures};
use chrono::Duration;

use super::*;
use crate::support::start_time;

/// (case, customer, reason, agent, answer: csat, nps, by link)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(i32, Option<i32>, bool)>,
);

const ROWS: [Row; 7] = [
    ("r-1", "f-1", "defective", "", Some((5, Some(10), false))),
    ("r-2", "f-2", "defective", "", Some((4, Some(9), true))),
    ("r-3", "f-3", "defective", "", Some((2, Some(3), false))),
    ("r-4", "f-4", "wrong_size", "", Some((3, None, false))),
    ("r-5", "f-5", "wrong_size", "", None),
    ("k-1", "f-6", "battery", "agent-a", Some((1, Some(0), false))),
    ("k-2", "f-7", "battery", "agent-a", Some((5, Some(8), true))),
];

async fn answer_rows(app: &TestApp, rows: &[Row]) {
    let told: Vec<Told> = rows
        .iter()
        .map(|(case_id, customer, reason, agent, _)| Told {
            case_id,
            customer,
            reason,
            agent,
        })
        .collect();
    tell(app, &told).await;
    for (_, customer, _, _, given) in rows {
        let Some((csat, nps, by_link)) = given else { continue };
        let survey = only_survey(app, customer).await;
        let request = answer(&survey.survey_id, *csat, *nps, "");
        if *by_link {
            let token = link_token(app, &survey.survey_id).await;
            submit_by_link(app, request, &token).await.unwrap();
        } else {
            submit(app, customer, request).await.unwrap();
        }
    }
}

fn query(case_type: CaseType, channel: Channel, reason: &str) -> GetFeedbackSummaryRequest {
    GetFeedbackSummaryRequest {
        from: ts(start_time()),
        to: ts(start_time() + Duration::days(14)),
        case_type: case_type as i32,
        channel: channel as i32,
        reason: reason.into(),
    }
}

async fn summary(app: &TestApp, role: Role, q: GetFeedbackSummaryRequest) -> FeedbackSummary {
    app.feedback(role, "staff-1")
        .get_feedback_summary(q)
        .await
        .unwrap()
        .into_inner()
}

/// (sent, answered, rate, csat %, average, nps, nps answers)
fn figures(s: &FeedbackSummary) -> (i64, i64, &str, &str, &str, &str, i64) {
    (
        s.sent,
        s.answered,
        &s.response_rate,
        &s.csat_percent,
        &s.csat_average,
        &s.nps,
        s.nps_answers,
    )
}

#[tokio::test]
async fn the_summary_matches_figures_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    // A day before the period: answered, and never counted.
    app.clock.set(start_time() - Duration::days(1));
    answer_rows(&app, &[("r-0", "f-0", "defective", "", Some((1, Some(0), false)))]).await;
    app.clock.set(start_time());
    answer_rows(&app, &ROWS).await;
    // The next week: a claim of agent-b's nobody answered.
    app.clock.set(start_time() + Duration::days(7));
    answer_rows(&app, &[("k-3", "f-8", "battery", "agent-b", None)]).await;

    let all = summary(
        &app,
        Role::Admin,
        query(CaseType::Unspecified, Channel::Unspecified, ""),
    )
    .await;
    // 8 sent, 6 answered; CSAT 5,4,2,3,1,5: three of six 4-5, mean 20/6;
    // NPS 10,9,3,0,8: two promoters, two detractors of five.
    assert_eq!(figures(&all), (8, 6, "75.00", "50.00", "3.33", "0.00", 5));
    let distribution: Vec<(i32, i64)> = all.csat_distribution.iter().map(|c| (c.score, c.count)).collect();
    assert_eq!(distribution, [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2)]);
    assert_eq!(
        all.weeks,
        [
            WeekFigures {
                week: "2026-03-02".into(),
                answers: 6,
                csat_percent: "50.00".into(),
            },
            WeekFigures {
                week: "2026-03-09".into(),
                answers: 0,
                csat_percent: "0.00".into(),
            },
        ]
    );
    assert_eq!(
        all.agents,
        [
            AgentFigures {
                agent: "agent-a".into(),
                answers: 2,
                csat_percent: "50.00".into(),
                csat_average: "3.00".into(),
            },
            AgentFigures {
                agent: "agent-b".into(),
                answers: 0,
                csat_percent: "0.00".into(),
                csat_average: "0.00".into(),
            },
        ]
    );
    // Agents see the same figures, without anyone's by agent.
    let for_agent = summary(
        &app,
        Role::Agent,
        query(CaseType::Unspecified, Channel::Unspecified, ""),
    )
    .await;
    assert_eq!(figures(&for_agent), figures(&all));
    assert!(for_agent.agents.is_empty());

    // Claims: CSAT 1 and 5, NPS 0 and 8 (a detractor, a passive).
    let claims = summary(&app, Role::Agent, query(CaseType::Claim, Channel::Unspecified, "")).await;
    assert_eq!(figures(&claims), (3, 2, "66.67", "50.00", "3.00", "-50.00", 2));
    // E-mail answers: CSAT 4 and 5, NPS 9 and 8; every survey sent counts.
    let email = summary(&app, Role::Agent, query(CaseType::Unspecified, Channel::Email, "")).await;
    assert_eq!(figures(&email), (8, 2, "25.00", "100.00", "4.50", "50.00", 2));
    // Defective returns: CSAT 5, 4, 2; NPS 10, 9, 3.
    let defective = summary(
        &app,
        Role::Agent,
        query(CaseType::Return, Channel::Unspecified, "defective"),
    )
    .await;
    assert_eq!(figures(&defective), (3, 3, "100.00", "66.67", "3.67", "33.33", 3));
}
