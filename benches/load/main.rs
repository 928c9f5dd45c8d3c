//! Load benchmark: the release binary in its own process on an embedded
//! Postgres cluster (fsync and synchronous_commit on), driven over loopback,
//! beside pgbench against the same cluster in the same run.
//!
//! `scripts/bench [--seconds S] [--concurrency C] [--skip-h2load]`
//!
//! Every row runs for a duration with C concurrent callers and reports
//! throughput, latency percentiles, and the CPU of the load generator, the
//! server and the rest (Postgres), so a saturated generator is visible.
//! Reads are compared with pgbench's select-only script, writes with its
//! TPC-B script, checkouts on one hot account with a pgbench script that
//! updates one row. The loyalty expiry job then runs over a million lots
//! with checkouts going on. Then each row of ours runs again as an open loop at half
//! its peak rate (latency at a realistic load), and the server's memory is
//! read under load and with 1,000 idle HTTP/2 connections. The read rows are
//! repeated with h2load, an outside gRPC load generator.
//!
//! The benchmark exits non-zero when any call of any row failed; it never
//! judges a timing.

mod events;
mod external;
mod gateway;
mod loyalty;
mod maintenance;
mod measure;
mod warranty;
mod workload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aftercare::database::Database;
use aftercare_platform::auth::{Authenticator, JwtKey, Role};
use external::Script;
use prost::Message;

use measure::Row;
use workload::Workload;

const SECRET: &str = "bench-secret-bench-secret-bench-secret";

struct Args {
    seconds: u64,
    concurrency: usize,
    h2load: bool,
    /// Only the reminder job over its million schedules, on a fresh
    /// cluster: the job measured alone.
    reminder_job_only: bool,
    /// Only the event stream's row, on a fresh cluster.
    events_only: bool,
    /// Only GetReturn over gRPC, REST and gRPC-Web (and h2load), beside
    /// pgbench select-only.
    gateway_only: bool,
}

fn args() -> Args {
    let mut a = Args {
        seconds: 10,
        concurrency: 16,
        h2load: true,
        reminder_job_only: false,
        events_only: false,
        gateway_only: false,
    };
    let argv: Vec<String> = std::env::args().collect();
    for (i, arg) in argv.iter().enumerate() {
        let value = || argv.get(i + 1).map(String::as_str).unwrap_or_default();
        match arg.as_str() {
            "--seconds" => a.seconds = value().parse().expect("--seconds S"),
            "--concurrency" => a.concurrency = value().parse().expect("--concurrency C"),
            "--skip-h2load" => a.h2load = false,
            "--reminder-job-only" => a.reminder_job_only = true,
            "--events-only" => a.events_only = true,
            "--gateway-only" => a.gateway_only = true,
            _ => {}
        }
    }
    a
}

/// What a row is compared with.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Read,
    Write,
    /// Writes to one row, compared with pgbench updating one row.
    HotWrite,
}

