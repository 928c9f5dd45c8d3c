//! Returns: the queue of returns awaiting review (oldest first), a return's
//! page (items, money, timeline with internal notes marked), and the
//! actions on it — each one the RPC the gRPC port serves.

use std::fmt::Write;

use aftercare_proto::returns as pb;
use aftercare_proto::returns::return_service_server::SERVICE_NAME;
use tonic::Status;

use crate::html::{self, attr, esc, money, time, words};
use crate::rpc::{call, path};
use crate::session::Session;
use crate::{Console, Form, urlencode};

pub async fn get(console: &Console, token: &str, id: &str) -> Result<pb::Return, Status> {
    let request = pb::GetReturnRequest { return_id: id.into() };
    call(&console.grpc, &path(SERVICE_NAME, "GetReturn"), token, &request).await
}

/// Returns listed on one page of the queue.
const QUEUE_PAGE: i32 = 50;

/// The returns awaiting review, oldest first (the service's order for
/// staff filtering by status), a page at a time.
pub async fn queue(console: &Console, token: &str, page_token: &str) -> Result<String, Status> {
    let request = pb::ListReturnsRequest {
        status: pb::ReturnStatus::Requested as i32,
        page_size: QUEUE_PAGE,
        page_token: page_token.to_owned(),
        ..Default::default()
    };
    let page: pb::ListReturnsResponse =
        call(&console.grpc, &path(SERVICE_NAME, "ListReturns"), token, &request).await?;
    let returns = page.returns;
    let mut body = String::new();
    if returns.is_empty() && page_token.is_empty() {
        body.push_str("<p>No return is waiting for review.</p>");
        return Ok(body);
    }
    body.push_str(
        "<div class=\"scroll\"><table><caption>Requested returns, oldest first</caption><thead><tr>\
         <th scope=\"col\">Return</th><th scope=\"col\">Customer</th><th scope=\"col\">Asked</th>\
         <th scope=\"col\">Items</th><th scope=\"col\">Refund</th><th scope=\"col\">Review</th></tr></thead><tbody>",
    );
    for r in &returns {
        let _ = write!(
            body,
            "<tr><td><a href=\"/console/returns/{}\">{}</a></td><td><a href=\"/console/customers/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            attr(&urlencode(&r.return_id)),
            esc(&r.return_id),
            attr(&urlencode(&r.customer_id)),
            esc(&r.customer_id),
            time(&r.create_time),
            r.items.iter().map(|i| i.quantity).sum::<i32>(),
            money(&r.refund_total),
            if r.manual_review { "needed" } else { "" },
        );
    }
    body.push_str("</tbody></table></div>");
    if !page.next_page_token.is_empty() {
        let _ = write!(
            body,
            "<p>More returns are waiting. <a href=\"/console/returns?page={}\">Next page</a></p>",
            attr(&urlencode(&page.next_page_token))
        );
    }
    Ok(body)
}

fn status_name(status: i32) -> String {
    pb::ReturnStatus::try_from(status).map_or("unknown".into(), |s| words(s.as_str_name(), "RETURN_STATUS_"))
}

