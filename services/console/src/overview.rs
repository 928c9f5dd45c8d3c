//! The service overview as charts: response times by channel, the CSAT
//! trend and the top return reasons, drawn on the server as SVG (no
//! script), each with its figures as a table for screen readers.

use std::fmt::Write;

use aftercare_platform::wire::timestamp;
use aftercare_proto::common::Channel;
use aftercare_proto::{feedback as fb, insight as ins};
use chrono::{DateTime, Duration, Utc};
use tonic::Status;

use crate::Console;
use crate::html::esc;
use crate::rpc::{call, path};

/// One bar: its label and value.
type Bar = (String, f64);

/// Labels longer than this are cut (the whole label is in the table).
const LABEL: usize = 34;

fn short(label: &str) -> String {
    match label.char_indices().nth(LABEL) {
        Some((at, _)) => format!("{}…", &label[..at]),
        None => label.to_owned(),
    }
}

/// A value as the chart writes it: counts whole, the rest with two decimals.
fn figure(value: f64, unit: &str) -> String {
    if unit == "units" {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A horizontal bar chart with its title, and the same figures as a table.
fn chart(id: &str, title: &str, unit: &str, bars: &[Bar]) -> String {
    let mut b = format!(
        "<figure aria-labelledby=\"{id}-caption\"><figcaption id=\"{id}-caption\">{}</figcaption>",
        esc(title)
    );
    if bars.is_empty() {
        b.push_str("<p>Nothing to show for this period.</p></figure>");
        return b;
    }
    let max = bars
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let height = 28 * bars.len() + 8;
    let _ = write!(
        b,
        "<svg id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title\" viewBox=\"0 0 640 {height}\" width=\"100%\">\
         <title id=\"{id}-title\">{}</title>",
        esc(title)
    );
    for (n, (label, value)) in bars.iter().enumerate() {
        let y = 4 + 28 * n;
        let width = (value / max * 270.0).max(1.0);
        let _ = write!(
            b,
            "<text x=\"0\" y=\"{}\" font-size=\"13\" fill=\"#1b1b1b\">{}</text>\
             <rect x=\"250\" y=\"{y}\" width=\"{width:.1}\" height=\"20\" fill=\"#12355b\"></rect>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"13\" fill=\"#1b1b1b\">{} {}</text>",
            y + 15,
            esc(&short(label)),
            256.0 + width,
            y + 15,
            figure(*value, unit),
            esc(unit)
        );
    }
    b.push_str("</svg>");
    let _ = write!(
        b,
        "<details><summary>The figures</summary><table><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">{}</th></tr></thead><tbody>",
        esc(unit)
    );
    for (label, value) in bars {
        let _ = write!(b, "<tr><td>{}</td><td>{}</td></tr>", esc(label), figure(*value, unit));
    }
    b.push_str("</tbody></table></details></figure>");
    b
}

fn channel_name(value: i32) -> String {
    match Channel::try_from(value) {
        Ok(Channel::Unspecified) | Err(_) => "every channel".into(),
        Ok(c) => crate::html::words(c.as_str_name(), "CHANNEL_"),
    }
}

/// First-response times in seconds, the median and the 90th percentile
/// per channel.
fn response_bars(kind: &str, times: &Option<ins::CaseTimes>) -> Vec<Bar> {
    let mut bars = Vec::new();
    for t in times.iter().flat_map(|t| &t.by_channel) {
        let Some(p) = t.first_response.filter(|p| p.count > 0) else {
            continue;
        };
        let channel = channel_name(t.channel);
        bars.push((format!("{kind}, {channel}, median"), p.p50_seconds as f64));
        bars.push((format!("{kind}, {channel}, 90th"), p.p90_seconds as f64));
    }
    bars
}

/// Durations in the unit that reads best for the largest of them.
fn in_a_readable_unit(bars: Vec<Bar>) -> (Vec<Bar>, &'static str) {
    let max = bars.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let (divisor, unit) = match max {
        m if m < 120.0 => (1.0, "seconds"),
        m if m < 7200.0 => (60.0, "minutes"),
        _ => (3600.0, "hours"),
    };
    (bars.into_iter().map(|(l, v)| (l, v / divisor)).collect(), unit)
}

/// The overview of the `days` before `now`.
pub async fn page(console: &Console, token: &str, now: DateTime<Utc>, days: i64) -> Result<String, Status> {
    // Up to this very second: what happened just now counts.
    let end = now + Duration::seconds(1);
    let (from, to) = (Some(timestamp(end - Duration::days(days))), Some(timestamp(end)));
    let overview_request = ins::GetServiceOverviewRequest { from, to };
    let summary_request = fb::GetFeedbackSummaryRequest {
        from,
        to,
        ..Default::default()
    };
    let insight = path(ins::insight_service_server::SERVICE_NAME, "GetServiceOverview");
    let feedback = path(fb::feedback_service_server::SERVICE_NAME, "GetFeedbackSummary");
    let (overview, summary) = tokio::join!(
        call::<_, ins::ServiceOverview>(&console.grpc, &insight, token, &overview_request),
        call::<_, fb::FeedbackSummary>(&console.grpc, &feedback, token, &summary_request),
    );
    let mut b = format!(
        "<p>The last {days} days. <a href=\"/console/overview?days=7\">7 days</a> · \
         <a href=\"/console/overview?days=30\">30 days</a> · <a href=\"/console/overview?days=90\">90 days</a></p>"
    );
    // Each service's part stands alone: one that fails, or is not run by
    // this deployment, leaves the other's.
    match overview {
        Ok(o) => b.push_str(&insight_part(&o)),
        Err(status) => b.push_str(&unreadable("The service overview", &status)),
    }
    match summary {
        Ok(s) => {
            // A week whose surveys got no answer has no CSAT, not 0 %.
            let trend: Vec<Bar> = s
                .weeks
                .iter()
                .filter(|w| w.answers > 0)
                .map(|w| (format!("Week of {}", w.week), w.csat_percent.parse().unwrap_or(0.0)))
                .collect();
            b.push_str(&chart("csat-trend", "CSAT by week (share of 4 and 5)", "%", &trend));
        }
        Err(status) => b.push_str(&unreadable("The CSAT trend", &status)),
    }
    Ok(b)
}

fn unreadable(what: &str, status: &Status) -> String {
    crate::html::alert(&format!("{what} could not be read. {}", crate::rpc::words(status)))
}

fn insight_part(o: &ins::ServiceOverview) -> String {
    let mut b = format!(
        "<dl><dt>CSAT</dt><dd id=\"csat\">{}%</dd><dt>NPS</dt><dd id=\"nps\">{}</dd><dt>Answers</dt><dd>{}</dd>\
         <dt>Claim targets breached</dt><dd>{} first response, {} resolution</dd><dt>Follow-ups breached</dt><dd>{}</dd></dl>",
        esc(&o.csat_percent),
        esc(&o.nps),
        o.survey_answers,
        o.claim_first_response_breaches,
        o.claim_resolution_breaches,
        o.follow_up_breaches,
    );
    let mut responses = response_bars("Returns", &o.returns);
    responses.extend(response_bars("Claims", &o.claims));
    let (responses, unit) = in_a_readable_unit(responses);
    b.push_str(&chart(
        "first-response",
        &format!("First response, {unit}"),
        unit,
        &responses,
    ));
    let mut reasons: Vec<Bar> = Vec::new();
    for c in &o.returns_by_category {
        for r in &c.top_reasons {
            reasons.push((
                format!("{}: {}", c.category, r.reason.replace('_', " ")),
                r.units as f64,
            ));
        }
    }
    reasons.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    reasons.truncate(10);
    b.push_str(&chart("return-reasons", "Return reasons, units", "units", &reasons));
    b
}
