//! Who may call what, whose products and claims they may see, and hostile
//! input refused before anything is written.

use tonic::Code;

use super::*;

/// Calls one RPC with real objects where it needs them: a permitted role
/// gets past the role check, any other gets PERMISSION_DENIED.
async fn call(client: &mut Warranty, rpc: &str, objects: &Objects) -> Result<(), tonic::Status> {
    let key = uuid::Uuid::now_v7().to_string();
    let (registration, claim) = (objects.registration.as_str(), objects.claim.as_str());
    let claim_id = claim.to_owned();
    let order = objects.service_order.clone();
    match rpc {
        "GetTerms" => client.get_terms(GetTermsRequest::default()).await.map(drop),
        "ListTerms" => client.list_terms(ListTermsRequest {}).await.map(drop),
        "UpdateTerms" => {
            let terms = client.get_terms(GetTermsRequest::default()).await?.into_inner();
            client
                .update_terms(UpdateTermsRequest { terms: Some(terms) })
                .await
                .map(drop)
        }
        "GetCalendar" => client
            .get_calendar(GetCalendarRequest {
                country_code: "TR".into(),
            })
            .await
            .map(drop),
        "UpdateCalendar" => client
            .update_calendar(UpdateCalendarRequest {
                calendar: Some(BusinessCalendar {
                    country_code: "DE".into(),
                    time_zone: "Europe/Berlin".into(),
                    working_weekdays: vec![1, 2, 3, 4, 5],
                    ..Default::default()
                }),
            })
            .await
            .map(drop),
        "RegisterProduct" => client.register_product(manual(&key, &key)).await.map(drop),
        "VerifyRegistration" => client
            .verify_registration(VerifyRegistrationRequest {
                registration_id: registration.into(),
                accept: true,
                note: String::new(),
            })
            .await
            .map(drop),
        "GetRegistration" => client
            .get_registration(GetRegistrationRequest {
                registration_id: registration.into(),
            })
            .await
            .map(drop),
        "ListRegistrations" => client
            .list_registrations(ListRegistrationsRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "CheckCoverage" => client
            .check_coverage(CheckCoverageRequest {
                product: Some(check_coverage_request::Product::RegistrationId(registration.into())),
                ..Default::default()
            })
            .await
            .map(drop),
        "FileClaim" => client
            .file_claim(FileClaimRequest {
                registration_id: registration.into(),
                fault_category: "f".into(),
                description: "d".into(),
                photo_urls: vec![],
                channel: aftercare_proto::common::Channel::Web as i32,
                request_id: key,
            })
            .await
            .map(drop),
        "GetClaim" => client.get_claim(GetClaimRequest { claim_id }).await.map(drop),
        "ListClaims" => client
            .list_claims(ListClaimsRequest {
                customer_id: CUSTOMER.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "ReviewClaim" => client.review_claim(ReviewClaimRequest { claim_id }).await.map(drop),
        "RequestClaimInfo" => client
            .request_claim_info(RequestClaimInfoRequest {
                claim_id,
                question: "q".into(),
            })
            .await
            .map(drop),
        "AnswerClaim" => client
            .answer_claim(AnswerClaimRequest {
                claim_id,
                answer: "a".into(),
                photo_urls: vec![],
                channel: aftercare_proto::common::Channel::Web as i32,
            })
            .await
            .map(drop),
        "ApproveClaim" => client
            .approve_claim(ApproveClaimRequest {
                claim_id,
                remedy: Remedy::Repair as i32,
                note: String::new(),
                ..Default::default()
            })
            .await
            .map(drop),
        "RejectClaim" => client
            .reject_claim(RejectClaimRequest {
                claim_id,
                reason: RejectionReason::NoFaultFound as i32,
                note: "n".into(),
            })
            .await
            .map(drop),
        "AppealClaim" => client
            .appeal_claim(AppealClaimRequest {
                claim_id,
                message: "m".into(),
            })
            .await
            .map(drop),
        "CancelClaim" => client
            .cancel_claim(CancelClaimRequest {
                claim_id,
                reason: String::new(),
            })
            .await
            .map(drop),
        "AddClaimMessage" => client
            .add_claim_message(AddClaimMessageRequest {
                claim_id,
                text: "t".into(),
                customer_visible: true,
                channel: 0,
            })
            .await
            .map(drop),
        "UpsertServiceCentre" => client
            .upsert_service_centre(UpsertServiceCentreRequest {
                centre: Some(ServiceCentre {
                    centre_id: "centre-9".into(),
                    name: "Nine".into(),
                    kind: "partner".into(),
                    active: true,
                }),
            })
            .await
            .map(drop),
        "ListServiceCentres" => client
            .list_service_centres(ListServiceCentresRequest {})
            .await
            .map(drop),
        "CreateServiceOrder" => client
            .create_service_order(CreateServiceOrderRequest {
                claim_id: objects.approved.clone(),
                centre_id: CENTRE.into(),
                inbound_tracking: String::new(),
            })
            .await
            .map(drop),
        "GetServiceOrder" => client
            .get_service_order(GetServiceOrderRequest {
                service_order_id: order,
            })
            .await
            .map(drop),
        "ListServiceOrders" => client
            .list_service_orders(ListServiceOrdersRequest::default())
            .await
            .map(drop),
        "UpdateServiceOrder" => client
            .update_service_order(UpdateServiceOrderRequest {
                service_order_id: order,
                step: Some(update_service_order_request::Step::Received(
                    update_service_order_request::Received {},
                )),
            })
            .await
            .map(drop),
        "AnswerQuote" => client
            .answer_quote(AnswerQuoteRequest {
                service_order_id: order,
                accept: true,
            })
            .await
            .map(drop),
        "ReplaceProduct" => client
            .replace_product(ReplaceProductRequest {
                claim_id,
                serial_number: key,
                note: String::new(),
            })
            .await
            .map(drop),
        "IssueClaimRefund" => client
            .issue_claim_refund(IssueClaimRefundRequest {
                claim_id,
                amount: None,
                request_id: key,
            })
            .await
            .map(drop),
        "GetClaimRefund" => client
            .get_claim_refund(GetClaimRefundRequest {
                refund_id: objects.refund.clone(),
            })
            .await
            .map(drop),
        "CloseClaim" => client.close_claim(CloseClaimRequest { claim_id }).await.map(drop),
        "GetServiceMetrics" => client
            .get_service_metrics(GetServiceMetricsRequest {
                from: ts(start_time()),
                to: ts(start_time() + chrono::Duration::days(1)),
                channel: 0,
            })
            .await
            .map(drop),
        "UpsertPlan" => client
            .upsert_plan(UpsertPlanRequest {
                plan: Some(Plan {
                    sku: "PLAN-X".into(),
                    name: "x".into(),
                    months: 12,
                    cooling_off_days: 14,
                    active: true,
                }),
            })
            .await
            .map(drop),
        "ListPlans" => client.list_plans(ListPlansRequest {}).await.map(drop),
        "ListExtendedWarranties" => client
            .list_extended_warranties(ListExtendedWarrantiesRequest {
                customer_id: CUSTOMER.into(),
            })
            .await
            .map(drop),
        // The first permitted caller cancels it; the next find it canceled.
        "CancelExtendedWarranty" => client
            .cancel_extended_warranty(CancelExtendedWarrantyRequest {
                extension_id: objects.plan.clone(),
                request_id: key,
            })
            .await
            .map(drop),
        other => panic!("no call for {other}"),
    }
}

/// Real objects for every RPC: a registration, a submitted claim, an
/// approved one, a service order at [`CENTRE`], a pending refund.
pub(super) struct Objects {
    pub registration: String,
    pub claim: String,
    pub approved: String,
    pub service_order: String,
    pub refund: String,
    pub plan: String,
}

pub(super) const CENTRE: &str = "centre-1";

pub(super) async fn objects(app: &TestApp) -> Objects {
    delivered(app).await;
    let registration = unit(app, "L1", 1).await.registration_id;
    let claim = file(app, &registration).await.claim_id;
    let approved = super::remedies::approved(app, &unit(app, "L1", 2).await.registration_id, Remedy::Repair).await;
    super::remedies::centre(app, CENTRE).await;
    let repair = super::remedies::approved(app, &unit(app, "L2", 1).await.registration_id, Remedy::Repair).await;
    let service_order = super::remedies::service_order(app, &repair, CENTRE)
        .await
        .service_order_id;
    let refunded = super::remedies::approved(app, &unit(app, "L3", 1).await.registration_id, Remedy::Refund).await;
    let refund = agent(app, "agent-1")
        .issue_claim_refund(IssueClaimRefundRequest {
            claim_id: refunded,
            amount: None,
            request_id: "objects".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .refund_id;
    super::plans::plan(app).await;
    let plan = super::plans::sold(app).await.extension_id;
    Objects {
        registration,
        claim,
        approved,
        service_order,
        refund,
        plan,
    }
}

#[tokio::test]
async fn every_role_against_every_rpc_with_real_objects() {
    let app = TestApp::spawn().await;
    let objects = objects(&app).await;
    use Role::*;
    let matrix: &[(&str, &[Role])] = &[
        ("GetTerms", &[Customer, Service, Agent, Admin]),
        ("ListTerms", &[Service, Agent, Admin]),
        ("UpdateTerms", &[Admin]),
        ("GetCalendar", &[Service, Agent, Admin]),
        ("UpdateCalendar", &[Admin]),
        ("RegisterProduct", &[Customer, Service, Agent]),
        ("VerifyRegistration", &[Agent]),
        ("GetRegistration", &[Customer, Service, Agent, Admin]),
        ("ListRegistrations", &[Customer, Service, Agent, Admin]),
        ("CheckCoverage", &[Customer, Service, Agent, Admin]),
        ("FileClaim", &[Customer, Service, Agent]),
        ("GetClaim", &[Customer, Service, Agent, Admin]),
        ("ListClaims", &[Customer, Service, Agent, Admin]),
        ("ReviewClaim", &[Agent]),
        ("RequestClaimInfo", &[Agent]),
        ("AnswerClaim", &[Customer, Service]),
        ("ApproveClaim", &[Agent]),
        ("RejectClaim", &[Agent]),
        ("AppealClaim", &[Customer, Service]),
        ("CancelClaim", &[Customer, Service, Agent]),
        ("AddClaimMessage", &[Customer, Service, Agent, Admin]),
        ("UpsertServiceCentre", &[Admin]),
        ("ListServiceCentres", &[Agent, Admin]),
        ("CreateServiceOrder", &[Agent]),
        ("GetServiceOrder", &[Agent, Admin, Partner]),
        ("ListServiceOrders", &[Agent, Admin, Partner]),
        ("UpdateServiceOrder", &[Agent, Partner]),
        ("AnswerQuote", &[Customer, Service]),
        ("ReplaceProduct", &[Agent]),
        ("IssueClaimRefund", &[Agent, Service]),
        ("GetClaimRefund", &[Customer, Agent, Service, Admin]),
        ("CloseClaim", &[Customer, Service, Agent]),
        ("GetServiceMetrics", &[Agent, Admin]),
        ("UpsertPlan", &[Admin]),
        ("ListPlans", &[Customer, Service, Agent, Admin]),
        ("ListExtendedWarranties", &[Customer, Service, Agent, Admin]),
        ("CancelExtendedWarranty", &[Customer, Service, Agent]),
    ];
    let table: Vec<&str> = aftercare_warranty::grpc::ROLES.iter().map(|(rpc, _)| *rpc).collect();
    assert_eq!(table, matrix.iter().map(|(rpc, _)| *rpc).collect::<Vec<_>>());
    for (rpc, allowed) in matrix {
        for role in Role::ALL {
            // A partner is the centre the service order is at.
            let subject = if role == Partner { CENTRE } else { CUSTOMER };
            let mut client = app.warranty(role, subject);
            let code = call(&mut client, rpc, &objects).await.err().map(|e| e.code());
            if allowed.contains(&role) {
                assert_ne!(code, Some(Code::PermissionDenied), "{role} may call {rpc}");
                assert_ne!(code, Some(Code::Internal), "{role} {rpc}");
                assert_ne!(code, Some(Code::NotFound), "{role} {rpc}: the objects are real");
            } else {
                assert_eq!(code, Some(Code::PermissionDenied), "{role} may not call {rpc}");
            }
        }
    }
}

#[tokio::test]
async fn a_customer_never_sees_another_customers_products_or_claims() {
    let app = TestApp::spawn().await;
    let objects = objects(&app).await;
    let mut other = app.warranty(Role::Customer, "c-2");
    for rpc in [
        "GetRegistration",
        "CheckCoverage",
        "FileClaim",
        "GetClaim",
        "AnswerClaim",
        "AppealClaim",
        "CancelClaim",
        "AddClaimMessage",
        "AnswerQuote",
        "GetClaimRefund",
        "CloseClaim",
        "CancelExtendedWarranty",
    ] {
        let status = call(&mut other, rpc, &objects).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{rpc}: {status:?}");
    }
    let list = call(&mut other, "ListRegistrations", &objects).await.unwrap_err();
    assert_eq!(list.code(), Code::NotFound);
    let claims = call(&mut other, "ListClaims", &objects).await.unwrap_err();
    assert_eq!(violated_fields(&claims), ["customer_id"]);
    let mut mine = manual("SN-X", "x");
    mine.customer_id = CUSTOMER.into();
    let before = app.count("SELECT count(*) FROM warranty.claim_timeline").await;
    let for_another = other.register_product(mine).await.unwrap_err();
    assert_eq!(for_another.code(), Code::NotFound);
    assert_eq!(app.count("SELECT count(*) FROM warranty.claims").await, 4);
    assert_eq!(app.count("SELECT count(*) FROM warranty.claim_timeline").await, before);
    // A partner of another centre finds none of this centre's orders.
    let mut stranger = app.warranty(Role::Partner, "centre-2");
    for rpc in ["GetServiceOrder", "UpdateServiceOrder"] {
        let status = call(&mut stranger, rpc, &objects).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{rpc}: {status:?}");
    }
    let listed = stranger
        .list_service_orders(ListServiceOrdersRequest {
            centre_id: CENTRE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.service_orders.is_empty(),
        "a partner lists its own centre's only"
    );
}

#[tokio::test]
async fn hostile_input_is_invalid_argument_and_writes_nothing() {
    let app = TestApp::spawn().await;
    delivered(&app).await;
    let registration = unit(&app, "L1", 1).await.registration_id;
    let before = app.count("SELECT count(*) FROM warranty.registrations").await;
    let long = "x".repeat(5000);
    let mut bad = manual(&long, "");
    bad.customer_id = "c-1\u{0}".into();
    bad.time_zone = "UTC+3".into();
    bad.purchased_at = Some(prost_types::Timestamp {
        seconds: i64::MAX,
        nanos: 0,
    });
    bad.proof_of_purchase_ref = String::new();
    let status = app
        .warranty(Role::Service, "shop")
        .register_product(bad)
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&status),
        [
            "customer_id",
            "serial_number",
            "purchased_at",
            "proof_of_purchase_ref",
            "time_zone",
            "request_id"
        ]
    );
    let mut future = manual("SN-F", "f");
    future.purchased_at = ts(start_time() + chrono::Duration::days(2));
    let status = customer(&app).register_product(future).await.unwrap_err();
    assert_eq!(violated_fields(&status), ["purchased_at"]);
    let status = customer(&app)
        .file_claim(FileClaimRequest {
            registration_id: "not-an-id".into(),
            fault_category: String::new(),
            description: long.clone(),
            photo_urls: vec!["http://plain.example/x.jpg".into(); 11],
            channel: 99,
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    let fields = violated_fields(&status);
    for f in [
        "registration_id",
        "fault_category",
        "description",
        "photo_urls",
        "photo_urls[0]",
        "channel",
        "request_id",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let status = customer(&app)
        .check_coverage(CheckCoverageRequest {
            product: None,
            at: Some(prost_types::Timestamp { seconds: 0, nanos: -1 }),
            cause: 42,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["product", "at", "cause"]);
    let status = customer(&app)
        .list_claims(ListClaimsRequest {
            customer_id: CUSTOMER.into(),
            status: 77,
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = agent(&app, "agent-1")
        .verify_registration(VerifyRegistrationRequest {
            registration_id: registration.clone(),
            accept: false,
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["note"]);
    let status = agent(&app, "agent-1")
        .approve_claim(ApproveClaimRequest {
            claim_id: uuid::Uuid::now_v7().to_string(),
            remedy: 0,
            note: long,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&status), ["remedy", "note"]);
    assert_eq!(app.count("SELECT count(*) FROM warranty.registrations").await, before);
    assert_eq!(app.count("SELECT count(*) FROM warranty.claims").await, 0);
}
