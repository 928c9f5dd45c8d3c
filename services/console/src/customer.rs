//! A customer's page: their orders, returns, claims, points, maintenance
//! and feedback, each section read from its own service. A service that
//! fails (or is not run by this deployment) shows as such in its section
//! only.

use std::fmt::Write;

use aftercare_proto::{feedback as fb, loyalty as ly, maintenance as mt, orders as od, returns as rt, warranty as wy};
use tonic::Status;

use crate::html::{attr, esc, money, time, words};
use crate::rpc::{self, call, path};
use crate::{Console, urlencode};

/// Rows per section.
const ROWS: i32 = 20;

fn section(id: &str, title: &str, body: Result<String, Status>) -> String {
    let body = body.unwrap_or_else(|status| {
        crate::html::alert(&format!("This section could not be read. {}", rpc::words(&status)))
    });
    format!("<section aria-labelledby=\"{id}\"><h2 id=\"{id}\">{title}</h2>{body}</section>")
}

fn table(caption: &str, headers: &[&str], rows: Vec<String>) -> String {
    if rows.is_empty() {
        return "<p>None.</p>".into();
    }
    let mut b = format!("<div class=\"scroll\"><table><caption>{caption}</caption><thead><tr>");
    for h in headers {
        let _ = write!(b, "<th scope=\"col\">{h}</th>");
    }
    b.push_str("</tr></thead><tbody>");
    for r in rows {
        b.push_str(&r);
    }
    b.push_str("</tbody></table></div>");
    b
}

async fn orders(c: &Console, token: &str, customer: &str) -> Result<String, Status> {
    let request = od::ListOrdersRequest {
        customer_id: customer.into(),
        page_size: ROWS,
        ..Default::default()
    };
    let page: od::ListOrdersResponse = call(
        &c.grpc,
        &path(od::order_service_server::SERVICE_NAME, "ListOrders"),
        token,
        &request,
    )
    .await?;
    let rows = page
        .orders
        .iter()
        .map(|o| {
            let status =
                od::OrderStatus::try_from(o.status).map_or(String::new(), |s| words(s.as_str_name(), "ORDER_STATUS_"));
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&o.order_id),
                time(&o.placed_at),
                money(&o.total),
                esc(&status)
            )
        })
        .collect();
    Ok(table("Latest orders", &["Order", "Placed", "Total", "Status"], rows))
}

async fn returns(c: &Console, token: &str, customer: &str) -> Result<String, Status> {
    let request = rt::ListReturnsRequest {
        customer_id: customer.into(),
        page_size: ROWS,
        ..Default::default()
    };
    let page: rt::ListReturnsResponse = call(
        &c.grpc,
        &path(rt::return_service_server::SERVICE_NAME, "ListReturns"),
        token,
        &request,
    )
    .await?;
    let rows = page
        .returns
        .iter()
        .map(|r| {
            let status = rt::ReturnStatus::try_from(r.status)
                .map_or(String::new(), |s| words(s.as_str_name(), "RETURN_STATUS_"));
            format!(
                "<tr><td><a href=\"/console/returns/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                attr(&urlencode(&r.return_id)),
                esc(&r.return_id),
                time(&r.create_time),
                esc(&status),
                money(&r.refund_total)
            )
        })
        .collect();
    Ok(table("Latest returns", &["Return", "Asked", "Status", "Refund"], rows))
}

async fn claims(c: &Console, token: &str, customer: &str) -> Result<String, Status> {
    let request = wy::ListClaimsRequest {
        customer_id: customer.into(),
        page_size: ROWS,
        ..Default::default()
    };
    let page: wy::ListClaimsResponse = call(
        &c.grpc,
        &path(wy::warranty_service_server::SERVICE_NAME, "ListClaims"),
        token,
        &request,
    )
    .await?;
    let rows = page
        .claims
        .iter()
        .map(|k| {
            let status =
                wy::ClaimStatus::try_from(k.status).map_or(String::new(), |s| words(s.as_str_name(), "CLAIM_STATUS_"));
            format!(
                "<tr><td><a href=\"/console/claims/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                attr(&urlencode(&k.claim_id)),
                esc(&k.claim_id),
                time(&k.filed_at),
                esc(&status),
                esc(&k.fault_category)
            )
        })
        .collect();
    Ok(table("Latest claims", &["Claim", "Filed", "Status", "Fault"], rows))
}

