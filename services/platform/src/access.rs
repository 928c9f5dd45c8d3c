//! Authorization: each service's table of which roles may call which RPC,
//! enforced by a tower layer keyed by gRPC path before any body is decoded;
//! access is denied unless granted.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::transport::server::TcpConnectInfo;

use crate::auth::{Authenticator, Caller, Role};
use crate::error::Error;
use crate::ratelimit::{Charged, RateLimiter};

/// Which roles may call each RPC of one service, by method name: the one
/// place a service states its permissions.
pub type RoleTable = &'static [(&'static str, &'static [Role])];

/// Every served method's roles, keyed by gRPC path (`/pkg.Service/Method`),
/// and the few services anyone may call (health, reflection). Anything else
/// is refused: access is denied unless granted here.
#[derive(Debug, Default, Clone)]
pub struct AccessTable {
    methods: HashMap<String, &'static [Role]>,
    public: HashSet<String>,
    /// Methods callable without a token too (by path).
    anonymous: HashSet<String>,
}

/// What the table says about a request path.
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// A public service (health, reflection): no token needed.
    Public,
    /// Not in the table: answered UNIMPLEMENTED without decoding anything,
    /// whatever is mounted behind the layer.
    Unknown,
    Roles(&'static [Role]),
    /// The roles' with a token; without one the call passes with no
    /// caller (charged to its address), for the handler to check a
    /// credential of its own.
    RolesOrAnonymous(&'static [Role]),
}

impl AccessTable {
    pub fn add_service(&mut self, grpc_service: &str, roles: RoleTable) {
        for (method, allowed) in roles {
            self.methods.insert(format!("/{grpc_service}/{method}"), allowed);
        }
    }

    /// Methods of `grpc_service` that also take calls without a token.
    pub fn add_anonymous(&mut self, grpc_service: &str, methods: &[&str]) {
        for method in methods {
            self.anonymous.insert(format!("/{grpc_service}/{method}"));
        }
    }

    /// A service every caller may use without a token.
    pub fn add_public(&mut self, grpc_service: &str) {
        self.public.insert(grpc_service.to_owned());
    }

    pub fn lookup(&self, path: &str) -> Access {
        if let Some(roles) = self.methods.get(path) {
            if self.anonymous.contains(path) {
                return Access::RolesOrAnonymous(roles);
            }
            return Access::Roles(roles);
        }
        match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
            Some((service, method)) if self.public.contains(service) && !method.contains('/') => Access::Public,
            _ => Access::Unknown,
        }
    }
}

/// Authenticates and authorizes every call to our services before its body
/// is read, from the [`AccessTable`]; the handler finds the [`Caller`] in the
/// request's extensions ([`caller`]).
#[derive(Clone)]
pub struct AuthLayer {
    auth: Arc<Authenticator>,
    table: Arc<AccessTable>,
    limits: Option<Arc<RateLimiter>>,
}

impl AuthLayer {
    pub fn new(auth: Arc<Authenticator>, table: AccessTable) -> AuthLayer {
        AuthLayer {
            auth,
            table: Arc::new(table),
            limits: None,
        }
    }

    /// Charges each call to its caller's bucket (or its IP's, without a
    /// valid token) once the caller is known, before the permission check,
    /// so probing for what is allowed costs too.
    pub fn with_limits(mut self, limits: Arc<RateLimiter>) -> AuthLayer {
        self.limits = Some(limits);
        self
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            auth: self.auth.clone(),
            table: self.table.clone(),
            limits: self.limits.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Authenticator>,
    table: Arc<AccessTable>,
    limits: Option<Arc<RateLimiter>>,
}

impl<S> AuthService<S> {
    fn admit(
        &self,
        path: &str,
        headers: &http::HeaderMap,
        peer: Option<IpAddr>,
        charged: bool,
    ) -> Result<Option<Caller>, Status> {
        let allowed = match self.table.lookup(path) {
            Access::Public => return Ok(None),
            Access::Unknown => return Err(Status::unimplemented("")),
            Access::Roles(roles) => roles,
            // No token at all: admitted without a caller, and charged to
            // the address like any call without a valid token. A token
            // that is there is checked as always.
            Access::RolesOrAnonymous(_) if !headers.contains_key(http::header::AUTHORIZATION) => {
                if let Some(limits) = self.limits.as_ref().filter(|_| !charged) {
                    limits.admit_anonymous(peer, headers)?;
                }
                return Ok(None);
            }
            Access::RolesOrAnonymous(roles) => roles,
        };
        let caller = match self.auth.authenticate(headers) {
            Ok(caller) => caller,
            Err(e) => {
                if let Some(limits) = &self.limits {
                    limits.admit_anonymous(peer, headers)?;
                }
                return Err(e.into());
            }
        };
        if let Some(limits) = self.limits.as_ref().filter(|_| !charged) {
            limits.admit_caller(&caller)?;
        }
        tracing::Span::current().record("role", caller.role.as_str());
        if !allowed.contains(&caller.role) {
            let method = path.rsplit('/').next().unwrap_or_default();
            return Err(Error::PermissionDenied(format!("role {} may not call {method}", caller.role)).into());
        }
        Ok(Some(caller))
    }
}

impl<S, B> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let peer = request
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(|info| info.remote_addr)
            .map(|addr| addr.ip());
        let charged = request.extensions().get::<Charged>().is_some();
        match self.admit(request.uri().path(), request.headers(), peer, charged) {
            Ok(caller) => {
                if let Some(caller) = caller {
                    request.extensions_mut().insert(caller);
                }
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                let response = status.into_http::<tonic::body::Body>();
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}

/// The caller the [`AuthLayer`] admitted. Without one (a service mounted
/// without the layer) the call is refused: authorization fails closed.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, Error> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Error::Unauthenticated("no authenticated caller".into()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::JwtKey;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn auth() -> Authenticator {
        Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap()
    }

