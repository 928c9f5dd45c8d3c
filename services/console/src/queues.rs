//! The other work queues: claims by time to their next target, and the
//! follow-ups of unhappy answers by their first-response target.

use std::fmt::Write;

use aftercare_proto::feedback as fb;
use aftercare_proto::warranty as wy;
use tonic::Status;

use crate::html::{attr, esc, time, words};
use crate::rpc::{call, path};
use crate::{Console, urlencode};

/// Rows on one page of a queue.
const PAGE: i32 = 50;

fn next_link(base: &str, token: &str) -> String {
    if token.is_empty() {
        return String::new();
    }
    format!(
        "<p>More are waiting. <a href=\"{base}?page={}\">Next page</a></p>",
        attr(&urlencode(token))
    )
}

/// Claims whose clock runs, the earliest target first (warranty's own
/// work-queue order).
pub async fn claims(console: &Console, token: &str, page_token: &str) -> Result<String, Status> {
    let request = wy::ListClaimsRequest {
        order_by: wy::ClaimOrder::TimeToBreach as i32,
        page_size: PAGE,
        page_token: page_token.to_owned(),
        ..Default::default()
    };
    let service = wy::warranty_service_server::SERVICE_NAME;
    let page: wy::ListClaimsResponse = call(&console.grpc, &path(service, "ListClaims"), token, &request).await?;
    let mut b = String::new();
    if page.claims.is_empty() && page_token.is_empty() {
        return Ok("<p>No claim has a target running.</p>".into());
    }
    b.push_str(
        "<div class=\"scroll\"><table><caption>Claims by their next target, soonest first</caption><thead><tr>\
         <th scope=\"col\">Claim</th><th scope=\"col\">Customer</th><th scope=\"col\">Status</th>\
         <th scope=\"col\">Fault</th><th scope=\"col\">First response due</th><th scope=\"col\">Resolution due</th>\
         <th scope=\"col\">Alarms</th></tr></thead><tbody>",
    );
    for c in &page.claims {
        let sla = c.sla.clone().unwrap_or_default();
        let status =
            wy::ClaimStatus::try_from(c.status).map_or(String::new(), |s| words(s.as_str_name(), "CLAIM_STATUS_"));
        let first_due = if sla.first_response_at.is_some() {
            "met".to_owned()
        } else {
            time(&sla.first_response_due_at)
        };
        let _ = write!(
            b,
            "<tr><td><a href=\"/console/claims/{}\">{}</a></td><td><a href=\"/console/customers/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            attr(&urlencode(&c.claim_id)),
            esc(&c.claim_id),
            attr(&urlencode(&c.customer_id)),
            esc(&c.customer_id),
            esc(&status),
            esc(&c.fault_category),
            first_due,
            time(&sla.resolution_due_at),
            esc(&sla.alarms.join(", ").replace('_', " ")),
        );
    }
    b.push_str("</tbody></table></div>");
    b.push_str(&next_link("/console/claims", &page.next_page_token));
    Ok(b)
}

/// Open follow-ups of unhappy answers, the soonest target first.
pub async fn follow_ups(console: &Console, token: &str, page_token: &str) -> Result<String, Status> {
    let request = fb::ListFollowUpsRequest {
        status: fb::FollowUpStatus::Open as i32,
        page_size: PAGE,
        page_token: page_token.to_owned(),
    };
    let service = fb::feedback_service_server::SERVICE_NAME;
    let page: fb::ListFollowUpsResponse = call(&console.grpc, &path(service, "ListFollowUps"), token, &request).await?;
    if page.follow_ups.is_empty() && page_token.is_empty() {
        return Ok("<p>No follow-up is open.</p>".into());
    }
    let mut b = String::from(
        "<div class=\"scroll\"><table><caption>Open follow-ups, the soonest target first</caption><thead><tr>\
         <th scope=\"col\">Customer</th><th scope=\"col\">Case</th><th scope=\"col\">CSAT</th><th scope=\"col\">NPS</th>\
         <th scope=\"col\">Comment</th><th scope=\"col\">Respond by</th><th scope=\"col\">Breached</th></tr></thead><tbody>",
    );
    for f in &page.follow_ups {
        let case = fb::CaseType::try_from(f.case_type).map_or(String::new(), |c| words(c.as_str_name(), "CASE_TYPE_"));
        let _ = write!(
            b,
            "<tr><td><a href=\"/console/customers/{}\">{}</a></td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            attr(&urlencode(&f.customer_id)),
            esc(&f.customer_id),
            esc(&case),
            esc(&f.case_id),
            f.csat,
            f.nps.map_or("—".to_owned(), |n| n.to_string()),
            esc(&f.comment),
            time(&f.respond_by),
            if f.breached { "yes" } else { "no" },
        );
    }
    b.push_str("</tbody></table></div>");
    b.push_str(&next_link("/console/follow-ups", &page.next_page_token));
    Ok(b)
}

/// Dead-lettered event deliveries (admins), oldest first, each with a form
/// queueing it again.
pub async fn dead_letters(console: &Console, token: &str, csrf: &str) -> Result<String, Status> {
    use aftercare_proto::events as ev;
    let service = ev::event_service_server::SERVICE_NAME;
    let request = ev::ListDeadLettersRequest::default();
    let page: ev::ListDeadLettersResponse =
        call(&console.grpc, &path(service, "ListDeadLetters"), token, &request).await?;
    if page.dead_letters.is_empty() {
        return Ok("<p>No delivery is dead-lettered.</p>".into());
    }
    let mut b = String::new();
    if page.truncated {
        b.push_str("<p>More than these 500 are dead: replay them by consumer, or list them with <code>aftercare outbox dead</code>.</p>");
    }
    b.push_str(
        "<div class=\"scroll\"><table><caption>Dead letters, oldest first</caption><thead><tr>\
         <th scope=\"col\">Consumer</th><th scope=\"col\">Topic</th><th scope=\"col\">About</th>\
         <th scope=\"col\">Attempts</th><th scope=\"col\">Last error</th><th scope=\"col\">Since</th>\
         <th scope=\"col\">Replay</th></tr></thead><tbody>",
    );
    for (n, d) in page.dead_letters.iter().enumerate() {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>\
             <form method=\"post\" action=\"/console/dead-letters/replay\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"consumer\" value=\"{}\">\
             <input type=\"hidden\" name=\"event_id\" value=\"{}\">\
             <button type=\"submit\" id=\"replay-{n}\" aria-label=\"Replay {} for {}\">Replay</button></form></td></tr>",
            esc(&d.consumer),
            esc(&d.topic),
            esc(&d.aggregate_id),
            d.attempts,
            esc(&d.last_error),
            time(&d.dead_at),
            attr(csrf),
            attr(&d.consumer),
            attr(&d.event_id),
            attr(&d.topic),
            attr(&d.consumer),
        );
    }
    b.push_str("</tbody></table></div>");
    Ok(b)
}

/// Queues one dead letter again.
pub async fn replay(console: &Console, token: &str, consumer: &str, event_id: &str) -> Result<i64, Status> {
    use aftercare_proto::events as ev;
    let service = ev::event_service_server::SERVICE_NAME;
    let request = ev::ReplayDeadLettersRequest {
        consumer: consumer.to_owned(),
        event_id: event_id.to_owned(),
    };
    let answer: ev::ReplayDeadLettersResponse =
        call(&console.grpc, &path(service, "ReplayDeadLetters"), token, &request).await?;
    Ok(answer.queued)
}
