//! The service-centre, replacement and refund RPCs: parse -> app ->
//! convert, called from the service's one tonic impl.

use aftercare_kernel::{Violations, validate};
use aftercare_platform::auth::caller;
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_from_proto, from_timestamp};
use aftercare_proto::warranty as pb;
use tonic::{Request, Response, Status};

use super::{convert, parse};
use crate::app::Warranty;
use crate::domain::registration::serial_key;
use crate::domain::{ClaimRefundId, MAX_ID_LEN, MAX_NOTE_LEN, MAX_SERIAL_LEN, ServiceStep};
use crate::store;

type Answer<T> = Result<Response<T>, Status>;

pub async fn upsert_centre(app: &Warranty, r: Request<pb::UpsertServiceCentreRequest>) -> Answer<pb::ServiceCentre> {
    caller(&r)?;
    let centre = parse::centre(r.get_ref().centre.as_ref())?;
    Ok(Response::new(convert::centre(&app.upsert_centre(centre).await?)))
}

pub async fn centres(
    app: &Warranty,
    r: Request<pb::ListServiceCentresRequest>,
) -> Answer<pb::ListServiceCentresResponse> {
    caller(&r)?;
    let centres = app.centres().await?;
    Ok(Response::new(pb::ListServiceCentresResponse {
        centres: centres.iter().map(convert::centre).collect(),
    }))
}

pub async fn create_order(app: &Warranty, r: Request<pb::CreateServiceOrderRequest>) -> Answer<pb::ServiceOrder> {
    let caller = caller(&r)?;
    let req = r.get_ref();
    let mut v = Violations::new();
    let claim = parse::claim_id(&mut v, &req.claim_id);
    validate::id(&mut v, "centre_id", &req.centre_id, MAX_ID_LEN);
    if !req.inbound_tracking.is_empty() {
        validate::id(&mut v, "inbound_tracking", &req.inbound_tracking, MAX_ID_LEN);
    }
    let claim = v.finish_with(claim).map_err(Error::from)?;
    let order = app
        .create_service_order(&caller, claim, &req.centre_id, req.inbound_tracking.clone())
        .await?;
    Ok(Response::new(convert::service_order(&order, caller.role)))
}

pub async fn get_order(app: &Warranty, r: Request<pb::GetServiceOrderRequest>) -> Answer<pb::ServiceOrder> {
    let caller = caller(&r)?;
    let mut v = Violations::new();
    let id = parse::service_order_id(&mut v, &r.get_ref().service_order_id);
    let id = v.finish_with(id).map_err(Error::from)?;
    Ok(Response::new(convert::service_order(
        &app.service_order(&caller, id).await?,
        caller.role,
    )))
}

pub async fn list_orders(
    app: &Warranty,
    r: Request<pb::ListServiceOrdersRequest>,
) -> Answer<pb::ListServiceOrdersResponse> {
    let caller = caller(&r)?;
    let req = r.get_ref();
    let mut v = Violations::new();
    if !req.centre_id.is_empty() {
        validate::id(&mut v, "centre_id", &req.centre_id, MAX_ID_LEN);
    }
    v.finish().map_err(Error::from)?;
    let centre = (!req.centre_id.is_empty()).then_some(req.centre_id.as_str());
    let page = app
        .service_orders(&caller, centre, req.page_size, &req.page_token)
        .await?;
    Ok(Response::new(pb::ListServiceOrdersResponse {
        service_orders: page
            .orders
            .iter()
            .map(|o| convert::service_order(o, caller.role))
            .collect(),
        next_page_token: page.next_page_token,
    }))
}

pub async fn update_order(app: &Warranty, r: Request<pb::UpdateServiceOrderRequest>) -> Answer<pb::ServiceOrder> {
    let caller = caller(&r)?;
    let (id, step) = parse::service_step(r.get_ref())?;
    Ok(Response::new(convert::service_order(
        &app.update_service_order(&caller, id, step).await?,
        caller.role,
    )))
}

pub async fn answer_quote(app: &Warranty, r: Request<pb::AnswerQuoteRequest>) -> Answer<pb::ServiceOrder> {
    let caller = caller(&r)?;
    let mut v = Violations::new();
    let id = parse::service_order_id(&mut v, &r.get_ref().service_order_id);
    let id = v.finish_with(id).map_err(Error::from)?;
    let step = ServiceStep::AnswerQuote {
        accept: r.get_ref().accept,
    };
    Ok(Response::new(convert::service_order(
        &app.update_service_order(&caller, id, step).await?,
        caller.role,
    )))
}

