//! A claim's page: what it is, its service-level clock, its timeline with
//! internal notes marked, and the actions on it — each the RPC warranty
//! serves: review, ask the customer, approve with a remedy, reject with a
//! reason, carry out a replacement or a refund (resolving the claim),
//! close, and messages or internal notes.

use std::fmt::Write;

use aftercare_proto::warranty as pb;
use aftercare_proto::warranty::warranty_service_server::SERVICE_NAME;
use tonic::Status;

use crate::html::{self, attr, esc, time, words};
use crate::rpc::{call, path};
use crate::session::Session;
use crate::{Console, Form, urlencode};

pub async fn get(console: &Console, token: &str, id: &str) -> Result<pb::Claim, Status> {
    let request = pb::GetClaimRequest { claim_id: id.into() };
    call(&console.grpc, &path(SERVICE_NAME, "GetClaim"), token, &request).await
}

fn name<E: Copy>(value: i32, parse: fn(i32) -> Option<E>, text: fn(E) -> &'static str, prefix: &str) -> String {
    parse(value).map_or(String::new(), |v| words(text(v), prefix))
}

fn status_name(status: i32) -> String {
    name(
        status,
        |v| pb::ClaimStatus::try_from(v).ok(),
        |s| s.as_str_name(),
        "CLAIM_STATUS_",
    )
}

pub fn detail(console: &Console, c: &pb::Claim, session: &Session, error: Option<&str>) -> String {
    let mut b = error.map(html::alert).unwrap_or_default();
    let sla = c.sla.clone().unwrap_or_default();
    let remedy = name(
        c.remedy,
        |v| pb::Remedy::try_from(v).ok(),
        |r| r.as_str_name(),
        "REMEDY_",
    );
    let _ = write!(
        b,
        "<section aria-labelledby=\"facts\"><h2 id=\"facts\">Claim</h2><dl>\
         <dt>Status</dt><dd id=\"status\">{}</dd><dt>Customer</dt><dd><a href=\"/console/customers/{}\">{}</a></dd>\
         <dt>Fault</dt><dd>{}</dd><dt>Description</dt><dd>{}</dd><dt>Remedy</dt><dd>{}</dd>\
         <dt>Filed</dt><dd>{}</dd><dt>First response due</dt><dd>{}</dd><dt>Resolution due</dt><dd>{}</dd>\
         <dt>Alarms</dt><dd>{}</dd><dt>Next step</dt><dd>{}</dd></dl></section>",
        esc(&status_name(c.status)),
        attr(&urlencode(&c.customer_id)),
        esc(&c.customer_id),
        esc(&c.fault_category),
        esc(&c.description),
        esc(if remedy == "unspecified" { "—" } else { &remedy }),
        time(&c.filed_at),
        if sla.first_response_at.is_some() {
            "met".into()
        } else {
            time(&sla.first_response_due_at)
        },
        time(&sla.resolution_due_at),
        esc(&sla.alarms.join(", ").replace('_', " ")),
        esc(&c.next_step),
    );
    b.push_str("<section aria-labelledby=\"timeline\"><h2 id=\"timeline\">Timeline</h2><ol id=\"timeline-entries\">");
    for e in &c.timeline {
        let (class, badge) = match e.customer_visible {
            true => (" class=\"visible\"", "Customer-visible"),
            false => (" class=\"internal\"", "Internal note"),
        };
        let text = if e.kind == "status" {
            format!("now {}", status_name(e.status))
        } else {
            e.text.clone()
        };
        let _ = write!(
            b,
            "<li{class}>{} <span class=\"badge\">{badge}</span> <strong>{}</strong>: {}</li>",
            time(&e.time),
            esc(&e.actor_role),
            esc(&text)
        );
    }
    b.push_str("</ol></section>");
    b.push_str(&actions(console, c, session));
    b
}

fn form(id: &str, action: &str, csrf: &str, legend: &str, fields: &str, button: &str) -> String {
    html::action_form("/console/claims", id, action, csrf, legend, fields, button)
}

fn options<E: Copy>(all: &[E], text: fn(E) -> &'static str, value: fn(E) -> i32, prefix: &str) -> String {
    let mut o = String::from("<option value=\"\">Choose…</option>");
    for e in all {
        let _ = write!(
            o,
            "<option value=\"{}\">{}</option>",
            value(*e),
            esc(&words(text(*e), prefix))
        );
    }
    o
}

