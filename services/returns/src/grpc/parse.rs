//! Requests into app commands, every bad field reported at once.

use std::collections::HashSet;

use aftercare_kernel::{DateTime, Money, Percent, Utc, Violations, validate};
use aftercare_platform::error::Error;
use aftercare_platform::wire::{channel_from_proto, from_timestamp, parse_money};
use aftercare_proto::common::Money as PbMoney;
use aftercare_proto::returns as pb;
use prost::Message;

use crate::app::Outcome;
use crate::app::create::{NewItem, NewReturn};
use crate::app::lifecycle::Parcel;
use crate::domain::*;
use crate::wire::*;

pub const MAX_ITEMS: usize = 100;
const MAX_NOTE: usize = 2000;
pub const MAX_MESSAGE: usize = 4000;
const MAX_PHOTOS: usize = 10;
const MAX_URL: usize = 2048;
pub const MAX_ID: usize = 128;
pub const MAX_SHORT_TEXT: usize = 500;
pub const MAX_CATEGORY: usize = 100;

fn uuid_field<T>(v: &mut Violations, field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    if value.is_empty() {
        v.add(field, "is required");
        return None;
    }
    v.take(field, parse(value).ok_or("is not a valid id"))
}

pub fn return_id(v: &mut Violations, field: &str, value: &str) -> Option<ReturnId> {
    uuid_field(v, field, value, ReturnId::parse)
}

/// A required return id on its own.
pub fn required_return_id(value: &str) -> Result<ReturnId, Error> {
    let mut v = Violations::new();
    let id = return_id(&mut v, "return_id", value);
    Ok(v.finish_with(id)?)
}

pub fn required_refund_id(value: &str) -> Result<RefundId, Error> {
    let mut v = Violations::new();
    let id = uuid_field(&mut v, "refund_id", value, RefundId::parse);
    Ok(v.finish_with(id)?)
}

pub fn required_charge_id(value: &str) -> Result<ChargeId, Error> {
    let mut v = Violations::new();
    let id = uuid_field(&mut v, "charge_id", value, ChargeId::parse);
    Ok(v.finish_with(id)?)
}

/// A payment provider's answer, checked: a paid one names its reference, a
/// failed one its reason.
pub fn paid(provider_reference: String) -> Result<Outcome, Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "provider_reference", &provider_reference, MAX_ID);
    v.finish()?;
    Ok(Outcome::Paid(provider_reference))
}

pub fn failed(reason: String) -> Result<Outcome, Error> {
    let mut v = Violations::new();
    validate::required_text(&mut v, "reason", &reason, MAX_SHORT_TEXT);
    v.finish()?;
    Ok(Outcome::Failed(reason))
}

/// Replacement prices by line: each once, non-negative, a known currency
/// (that it is the order's is the app's to check).
pub fn replacement_prices(prices: &[pb::ReplacementPrice], v: &mut Violations) -> Vec<(String, Money)> {
    let mut out = Vec::new();
    if prices.is_empty() {
        v.add("prices", "at least one price is required");
    } else if prices.len() > MAX_ITEMS {
        v.add("prices", format!("must have at most {MAX_ITEMS} prices"));
        return out;
    }
    let mut seen = HashSet::new();
    for (i, p) in prices.iter().enumerate() {
        validate::id(v, &format!("prices[{i}].line_id"), &p.line_id, MAX_ID);
        if !seen.insert(p.line_id.as_str()) {
            v.add(format!("prices[{i}].line_id"), "listed twice");
        }
        match &p.price {
            None => v.add(format!("prices[{i}].price"), "is required"),
            Some(m) => {
                if let Some(price) = money_field(v, &format!("prices[{i}].price"), m) {
                    out.push((p.line_id.clone(), price));
                }
            }
        }
    }
    out
}

/// A return id plus other fields checked by `check`.
pub fn with_return_id(value: &str, check: impl FnOnce(&mut Violations)) -> Result<ReturnId, Error> {
    let mut v = Violations::new();
    let id = return_id(&mut v, "return_id", value);
    check(&mut v);
    Ok(v.finish_with(id)?)
}

fn optional_time(v: &mut Violations, field: &str, ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    ts.and_then(|ts| v.take(field, from_timestamp(ts).ok_or("is not a valid timestamp")))
}