/// A return's page: what it is, what it settles to, what happened, and
/// the forms of what may happen next.
pub fn detail(console: &Console, r: &pb::Return, session: &Session, error: Option<&str>) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        b.push_str(&html::alert(e));
    }
    let _ = write!(
        b,
        "<section aria-labelledby=\"facts\"><h2 id=\"facts\">Return</h2><dl>\
         <dt>Status</dt><dd id=\"status\">{}</dd><dt>Customer</dt><dd><a href=\"/console/customers/{}\">{}</a></dd><dt>Order</dt><dd>{}</dd>\
         <dt>Asked</dt><dd>{}</dd><dt>Next step</dt><dd>{}</dd></dl></section>",
        esc(&status_name(r.status)),
        attr(&urlencode(&r.customer_id)),
        esc(&r.customer_id),
        esc(&r.order_id),
        time(&r.create_time),
        esc(&r.next_step),
    );
    b.push_str(
        "<section aria-labelledby=\"items\"><h2 id=\"items\">Items</h2><table><thead><tr>\
         <th scope=\"col\">Line</th><th scope=\"col\">Product</th><th scope=\"col\">Quantity</th>\
         <th scope=\"col\">Reason</th><th scope=\"col\">Received</th><th scope=\"col\">Refund</th></tr></thead><tbody>",
    );
    for i in &r.items {
        let reason =
            pb::ReturnReason::try_from(i.reason).map_or(String::new(), |x| words(x.as_str_name(), "RETURN_REASON_"));
        let grade = pb::Grade::try_from(i.grade).map_or(String::new(), |g| words(g.as_str_name(), "GRADE_"));
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            esc(&i.line_id),
            esc(&i.product_name),
            i.quantity,
            esc(&reason),
            i.received_quantity,
            esc(if grade == "unspecified" { "" } else { &grade }),
            money(&i.refund_amount),
        );
    }
    b.push_str("</tbody></table></section>");
    let refund = r.refund.as_ref().map_or("none".to_owned(), |f| {
        let status =
            pb::RefundStatus::try_from(f.status).map_or(String::new(), |s| words(s.as_str_name(), "REFUND_STATUS_"));
        format!("{} ({})", money(&f.amount), esc(&status))
    });
    let _ = write!(
        b,
        "<section aria-labelledby=\"money\"><h2 id=\"money\">Money</h2><dl>\
         <dt>Items</dt><dd>{}</dd><dt>Shipping fee</dt><dd>{}</dd><dt>Bonus</dt><dd>{}</dd>\
         <dt>Refund total</dt><dd id=\"refund-total\">{}</dd><dt>Exchange difference</dt><dd>{}</dd>\
         <dt>Refund</dt><dd id=\"refund\">{}</dd></dl></section>",
        money(&r.items_refund),
        money(&r.shipping_fee),
        money(&r.bonus),
        money(&r.refund_total),
        money(&r.exchange_difference),
        refund,
    );
    b.push_str("<section aria-labelledby=\"timeline\"><h2 id=\"timeline\">Timeline</h2><ol id=\"timeline-entries\">");
    for e in &r.timeline {
        let (class, badge) = match e.customer_visible {
            true => (" class=\"visible\"", "Customer-visible"),
            false => (" class=\"internal\"", "Internal note"),
        };
        let _ = write!(
            b,
            "<li{class}>{} <span class=\"badge\">{badge}</span> <strong>{}</strong>: {}</li>",
            time(&e.time),
            esc(&e.actor_role),
            esc(&if e.kind == "status" {
                format!("now {}", status_name(e.status))
            } else {
                e.text.clone()
            }),
        );
    }
    b.push_str("</ol></section>");
    b.push_str(&actions(console, r, session));
    b
}

fn form(id: &str, action: &str, csrf: &str, legend: &str, fields: &str, button: &str) -> String {
    html::action_form("/console/returns", id, action, csrf, legend, fields, button)
}

/// The receive form: each line's quantity and grade chosen on purpose (the
/// grade decides what is refunded), none filled in.
fn receive_fields(r: &pb::Return) -> String {
    let mut fields = String::new();
    for (n, i) in r.items.iter().enumerate() {
        let line = attr(&i.line_id);
        let _ = write!(
            fields,
            "<fieldset><legend>{} (line {line})</legend>\
             <label for=\"qty-{n}\">Units received (of {})</label>\
             <input id=\"qty-{n}\" name=\"qty:{line}\" type=\"number\" min=\"0\" max=\"{}\" required>\
             <label for=\"grade-{n}\">Grade</label><select id=\"grade-{n}\" name=\"grade:{line}\" required>\
             <option value=\"\">Choose…</option>",
            esc(&i.product_name),
            i.quantity,
            i.quantity,
        );
        for g in [
            pb::Grade::Resellable,
            pb::Grade::Opened,
            pb::Grade::Damaged,
            pb::Grade::Missing,
            pb::Grade::WrongItem,
        ] {
            let _ = write!(
                fields,
                "<option value=\"{}\">{}</option>",
                g as i32,
                esc(&words(g.as_str_name(), "GRADE_"))
            );
        }
        fields.push_str("</select></fieldset>");
    }
    fields
}

