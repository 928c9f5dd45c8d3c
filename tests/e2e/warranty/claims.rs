//! Claims from filing to a decision: review, a question and its answer,
//! approval with an offered remedy, rejection and one appeal to another
//! agent, cancellation; every step on the timeline and announced.

use chrono::Duration;
use tonic::Code;

use super::*;

async fn review(app: &TestApp, who: &str, claim_id: &str) -> Result<Claim, tonic::Status> {
    agent(app, who)
        .review_claim(ReviewClaimRequest {
            claim_id: claim_id.into(),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_claim_goes_from_filing_through_a_question_to_approval() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 1).await;
    app.clock.advance(Duration::days(400));
    let c = file(&app, &r.registration_id).await;
    assert_eq!(c.status(), ClaimStatus::Submitted);
    assert!(c.coverage_at_filing.as_ref().unwrap().covered);
    assert!(c.next_step.contains("within a day"));
    let c = review(&app, "agent-1", &c.claim_id).await.unwrap();
    assert_eq!((c.status(), c.reviewer.as_str()), (ClaimStatus::InReview, "agent-1"));
    agent(&app, "agent-1")
        .add_claim_message(AddClaimMessageRequest {
            claim_id: c.claim_id.clone(),
            text: "Customer sounds upset; be quick.".into(),
            customer_visible: false,
            channel: 0,
        })
        .await
        .unwrap();
    let c = agent(&app, "agent-1")
        .request_claim_info(RequestClaimInfoRequest {
            claim_id: c.claim_id.clone(),
            question: "Does the light come on?".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(c.status(), ClaimStatus::AwaitingCustomer);
    let c = customer(&app)
        .answer_claim(AnswerClaimRequest {
            claim_id: c.claim_id.clone(),
            answer: "No, nothing happens.".into(),
            photo_urls: vec!["https://img.example/base.jpg".into()],
            channel: aftercare_proto::common::Channel::MobileApp as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((c.status(), c.photo_urls.len()), (ClaimStatus::InReview, 2));
    // The customer sees neither the internal note nor the reviewer.
    assert_eq!(c.reviewer, "");
    assert!(c.timeline.iter().all(|e| e.customer_visible));
    assert!(!c.timeline.iter().any(|e| e.text.contains("upset")));
    let c = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c.claim_id.clone(),
            remedy: Remedy::Repair as i32,
            note: String::new(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((c.status(), c.remedy()), (ClaimStatus::Approved, Remedy::Repair));
    assert!(c.next_step.contains("repair"));
    let statuses: Vec<ClaimStatus> = c
        .timeline
        .iter()
        .filter(|e| e.kind == "status")
        .map(|e| e.status())
        .collect();
    assert_eq!(
        statuses,
        [
            ClaimStatus::Submitted,
            ClaimStatus::InReview,
            ClaimStatus::AwaitingCustomer,
            ClaimStatus::InReview,
            ClaimStatus::Approved
        ]
    );
    assert!(
        c.timeline
            .iter()
            .any(|e| e.text.contains("upset") && !e.customer_visible)
    );
    let events = topics(&app, "aftercare.warranty.events.v1.Claim").await;
    assert_eq!(events.len(), 5, "{events:?}");
    // Approved once: a second approval is refused.
    let again = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c.claim_id.clone(),
            remedy: Remedy::Replacement as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&again), "INVALID_STATUS");
}

#[tokio::test]
async fn a_rejection_is_appealed_once_to_another_agent() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L2", 1).await;
    let c = file(&app, &r.registration_id).await;
    review(&app, "agent-1", &c.claim_id).await.unwrap();
    let reject = |who: &'static str| {
        let mut client = agent(&app, who);
        let id = c.claim_id.clone();
        async move {
            client
                .reject_claim(RejectClaimRequest {
                    claim_id: id,
                    reason: RejectionReason::NoFaultFound as i32,
                    note: "We found no fault.".into(),
                })
                .await
                .unwrap()
                .into_inner()
        }
    };
    let rejected = reject("agent-1").await;
    assert_eq!(
        (rejected.status(), rejected.rejection_reason()),
        (ClaimStatus::Rejected, RejectionReason::NoFaultFound)
    );
    let appeal = || AppealClaimRequest {
        claim_id: c.claim_id.clone(),
        message: "It really does not heat.".into(),
    };
    let appealed = customer(&app).appeal_claim(appeal()).await.unwrap().into_inner();
    assert_eq!((appealed.status(), appealed.appealed), (ClaimStatus::Submitted, true));
    assert_eq!(
        appealed.rejection_reason(),
        RejectionReason::Unspecified,
        "cleared by the appeal"
    );
    let same = review(&app, "agent-1", &c.claim_id).await.unwrap_err();
    assert_eq!(reason(&same), "SAME_REVIEWER");
    review(&app, "agent-2", &c.claim_id).await.unwrap();
    // Nor may the first agent decide it once another has taken it.
    let overrule = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c.claim_id.clone(),
            remedy: Remedy::Repair as i32,
            note: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&overrule), "SAME_REVIEWER");
    let final_ = reject("agent-2").await;
    assert!(final_.next_step.contains("second review"));
    let again = customer(&app).appeal_claim(appeal()).await.unwrap_err();
    assert_eq!(reason(&again), "APPEAL_USED");
}

