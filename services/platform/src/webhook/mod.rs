//! Webhooks: messages aftercare posts to other systems (the store's
//! notification provider, an internal tool), as JSON over HTTP, each
//! signed with HMAC-SHA256 over its timestamp and body so the receiver
//! knows it came from us, unaltered and recently ([`signature`]).
//!
//! A webhook is sent by an outbox consumer: the consumer's delivery is the
//! webhook's, so it inherits the outbox's retries with backoff, its dead
//! letters and their replay. A receiver may therefore get a message more
//! than once (a retry after a lost answer, a replay): each carries a
//! stable id in its body to drop repeats by. The same id goes in the
//! `Idempotency-Key` header for convenience, but only the body is signed:
//! a receiver dedupes on the body's id.

pub mod signature;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The header carrying [`signature::sign`]'s value.
pub const SIGNATURE_HEADER: &str = "aftercare-signature";
/// The header carrying the message's stable id.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The header naming what the message is (`maintenance.reminder`).
pub const TYPE_HEADER: &str = "aftercare-type";

/// How long a receiver may take to answer before the attempt counts as
/// failed (and is retried).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a receiver's answer is read (and dropped).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Where to post, and the secret shared with the receiver.
#[derive(Clone)]
pub struct Endpoint {
    pub url: Uri,
    pub secret: Vec<u8>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint from configuration: an `http://` URL (TLS to outside
    /// receivers is an egress proxy's job) and a secret of 32 bytes or more.
    pub fn new(url: &str, secret: &str) -> Result<Endpoint, String> {
        let url: Uri = url.parse().map_err(|e| format!("webhook URL {url:?}: {e}"))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err(format!(
                "webhook URL {url}: must be http://host[:port]/path (send through an egress proxy for TLS)"
            ));
        }
        if secret.len() < 32 {
            return Err("webhook secret: 32 bytes at least".into());
        }
        Ok(Endpoint {
            url,
            secret: secret.as_bytes().to_vec(),
        })
    }
}

/// Posts signed messages to one endpoint, over a pool of kept-alive
/// connections.
pub struct Sender {
    endpoint: Endpoint,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Sender {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        Sender {
            endpoint,
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        }
    }

    /// Posts `body` (JSON) signed at `now`; `Ok` when the receiver answered
    /// 2xx, else why not (the caller's delivery is then retried).
    pub async fn post(&self, id: &str, kind: &str, body: Vec<u8>, now: DateTime<Utc>) -> Result<(), String> {
        let signed = signature::sign(&self.endpoint.secret, now.timestamp(), &body);
        let request = Request::post(self.endpoint.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, id)
            .header(TYPE_HEADER, kind)
            .header(SIGNATURE_HEADER, signed)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("webhook request: {e}"))?;
        let url = &self.endpoint.url;
        let exchange = async {
            let answer = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("webhook {url}: {e}"))?;
            let status = answer.status();
            // Read the answer (a little of it at most), so the connection
            // goes back to the pool for the next message.
            let _ = Limited::new(answer.into_body(), MAX_ANSWER_BYTES).collect().await;
            Ok::<_, String>(status)
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(format!("webhook {url}: no answer in {:?}", self.timeout)),
            Ok(Err(e)) => Err(e),
            Ok(Ok(status)) if status.is_success() => Ok(()),
            Ok(Ok(status)) => Err(format!("webhook {url}: answered {status}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_plain_http_urls_with_long_secrets() {
        let secret = "s".repeat(32);
        assert!(Endpoint::new("http://notify.internal:8080/hooks", &secret).is_ok());
        assert!(Endpoint::new("https://notify.example.com/hooks", &secret).is_err());
        assert!(Endpoint::new("notify.internal/hooks", &secret).is_err());
        assert!(Endpoint::new("http://notify.internal/hooks", "short").is_err());
        let shown = format!("{:?}", Endpoint::new("http://n.internal/h", &secret).unwrap());
        assert!(!shown.contains(&secret), "the secret is never logged: {shown}");
    }
}
