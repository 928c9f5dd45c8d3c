//! Authentication: a JWT bearer token in the `authorization` metadata,
//! verified into a [`Caller`]. Authorization (who may call which RPC) is
//! [`crate::access`]'s, re-exported here.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use crate::access::{Access, AccessTable, AuthLayer, AuthService, RoleTable, caller};
use crate::error::Error;

/// The issuer and audience tokens are minted with and accepted for unless
/// configured otherwise (an identity provider's, in public-key mode).
pub const DEFAULT_ISSUER: &str = "aftercare";
pub const DEFAULT_AUDIENCE: &str = "aftercare";
/// Clock skew tolerated between the token's minter and this server.
const LEEWAY_SECS: u64 = 30;

/// Who is calling, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A shopper; the subject is their customer id. Sees and acts on own data only.
    Customer,
    /// Support staff.
    Agent,
    /// Policies and adjustments.
    Admin,
    /// A storefront or other backend acting for a customer.
    Service,
    /// An authorised service partner; the subject is its service centre.
    /// Sees its own centre's service orders and no customer's data.
    Partner,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Customer, Role::Agent, Role::Admin, Role::Service, Role::Partner];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::Service => "service",
            Role::Partner => "partner",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?} (customer, agent, admin, service or partner)"))
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    /// The token's subject: a customer id for customers, a staff or system id
    /// otherwise.
    pub subject: String,
}

impl Caller {
    /// True when the caller is the customer `customer_id`, or staff or a
    /// service (who may act for any customer); never a partner.
    pub fn may_see_customer(&self, customer_id: &str) -> bool {
        match self.role {
            Role::Customer => self.subject == customer_id,
            Role::Partner => false,
            Role::Agent | Role::Admin | Role::Service => true,
        }
    }
}

/// What a minted token says.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    iss: String,
    aud: String,
    iat: u64,
    exp: u64,
}

/// What a verified token must carry beyond the registered claims, which
/// the validation checks itself (`exp`, `nbf`, `iss`, and `aud` as a string
/// or an array, RFC 7519 4.1.3).
#[derive(Debug, Deserialize)]
struct Verified {
    sub: String,
    role: Role,
}

/// How tokens are verified.
#[derive(Clone)]
pub enum JwtKey {
    /// HS256 with a shared secret; the server can also mint tokens.
    Secret(Vec<u8>),
    /// Verification only, with a PEM public key (RS256, ES256 or EdDSA).
    PublicKey { pem: Vec<u8>, algorithm: Algorithm },
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtKey::Secret(_) => f.write_str("JwtKey::Secret(<redacted>)"),
            JwtKey::PublicKey { algorithm, .. } => write!(f, "JwtKey::PublicKey({algorithm:?})"),
        }
    }
}

