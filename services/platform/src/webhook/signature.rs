//! A webhook's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the endpoint's secret. Signing the timestamp with
//! the body lets a receiver refuse a captured message replayed later
//! ([`verify`]'s tolerance), and a changed timestamp breaks the MAC.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's time may be from the receiver's clock, by default.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
    #[error("the signature's time is too far from now")]
    Stale,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// Checks a received message: its signature (any `v1`, so a sender may
/// sign with an old and a new secret while they rotate), in constant time,
/// and its age against `now` (unix seconds).
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64, tolerance: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) if timestamp.is_none() => {
                timestamp = Some(unix_seconds(t).ok_or(SignatureError::Malformed)?)
            }
            Some(("v1", v)) if candidates.len() < MAX_SIGNATURES => {
                candidates.push(unhex(v).ok_or(SignatureError::Malformed)?)
            }
            Some(("t" | "v1", _)) => return Err(SignatureError::Malformed),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    // The body is hashed once; each candidate is compared in constant time.
    let expected = mac(secret, timestamp, body);
    if !candidates.iter().any(|c| expected.clone().verify_slice(c).is_ok()) {
        return Err(SignatureError::Mismatch);
    }
    if now.abs_diff(timestamp) > tolerance.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Signatures one header may carry (two while a secret rotates).
const MAX_SIGNATURES: usize = 4;

/// Decimal digits only (no sign, no spaces), as [`sign`] writes them.
fn unix_seconds(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn the_mac_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently, as a receiver would:
        //   printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign(b"key", 1_700_000_000, b"{}"),
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let body = br#"{"id":"r-1","title":"Descale"}"#;
        let header = sign(SECRET, 1_700_000_000, body);
        assert_eq!(verify(SECRET, &header, body, 1_700_000_010, 300), Ok(()));
        assert_eq!(
            verify(
                SECRET,
                &header,
                br#"{"id":"r-1","title":"Descale!"}"#,
                1_700_000_010,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret of thirty-two bytes", &header, body, 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is signed: moving it forward breaks the MAC.
        let moved = header.replace("t=1700000000", "t=1700000900");
        assert_eq!(
            verify(SECRET, &moved, body, 1_700_000_900, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn an_old_message_is_refused_as_a_replay() {
        let body = b"{}";
        let header = sign(SECRET, 1_700_000_000, body);
        assert_eq!(
            verify(SECRET, &header, body, 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, &header, body, 1_699_999_699, 300),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let many = format!("t=1{}", ",v1=00".repeat(5));
        for header in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=+1,v1=00",
            "t=-1,v1=00",
            "t=1,v1=0g",
            "t=1,v1=abc",
            "t=1,v1=+a",
            "t=1,t=2,v1=00",
            &many,
        ] {
            assert_eq!(
                verify(SECRET, header, b"{}", 1, 300),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn a_rotating_sender_may_sign_twice() {
        let body = b"{}";
        let old = sign(b"the old secret, thirty-two bytes!", 10, body);
        let new = sign(SECRET, 10, body);
        let both = format!("{old},{}", new.split(',').nth(1).unwrap());
        assert_eq!(verify(SECRET, &both, body, 10, 300), Ok(()));
    }
}