fn actions(console: &Console, c: &pb::Claim, session: &Session) -> String {
    use pb::ClaimStatus as S;
    let (id, csrf) = (&c.claim_id, session.csrf.as_str());
    let may = |method| console.may(session.caller.role, SERVICE_NAME, method);
    let status = S::try_from(c.status).unwrap_or(S::Unspecified);
    let remedy = pb::Remedy::try_from(c.remedy).unwrap_or(pb::Remedy::Unspecified);
    let mut b = String::from("<section aria-labelledby=\"act\"><h2 id=\"act\">Act</h2>");
    if status == S::Submitted && may("ReviewClaim") {
        b.push_str(&form(id, "review", csrf, "Review", "", "Take it for review"));
    }
    if status == S::InReview && may("RequestClaimInfo") {
        let fields = "<label for=\"question\">Question (the customer sees it)</label>\
                          <textarea id=\"question\" name=\"question\" required maxlength=\"2000\"></textarea>";
        b.push_str(&form(id, "ask", csrf, "Ask the customer", fields, "Ask"));
    }
    // In review, or again after a repair that did not work out.
    if matches!(status, S::InReview | S::InService) && may("ApproveClaim") {
        {
            let remedies = [
                pb::Remedy::Repair,
                pb::Remedy::Replacement,
                pb::Remedy::PriceReduction,
                pb::Remedy::Refund,
            ];
            let fields = format!(
                "<label for=\"remedy\">Remedy</label><select id=\"remedy\" name=\"remedy\" required>{}</select>\
                 <label><input type=\"checkbox\" id=\"paid-repair\" name=\"paid_repair\" value=\"on\"> A repair the customer pays for (a claim filed out of coverage)</label>\
                 <label for=\"override-reason\">Why a repair, when the customer is entitled to more (internal)</label>\
                 <input id=\"override-reason\" name=\"override_reason\" maxlength=\"2000\">\
                 <label for=\"approve-note\">Note (the customer sees it)</label>\
                 <textarea id=\"approve-note\" name=\"note\" maxlength=\"2000\"></textarea>",
                options(&remedies, |r| r.as_str_name(), |r| r as i32, "REMEDY_")
            );
            b.push_str(&form(id, "approve", csrf, "Approve", &fields, "Approve"));
        }
    }
    if status == S::InReview && may("RejectClaim") {
        {
            let reasons = [
                pb::RejectionReason::Expired,
                pb::RejectionReason::ExcludedFault,
                pb::RejectionReason::NoFaultFound,
            ];
            let fields = format!(
                "<label for=\"reject-reason\">Reason</label><select id=\"reject-reason\" name=\"reason\" required>{}</select>\
                 <label for=\"reject-note\">Explanation (the customer sees it)</label>\
                 <textarea id=\"reject-note\" name=\"note\" required maxlength=\"2000\"></textarea>",
                options(&reasons, |r| r.as_str_name(), |r| r as i32, "REJECTION_REASON_")
            );
            b.push_str(&form(id, "reject", csrf, "Reject", &fields, "Reject"));
        }
    }
    if matches!(status, S::Approved | S::InService) && remedy == pb::Remedy::Replacement && may("ReplaceProduct") {
        let fields = "<label for=\"serial\">The replacement's serial number</label>\
                      <input id=\"serial\" name=\"serial_number\" required maxlength=\"128\">";
        b.push_str(&form(id, "replace", csrf, "Replace the product", fields, "Replace"));
    }
    let money_remedy = matches!(remedy, pb::Remedy::Refund | pb::Remedy::PriceReduction);
    if status == S::Approved && money_remedy && may("IssueClaimRefund") {
        // A refund pays the unit's recorded price; a price reduction, or a
        // unit registered by hand, names the amount.
        let fields = "<label for=\"refund-amount\">Amount (a price reduction, or a unit with no recorded price)</label>\
                      <input id=\"refund-amount\" name=\"amount\" inputmode=\"decimal\" maxlength=\"20\">\
                      <label for=\"refund-currency\">Currency</label>\
                      <input id=\"refund-currency\" name=\"currency\" maxlength=\"3\" size=\"4\">";
        b.push_str(&form(id, "refund", csrf, "Pay back", fields, "Issue the refund"));
    }
    if matches!(status, S::Submitted | S::InReview | S::AwaitingCustomer | S::Approved) && may("CancelClaim") {
        let fields = "<label for=\"cancel-reason\">Why</label>\
                      <input id=\"cancel-reason\" name=\"reason\" maxlength=\"2000\">";
        b.push_str(&form(id, "cancel", csrf, "Cancel", fields, "Cancel the claim"));
    }
    if status == S::Resolved && may("CloseClaim") {
        b.push_str(&form(id, "close", csrf, "Close", "", "Close the claim"));
    }
    if may("AddClaimMessage") {
        b.push_str(&form(
            id,
            "message",
            csrf,
            "Message or internal note",
            "<label for=\"message-text\">Text</label>\
             <textarea id=\"message-text\" name=\"text\" required maxlength=\"2000\"></textarea>\
             <label><input type=\"checkbox\" name=\"internal\" id=\"message-internal\" value=\"on\"> Internal (never shown to the customer)</label>",
            "Add",
        ));
    }
    b.push_str("</section>");
    b
}

