//! `aftercare.returns.v1.ReturnService` over tonic: parse -> call the app ->
//! convert. Authentication and the role check ([`ROLES`]) already happened
//! in the platform's auth layer; ownership (customers act on their own
//! orders and returns) is the app's.

pub mod convert;
mod errors;
pub mod parse;
pub mod visibility;

use aftercare_kernel::{Violations, validate};
use aftercare_platform::auth::{Role, RoleTable, caller};
use aftercare_platform::error::Error;
use aftercare_platform::paging;
use aftercare_platform::wire::channel_from_proto;
use aftercare_proto::returns as pb;
use aftercare_proto::returns::return_service_server::{ReturnService, ReturnServiceServer};
use tonic::{Request, Response, Status};

use crate::app::Returns;
use crate::app::lifecycle::NewMessage;
use convert::*;
use parse::{MAX_CATEGORY, MAX_ID, MAX_MESSAGE, MAX_SHORT_TEXT};
use visibility::visible_to;

const ANYONE: &[Role] = &[Role::Customer, Role::Agent, Role::Admin, Role::Service];
const CUSTOMER_SIDE: &[Role] = &[Role::Customer, Role::Service, Role::Agent];
const MONEY_DESK: &[Role] = &[Role::Agent, Role::Service];

/// Who may call what. Customers additionally act on their own orders and
/// returns only.
pub const ROLES: RoleTable = &[
    ("GetReturnPolicy", ANYONE),
    ("ListReturnPolicies", &[Role::Agent, Role::Admin, Role::Service]),
    ("UpdateReturnPolicy", &[Role::Admin]),
    ("SetCustomerFlag", &[Role::Agent, Role::Admin]),
    ("CheckEligibility", CUSTOMER_SIDE),
    ("CreateReturn", CUSTOMER_SIDE),
    ("GetReturn", ANYONE),
    ("ListReturns", ANYONE),
    ("ApproveReturn", &[Role::Agent]),
    ("RejectReturn", &[Role::Agent]),
    ("CancelReturn", CUSTOMER_SIDE),
    ("RecordReturnShipment", CUSTOMER_SIDE),
    ("ReceiveReturn", &[Role::Agent]),
    ("IssueRefund", MONEY_DESK),
    ("ConfirmRefund", MONEY_DESK),
    ("FailRefund", MONEY_DESK),
    ("ShipExchange", MONEY_DESK),
    ("AddReturnMessage", &[Role::Customer, Role::Agent]),
    ("PriceExchange", MONEY_DESK),
    ("ChargeExchangeDifference", MONEY_DESK),
    ("ConfirmCharge", MONEY_DESK),
    ("FailCharge", MONEY_DESK),
];

pub const SERVICE_NAME: &str = pb::return_service_server::SERVICE_NAME;

/// Timeline entries each return of a ListReturns page carries: its latest.
pub const LISTED_TIMELINE: usize = 20;

pub struct ReturnGrpc {
    app: Returns,
}

impl ReturnGrpc {
    pub fn server(app: Returns) -> ReturnServiceServer<ReturnGrpc> {
        ReturnServiceServer::new(ReturnGrpc { app })
    }
}

