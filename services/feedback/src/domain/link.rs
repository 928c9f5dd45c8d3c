//! The token of a survey's e-mail link: it answers that one survey, without
//! logging in, until the survey stops taking answers. It is the survey id
//! and the expiry, signed with HMAC-SHA256 under the service's link key:
//! `base64url(id ‖ expiry) "." base64url(mac)`. Nothing in it is secret
//! but the key; changing a byte, the survey or the expiry breaks the MAC.

use aftercare_kernel::{DateTime, Utc};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SurveyId;

/// What the MAC covers besides the payload, so a MAC made for anything
/// else under the same key is never a link's.
const CONTEXT: &[u8] = b"aftercare.feedback.survey-link.v1\0";
/// Longer input is not a token (and is not decoded).
const MAX_LEN: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("is not valid (tampered with or not a survey link)")]
    Invalid,
    #[error("has expired")]
    Expired,
    #[error("was made for another survey")]
    OtherSurvey,
}

/// The key links are signed with (32 random bytes, kept by the store).
#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

impl LinkKey {
    pub fn new(bytes: [u8; 32]) -> LinkKey {
        LinkKey(bytes)
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(CONTEXT);
        mac.update(payload);
        mac
    }

    pub fn sign(&self, survey: SurveyId, expires_at: DateTime<Utc>) -> String {
        let payload = payload(survey, expires_at.timestamp());
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// Checks `token` answers `survey` at `now`.
    pub fn verify(&self, token: &str, survey: SurveyId, now: DateTime<Utc>) -> Result<(), LinkError> {
        if token.len() > MAX_LEN {
            return Err(LinkError::Invalid);
        }
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| LinkError::Invalid)?;
        if payload.len() != 24 {
            return Err(LinkError::Invalid);
        }
        // Constant time: the tag is compared by the MAC, not by `==`.
        self.mac(&payload).verify_slice(&tag).map_err(|_| LinkError::Invalid)?;
        let id = uuid::Uuid::from_slice(&payload[..16]).map_err(|_| LinkError::Invalid)?;
        if id != survey.as_uuid() {
            return Err(LinkError::OtherSurvey);
        }
        let expires = i64::from_be_bytes(payload[16..].try_into().map_err(|_| LinkError::Invalid)?);
        if now.timestamp() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

fn payload(survey: SurveyId, expires: i64) -> [u8; 24] {
    let mut p = [0u8; 24];
    p[..16].copy_from_slice(survey.as_uuid().as_bytes());
    p[16..].copy_from_slice(&expires.to_be_bytes());
    p
}

#[cfg(test)]
mod tests {
    use aftercare_kernel::{Duration, TimeZone};

    use super::*;

    fn key() -> LinkKey {
        LinkKey::new([7u8; 32])
    }

    #[test]
    fn a_link_answers_its_survey_until_it_expires() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let survey = SurveyId::new();
        let token = key().sign(survey, now + Duration::days(30));
        assert_eq!(key().verify(&token, survey, now), Ok(()));
        assert_eq!(
            key().verify(&token, survey, now + Duration::days(30)),
            Err(LinkError::Expired)
        );
        assert_eq!(key().verify(&token, SurveyId::new(), now), Err(LinkError::OtherSurvey));
    }

    #[test]
    fn any_change_to_a_link_or_its_key_breaks_it() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let survey = SurveyId::new();
        let token = key().sign(survey, now + Duration::days(30));
        // Every single character changed.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                assert!(key().verify(&tampered, survey, now).is_err(), "position {i}");
            }
        }
        // A later expiry, re-encoded without the key's MAC.
        let (_, tag) = token.split_once('.').unwrap();
        let longer = URL_SAFE_NO_PAD.encode(payload(survey, (now + Duration::days(365)).timestamp()));
        assert_eq!(
            key().verify(&format!("{longer}.{tag}"), survey, now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            LinkKey::new([8u8; 32]).verify(&token, survey, now),
            Err(LinkError::Invalid)
        );
        for junk in ["", ".", "a.b", "not a token", &"x".repeat(500)] {
            assert_eq!(key().verify(junk, survey, now), Err(LinkError::Invalid), "{junk:?}");
        }
    }
}
