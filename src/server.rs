//! Server assembly: the selected services, gRPC health and reflection on one
//! port, the admin HTTP port, the outbox dispatcher, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftercare_orders::api::OrderApi;
use aftercare_platform::auth::Authenticator;
use aftercare_platform::clock::SharedClock;
use aftercare_platform::context::ServiceContext;
use aftercare_platform::outbox::Dispatcher;
use aftercare_platform::telemetry::{Metrics, RpcLayer};
use aftercare_returns::api::ReturnApi;
use aftercare_returns::projection::OrderProjection;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use crate::BoxError;
use crate::cli::ServiceName;

/// Everything the services share.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub clock: SharedClock,
    pub auth: Arc<Authenticator>,
    pub metrics: Metrics,
}

pub struct ServeOptions {
    pub services: Vec<ServiceName>,
    pub shutdown_grace: Duration,
    pub outbox_poll_interval: Duration,
}

impl Default for ServeOptions {
    /// Every service, a 10 s grace period, the outbox polled twice a second.
    fn default() -> Self {
        ServeOptions {
            services: vec![ServiceName::All],
            shutdown_grace: Duration::from_secs(10),
            outbox_poll_interval: Duration::from_millis(500),
        }
    }
}

impl ServeOptions {
    fn serves(&self, service: ServiceName) -> bool {
        self.services.contains(&service) || self.services.contains(&ServiceName::All)
    }
}

/// Serves until `shutdown` completes, then lets in-flight calls finish for
/// at most the grace period.
pub async fn serve(
    state: AppState,
    grpc: TcpListener,
    admin: Option<TcpListener>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BoxError> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut dispatcher = Dispatcher::new(state.pool.clone(), state.clock.clone(), options.outbox_poll_interval);
    let ctx = ServiceContext {
        pool: state.pool.clone(),
        clock: state.clock.clone(),
        auth: state.auth.clone(),
        outbox_wake: dispatcher.waker(),
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    // Reflection v1 and, for older clients (grpcio's, Postman's), v1alpha.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(aftercare_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (reflection_v1, reflection_v1alpha) = (reflection().build_v1()?, reflection().build_v1alpha()?);

    let orders = options
        .serves(ServiceName::Orders)
        .then(|| OrderApi::new(ctx.clone()).into_server());
    let returns = options
        .serves(ServiceName::Returns)
        .then(|| ReturnApi::new(ctx.clone()).into_server());
    if returns.is_some() {
        // Returns keeps the order facts it needs from order events.
        dispatcher
            .register(Arc::new(OrderProjection::new(state.pool.clone())))
            .await?;
    }
    let served: Vec<&str> = [
        orders.as_ref().map(|_| aftercare_orders::api::SERVICE_NAME),
        returns.as_ref().map(|_| aftercare_returns::api::SERVICE_NAME),
    ]
    .into_iter()
    .flatten()
    .collect();
    for name in &served {
        health.set_service_status(name, ServingStatus::Serving).await;
    }

    let router = tonic::transport::Server::builder()
        .layer(RpcLayer::new(state.metrics.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_optional_service(orders)
        .add_optional_service(returns);
    let grpc_addr = grpc.local_addr()?;
    let mut grpc_stop = stop_rx.clone();
    // Without TCP_NODELAY a response written in several frames waits for the
    // client's delayed ACK: ~40 ms on every call.
    let incoming = TcpIncoming::from(grpc).with_nodelay(Some(true));
    let mut grpc_task = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async move {
        let _ = grpc_stop.wait_for(|stop| *stop).await;
    }));
    let admin_task = admin.map(|listener| tokio::spawn(crate::admin::serve(listener, state.clone(), stop_rx.clone())));
    let dispatch_task = tokio::spawn(dispatcher.run(stop_rx.clone()));
    tracing::info!(%grpc_addr, services = ?served, "serving");

    tokio::select! {
        _ = shutdown => {}
        result = &mut grpc_task => {
            let _ = stop_tx.send(true);
            return Err(format!("gRPC server stopped unexpectedly: {:?}", result?.err()).into());
        }
    }

    tracing::info!(grace = ?options.shutdown_grace, "shutting down");
    health.set_service_status("", ServingStatus::NotServing).await;
    for name in &served {
        health.set_service_status(name, ServingStatus::NotServing).await;
    }
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + options.shutdown_grace;
    match tokio::time::timeout_at(deadline, &mut grpc_task).await {
        Ok(result) => result??,
        Err(_) => {
            tracing::warn!("grace period over; dropping the calls still in flight");
            grpc_task.abort();
        }
    }
    for task in admin_task.into_iter().chain([dispatch_task]) {
        if tokio::time::timeout_at(deadline, task).await.is_err() {
            tracing::warn!("a background task did not stop within the grace period");
        }
    }
    Ok(())
}

/// A server running in the background on ports the OS picks on 127.0.0.1:
/// what the end-to-end tests and the benchmark run. Dropping it asks it to
/// stop; [`Background::stop`] also waits until it has.
pub struct Background {
    pub grpc_addr: SocketAddr,
    pub admin_addr: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), BoxError>>>,
}

impl Background {
    pub async fn start(state: AppState, options: ServeOptions, with_admin: bool) -> Result<Background, BoxError> {
        let grpc = TcpListener::bind("127.0.0.1:0").await?;
        let admin = match with_admin {
            true => Some(TcpListener::bind("127.0.0.1:0").await?),
            false => None,
        };
        let grpc_addr = grpc.local_addr()?;
        let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(state, grpc, admin, options, async {
            let _ = stopped.await;
        }));
        Ok(Background {
            grpc_addr,
            admin_addr,
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
