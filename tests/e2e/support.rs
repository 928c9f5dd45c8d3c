//! The end-to-end harness: the real server on 127.0.0.1:0 over a fresh
//! database of its own (see `test_db`), and typed clients with a token per
//! role.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aftercare::server::{AppState, Background, ServeOptions};
use aftercare_platform::auth::{Authenticator, JwtKey, Role};
use aftercare_platform::clock::ManualClock;
use aftercare_platform::outbox::DispatchOptions;
use aftercare_platform::telemetry::Metrics;
use aftercare_platform::webhook::Endpoint;
use aftercare_proto::events::event_service_client::EventServiceClient;
use aftercare_proto::events::webhook_service_client::WebhookServiceClient;
use aftercare_proto::feedback::feedback_service_client::FeedbackServiceClient;
use aftercare_proto::insight::insight_service_client::InsightServiceClient;
use aftercare_proto::loyalty::loyalty_service_client::LoyaltyServiceClient;
use aftercare_proto::loyalty::store_credit_service_client::StoreCreditServiceClient;
use aftercare_proto::maintenance::maintenance_service_client::MaintenanceServiceClient;
use aftercare_proto::orders::order_service_client::OrderServiceClient;
use aftercare_proto::returns::return_service_client::ReturnServiceClient;
use aftercare_proto::warranty::warranty_service_client::WarrantyServiceClient;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

pub use crate::checks::{reason, until_finished_or_waiting_on_a_lock, violated_fields};
pub use crate::test_db::TestDb;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

/// The browser origin test servers allow (CORS).
pub const ALLOWED_ORIGIN: &str = "http://app.test";