async fn points(c: &Console, token: &str, customer: &str) -> Result<String, Status> {
    let request = ly::GetAccountRequest {
        customer_id: customer.into(),
    };
    let a: ly::Account = call(
        &c.grpc,
        &path(ly::loyalty_service_server::SERVICE_NAME, "GetAccount"),
        token,
        &request,
    )
    .await?;
    let tier = a.tier.and_then(|t| t.tier).map_or("—".to_owned(), |t| t.name);
    Ok(format!(
        "<dl><dt>Available</dt><dd id=\"points-available\">{}</dd><dt>Pending</dt><dd>{}</dd><dt>Held</dt><dd>{}</dd>\
         <dt>Debt</dt><dd>{}</dd><dt>Tier</dt><dd>{}</dd></dl>",
        a.available,
        a.pending,
        a.held,
        a.debt,
        esc(&tier)
    ))
}

async fn maintenance(c: &Console, token: &str, customer: &str) -> Result<String, Status> {
    let request = mt::ListSchedulesRequest {
        customer_id: customer.into(),
        page_size: ROWS,
        ..Default::default()
    };
    let page: mt::ListSchedulesResponse = call(
        &c.grpc,
        &path(mt::maintenance_service_server::SERVICE_NAME, "ListSchedules"),
        token,
        &request,
    )
    .await?;
    let rows = page
        .schedules
        .iter()
        .map(|s| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.product_name),
                esc(&s.task_name),
                esc(&s.due_date)
            )
        })
        .collect();
    Ok(table(
        "Upcoming maintenance, soonest first",
        &["Product", "Task", "Due"],
        rows,
    ))
}

async fn feedback(c: &Console, token: &str, customer: &str) -> Result<String, Status> {
    let request = fb::ListSurveysRequest {
        customer_id: customer.into(),
        page_size: ROWS,
        ..Default::default()
    };
    let page: fb::ListSurveysResponse = call(
        &c.grpc,
        &path(fb::feedback_service_server::SERVICE_NAME, "ListSurveys"),
        token,
        &request,
    )
    .await?;
    let rows = page
        .surveys
        .iter()
        .map(|s| {
            let status = fb::SurveyStatus::try_from(s.status)
                .map_or(String::new(), |x| words(x.as_str_name(), "SURVEY_STATUS_"));
            let case =
                fb::CaseType::try_from(s.case_type).map_or(String::new(), |x| words(x.as_str_name(), "CASE_TYPE_"));
            let (csat, comment) = s.answer.as_ref().map_or(("—".to_owned(), String::new()), |a| {
                (a.csat.to_string(), a.comment.clone())
            });
            format!(
                "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&case),
                esc(&s.case_id),
                esc(&status),
                esc(&csat),
                esc(&comment)
            )
        })
        .collect();
    Ok(table("Latest surveys", &["Case", "Status", "CSAT", "Comment"], rows))
}

/// The whole page's body; every section is read at once.
pub async fn page(c: &Console, token: &str, customer: &str) -> String {
    let (o, r, k, p, m, f) = tokio::join!(
        orders(c, token, customer),
        returns(c, token, customer),
        claims(c, token, customer),
        points(c, token, customer),
        maintenance(c, token, customer),
        feedback(c, token, customer),
    );
    [
        section("orders", "Orders", o),
        section("returns", "Returns", r),
        section("claims", "Claims", k),
        section("points", "Points", p),
        section("maintenance", "Maintenance", m),
        section("feedback", "Feedback", f),
    ]
    .concat()
}