fn money_field(v: &mut Violations, field: &str, m: &PbMoney) -> Option<Money> {
    match parse_money(m) {
        Ok(money) if money.is_negative() => {
            v.add(format!("{field}.amount"), "amount must not be negative");
            None
        }
        Ok(money) => Some(money),
        Err(e @ aftercare_kernel::MoneyError::UnknownCurrency(_)) => {
            v.add(format!("{field}.currency_code"), e.to_string());
            None
        }
        Err(e) => {
            v.add(format!("{field}.amount"), e.to_string());
            None
        }
    }
}

pub fn parcel(carrier: &str, tracking: &str, v: &mut Violations) -> Parcel {
    validate::required_text(v, "carrier", carrier, 100);
    validate::id(v, "tracking_number", tracking, MAX_ID);
    Parcel {
        carrier: carrier.to_owned(),
        tracking_number: tracking.to_owned(),
    }
}

/// A request's canonical bytes for its idempotency key (callers clear the
/// key itself first; the key is scoped to the caller by the unit of work).
pub fn fingerprint_without_request_id(request: &impl Message) -> Vec<u8> {
    request.encode_to_vec()
}

/// The canonical bytes of a CreateReturn for its idempotency key: who asks,
/// and everything they asked but the key itself.
pub fn create_fingerprint(subject: &str, req: &pb::CreateReturnRequest) -> Vec<u8> {
    let mut canonical = req.clone();
    canonical.request_id.clear();
    let mut bytes = subject.as_bytes().to_vec();
    bytes.extend(canonical.encode_to_vec());
    bytes
}

pub fn create(req: &pb::CreateReturnRequest) -> Result<NewReturn, Error> {
    let mut v = Violations::new();
    validate::id(&mut v, "request_id", &req.request_id, MAX_ID);
    validate::id(&mut v, "order_id", &req.order_id, MAX_ID);
    let channel = channel_from_proto(req.channel);
    if channel.is_none() {
        v.add("channel", "must be set to a known channel");
    }
    let mut items = Vec::new();
    if req.items.is_empty() {
        v.add("items", "at least one item is required");
    } else if req.items.len() > MAX_ITEMS {
        v.add("items", format!("must have at most {MAX_ITEMS} items"));
    } else {
        let mut seen = HashSet::new();
        for (i, it) in req.items.iter().enumerate() {
            let f = |name: &str| format!("items[{i}].{name}");
            validate::id(&mut v, &f("line_id"), &it.line_id, MAX_ID);
            if !seen.insert(it.line_id.as_str()) {
                v.add(f("line_id"), "listed twice; put the whole quantity on one item");
            }
            if !(1..=10_000).contains(&it.quantity) {
                v.add(f("quantity"), "must be between 1 and 10000");
            }
            let reason = reason_from_proto(it.reason);
            if reason.is_none() {
                v.add(f("reason"), "must be set to a known reason");
            }
            validate::text(&mut v, &f("note"), &it.note, MAX_NOTE);
            if it.photo_urls.len() > MAX_PHOTOS {
                v.add(f("photo_urls"), format!("at most {MAX_PHOTOS} photos"));
            }
            for (j, url) in it.photo_urls.iter().enumerate().take(MAX_PHOTOS) {
                if !url.starts_with("https://") || url.len() > MAX_URL || url.chars().any(char::is_whitespace) {
                    v.add(
                        f(&format!("photo_urls[{j}]")),
                        "must be an https URL of at most 2048 characters",
                    );
                }
            }
            let resolution = resolution_from_proto(it.resolution);
            if resolution.is_none() {
                v.add(f("resolution"), "must be set to a known resolution");
            }
            let mut replacement_price = None;
            if resolution == Some(Resolution::Exchange) {
                validate::id(&mut v, &f("replacement_sku"), &it.replacement_sku, MAX_ID);
                // Optional: only trusted callers set it (see CreateReturn).
                if let Some(m) = &it.replacement_price {
                    replacement_price = money_field(&mut v, &f("replacement_price"), m);
                }
            } else if !it.replacement_sku.is_empty() || it.replacement_price.is_some() {
                v.add(f("replacement_sku"), "only exchanges name a replacement");
            }
            if let (Some(reason), Some(resolution)) = (reason, resolution) {
                items.push(NewItem {
                    line_id: it.line_id.clone(),
                    quantity: it.quantity,
                    reason,
                    note: it.note.clone(),
                    photo_urls: it.photo_urls.clone(),
                    resolution,
                    replacement_sku: (resolution == Resolution::Exchange).then(|| it.replacement_sku.clone()),
                    replacement_price,
                });
            }
        }
        let resolutions: HashSet<_> = items.iter().map(|i| i.resolution).collect();
        if resolutions.len() > 1 {
            v.add(
                "items",
                "every item of one return must have the same resolution; create one return per resolution",
            );
        }
    }
    let channel = v.finish_with(channel)?;
    Ok(NewReturn {
        order_id: req.order_id.clone(),
        channel,
        resolution: items[0].resolution,
        items,
    })
}

