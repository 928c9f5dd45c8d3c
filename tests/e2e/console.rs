//! The staff console over real HTTP: signing in (staff tokens only, the
//! cookie's attributes), forms refused from another site or without their
//! CSRF value, actions that are the RPCs (approve, note, receive, refund),
//! errors in words, and values shown as text.

use aftercare_platform::auth::Role;
use aftercare_proto::orders::RecordDeliveryRequest;
use aftercare_proto::returns::{GetReturnRequest, Return, ReturnStatus};
use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::fixtures::{order, ts};
use crate::returns::{create, refund_item};
use crate::support::{TestApp, start_time};

pub(crate) struct Page {
    pub(crate) status: StatusCode,
    headers: http::HeaderMap,
    pub(crate) body: String,
}

impl Page {
    /// Where a redirect sends the browser.
    pub(crate) fn headers_location(&self) -> &str {
        self.headers["location"].to_str().unwrap()
    }
}

pub(crate) async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
    origin: Option<&str>,
) -> Page {
    let headers: Vec<(&str, &str)> = origin.map(|o| ("origin", o)).into_iter().collect();
    send_with(app, method, path, cookie, form, &headers).await
}

async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
    headers: &[(&str, &str)],
) -> Page {
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", app.http_addr));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match form {
        Some(fields) => {
            request = request.header("content-type", "application/x-www-form-urlencoded");
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(fields)
                .finish()
        }
        None => String::new(),
    };
    let client = Client::builder(TokioExecutor::new()).build_http();
    let response = client
        .request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Page { status, headers, body }
}