/// The instant every test starts at.
pub fn start_time() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Bearer {
    /// No `authorization` at all.
    pub fn none() -> Bearer {
        Bearer(None)
    }

    /// A raw `authorization` value, for tests of malformed headers.
    pub fn from_header(value: &str) -> Bearer {
        Bearer(Some(value.parse().unwrap()))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

pub type Orders = OrderServiceClient<InterceptedService<Channel, Bearer>>;
pub type Returns = ReturnServiceClient<InterceptedService<Channel, Bearer>>;
pub type Loyalty = LoyaltyServiceClient<InterceptedService<Channel, Bearer>>;
pub type StoreCredit = StoreCreditServiceClient<InterceptedService<Channel, Bearer>>;
pub type Warranty = WarrantyServiceClient<InterceptedService<Channel, Bearer>>;
pub type Maintenance = MaintenanceServiceClient<InterceptedService<Channel, Bearer>>;
pub type Events = EventServiceClient<InterceptedService<Channel, Bearer>>;
pub type Webhooks = WebhookServiceClient<InterceptedService<Channel, Bearer>>;
pub type Feedback = FeedbackServiceClient<InterceptedService<Channel, Bearer>>;
pub type Insight = InsightServiceClient<InterceptedService<Channel, Bearer>>;

/// The real server on a real socket over a fresh database.
///
/// The server runs on a runtime and thread of its own, as it would in its
/// own process: the test's runtime stops when the test body ends, and a
/// server frozen with it mid-connection would stall dropping the database.
pub struct TestApp {
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// The REST gateway's port.
    pub http_addr: SocketAddr,
    pub pool: PgPool,
    pub clock: Arc<ManualClock>,
    pub auth: Arc<Authenticator>,
    channel: Channel,
    // Dropped in this order: the server stops before its database goes.
    server: ServerThread,
    _db: TestDb,
}

/// A server of [`TestApp::spawn_replica`].
pub struct Replica {
    server: ServerThread,
    channel: Channel,
}

impl Replica {
    /// A client of this server's maintenance service.
    pub fn maintenance(&self, bearer: Bearer) -> Maintenance {
        MaintenanceServiceClient::with_interceptor(self.channel.clone(), bearer)
    }

    /// Stops it as a crash would: no graceful shutdown, every task dropped
    /// where it stands, its connections closed mid-transaction (Postgres
    /// rolls back whatever they had not committed).
    pub fn kill(mut self) {
        self.server.end(false);
    }
}

/// A server running on its own thread and runtime until stopped.
struct ServerThread {
    /// `true`: stop gracefully; `false`: crash.
    stop: Option<std::sync::mpsc::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    fn start(
        options: PgConnectOptions,
        clock: Arc<ManualClock>,
        auth: Arc<Authenticator>,
        services: Vec<String>,
        job_interval: Duration,
        notifier: Option<Endpoint>,
        configure: fn(&mut ServeOptions),
    ) -> (ServerThread, [SocketAddr; 3], Channel) {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<bool>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let pool = PgPoolOptions::new()
                    .max_connections(30)
                    .connect_with(options)
                    .await
                    .unwrap();
                let state = AppState {
                    pool: pool.clone(),
                    clock,
                    auth,
                    metrics: Metrics::default(),
                };
                let mut serve_options = ServeOptions {
                    services,
                    dispatch: DispatchOptions {
                        poll_interval: Duration::from_millis(100),
                        ..DispatchOptions::default()
                    },
                    shutdown_grace: Duration::from_secs(5),
                    health_probe_interval: Duration::from_millis(100),
                    job_interval,
                    notifier,
                    cors_origins: vec![http::HeaderValue::from_static(ALLOWED_ORIGIN)],
                    ..ServeOptions::default()
                };
                configure(&mut serve_options);
                let server = Background::start(state, serve_options, true).await.unwrap();
                // The client connection is driven by this runtime too, so it
                // still answers the server's shutdown handshake after the
                // test's runtime has stopped.
                let channel = Channel::from_shared(format!("http://{}", server.grpc_addr))
                    .unwrap()
                    .connect_lazy();
                ready_tx
                    .send((
                        [server.grpc_addr, server.admin_addr.unwrap(), server.http_addr.unwrap()],
                        channel,
                    ))
                    .unwrap();
                // Wait for the stop without holding a runtime worker.
                let graceful = tokio::task::spawn_blocking(move || stop_rx.recv().unwrap_or(true)).await;
                if graceful.unwrap_or(true) {
                    server.stop().await.unwrap();
                    pool.close().await;
                } else {
                    // A crash: the runtime goes down under every task.
                    std::mem::forget(server);
                }
            });
            // Dropping the runtime drops what its tasks were doing.
            drop(runtime);
        });
        let (addrs, channel) = ready_rx.recv().expect("the test server started");
        (
            ServerThread {
                stop: Some(stop_tx),
                thread: Some(thread),
            },
            addrs,
            channel,
        )
    }

    fn stop(&mut self) {
        self.end(true);
    }

    fn end(&mut self, graceful: bool) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(graceful);
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the test server stopped cleanly");
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_serving(&["all"]).await
    }

    /// A server of some services only, as one deployment of several. Its
    /// background jobs run once at start, then tests run them
    /// ([`TestApp::run_jobs`]) after moving the clock.
    pub async fn spawn_serving(services: &[&str]) -> TestApp {
        TestApp::spawn_with(services, Duration::from_secs(3600)).await
    }

    /// A server whose background jobs look for due work every `job_interval`.
    pub async fn spawn_with(services: &[&str], job_interval: Duration) -> TestApp {
        TestApp::spawn_full(services, job_interval, None, |_| {}).await
    }

    /// A server of every service whose options `configure` changes.
    pub async fn spawn_configured(configure: fn(&mut ServeOptions)) -> TestApp {
        TestApp::spawn_full(&["all"], Duration::from_secs(3600), None, configure).await
    }

    /// A server of every service posting reminders to `notifier`.
    pub async fn spawn_notifying(notifier: Endpoint) -> TestApp {
        TestApp::spawn_full(&["all"], Duration::from_secs(3600), Some(notifier), |_| {}).await
    }

    async fn spawn_full(
        services: &[&str],
        job_interval: Duration,
        notifier: Option<Endpoint>,
        configure: fn(&mut ServeOptions),
    ) -> TestApp {
        // The server's logs, shown with a failing test's output.
        aftercare_platform::telemetry::init_logging(Default::default());
        let services = services.iter().map(|s| s.to_string()).collect();
        let db = TestDb::create().await;
        let pool = db.pool(10).await;
        let clock = Arc::new(ManualClock::new(start_time()));
        let auth = Arc::new(Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap());
        let (server, [grpc_addr, admin_addr, http_addr], channel) = ServerThread::start(
            db.options.clone(),
            clock.clone(),
            auth.clone(),
            services,
            job_interval,
            notifier,
            configure,
        );
        TestApp {
            grpc_addr,
            admin_addr,
            http_addr,
            pool,
            clock,
            auth,
            channel,
            server,
            _db: db,
        }
    }

    /// Another server on this one's database and clock, as a second
    /// replica of the same deployment; it stops when dropped.
    pub fn spawn_replica(&self, services: &[&str], job_interval: Duration) -> Replica {
        let services = services.iter().map(|s| s.to_string()).collect();
        let (server, _, channel) = ServerThread::start(
            self._db.options.clone(),
            self.clock.clone(),
            self.auth.clone(),
            services,
            job_interval,
            None,
            |_| {},
        );
        Replica { server, channel }
    }

    pub fn token(&self, role: Role, subject: &str) -> String {
        self.auth.issue(role, subject, Duration::from_secs(3600)).unwrap()
    }

    pub fn bearer(&self, role: Role, subject: &str) -> Bearer {
        Bearer(Some(format!("Bearer {}", self.token(role, subject)).parse().unwrap()))
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn orders(&self, role: Role, subject: &str) -> Orders {
        OrderServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn orders_with(&self, bearer: Bearer) -> Orders {
        OrderServiceClient::with_interceptor(self.channel(), bearer)
    }

    pub fn orders_anonymous(&self) -> Orders {
        self.orders_with(Bearer(None))
    }

    pub fn returns(&self, role: Role, subject: &str) -> Returns {
        ReturnServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn returns_anonymous(&self) -> Returns {
        ReturnServiceClient::with_interceptor(self.channel(), Bearer(None))
    }

    pub fn loyalty(&self, role: Role, subject: &str) -> Loyalty {
        LoyaltyServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn store_credit(&self, role: Role, subject: &str) -> StoreCredit {
        StoreCreditServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn warranty(&self, role: Role, subject: &str) -> Warranty {
        WarrantyServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn maintenance(&self, role: Role, subject: &str) -> Maintenance {
        MaintenanceServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn events(&self, role: Role, subject: &str) -> Events {
        EventServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    pub fn feedback(&self, role: Role, subject: &str) -> Feedback {
        self.feedback_with(self.bearer(role, subject))
    }

    pub fn insight(&self, role: Role, subject: &str) -> Insight {
        InsightServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    /// Without a token when `bearer` is `Bearer(None)`: a survey link's holder.
    pub fn feedback_with(&self, bearer: Bearer) -> Feedback {
        FeedbackServiceClient::with_interceptor(self.channel(), bearer)
    }

    pub fn webhooks(&self, role: Role, subject: &str) -> Webhooks {
        WebhookServiceClient::with_interceptor(self.channel(), self.bearer(role, subject))
    }

    /// Runs the webhook delivery job until it has nothing more to post now.
    pub async fn run_webhooks(&self) {
        use aftercare_platform::jobs::Job;
        let job = aftercare_events::webhooks::job::Delivery::new(self.pool.clone(), self.clock.clone());
        while job.run_once().await.expect("the webhook job ran") {}
    }

    /// Runs the services' background jobs until nothing is left due
    /// at the test clock's now: the same code the server's job loop runs.
    pub async fn run_jobs(&self) {
        let ctx = aftercare_platform::context::ServiceContext {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            outbox_wake: Default::default(),
            notifier: None,
            nats_url: None,
            stopping: tokio::sync::watch::channel(false).1,
        };
        let job = aftercare_loyalty::app::jobs::DueWork::new(ctx.clone());
        while job.run().await.expect("the loyalty job ran") {}
        let job = aftercare_loyalty::app::store_credit::LapsedCreditHolds::new(ctx.clone());
        while job.run().await.expect("the store-credit job ran") {}
        let job = aftercare_warranty::app::sla::SlaAlarms::new(ctx.clone());
        while job.run().await.expect("the warranty SLA job ran") {}
        let job = aftercare_maintenance::app::reminders::Reminders::new(ctx.clone());
        while job.run().await.expect("the maintenance reminder job ran") {}
        let job = aftercare_feedback::app::cases::SurveySender::new(ctx.clone());
        while job.run().await.expect("the survey job ran") {}
        let job = aftercare_feedback::app::follow_ups::Breaches::new(ctx);
        while job.run().await.expect("the follow-up SLA job ran") {}
    }

    /// Waits until every event emitted so far has reached its consumers
    /// (e.g. an order's delivery has reached the returns service). Polls the
    /// delivery rows: a wait on a condition, bounded, not a fixed sleep.
    pub async fn settle(&self) {
        self.settle_consumers(&[]).await
    }

    /// [`TestApp::settle`] for the deliveries of `consumers` only (all when
    /// empty): a test of one service's flood waits for that service, not
    /// for every other consumer of the same events.
    pub async fn settle_consumers(&self, consumers: &[&str]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let names: Vec<String> = consumers.iter().map(|c| c.to_string()).collect();
        loop {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM platform.outbox_deliveries
                 WHERE delivered_at IS NULL AND (cardinality($1::text[]) = 0 OR consumer = ANY ($1))",
            )
            .bind(&names)
            .fetch_one(&self.pool)
            .await
            .unwrap();
            if pending == 0 {
                return;
            }
            let stuck: Option<String> = sqlx::query_scalar(
                "SELECT last_error FROM platform.outbox_deliveries WHERE delivered_at IS NULL AND last_error IS NOT NULL
                   AND (cardinality($1::text[]) = 0 OR consumer = ANY ($1)) LIMIT 1",
            )
            .bind(&names)
            .fetch_optional(&self.pool)
            .await
            .unwrap();
            assert!(stuck.is_none(), "an event failed to deliver: {stuck:?}");
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} event deliveries still pending"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The storefront backend.
    pub fn storefront(&self) -> Orders {
        self.orders(Role::Service, "storefront")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        // Blocking is fine: the server runs on its own runtime.
        self.server.stop();
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// GETs a path on the admin port and returns (status line, body).
    pub async fn admin_get(&self, path: &str) -> (String, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.admin_addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
    }
}
