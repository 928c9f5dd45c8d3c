//! Hostile values (NUL bytes, huge and odd strings, timestamps beyond any
//! calendar, amounts past every column, undefined enum values) in every
//! field of every warranty RPC, aimed at real objects and made-up ids:
//! each answer is a clear error or a harmless success, never INTERNAL.

use aftercare_proto::common::Money;

use super::access::{CENTRE, objects};
use super::*;
use crate::hostile::{checked, hostile_values};

#[tokio::test]
async fn hostile_values_never_break_warranty() {
    let app = TestApp::spawn().await;
    let o = objects(&app).await;
    let (mut admin, mut agent, mut shop) = (
        admin(&app),
        agent(&app, "agent-1"),
        app.warranty(Role::Service, "storefront"),
    );
    let mut partner = app.warranty(Role::Partner, CENTRE);
    let mut me = customer(&app);
    for h in hostile_values() {
        let (s, n, t, m) = (h.text.clone(), h.number, h.time, h.money.clone());
        let ids = [
            s.clone(),
            o.registration.clone(),
            o.claim.clone(),
            o.service_order.clone(),
        ];
        checked(
            "GetTerms",
            me.get_terms(GetTermsRequest {
                category: s.clone(),
                sku: s.clone(),
            })
            .await
            .map(drop),
        );
        let terms = WarrantyTerms {
            category: s.clone(),
            sku: s.clone(),
            duration_months: n,
            exclusions: vec![n],
            remedies: vec![n],
            max_repair_working_days: n,
            first_response_hours: n,
            repeat_failure: Some(RepeatFailureRule {
                window_months: n,
                same_fault_max: n,
                different_faults_max: n,
                total_faults_max: n,
            }),
            ..Default::default()
        };
        checked(
            "UpdateTerms",
            admin
                .update_terms(UpdateTermsRequest { terms: Some(terms) })
                .await
                .map(drop),
        );
        let calendar = BusinessCalendar {
            country_code: s.clone(),
            time_zone: s.clone(),
            working_weekdays: vec![n],
            holidays: vec![s.clone(), "99999-01-01".into()],
            updated_at: t,
            business_hours_start: s.clone(),
            business_hours_end: s.clone(),
        };
        checked(
            "UpdateCalendar",
            admin
                .update_calendar(UpdateCalendarRequest {
                    calendar: Some(calendar),
                })
                .await
                .map(drop),
        );
        checked(
            "GetCalendar",
            agent
                .get_calendar(GetCalendarRequest {
                    country_code: s.clone(),
                })
                .await
                .map(drop),
        );
        let register = RegisterProductRequest {
            customer_id: s.clone(),
            sku: s.clone(),
            category: s.clone(),
            product_name: s.clone(),
            serial_number: s.clone(),
            purchased_at: t,
            proof_of_purchase_ref: s.clone(),
            time_zone: s.clone(),
            request_id: s.clone(),
        };
        checked("RegisterProduct", shop.register_product(register).await.map(drop));
        for id in &ids {
            checked(
                "VerifyRegistration",
                agent
                    .verify_registration(VerifyRegistrationRequest {
                        registration_id: id.clone(),
                        accept: n % 2 == 0,
                        note: s.clone(),
                    })
                    .await
                    .map(drop),
            );
            checked(
                "GetRegistration",
                me.get_registration(GetRegistrationRequest {
                    registration_id: id.clone(),
                })
                .await
                .map(drop),
            );
            checked(
                "CheckCoverage",
                me.check_coverage(CheckCoverageRequest {
                    product: Some(check_coverage_request::Product::RegistrationId(id.clone())),
                    at: t,
                    cause: n,
                })
                .await
                .map(drop),
            );
            checked(
                "FileClaim",
                me.file_claim(FileClaimRequest {
                    registration_id: id.clone(),
                    fault_category: s.clone(),
                    description: s.clone(),
                    photo_urls: vec![s.clone()],
                    channel: n,
                    request_id: s.clone(),
                })
                .await
                .map(drop),
            );
            checked(
                "GetClaim",
                agent
                    .get_claim(GetClaimRequest { claim_id: id.clone() })
                    .await
                    .map(drop),
            );
            checked(
                "RequestClaimInfo",
                agent
                    .request_claim_info(RequestClaimInfoRequest {
                        claim_id: id.clone(),
                        question: s.clone(),
                    })
                    .await
                    .map(drop),
            );
            checked(
                "AnswerClaim",
                me.answer_claim(AnswerClaimRequest {
                    claim_id: id.clone(),
                    answer: s.clone(),
                    photo_urls: vec![s.clone(); 3],
                    channel: n,
                })
                .await
                .map(drop),
            );
            checked(
                "ApproveClaim",
                agent
                    .approve_claim(ApproveClaimRequest {
                        claim_id: id.clone(),
                        remedy: n,
                        note: s.clone(),
                        paid_repair: true,
                        override_reason: s.clone(),
                    })
                    .await
                    .map(drop),
            );
            checked(
                "RejectClaim",
                agent
                    .reject_claim(RejectClaimRequest {
                        claim_id: id.clone(),
                        reason: n,
                        note: s.clone(),
                    })
                    .await
                    .map(drop),
            );
            checked(
                "AddClaimMessage",
                agent
                    .add_claim_message(AddClaimMessageRequest {
                        claim_id: id.clone(),
                        text: s.clone(),
                        customer_visible: false,
                        channel: n,
                    })
                    .await
                    .map(drop),
            );
            checked(
                "CreateServiceOrder",
                agent
                    .create_service_order(CreateServiceOrderRequest {
                        claim_id: id.clone(),
                        centre_id: s.clone(),
                        inbound_tracking: s.clone(),
                    })
                    .await
                    .map(drop),
            );
            use update_service_order_request::{Diagnosis, Shipment, Step};
            for step in [
                Step::Diagnosed(Diagnosis {
                    diagnosis: s.clone(),
                    parts: s.clone(),
                    labour_minutes: n,
                }),
                Step::Quote(m.clone().unwrap_or(Money::default())),
                Step::Unrepairable(s.clone()),
                Step::ShippedBack(Shipment {
                    carrier: s.clone(),
                    tracking_number: s.clone(),
                }),
            ] {
                checked(
                    "UpdateServiceOrder",
                    partner
                        .update_service_order(UpdateServiceOrderRequest {
                            service_order_id: id.clone(),
                            step: Some(step),
                        })
                        .await
                        .map(drop),
                );
            }
            checked(
                "ReplaceProduct",
                agent
                    .replace_product(ReplaceProductRequest {
                        claim_id: id.clone(),
                        serial_number: s.clone(),
                        note: s.clone(),
                    })
                    .await
                    .map(drop),
            );
            checked(
                "IssueClaimRefund",
                agent
                    .issue_claim_refund(IssueClaimRefundRequest {
                        claim_id: id.clone(),
                        amount: m.clone(),
                        request_id: s.clone(),
                    })
                    .await
                    .map(drop),
            );
        }
        checked(
            "GetClaimRefund",
            shop.get_claim_refund(GetClaimRefundRequest { refund_id: s.clone() })
                .await
                .map(drop),
        );
        checked(
            "ListClaims",
            agent
                .list_claims(ListClaimsRequest {
                    customer_id: s.clone(),
                    status: n,
                    page_size: n,
                    page_token: s.clone(),
                    order_by: n,
                })
                .await
                .map(drop),
        );
        checked(
            "ListRegistrations",
            agent
                .list_registrations(ListRegistrationsRequest {
                    customer_id: s.clone(),
                    page_size: n,
                    page_token: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "ListServiceOrders",
            partner
                .list_service_orders(ListServiceOrdersRequest {
                    centre_id: s.clone(),
                    page_size: n,
                    page_token: s.clone(),
                })
                .await
                .map(drop),
        );
        checked(
            "GetServiceMetrics",
            agent
                .get_service_metrics(GetServiceMetricsRequest {
                    from: t,
                    to: t,
                    channel: n,
                })
                .await
                .map(drop),
        );
        checked(
            "UpsertServiceCentre",
            admin
                .upsert_service_centre(UpsertServiceCentreRequest {
                    centre: Some(ServiceCentre {
                        centre_id: s.clone(),
                        name: s.clone(),
                        kind: s.clone(),
                        active: true,
                    }),
                })
                .await
                .map(drop),
        );
        checked(
            "UpsertPlan",
            admin
                .upsert_plan(UpsertPlanRequest {
                    plan: Some(Plan {
                        sku: s.clone(),
                        name: s.clone(),
                        months: n,
                        cooling_off_days: n,
                        active: true,
                    }),
                })
                .await
                .map(drop),
        );
        checked(
            "CancelExtendedWarranty",
            me.cancel_extended_warranty(CancelExtendedWarrantyRequest {
                extension_id: s.clone(),
                request_id: s.clone(),
            })
            .await
            .map(drop),
        );
    }
}
