//! Service insight end to end: cases made the real way through every
//! service, with the clock moved between steps; the overview's figures
//! reconciled with each service's own answers, kept through redelivery and
//! a rebuild from the outbox, and its door (roles, hostile periods).

use aftercare_platform::auth::Role;
use aftercare_platform::clock::Clock;
use aftercare_proto::common::Channel;
use aftercare_proto::feedback::{GetFeedbackSummaryRequest, ListSurveysRequest, SubmitFeedbackRequest};
use aftercare_proto::insight::{GetServiceOverviewRequest, Percentiles, ServiceOverview};
use aftercare_proto::loyalty::{EntryKind, ListTransactionsRequest};
use aftercare_proto::orders::RecordDeliveryRequest;
use aftercare_proto::returns::{CancelReturnRequest, ConfirmRefundRequest, GetReturnRequest, Grade};
use aftercare_proto::warranty::{
    AddClaimMessageRequest, ApproveClaimRequest, FileClaimRequest, GetServiceMetricsRequest, ListRegistrationsRequest,
    RegistrationStatus, RejectClaimRequest, RejectionReason, Remedy, ReviewClaimRequest, ServiceMetrics,
};
use chrono::Duration;
use tonic::Code;

use crate::fixtures::{order, ts};
use crate::returns::{approve, create, issue, receive, refund_item, ship};
use crate::support::{TestApp, start_time, violated_fields};

const CUSTOMER: &str = "c-1";

fn period() -> GetServiceOverviewRequest {
    GetServiceOverviewRequest {
        from: ts(start_time() - Duration::days(7)),
        to: ts(start_time() + Duration::days(7)),
    }
}

async fn overview(app: &TestApp) -> ServiceOverview {
    app.insight(Role::Agent, "lead-1")
        .get_service_overview(period())
        .await
        .unwrap()
        .into_inner()
}

async fn metrics(app: &TestApp) -> ServiceMetrics {
    let p = period();
    app.warranty(Role::Agent, "lead-1")
        .get_service_metrics(GetServiceMetricsRequest {
            from: p.from,
            to: p.to,
            channel: 0,
        })
        .await
        .unwrap()
        .into_inner()
}

fn at(hours: i64) -> chrono::DateTime<chrono::Utc> {
    start_time() + Duration::hours(hours)
}

