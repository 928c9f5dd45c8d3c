//! HTML written by hand, escaped in one place: every value that came from
//! a request or a service goes through [`esc`] (or [`attr`]) on its way
//! into a page. The layout gives every page the same landmarks: a skip
//! link, the navigation, one `main`, one `h1`.

use std::fmt::Write;

use aftercare_proto::common::Money;

/// Text for an element's content.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Text for a quoted attribute value (the same escaping: quotes included).
pub fn attr(s: &str) -> String {
    esc(s)
}

pub fn money(m: &Option<Money>) -> String {
    match m {
        Some(m) => format!("{} {}", esc(&m.amount), esc(&m.currency_code)),
        None => "—".into(),
    }
}

pub fn time(ts: &Option<prost_types::Timestamp>) -> String {
    match ts.as_ref().and_then(aftercare_platform::wire::from_timestamp) {
        Some(t) => format!(
            "<time datetime=\"{}\">{}</time>",
            t.to_rfc3339(),
            t.format("%Y-%m-%d %H:%M UTC")
        ),
        None => "—".into(),
    }
}

/// An enum value's name as people read it: `RETURN_STATUS_IN_TRANSIT`
/// with its prefix `RETURN_STATUS_` is "in transit".
pub fn words(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix)
        .unwrap_or(name)
        .replace('_', " ")
        .to_lowercase()
}

/// Who is signed in, for the header.
pub struct Staff<'a> {
    pub role: &'a str,
    pub subject: &'a str,
    pub csrf: &'a str,
}

/// A whole page.
pub fn page(title: &str, staff: Option<&Staff>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · aftercare console</title>\
         <link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a><header>",
        esc(title)
    );
    if let Some(s) = staff {
        let _ = write!(
            out,
            "<nav aria-label=\"Console\"><ul>\
             <li><a href=\"/console/returns\">Returns to review</a></li>\
             <li><a href=\"/console/claims\">Claims</a></li>\
             <li><a href=\"/console/follow-ups\">Follow-ups</a></li>\
             <li><a href=\"/console/overview\">Overview</a></li>{}\
             </ul></nav>\
             <form method=\"post\" action=\"/console/session/end\" class=\"signout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <span>{} <strong>{}</strong></span> <button type=\"submit\">Sign out</button></form>",
            if s.role == "admin" {
                "<li><a href=\"/console/dead-letters\">Dead letters</a></li>"
            } else {
                ""
            },
            attr(s.csrf),
            esc(s.role),
            esc(s.subject)
        );
    }
    let _ = write!(
        out,
        "</header><main id=\"main\"><h1>{}</h1>{}</main></body></html>",
        esc(title),
        body
    );
    out
}

/// One action's form on a case's page (`{base}/{id}/{action}`), with the
/// session's CSRF value and a fresh request id (so a double click does the
/// action once where the RPC is idempotent).
pub fn action_form(base: &str, id: &str, action: &str, csrf: &str, legend: &str, fields: &str, button: &str) -> String {
    format!(
        "<form class=\"action\" method=\"post\" action=\"{base}/{}/{action}\"><fieldset><legend>{legend}</legend>\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"request_id\" value=\"{}\">{fields}\
         <button type=\"submit\" id=\"do-{action}\">{button}</button></fieldset></form>",
        attr(&crate::urlencode(id)),
        attr(csrf),
        uuid::Uuid::now_v7(),
    )
}

/// An error in words, announced to screen readers.
pub fn alert(message: &str) -> String {
    format!("<p class=\"alert\" role=\"alert\">{}</p>", esc(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_text() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(words("RETURN_STATUS_IN_TRANSIT", "RETURN_STATUS_"), "in transit");
        let p = page("<b>", None, "");
        assert!(p.contains("<h1>&lt;b&gt;</h1>") && p.contains("<main id=\"main\">"));
    }
}
