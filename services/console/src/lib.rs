//! The staff console at `/console` on the HTTP listener: pages rendered on
//! the server as plain HTML forms (no script, every asset served here),
//! each action the very RPC the gRPC port serves, called in process with
//! the signed-in staff member's token.
//!
//! - [`session`] — signing in with a staff token, the cookie, CSRF;
//! - [`html`] — escaping and the page layout;
//! - [`rpc`] — calls through the gRPC stack, and their errors in words;
//! - [`returns`] — the review queue, a return's page and its actions.

pub mod html;
pub mod returns;
pub mod rpc;
pub mod session;

use std::sync::Arc;

use aftercare_gateway::Grpc;
use aftercare_platform::auth::Authenticator;
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
}

impl Console {
    pub fn new(grpc: Grpc, auth: Arc<Authenticator>) -> Console {
        Console { grpc, auth }
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
    match session::from_request(&console.auth, &headers) {
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
        return html(
            StatusCode::FORBIDDEN,
            sign_in_page(Some("This form must be sent from the console itself.")),
        );
    }
    let form = Form::parse(&body);
    let token = form.get("token").trim();
    if session::staff(&console.auth, token).is_none() {
        let page = sign_in_page(Some(
            "This token does not sign in here: the console is for support staff (agent or admin tokens).",
        ));
        return html(StatusCode::FORBIDDEN, page);
    }
    let mut response = see_other("/console/returns");
    if let Some(cookie) = session::set_cookie(token) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn sign_out(State(console): State<Arc<Console>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = checked(&console, &headers, &body) {
        return *refused;
    }
    let mut response = see_other("/console");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    response
}

/// The session of a form post that came from the console's own page.
fn checked(console: &Console, headers: &HeaderMap, body: &[u8]) -> Result<(Session, Form), Box<Response>> {
    let forbidden = |why: &str| Box::new(html(StatusCode::FORBIDDEN, page("Refused", None, &html::alert(why))));
    let Some(session) = session::from_request(&console.auth, headers) else {
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

async fn return_queue(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(s) = session::from_request(&console.auth, &headers) else {
        return see_other("/console");
    };
    let body = match returns::queue(&console, &s.token).await {
        Ok(body) => body,
        Err(status) => html::alert(&rpc::words(&status)),
    };
    html(StatusCode::OK, page("Returns to review", Some(&staff(&s)), &body))
}

async fn return_page(State(console): State<Arc<Console>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(s) = session::from_request(&console.auth, &headers) else {
        return see_other("/console");
    };
    match returns::get(&console, &s.token, &id).await {
        Ok(r) => html(
            StatusCode::OK,
            page(
                &format!("Return {}", r.return_id),
                Some(&staff(&s)),
                &returns::detail(&r, &s.csrf, None),
            ),
        ),
        Err(status) => html(
            StatusCode::NOT_FOUND,
            page("Return", Some(&staff(&s)), &html::alert(&rpc::words(&status))),
        ),
    }
}

async fn return_action(
    State(console): State<Arc<Console>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (s, form) = match checked(&console, &headers, &body) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    match returns::act(&console, &s.token, &id, &action, &form).await {
        // Post, redirect, get: a reload does not post again.
        Ok(()) => see_other(&format!("/console/returns/{}", urlencode(&id))),
        Err(status) => {
            let error = returns::failure(&status);
            match returns::get(&console, &s.token, &id).await {
                Ok(r) => html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    page(
                        &format!("Return {}", r.return_id),
                        Some(&staff(&s)),
                        &returns::detail(&r, &s.csrf, Some(&error)),
                    ),
                ),
                Err(_) => html(
                    StatusCode::NOT_FOUND,
                    page("Return", Some(&staff(&s)), &html::alert(&error)),
                ),
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