/// Runs an action's RPC.
pub async fn act(console: &Console, token: &str, id: &str, action: &str, f: &Form) -> Result<(), Status> {
    let grpc = &console.grpc;
    let p = |m| path(SERVICE_NAME, m);
    let claim_id = id.to_owned();
    let number = |field: &str| f.get(field).parse::<i32>().unwrap_or(0);
    match action {
        "review" => {
            call::<_, pb::Claim>(grpc, &p("ReviewClaim"), token, &pb::ReviewClaimRequest { claim_id }).await?;
        }
        "ask" => {
            let request = pb::RequestClaimInfoRequest {
                claim_id,
                question: f.get("question").to_owned(),
            };
            call::<_, pb::Claim>(grpc, &p("RequestClaimInfo"), token, &request).await?;
        }
        "approve" => {
            let request = pb::ApproveClaimRequest {
                claim_id,
                remedy: number("remedy"),
                note: f.get("note").to_owned(),
                paid_repair: f.get("paid_repair") == "on",
                override_reason: f.get("override_reason").to_owned(),
            };
            call::<_, pb::Claim>(grpc, &p("ApproveClaim"), token, &request).await?;
        }
        "reject" => {
            let request = pb::RejectClaimRequest {
                claim_id,
                reason: number("reason"),
                note: f.get("note").to_owned(),
            };
            call::<_, pb::Claim>(grpc, &p("RejectClaim"), token, &request).await?;
        }
        "replace" => {
            let request = pb::ReplaceProductRequest {
                claim_id,
                serial_number: f.get("serial_number").to_owned(),
                note: String::new(),
            };
            call::<_, pb::Claim>(grpc, &p("ReplaceProduct"), token, &request).await?;
        }
        "refund" => {
            let amount = (!f.get("amount").trim().is_empty()).then(|| aftercare_proto::common::Money {
                currency_code: f.get("currency").trim().to_uppercase(),
                amount: f.get("amount").trim().to_owned(),
            });
            let request = pb::IssueClaimRefundRequest {
                claim_id,
                amount,
                request_id: f.get("request_id").to_owned(),
            };
            call::<_, pb::ClaimRefund>(grpc, &p("IssueClaimRefund"), token, &request).await?;
        }
        "cancel" => {
            let request = pb::CancelClaimRequest {
                claim_id,
                reason: f.get("reason").to_owned(),
            };
            call::<_, pb::Claim>(grpc, &p("CancelClaim"), token, &request).await?;
        }
        "close" => {
            call::<_, pb::Claim>(grpc, &p("CloseClaim"), token, &pb::CloseClaimRequest { claim_id }).await?;
        }
        "message" => {
            let request = pb::AddClaimMessageRequest {
                claim_id,
                text: f.get("text").to_owned(),
                customer_visible: f.get("internal") != "on",
                channel: 0,
            };
            call::<_, pb::Claim>(grpc, &p("AddClaimMessage"), token, &request).await?;
        }
        _ => return Err(Status::not_found("no such action")),
    }
    Ok(())
}