/// Verifies bearer tokens and, with a shared secret, mints them.
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: Option<(EncodingKey, Algorithm)>,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl Authenticator {
    /// With the default issuer and audience (`aftercare`).
    pub fn new(key: &JwtKey) -> Result<Authenticator, String> {
        Authenticator::with_claims(key, DEFAULT_ISSUER, DEFAULT_AUDIENCE)
    }

    /// Accepts (and mints) tokens of `issuer` for `audience`.
    pub fn with_claims(key: &JwtKey, issuer: &str, audience: &str) -> Result<Authenticator, String> {
        if issuer.is_empty() || audience.is_empty() {
            return Err("the JWT issuer and audience must not be empty".into());
        }
        let (decoding, encoding, algorithm) = match key {
            JwtKey::Secret(secret) => {
                if secret.len() < 32 {
                    return Err("the JWT secret must be at least 32 bytes".into());
                }
                (
                    DecodingKey::from_secret(secret),
                    Some((EncodingKey::from_secret(secret), Algorithm::HS256)),
                    Algorithm::HS256,
                )
            }
            JwtKey::PublicKey { pem, algorithm } => {
                let decoding = match algorithm {
                    Algorithm::RS256 => DecodingKey::from_rsa_pem(pem),
                    Algorithm::ES256 => DecodingKey::from_ec_pem(pem),
                    Algorithm::EdDSA => DecodingKey::from_ed_pem(pem),
                    other => return Err(format!("unsupported public-key algorithm {other:?}")),
                }
                .map_err(|e| format!("reading the JWT public key: {e}"))?;
                (decoding, None, *algorithm)
            }
        };
        // Only the configured algorithm: this refuses `alg: none` and any
        // attempt to pass an HMAC token off against a public key.
        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Ok(Authenticator {
            decoding,
            encoding,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Mints a token for `role`/`subject` valid for `ttl`.
    pub fn issue(&self, role: Role, subject: &str, ttl: Duration) -> Result<String, String> {
        let (key, algorithm) = self
            .encoding
            .as_ref()
            .ok_or("this server verifies tokens with a public key and cannot mint them")?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl.as_secs(),
        };
        jsonwebtoken::encode(&Header::new(*algorithm), &claims, key).map_err(|e| e.to_string())
    }

    /// Verifies the `authorization: Bearer <jwt>` header.
    pub fn authenticate(&self, headers: &http::HeaderMap) -> Result<Caller, Error> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| Error::Unauthenticated("missing authorization metadata (Bearer token)".into()))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .ok_or_else(|| Error::Unauthenticated("authorization must be \"Bearer <token>\"".into()))?;
        let data = jsonwebtoken::decode::<Verified>(token.trim(), &self.decoding, &self.validation)
            .map_err(|e| Error::Unauthenticated(format!("invalid token: {e}")))?;
        let claims = data.claims;
        if claims.sub.is_empty() || claims.sub.len() > 128 {
            return Err(Error::Unauthenticated("invalid token: bad subject".into()));
        }
        Ok(Caller {
            role: claims.role,
            subject: claims.sub,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap as MetadataMap;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn bearer(token: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert(http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        m
    }

    fn auth() -> Authenticator {
        Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap()
    }

    fn b64(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn minted_tokens_are_accepted() {
        let a = auth();
        let token = a.issue(Role::Agent, "agent-7", Duration::from_secs(60)).unwrap();
        assert_eq!(
            a.authenticate(&bearer(&token)).unwrap(),
            Caller {
                role: Role::Agent,
                subject: "agent-7".into()
            }
        );
    }

    #[test]
    fn bad_tokens_are_unauthenticated() {
        let a = auth();
        let good = a.issue(Role::Customer, "c-1", Duration::from_secs(60)).unwrap();

        let mut tampered = good.clone();
        let payload = b64(&format!(
            r#"{{"sub":"c-2","role":"admin","iss":"aftercare","aud":"aftercare","iat":{0},"exp":{1}}}"#,
            now(),
            now() + 60
        ));
        let parts: Vec<&str> = good.split('.').collect();
        tampered = tampered.replace(parts[1], &payload);

        let alg_none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Claims {
                sub: "c-1".into(),
                role: Role::Customer,
                iss: DEFAULT_ISSUER.into(),
                aud: DEFAULT_AUDIENCE.into(),
                iat: now() - 7200,
                exp: now() - 3600,
            },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        let wrong_alg = jsonwebtoken::encode(
            &Header::new(Algorithm::HS384),
            &Claims {
                sub: "c-1".into(),
                role: Role::Customer,
                iss: DEFAULT_ISSUER.into(),
                aud: DEFAULT_AUDIENCE.into(),
                iat: now(),
                exp: now() + 60,
            },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        let other_secret = Authenticator::new(&JwtKey::Secret(vec![b'x'; 32]))
            .unwrap()
            .issue(Role::Admin, "a", Duration::from_secs(60))
            .unwrap();

        for (name, token) in [
            ("tampered", tampered),
            ("alg none", alg_none),
            ("expired", expired),
            ("wrong algorithm", wrong_alg),
            ("other secret", other_secret),
            ("garbage", "not-a-jwt".into()),
        ] {
            let err = a.authenticate(&bearer(&token)).unwrap_err();
            assert!(matches!(err, Error::Unauthenticated(_)), "{name}: {err:?}");
        }
        assert!(matches!(
            a.authenticate(&MetadataMap::new()),
            Err(Error::Unauthenticated(_))
        ));
        let mut basic = MetadataMap::new();
        basic.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert!(matches!(a.authenticate(&basic), Err(Error::Unauthenticated(_))));
    }

    /// A throwaway Ed25519 key pair, only for this test.
    const ED_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIG87iQxa5/qcEfbVvr9e03u/CrdmymQBdbKgEiWFX2V9
-----END PRIVATE KEY-----
";
    const ED_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEASHlKIBLvK+yyukppFmO8rS8EuyRFe4u8dGiIfMZlEWM=
-----END PUBLIC KEY-----
";

    #[test]
    fn public_keys_verify_and_refuse_algorithm_confusion() {
        let a = Authenticator::new(&JwtKey::PublicKey {
            pem: ED_PUBLIC.as_bytes().to_vec(),
            algorithm: Algorithm::EdDSA,
        })
        .unwrap();
        let claims = Claims {
            sub: "c-9".into(),
            role: Role::Customer,
            iss: DEFAULT_ISSUER.into(),
            aud: DEFAULT_AUDIENCE.into(),
            iat: now(),
            exp: now() + 60,
        };
        let signed = jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &claims,
            &EncodingKey::from_ed_pem(ED_PRIVATE.as_bytes()).unwrap(),
        )
        .unwrap();
        assert_eq!(a.authenticate(&bearer(&signed)).unwrap().subject, "c-9");
        // The classic confusion: HS256 "signed" with the public key as secret.
        let confused = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(ED_PUBLIC.as_bytes()),
        )
        .unwrap();
        assert!(matches!(
            a.authenticate(&bearer(&confused)),
            Err(Error::Unauthenticated(_))
        ));
        assert!(
            a.issue(Role::Admin, "x", Duration::from_secs(60)).is_err(),
            "cannot mint"
        );
    }

    fn raw(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[test]
    fn not_before_audience_arrays_and_configured_issuers() {
        let a = auth();
        let base = |extra: serde_json::Value| {
            let mut c = serde_json::json!({
                "sub": "c-1", "role": "customer", "iss": "aftercare", "aud": "aftercare",
                "iat": now(), "exp": now() + 600,
            });
            c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            raw(c)
        };
        assert!(a.authenticate(&bearer(&base(serde_json::json!({})))).is_ok());
        let not_yet = base(serde_json::json!({ "nbf": now() + 3600 }));
        assert!(matches!(
            a.authenticate(&bearer(&not_yet)),
            Err(Error::Unauthenticated(_))
        ));
        let array = base(serde_json::json!({ "aud": ["account", "aftercare"] }));
        assert_eq!(
            a.authenticate(&bearer(&array)).unwrap().subject,
            "c-1",
            "RFC 7519: aud may be an array"
        );
        let elsewhere = base(serde_json::json!({ "aud": ["account", "billing"] }));
        assert!(matches!(
            a.authenticate(&bearer(&elsewhere)),
            Err(Error::Unauthenticated(_))
        ));

        let idp = Authenticator::with_claims(
            &JwtKey::Secret(SECRET.to_vec()),
            "https://id.example.com/realms/shop",
            "aftercare-api",
        )
        .unwrap();
        let from_idp = base(serde_json::json!({ "iss": "https://id.example.com/realms/shop", "aud": "aftercare-api" }));
        assert!(idp.authenticate(&bearer(&from_idp)).is_ok());
        assert!(
            matches!(
                idp.authenticate(&bearer(&base(serde_json::json!({})))),
                Err(Error::Unauthenticated(_))
            ),
            "our own issuer is not the configured one"
        );
        let minted = idp.issue(Role::Agent, "a-1", Duration::from_secs(60)).unwrap();
        assert_eq!(idp.authenticate(&bearer(&minted)).unwrap().role, Role::Agent);
        assert!(Authenticator::with_claims(&JwtKey::Secret(SECRET.to_vec()), "", "x").is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Authenticator::new(&JwtKey::Secret(b"short".to_vec())).is_err());
    }
}
