//! The staff console at `/console` on the HTTP listener: pages rendered on
//! the server as plain HTML forms (no script, every asset served here),
//! each action the very RPC the gRPC port serves, called in process with
//! the signed-in staff member's token.
//!
//! - [`session`] — signing in with a staff token, the cookie, CSRF;
//! - [`html`] — escaping and the page layout;
//! - [`rpc`] — calls through the gRPC stack, and their errors in words;
//! - [`returns`] — the review queue, a return's page and its actions;
//! - [`queues`] — claims by time to their target, follow-ups, dead
//!   letters; [`claims`] — a claim's page and its actions;
//! - [`customer`] — everything about one customer, a section a service;
//! - [`overview`] — the service overview as SVG charts.

pub mod claims;
pub mod customer;
pub mod html;
pub mod overview;
pub mod queues;
pub mod returns;
pub mod rpc;
pub mod session;

use std::collections::HashMap;
use std::sync::Arc;

use aftercare_gateway::Grpc;
use aftercare_platform::auth::{Authenticator, Role};
use aftercare_platform::clock::SharedClock;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::html::{Staff, page};
use crate::session::Session;

/// The console's one stylesheet.
const CSS: &str = include_str!("../assets/console.css");

pub struct Console {
    grpc: Grpc,
    auth: Arc<Authenticator>,
    pool: sqlx::PgPool,
    clock: SharedClock,
    /// Who may call each served RPC (`/package.Service/Method`): a page
    /// offers only the actions its reader may take.
    roles: HashMap<String, &'static [Role]>,
}

impl Console {
    pub fn new(
        grpc: Grpc,
        auth: Arc<Authenticator>,
        pool: sqlx::PgPool,
        clock: SharedClock,
        roles: HashMap<String, &'static [Role]>,
    ) -> Console {
        Console {
            grpc,
            auth,
            pool,
            clock,
            roles,
        }
    }

    /// Whether `role` may call `method` of `service`.
    pub fn may(&self, role: Role, service: &str, method: &str) -> bool {
        self.roles
            .get(&format!("/{service}/{method}"))
            .is_some_and(|roles| roles.contains(&role))
    }

    async fn session(&self, headers: &HeaderMap) -> Option<Session> {
        session::from_request(&self.pool, &self.auth, headers, self.clock.now()).await
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/console", get(home))
            .route("/console/", get(home))
            .route("/console/assets/console.css", get(css))
            .route("/console/session", post(sign_in))
            .route("/console/session/end", post(sign_out))
            .route("/console/returns", get(return_queue))
            .route("/console/returns/{id}", get(return_page))
            .route("/console/returns/{id}/{action}", post(return_action))
            .route("/console/claims", get(claim_queue))
            .route("/console/claims/{id}", get(claim_page))
            .route("/console/claims/{id}/{action}", post(claim_action))
            .route("/console/follow-ups", get(follow_up_queue))
            .route("/console/customers/{id}", get(customer_page))
            .route("/console/overview", get(overview_page))
            .route("/console/dead-letters", get(dead_letter_page))
            .route("/console/dead-letters/replay", post(dead_letter_replay))
            .with_state(Arc::new(self))
    }
}

/// A form's fields, decoded.
pub struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Every answer: no framing by other sites, no script but our own (there
/// is none), nothing sniffed, nothing cached, referrers to this site only (a
/// stricter policy would make browsers send `Origin: null` on our own forms).
fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn html(status: StatusCode, body: String) -> Response {
    respond(status, "text/html; charset=utf-8", body)
}

fn see_other(to: &str) -> Response {
    let mut response = respond(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", String::new());
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn staff(s: &Session) -> Staff<'_> {
    Staff {
        role: s.caller.role.as_str(),
        subject: &s.caller.subject,
        csrf: &s.csrf,
    }
}

fn sign_in_page(error: Option<&str>) -> String {
    let mut body = error.map(html::alert).unwrap_or_default();
    body.push_str(
        "<form class=\"action\" method=\"post\" action=\"/console/session\">\
         <label for=\"token\">Staff token (agent or admin)</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"off\" required size=\"60\">\
         <p><button type=\"submit\" id=\"sign-in\">Sign in</button></p></form>",
    );
    page("Sign in", None, &body)
}

async fn home(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    match console.session(&headers).await {
        Some(_) => see_other("/console/returns"),
        None => html(StatusCode::OK, sign_in_page(None)),
    }
}

async fn css() -> Response {
    respond(StatusCode::OK, "text/css; charset=utf-8", CSS.to_owned())
}

async fn sign_in(State(console): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    // A sign-in forced by another site would act as its staff member.
    if !session::same_origin(&headers) {
        let page = sign_in_page(Some("This form must be sent from the console itself."));
        return html(StatusCode::FORBIDDEN, page);
    }
    let form = Form::parse(&body);
    let token = form.get("token").trim();
    if session::staff(&console.auth, token).is_none() {
        let why = "This token does not sign in here: the console is for support staff (agent or admin tokens).";
        return html(StatusCode::FORBIDDEN, sign_in_page(Some(why)));
    }
    let id = match session::open(&console.pool, token, console.clock.now()).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, "a console session could not be opened");
            let page = sign_in_page(Some("Signing in failed on our side; try again."));
            return html(StatusCode::SERVICE_UNAVAILABLE, page);
        }
    };
    let mut response = see_other("/console/returns");
    if let Some(cookie) = session::set_cookie(&id, &headers) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn sign_out(State(console): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let s = match checked(&console, &headers, &body).await {
        Ok((s, _)) => s,
        Err(refused) => return *refused,
    };
    if let Err(e) = session::end(&console.pool, &s.id).await {
        tracing::error!(error = %e, "a console session could not be ended");
    }
    let mut response = see_other("/console");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    response
}