type Answer<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl ReturnService for ReturnGrpc {
    async fn get_return_policy(&self, request: Request<pb::GetReturnPolicyRequest>) -> Answer<pb::ReturnPolicy> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        validate::text(&mut v, "category", &req.category, MAX_CATEGORY);
        v.finish().map_err(Error::from)?;
        let policy = policy_to_proto(&self.app.policy(&req.category).await?);
        Ok(Response::new(visible_to(policy, &caller)))
    }

    async fn list_return_policies(
        &self,
        request: Request<pb::ListReturnPoliciesRequest>,
    ) -> Answer<pb::ListReturnPoliciesResponse> {
        caller(&request)?;
        let policies = self.app.policies().await?;
        Ok(Response::new(pb::ListReturnPoliciesResponse {
            policies: policies.iter().map(policy_to_proto).collect(),
        }))
    }

    async fn update_return_policy(&self, request: Request<pb::UpdateReturnPolicyRequest>) -> Answer<pb::ReturnPolicy> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let input = req.policy.unwrap_or_default();
        let mask: Vec<String> = req.update_mask.map(|m| m.paths).unwrap_or_default();
        let patch = parse::policy_patch(&input, &mask)?;
        let mut v = Violations::new();
        if !req.request_id.is_empty() {
            validate::id(&mut v, "request_id", &req.request_id, MAX_ID);
        }
        v.finish().map_err(Error::from)?;
        let fingerprint = parse::fingerprint_without_request_id(&pb::UpdateReturnPolicyRequest {
            policy: Some(input.clone()),
            update_mask: Some(prost_types::FieldMask { paths: mask }),
            request_id: String::new(),
        });
        let request = (!req.request_id.is_empty()).then_some((req.request_id.as_str(), fingerprint.as_slice()));
        let policy = self.app.update_policy(&caller, &input.category, patch, request).await?;
        Ok(Response::new(policy_to_proto(&policy)))
    }

    async fn set_customer_flag(&self, request: Request<pb::SetCustomerFlagRequest>) -> Answer<pb::CustomerFlag> {
        caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        validate::id(&mut v, "customer_id", &req.customer_id, MAX_ID);
        validate::text(&mut v, "note", &req.note, MAX_SHORT_TEXT);
        v.finish().map_err(Error::from)?;
        let at = self.app.set_flag(&req.customer_id, req.flagged, &req.note).await?;
        Ok(Response::new(pb::CustomerFlag {
            customer_id: req.customer_id,
            flagged: req.flagged,
            note: req.note,
            update_time: Some(aftercare_platform::wire::timestamp(at)),
        }))
    }

    async fn check_eligibility(
        &self,
        request: Request<pb::CheckEligibilityRequest>,
    ) -> Answer<pb::CheckEligibilityResponse> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut v = Violations::new();
        validate::id(&mut v, "order_id", &req.order_id, MAX_ID);
        if req.line_ids.len() > 500 {
            v.add("line_ids", "must list at most 500 lines");
        }
        v.finish().map_err(Error::from)?;
        let lines = self.app.eligibility(&caller, &req.order_id, &req.line_ids).await?;
        Ok(Response::new(pb::CheckEligibilityResponse {
            order_id: req.order_id,
            lines: lines
                .iter()
                .map(|(e, version)| eligibility_to_proto(e, *version))
                .collect(),
        }))
    }

    async fn create_return(&self, request: Request<pb::CreateReturnRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let input = parse::create(&req)?;
        let fingerprint = parse::create_fingerprint(&caller.subject, &req);
        let (r, policies) = self.app.create(&caller, &req.request_id, &fingerprint, input).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn get_return(&self, request: Request<pb::GetReturnRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let id = parse::required_return_id(&request.get_ref().return_id)?;
        let (r, policies) = self.app.get(&caller, id).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn list_returns(&self, request: Request<pb::ListReturnsRequest>) -> Answer<pb::ListReturnsResponse> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let (filter, page_size) = parse::list_filter(&req)?;
        let page = self.app.list(&caller, filter, page_size, &req.page_token).await?;
        let mut returns: Vec<pb::Return> = page
            .returns
            .iter()
            .map(|(r, policies)| {
                let mut seen = visible_to(return_to_proto(r, policies), &caller);
                // A list shows each case's latest entries; GetReturn has them all.
                let old = seen.timeline.len().saturating_sub(LISTED_TIMELINE);
                seen.timeline.drain(..old);
                seen
            })
            .collect();
        // A page stops at the response budget, however large its returns.
        let fit = paging::fitting(
            returns.iter().map(prost::Message::encoded_len),
            paging::MAX_RESPONSE_BYTES,
        );
        let next_page_token = if fit < returns.len() {
            returns.truncate(fit);
            let (last, _) = &page.returns[fit - 1];
            let cursor = paging::Cursor {
                at: last.created_at,
                id: last.return_id.to_string(),
            };
            paging::encode(&page.query, &cursor)
        } else {
            page.next_page_token
        };
        Ok(Response::new(pb::ListReturnsResponse {
            returns,
            next_page_token,
        }))
    }

    async fn approve_return(&self, request: Request<pb::ApproveReturnRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let id = parse::with_return_id(&req.return_id, |v| validate::text(v, "note", &req.note, MAX_SHORT_TEXT))?;
        let (r, policies) = self.app.approve(&caller, id, &req.note).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn reject_return(&self, request: Request<pb::RejectReturnRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let id = parse::with_return_id(&req.return_id, |v| {
            validate::required_text(v, "reason", &req.reason, MAX_SHORT_TEXT)
        })?;
        let (r, policies) = self.app.reject(&caller, id, &req.reason).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn cancel_return(&self, request: Request<pb::CancelReturnRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let id = parse::with_return_id(&req.return_id, |v| {
            validate::text(v, "reason", &req.reason, MAX_SHORT_TEXT)
        })?;
        let (r, policies) = self.app.cancel(&caller, id, &req.reason).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn record_return_shipment(&self, request: Request<pb::RecordReturnShipmentRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut parcel = None;
        let id = parse::with_return_id(&req.return_id, |v| {
            parcel = Some(parse::parcel(&req.carrier, &req.tracking_number, v))
        })?;
        let parcel = parcel.expect("parsed");
        let (r, policies) = self.app.record_shipment(&caller, id, parcel).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn receive_return(&self, request: Request<pb::ReceiveReturnRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let id = parse::required_return_id(&req.return_id)?;
        let received = parse::received(&req.items)?;
        let (r, policies) = self.app.receive(&caller, id, &received).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn issue_refund(&self, request: Request<pb::IssueRefundRequest>) -> Answer<pb::Refund> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let id = parse::with_return_id(&req.return_id, |v| {
            validate::id(v, "request_id", &req.request_id, MAX_ID)
        })?;
        let refund = self.app.issue_refund(&caller, id, &req.request_id).await?;
        Ok(Response::new(visible_to(refund_to_proto(&refund), &caller)))
    }

    async fn confirm_refund(&self, request: Request<pb::ConfirmRefundRequest>) -> Answer<pb::Refund> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let outcome = parse::paid(req.provider_reference)?;
        let id = parse::required_refund_id(&req.refund_id)?;
        let settled = self.app.settle_refund(&caller, id, outcome).await?;
        Ok(Response::new(visible_to(settled_to_proto(&settled), &caller)))
    }

    async fn fail_refund(&self, request: Request<pb::FailRefundRequest>) -> Answer<pb::Refund> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let outcome = parse::failed(req.reason)?;
        let id = parse::required_refund_id(&req.refund_id)?;
        let settled = self.app.settle_refund(&caller, id, outcome).await?;
        Ok(Response::new(visible_to(settled_to_proto(&settled), &caller)))
    }

    async fn ship_exchange(&self, request: Request<pb::ShipExchangeRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut parcel = None;
        let id = parse::with_return_id(&req.return_id, |v| {
            parcel = Some(parse::parcel(&req.carrier, &req.tracking_number, v))
        })?;
        let parcel = parcel.expect("parsed");
        let (r, policies) = self.app.ship_exchange(&caller, id, parcel).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn price_exchange(&self, request: Request<pb::PriceExchangeRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut prices = Vec::new();
        let id = parse::with_return_id(&req.return_id, |v| prices = parse::replacement_prices(&req.prices, v))?;
        let (r, policies) = self.app.price_exchange(&caller, id, prices).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }

    async fn charge_exchange_difference(
        &self,
        request: Request<pb::ChargeExchangeDifferenceRequest>,
    ) -> Answer<pb::Charge> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let id = parse::with_return_id(&req.return_id, |v| {
            validate::id(v, "request_id", &req.request_id, MAX_ID)
        })?;
        let charge = self.app.charge_difference(&caller, id, &req.request_id).await?;
        Ok(Response::new(visible_to(charge_to_proto(&charge), &caller)))
    }

    async fn confirm_charge(&self, request: Request<pb::ConfirmChargeRequest>) -> Answer<pb::Charge> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let outcome = parse::paid(req.provider_reference)?;
        let id = parse::required_charge_id(&req.charge_id)?;
        let charge = self.app.settle_charge(&caller, id, outcome).await?;
        Ok(Response::new(visible_to(charge_to_proto(&charge), &caller)))
    }

    async fn fail_charge(&self, request: Request<pb::FailChargeRequest>) -> Answer<pb::Charge> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let outcome = parse::failed(req.reason)?;
        let id = parse::required_charge_id(&req.charge_id)?;
        let charge = self.app.settle_charge(&caller, id, outcome).await?;
        Ok(Response::new(visible_to(charge_to_proto(&charge), &caller)))
    }

    async fn add_return_message(&self, request: Request<pb::AddReturnMessageRequest>) -> Answer<pb::Return> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let mut channel = None;
        let id = parse::with_return_id(&req.return_id, |v| {
            validate::required_text(v, "text", &req.text, MAX_MESSAGE);
            if !req.request_id.is_empty() {
                validate::id(v, "request_id", &req.request_id, MAX_ID);
            }
            if req.channel != 0 {
                channel = channel_from_proto(req.channel);
                if channel.is_none() {
                    v.add("channel", "unknown channel");
                }
            }
        })?;
        let mut canonical = req.clone();
        canonical.request_id.clear();
        let fingerprint = parse::fingerprint_without_request_id(&canonical);
        let request = (!req.request_id.is_empty()).then_some((req.request_id.as_str(), fingerprint.as_slice()));
        let message = NewMessage {
            text: req.text,
            channel,
            internal: req.internal,
        };
        let (r, policies) = self.app.add_message(&caller, id, message, request).await?;
        Ok(Response::new(visible_to(return_to_proto(&r, &policies), &caller)))
    }
}
