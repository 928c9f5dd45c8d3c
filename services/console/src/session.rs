//! Who is signed in, and whether a form came from the console itself.
//!
//! Signing in takes a staff token (agent or admin) and keeps it in a
//! cookie the page's scripts cannot read (`HttpOnly`), that no other site's
//! request carries (`SameSite=Strict`), and that only `/console` sees. Every
//! request checks the token again (its expiry and role included). Every
//! form that changes something carries a CSRF value derived from the
//! token, which another site cannot compute without reading the cookie,
//! and is refused when the browser says it came from another site
//! (`Sec-Fetch-Site`, `Origin`).

use aftercare_platform::auth::{Authenticator, Caller, Role};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "aftercare_console";

pub struct Session {
    pub token: String,
    pub caller: Caller,
    pub csrf: String,
}

/// The staff member a token names; `None` for a bad token or a caller who
/// is not staff (a customer, a storefront, a partner).
pub fn staff(auth: &Authenticator, token: &str) -> Option<Caller> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).ok()?,
    );
    let caller = auth.authenticate(&headers).ok()?;
    matches!(caller.role, Role::Agent | Role::Admin).then_some(caller)
}

/// The session of a request's cookie.
pub fn from_request(auth: &Authenticator, headers: &HeaderMap) -> Option<Session> {
    let token = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))?
        .to_owned();
    let caller = staff(auth, &token)?;
    Some(Session {
        csrf: csrf(&token),
        token,
        caller,
    })
}

/// The CSRF value of a session's forms.
pub fn csrf(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"aftercare.console.csrf\0")
        .chain_update(token.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(&digest[..18])
}

/// Whether a form post came from the console's own pages: what the browser
/// says of where the request started (sent by every current browser), and
/// its origin (when sent) naming this very host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site")
        && site != "same-origin"
    {
        return false;
    }
    match (value("origin"), value("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
    }
}

pub fn set_cookie(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict")).ok()
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("aftercare_console=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn forms_from_another_site_are_told_apart() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        for bad in [
            headers(&[("host", "127.0.0.1:8080"), ("origin", "http://evil.test")]),
            headers(&[("host", "127.0.0.1:8080"), ("origin", "null")]),
            headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "127.0.0.1:8080"), ("sec-fetch-site", "same-site")]),
            headers(&[("origin", "http://127.0.0.1:8080")]),
        ] {
            assert!(!same_origin(&bad), "{bad:?}");
        }
    }

    #[test]
    fn the_csrf_value_is_the_tokens_own() {
        assert_eq!(csrf("a"), csrf("a"));
        assert_ne!(csrf("a"), csrf("b"));
        assert_eq!(csrf("a").len(), 24);
    }
}
