//! Programs outside this benchmark: the aftercare server (the release
//! binary, in its own process so its CPU and memory are its own), pgbench
//! against the same Postgres cluster, and h2load speaking raw gRPC frames.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::measure::{Cpu, Row, process_ticks};

/// A port the OS just handed out; free again for the server to take.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

pub struct Server {
    child: Child,
    pub grpc: String,
    admin: String,
    /// The REST gateway's address.
    pub http: String,
}

impl Server {
    /// Starts `aftercare serve` on `database_url` and waits until its gRPC
    /// health check answers SERVING.
    pub async fn start(binary: &Path, database_url: &str, secret: &str, log: &Path) -> Server {
        let (grpc, admin, http) = (
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
        );
        let child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                &grpc,
                "--admin-listen",
                &admin,
                "--http-listen",
                &http,
            ])
            .env("AFTERCARE_DATABASE_URL", database_url)
            .env("AFTERCARE_JWT_SECRET", secret)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).expect("server log"))
            .spawn()
            .expect("start the aftercare binary");
        let mut server = Server {
            child,
            grpc,
            admin,
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(channel) = Channel::from_shared(server.url()).unwrap().connect().await {
                let mut health = HealthClient::new(channel);
                let answer = health.check(HealthCheckRequest { service: String::new() }).await;
                if answer.is_ok_and(|r| r.into_inner().status == 1) {
                    return server;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "the server exited ({status}) before it was ready; see {}",
                    log.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the server did not become ready; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of `/proc/<pid>/status` in kB (`VmRSS`, `VmHWM`).
    pub fn memory_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Calls of `path` (`/package.Service/Method`) the server answered
    /// with OK, from its Prometheus metrics. (A path it does not serve is
    /// counted under `unknown`, so it never shows up here.)
    pub async fn ok_calls(&self, path: &str) -> u64 {
        let (service, method) = path.trim_start_matches('/').split_once('/').expect("a gRPC path");
        let text = http_get(&self.admin, "/metrics").await;
        let series = format!("aftercare_rpc_requests_total{{service=\"{service}\",method=\"{method}\",code=\"OK\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&series)?.trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let _ = self.child.wait();
    }
}

/// A benchmark that panics leaves no server behind.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET (the admin listener's metrics), without adding an
/// HTTP client to the build.
async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("admin listener");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut body = String::new();
    stream.read_to_string(&mut body).await.expect("read");
    body
}

/// Runs `command` to completion with its output in `out`, and returns how
/// much CPU it used: read from its `/proc` entry once it has exited but
/// before it is reaped.
fn run_measured(mut command: Command, out: &Path) -> (std::process::ExitStatus, u64) {
    let file = std::fs::File::create(out).expect("output file");
    let mut child = command
        .stdout(file.try_clone().expect("output file"))
        .stderr(file)
        .spawn()
        .expect("start the load generator");
    let pid = child.id().to_string();
    let mut ticks = 0;
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state.rfind(')').and_then(|i| state.get(i + 2..i + 3)) == Some("Z");
        if let Some(t) = process_ticks(&pid) {
            ticks = t;
        }
        if zombie || state.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait().expect("wait"), ticks)
}

fn percentile_row(name: &str, generator: &'static str, elapsed: Duration, latencies_us: Vec<u64>) -> Row {
    let latencies = latencies_us.into_iter().map(Duration::from_micros).collect();
    Row::new(name, generator, elapsed, latencies)
}

/// pgbench against `database_url` (a database of its own in the same
/// cluster), initialised once at scale `scale`.
pub struct Pgbench {
    pub url: String,
    pub dir: PathBuf,
}

/// The pgbench scripts rows are compared with.
#[derive(Clone, Copy)]
pub enum Script {
    /// Built in: one primary-key read per transaction.
    SelectOnly,
    /// Built in: five statements in a transaction.
    TpcB,
    /// Every client updates the same row: one hot row's ceiling.
    OneRowUpdate,
}

impl Pgbench {
    pub fn init(url: String, dir: PathBuf, scale: u32) -> Pgbench {
        std::fs::create_dir_all(&dir).expect("pgbench dir");
        let status = Command::new("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string(), &url])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("pgbench is installed (scripts/bench installs it)");
        assert!(status.success(), "pgbench -i failed");
        Pgbench { url, dir }
    }

    /// One pgbench run of `script`.
    pub fn run(&self, name: &str, script: Script, clients: usize, duration: Duration, server_pid: u32) -> Row {
        let run_dir = self.dir.join(match script {
            Script::SelectOnly => "select",
            Script::TpcB => "tpcb",
            Script::OneRowUpdate => "one-row",
        });
        let _ = std::fs::remove_dir_all(&run_dir);
        std::fs::create_dir_all(&run_dir).expect("pgbench run dir");
        let mut command = Command::new("pgbench");
        command
            .current_dir(&run_dir)
            .args(["-n", "-l", "-c", &clients.to_string(), "-j", "2"])
            .args(["-T", &duration.as_secs().max(1).to_string()]);
        match script {
            Script::SelectOnly => {
                command.arg("-S");
            }
            Script::TpcB => {}
            Script::OneRowUpdate => {
                let file = run_dir.join("one-row.sql");
                std::fs::write(
                    &file,
                    "UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;\n",
                )
                .expect("pgbench script");
                command.arg("-f").arg(&file);
            }
        }
        command.arg(&self.url);
        let cpu = Cpu::now(server_pid);
        let started = Instant::now();
        let (status, ticks) = run_measured(command, &run_dir.join("out.txt"));
        let elapsed = started.elapsed();
        let output = std::fs::read_to_string(run_dir.join("out.txt")).unwrap_or_default();
        let cpu = cpu.since(server_pid, Some(ticks));
        // Per transaction: client, number, latency (us), script, epoch s, us.
        let mut latencies = Vec::new();
        for entry in std::fs::read_dir(&run_dir).expect("pgbench logs").flatten() {
            if entry.file_name().to_string_lossy().starts_with("pgbench_log") {
                let log = std::fs::read_to_string(entry.path()).unwrap_or_default();
                latencies.extend(
                    log.lines()
                        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()),
                );
            }
        }
        let tps: f64 = output
            .lines()
            .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let mut row = percentile_row(name, "pgbench", elapsed, latencies);
        row.cpu = cpu;
        // pgbench's own tps leaves out connection set-up; keep its count
        // and rescale the elapsed time to its figure.
        if tps > 0.0 {
            row.elapsed = Duration::from_secs_f64(row.requests as f64 / tps);
        }
        if !status.success() || row.requests == 0 {
            row.failures = row.requests.max(1);
            row.first_failure = Some(output.lines().last().unwrap_or("pgbench failed").to_owned());
        }
        row
    }
}

/// One unary call for h2load to repeat.
pub struct H2Call<'a> {
    pub name: &'a str,
    /// `/package.Service/Method`.
    pub path: &'a str,
    /// The encoded request message.
    pub message: Vec<u8>,
    pub token: Option<&'a str>,
}