/// The session of a form post that came from the console's own page.
async fn checked(console: &Console, headers: &HeaderMap, body: &[u8]) -> Result<(Session, Form), Box<Response>> {
    let forbidden = |why: &str| Box::new(html(StatusCode::FORBIDDEN, page("Refused", None, &html::alert(why))));
    let Some(session) = console.session(headers).await else {
        return Err(forbidden("Sign in first."));
    };
    if !session::same_origin(headers) {
        return Err(forbidden("This form must be sent from the console itself."));
    }
    let form = Form::parse(body);
    if form.get("csrf") != session.csrf {
        return Err(forbidden("This form is out of date: open the page again."));
    }
    Ok((session, form))
}

/// A failed call in words; a server fault is logged here too.
fn failure(status: &tonic::Status) -> String {
    if aftercare_gateway::is_server_fault(status.code()) {
        tracing::error!(code = ?status.code(), error = %status.message(), "a console call failed");
    }
    html::alert(&rpc::words(status))
}

fn http_status(status: &tonic::Status) -> StatusCode {
    use tonic::Code::*;
    match status.code() {
        NotFound => StatusCode::NOT_FOUND,
        PermissionDenied => StatusCode::FORBIDDEN,
        Unavailable | DeadlineExceeded | ResourceExhausted => StatusCode::SERVICE_UNAVAILABLE,
        InvalidArgument | FailedPrecondition | Aborted | AlreadyExists | OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

async fn return_queue(State(console): State<Arc<Console>>, uri: http::Uri, headers: HeaderMap) -> Response {
    let Some(s) = console.session(&headers).await else {
        return see_other("/console");
    };
    let query = Form::parse(uri.query().unwrap_or_default().as_bytes());
    let body = match returns::queue(&console, &s.token, query.get("page")).await {
        Ok(body) => body,
        Err(status) => failure(&status),
    };
    html(StatusCode::OK, page("Returns to review", Some(&staff(&s)), &body))
}

async fn return_page(State(console): State<Arc<Console>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(s) = console.session(&headers).await else {
        return see_other("/console");
    };
    match returns::get(&console, &s.token, &id).await {
        Ok(r) => {
            let body = returns::detail(&console, &r, &s, None);
            html(
                StatusCode::OK,
                page(&format!("Return {}", r.return_id), Some(&staff(&s)), &body),
            )
        }
        Err(status) => html(
            http_status(&status),
            page("Return", Some(&staff(&s)), &failure(&status)),
        ),
    }
}

async fn return_action(
    State(console): State<Arc<Console>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, form) = match checked(&console, &headers, &body).await {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let outcome = returns::act(&console, &s.token, &id, &action, &form).await;
    let shown = async || returns::get(&console, &s.token, &id).await;
    let detail = |r: &aftercare_proto::returns::Return, e: Option<&str>| returns::detail(&console, r, &s, e);
    after_action(&s, outcome, ("/console/returns", "Return", &id), shown, detail).await
}

/// After a case's action: back to its page when the action was done (post,
/// redirect, get: a reload does not post again), or the page again with
/// the action's error in words.
async fn after_action<T, Shown, Fut>(
    s: &Session,
    outcome: Result<(), tonic::Status>,
    (base, what, id): (&str, &str, &str),
    shown: Shown,
    detail: impl Fn(&T, Option<&str>) -> String,
) -> Response
where
    Shown: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, tonic::Status>>,
{
    let status = match outcome {
        Ok(()) => return see_other(&format!("{base}/{}", urlencode(id))),
        Err(status) => status,
    };
    let error = failure(&status);
    let title = format!("{what} {id}");
    let body = match shown().await {
        Ok(case) => detail(&case, Some(&error)),
        Err(_) => error,
    };
    html(http_status(&status), page(&title, Some(&staff(s)), &body))
}

/// A value in a URL's path segment or query: every byte but letters,
/// digits and `-._~` percent-encoded (a space is `%20`, never `+`).
pub fn urlencode(s: &str) -> String {
    const SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SAFE).to_string()
}

/// A page read with the session's token: its body, or the call's error.
async fn read_page<F, Fut>(console: Arc<Console>, headers: &HeaderMap, title: &str, body: F) -> Response
where
    F: FnOnce(Arc<Console>, Session) -> Fut,
    Fut: std::future::Future<Output = (Session, Result<String, tonic::Status>)>,
{
    let Some(s) = console.session(headers).await else {
        return see_other("/console");
    };
    let (s, result) = body(console, s).await;
    match result {
        Ok(body) => html(StatusCode::OK, page(title, Some(&staff(&s)), &body)),
        Err(status) => html(http_status(&status), page(title, Some(&staff(&s)), &failure(&status))),
    }
}

fn query(uri: &http::Uri) -> Form {
    Form::parse(uri.query().unwrap_or_default().as_bytes())
}

async fn claim_queue(State(console): State<Arc<Console>>, uri: http::Uri, headers: HeaderMap) -> Response {
    let token = query(&uri).get("page").to_owned();
    read_page(
        console,
        &headers,
        "Claims by time to their target",
        async move |c, s| {
            let body = queues::claims(&c, &s.token, &token).await;
            (s, body)
        },
    )
    .await
}

async fn follow_up_queue(State(console): State<Arc<Console>>, uri: http::Uri, headers: HeaderMap) -> Response {
    let token = query(&uri).get("page").to_owned();
    read_page(console, &headers, "Follow-ups of unhappy answers", async move |c, s| {
        let body = queues::follow_ups(&c, &s.token, &token).await;
        (s, body)
    })
    .await
}

async fn customer_page(State(console): State<Arc<Console>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let title = format!("Customer {id}");
    read_page(console, &headers, &title, async move |c, s| {
        let body = customer::page(&c, &s.token, &id).await;
        (s, Ok(body))
    })
    .await
}

async fn overview_page(State(console): State<Arc<Console>>, uri: http::Uri, headers: HeaderMap) -> Response {
    let days = query(&uri).get("days").parse::<i64>().unwrap_or(30).clamp(1, 366);
    read_page(console, &headers, "Service overview", async move |c, s| {
        let body = overview::page(&c, &s.token, c.clock.now(), days).await;
        (s, body)
    })
    .await
}

async fn dead_letter_page(State(console): State<Arc<Console>>, uri: http::Uri, headers: HeaderMap) -> Response {
    // What the last replay did, said after its redirect.
    let queued = query(&uri).get("queued").parse::<i64>().ok();
    read_page(console, &headers, "Dead-lettered events", async move |c, s| {
        let body = queues::dead_letters(&c, &s.token, &s.csrf)
            .await
            .map(|list| match queued {
                Some(n) => format!("<p role=\"status\">{n} queued again.</p>{list}"),
                None => list,
            });
        (s, body)
    })
    .await
}

async fn dead_letter_replay(State(console): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    let (s, form) = match checked(&console, &headers, &body).await {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    match queues::replay(&console, &s.token, form.get("consumer"), form.get("event_id")).await {
        Ok(queued) => see_other(&format!("/console/dead-letters?queued={queued}")),
        Err(status) => html(
            http_status(&status),
            page("Dead-lettered events", Some(&staff(&s)), &failure(&status)),
        ),
    }
}

async fn claim_page(State(console): State<Arc<Console>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(s) = console.session(&headers).await else {
        return see_other("/console");
    };
    match claims::get(&console, &s.token, &id).await {
        Ok(c) => {
            let body = claims::detail(&console, &c, &s, None);
            html(
                StatusCode::OK,
                page(&format!("Claim {}", c.claim_id), Some(&staff(&s)), &body),
            )
        }
        Err(status) => html(http_status(&status), page("Claim", Some(&staff(&s)), &failure(&status))),
    }
}

async fn claim_action(
    State(console): State<Arc<Console>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, form) = match checked(&console, &headers, &body).await {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    let outcome = claims::act(&console, &s.token, &id, &action, &form).await;
    let shown = async || claims::get(&console, &s.token, &id).await;
    let detail = |c: &aftercare_proto::warranty::Claim, e: Option<&str>| claims::detail(&console, c, &s, e);
    after_action(&s, outcome, ("/console/claims", "Claim", &id), shown, detail).await
}
