//! Driving calls and recording what they cost: closed loops for a duration
//! (peak throughput), open loops at a fixed rate (latency at a given load),
//! latency percentiles, and the CPU each process used meanwhile.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

/// What one call of a row does: `None` when there is no more work (a row
/// that consumes prepared data), else the call's outcome.
pub type CallResult = Result<(), String>;

/// CPU ticks (1/100 s, Linux's USER_HZ) used by this process, the server,
/// and the whole machine, at one instant.
#[derive(Clone, Copy)]
pub struct Cpu {
    at: Instant,
    me: u64,
    server: u64,
    machine_busy: u64,
}

/// A process's user + system CPU ticks, from `/proc/<pid>/stat` (also for a
/// zombie that has not been reaped yet).
pub fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command: state is the 1st, utime the
    // 12th and stime the 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or_default();
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    v.iter().take(8).sum::<u64>() - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)
}

impl Cpu {
    pub fn now(server_pid: u32) -> Cpu {
        Cpu {
            at: Instant::now(),
            me: process_ticks("self").unwrap_or(0),
            server: process_ticks(&server_pid.to_string()).unwrap_or(0),
            machine_busy: machine_busy_ticks(),
        }
    }

    /// CPU used since `self`, in % of one core; `generator_ticks` replaces
    /// this process's own when the load came from another program.
    pub fn since(&self, server_pid: u32, generator_ticks: Option<u64>) -> CpuUse {
        let end = Cpu::now(server_pid);
        let secs = end.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let pct = |ticks: u64| ticks as f64 / secs; // ticks are 1/100 s
        let client = generator_ticks.unwrap_or(end.me.saturating_sub(self.me));
        let server = end.server.saturating_sub(self.server);
        let busy = end.machine_busy.saturating_sub(self.machine_busy);
        CpuUse {
            client: pct(client),
            server: pct(server),
            rest: pct(busy.saturating_sub(client + server)),
        }
    }
}

/// Where the CPU went during a row, in % of one core (the machine has as
/// many hundreds as it has cores).
#[derive(Clone, Copy, Default)]
pub struct CpuUse {
    /// The load generator.
    pub client: f64,
    /// The aftercare server process.
    pub server: f64,
    /// Everything else: Postgres, and whatever else ran.
    pub rest: f64,
}

/// A call that has not answered after this counts as failed (a hung server
/// must not hang the benchmark).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

async fn bounded<Fut: Future<Output = CallResult>>(call: Fut) -> CallResult {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CALL_TIMEOUT:?}")))
}

/// One measured row.
pub struct Row {
    pub name: String,
    /// Who generated the load: tonic (this benchmark), h2load or pgbench.
    pub generator: &'static str,
    pub requests: usize,
    pub failures: usize,
    pub first_failure: Option<String>,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies: Vec<Duration>,
    pub cpu: CpuUse,
}

impl Row {
    pub fn new(
        name: impl Into<String>,
        generator: &'static str,
        elapsed: Duration,
        mut latencies: Vec<Duration>,
    ) -> Row {
        latencies.sort();
        Row {
            name: name.into(),
            generator,
            requests: latencies.len(),
            failures: 0,
            first_failure: None,
            elapsed,
            latencies,
            cpu: CpuUse::default(),
        }
    }

    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `p` (0..=1), in milliseconds.
    pub fn ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }
}

struct Outcome {
    latencies: Vec<Duration>,
    failures: usize,
    first_failure: Option<String>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            latencies: Vec::new(),
            failures: 0,
            first_failure: None,
        }
    }

    fn record(&mut self, latency: Duration, result: CallResult) {
        self.latencies.push(latency);
        if let Err(e) = result {
            self.failures += 1;
            self.first_failure.get_or_insert(e);
        }
    }

    fn merge(&mut self, other: Outcome) {
        self.latencies.extend(other.latencies);
        self.failures += other.failures;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }

    fn into_row(self, name: String, elapsed: Duration, cpu: CpuUse) -> Row {
        let mut row = Row::new(name, "tonic", elapsed, self.latencies);
        row.failures = self.failures;
        row.first_failure = self.first_failure;
        row.cpu = cpu;
        row
    }
}

/// Runs `call(i)` from `concurrency` tasks, each issuing its next call when
/// the last one answered, for `duration` (or until `call` has no more work).
pub async fn closed_loop<F, Fut>(name: &str, server_pid: u32, concurrency: usize, duration: Duration, call: F) -> Row
where
    F: Fn(usize) -> Option<Fut> + Send + Sync + 'static,
    Fut: Future<Output = CallResult> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = Cpu::now(server_pid);
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..concurrency {
        let (call, next) = (call.clone(), next.clone());
        tasks.spawn(async move {
            let mut out = Outcome::new();
            while Instant::now() < deadline {
                let Some(future) = call(next.fetch_add(1, Ordering::Relaxed)) else {
                    break;
                };
                let t = Instant::now();
                let result = bounded(future).await;
                out.record(t.elapsed(), result);
            }
            out
        });
    }
    let mut all = Outcome::new();
    while let Some(out) = tasks.join_next().await {
        all.merge(out.expect("a load task panicked"));
    }
    let elapsed = started.elapsed();
    all.into_row(name.to_owned(), elapsed, cpu.since(server_pid, None))
}

/// Issues `call(i)` at a fixed `rate` per second for `duration`, whatever
/// the answers (an open loop). Latency counts from when a call was due, so
/// a stall shows up in the percentiles instead of slowing the load down.
pub async fn open_loop<F, Fut>(name: &str, server_pid: u32, rate: f64, duration: Duration, call: F) -> Row
where
    F: Fn(usize) -> Option<Fut> + Send + Sync + 'static,
    Fut: Future<Output = CallResult> + Send + 'static,
{
    let cpu = Cpu::now(server_pid);
    let started = tokio::time::Instant::now();
    let total = (rate * duration.as_secs_f64()) as usize;
    let mut tasks = JoinSet::new();
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let Some(future) = call(i) else {
            break;
        };
        tasks.spawn(async move {
            let result = bounded(future).await;
            (due.elapsed(), result)
        });
    }
    let mut all = Outcome::new();
    while let Some(done) = tasks.join_next().await {
        let (latency, result) = done.expect("a load task panicked");
        all.record(latency, result);
    }
    let elapsed = started.elapsed();
    all.into_row(name.to_owned(), elapsed, cpu.since(server_pid, None))
}