async fn file(app: &TestApp, registration_id: &str, fault: &str) -> String {
    app.warranty(Role::Customer, CUSTOMER)
        .file_claim(FileClaimRequest {
            registration_id: registration_id.into(),
            fault_category: fault.into(),
            description: "It stopped.".into(),
            channel: Channel::MobileApp as i32,
            request_id: uuid::Uuid::now_v7().to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .claim_id
}

/// Returns, claims, a survey and points, each step at a known time.
async fn history(app: &TestApp) {
    let mut storefront = app.storefront();
    storefront.record_order(order("o-1", CUSTOMER)).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
    let mut returns = app.returns(Role::Customer, CUSTOMER);
    // A refunded return: answered in 2 hours, over in a day.
    let kept = returns
        .create_return(create("o-1", vec![refund_item("L1", 1)]))
        .await
        .unwrap()
        .into_inner();
    // A canceled one, an hour after it was asked for.
    app.clock.set(at(1));
    let canceled = returns
        .create_return(create("o-1", vec![refund_item("L2", 1)]))
        .await
        .unwrap()
        .into_inner();
    app.clock.set(at(2));
    returns
        .cancel_return(CancelReturnRequest {
            return_id: canceled.return_id.clone(),
            reason: "found it".into(),
        })
        .await
        .unwrap();
    approve(app, &kept.return_id).await;
    ship(app, &kept.return_id).await;
    app.clock.set(at(24));
    receive(app, &kept.return_id, &[("L1", 1, Grade::Resellable)]).await;
    let refund = issue(app, &kept.return_id).await.unwrap();
    app.returns(Role::Service, "psp")
        .confirm_refund(ConfirmRefundRequest {
            refund_id: refund.refund_id,
            provider_reference: "psp-1".into(),
        })
        .await
        .unwrap();
    app.settle().await;

    // Claims on the units warranty registered: approved in an hour,
    // rejected in five, and one nobody answers until its target passes.
    app.clock.set(at(25));
    let units = app
        .warranty(Role::Agent, "agent-1")
        .list_registrations(ListRegistrationsRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .registrations;
    let of_line = |line: &str| -> Vec<String> {
        units
            .iter()
            .filter(|u| u.line_id == line)
            .map(|u| u.registration_id.clone())
            .collect()
    };
    // L1's units: one was refunded with the return (no longer covered:
    // its claim is rejected), the other is approved.
    let l1 = of_line("L1");
    let refunded = |id: &String| {
        units
            .iter()
            .any(|u| &u.registration_id == id && u.status == RegistrationStatus::Refunded as i32)
    };
    let (gone, active): (Vec<String>, Vec<String>) = l1.into_iter().partition(refunded);
    let approved = file(app, &active[0], "Does Not Heat").await;
    let rejected = file(app, &gone[0], "does not heat").await;
    file(app, &of_line("L3")[0], "Leaks").await;
    let mut agent = app.warranty(Role::Agent, "agent-7");
    app.clock.set(at(26));
    for claim_id in [&approved, &rejected] {
        agent
            .review_claim(ReviewClaimRequest {
                claim_id: claim_id.clone(),
            })
            .await
            .unwrap();
    }
    agent
        .approve_claim(ApproveClaimRequest {
            claim_id: approved,
            remedy: Remedy::Repair as i32,
            note: "We repair it.".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // The rejected claim's first answer is a message, three hours before
    // the decision (ClaimResponded).
    app.clock.set(at(27));
    agent
        .add_claim_message(AddClaimMessageRequest {
            claim_id: rejected.clone(),
            text: "We are looking at it.".into(),
            customer_visible: true,
            channel: Channel::Email as i32,
        })
        .await
        .unwrap();
    app.clock.set(at(30));
    agent
        .reject_claim(RejectClaimRequest {
            claim_id: rejected,
            reason: RejectionReason::NoFaultFound as i32,
            note: "Works as designed.".into(),
        })
        .await
        .unwrap();
    app.clock.set(at(25 + 24 * 5));
    app.run_jobs().await;
    app.settle().await;

    // The canceled return's survey, answered and then changed.
    let mut feedback = app.feedback(Role::Customer, CUSTOMER);
    let surveys = feedback
        .list_surveys(ListSurveysRequest {
            customer_id: CUSTOMER.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .surveys;
    let sent = surveys.iter().find(|s| s.case_id == canceled.return_id).unwrap();
    for (csat, nps) in [(4, Some(9)), (2, Some(5))] {
        feedback
            .submit_feedback(SubmitFeedbackRequest {
                survey_id: sent.survey_id.clone(),
                csat,
                nps,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    app.settle().await;
}

fn same(p: &Option<Percentiles>, warranty: &Option<aftercare_proto::warranty::DurationPercentiles>) {
    let (p, w) = (p.unwrap(), warranty.unwrap());
    assert_eq!(
        (p.count, p.p50_seconds, p.p90_seconds, p.p99_seconds),
        (w.count, w.p50_seconds, w.p90_seconds, w.p99_seconds)
    );
}

#[tokio::test]
async fn the_overview_reconciles_with_each_services_own_answers() {
    let app = TestApp::spawn().await;
    history(&app).await;
    let o = overview(&app).await;

    // Returns: both asked for on the app; the first answered in 2 hours
    // and refunded within the day, the other canceled after an hour.
    let returns = &o.returns.as_ref().unwrap().by_channel;
    assert_eq!(returns.len(), 2, "every channel, then the app's");
    assert_eq!((returns[0].channel, returns[0].opened), (0, 2));
    assert_eq!(returns[1].channel, Channel::MobileApp as i32);
    let first = returns[0].first_response.unwrap();
    assert_eq!((first.count, first.p50_seconds), (1, 2 * 3600));
    let resolution = returns[0].resolution.unwrap();
    assert_eq!(
        (resolution.count, resolution.p50_seconds, resolution.p99_seconds),
        (2, 3600, 24 * 3600)
    );

    // Claims: warranty's own metrics, figure by figure.
    let m = metrics(&app).await;
    let claims = &o.claims.as_ref().unwrap().by_channel[0];
    assert_eq!(claims.opened, m.claims_filed);
    assert_eq!(claims.opened, 3);
    same(&claims.first_response, &m.first_response);
    same(&claims.resolution, &m.resolution);
    let first = claims.first_response.unwrap();
    assert_eq!(
        (first.p50_seconds, first.p90_seconds),
        (3600, 2 * 3600),
        "approved in 1 h, answered in 2 h"
    );
    assert_eq!(o.claim_first_response_breaches, m.first_response_breaches);
    assert_eq!(o.claim_resolution_breaches, m.resolution_breaches);
    assert_eq!(o.claim_first_response_breaches, 1, "the claim nobody answered");
    let faults = &o.faults_by_product[0];
    assert_eq!((faults.sku.as_str(), faults.claims), ("SKU-L1", 2));
    assert_eq!(
        faults.top_faults[0].fault_category, "does not heat",
        "compared without case"
    );

    // Feedback: its own summary of the same period (the latest answer).
    let p = period();
    let summary = app
        .feedback(Role::Agent, "lead-1")
        .get_feedback_summary(GetFeedbackSummaryRequest {
            from: p.from,
            to: p.to,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(o.survey_answers, summary.answered);
    assert_eq!(
        (&o.csat_percent, &o.csat_average, &o.nps, o.nps_answers),
        (
            &summary.csat_percent,
            &summary.csat_average,
            &summary.nps,
            summary.nps_answers
        )
    );
    assert_eq!(
        (o.csat_average.as_str(), o.nps.as_str()),
        ("2.00", "-100.00"),
        "the changed answer"
    );

    // Money: the refund as the return tells it.
    let refunded = app
        .returns(Role::Agent, "lead-1")
        .get_return(GetReturnRequest {
            return_id: sqlx::query_scalar("SELECT return_id FROM insight.returns WHERE outcome = 'completed'")
                .fetch_one(&app.pool)
                .await
                .unwrap(),
        })
        .await
        .unwrap()
        .into_inner()
        .refund
        .unwrap()
        .amount
        .unwrap();
    assert_eq!(o.refunds.len(), 1);
    assert_eq!((o.refunds[0].currency_code.as_str(), o.refunds[0].refunds), ("EUR", 1));
    assert_eq!(
        o.refunds[0].amount.parse::<rust_decimal::Decimal>().unwrap(),
        refunded.amount.parse::<rust_decimal::Decimal>().unwrap()
    );

    // Points: the ledger's earned entries.
    let ledger = app
        .loyalty(Role::Agent, "lead-1")
        .list_transactions(ListTransactionsRequest {
            customer_id: CUSTOMER.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .entries;
    let earned: i64 = ledger
        .iter()
        .filter(|e| e.kind() == EntryKind::Earned)
        .map(|e| e.pending_change + e.available_change)
        .sum();
    assert!(earned > 0);
    assert_eq!((o.points_issued, o.points_redeemed), (earned, 0));

    // Returns by category: o-1's four kitchen units, one kept return's unit
    // (the canceled one does not count).
    let kitchen = &o.returns_by_category[0];
    assert_eq!(
        (
            kitchen.category.as_str(),
            kitchen.units_sold,
            kitchen.units_returned,
            kitchen.return_rate.as_str()
        ),
        ("kitchen", 4, 1, "25.00")
    );
    assert_eq!(kitchen.top_reasons[0].reason, "changed_mind");
}

#[tokio::test]
async fn redelivered_events_and_a_rebuild_from_the_outbox_change_nothing() {
    let app = TestApp::spawn().await;
    history(&app).await;
    let before = overview(&app).await;
    sqlx::query(
        "UPDATE platform.outbox_deliveries SET delivered_at = NULL, attempts = 0 WHERE consumer = 'insight.events'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.settle().await;
    assert_eq!(overview(&app).await, before, "every event delivered again");
    let applied = aftercare_insight::rebuild::rebuild(&app.pool).await.unwrap();
    assert!(applied > 20, "{applied} events replayed");
    assert_eq!(overview(&app).await, before, "made again from the history");
    // A rebuild also takes in what happened before insight listened.
    sqlx::query("TRUNCATE insight.returns, insight.return_lines, insight.order_lines")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_ne!(overview(&app).await, before);
    aftercare_insight::rebuild::rebuild(&app.pool).await.unwrap();
    assert_eq!(overview(&app).await, before);
}

#[tokio::test]
async fn staff_read_the_overview_and_hostile_periods_are_refused() {
    let app = TestApp::spawn().await;
    for role in Role::ALL {
        let result = app.insight(role, "someone").get_service_overview(period()).await;
        match role {
            Role::Agent | Role::Admin => assert!(result.is_ok(), "{role}: {result:?}"),
            _ => assert_eq!(result.unwrap_err().code(), Code::PermissionDenied, "{role}"),
        }
    }
    let far = prost_types::Timestamp {
        seconds: 253_402_300_800,
        nanos: 0,
    };
    let now = app.clock.now();
    for (request, field) in [
        (
            GetServiceOverviewRequest {
                from: ts(now),
                to: ts(now),
            },
            "to",
        ),
        (
            GetServiceOverviewRequest {
                from: ts(now),
                to: ts(now + Duration::days(367)),
            },
            "to",
        ),
        (
            GetServiceOverviewRequest {
                from: None,
                to: ts(now),
            },
            "from",
        ),
        (
            GetServiceOverviewRequest {
                from: ts(now),
                to: Some(far),
            },
            "to",
        ),
    ] {
        let status = app
            .insight(Role::Admin, "admin-1")
            .get_service_overview(request)
            .await
            .unwrap_err();
        assert_eq!(violated_fields(&status), [field], "{status:?}");
    }
}
