//! Requests in, checked: every field's problem reported at once as a
//! BadRequest, before anything is read or written.

use aftercare_kernel::channel::Channel;
use aftercare_kernel::zone;
use aftercare_kernel::{DateTime, Money, Utc, Violations, validate};
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_from_proto, from_timestamp, parse_money};
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::warranty as pb;
use prost_types::Timestamp;

use crate::app::claims::{ClaimFiling, Order, StepInput};
use crate::app::registrations::{CoverageQuery, Product, ProductRegistration};
use crate::domain::registration::serial_key;
use crate::domain::terms::MAX_KEY_LEN;
use crate::domain::{
    CentreKind, ClaimId, ClaimStatus, Exclusion, MAX_ID_LEN, MAX_NOTE_LEN, MAX_PHOTOS, MAX_SERIAL_LEN, MAX_TEXT_LEN,
    RegistrationId, RejectionReason, Remedy, ServiceOrderId, ServiceStep,
};
use crate::store::service::Centre;

mod terms;

pub use terms::{calendar, country, terms};

const MAX_URL: usize = 2048;
const MAX_HOLIDAYS: usize = 400;
/// Holidays are dates a calendar can mean.
const MIN_YEAR: i32 = 1900;
const MAX_YEAR: i32 = 2200;

fn uuid_field<T>(v: &mut Violations, field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    if value.is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.take(field, parse(value).ok_or("is not a valid id"))
}

pub fn registration_id(value: &str) -> Result<RegistrationId, Error> {
    let mut v = Violations::new();
    let id = uuid_field(&mut v, "registration_id", value, RegistrationId::parse);
    Ok(v.finish_with(id)?)
}

pub fn claim_id(v: &mut Violations, value: &str) -> Option<ClaimId> {
    uuid_field(v, "claim_id", value, ClaimId::parse)
}

pub fn required_claim_id(value: &str) -> Result<ClaimId, Error> {
    let mut v = Violations::new();
    let id = claim_id(&mut v, value);
    Ok(v.finish_with(id)?)
}

pub fn customer(v: &mut Violations, value: &str) {
    validate::id(v, "customer_id", value, MAX_ID_LEN);
}

fn time(v: &mut Violations, field: &str, value: Option<&Timestamp>) -> Option<DateTime<Utc>> {
    match value {
        None => {
            v.add(field, "is required");
            None
        }
        Some(t) => v.take(field, from_timestamp(t).ok_or("is not a valid timestamp")),
    }
}

fn channel(v: &mut Violations, value: i32) -> Channel {
    channel_from_proto(value).unwrap_or_else(|| {
        v.add("channel", "must be a channel");
        Channel::Web
    })
}

fn photos(v: &mut Violations, urls: &[String]) {
    if urls.len() > MAX_PHOTOS {
        v.add("photo_urls", format!("at most {MAX_PHOTOS} photos"));
    }
    for (i, url) in urls.iter().enumerate().take(MAX_PHOTOS) {
        if !url.starts_with("https://") || url.len() > MAX_URL || url.chars().any(char::is_whitespace) {
            v.add(
                format!("photo_urls[{i}]"),
                "must be an https URL of at most 2048 characters",
            );
        }
    }
}

fn time_zone(v: &mut Violations, field: &str, value: &str) -> Option<zone::Tz> {
    v.take(
        field,
        zone::parse(value).ok_or("must be an IANA time zone such as \"Europe/Istanbul\""),
    )
}

pub fn remedy(value: i32) -> Option<Remedy> {
    match pb::Remedy::try_from(value).ok()? {
        pb::Remedy::Unspecified => None,
        pb::Remedy::Repair => Some(Remedy::Repair),
        pb::Remedy::Replacement => Some(Remedy::Replacement),
        pb::Remedy::PriceReduction => Some(Remedy::PriceReduction),
        pb::Remedy::Refund => Some(Remedy::Refund),
    }
}

pub fn exclusion(value: i32) -> Option<Exclusion> {
    match pb::Exclusion::try_from(value).ok()? {
        pb::Exclusion::Unspecified => None,
        pb::Exclusion::PhysicalDamage => Some(Exclusion::PhysicalDamage),
        pb::Exclusion::Liquid => Some(Exclusion::Liquid),
        pb::Exclusion::Misuse => Some(Exclusion::Misuse),
        pb::Exclusion::UnauthorisedRepair => Some(Exclusion::UnauthorisedRepair),
    }
}

