//! Logs, the per-RPC span and Prometheus metrics.
//!
//! [`RpcLayer`] wraps the gRPC server: every call gets a `rpc` span (service,
//! method, code, latency, caller role — never tokens or personal data), a
//! log line when it ends (WARN for the server's own failures, INFO for
//! refused callers, else DEBUG),
//! and counts and latency histograms in [`Metrics`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use tracing::Instrument;
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the global subscriber. The filter comes from `RUST_LOG` (default
/// `info`). Safe to call more than once; later calls do nothing.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: a log redirected to a file or collected by
    // an agent carries no escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
    };
}

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// One method's calls by status code, and its latency.
#[derive(Default)]
struct MethodStats {
    calls: BTreeMap<&'static str, u64>,
    latency: Histogram,
}

/// Keyed by service, then method: a call looks its method up by `&str` and
/// allocates only the first time a method is seen.
#[derive(Default)]
struct Registry(BTreeMap<String, BTreeMap<String, MethodStats>>);

/// Per-RPC counters and latency histograms, rendered in the Prometheus text
/// format.
#[derive(Default, Clone)]
pub struct Metrics(Arc<Mutex<Registry>>);

impl Metrics {
    pub fn record(&self, service: &str, method: &str, code: &'static str, seconds: f64) {
        let mut r = self.0.lock().expect("metrics lock");
        if !r.0.contains_key(service) {
            r.0.insert(service.to_owned(), BTreeMap::new());
        }
        let methods = r.0.get_mut(service).expect("inserted above");
        if !methods.contains_key(method) {
            methods.insert(method.to_owned(), MethodStats::default());
        }
        let stats = methods.get_mut(method).expect("inserted above");
        *stats.calls.entry(code).or_default() += 1;
        let h = &mut stats.latency;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    pub fn render(&self) -> String {
        let r = self.0.lock().expect("metrics lock");
        let methods = || {
            r.0.iter()
                .flat_map(|(service, methods)| methods.iter().map(move |(method, stats)| (service, method, stats)))
        };
        let mut out = String::new();
        out.push_str("# HELP aftercare_rpc_requests_total gRPC calls handled, by method and status code.\n");
        out.push_str("# TYPE aftercare_rpc_requests_total counter\n");
        for (service, method, stats) in methods() {
            for (code, n) in &stats.calls {
                let _ = writeln!(
                    out,
                    "aftercare_rpc_requests_total{{service=\"{service}\",method=\"{method}\",code=\"{code}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP aftercare_rpc_duration_seconds gRPC call latency, by method.\n");
        out.push_str("# TYPE aftercare_rpc_duration_seconds histogram\n");
        for (service, method, stats) in methods() {
            let h = &stats.latency;
            let labels = format!("service=\"{service}\",method=\"{method}\"");
            for (bound, count) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "aftercare_rpc_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "aftercare_rpc_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "aftercare_rpc_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "aftercare_rpc_duration_seconds_count{{{labels}}} {}", h.count);
        }
        out
    }
}

/// The canonical name of a gRPC status code.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// `/package.Service/Method` -> `package.Service`.
fn service_of(path: &str) -> &str {
    let path = path.trim_start_matches('/');
    path.split_once('/').map_or(path, |(service, _)| service)
}

/// `/package.Service/Method` -> `Method`.
fn method_of(path: &str) -> &str {
    path.trim_start_matches('/')
        .split_once('/')
        .map_or("", |(_, method)| method)
}

/// Codes that say the server, not the caller, went wrong.
fn is_server_fault(code: tonic::Code) -> bool {
    use tonic::Code::*;
    matches!(code, Internal | Unknown | Unavailable | DataLoss | DeadlineExceeded)
}

/// Tower layer that observes every gRPC call.
#[derive(Clone)]
pub struct RpcLayer {
    metrics: Metrics,
}

impl RpcLayer {
    pub fn new(metrics: Metrics) -> Self {
        RpcLayer { metrics }
    }
}

impl<S> tower::Layer<S> for RpcLayer {
    type Service = RpcService<S>;
    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RpcService<S> {
    inner: S,
    metrics: Metrics,
}

impl<S, B, R> tower::Service<http::Request<B>> for RpcService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "rpc",
            rpc.service = service_of(&path),
            rpc.method = method_of(&path),
            role = tracing::field::Empty,
            code = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let metrics = self.metrics.clone();
        let started = Instant::now();
        // Entered while the inner layers start the call, so the auth layer
        // records the caller's role on this span.
        let future = span.in_scope(|| self.inner.call(request)).instrument(span.clone());
        Box::pin(async move {
            let result = future.await;
            let elapsed = started.elapsed();
            // Unary errors are "trailers-only" responses with grpc-status in
            // the headers; a success carries status 0 in the trailers.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map(tonic::Code::from_i32)
                    .unwrap_or(tonic::Code::Ok),
                Err(_) => tonic::Code::Internal,
            };
            // Paths are caller-chosen: label unknown ones as one series so
            // that no caller can grow the metrics without bound.
            let (service, method) = if code == tonic::Code::Unimplemented {
                ("unknown", "unknown")
            } else {
                (service_of(&path), method_of(&path))
            };
            let name = code_name(code);
            metrics.record(service, method, name, elapsed.as_secs_f64());
            span.record("code", name);
            span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
            // A line per call is a write per call: the metrics count every
            // call, so the log keeps what needs a look — the server's own
            // failures, refused callers — and the rest at DEBUG
            // (`RUST_LOG=aftercare=debug`).
            if is_server_fault(code) {
                tracing::warn!(parent: &span, "rpc failed");
            } else if matches!(code, tonic::Code::Unauthenticated | tonic::Code::PermissionDenied) {
                // Refused callers stay on record: an audit trail of probing.
                tracing::info!(parent: &span, "rpc refused");
            } else {
                tracing::debug!(parent: &span, "rpc finished");
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_paths_share_one_series() {
        use tower::{Layer, Service, ServiceExt};
        let metrics = Metrics::default();
        let unimplemented = tower::service_fn(|_: http::Request<()>| async {
            let response = http::Response::builder().header("grpc-status", "12").body(()).unwrap();
            Ok::<_, std::convert::Infallible>(response)
        });
        let mut service = RpcLayer::new(metrics.clone()).layer(unimplemented);
        for path in ["/evil.Service/A", "/aftercare.orders.v1.OrderService/Nope"] {
            let request = http::Request::builder().uri(path).body(()).unwrap();
            service.ready().await.unwrap().call(request).await.unwrap();
        }
        let text = metrics.render();
        assert!(
            text.contains(r#"aftercare_rpc_requests_total{service="unknown",method="unknown",code="UNIMPLEMENTED"} 2"#),
            "{text}"
        );
        assert!(!text.contains("evil"));
    }

    #[test]
    fn metrics_render_counts_and_histograms() {
        let m = Metrics::default();
        m.record("svc", "Get", "OK", 0.002);
        m.record("svc", "Get", "NOT_FOUND", 0.02);
        let text = m.render();
        assert!(text.contains(r#"aftercare_rpc_requests_total{service="svc",method="Get",code="OK"} 1"#));
        assert!(text.contains(r#"aftercare_rpc_requests_total{service="svc",method="Get",code="NOT_FOUND"} 1"#));
        assert!(text.contains(r#"aftercare_rpc_duration_seconds_bucket{service="svc",method="Get",le="0.0025"} 1"#));
        assert!(text.contains(r#"aftercare_rpc_duration_seconds_bucket{service="svc",method="Get",le="0.025"} 2"#));
        assert!(text.contains(r#"aftercare_rpc_duration_seconds_count{service="svc",method="Get"} 2"#));
    }
}