pub fn received(items: &[pb::ReceivedItem]) -> Result<Vec<(String, i32, Grade)>, Error> {
    let mut v = Violations::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match grade_from_proto(item.grade) {
            Some(grade) => out.push((item.line_id.clone(), item.received_quantity, grade)),
            None => v.add(format!("items[{i}].grade"), "must be set"),
        }
    }
    v.finish()?;
    Ok(out)
}

pub fn list_filter(req: &pb::ListReturnsRequest) -> Result<(ReturnFilter, i64), Error> {
    let mut v = Violations::new();
    let mut filter = ReturnFilter::default();
    if !req.customer_id.is_empty() {
        validate::id(&mut v, "customer_id", &req.customer_id, MAX_ID);
        filter.customer_id = Some(req.customer_id.clone());
    }
    if req.status != 0 {
        filter.status = status_from_proto(req.status);
        if filter.status.is_none() {
            v.add("status", "unknown status");
        }
    }
    if req.reason != 0 {
        filter.reason = reason_from_proto(req.reason);
        if filter.reason.is_none() {
            v.add("reason", "unknown reason");
        }
    }
    if !req.order_id.is_empty() {
        validate::id(&mut v, "order_id", &req.order_id, MAX_ID);
        filter.order_id = Some(req.order_id.clone());
    }
    filter.created_after = optional_time(&mut v, "created_after", req.created_after.as_ref());
    filter.created_before = optional_time(&mut v, "created_before", req.created_before.as_ref());
    let page_size = v.take("page_size", aftercare_platform::paging::page_size(req.page_size));
    let page_size = v.finish_with(page_size)?;
    Ok((filter, page_size))
}

/// A percentage; unset (proto3's empty string) is zero.
fn percent(v: &mut Violations, field: &str, s: &str) -> Option<Percent> {
    if s.is_empty() {
        return Some(Percent::ZERO);
    }
    v.take(field, Percent::parse(s))
}

fn per_currency(v: &mut Violations, field: &str, list: &[PbMoney]) -> PerCurrency {
    let mut out: PerCurrency = Vec::new();
    for (i, m) in list.iter().enumerate() {
        let f = format!("{field}[{i}]");
        if let Some(money) = money_field(v, &f, m) {
            if out.iter().any(|o| o.currency() == money.currency()) {
                v.add(format!("{f}.currency_code"), "listed twice");
            }
            out.push(money);
        }
    }
    out.sort_by_key(|m| m.currency().code());
    out
}

pub const POLICY_FIELDS: [&str; 12] = [
    "return_window_days",
    "final_sale",
    "allowed_resolutions",
    "restocking_fee_percent",
    "return_shipping_fees",
    "auto_approve_max_refund",
    "keep_item_max_refund",
    "auto_refund_on_receipt",
    "manual_review_return_count",
    "manual_review_refund_limit",
    "exchange_bonus_percent",
    "advance_exchange",
];