#[tokio::main]
async fn main() {
    let args = args();
    let duration = Duration::from_secs(args.seconds);
    let dir = std::env::temp_dir().join(format!("aftercare-bench-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let db = Database::open(None, &dir.join("pg"), 4)
        .await
        .expect("embedded Postgres");
    let url = db.embedded_url("aftercare").expect("an embedded cluster");
    aftercare_platform::db::ensure_database(&db.embedded_url("postgres").unwrap(), "pgbench")
        .await
        .expect("pgbench database");
    // pgbench's documentation: a scale below the client count measures
    // TPC-B's contention on its branch rows more than the database.
    let scale = args.concurrency.max(10) as u32;
    let pgbench = external::Pgbench::init(db.embedded_url("pgbench").unwrap(), dir.join("pgbench"), scale);

    let binary = PathBuf::from(env!("CARGO_BIN_EXE_aftercare"));
    let server = external::Server::start(&binary, &url, SECRET, &dir.join("server.log")).await;
    // Warranty's rows use products registered directly (warranty.rs): its
    // order subscription would register every unit of the 10,000-unit lines
    // recorded here, load the cluster under every other row, and is dropped.
    sqlx::query("DELETE FROM platform.outbox_consumers WHERE name = 'warranty.orders'")
        .execute(&db.pool)
        .await
        .expect("unsubscribe warranty");
    if args.events_only {
        let auth = Authenticator::new(&JwtKey::Secret(SECRET.as_bytes().to_vec())).unwrap();
        events::row(&server.url(), &auth, &db.pool).await;
        server.stop();
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    if args.reminder_job_only {
        let channel = tonic::transport::Channel::from_shared(server.url())
            .unwrap()
            .connect()
            .await
            .expect("the server");
        let auth = Authenticator::new(&JwtKey::Secret(SECRET.as_bytes().to_vec())).unwrap();
        maintenance::write_plan(channel, &auth).await;
        maintenance::reminder_job(&db.pool).await;
        server.stop();
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let pid = server.pid();
    let auth = Arc::new(Authenticator::new(&JwtKey::Secret(SECRET.as_bytes().to_vec())).unwrap());
    let rss_idle_kb = server.memory_kb("VmRSS");

    let c = args.concurrency;
    let mut rows: Vec<(Option<Kind>, Row)> = Vec::new();
    rows.push((
        None,
        pgbench.run("pgbench select-only", Script::SelectOnly, c, duration, pid),
    ));
    if args.gateway_only {
        let w = Workload::prepare(&server.url(), auth.clone(), c, &db.pool).await;
        let grpc = measure::closed_loop("GetReturn", pid, c, duration, w.call("GetReturn", true)).await;
        rows.push((Some(Kind::Read), grpc));
        for row in gateway::rows(&server, &w, &auth, pid, c, duration).await {
            rows.push((Some(Kind::Read), row));
        }
        if args.h2load {
            let bearer = auth.issue(Role::Service, "bench", Duration::from_secs(3600)).unwrap();
            let h2 = dir.join("h2load");
            std::fs::create_dir_all(&h2).unwrap();
            let call = external::H2Call {
                name: "h2load GetReturn",
                path: "/aftercare.returns.v1.ReturnService/GetReturn",
                message: w.get_return_body(),
                token: Some(bearer.as_str()),
            };
            rows.push((
                Some(Kind::Read),
                external::h2load(&server, call, c, duration, &h2).await,
            ));
        }
        print_results(&args, &rows, &[]);
        server.stop();
        db.close().await;
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    rows.push((None, pgbench.run("pgbench TPC-B", Script::TpcB, c, duration, pid)));
    rows.push((
        None,
        pgbench.run("pgbench one-row update", Script::OneRowUpdate, c, duration, pid),
    ));

    let w = Workload::prepare(&server.url(), auth.clone(), c, &db.pool).await;
    let mut half: Vec<Row> = Vec::new();
    // Ours, by closed loop (peak) then open loop at half of that peak:
    // reads first (then h2load's), writes last, so that no read row runs
    // while Postgres is still busy with the writes' aftermath.
    let reads = [
        ("Health/Check (transport only)", None),
        ("GetOrder", Some(Kind::Read)),
        ("GetReturn", Some(Kind::Read)),
        ("CheckEligibility", Some(Kind::Read)),
        ("ListOrders (page 20)", Some(Kind::Read)),
        ("GetAccount", Some(Kind::Read)),
        ("CheckCoverage", Some(Kind::Read)),
        ("ListSchedules", Some(Kind::Read)),
    ];
    let writes = [
        ("RecordOrder (new)", Some(Kind::Write)),
        ("RecordOrder (replay)", Some(Kind::Write)),
        ("CreateReturn", Some(Kind::Write)),
        ("IssueRefund", Some(Kind::Write)),
        ("Hold+Capture (many accounts)", Some(Kind::Write)),
        ("Hold+Capture (one hot account)", Some(Kind::HotWrite)),
        ("FileClaim", Some(Kind::Write)),
        ("BookAppointment", Some(Kind::Write)),
    ];
    for (name, kind) in reads {
        let (peak, at_half) = peak_and_half(&w, name, pid, c, duration).await;
        rows.push((kind, peak));
        half.push(at_half);
    }
    for row in gateway::rows(&server, &w, &auth, pid, c, duration).await {
        rows.push((Some(Kind::Read), row));
    }
    if args.h2load {
        let bearer = auth.issue(Role::Service, "bench", Duration::from_secs(3600)).unwrap();
        let h2 = dir.join("h2load");
        std::fs::create_dir_all(&h2).unwrap();
        let health = tonic_health::pb::HealthCheckRequest { service: String::new() }.encode_to_vec();
        let token = Some(bearer.as_str());
        let reads = [
            (
                None,
                "h2load Health/Check",
                "/grpc.health.v1.Health/Check",
                health,
                None,
            ),
            (
                Some(Kind::Read),
                "h2load GetOrder",
                "/aftercare.orders.v1.OrderService/GetOrder",
                w.get_order_body(),
                token,
            ),
            (
                Some(Kind::Read),
                "h2load GetReturn",
                "/aftercare.returns.v1.ReturnService/GetReturn",
                w.get_return_body(),
                token,
            ),
            (
                Some(Kind::Read),
                "h2load GetAccount",
                "/aftercare.loyalty.v1.LoyaltyService/GetAccount",
                w.get_account_body(),
                token,
            ),
            (
                Some(Kind::Read),
                "h2load CheckEligibility",
                "/aftercare.returns.v1.ReturnService/CheckEligibility",
                w.check_eligibility_body(),
                token,
            ),
            (
                Some(Kind::Read),
                "h2load CheckCoverage",
                "/aftercare.warranty.v1.WarrantyService/CheckCoverage",
                w.check_coverage_body(),
                token,
            ),
            (
                Some(Kind::Read),
                "h2load ListSchedules",
                "/aftercare.maintenance.v1.MaintenanceService/ListSchedules",
                w.list_schedules_body(),
                token,
            ),
        ];
        for (kind, name, path, message, token) in reads {
            let call = external::H2Call {
                name,
                path,
                message,
                token,
            };
            rows.push((kind, external::h2load(&server, call, c, duration, &h2).await));
        }
    }

    // A write's events are applied after it answers (the returns
    // projection of new orders, for one). What a row leaves undelivered is
    // reported, and delivered before the next row starts, so that no row
    // pays for another's backlog.
    let mut backlogs = Vec::new();
    for (name, kind) in writes {
        let (peak, at_half) = peak_and_half(&w, name, pid, c, duration).await;
        rows.push((kind, peak));
        half.push(at_half);
        backlogs.push((name, drain_outbox(&db.pool).await));
    }
    // The expiry job over a million lots, with checkouts at half their
    // peak rate meanwhile: how long it takes, and what it does to them.
    let checkout_peak = rows
        .iter()
        .find(|(_, r)| r.name == "Hold+Capture (many accounts)")
        .map(|(_, r)| r.throughput())
        .unwrap_or(100.0);
    loyalty::seed_expired_lots(&db.pool).await;
    let (took, during) = tokio::join!(
        loyalty::until_expired(&db.pool),
        measure::open_loop(
            "Hold+Capture during expiry",
            pid,
            checkout_peak / 2.0,
            duration,
            w.call("Hold+Capture (many accounts)", false)
        )
    );
    let expiry_entries = loyalty::expired_entries(&db.pool).await;
    half.push(during);
    // The SLA breach scan: a million open claims, a million closed.
    warranty::seed_claims(&db.pool).await;
    let scan_took = warranty::until_raised(&db.pool).await;
    let (alarms, scan_plan) = warranty::report(&db.pool).await;
    maintenance::reminder_job(&db.pool).await;
    events::row(&server.url(), &auth, &db.pool).await;
    let rss_load_kb = server.memory_kb("VmHWM");

    let rss_before_conns_kb = server.memory_kb("VmRSS");
    let idle = w.idle_connections(&server.url(), 1000).await;
    let rss_idle_conns_kb = server.memory_kb("VmRSS");
    drop(idle);

    print_results(&args, &rows, &half);
    println!(
        "\nEvents left undelivered when each write row ended, and the time the dispatcher took to deliver them:\n"
    );
    for (name, (left, took)) in &backlogs {
        println!("- {name}: {left} events, delivered in {:.1} s", took.as_secs_f64());
    }
    println!(
        "\nExpiry job: {} lots past their expiry, of {} accounts, expired in {:.1} s from their commit \
         ({:.0} lots/s, {} expiry entries), checkouts at half their peak rate meanwhile \
         (the row \"Hold+Capture during expiry\" above).",
        loyalty::EXPIRING_LOTS,
        loyalty::EXPIRING_CUSTOMERS,
        took.as_secs_f64(),
        loyalty::EXPIRING_LOTS as f64 / took.as_secs_f64().max(1e-9),
        expiry_entries,
    );
    println!(
        "\nSLA breach scan: {} open claims ({} of them due: at risk and breached at once) beside {} closed \
         ones; the job raised {} alarms in {:.1} s from their commit ({:.0} claims/s). Its scan's plan:\n",
        warranty::OPEN_CLAIMS,
        warranty::DUE_CLAIMS,
        warranty::CLOSED_CLAIMS,
        alarms,
        scan_took.as_secs_f64(),
        warranty::DUE_CLAIMS as f64 / scan_took.as_secs_f64().max(1e-9),
    );
    for line in &scan_plan {
        println!("    {line}");
    }
    println!(
        "\nServer memory: {} MB at start, {} MB peak (VmHWM) under the load above, {} MB with 1,000 idle \
         HTTP/2 connections open ({:+} MB for them).",
        rss_idle_kb / 1024,
        rss_load_kb / 1024,
        rss_idle_conns_kb / 1024,
        (rss_idle_conns_kb as i64 - rss_before_conns_kb as i64) / 1024,
    );

    server.stop();
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let failed: Vec<&Row> = rows
        .iter()
        .map(|(_, r)| r)
        .chain(&half)
        .filter(|r| r.failures > 0)
        .collect();
    for r in &failed {
        eprintln!(
            "FAILED: {} — {} of {} calls failed; first: {}",
            r.name,
            r.failures,
            r.requests,
            r.first_failure.as_deref().unwrap_or("?")
        );
    }
    if !failed.is_empty() {
        std::process::exit(1);
    }
}

/// Waits until the outbox has nothing left to deliver; returns how much
/// there was and how long it took.
async fn drain_outbox(pool: &sqlx::PgPool) -> (i64, Duration) {
    let pending = || {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM platform.outbox_deliveries WHERE delivered_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(pool)
    };
    let started = std::time::Instant::now();
    let left = pending().await.expect("outbox backlog");
    while pending().await.expect("outbox backlog") > 0 {
        assert!(started.elapsed() < Duration::from_secs(600), "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (left, started.elapsed())
}

/// A row of ours at its peak (closed loop), then at half that rate (open
/// loop, for half as long).
async fn peak_and_half(w: &Workload, name: &str, pid: u32, clients: usize, duration: Duration) -> (Row, Row) {
    let peak = measure::closed_loop(name, pid, clients, duration, w.call(name, true)).await;
    let rate = peak.throughput() / 2.0;
    let at_half = measure::open_loop(name, pid, rate, duration / 2, w.call(name, false)).await;
    (peak, at_half)
}

fn print_results(args: &Args, rows: &[(Option<Kind>, Row)], half: &[Row]) {
    let reference = |name: &str| rows.iter().find(|(_, r)| r.name == name).map(|(_, r)| r.throughput());
    let select = reference("pgbench select-only").unwrap_or(f64::NAN);
    let tpcb = reference("pgbench TPC-B").unwrap_or(f64::NAN);
    let one_row = reference("pgbench one-row update").unwrap_or(f64::NAN);
    println!(
        "\n{} s per row, {} concurrent clients (pgbench: {} clients, 2 threads), loopback. \
         Ratio: reads and the transport baseline against pgbench select-only, writes against pgbench TPC-B, \
         one hot account's checkouts against pgbench updating one row. A Hold+Capture is two calls. \
         CPU in % of one core (200 = both cores); other = the machine's busy time less generator and \
         server, i.e. Postgres and anything else running.\n",
        args.seconds, args.concurrency, args.concurrency
    );
    println!(
        "| {:<30} | {:<7} | {:>8} | {:>9} | {:>6} | {:>7} | {:>7} | {:>7} | {:>7} | {:>6} | {:>6} | {:>6} |",
        "row",
        "load by",
        "requests",
        "req/s",
        "ratio",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "gen %",
        "srv %",
        "other %"
    );
    println!(
        "|{:-<32}|{:-<9}|{:->10}|{:->11}|{:->8}|{:->9}|{:->9}|{:->9}|{:->9}|{:->8}|{:->8}|{:->8}|",
        "", "", "", "", "", "", "", "", "", "", "", ""
    );
    for (kind, r) in rows {
        let ratio = match kind {
            Some(Kind::Write) => r.throughput() / tpcb,
            Some(Kind::HotWrite) => r.throughput() / one_row,
            _ => r.throughput() / select,
        };
        println!(
            "| {:<30} | {:<7} | {:>8} | {:>9.0} | {:>6.3} | {:>7.2} | {:>7.2} | {:>7.2} | {:>7.2} | {:>6.0} | {:>6.0} | {:>6.0} |",
            r.name,
            r.generator,
            r.requests,
            r.throughput(),
            ratio,
            r.ms(0.5),
            r.ms(0.9),
            r.ms(0.99),
            r.ms(1.0),
            r.cpu.client,
            r.cpu.server,
            r.cpu.rest,
        );
    }
    println!("\nAt half of each row's peak rate (open loop, latency counted from when each call was due):\n");
    println!(
        "| {:<30} | {:>9} | {:>7} | {:>7} | {:>7} | {:>6} | {:>6} | {:>6} |",
        "row", "req/s", "p50 ms", "p99 ms", "max ms", "gen %", "srv %", "other %"
    );
    println!(
        "|{:-<32}|{:->11}|{:->9}|{:->9}|{:->9}|{:->8}|{:->8}|{:->8}|",
        "", "", "", "", "", "", "", ""
    );
    for r in half {
        println!(
            "| {:<30} | {:>9.0} | {:>7.2} | {:>7.2} | {:>7.2} | {:>6.0} | {:>6.0} | {:>6.0} |",
            r.name,
            r.throughput(),
            r.ms(0.5),
            r.ms(0.99),
            r.ms(1.0),
            r.cpu.client,
            r.cpu.server,
            r.cpu.rest,
        );
    }
}
