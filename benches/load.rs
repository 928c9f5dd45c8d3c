//! Load benchmark: the real server over loopback on its embedded Postgres,
//! driven by tonic clients. Reports throughput and latency percentiles per
//! RPC beside a baseline (the gRPC health check: transport, no auth, no
//! database), all measured in one run on the same machine.
//!
//! `cargo bench --bench load -- [--requests N] [--concurrency C]`
//!
//! Request loops are bounded by count; the benchmark stops by itself and
//! only talks to 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aftercare::database::Database;
use aftercare::server::{AppState, Background, ServeOptions};
use aftercare_platform::auth::{Authenticator, JwtKey, Role};
use aftercare_platform::clock::SystemClock;
use aftercare_platform::telemetry::Metrics;
use aftercare_platform::wire::timestamp as to_proto;
use aftercare_proto::common::{Channel as PbChannel, Money};
use aftercare_proto::orders::order_service_client::OrderServiceClient;
use aftercare_proto::orders::{
    GetOrderRequest, ListOrdersRequest, OrderLineInput, RecordDeliveryRequest, RecordOrderRequest,
};
use aftercare_proto::returns::return_service_client::ReturnServiceClient;
use aftercare_proto::returns::{
    CheckEligibilityRequest, CreateReturnRequest, Resolution, ReturnItemInput, ReturnReason,
};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret";

struct Args {
    requests: usize,
    concurrency: usize,
}

fn args() -> Args {
    let mut a = Args {
        requests: 4000,
        concurrency: 16,
    };
    let argv: Vec<String> = std::env::args().collect();
    for pair in argv.windows(2) {
        match pair[0].as_str() {
            "--requests" => a.requests = pair[1].parse().expect("--requests N"),
            "--concurrency" => a.concurrency = pair[1].parse().expect("--concurrency C"),
            _ => {}
        }
    }
    a
}

/// A three-line order placed a day before the benchmark started.
fn order(id: &str, customer: &str) -> RecordOrderRequest {
    static PLACED_AT: std::sync::OnceLock<prost_types::Timestamp> = std::sync::OnceLock::new();
    let placed_at = PLACED_AT.get_or_init(|| to_proto(chrono::Utc::now() - chrono::Duration::days(1)));
    let eur = |a: &str| {
        Some(Money {
            currency_code: "EUR".into(),
            amount: a.into(),
        })
    };
    let line = |id: &str, q: i32| OrderLineInput {
        line_id: id.into(),
        sku: format!("SKU-{id}"),
        product_name: "Kettle".into(),
        category: "kitchen".into(),
        quantity: q,
        unit_price: eur("24.95"),
        discount: None,
        serial_numbers: vec![],
    };
    RecordOrderRequest {
        order_id: id.into(),
        customer_id: customer.into(),
        placed_at: Some(*placed_at),
        currency_code: "EUR".into(),
        channel: PbChannel::Web as i32,
        lines: vec![line("1", 2), line("2", 1), line("3", 1)],
        shipping_amount: eur("4.99"),
        order_discount: eur("5.00"),
    }
}

struct Report {
    name: &'static str,
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Report {
    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }

    fn row(&self) -> String {
        let ms = |d: Duration| format!("{:.2}", d.as_secs_f64() * 1000.0);
        format!(
            "| {:<22} | {:>8} | {:>10.0} | {:>8} | {:>8} | {:>8} | {:>8} |",
            self.name,
            self.requests,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.90)),
            ms(self.percentile(0.99)),
            ms(*self.latencies.last().unwrap()),
        )
    }
}

