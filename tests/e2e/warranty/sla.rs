//! Service-level clocks: targets fixed at filing (working days of the
//! business calendar, holidays skipped), stopped while waiting for the
//! customer, alarms raised once each, also by three servers at once, and a
//! queue sorted by time to breach.

use chrono::Duration;

use super::*;

async fn alarms(app: &TestApp, message: &str) -> Vec<(String, String)> {
    sqlx::query_as("SELECT aggregate_id, topic FROM platform.outbox_events WHERE topic = $1 ORDER BY seq")
        .bind(format!("aftercare.warranty.events.v1.{message}"))
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

async fn get(app: &TestApp, claim_id: &str) -> Claim {
    agent(app, "agent-1")
        .get_claim(GetClaimRequest {
            claim_id: claim_id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn at(s: &str) -> Option<prost_types::Timestamp> {
    ts(s.parse().unwrap())
}

#[tokio::test]
async fn targets_skip_holidays_stop_while_waiting_and_alarm_once() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    // Filed Monday 2 March 2026, 12:00 in Istanbul.
    let c = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    let sla = c.sla.clone().unwrap();
    assert_eq!(sla.first_response_due_at, at("2026-03-03T09:00:00Z"));
    // 20 working days, Friday 20 March a holiday: due by the end of
    // Tuesday 31 March in Istanbul.
    assert_eq!(sla.resolution_due_at, at("2026-03-31T21:00:00Z"));
    // 80% of 24 hours.
    app.clock.set("2026-03-03T04:11:59Z".parse().unwrap());
    app.run_jobs().await;
    assert!(alarms(&app, "ClaimSlaAtRisk").await.is_empty());
    app.clock.set("2026-03-03T04:12:00Z".parse().unwrap());
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(
        alarms(&app, "ClaimSlaAtRisk").await,
        [(c.claim_id.clone(), "aftercare.warranty.events.v1.ClaimSlaAtRisk".into())]
    );
    // A question answers in time and stops the clocks for three days.
    agent(&app, "agent-1")
        .review_claim(ReviewClaimRequest {
            claim_id: c.claim_id.clone(),
        })
        .await
        .unwrap();
    let asked = agent(&app, "agent-1")
        .request_claim_info(RequestClaimInfoRequest {
            claim_id: c.claim_id.clone(),
            question: "Which model is it?".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let sla = asked.sla.unwrap();
    assert!(sla.paused);
    assert_eq!(sla.first_response_at, at("2026-03-03T04:12:00Z"));
    assert_eq!(sla.resolution_due_at, None, "it moves while paused");
    app.clock.advance(Duration::days(60));
    app.run_jobs().await;
    assert!(
        alarms(&app, "ClaimSlaBreached").await.is_empty(),
        "nothing runs while paused"
    );
    let answered = customer(&app)
        .answer_claim(AnswerClaimRequest {
            claim_id: c.claim_id.clone(),
            answer: "KT-200".into(),
            photo_urls: vec![],
            channel: aftercare_proto::common::Channel::MobileApp as i32,
        })
        .await
        .unwrap()
        .into_inner();
    let sla = answered.sla.unwrap();
    // The pause (Tuesday 3 March 07:12 to Saturday 2 May 07:12 in
    // Istanbul) covered 40 working days and 16:48 hours of a 41st, the
    // holidays of 20 March, 23 April and 1 May not among them; the target
    // moves by that much working time, past the holidays of 19 and 27-29
    // May: to Thursday 4 June 16:48.
    assert_eq!(sla.resolution_due_at, at("2026-06-04T13:48:00Z"));
    assert_eq!(
        app.count("SELECT count(*) FROM warranty.claim_pauses WHERE ended_at - started_at = interval '60 days'")
            .await,
        1
    );
    // Just before the moved target nothing is breached; at it, once.
    app.clock.set("2026-06-04T13:47:59Z".parse().unwrap());
    app.run_jobs().await;
    assert!(alarms(&app, "ClaimSlaBreached").await.is_empty());
    app.clock.set("2026-06-04T13:48:00Z".parse().unwrap());
    app.run_jobs().await;
    app.run_jobs().await;
    assert_eq!(alarms(&app, "ClaimSlaBreached").await.len(), 1);
    assert_eq!(alarms(&app, "ClaimSlaAtRisk").await.len(), 2);
    let c = get(&app, &c.claim_id).await;
    assert_eq!(
        c.sla.unwrap().alarms,
        ["first_response_at_risk", "resolution_at_risk", "resolution_breached"]
    );
}

#[tokio::test]
async fn the_queue_sorts_by_time_to_breach() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let first = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    app.clock.advance(Duration::hours(1));
    let second = file(&app, &unit(&app, "L1", 2).await.registration_id).await;
    app.clock.advance(Duration::hours(1));
    let third = file(&app, &unit(&app, "L2", 1).await.registration_id).await;
    // The first is answered (its resolution is weeks away); the third waits
    // for the customer (no clock runs).
    agent(&app, "agent-1")
        .add_claim_message(AddClaimMessageRequest {
            claim_id: first.claim_id.clone(),
            text: "We are on it.".into(),
            customer_visible: true,
            channel: 0,
        })
        .await
        .unwrap();
    agent(&app, "agent-1")
        .review_claim(ReviewClaimRequest {
            claim_id: third.claim_id.clone(),
        })
        .await
        .unwrap();
    agent(&app, "agent-1")
        .request_claim_info(RequestClaimInfoRequest {
            claim_id: third.claim_id.clone(),
            question: "A photo of the label?".into(),
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = agent(&app, "agent-1")
            .list_claims(ListClaimsRequest {
                order_by: ClaimOrder::TimeToBreach as i32,
                page_size: 1,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        ids.extend(page.claims.into_iter().map(|c| c.claim_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids, [second.claim_id, first.claim_id]);
}

#[tokio::test]
async fn three_servers_raise_each_alarm_once() {
    let app = TestApp::spawn_with(&["all"], std::time::Duration::from_millis(20)).await;
    let _two = app.spawn_replica(&["warranty"], std::time::Duration::from_millis(20));
    let _three = app.spawn_replica(&["warranty"], std::time::Duration::from_millis(20));
    delivered(&app).await;
    let registration = unit(&app, "L1", 1).await.registration_id;
    let mut claims = Vec::new();
    for _ in 0..60 {
        claims.push(file(&app, &registration).await.claim_id);
    }
    // Every target passes at once: four alarms per claim.
    app.clock.advance(Duration::days(90));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app
        .count("SELECT count(*) FROM warranty.claims WHERE next_alarm_at IS NOT NULL")
        .await
        > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the servers never raised every alarm"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let per_claim: Vec<(String, i64)> = sqlx::query_as(
        "SELECT aggregate_id, count(*) FROM platform.outbox_events
         WHERE topic IN ('aftercare.warranty.events.v1.ClaimSlaAtRisk', 'aftercare.warranty.events.v1.ClaimSlaBreached')
         GROUP BY aggregate_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(per_claim.len(), claims.len());
    assert!(per_claim.iter().all(|(_, n)| *n == 4), "{per_claim:?}");
}

#[tokio::test]
async fn the_support_leads_figures_add_up() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let first = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    let second = file(&app, &unit(&app, "L1", 2).await.registration_id).await;
    // The third is never answered.
    file(&app, &unit(&app, "L2", 1).await.registration_id).await;
    let answer = |claim_id: String| AddClaimMessageRequest {
        claim_id,
        text: "Looking into it.".into(),
        customer_visible: true,
        channel: 0,
    };
    app.clock.advance(Duration::hours(2));
    agent(&app, "agent-1")
        .add_claim_message(answer(first.claim_id.clone()))
        .await
        .unwrap();
    app.clock.advance(Duration::hours(4));
    agent(&app, "agent-1")
        .add_claim_message(answer(second.claim_id.clone()))
        .await
        .unwrap();
    // The first is rejected ten hours after filing: resolved.
    app.clock.advance(Duration::hours(4));
    let mut staff = agent(&app, "agent-1");
    staff
        .review_claim(ReviewClaimRequest {
            claim_id: first.claim_id.clone(),
        })
        .await
        .unwrap();
    staff
        .reject_claim(RejectClaimRequest {
            claim_id: first.claim_id.clone(),
            reason: RejectionReason::NoFaultFound as i32,
            note: "No fault found.".into(),
        })
        .await
        .unwrap();
    // The third is never answered: breached a day later.
    app.clock.advance(Duration::hours(20));
    app.run_jobs().await;
    let m = agent(&app, "agent-1")
        .get_service_metrics(GetServiceMetricsRequest {
            from: ts(start_time()),
            to: ts(start_time() + Duration::days(2)),
            channel: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.claims_filed, 3);
    let fr = m.first_response.unwrap();
    assert_eq!((fr.count, fr.p50_seconds, fr.p90_seconds), (2, 2 * 3600, 6 * 3600));
    let res = m.resolution.unwrap();
    assert_eq!((res.count, res.p50_seconds), (1, 10 * 3600));
    assert_eq!((m.first_response_breaches, m.resolution_breaches), (1, 0));
    assert_eq!(
        m.by_fault_category,
        [ClaimCount {
            key: "does not heat".into(),
            claims: 3
        }]
    );
    assert_eq!(
        m.by_product,
        [
            ClaimCount {
                key: "SKU-L1".into(),
                claims: 2
            },
            ClaimCount {
                key: "SKU-L2".into(),
                claims: 1
            }
        ]
    );
    // Another channel, another period: nothing.
    let web = agent(&app, "agent-1")
        .get_service_metrics(GetServiceMetricsRequest {
            from: ts(start_time()),
            to: ts(start_time() + Duration::days(2)),
            channel: aftercare_proto::common::Channel::Phone as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(web.claims_filed, 0);
    let app_channel = agent(&app, "agent-1")
        .get_service_metrics(GetServiceMetricsRequest {
            from: ts(start_time()),
            to: ts(start_time() + Duration::days(2)),
            channel: aftercare_proto::common::Channel::MobileApp as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(app_channel.claims_filed, 3, "the claims came from the app");
    let bad = agent(&app, "agent-1")
        .get_service_metrics(GetServiceMetricsRequest {
            from: ts(start_time()),
            to: ts(start_time() + Duration::days(401)),
            channel: 99,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["channel", "to"]);
}

#[tokio::test]
async fn a_claim_canceled_before_any_answer_raises_nothing_and_leaves_the_queue() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let c = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    customer(&app)
        .cancel_claim(CancelClaimRequest {
            claim_id: c.claim_id.clone(),
            reason: "Found the fuse.".into(),
        })
        .await
        .unwrap();
    app.clock.advance(Duration::days(60));
    app.run_jobs().await;
    assert!(alarms(&app, "ClaimSlaAtRisk").await.is_empty());
    assert!(alarms(&app, "ClaimSlaBreached").await.is_empty());
    let queue = agent(&app, "agent-1")
        .list_claims(ListClaimsRequest {
            order_by: ClaimOrder::TimeToBreach as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(queue.claims.is_empty());
}

/// Changes the default (Turkish) calendar as an admin; the calendar stored.
async fn change_tr(app: &TestApp, change: impl FnOnce(&mut BusinessCalendar)) -> BusinessCalendar {
    let mut tr = agent(app, "agent-1")
        .get_calendar(GetCalendarRequest {
            country_code: "TR".into(),
        })
        .await
        .unwrap()
        .into_inner();
    change(&mut tr);
    admin(app)
        .update_calendar(UpdateCalendarRequest { calendar: Some(tr) })
        .await
        .unwrap()
        .into_inner()
}

/// A server keeps the default calendar in memory: a holiday added after it
/// filed a claim still moves the next claim's target.
#[tokio::test]
async fn a_changed_calendar_moves_the_next_claims_target() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let before = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    assert_eq!(before.sla.unwrap().resolution_due_at, at("2026-03-31T21:00:00Z"));
    change_tr(&app, |tr| tr.holidays.push("2026-03-31".into())).await;
    let after = file(&app, &unit(&app, "L1", 2).await.registration_id).await;
    assert_eq!(
        after.sla.unwrap().resolution_due_at,
        at("2026-04-01T21:00:00Z"),
        "31 March is a holiday now"
    );
}

/// With business hours on the calendar, "answered within 24 hours" means
/// 24 business hours of working days; without them, 24 hours.
#[tokio::test]
async fn the_first_response_counts_business_hours_when_the_calendar_has_them() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let stored = change_tr(&app, |tr| {
        assert_eq!(
            (tr.business_hours_start.as_str(), tr.business_hours_end.as_str()),
            ("", "")
        );
        tr.business_hours_start = "09:00".into();
        tr.business_hours_end = "18:00".into();
    })
    .await;
    assert_eq!(stored.business_hours_end, "18:00");
    // Thursday 19 March, 17:00 in Istanbul; Friday 20 March a holiday:
    // 1 hour Thursday, 9 Monday, 9 Tuesday, 5 Wednesday.
    app.clock.set("2026-03-19T14:00:00Z".parse().unwrap());
    let c = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    let sla = c.sla.unwrap();
    assert_eq!(sla.first_response_due_at, at("2026-03-25T11:00:00Z"));
    // At risk at 80%: 19.2 business hours, Wednesday 09:12.
    app.clock.set("2026-03-25T06:11:59Z".parse().unwrap());
    app.run_jobs().await;
    assert!(alarms(&app, "ClaimSlaAtRisk").await.is_empty());
    app.clock.set("2026-03-25T06:12:00Z".parse().unwrap());
    app.run_jobs().await;
    assert_eq!(alarms(&app, "ClaimSlaAtRisk").await.len(), 1);
    // Hours that are not business hours are refused as such.
    let mut bad = stored.clone();
    bad.business_hours_start = "18:00".into();
    bad.business_hours_end = "9am".into();
    let refused = admin(&app)
        .update_calendar(UpdateCalendarRequest { calendar: Some(bad) })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&refused), ["calendar.business_hours_end"]);
}