pub fn status(value: i32) -> Result<Option<ClaimStatus>, Error> {
    let status = match pb::ClaimStatus::try_from(value) {
        Ok(pb::ClaimStatus::Unspecified) => None,
        Ok(pb::ClaimStatus::Submitted) => Some(ClaimStatus::Submitted),
        Ok(pb::ClaimStatus::InReview) => Some(ClaimStatus::InReview),
        Ok(pb::ClaimStatus::AwaitingCustomer) => Some(ClaimStatus::AwaitingCustomer),
        Ok(pb::ClaimStatus::Approved) => Some(ClaimStatus::Approved),
        Ok(pb::ClaimStatus::Rejected) => Some(ClaimStatus::Rejected),
        Ok(pb::ClaimStatus::Canceled) => Some(ClaimStatus::Canceled),
        Ok(pb::ClaimStatus::InService) => Some(ClaimStatus::InService),
        Ok(pb::ClaimStatus::Resolved) => Some(ClaimStatus::Resolved),
        Ok(pb::ClaimStatus::Closed) => Some(ClaimStatus::Closed),
        Err(_) => return Err(Error::invalid("status", "must be a claim status")),
    };
    Ok(status)
}

pub fn order(value: i32) -> Result<Order, Error> {
    match pb::ClaimOrder::try_from(value) {
        Ok(pb::ClaimOrder::Unspecified) => Ok(Order::NewestFirst),
        Ok(pb::ClaimOrder::TimeToBreach) => Ok(Order::TimeToBreach),
        Err(_) => Err(Error::invalid("order_by", "must be a claim order")),
    }
}

pub fn registration(r: &pb::RegisterProductRequest) -> Result<ProductRegistration, Error> {
    let mut v = Violations::new();
    customer(&mut v, &r.customer_id);
    validate::id(&mut v, "sku", &r.sku, MAX_KEY_LEN);
    validate::text(&mut v, "category", &r.category, MAX_KEY_LEN);
    validate::required_text(&mut v, "product_name", &r.product_name, MAX_NOTE_LEN);
    validate::id(&mut v, "serial_number", &r.serial_number, MAX_SERIAL_LEN);
    if !r.serial_number.is_empty() && serial_key(&r.serial_number).is_empty() {
        v.add("serial_number", "must have a letter or a digit");
    }
    let purchased_at = time(&mut v, "purchased_at", r.purchased_at.as_ref());
    validate::required_text(&mut v, "proof_of_purchase_ref", &r.proof_of_purchase_ref, 256);
    let tz = if r.time_zone.is_empty() {
        None
    } else {
        time_zone(&mut v, "time_zone", &r.time_zone)
    };
    validate::id(&mut v, "request_id", &r.request_id, MAX_ID_LEN);
    let purchased_at = v.finish_with(purchased_at)?;
    Ok(ProductRegistration {
        customer_id: r.customer_id.clone(),
        sku: r.sku.clone(),
        category: r.category.clone(),
        product_name: r.product_name.clone(),
        serial_number: r.serial_number.clone(),
        purchased_at,
        proof_of_purchase_ref: r.proof_of_purchase_ref.clone(),
        time_zone: tz,
        request_id: r.request_id.clone(),
    })
}

pub fn coverage(r: &pb::CheckCoverageRequest) -> Result<CoverageQuery, Error> {
    let mut v = Violations::new();
    let product = match &r.product {
        Some(pb::check_coverage_request::Product::RegistrationId(id)) => {
            uuid_field(&mut v, "registration_id", id, RegistrationId::parse).map(Product::Registration)
        }
        Some(pb::check_coverage_request::Product::SerialNumber(s)) => {
            validate::id(&mut v, "serial_number", s, MAX_SERIAL_LEN);
            Some(Product::Serial(s.clone()))
        }
        None => {
            v.add("product", "a registration_id or a serial_number is required");
            None
        }
    };
    let at =
        r.at.as_ref()
            .and_then(|t| v.take("at", from_timestamp(t).ok_or("is not a valid timestamp")));
    let cause = match r.cause {
        0 => None,
        c => exclusion(c).or_else(|| {
            v.add("cause", "must be an exclusion");
            None
        }),
    };
    let product = v.finish_with(product)?;
    Ok(CoverageQuery { product, at, cause })
}