#[tokio::test]
async fn approval_needs_coverage_when_filed_and_an_offered_remedy() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L3", 1).await;
    // Filed the day after coverage ended: the claim records it.
    app.clock.set("2028-03-01T21:00:00Z".parse().unwrap());
    let late = file(&app, &r.registration_id).await;
    let cov = late.coverage_at_filing.clone().unwrap();
    assert_eq!((cov.covered, cov.reason()), (false, CoverageReason::Expired));
    review(&app, "agent-1", &late.claim_id).await.unwrap();
    let refused = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: late.claim_id.clone(),
            remedy: Remedy::Repair as i32,
            note: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "NOT_COVERED");
    // Filed on the last day: covered, with the remedies offered then,
    // whatever the terms say since.
    app.clock.set("2028-03-01T20:59:59Z".parse().unwrap());
    let in_time = file(&app, &unit(&app, "L2", 1).await.registration_id).await;
    assert!(in_time.coverage_at_filing.as_ref().unwrap().covered);
    review(&app, "agent-1", &in_time.claim_id).await.unwrap();
    let current = admin(&app)
        .get_terms(GetTermsRequest::default())
        .await
        .unwrap()
        .into_inner();
    admin(&app)
        .update_terms(UpdateTermsRequest {
            terms: Some(WarrantyTerms {
                remedies: vec![Remedy::Repair as i32],
                ..current
            }),
        })
        .await
        .unwrap();
    let refund = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: in_time.claim_id.clone(),
            remedy: Remedy::Refund as i32,
            note: "Refund approved.".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refund.remedy(), Remedy::Refund);
    // A product registered under the new terms is offered repair only.
    let mut kettle = manual("SN-NEW", "new");
    kettle.purchased_at = ts("2028-03-01T12:00:00Z".parse().unwrap());
    let newer = customer(&app).register_product(kettle).await.unwrap().into_inner();
    assert_eq!(newer.terms_version, 2);
    agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: newer.registration_id.clone(),
            accept: true,
            note: String::new(),
        })
        .await
        .unwrap();
    let c = file(&app, &newer.registration_id).await;
    assert_eq!(c.coverage_at_filing.as_ref().unwrap().remedies, [Remedy::Repair as i32]);
    review(&app, "agent-1", &c.claim_id).await.unwrap();
    let not_offered = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: c.claim_id.clone(),
            remedy: Remedy::Refund as i32,
            note: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&not_offered), "REMEDY_NOT_OFFERED");
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM warranty.claims ORDER BY status")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(statuses, ["approved", "in_review", "in_review"]);
}

#[tokio::test]
async fn a_customer_cancels_before_a_decision_and_filing_is_idempotent() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let r = unit(&app, "L1", 2).await;
    let request = FileClaimRequest {
        registration_id: r.registration_id.clone(),
        fault_category: "leaks".into(),
        description: "Water under the base.".into(),
        photo_urls: vec![],
        channel: aftercare_proto::common::Channel::Web as i32,
        request_id: "claim-1".into(),
    };
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let mut client = customer(&app);
            let request = request.clone();
            tokio::spawn(async move { client.file_claim(request).await })
        })
        .collect();
    let mut ids = Vec::new();
    for call in calls {
        ids.push(call.await.unwrap().unwrap().into_inner().claim_id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "ten racing filings with one request_id: one claim");
    assert_eq!(app.count("SELECT count(*) FROM warranty.claims").await, 1);
    let mut changed = request.clone();
    changed.description = "Something else.".into();
    let reused = customer(&app).file_claim(changed).await.unwrap_err();
    assert_eq!(
        (reused.code(), reason(&reused)),
        (Code::AlreadyExists, "REQUEST_ID_REUSED".into())
    );
    let canceled = customer(&app)
        .cancel_claim(CancelClaimRequest {
            claim_id: ids[0].clone(),
            reason: "It works again.".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(canceled.status(), ClaimStatus::Canceled);
    let review = review(&app, "agent-1", &ids[0]).await.unwrap_err();
    assert_eq!(
        (review.code(), reason(&review)),
        (Code::FailedPrecondition, "INVALID_STATUS".into())
    );
}

#[tokio::test]
async fn the_customer_cannot_fill_the_timeline_for_staff_nor_a_storefront_write_internal_notes() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let c = file(&app, &unit(&app, "L1", 1).await.registration_id).await;
    let message = |text: &str, visible: bool| AddClaimMessageRequest {
        claim_id: c.claim_id.clone(),
        text: text.into(),
        customer_visible: visible,
        channel: 0,
    };
    for i in 0..100 {
        customer(&app)
            .add_claim_message(message(&format!("hello {i}"), true))
            .await
            .unwrap();
    }
    let full = customer(&app)
        .add_claim_message(message("one more", true))
        .await
        .unwrap_err();
    assert_eq!(reason(&full), "CLAIM_TIMELINE_FULL");
    agent(&app, "agent-1")
        .add_claim_message(message("Staff can still write.", false))
        .await
        .unwrap();
    // A storefront writes for the customer: visible, and it sees no
    // internal note or reviewer.
    let mut shop = app.warranty(Role::Service, "storefront");
    let seen = shop
        .add_claim_message(message("Sent from the shop.", false))
        .await
        .unwrap()
        .into_inner();
    assert!(seen.timeline.iter().all(|e| e.customer_visible));
    assert!(seen.timeline.iter().any(|e| e.text == "Sent from the shop."));
    assert!(!seen.timeline.iter().any(|e| e.text.contains("Staff can still")));
}
