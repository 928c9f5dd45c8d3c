//! The extended-warranty RPCs: parse -> app -> convert.

use aftercare_kernel::{Violations, validate};
use aftercare_platform::auth::caller;
use aftercare_platform::error::Error;
use aftercare_platform::wire::{money, timestamp};
use aftercare_proto::warranty as pb;
use tonic::{Request, Response, Status};

use super::{convert, parse};
use crate::app::Warranty;
use crate::domain::{Extension, ExtensionId, MAX_ID_LEN, Plan};

type Answer<T> = Result<Response<T>, Status>;

fn plan(p: &Plan) -> pb::Plan {
    pb::Plan {
        sku: p.sku.clone(),
        name: p.name.clone(),
        months: p.months,
        cooling_off_days: p.cooling_off_days,
        active: p.active,
    }
}

fn extension(e: &Extension) -> pb::ExtendedWarranty {
    pb::ExtendedWarranty {
        extension_id: e.extension_id.to_string(),
        order_id: e.order_id.clone(),
        plan_line_id: e.plan_line_id.clone(),
        extends_line_id: e.extends_line_id.clone(),
        sku: e.sku.clone(),
        months: e.months,
        price: Some(money(e.price)),
        delivered_at: Some(timestamp(e.delivered_at)),
        cooling_off_until: Some(timestamp(e.cooling_off_until)),
        canceled_at: e.canceled_at.map(timestamp),
    }
}

pub async fn upsert(app: &Warranty, r: Request<pb::UpsertPlanRequest>) -> Answer<pb::Plan> {
    caller(&r)?;
    let p = r
        .get_ref()
        .plan
        .as_ref()
        .ok_or_else(|| Error::invalid("plan", "is required"))?;
    let mut v = Violations::new();
    validate::id(&mut v, "plan.sku", &p.sku, MAX_ID_LEN);
    validate::required_text(&mut v, "plan.name", &p.name, MAX_ID_LEN);
    if !(1..=120).contains(&p.months) {
        v.add("plan.months", "must be 1 to 120");
    }
    if !(0..=365).contains(&p.cooling_off_days) {
        v.add("plan.cooling_off_days", "must be 0 to 365");
    }
    v.finish().map_err(Error::from)?;
    let saved = app
        .upsert_plan(Plan {
            sku: p.sku.clone(),
            name: p.name.clone(),
            months: p.months,
            cooling_off_days: p.cooling_off_days,
            active: p.active,
        })
        .await?;
    Ok(Response::new(plan(&saved)))
}

pub async fn list(app: &Warranty, r: Request<pb::ListPlansRequest>) -> Answer<pb::ListPlansResponse> {
    caller(&r)?;
    Ok(Response::new(pb::ListPlansResponse {
        plans: app.plans().await?.iter().map(plan).collect(),
    }))
}

pub async fn sold(
    app: &Warranty,
    r: Request<pb::ListExtendedWarrantiesRequest>,
) -> Answer<pb::ListExtendedWarrantiesResponse> {
    let caller = caller(&r)?;
    let customer = &r.get_ref().customer_id;
    let mut v = Violations::new();
    parse::customer(&mut v, customer);
    v.finish().map_err(Error::from)?;
    let list = app.extensions(&caller, customer).await?;
    Ok(Response::new(pb::ListExtendedWarrantiesResponse {
        extended_warranties: list.iter().map(extension).collect(),
    }))
}

pub async fn cancel(
    app: &Warranty,
    r: Request<pb::CancelExtendedWarrantyRequest>,
) -> Answer<pb::ExtendedWarrantyCancellation> {
    let caller = caller(&r)?;
    let req = r.get_ref();
    let mut v = Violations::new();
    let id = if req.extension_id.is_empty() {
        v.add("extension_id", "is required");
        None
    } else {
        v.take(
            "extension_id",
            ExtensionId::parse(&req.extension_id).ok_or("is not a valid id"),
        )
    };
    validate::id(&mut v, "request_id", &req.request_id, MAX_ID_LEN);
    let id = v.finish_with(id).map_err(Error::from)?;
    let (e, refund) = app.cancel_extension(&caller, id, &req.request_id).await?;
    Ok(Response::new(pb::ExtendedWarrantyCancellation {
        extended_warranty: Some(extension(&e)),
        refund: refund.as_ref().map(|r| convert::refund_for(r, caller.role)),
    }))
}