    #[test]
    fn the_access_table_is_keyed_by_path() {
        const TABLE: RoleTable = &[("Read", &[Role::Customer, Role::Agent]), ("Write", &[Role::Agent])];
        let mut table = AccessTable::default();
        table.add_service("pkg.Svc", TABLE);
        table.add_public("grpc.health.v1.Health");
        assert_eq!(table.lookup("/pkg.Svc/Write"), Access::Roles(&[Role::Agent]));
        assert_eq!(table.lookup("/pkg.Svc/Missing"), Access::Unknown);
        assert_eq!(table.lookup("/grpc.health.v1.Health/Check"), Access::Public);
        // Denied unless granted: services nobody listed, odd paths.
        for path in [
            "/pkg.SvcOther/Read",
            "/pkg.Svc/Write/",
            "//pkg.Svc/Write",
            "/pkg.Svc",
            "",
            "/",
            "/grpc.health.v1.Health/Check/x",
        ] {
            assert_eq!(table.lookup(path), Access::Unknown, "{path:?}");
        }
    }

    #[tokio::test]
    async fn the_layer_admits_refuses_and_hands_over_the_caller() {
        use tower::{Layer, Service, ServiceExt};
        const TABLE: RoleTable = &[
            ("Read", &[Role::Customer]),
            ("Write", &[Role::Agent]),
            ("Answer", &[Role::Customer]),
        ];
        let a = std::sync::Arc::new(auth());
        let mut table = AccessTable::default();
        table.add_service("pkg.Svc", TABLE);
        table.add_anonymous("pkg.Svc", &["Answer"]);
        table.add_public("grpc.health.v1.Health");
        let inner = tower::service_fn(|request: http::Request<()>| async move {
            let subject = request
                .extensions()
                .get::<Caller>()
                .map(|c| c.subject.clone())
                .unwrap_or_default();
            let response = http::Response::builder()
                .header("x-subject", subject)
                .body(tonic::body::Body::empty())
                .unwrap();
            Ok::<_, std::convert::Infallible>(response)
        });
        let mut service = AuthLayer::new(a.clone(), table).layer(inner);
        let token = a.issue(Role::Customer, "c-1", Duration::from_secs(60)).unwrap();
        let mut call = async |path: &str, token: Option<&str>| {
            let mut request = http::Request::builder().uri(path);
            if let Some(t) = token {
                request = request.header("authorization", format!("Bearer {t}"));
            }
            let response = service
                .ready()
                .await
                .unwrap()
                .call(request.body(()).unwrap())
                .await
                .unwrap();
            let status = response
                .headers()
                .get("grpc-status")
                .map(|v| v.to_str().unwrap().to_owned());
            let subject = response
                .headers()
                .get("x-subject")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, subject)
        };
        assert_eq!(call("/pkg.Svc/Read", Some(&token)).await, (None, Some("c-1".into())));
        assert_eq!(
            call("/pkg.Svc/Write", Some(&token)).await.0.as_deref(),
            Some("7"),
            "PERMISSION_DENIED"
        );
        assert_eq!(
            call("/pkg.Svc/Read", None).await.0.as_deref(),
            Some("16"),
            "UNAUTHENTICATED"
        );
        assert_eq!(
            call("/pkg.Svc/Nope", Some(&token)).await.0.as_deref(),
            Some("12"),
            "UNIMPLEMENTED"
        );
        assert_eq!(
            call("/grpc.health.v1.Health/Check", None).await,
            (None, Some(String::new()))
        );
        assert_eq!(
            call("/pkg.Mounted/ButUnlisted", Some(&token)).await.0.as_deref(),
            Some("12"),
            "mounted but not in the table: denied"
        );
        // An anonymous method: no token passes without a caller; a token
        // is checked as anywhere else.
        assert_eq!(call("/pkg.Svc/Answer", None).await, (None, Some(String::new())));
        assert_eq!(call("/pkg.Svc/Answer", Some(&token)).await, (None, Some("c-1".into())));
        assert_eq!(
            call("/pkg.Svc/Answer", Some("forged")).await.0.as_deref(),
            Some("16"),
            "a bad token is not downgraded to none"
        );
        let agent = a.issue(Role::Agent, "a-1", Duration::from_secs(60)).unwrap();
        assert_eq!(call("/pkg.Svc/Answer", Some(&agent)).await.0.as_deref(), Some("7"));
    }
}
