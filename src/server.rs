//! Server assembly: the selected services from the registry behind the auth
//! layer, gRPC health and reflection on one port (gRPC-Web too, with CORS
//! for configured origins), the REST gateway on the HTTP port over the same
//! stack, the admin HTTP port, the outbox dispatcher (health turns
//! NOT_SERVING if it dies), and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use http::{HeaderValue, Method};

use aftercare_platform::auth::{AccessTable, AuthLayer, Authenticator};
use aftercare_platform::clock::SharedClock;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::outbox::{DispatchOptions, Dispatcher};
use aftercare_platform::ratelimit::{Cidr, Rate, RateLimiter};
use aftercare_platform::telemetry::{Metrics, RpcLayer};
use aftercare_platform::webhook;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::{HealthReporter, HealthService};
use tonic_web::GrpcWebLayer;
use tower::util::BoxCloneSyncService;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::BoxError;
use crate::health::{probe_database, set_all, supervise_dispatcher};
use crate::registry;

/// Everything the services share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub auth: Arc<Authenticator>,
    pub metrics: Metrics,
}

pub struct ServeOptions {
    /// Registry names, or `all`.
    pub services: Vec<String>,
    pub shutdown_grace: Duration,
    pub dispatch: DispatchOptions,
    /// How often gRPC health checks the database.
    pub health_probe_interval: Duration,
    /// How often each background job looks for due work.
    pub job_interval: Duration,
    /// Where reminders are posted as signed webhooks; none: they stay
    /// events in the outbox for another consumer.
    pub notifier: Option<webhook::Endpoint>,
    /// Browser origins allowed to call the gRPC-Web and REST endpoints
    /// (`https://app.example.com`); none: no cross-origin calls.
    pub cors_origins: Vec<HeaderValue>,
    pub gateway: aftercare_gateway::Options,
    /// Each customer's and partner's calls (by token subject); none: no
    /// limit. Staff and service tokens are never limited.
    pub rate_per_caller: Option<Rate>,
    /// Calls without a valid token, per client IP; none: no limit.
    pub rate_per_ip: Option<Rate>,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<Cidr>,
    /// Where the event stream's relay publishes (NATS JetStream); none: no
    /// relay. Runs with the `events` service.
    pub nats_url: Option<String>,
}

impl Default for ServeOptions {
    /// Every service, a 10 s grace period, the dispatcher's defaults, the
    /// database checked every second.
    fn default() -> Self {
        ServeOptions {
            services: vec!["all".into()],
            shutdown_grace: Duration::from_secs(10),
            dispatch: DispatchOptions::default(),
            health_probe_interval: Duration::from_secs(1),
            job_interval: Duration::from_secs(5),
            notifier: None,
            cors_origins: Vec::new(),
            gateway: aftercare_gateway::Options::default(),
            rate_per_caller: None,
            rate_per_ip: None,
            trusted_proxies: Vec::new(),
            nats_url: None,
        }
    }
}

/// The sockets a server listens on: gRPC (and gRPC-Web) always; the admin
/// port and the REST gateway's when given.
pub struct Listeners {
    pub grpc: TcpListener,
    pub admin: Option<TcpListener>,
    pub http: Option<TcpListener>,
}