pub async fn replace(app: &Warranty, r: Request<pb::ReplaceProductRequest>) -> Answer<pb::Claim> {
    let caller = caller(&r)?;
    let req = r.get_ref();
    let mut v = Violations::new();
    let id = parse::claim_id(&mut v, &req.claim_id);
    validate::id(&mut v, "serial_number", &req.serial_number, MAX_SERIAL_LEN);
    if !req.serial_number.is_empty() && serial_key(&req.serial_number).is_empty() {
        v.add("serial_number", "must have a letter or a digit");
    }
    validate::text(&mut v, "note", &req.note, MAX_NOTE_LEN);
    let id = v.finish_with(id).map_err(Error::from)?;
    let claim = app
        .replace(&caller, id, req.serial_number.clone(), req.note.clone())
        .await?;
    Ok(Response::new(convert::claim(&claim, caller.role, app.now())))
}

pub async fn issue_refund(app: &Warranty, r: Request<pb::IssueClaimRefundRequest>) -> Answer<pb::ClaimRefund> {
    let caller = caller(&r)?;
    let req = r.get_ref();
    let mut v = Violations::new();
    let id = parse::claim_id(&mut v, &req.claim_id);
    let amount = parse::optional_amount(&mut v, "amount", req.amount.as_ref());
    validate::id(&mut v, "request_id", &req.request_id, MAX_ID_LEN);
    let id = v.finish_with(id).map_err(Error::from)?;
    let refund = app.issue_refund(&caller, id, amount, &req.request_id).await?;
    Ok(Response::new(convert::refund(&refund)))
}

pub async fn get_refund(app: &Warranty, r: Request<pb::GetClaimRefundRequest>) -> Answer<pb::ClaimRefund> {
    let caller = caller(&r)?;
    let id = match r.get_ref().refund_id.as_str() {
        "" => Err(Error::invalid("refund_id", "is required")),
        id => ClaimRefundId::parse(id).ok_or_else(|| Error::invalid("refund_id", "is not a valid id")),
    }?;
    Ok(Response::new(convert::refund_for(
        &app.claim_refund(&caller, id).await?,
        caller.role,
    )))
}

/// The longest period the metrics cover at once.
const MAX_METRICS_DAYS: i64 = 400;

pub async fn metrics(app: &Warranty, r: Request<pb::GetServiceMetricsRequest>) -> Answer<pb::ServiceMetrics> {
    caller(&r)?;
    let req = r.get_ref();
    let mut v = Violations::new();
    let mut time = |field: &str, t: Option<&prost_types::Timestamp>| match t {
        None => {
            v.add(field, "is required");
            None
        }
        Some(t) => v.take(field, from_timestamp(t).ok_or("is not a valid timestamp")),
    };
    let (from, to) = (time("from", req.from.as_ref()), time("to", req.to.as_ref()));
    let channel = match req.channel {
        0 => None,
        c => channel_from_proto(c).or_else(|| {
            v.add("channel", "must be a channel");
            None
        }),
    };
    if let (Some(from), Some(to)) = (from, to)
        && (to <= from || to - from > aftercare_kernel::Duration::days(MAX_METRICS_DAYS))
    {
        v.add(
            "to",
            format!("must be after from, at most {MAX_METRICS_DAYS} days later"),
        );
    }
    v.finish().map_err(Error::from)?;
    let (from, to) = from.zip(to).ok_or_else(|| Error::invalid("from", "is required"))?;
    let m = app.metrics(from, to, channel).await?;
    let p = |p: store::metrics::Percentiles| pb::DurationPercentiles {
        count: p.count,
        p50_seconds: p.p50,
        p90_seconds: p.p90,
        p99_seconds: p.p99,
    };
    let counts = |list: &[(String, i64)]| {
        list.iter()
            .map(|(key, claims)| pb::ClaimCount {
                key: key.clone(),
                claims: *claims,
            })
            .collect()
    };
    Ok(Response::new(pb::ServiceMetrics {
        claims_filed: m.claims_filed,
        first_response: Some(p(m.first_response)),
        resolution: Some(p(m.resolution)),
        first_response_breaches: m.first_response_breaches,
        resolution_breaches: m.resolution_breaches,
        by_fault_category: counts(&m.by_fault_category),
        by_product: counts(&m.by_product),
    }))
}