/// The forms of what the reader may do to the return in its status (the
/// services' own rules decide in the end; a refused action says why).
fn actions(console: &Console, r: &pb::Return, session: &Session) -> String {
    let (id, csrf) = (&r.return_id, session.csrf.as_str());
    let may = |method| console.may(session.caller.role, SERVICE_NAME, method);
    let status = pb::ReturnStatus::try_from(r.status).unwrap_or(pb::ReturnStatus::Unspecified);
    let mut b = String::from("<section aria-labelledby=\"act\"><h2 id=\"act\">Act</h2>");
    if status == pb::ReturnStatus::Requested && may("ApproveReturn") {
        b.push_str(&form(id, "approve", csrf, "Approve", "", "Approve"));
    }
    if status == pb::ReturnStatus::Requested && may("RejectReturn") {
        b.push_str(&form(
            id,
            "reject",
            csrf,
            "Reject",
            "<label for=\"reject-reason\">Reason (the customer sees it)</label>\
             <textarea id=\"reject-reason\" name=\"reason\" required maxlength=\"2000\"></textarea>",
            "Reject",
        ));
    }
    // Items are received once the customer has sent them.
    if status == pb::ReturnStatus::InTransit && may("ReceiveReturn") {
        b.push_str(&form(
            id,
            "receive",
            csrf,
            "Receive and grade",
            &receive_fields(r),
            "Receive",
        ));
    }
    // As the return's rules have it: once received, or at once for items
    // the customer keeps; while no refund is under way; with money due.
    let owed = r
        .refund_total
        .as_ref()
        .is_some_and(|m| !m.amount.trim_start_matches(['0', '.']).is_empty());
    let no_live_refund = r
        .refund
        .as_ref()
        .is_none_or(|f| f.status == pb::RefundStatus::Failed as i32);
    let stage = status == pb::ReturnStatus::Received || (status == pb::ReturnStatus::Approved && r.keep_items);
    if stage && owed && no_live_refund && may("IssueRefund") {
        b.push_str(&form(id, "refund", csrf, "Refund", "", "Issue the refund"));
    }
    if may("AddReturnMessage") {
        b.push_str(&form(
            id,
            "message",
            csrf,
            "Message or internal note",
            "<label for=\"message-text\">Text</label>\
             <textarea id=\"message-text\" name=\"text\" required maxlength=\"4000\"></textarea>\
             <label><input type=\"checkbox\" name=\"internal\" id=\"message-internal\" value=\"on\"> Internal (never shown to the customer)</label>",
            "Add",
        ));
    }
    if b.ends_with("</h2>") {
        b.push_str("<p>Nothing for you to do on this return now.</p>");
    }
    b.push_str("</section>");
    b
}

/// Runs an action's RPC.
pub async fn act(console: &Console, token: &str, id: &str, action: &str, f: &Form) -> Result<(), Status> {
    let grpc = &console.grpc;
    let id = id.to_owned();
    let p = |m| path(SERVICE_NAME, m);
    match action {
        "approve" => {
            let request = pb::ApproveReturnRequest {
                return_id: id,
                note: String::new(),
            };
            call::<_, pb::Return>(grpc, &p("ApproveReturn"), token, &request).await?;
        }
        "reject" => {
            let request = pb::RejectReturnRequest {
                return_id: id,
                reason: f.get("reason").to_owned(),
            };
            call::<_, pb::Return>(grpc, &p("RejectReturn"), token, &request).await?;
        }
        "receive" => {
            let items = f
                .pairs()
                .filter_map(|(k, v)| Some((k.strip_prefix("qty:")?, v)))
                .map(|(line, qty)| pb::ReceivedItem {
                    line_id: line.to_owned(),
                    received_quantity: qty.parse().unwrap_or(-1),
                    grade: f.get(&format!("grade:{line}")).parse().unwrap_or(0),
                })
                .collect();
            let request = pb::ReceiveReturnRequest { return_id: id, items };
            call::<_, pb::Return>(grpc, &p("ReceiveReturn"), token, &request).await?;
        }
        "refund" => {
            let request = pb::IssueRefundRequest {
                return_id: id,
                request_id: f.get("request_id").to_owned(),
            };
            call::<_, pb::Refund>(grpc, &p("IssueRefund"), token, &request).await?;
        }
        "message" => {
            let request = pb::AddReturnMessageRequest {
                return_id: id,
                text: f.get("text").to_owned(),
                internal: f.get("internal") == "on",
                // Typed in the console: no customer channel.
                channel: 0,
                request_id: f.get("request_id").to_owned(),
            };
            call::<_, pb::Return>(grpc, &p("AddReturnMessage"), token, &request).await?;
        }
        _ => return Err(Status::not_found("no such action")),
    }
    Ok(())
}