/// Whether `field` of `input` holds a value (AIP-134's "populated").
fn populated(input: &pb::ReturnPolicy, field: &str) -> bool {
    match field {
        "return_window_days" => input.return_window_days != 0,
        "final_sale" => input.final_sale,
        "allowed_resolutions" => !input.allowed_resolutions.is_empty(),
        "restocking_fee_percent" => !input.restocking_fee_percent.is_empty(),
        "return_shipping_fees" => !input.return_shipping_fees.is_empty(),
        "auto_approve_max_refund" => !input.auto_approve_max_refund.is_empty(),
        "keep_item_max_refund" => !input.keep_item_max_refund.is_empty(),
        "auto_refund_on_receipt" => input.auto_refund_on_receipt,
        "manual_review_return_count" => input.manual_review_return_count != 0,
        "manual_review_refund_limit" => !input.manual_review_refund_limit.is_empty(),
        "exchange_bonus_percent" => !input.exchange_bonus_percent.is_empty(),
        "advance_exchange" => input.advance_exchange,
        _ => false,
    }
}

/// The fields of `input` the mask selects, as a patch. AIP-134: an empty
/// mask selects the populated fields, `*` every field.
pub fn policy_patch(input: &pb::ReturnPolicy, mask: &[String]) -> Result<PolicyPatch, Error> {
    let mut v = Violations::new();
    validate::text(&mut v, "policy.category", &input.category, MAX_CATEGORY);
    let everything = mask.len() == 1 && mask[0] == "*";
    if !everything {
        for (i, path) in mask.iter().enumerate() {
            if !POLICY_FIELDS.contains(&path.as_str()) {
                v.add(
                    format!("update_mask.paths[{i}]"),
                    format!("{path:?} is not an updatable field"),
                );
            }
        }
    }
    let set =
        |field: &str| everything || (mask.is_empty() && populated(input, field)) || mask.iter().any(|m| m == field);
    let mut patch = PolicyPatch::default();
    if set("return_window_days") {
        if !(0..=3650).contains(&input.return_window_days) {
            v.add("policy.return_window_days", "must be between 0 and 3650");
        }
        patch.return_window_days = Some(input.return_window_days);
    }
    if set("final_sale") {
        patch.final_sale = Some(input.final_sale);
    }
    if set("allowed_resolutions") {
        let mut resolutions = Vec::new();
        for (i, r) in input.allowed_resolutions.iter().enumerate() {
            match resolution_from_proto(*r) {
                Some(r) if !resolutions.contains(&r) => resolutions.push(r),
                Some(_) => v.add(format!("policy.allowed_resolutions[{i}]"), "listed twice"),
                None => v.add(format!("policy.allowed_resolutions[{i}]"), "unknown resolution"),
            }
        }
        patch.allowed_resolutions = Some(resolutions);
    }
    if set("restocking_fee_percent") {
        patch.restocking_fee_percent = percent(&mut v, "policy.restocking_fee_percent", &input.restocking_fee_percent);
    }
    if set("exchange_bonus_percent") {
        patch.exchange_bonus_percent = percent(&mut v, "policy.exchange_bonus_percent", &input.exchange_bonus_percent);
    }
    if set("return_shipping_fees") {
        patch.return_shipping_fees = Some(per_currency(
            &mut v,
            "policy.return_shipping_fees",
            &input.return_shipping_fees,
        ));
    }
    if set("auto_approve_max_refund") {
        patch.auto_approve_max_refund = Some(per_currency(
            &mut v,
            "policy.auto_approve_max_refund",
            &input.auto_approve_max_refund,
        ));
    }
    if set("keep_item_max_refund") {
        patch.keep_item_max_refund = Some(per_currency(
            &mut v,
            "policy.keep_item_max_refund",
            &input.keep_item_max_refund,
        ));
    }
    if set("manual_review_refund_limit") {
        patch.manual_review_refund_limit = Some(per_currency(
            &mut v,
            "policy.manual_review_refund_limit",
            &input.manual_review_refund_limit,
        ));
    }
    if set("auto_refund_on_receipt") {
        patch.auto_refund_on_receipt = Some(input.auto_refund_on_receipt);
    }
    if set("manual_review_return_count") {
        if input.manual_review_return_count < 0 {
            v.add("policy.manual_review_return_count", "must not be negative");
        }
        patch.manual_review_return_count = Some(input.manual_review_return_count);
    }
    if set("advance_exchange") {
        patch.advance_exchange = Some(input.advance_exchange);
    }
    v.finish()?;
    Ok(patch)
}