pub fn filing(r: &pb::FileClaimRequest) -> Result<ClaimFiling, Error> {
    let mut v = Violations::new();
    let id = uuid_field(&mut v, "registration_id", &r.registration_id, RegistrationId::parse);
    validate::required_text(&mut v, "fault_category", &r.fault_category, MAX_KEY_LEN);
    validate::required_text(&mut v, "description", &r.description, MAX_TEXT_LEN);
    photos(&mut v, &r.photo_urls);
    let channel = channel(&mut v, r.channel);
    validate::id(&mut v, "request_id", &r.request_id, MAX_ID_LEN);
    Ok(ClaimFiling {
        registration_id: v.finish_with(id)?,
        fault_category: r.fault_category.clone(),
        description: r.description.clone(),
        photo_urls: r.photo_urls.clone(),
        channel,
        request_id: r.request_id.clone(),
    })
}

/// A claim id and a step's text, checked together.
pub fn step(claim: &str, text_field: &str, text: &str, required: bool) -> Result<ClaimId, Error> {
    let mut v = Violations::new();
    let id = claim_id(&mut v, claim);
    if required {
        validate::required_text(&mut v, text_field, text, MAX_NOTE_LEN);
    } else {
        validate::text(&mut v, text_field, text, MAX_NOTE_LEN);
    }
    Ok(v.finish_with(id)?)
}

pub fn answer(r: &pb::AnswerClaimRequest) -> Result<(ClaimId, StepInput), Error> {
    let mut v = Violations::new();
    let id = claim_id(&mut v, &r.claim_id);
    validate::required_text(&mut v, "answer", &r.answer, MAX_NOTE_LEN);
    photos(&mut v, &r.photo_urls);
    let channel = channel(&mut v, r.channel);
    let id = v.finish_with(id)?;
    Ok((
        id,
        StepInput::Answer {
            answer: r.answer.clone(),
            photo_urls: r.photo_urls.clone(),
            channel,
        },
    ))
}

pub fn approval(r: &pb::ApproveClaimRequest) -> Result<(ClaimId, StepInput), Error> {
    let mut v = Violations::new();
    let id = claim_id(&mut v, &r.claim_id);
    let remedy = remedy(r.remedy).or_else(|| {
        v.add("remedy", "must be a remedy");
        None
    });
    validate::text(&mut v, "note", &r.note, MAX_NOTE_LEN);
    validate::text(&mut v, "override_reason", &r.override_reason, MAX_NOTE_LEN);
    v.finish()?;
    let (id, remedy) = id
        .zip(remedy)
        .ok_or_else(|| Error::invalid("claim_id", "is required"))?;
    Ok((
        id,
        StepInput::Approve {
            remedy,
            note: r.note.clone(),
            paid: r.paid_repair,
            override_reason: r.override_reason.clone(),
        },
    ))
}

pub fn rejection(r: &pb::RejectClaimRequest) -> Result<(ClaimId, StepInput), Error> {
    let mut v = Violations::new();
    let id = claim_id(&mut v, &r.claim_id);
    let reason = match pb::RejectionReason::try_from(r.reason) {
        Ok(pb::RejectionReason::Expired) => Some(RejectionReason::Expired),
        Ok(pb::RejectionReason::ExcludedFault) => Some(RejectionReason::ExcludedFault),
        Ok(pb::RejectionReason::NoFaultFound) => Some(RejectionReason::NoFaultFound),
        _ => {
            v.add("reason", "must be a rejection reason");
            None
        }
    };
    validate::required_text(&mut v, "note", &r.note, MAX_NOTE_LEN);
    v.finish()?;
    let (id, reason) = id
        .zip(reason)
        .ok_or_else(|| Error::invalid("claim_id", "is required"))?;
    Ok((
        id,
        StepInput::Reject {
            reason,
            note: r.note.clone(),
        },
    ))
}