/// Serves until `shutdown` completes, then lets in-flight calls finish for
/// at most the grace period.
pub async fn serve(
    state: AppState,
    listeners: Listeners,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BoxError> {
    let selected = registry::select(&options.services)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut dispatcher = Dispatcher::new(state.pool.clone(), state.clock.clone(), options.dispatch);
    let ctx = ServiceContext {
        pool: state.pool.clone(),
        clock: state.clock.clone(),
        outbox_wake: dispatcher.waker(),
        notifier: options
            .notifier
            .clone()
            .map(|endpoint| Arc::new(webhook::Sender::new(endpoint, webhook::DEFAULT_TIMEOUT))),
        nats_url: options.nats_url.clone(),
        stopping: stop_rx.clone(),
    };

    let health = HealthReporter::new();
    let mut routes = RoutesBuilder::default();
    routes.add_service(HealthServer::new(HealthService::from_health_reporter(health.clone())));
    // Reflection v1 and, for older clients (grpcio's, Postman's), v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(aftercare_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    routes.add_service(reflection().build_v1()?);
    routes.add_service(reflection().build_v1alpha()?);

    let mut access = AccessTable::default();
    for public in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        access.add_public(public);
    }
    let mut served = Vec::with_capacity(selected.len());
    let mut anonymous = Vec::new();
    let mut roles = std::collections::HashMap::new();
    let mut jobs = Vec::new();
    for service in selected {
        jobs.extend((service.jobs)(&ctx));
        (service.routes)(&ctx, &mut routes);
        access.add_service(service.grpc_service, service.roles);
        access.add_anonymous(service.grpc_service, service.anonymous);
        for (method, allowed) in service.roles {
            roles.insert(format!("/{}/{method}", service.grpc_service), *allowed);
        }
        anonymous.extend(
            service
                .anonymous
                .iter()
                .map(|m| format!("/{}/{m}", service.grpc_service)),
        );
        for consumer in (service.consumers)(&ctx) {
            dispatcher.register(consumer).await?;
        }
        health
            .set_service_status(service.grpc_service, ServingStatus::Serving)
            .await;
        served.push(service.grpc_service);
    }

    let routes = routes.routes();
    let rpc_layer = RpcLayer::new(state.metrics.clone());
    let mut auth_layer = AuthLayer::new(state.auth.clone(), access);
    let mut gateway_options = options.gateway.clone();
    gateway_options.anonymous = anonymous;
    if options.rate_per_caller.is_some() || options.rate_per_ip.is_some() {
        let limits = RateLimiter::new(options.rate_per_caller, options.rate_per_ip)
            .with_trusted_proxies(options.trusted_proxies.clone());
        let limits = Arc::new(limits);
        auth_layer = auth_layer.with_limits(limits.clone());
        gateway_options.limits = Some(limits);
    }
    let cors = cors(&options.cors_origins);
    // The REST gateway and the staff console call the very stack the
    // gRPC port serves.
    let in_process = BoxCloneSyncService::new(
        tower::ServiceBuilder::new()
            .layer(rpc_layer.clone())
            .layer(auth_layer.clone())
            .service(routes.clone()),
    );
    let console = aftercare_console::Console::new(
        in_process.clone(),
        state.auth.clone(),
        state.pool.clone(),
        state.clock.clone(),
        roles,
    );
    let gateway = aftercare_gateway::Gateway::new(&served, in_process, state.auth.clone(), gateway_options)?;
    let router = tonic::transport::Server::builder()
        // A peer gone without a word (a half-open connection) is found and
        // its streams ended, so an event subscription does not hold its
        // seat forever.
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        // gRPC-Web comes over HTTP/1.1 from browsers.
        .accept_http1(true)
        .layer(cors.clone())
        .layer(GrpcWebLayer::new())
        .layer(rpc_layer)
        .layer(auth_layer)
        .add_routes(routes);
    let Listeners { grpc, admin, http } = listeners;
    let grpc_addr = grpc.local_addr()?;
    let mut grpc_stop = stop_rx.clone();
    // Without TCP_NODELAY a response written in several frames waits for the
    // client's delayed ACK: ~40 ms on every call.
    let incoming = TcpIncoming::from(grpc)
        .with_nodelay(Some(true))
        // HTTP/2 keepalive does not cover gRPC-Web's HTTP/1.1: TCP's finds
        // a vanished browser's stream within about two minutes.
        .with_keepalive(Some(Duration::from_secs(60)))
        .with_keepalive_interval(Some(Duration::from_secs(15)))
        .with_keepalive_retries(Some(4));
    let mut grpc_task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        let _ = grpc_stop.wait_for(|stop| *stop).await;
    }));
    let dispatcher_alive = Arc::new(AtomicBool::new(true));
    let admin_task = admin.map(|listener| {
        let admin = crate::admin::serve(listener, state.clone(), dispatcher_alive.clone(), stop_rx.clone());
        tokio::spawn(admin)
    });
    let http_task = http.map(|listener| {
        let app = console.router().merge(gateway.router()).layer(cors);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::error!(error = %e, "REST gateway failed");
            }
        })
    });
    let dispatch_task = tokio::spawn(dispatcher.run(stop_rx.clone()));
    let job_tasks: Vec<_> = jobs
        .into_iter()
        .flat_map(|job| std::iter::repeat_n(job.clone(), job.loops()))
        .map(|job| {
            tokio::spawn(aftercare_platform::jobs::run(
                job,
                options.job_interval,
                stop_rx.clone(),
            ))
        })
        .collect();
    let probe_task = tokio::spawn(probe_database(
        state.pool.clone(),
        health.clone(),
        dispatcher_alive.clone(),
        served.clone(),
        options.health_probe_interval,
        stop_rx.clone(),
    ));
    let supervise_task = tokio::spawn(supervise_dispatcher(
        dispatch_task,
        health.clone(),
        dispatcher_alive,
        served.clone(),
        stop_rx.clone(),
    ));
    tracing::info!(%grpc_addr, services = ?served, "serving");

    tokio::select! {
        _ = shutdown => {}
        result = &mut grpc_task => {
            let _ = stop_tx.send(true);
            return Err(format!("gRPC server stopped unexpectedly: {:?}", result?.err()).into());
        }
    }

    tracing::info!(grace = ?options.shutdown_grace, "shutting down");
    set_all(&health, &served, ServingStatus::NotServing).await;
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + options.shutdown_grace;
    match tokio::time::timeout_at(deadline, &mut grpc_task).await {
        Ok(result) => result??,
        Err(_) => {
            tracing::warn!("grace period over; dropping the calls still in flight");
            grpc_task.abort();
        }
    }
    for task in admin_task
        .into_iter()
        .chain(http_task)
        .chain([supervise_task, probe_task])
        .chain(job_tasks)
    {
        let mut task = task;
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            tracing::warn!("a background task did not stop within the grace period; ending it");
            task.abort();
        }
    }
    Ok(())
}