/// Runs `call(i)` for i in 0..requests from `concurrency` tasks.
async fn measure<F, Fut>(name: &'static str, args: &Args, call: F) -> Report
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (call, next, total) = (call.clone(), next.clone(), args.requests);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return latencies;
                    }
                    let t = Instant::now();
                    call(i).await;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(args.requests);
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Report {
        name,
        requests: args.requests,
        elapsed,
        latencies,
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = std::env::temp_dir().join(format!("aftercare-bench-{}", uuid::Uuid::now_v7().simple()));
    let db = Database::open(std::env::var("AFTERCARE_BENCH_DATABASE_URL").ok().as_deref(), &dir, 40)
        .await
        .expect("database");
    let auth = Arc::new(Authenticator::new(&JwtKey::Secret(SECRET.to_vec())).unwrap());
    let token = auth.issue(Role::Service, "bench", Duration::from_secs(3600)).unwrap();
    let state = AppState {
        pool: db.pool.clone(),
        clock: Arc::new(SystemClock),
        auth,
        metrics: Metrics::default(),
    };
    let server = Background::start(state, ServeOptions::default(), false).await.unwrap();
    let addr = server.grpc_addr;

    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect_lazy();
    let header: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    let orders_auth = move |mut r: tonic::Request<()>| {
        r.metadata_mut().insert("authorization", header.clone());
        Ok(r)
    };
    let orders = OrderServiceClient::with_interceptor(channel.clone(), orders_auth.clone());
    let health = HealthClient::new(channel.clone());
    // Seed orders to read, and warm the connection pool.
    for i in 0..50 {
        orders
            .clone()
            .record_order(order(&format!("seed-{i}"), "c-seed"))
            .await
            .unwrap();
    }
    let run = uuid::Uuid::now_v7().simple().to_string();

    let mut reports = Vec::new();
    let h = health.clone();
    reports.push(
        measure("baseline: Health/Check", &args, move |_| {
            let mut h = h.clone();
            async move {
                h.check(HealthCheckRequest { service: String::new() }).await.unwrap();
            }
        })
        .await,
    );
    let o = orders.clone();
    reports.push(
        measure("GetOrder", &args, move |i| {
            let mut o = o.clone();
            async move {
                o.get_order(GetOrderRequest {
                    order_id: format!("seed-{}", i % 50),
                })
                .await
                .unwrap();
            }
        })
        .await,
    );
    let o = orders.clone();
    reports.push(
        measure("ListOrders (page 20)", &args, move |_| {
            let mut o = o.clone();
            async move {
                let req = ListOrdersRequest {
                    customer_id: "c-seed".into(),
                    page_size: 20,
                    page_token: String::new(),
                };
                o.list_orders(req).await.unwrap();
            }
        })
        .await,
    );
    let (o, r) = (orders.clone(), run.clone());
    reports.push(
        measure("RecordOrder (new)", &args, move |i| {
            let (mut o, id) = (o.clone(), format!("{r}-{i}"));
            async move {
                o.record_order(order(&id, &format!("c-{}", i % 500))).await.unwrap();
            }
        })
        .await,
    );
    let o = orders.clone();
    reports.push(
        measure("RecordOrder (replay)", &args, move |i| {
            let mut o = o.clone();
            async move {
                o.record_order(order(&format!("seed-{}", i % 50), "c-seed"))
                    .await
                    .unwrap();
            }
        })
        .await,
    );

    // Returns: 200 delivered orders of three 10000-unit lines, known to the
    // returns service once their events are delivered.
    let returns = ReturnServiceClient::with_interceptor(channel.clone(), orders_auth.clone());
    for i in 0..200 {
        let mut req = order(&format!("ret-{i}"), &format!("c-{i}"));
        for line in &mut req.lines {
            line.quantity = 10_000;
        }
        orders.clone().record_order(req).await.unwrap();
        let delivery = RecordDeliveryRequest {
            order_id: format!("ret-{i}"),
            delivered_at: Some(to_proto(chrono::Utc::now())),
            line_ids: vec![],
        };
        orders.clone().record_delivery(delivery).await.unwrap();
    }
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT count(*) FROM platform.outbox_deliveries WHERE delivered_at IS NULL")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let r = returns.clone();
    reports.push(
        measure("CheckEligibility", &args, move |i| {
            let mut r = r.clone();
            async move {
                let req = CheckEligibilityRequest {
                    order_id: format!("ret-{}", i % 200),
                    line_ids: vec![],
                };
                r.check_eligibility(req).await.unwrap();
            }
        })
        .await,
    );
    let r = returns.clone();
    reports.push(
        measure("CreateReturn", &args, move |i| {
            let mut r = r.clone();
            async move {
                let req = CreateReturnRequest {
                    request_id: uuid::Uuid::now_v7().to_string(),
                    order_id: format!("ret-{}", i % 200),
                    channel: PbChannel::Web as i32,
                    items: vec![ReturnItemInput {
                        line_id: ["1", "2", "3"][i % 3].into(),
                        quantity: 1,
                        reason: ReturnReason::ChangedMind as i32,
                        resolution: Resolution::Refund as i32,
                        ..Default::default()
                    }],
                };
                r.create_return(req).await.unwrap();
            }
        })
        .await,
    );

    println!(
        "\n{} requests per row, {} concurrent clients, loopback\n",
        args.requests, args.concurrency
    );
    println!(
        "| {:<22} | {:>8} | {:>10} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "rpc", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    println!(
        "|{:-<24}|{:->10}|{:->12}|{:->10}|{:->10}|{:->10}|{:->10}|",
        "", "", "", "", "", "", ""
    );
    for r in &reports {
        println!("{}", r.row());
    }

    server.stop().await.unwrap();
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