pub fn message(r: &pb::AddClaimMessageRequest) -> Result<(ClaimId, Option<Channel>), Error> {
    let mut v = Violations::new();
    let id = claim_id(&mut v, &r.claim_id);
    validate::required_text(&mut v, "text", &r.text, MAX_TEXT_LEN);
    let channel = match r.channel {
        0 => None,
        c => Some(channel(&mut v, c)),
    };
    Ok((v.finish_with(id)?, channel))
}

pub fn centre(c: Option<&pb::ServiceCentre>) -> Result<Centre, Error> {
    let c = c.ok_or_else(|| Error::invalid("centre", "is required"))?;
    let mut v = Violations::new();
    validate::id(&mut v, "centre.centre_id", &c.centre_id, MAX_ID_LEN);
    validate::required_text(&mut v, "centre.name", &c.name, MAX_KEY_LEN);
    let kind = CentreKind::parse(&c.kind).or_else(|| {
        v.add("centre.kind", "must be \"internal\" or \"partner\"");
        None
    });
    let kind = v.finish_with(kind)?;
    Ok(Centre {
        centre_id: c.centre_id.clone(),
        name: c.name.clone(),
        kind,
        active: c.active,
    })
}

pub fn service_order_id(v: &mut Violations, value: &str) -> Option<ServiceOrderId> {
    uuid_field(v, "service_order_id", value, ServiceOrderId::parse)
}

/// A service order's step, every field checked.
pub fn service_step(r: &pb::UpdateServiceOrderRequest) -> Result<(ServiceOrderId, ServiceStep), Error> {
    use pb::update_service_order_request::Step;
    let mut v = Violations::new();
    let id = service_order_id(&mut v, &r.service_order_id);
    let step = match &r.step {
        None => {
            v.add("step", "is required");
            None
        }
        Some(Step::Received(_)) => Some(ServiceStep::Receive),
        Some(Step::Diagnosed(d)) => {
            validate::required_text(&mut v, "diagnosed.diagnosis", &d.diagnosis, MAX_NOTE_LEN);
            validate::text(&mut v, "diagnosed.parts", &d.parts, MAX_NOTE_LEN);
            if !(0..=100_000).contains(&d.labour_minutes) {
                v.add("diagnosed.labour_minutes", "must be 0 to 100000");
            }
            Some(ServiceStep::Diagnose {
                diagnosis: d.diagnosis.clone(),
                parts: d.parts.clone(),
                labour_minutes: d.labour_minutes,
            })
        }
        Some(Step::Quote(m)) => match parse_money(m) {
            Ok(amount) if amount.is_positive() && !amount.exceeds_limit() => Some(ServiceStep::Quote { amount }),
            Ok(_) => {
                v.add("quote", "must be more than zero, within the money limit");
                None
            }
            Err(e) => {
                v.add("quote", e.to_string());
                None
            }
        },
        Some(Step::Repaired(notes)) => {
            validate::text(&mut v, "repaired", notes, MAX_NOTE_LEN);
            Some(ServiceStep::Repaired { notes: notes.clone() })
        }
        Some(Step::Unrepairable(notes)) => {
            validate::required_text(&mut v, "unrepairable", notes, MAX_NOTE_LEN);
            Some(ServiceStep::Unrepairable { notes: notes.clone() })
        }
        Some(Step::ShippedBack(s)) => {
            validate::required_text(&mut v, "shipped_back.carrier", &s.carrier, MAX_KEY_LEN);
            validate::id(&mut v, "shipped_back.tracking_number", &s.tracking_number, MAX_ID_LEN);
            Some(ServiceStep::ShipBack {
                carrier: s.carrier.clone(),
                tracking_number: s.tracking_number.clone(),
            })
        }
    };
    v.finish()?;
    id.zip(step)
        .ok_or_else(|| Error::invalid("service_order_id", "is required"))
}

/// An optional amount: more than zero, within the money limit.
pub fn optional_amount(v: &mut Violations, field: &str, m: Option<&PbMoney>) -> Option<Money> {
    match m.map(parse_money) {
        None => None,
        Some(Ok(a)) if a.is_positive() && !a.exceeds_limit() => Some(a),
        Some(Ok(_)) => {
            v.add(field, "must be more than zero, within the money limit");
            None
        }
        Some(Err(e)) => {
            v.add(field, e.to_string());
            None
        }
    }
}
