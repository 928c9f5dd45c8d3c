//! `aftercare.warranty.v1.WarrantyService` over tonic: parse -> call the app
//! -> convert. Authentication and the role check ([`ROLES`]) already
//! happened in the platform's auth layer; the caller is in the request.

mod convert;
mod errors;
mod parse;
mod plans;
mod service;

use aftercare_kernel::Violations;
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_proto::warranty as pb;
use aftercare_proto::warranty::warranty_service_server::{WarrantyService, WarrantyServiceServer};
use tonic::{Request, Response, Status};

use crate::app::Warranty;
use crate::app::claims::StepInput;

use Role::{Admin, Agent, Customer, Partner, Service};

/// Who may call what. A customer additionally sees only their own
/// registrations and claims.
pub const ROLES: RoleTable = &[
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

pub const SERVICE_NAME: &str = pb::warranty_service_server::SERVICE_NAME;

pub struct WarrantyGrpc {
    app: Warranty,
}

impl WarrantyGrpc {
    pub fn server(app: Warranty) -> WarrantyServiceServer<WarrantyGrpc> {
        WarrantyServiceServer::new(WarrantyGrpc { app })
    }

    /// Takes a claim step and answers the claim as the caller may see it.
    async fn step<T>(
        &self,
        request: &Request<T>,
        id: crate::domain::ClaimId,
        input: StepInput,
    ) -> Result<Response<pb::Claim>, Status> {
        let caller = caller(request)?;
        let claim = self.app.step(&caller, id, input).await?;
        Ok(Response::new(convert::claim(&claim, caller.role, self.app.now())))
    }
}

#[tonic::async_trait]
impl WarrantyService for WarrantyGrpc {
    async fn get_terms(&self, request: Request<pb::GetTermsRequest>) -> Result<Response<pb::WarrantyTerms>, Status> {
        caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        aftercare_kernel::validate::text(&mut v, "category", &r.category, crate::domain::terms::MAX_KEY_LEN);
        aftercare_kernel::validate::text(&mut v, "sku", &r.sku, crate::domain::terms::MAX_KEY_LEN);
        v.finish().map_err(Error::from)?;
        Ok(Response::new(convert::terms(
            &self.app.terms(&r.category, &r.sku).await?,
        )))
    }

    async fn list_terms(
        &self,
        request: Request<pb::ListTermsRequest>,
    ) -> Result<Response<pb::ListTermsResponse>, Status> {
        caller(&request)?;
        let terms = self.app.all_terms().await?;
        Ok(Response::new(pb::ListTermsResponse {
            terms: terms.iter().map(convert::terms).collect(),
        }))
    }

    async fn update_terms(
        &self,
        request: Request<pb::UpdateTermsRequest>,
    ) -> Result<Response<pb::WarrantyTerms>, Status> {
        caller(&request)?;
        let terms = parse::terms(request.get_ref().terms.as_ref())?;
        Ok(Response::new(convert::terms(&self.app.update_terms(terms).await?)))
    }

    async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<Response<pb::BusinessCalendar>, Status> {
        caller(&request)?;
        let code = &request.get_ref().country_code;
        let mut v = Violations::new();
        parse::country(&mut v, code);
        v.finish().map_err(Error::from)?;
        Ok(Response::new(convert::calendar(&self.app.calendar(code).await?)))
    }

    async fn update_calendar(
        &self,
        request: Request<pb::UpdateCalendarRequest>,
    ) -> Result<Response<pb::BusinessCalendar>, Status> {
        caller(&request)?;
        let calendar = parse::calendar(request.get_ref().calendar.as_ref())?;
        Ok(Response::new(convert::calendar(
            &self.app.update_calendar(calendar).await?,
        )))
    }

    async fn register_product(
        &self,
        request: Request<pb::RegisterProductRequest>,
    ) -> Result<Response<pb::Registration>, Status> {
        let caller = caller(&request)?;
        let r = parse::registration(request.get_ref())?;
        Ok(Response::new(convert::registration(
            &self.app.register_product(&caller, r).await?,
        )))
    }

    async fn verify_registration(
        &self,
        request: Request<pb::VerifyRegistrationRequest>,
    ) -> Result<Response<pb::Registration>, Status> {
        caller(&request)?;
        let r = request.get_ref();
        let id = parse::registration_id(&r.registration_id)?;
        let mut v = Violations::new();
        if r.accept {
            aftercare_kernel::validate::text(&mut v, "note", &r.note, crate::domain::MAX_NOTE_LEN);
        } else {
            aftercare_kernel::validate::required_text(&mut v, "note", &r.note, crate::domain::MAX_NOTE_LEN);
        }
        v.finish().map_err(Error::from)?;
        Ok(Response::new(convert::registration(
            &self.app.verify(id, r.accept, r.note.clone()).await?,
        )))
    }

    async fn get_registration(
        &self,
        request: Request<pb::GetRegistrationRequest>,
    ) -> Result<Response<pb::Registration>, Status> {
        let caller = caller(&request)?;
        let id = parse::registration_id(&request.get_ref().registration_id)?;
        Ok(Response::new(convert::registration(
            &self.app.registration(&caller, id).await?,
        )))
    }

    async fn list_registrations(
        &self,
        request: Request<pb::ListRegistrationsRequest>,
    ) -> Result<Response<pb::ListRegistrationsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        parse::customer(&mut v, &r.customer_id);
        v.finish().map_err(Error::from)?;
        let page = self
            .app
            .registrations(&caller, &r.customer_id, r.page_size, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListRegistrationsResponse {
            registrations: page.registrations.iter().map(convert::registration).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn check_coverage(
        &self,
        request: Request<pb::CheckCoverageRequest>,
    ) -> Result<Response<pb::Coverage>, Status> {
        let caller = caller(&request)?;
        let query = parse::coverage(request.get_ref())?;
        let coverage = self.app.coverage(&caller, query).await?;
        Ok(Response::new(convert::coverage(&coverage)))
    }

    async fn file_claim(&self, request: Request<pb::FileClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let caller = caller(&request)?;
        let filing = parse::filing(request.get_ref())?;
        let claim = self.app.file_claim(&caller, filing).await?;
        Ok(Response::new(convert::claim(&claim, caller.role, self.app.now())))
    }

    async fn get_claim(&self, request: Request<pb::GetClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let caller = caller(&request)?;
        let id = parse::required_claim_id(&request.get_ref().claim_id)?;
        let claim = self.app.claim(&caller, id).await?;
        Ok(Response::new(convert::claim(&claim, caller.role, self.app.now())))
    }

    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let mut v = Violations::new();
        if !r.customer_id.is_empty() {
            parse::customer(&mut v, &r.customer_id);
        }
        v.finish().map_err(Error::from)?;
        let status = parse::status(r.status)?;
        let order = parse::order(r.order_by)?;
        let customer = (!r.customer_id.is_empty()).then_some(r.customer_id.as_str());
        let page = self
            .app
            .claims(&caller, customer, status, order, r.page_size, &r.page_token)
            .await?;
        let now = self.app.now();
        Ok(Response::new(pb::ListClaimsResponse {
            claims: page
                .claims
                .iter()
                .map(|c| convert::claim(c, caller.role, now))
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn review_claim(&self, request: Request<pb::ReviewClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let id = parse::required_claim_id(&request.get_ref().claim_id)?;
        self.step(&request, id, StepInput::Review).await
    }

    async fn request_claim_info(
        &self,
        request: Request<pb::RequestClaimInfoRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        let r = request.get_ref();
        let id = parse::step(&r.claim_id, "question", &r.question, true)?;
        let question = r.question.clone();
        self.step(&request, id, StepInput::RequestInfo { question }).await
    }

    async fn answer_claim(&self, request: Request<pb::AnswerClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let (id, input) = parse::answer(request.get_ref())?;
        self.step(&request, id, input).await
    }

    async fn approve_claim(&self, request: Request<pb::ApproveClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let (id, input) = parse::approval(request.get_ref())?;
        self.step(&request, id, input).await
    }

    async fn reject_claim(&self, request: Request<pb::RejectClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let (id, input) = parse::rejection(request.get_ref())?;
        self.step(&request, id, input).await
    }

    async fn appeal_claim(&self, request: Request<pb::AppealClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let r = request.get_ref();
        let id = parse::step(&r.claim_id, "message", &r.message, true)?;
        let message = r.message.clone();
        self.step(&request, id, StepInput::Appeal { message }).await
    }

    async fn cancel_claim(&self, request: Request<pb::CancelClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let r = request.get_ref();
        let id = parse::step(&r.claim_id, "reason", &r.reason, false)?;
        let reason = r.reason.clone();
        self.step(&request, id, StepInput::Cancel { reason }).await
    }

    async fn add_claim_message(
        &self,
        request: Request<pb::AddClaimMessageRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        let caller = caller(&request)?;
        let r = request.get_ref();
        let (id, channel) = parse::message(r)?;
        let claim = self
            .app
            .add_message(&caller, id, r.text.clone(), r.customer_visible, channel)
            .await?;
        Ok(Response::new(convert::claim(&claim, caller.role, self.app.now())))
    }

    async fn upsert_service_centre(
        &self,
        request: Request<pb::UpsertServiceCentreRequest>,
    ) -> Result<Response<pb::ServiceCentre>, Status> {
        service::upsert_centre(&self.app, request).await
    }

    async fn list_service_centres(
        &self,
        request: Request<pb::ListServiceCentresRequest>,
    ) -> Result<Response<pb::ListServiceCentresResponse>, Status> {
        service::centres(&self.app, request).await
    }

    async fn create_service_order(
        &self,
        request: Request<pb::CreateServiceOrderRequest>,
    ) -> Result<Response<pb::ServiceOrder>, Status> {
        service::create_order(&self.app, request).await
    }

    async fn get_service_order(
        &self,
        request: Request<pb::GetServiceOrderRequest>,
    ) -> Result<Response<pb::ServiceOrder>, Status> {
        service::get_order(&self.app, request).await
    }

    async fn list_service_orders(
        &self,
        request: Request<pb::ListServiceOrdersRequest>,
    ) -> Result<Response<pb::ListServiceOrdersResponse>, Status> {
        service::list_orders(&self.app, request).await
    }

    async fn update_service_order(
        &self,
        request: Request<pb::UpdateServiceOrderRequest>,
    ) -> Result<Response<pb::ServiceOrder>, Status> {
        service::update_order(&self.app, request).await
    }

    async fn answer_quote(
        &self,
        request: Request<pb::AnswerQuoteRequest>,
    ) -> Result<Response<pb::ServiceOrder>, Status> {
        service::answer_quote(&self.app, request).await
    }

    async fn replace_product(
        &self,
        request: Request<pb::ReplaceProductRequest>,
    ) -> Result<Response<pb::Claim>, Status> {
        service::replace(&self.app, request).await
    }

    async fn issue_claim_refund(
        &self,
        request: Request<pb::IssueClaimRefundRequest>,
    ) -> Result<Response<pb::ClaimRefund>, Status> {
        service::issue_refund(&self.app, request).await
    }

    async fn get_claim_refund(
        &self,
        request: Request<pb::GetClaimRefundRequest>,
    ) -> Result<Response<pb::ClaimRefund>, Status> {
        service::get_refund(&self.app, request).await
    }

    async fn close_claim(&self, request: Request<pb::CloseClaimRequest>) -> Result<Response<pb::Claim>, Status> {
        let id = parse::required_claim_id(&request.get_ref().claim_id)?;
        self.step(&request, id, StepInput::Close).await
    }

    async fn get_service_metrics(
        &self,
        request: Request<pb::GetServiceMetricsRequest>,
    ) -> Result<Response<pb::ServiceMetrics>, Status> {
        service::metrics(&self.app, request).await
    }

    async fn upsert_plan(&self, request: Request<pb::UpsertPlanRequest>) -> Result<Response<pb::Plan>, Status> {
        plans::upsert(&self.app, request).await
    }

    async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        plans::list(&self.app, request).await
    }

    async fn list_extended_warranties(
        &self,
        request: Request<pb::ListExtendedWarrantiesRequest>,
    ) -> Result<Response<pb::ListExtendedWarrantiesResponse>, Status> {
        plans::sold(&self.app, request).await
    }

    async fn cancel_extended_warranty(
        &self,
        request: Request<pb::CancelExtendedWarrantyRequest>,
    ) -> Result<Response<pb::ExtendedWarrantyCancellation>, Status> {
        plans::cancel(&self.app, request).await
    }
}