/// CORS for the configured browser origins, on the gRPC-Web and REST
/// ports: the headers a gRPC-Web or REST client sends, and the gRPC status
/// headers it must be able to read.
fn cors(origins: &[HeaderValue]) -> CorsLayer {
    use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
    let header = http::HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            AUTHORIZATION,
            CONTENT_TYPE,
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("idempotency-key"),
            header("x-request-id"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
            RETRY_AFTER,
        ])
        .max_age(Duration::from_secs(600))
}

/// A server running in the background on ports the OS picks on 127.0.0.1:
/// what the end-to-end tests and the benchmark run. Dropping it asks it to
/// stop; [`Background::stop`] also waits until it has.
pub struct Background {
    pub grpc_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    pub http_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), BoxError>>>,
}

impl Background {
    /// `with_http`: the admin port and the REST gateway's too.
    pub async fn start(state: AppState, options: ServeOptions, with_http: bool) -> Result<Background, BoxError> {
        let grpc = TcpListener::bind("127.0.0.1:0").await?;
        let (admin, http) = match with_http {
            true => (
                Some(TcpListener::bind("127.0.0.1:0").await?),
                Some(TcpListener::bind("127.0.0.1:0").await?),
            ),
            false => (None, None),
        };
        let grpc_addr = grpc.local_addr()?;
        let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
        let http_addr = http.as_ref().map(TcpListener::local_addr).transpose()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let listeners = Listeners { grpc, admin, http };
        let task = tokio::spawn(serve(state, listeners, options, async {
            let _ = stopped.await;
        }));
        Ok(Background {
            grpc_addr,
            admin_addr,
            http_addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Shuts down gracefully and waits for the server to finish.
    pub async fn stop(mut self) -> Result<(), BoxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await?,
            None => Ok(()),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