/// Signs in with `token`; the cookie to send back.
pub(crate) async fn sign_in(app: &TestApp, token: &str) -> String {
    let page = send(
        app,
        Method::POST,
        "/console/session",
        None,
        Some(&[("token", token)]),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let cookie = page.headers["set-cookie"].to_str().unwrap().to_owned();
    cookie.split(';').next().unwrap().to_owned()
}

/// The CSRF value the page's forms carry.
fn csrf(page: &Page) -> String {
    let at = page.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
    page.body[at..].split('"').next().unwrap().to_owned()
}

/// c-1's order o-1, delivered now, known to every service.
pub(crate) async fn delivered(app: &TestApp) {
    let mut storefront = app.storefront();
    storefront.record_order(order("o-1", "c-1")).await.unwrap();
    storefront
        .record_delivery(RecordDeliveryRequest {
            order_id: "o-1".into(),
            delivered_at: ts(start_time()),
            line_ids: vec![],
        })
        .await
        .unwrap();
    app.settle().await;
}

/// A requested return of c-1's.
async fn requested(app: &TestApp) -> String {
    delivered(app).await;
    app.returns(Role::Customer, "c-1")
        .create_return(create("o-1", vec![refund_item("L1", 1)]))
        .await
        .unwrap()
        .into_inner()
        .return_id
}

async fn as_customer(app: &TestApp, id: &str) -> Return {
    app.returns(Role::Customer, "c-1")
        .get_return(GetReturnRequest { return_id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn only_staff_sign_in_and_the_cookie_stays_with_the_console() {
    let app = TestApp::spawn().await;
    let form = send(&app, Method::GET, "/console", None, None, None).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("<label for=\"token\">"), "a labelled field");
    assert_eq!(form.headers["x-content-type-options"], "nosniff");
    assert!(
        form.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    for role in [Role::Customer, Role::Service, Role::Partner] {
        let refused = send(
            &app,
            Method::POST,
            "/console/session",
            None,
            Some(&[("token", &app.token(role, "c-1"))]),
            None,
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role}");
        assert!(refused.headers.get("set-cookie").is_none());
        assert!(refused.body.contains("for support staff"));
    }
    let forged = send(
        &app,
        Method::POST,
        "/console/session",
        None,
        Some(&[("token", "not.a.jwt")]),
        None,
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A customer's token set as the cookie by hand opens nothing either.
    let customer = format!("aftercare_console={}", app.token(Role::Customer, "c-1"));
    let page = send(&app, Method::GET, "/console/returns", Some(&customer), None, None).await;
    assert_eq!(
        (page.status, page.headers["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/console")
    );

    let token = app.token(Role::Agent, "agent-1");
    let page = send(
        &app,
        Method::POST,
        "/console/session",
        None,
        Some(&[("token", &token)]),
        None,
    )
    .await;
    let cookie = page.headers["set-cookie"].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // Signing in from another site's form is refused (login CSRF).
    let elsewhere = send(
        &app,
        Method::POST,
        "/console/session",
        None,
        Some(&[("token", &token)]),
        Some("http://evil.test"),
    )
    .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_agent_approves_notes_receives_and_refunds_through_the_rpcs() {
    let app = TestApp::spawn().await;
    let id = requested(&app).await;
    let cookie = sign_in(&app, &app.token(Role::Agent, "agent-1")).await;
    let queue = send(&app, Method::GET, "/console/returns", Some(&cookie), None, None).await;
    assert!(
        queue.body.contains(&format!("href=\"/console/returns/{id}\"")),
        "{}",
        queue.body
    );
    let path = format!("/console/returns/{id}");
    let page = send(&app, Method::GET, &path, Some(&cookie), None, None).await;
    let token = csrf(&page);

    // Not from another site, and not without the page's CSRF value.
    let approve = format!("{path}/approve");
    let cross = send(
        &app,
        Method::POST,
        &approve,
        Some(&cookie),
        Some(&[("csrf", &token)]),
        Some("http://evil.test"),
    )
    .await;
    let stale = send(
        &app,
        Method::POST,
        &approve,
        Some(&cookie),
        Some(&[("csrf", "guess")]),
        None,
    )
    .await;
    // A browser saying the post started on another site, with the page's
    // own CSRF value: refused all the same.
    let sent_from_elsewhere = send_with(
        &app,
        Method::POST,
        &approve,
        Some(&cookie),
        Some(&[("csrf", &token)]),
        &[("sec-fetch-site", "cross-site")],
    )
    .await;
    for refused in [cross, stale, sent_from_elsewhere] {
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        as_customer(&app, &id).await.status,
        ReturnStatus::Requested as i32,
        "nothing done"
    );

    let own = Some(format!("http://{}", app.http_addr));
    let post = async |action: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", token.as_str()), ("request_id", "r-1")];
        all.extend_from_slice(fields);
        send(
            &app,
            Method::POST,
            &format!("{path}/{action}"),
            Some(&cookie),
            Some(&all),
            own.as_deref(),
        )
        .await
    };
    assert_eq!(post("approve", &[]).await.status, StatusCode::SEE_OTHER);
    let marker = "<script>alert('kept')</script> the box was open";
    assert_eq!(
        post("message", &[("text", marker), ("internal", "on")]).await.status,
        StatusCode::SEE_OTHER
    );
    let page = send(&app, Method::GET, &path, Some(&cookie), None, None).await;
    assert!(page.body.contains("<dd id=\"status\">approved</dd>"));
    let note = page
        .body
        .split("<li class=\"internal\">")
        .skip(1)
        .find(|entry| entry.split("</li>").next().unwrap().contains("the box was open"));
    assert!(note.is_some(), "the note is marked internal: {}", page.body);
    assert!(
        page.body.contains("&lt;script&gt;alert(&#39;kept&#39;)&lt;/script&gt;"),
        "shown as text"
    );
    assert!(!page.body.contains("<script>"));
    let customer_view = as_customer(&app, &id).await;
    assert!(
        customer_view
            .timeline
            .iter()
            .all(|e| !e.text.contains("the box was open")),
        "an internal note never reaches the customer"
    );

    // The customer sends it; receive and refund; a refused step says why
    // in words.
    crate::returns::ship(&app, &id).await;
    let ungraded = post("receive", &[("qty:L1", "1"), ("grade:L1", "")]).await;
    assert_eq!(
        ungraded.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a grade is chosen, never assumed"
    );
    let bad = post("receive", &[("qty:L1", "5"), ("grade:L1", "1")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("role=\"alert\""), "{}", bad.body);
    let received = post("receive", &[("qty:L1", "1"), ("grade:L1", "1")]).await;
    assert_eq!(received.status, StatusCode::SEE_OTHER, "{}", received.body);
    assert_eq!(post("refund", &[]).await.status, StatusCode::SEE_OTHER);
    let r = as_customer(&app, &id).await;
    assert_eq!(r.status, ReturnStatus::Received as i32);
    assert!(r.refund.is_some(), "a refund issued through IssueRefund");
    // The same form again (a double click) issues nothing more.
    let again = post("refund", &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM returns.refunds").await,
        1,
        "one refund, whatever is clicked twice"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_stale_forms_are_refused() {
    let app = TestApp::spawn().await;
    let cookie = sign_in(&app, &app.token(Role::Admin, "admin-1")).await;
    let page = send(&app, Method::GET, "/console/returns", Some(&cookie), None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let out = send(
        &app,
        Method::POST,
        "/console/session/end",
        Some(&cookie),
        Some(&[("csrf", &csrf(&page))]),
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // The old cookie is worth nothing now: the session is gone.
    let replayed = send(&app, Method::GET, "/console/returns", Some(&cookie), None, None).await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER, "signed out for good");
    let anonymous = send(
        &app,
        Method::POST,
        "/console/returns/x/approve",
        None,
        Some(&[("csrf", "x")]),
        None,
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_page_offers_only_what_its_reader_may_do() {
    let app = TestApp::spawn().await;
    let id = requested(&app).await;
    let path = format!("/console/returns/{id}");
    let agent = sign_in(&app, &app.token(Role::Agent, "agent-1")).await;
    let admin = sign_in(&app, &app.token(Role::Admin, "admin-1")).await;
    let as_agent = send(&app, Method::GET, &path, Some(&agent), None, None).await;
    assert!(as_agent.body.contains("id=\"do-approve\"") && as_agent.body.contains("id=\"do-message\""));
    // Approving, rejecting and messages are agents' (the returns service's
    // role table): an admin reads the return and is offered none of them.
    let as_admin = send(&app, Method::GET, &path, Some(&admin), None, None).await;
    assert_eq!(as_admin.status, StatusCode::OK);
    for form in ["do-approve", "do-reject", "do-message"] {
        assert!(!as_admin.body.contains(&format!("id=\"{form}\"")), "{form}");
    }
    assert!(as_admin.body.contains("Nothing for you to do"));
    // Two console cookies (one planted by another page of the site) open nothing.
    let both = format!("{agent}; {admin}");
    let page = send(&app, Method::GET, "/console/returns", Some(&both), None, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}
