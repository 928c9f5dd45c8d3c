//! Who is signed in, and whether a form came from the console itself.
//!
//! Signing in takes a staff token (agent or admin). The browser gets a
//! random session id in a cookie that page scripts cannot read
//! (`HttpOnly`), that no other site's request carries (`SameSite=Strict`),
//! that only `/console` sees, and that travels over TLS only when the
//! console is reached over TLS (`Secure`, from the proxy's
//! `X-Forwarded-Proto`). The token stays on the server, by the id's hash:
//! signing out deletes it, so a copied cookie stops working, and a session
//! ends after [`TTL`] in any case. Every request checks the token again
//! (its expiry and role included). Every form that changes something
//! carries a CSRF value derived from the session id, which another site
//! cannot compute, and is refused when the browser says it came from
//! elsewhere (`Sec-Fetch-Site`, `Origin`).

use aftercare_platform::auth::{Authenticator, Caller, Role};
use aftercare_platform::error::Error;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

pub const COOKIE: &str = "aftercare_console";
/// A session's longest life.
pub const TTL: Duration = Duration::hours(8);

pub struct Session {
    /// The cookie's value.
    pub id: String,
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

fn hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// Opens a session for a staff token; its id (the cookie's value).
pub async fn open(pool: &PgPool, token: &str, now: DateTime<Utc>) -> Result<String, Error> {
    let mut random = [0u8; 32];
    random[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    random[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    let id = URL_SAFE_NO_PAD.encode(random);
    sqlx::query("DELETE FROM console.sessions WHERE expires_at < $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO console.sessions (id_hash, token, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(hash(&id))
        .bind(token)
        .bind(now)
        .bind(now + TTL)
        .execute(pool)
        .await?;
    Ok(id)
}

pub async fn end(pool: &PgPool, id: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM console.sessions WHERE id_hash = $1")
        .bind(hash(id))
        .execute(pool)
        .await?;
    Ok(())
}

/// The session of a request's cookie: one console cookie exactly (another
/// page of the same site may have planted a second), a live session, and a
/// token that still names a staff member.
pub async fn from_request(
    pool: &PgPool,
    auth: &Authenticator,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<Session> {
    let mut ids = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='));
    let id = ids.next()?.to_owned();
    if ids.next().is_some() || id.len() > 64 {
        return None;
    }
    let token: Option<String> =
        sqlx::query_scalar("SELECT token FROM console.sessions WHERE id_hash = $1 AND expires_at > $2")
            .bind(hash(&id))
            .bind(now)
            .fetch_optional(pool)
            .await
            .ok()?;
    let token = token?;
    let caller = staff(auth, &token)?;
    Some(Session {
        csrf: csrf(&id),
        id,
        token,
        caller,
    })
}

/// The CSRF value of a session's forms.
pub fn csrf(id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"aftercare.console.csrf\0")
        .chain_update(id.as_bytes())
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

/// Whether the browser reached the console over TLS (through a proxy).
fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

pub fn set_cookie(id: &str, headers: &HeaderMap) -> Option<HeaderValue> {
    let secure = if over_tls(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
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
            h.append(*k, HeaderValue::from_static(v));
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
    fn the_cookie_is_secure_behind_tls_and_the_csrf_value_is_the_sessions() {
        let plain = set_cookie("abc", &headers(&[])).unwrap();
        assert!(!plain.to_str().unwrap().contains("Secure"));
        let tls = set_cookie("abc", &headers(&[("x-forwarded-proto", "https")])).unwrap();
        assert!(tls.to_str().unwrap().ends_with("; Secure"));
        assert_eq!(csrf("a"), csrf("a"));
        assert_ne!(csrf("a"), csrf("b"));
        assert_eq!(csrf("a").len(), 24);
    }
}