/// h2load posting one gRPC request to its path over `clients` connections
/// (one stream each) for `duration`. h2load sees HTTP only, so the gRPC
/// status of every call is checked in the server's metrics.
pub async fn h2load(server: &Server, call: H2Call<'_>, clients: usize, duration: Duration, dir: &Path) -> Row {
    let H2Call {
        name,
        path,
        message,
        token,
    } = call;
    // gRPC framing: no compression, big-endian length, the message.
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    let slug: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let (body_file, log_file) = (dir.join(format!("{slug}.bin")), dir.join(format!("{slug}.log")));
    std::fs::write(&body_file, body).expect("request body");
    let mut command = Command::new("h2load");
    command
        .args(["-c", &clients.to_string(), "-m", "1", "-t", "1"])
        .args(["-D", &duration.as_secs().max(1).to_string()])
        .arg(format!("--log-file={}", log_file.display()))
        .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
        .arg("-d")
        .arg(&body_file);
    if let Some(token) = token {
        command.args(["-H", &format!("authorization: Bearer {token}")]);
    }
    command.arg(format!("{}{path}", server.url()));
    let ok_before = server.ok_calls(path).await;
    let cpu = Cpu::now(server.pid());
    let started = Instant::now();
    let out = dir.join(format!("{slug}.out"));
    let (status, ticks) = tokio::task::block_in_place(|| run_measured(command, &out));
    let elapsed = started.elapsed();
    let cpu = cpu.since(server.pid(), Some(ticks));
    let output = std::fs::read_to_string(&out).unwrap_or_default();
    // Per request: start (us since the epoch), HTTP status, latency (us).
    let log = std::fs::read_to_string(&log_file).unwrap_or_default();
    let mut latencies = Vec::new();
    let mut http_failures = 0;
    for line in log.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 3 {
            if f[1] != "200" {
                http_failures += 1;
            }
            latencies.extend(f[2].parse::<u64>().ok());
        }
    }
    let mut row = percentile_row(name, "h2load", elapsed, latencies);
    row.cpu = cpu;
    // Every request h2load counted must be an OK answer of that very RPC.
    let ok = (server.ok_calls(path).await - ok_before) as usize;
    let grpc_failures = row.requests.saturating_sub(ok);
    // "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout"
    let refused: usize = output
        .lines()
        .find(|l| l.starts_with("requests:"))
        .map(|l| {
            let words: Vec<&str> = l.split([' ', ',']).filter(|w| !w.is_empty()).collect();
            words
                .windows(2)
                .filter(|w| matches!(w[1], "failed" | "errored" | "timeout"))
                .filter_map(|w| w[0].parse::<usize>().ok())
                .sum()
        })
        .unwrap_or(0);
    row.failures = http_failures + grpc_failures as usize + refused;
    if !status.success() || row.requests == 0 {
        row.failures = row.failures.max(1);
    }
    if row.failures > 0 {
        row.first_failure = Some(format!(
            "{http_failures} HTTP errors, {grpc_failures} gRPC errors; h2load said: {}",
            output
                .lines()
                .filter(|l| l.starts_with("requests:"))
                .collect::<String>()
        ));
    }
    row
}
