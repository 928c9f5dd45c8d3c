//! Remedies carried out: a repair at a partner's service centre (which sees
//! only its own orders), a paid repair's quote, a replacement that keeps
//! the remaining coverage, money paid back exactly once, and repeat-failure
//! rights for each of their triggers.

use chrono::Duration;
use tonic::Code;

use super::*;

/// Files a claim on `registration`, reviews it and approves `remedy`.
pub(super) async fn approved(app: &TestApp, registration: &str, remedy: Remedy) -> String {
    approved_for(app, registration, "does not heat", remedy).await
}

async fn approved_for(app: &TestApp, registration: &str, fault: &str, remedy: Remedy) -> String {
    let mut c = customer(app)
        .file_claim(FileClaimRequest {
            registration_id: registration.into(),
            fault_category: fault.into(),
            description: "It broke.".into(),
            photo_urls: vec![],
            channel: aftercare_proto::common::Channel::Web as i32,
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    let mut staff = agent(app, "agent-1");
    staff
        .review_claim(ReviewClaimRequest {
            claim_id: c.claim_id.clone(),
        })
        .await
        .unwrap();
    c = staff
        .approve_claim(ApproveClaimRequest {
            claim_id: c.claim_id.clone(),
            remedy: remedy as i32,
            override_reason: "the customer asked for a repair".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    c.claim_id
}

pub(super) async fn centre(app: &TestApp, id: &str) {
    admin(app)
        .upsert_service_centre(UpsertServiceCentreRequest {
            centre: Some(ServiceCentre {
                centre_id: id.into(),
                name: format!("Centre {id}"),
                kind: "partner".into(),
                active: true,
            }),
        })
        .await
        .unwrap();
}

pub(super) async fn service_order(app: &TestApp, claim_id: &str, centre_id: &str) -> ServiceOrder {
    agent(app, "agent-1")
        .create_service_order(CreateServiceOrderRequest {
            claim_id: claim_id.into(),
            centre_id: centre_id.into(),
            inbound_tracking: "IN-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn step(
    app: &TestApp,
    centre: &str,
    order: &str,
    step: update_service_order_request::Step,
) -> Result<ServiceOrder, tonic::Status> {
    app.warranty(Role::Partner, centre)
        .update_service_order(UpdateServiceOrderRequest {
            service_order_id: order.into(),
            step: Some(step),
        })
        .await
        .map(|r| r.into_inner())
}

use update_service_order_request::{Diagnosis, Received, Shipment, Step};

fn diagnosed() -> Step {
    Step::Diagnosed(Diagnosis {
        diagnosis: "Heating element burnt out.".into(),
        parts: "element".into(),
        labour_minutes: 45,
    })
}

fn shipped() -> Step {
    Step::ShippedBack(Shipment {
        carrier: "Yurtici".into(),
        tracking_number: "OUT-1".into(),
    })
}

/// An approved repair of `registration` at `centre`, received and
/// diagnosed there: the claim and its service order.
async fn diagnosed_at(app: &TestApp, registration: &str, centre: &str) -> (String, String) {
    let c = approved(app, registration, Remedy::Repair).await;
    let order = service_order(app, &c, centre).await.service_order_id;
    step(app, centre, &order, Step::Received(Received {})).await.unwrap();
    step(app, centre, &order, diagnosed()).await.unwrap();
    (c, order)
}

async fn claim(app: &TestApp, id: &str) -> Claim {
    agent(app, "agent-1")
        .get_claim(GetClaimRequest { claim_id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn a_partner_repairs_and_the_days_in_service_extend_the_warranty() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    centre(&app, "fixit").await;
    centre(&app, "other").await;
    let r = unit(&app, "L1", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::Repair).await;
    let order = service_order(&app, &c, "fixit").await;
    assert_eq!(claim(&app, &c).await.status(), ClaimStatus::InService);
    // Another centre's partner finds nothing; this one works on it.
    let stranger = step(&app, "other", &order.service_order_id, Step::Received(Received {}))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let o = step(&app, "fixit", &order.service_order_id, Step::Received(Received {}))
        .await
        .unwrap();
    assert_eq!(
        (o.status(), o.product_name.as_str()),
        (ServiceOrderStatus::Received, "Product L1")
    );
    step(&app, "fixit", &order.service_order_id, diagnosed()).await.unwrap();
    let quote = step(
        &app,
        "fixit",
        &order.service_order_id,
        Step::Quote(crate::fixtures::eur("10.00").unwrap()),
    )
    .await
    .unwrap_err();
    assert_eq!(reason(&quote), "INVALID_SERVICE_STATUS", "no quote under warranty");
    step(
        &app,
        "fixit",
        &order.service_order_id,
        Step::Repaired("New element fitted.".into()),
    )
    .await
    .unwrap();
    // Back with the customer four and a half days after it arrived: five
    // days more warranty.
    app.clock.advance(Duration::hours(108));
    let back = step(&app, "fixit", &order.service_order_id, shipped()).await.unwrap();
    assert_eq!(back.status(), ServiceOrderStatus::ShippedBack);
    let resolved = claim(&app, &c).await;
    assert_eq!(resolved.status(), ClaimStatus::Resolved);
    assert!(resolved.sla.unwrap().resolved_at.is_some());
    let extended = agent(&app, "agent-1")
        .get_registration(GetRegistrationRequest {
            registration_id: r.registration_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (extended.repair_extension_days, extended.covered_through.as_str()),
        (5, "2028-03-06")
    );
    let closed = customer(&app)
        .close_claim(CloseClaimRequest { claim_id: c.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.status(), ClaimStatus::Closed);
    let updates = topics(&app, "aftercare.warranty.events.v1.ServiceOrderUpdated").await;
    assert_eq!(updates.len(), 5, "created, received, diagnosed, repaired, shipped back");
    assert_eq!(
        topics(&app, "aftercare.warranty.events.v1.ClaimResolved").await.len(),
        1
    );
    // The partner lists its own orders only, and sees no customer.
    let listed = app
        .warranty(Role::Partner, "fixit")
        .list_service_orders(ListServiceOrdersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .service_orders;
    assert_eq!(listed.len(), 1);
    let denied = app
        .warranty(Role::Partner, "fixit")
        .get_claim(GetClaimRequest { claim_id: c })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn out_of_warranty_a_repair_waits_for_the_customers_answer_to_a_quote() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    centre(&app, "fixit").await;
    app.clock.set("2028-06-01T09:00:00Z".parse().unwrap());
    let file_paid = |line: &'static str, unit_no: i32| {
        let app = &app;
        async move {
            let r = unit(app, line, unit_no).await;
            let c = file(app, &r.registration_id).await;
            assert!(!c.coverage_at_filing.unwrap().covered);
            let mut staff = agent(app, "agent-1");
            staff
                .review_claim(ReviewClaimRequest {
                    claim_id: c.claim_id.clone(),
                })
                .await
                .unwrap();
            let refused = staff
                .approve_claim(ApproveClaimRequest {
                    claim_id: c.claim_id.clone(),
                    remedy: Remedy::Repair as i32,
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(reason(&refused), "NOT_COVERED");
            let paid = staff
                .approve_claim(ApproveClaimRequest {
                    claim_id: c.claim_id.clone(),
                    remedy: Remedy::Repair as i32,
                    paid_repair: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert!(paid.paid_repair);
            let order = service_order(app, &c.claim_id, "fixit").await;
            assert!(order.paid);
            step(app, "fixit", &order.service_order_id, Step::Received(Received {}))
                .await
                .unwrap();
            step(app, "fixit", &order.service_order_id, diagnosed()).await.unwrap();
            let early = step(app, "fixit", &order.service_order_id, Step::Repaired(String::new()))
                .await
                .unwrap_err();
            assert_eq!(reason(&early), "QUOTE_REQUIRED");
            let q = step(
                app,
                "fixit",
                &order.service_order_id,
                Step::Quote(crate::fixtures::eur("49.90").unwrap()),
            )
            .await
            .unwrap();
            assert_eq!(q.status(), ServiceOrderStatus::Quoted);
            (c.claim_id, order.service_order_id, r.registration_id)
        }
    };
    // Accepted: repaired, shipped back, resolved; a paid repair adds no days.
    let (accepted, order, registration) = file_paid("L1", 1).await;
    // Waiting on the customer's answer to the quote stops the clocks.
    let waiting = claim(&app, &accepted).await.sla.unwrap();
    assert!(waiting.paused);
    assert_eq!(waiting.resolution_due_at, None, "it moves while paused");
    app.clock.advance(Duration::days(2));
    customer(&app)
        .answer_quote(AnswerQuoteRequest {
            service_order_id: order.clone(),
            accept: true,
        })
        .await
        .unwrap();
    let answered = claim(&app, &accepted).await.sla.unwrap();
    assert!(!answered.paused);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM warranty.claim_pauses WHERE claim_id = '{accepted}'
             AND ended_at - started_at = interval '2 days'"
        ))
        .await,
        1
    );
    step(&app, "fixit", &order, Step::Repaired("Fixed.".into()))
        .await
        .unwrap();
    app.clock.advance(Duration::days(3));
    step(&app, "fixit", &order, shipped()).await.unwrap();
    assert_eq!(claim(&app, &accepted).await.status(), ClaimStatus::Resolved);
    let r = customer(&app)
        .get_registration(GetRegistrationRequest {
            registration_id: registration,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.repair_extension_days, 0);
    // Declined: shipped back unrepaired; the claim waits for an agent.
    let (declined, order, _) = file_paid("L2", 1).await;
    customer(&app)
        .answer_quote(AnswerQuoteRequest {
            service_order_id: order.clone(),
            accept: false,
        })
        .await
        .unwrap();
    let after = step(&app, "fixit", &order, Step::Repaired(String::new()))
        .await
        .unwrap_err();
    assert_eq!(reason(&after), "INVALID_SERVICE_STATUS");
    step(&app, "fixit", &order, shipped()).await.unwrap();
    let c = claim(&app, &declined).await;
    assert_eq!(c.status(), ClaimStatus::InService);
    assert!(c.timeline.iter().any(|e| e.text.contains("quote was declined")));
}

#[tokio::test]
async fn a_replacement_carries_the_remaining_coverage_on() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::Replacement).await;
    let resolved = agent(&app, "agent-1")
        .replace_product(ReplaceProductRequest {
            claim_id: c.clone(),
            serial_number: "NEW-77".into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.status(), ClaimStatus::Resolved);
    let old = coverage_at(&app, &r.registration_id, start_time() + Duration::days(10)).await;
    assert_eq!(old.reason(), CoverageReason::Replaced);
    let new = customer(&app)
        .check_coverage(CheckCoverageRequest {
            product: Some(check_coverage_request::Product::SerialNumber("new77".into())),
            at: ts(start_time() + Duration::days(10)),
            cause: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((new.covered, new.covered_through.as_str()), (true, "2028-03-01"));
    let twice = agent(&app, "agent-1")
        .replace_product(ReplaceProductRequest {
            claim_id: c,
            serial_number: "NEW-78".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&twice), "INVALID_STATUS");
    let replacement = registrations(&app, CUSTOMER)
        .await
        .into_iter()
        .find(|x| x.serial_number == "NEW-77")
        .unwrap();
    assert_eq!(
        (replacement.source(), replacement.replaces.as_str()),
        (RegistrationSource::Replacement, r.registration_id.as_str())
    );
}

#[tokio::test]
async fn fifty_racing_refund_requests_pay_once() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    let price = r.unit_price.clone().expect("an order unit has its price");
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let calls: Vec<_> = (0..50)
        .map(|i| {
            let mut client = app.warranty(Role::Service, "payments");
            let claim_id = c.clone();
            tokio::spawn(async move {
                client
                    .issue_claim_refund(IssueClaimRefundRequest {
                        claim_id,
                        amount: None,
                        request_id: format!("refund-{i}"),
                    })
                    .await
            })
        })
        .collect();
    let mut issued = Vec::new();
    for call in calls {
        match call.await.unwrap() {
            Ok(refund) => issued.push(refund.into_inner()),
            Err(status) => assert_eq!(reason(&status), "REFUND_ALREADY_ISSUED", "{status:?}"),
        }
    }
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].amount, Some(price), "the unit's price, to the cent");
    assert_eq!(
        topics(&app, "aftercare.warranty.events.v1.ClaimRefundRequested")
            .await
            .len(),
        1
    );
    let paid = settle_refund(&app, &issued[0].refund_id, Ok("psp-1")).await;
    assert_eq!(paid.status(), ClaimRefundStatus::Succeeded);
    assert_eq!(paid.provider_reference, "psp-1");
    // The payment tool confirming again is answered the same; another
    // reference is refused.
    let in_returns = returns_refund_of(&app, &issued[0].refund_id).await;
    let mut tool = app.returns(Role::Service, "payments");
    let confirm = |reference: &str| aftercare_proto::returns::ConfirmRefundRequest {
        refund_id: in_returns.refund_id.clone(),
        provider_reference: reference.into(),
    };
    let again = tool.confirm_refund(confirm("psp-1")).await.unwrap().into_inner();
    assert_eq!(again.status(), aftercare_proto::returns::RefundStatus::Succeeded);
    let other = tool.confirm_refund(confirm("psp-2")).await.unwrap_err();
    assert_eq!(reason(&other), "REFUND_NOT_PENDING");
    app.settle().await;
    assert_eq!(claim(&app, &c).await.status(), ClaimStatus::Resolved);
    let mut payments = app.warranty(Role::Service, "payments");
    let more = payments
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: c,
            amount: None,
            request_id: "refund-late".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&more), "INVALID_STATUS", "resolved: nothing more to pay");
    assert_eq!(app.count("SELECT count(*) FROM warranty.refunds").await, 1);
}

#[tokio::test]
async fn a_price_reduction_is_capped_by_the_price_and_a_failed_one_can_be_issued_again() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L2", 1).await;
    let c = approved(&app, &r.registration_id, Remedy::PriceReduction).await;
    let mut staff = agent(&app, "agent-1");
    let issue = |amount: &str, key: &str| IssueClaimRefundRequest {
        claim_id: c.clone(),
        amount: crate::fixtures::eur(amount),
        request_id: key.into(),
    };
    let too_much = staff.issue_claim_refund(issue("1000.00", "k-1")).await.unwrap_err();
    assert_eq!(reason(&too_much), "AMOUNT_EXCEEDS_PRICE");
    let none = staff
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: c.clone(),
            amount: None,
            request_id: "k-0".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&none), ["amount"]);
    let first = staff
        .issue_claim_refund(issue("2.50", "k-2"))
        .await
        .unwrap()
        .into_inner();
    let failed = settle_refund(&app, &first.refund_id, Err("card expired")).await;
    assert_eq!(failed.status(), ClaimRefundStatus::Failed);
    assert_eq!(failed.failure_reason, "card expired");
    assert_eq!(claim(&app, &c).await.status(), ClaimStatus::Approved);
    let second = staff
        .issue_claim_refund(issue("2.50", "k-3"))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(second.refund_id, first.refund_id);
    assert_eq!(
        app.count("SELECT count(*) FROM warranty.refunds WHERE status = 'pending'")
            .await,
        1
    );
}

/// Approves `faults` as repairs of `registration`, one claim each, the
/// clock moving `gap` between them.
async fn past_repairs(app: &TestApp, registration: &str, faults: &[&str], gap: Duration) {
    for fault in faults {
        approved_for(app, registration, fault, Remedy::Repair).await;
        app.clock.advance(gap);
    }
}

/// Files `fault` on `registration` and answers its entitlement rule.
async fn entitlement(app: &TestApp, registration: &str, fault: &str) -> (String, String) {
    let c = customer(app)
        .file_claim(FileClaimRequest {
            registration_id: registration.into(),
            fault_category: fault.into(),
            description: "Again.".into(),
            photo_urls: vec![],
            channel: aftercare_proto::common::Channel::Web as i32,
            request_id: uuid::Uuid::now_v7().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    (c.claim_id, c.entitlement_rule)
}

#[tokio::test]
async fn repeat_failures_entitle_a_replacement_or_refund_for_each_trigger() {
    let app = TestApp::spawn().await;
    // Five-year terms, so faults can spread past the 12-month window.
    let current = admin(&app)
        .get_terms(GetTermsRequest::default())
        .await
        .unwrap()
        .into_inner();
    admin(&app)
        .update_terms(UpdateTermsRequest {
            terms: Some(WarrantyTerms {
                duration_months: 60,
                remedies: vec![Remedy::Repair as i32],
                ..current
            }),
        })
        .await
        .unwrap();
    delivered(&app).await;
    // The same fault a third time within 12 months.
    let same = unit(&app, "L1", 1).await.registration_id;
    past_repairs(&app, &same, &["No heat", "no heat"], Duration::days(30)).await;
    let (claim_id, rule) = entitlement(&app, &same, " NO HEAT").await;
    assert_eq!(rule, "same_fault");
    let mut staff = agent(&app, "agent-1");
    staff
        .review_claim(ReviewClaimRequest {
            claim_id: claim_id.clone(),
        })
        .await
        .unwrap();
    let repair = staff
        .approve_claim(ApproveClaimRequest {
            claim_id: claim_id.clone(),
            remedy: Remedy::Repair as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (reason(&repair), repair.code()),
        ("REPAIR_NOT_ALLOWED".into(), Code::FailedPrecondition)
    );
    // Entitled remedies are open even when the terms offer repair only.
    let refund = staff
        .approve_claim(ApproveClaimRequest {
            claim_id: claim_id.clone(),
            remedy: Remedy::Refund as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        refund.entitled_remedies,
        [Remedy::Replacement as i32, Remedy::Refund as i32]
    );
    // Five different faults within 12 months.
    let different = unit(&app, "L1", 2).await.registration_id;
    past_repairs(&app, &different, &["a", "b", "c", "d"], Duration::days(10)).await;
    assert_eq!(entitlement(&app, &different, "e").await.1, "different_faults");
    // Seven faults over the warranty, never more than three in a year.
    let total = unit(&app, "L2", 1).await.registration_id;
    past_repairs(&app, &total, &["t1", "t2"], Duration::days(10)).await;
    app.clock.advance(Duration::days(400));
    past_repairs(&app, &total, &["t3", "t4"], Duration::days(10)).await;
    app.clock.advance(Duration::days(400));
    past_repairs(&app, &total, &["t5", "t6"], Duration::days(10)).await;
    assert_eq!(entitlement(&app, &total, "t7").await.1, "total_faults");
    // Below every threshold: none.
    let fine = unit(&app, "L3", 1).await.registration_id;
    assert_eq!(entitlement(&app, &fine, "first").await.1, "");
}

#[tokio::test]
async fn a_repair_longer_than_the_maximum_entitles_the_next_claim() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    centre(&app, "fixit").await;
    let r = unit(&app, "L3", 1).await.registration_id;
    let (_, order) = diagnosed_at(&app, &r, "fixit").await;
    step(&app, "fixit", &order, Step::Repaired("Slow parts.".into()))
        .await
        .unwrap();
    // Six weeks in service: more than 20 working days.
    app.clock.advance(Duration::days(42));
    step(&app, "fixit", &order, shipped()).await.unwrap();
    assert_eq!(entitlement(&app, &r, "something else").await.1, "repair_too_long");
}

#[tokio::test]
async fn a_unit_is_never_paid_back_more_than_its_price_whatever_its_claims() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    let price = r.unit_price.clone().unwrap();
    let mut staff = agent(&app, "agent-1");
    // A price reduction of 2.50 first, paid.
    let reduced = approved(&app, &r.registration_id, Remedy::PriceReduction).await;
    let first = staff
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: reduced,
            amount: crate::fixtures::eur("2.50"),
            request_id: "p-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    settle_refund(&app, &first.refund_id, Ok("psp-1")).await;
    // Then a refund on another claim of the same unit: what is left.
    let refunded = approved(&app, &r.registration_id, Remedy::Refund).await;
    let second = staff
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: refunded.clone(),
            amount: None,
            request_id: "p-2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let cents = |m: &Option<aftercare_proto::common::Money>| -> i64 {
        let d: rust_decimal::Decimal = m.as_ref().unwrap().amount.parse().unwrap();
        (d * rust_decimal::Decimal::from(100)).try_into().unwrap()
    };
    assert_eq!(cents(&second.amount) + 250, cents(&Some(price)), "to the cent");
    settle_refund(&app, &second.refund_id, Ok("psp-2")).await;
    let settled = agent(&app, "agent-1")
        .get_registration(GetRegistrationRequest {
            registration_id: r.registration_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(settled.status(), RegistrationStatus::Refunded);
    // Refunded: no longer covered, so nothing more can be approved on it.
    let late = file(&app, &r.registration_id).await;
    assert_eq!(late.coverage_at_filing.unwrap().reason(), CoverageReason::Refunded);
}

#[tokio::test]
async fn an_unrepairable_product_is_replaced_and_the_override_is_on_record() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    centre(&app, "fixit").await;
    let r = unit(&app, "L2", 1).await.registration_id;
    let (c, order) = diagnosed_at(&app, &r, "fixit").await;
    step(&app, "fixit", &order, Step::Unrepairable("No parts exist.".into()))
        .await
        .unwrap();
    // Still out with the centre: no other remedy yet.
    let early = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c.clone(),
            remedy: Remedy::Replacement as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "SERVICE_ORDER_OPEN");
    step(&app, "fixit", &order, shipped()).await.unwrap();
    let waiting = claim(&app, &c).await;
    assert_eq!(
        (waiting.status(), waiting.entitlement_rule.as_str()),
        (ClaimStatus::InService, "unrepairable")
    );
    // Another repair now needs an override, kept as an internal note.
    let repair = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c.clone(),
            remedy: Remedy::Repair as i32,
            override_reason: "The customer wants their own unit back.".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let note = repair
        .timeline
        .iter()
        .find(|e| e.text.contains("wants their own unit"))
        .expect("the override is on the timeline");
    assert!(!note.customer_visible);
    let seen = customer(&app)
        .get_claim(GetClaimRequest { claim_id: c.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(!seen.timeline.iter().any(|e| e.text.contains("wants their own unit")));
    // A replacement instead (the customer changed their mind): a second
    // claim on the new unit is covered.
    let other = unit(&app, "L3", 1).await.registration_id;
    let (c2, order2) = diagnosed_at(&app, &other, "fixit").await;
    step(&app, "fixit", &order2, Step::Unrepairable("Cracked base.".into()))
        .await
        .unwrap();
    step(&app, "fixit", &order2, shipped()).await.unwrap();
    agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c2.clone(),
            remedy: Remedy::Replacement as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let bad = agent(&app, "agent-1")
        .replace_product(ReplaceProductRequest {
            claim_id: c2.clone(),
            serial_number: "---".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&bad), ["serial_number"]);
    let replaced = agent(&app, "agent-1")
        .replace_product(ReplaceProductRequest {
            claim_id: c2,
            serial_number: "R-2".into(),
            note: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.status(), ClaimStatus::Resolved);
}

#[tokio::test]
async fn the_customer_sees_the_quote_and_a_partner_not_their_words() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    centre(&app, "fixit").await;
    app.clock.set("2028-06-01T09:00:00Z".parse().unwrap());
    let r = unit(&app, "L1", 1).await.registration_id;
    let c = file(&app, &r).await;
    let mut staff = agent(&app, "agent-1");
    staff
        .review_claim(ReviewClaimRequest {
            claim_id: c.claim_id.clone(),
        })
        .await
        .unwrap();
    staff
        .approve_claim(ApproveClaimRequest {
            claim_id: c.claim_id.clone(),
            remedy: Remedy::Repair as i32,
            paid_repair: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let order = service_order(&app, &c.claim_id, "fixit").await.service_order_id;
    step(&app, "fixit", &order, Step::Received(Received {})).await.unwrap();
    let partner_view = step(&app, "fixit", &order, diagnosed()).await.unwrap();
    assert_eq!(
        (
            partner_view.fault_category.as_str(),
            partner_view.fault_description.as_str()
        ),
        ("does not heat", "")
    );
    step(
        &app,
        "fixit",
        &order,
        Step::Quote(crate::fixtures::eur("49.90").unwrap()),
    )
    .await
    .unwrap();
    let seen = customer(&app)
        .get_claim(GetClaimRequest {
            claim_id: c.claim_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        seen.timeline
            .iter()
            .any(|e| e.customer_visible && e.text.contains("49.90"))
    );
    // Another customer cannot answer it, nor learn whose it is.
    let stranger = app
        .warranty(Role::Customer, "c-2")
        .answer_quote(AnswerQuoteRequest {
            service_order_id: order.clone(),
            accept: true,
        })
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    assert!(!stranger.message().contains(&c.claim_id));
}

#[tokio::test]
async fn a_unit_without_a_recorded_price_is_paid_back_on_an_agents_amount_only() {
    let app = TestApp::spawn().await;
    let r = customer(&app)
        .register_product(manual("SN-P", "p"))
        .await
        .unwrap()
        .into_inner();
    agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: r.registration_id.clone(),
            accept: true,
            note: String::new(),
        })
        .await
        .unwrap();
    let c = approved(&app, &r.registration_id, Remedy::Refund).await;
    let shop = app
        .warranty(Role::Service, "payments")
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: c.clone(),
            amount: crate::fixtures::eur("1000000.00"),
            request_id: "s-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&shop), "PRICE_UNKNOWN");
    let refund = agent(&app, "agent-1")
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: c,
            amount: crate::fixtures::eur("39.90"),
            request_id: "a-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refund.amount, crate::fixtures::eur("39.90"));
}

#[tokio::test]
async fn a_replacement_waits_for_money_being_paid_and_the_price_caps_the_whole_chain() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    let price = r.unit_price.clone().unwrap();
    let mut staff = agent(&app, "agent-1");
    // A price reduction of 2.50, pending.
    let reduced = approved(&app, &r.registration_id, Remedy::PriceReduction).await;
    let pending = staff
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: reduced,
            amount: crate::fixtures::eur("2.50"),
            request_id: "r-1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let replaced = approved(&app, &r.registration_id, Remedy::Replacement).await;
    let early = staff
        .replace_product(ReplaceProductRequest {
            claim_id: replaced.clone(),
            serial_number: "NEW-1".into(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&early), "REFUND_LIVE");
    settle_refund(&app, &pending.refund_id, Ok("psp-r")).await;
    staff
        .replace_product(ReplaceProductRequest {
            claim_id: replaced,
            serial_number: "NEW-1".into(),
            note: String::new(),
        })
        .await
        .unwrap();
    // A refund on the replacement pays what is left of the one price.
    let new = registrations(&app, CUSTOMER)
        .await
        .into_iter()
        .find(|x| x.serial_number == "NEW-1")
        .unwrap();
    let refunded = approved(&app, &new.registration_id, Remedy::Refund).await;
    let last = staff
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: refunded,
            amount: None,
            request_id: "r-2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let cents = |m: &Option<aftercare_proto::common::Money>| -> i64 {
        let d: rust_decimal::Decimal = m.as_ref().unwrap().amount.parse().unwrap();
        (d * rust_decimal::Decimal::from(100)).try_into().unwrap()
    };
    assert_eq!(cents(&last.amount) + 250, cents(&Some(price)));
}
