//! The admin HTTP port: Prometheus `/metrics` and a `/healthz` that checks
//! the database and the outbox dispatcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::AppState;

pub async fn serve(
    listener: TcpListener,
    state: AppState,
    dispatcher_alive: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state((state, dispatcher_alive));
    let shutdown = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::error!(error = %e, "admin server failed");
    }
}

async fn metrics(
    State((state, _)): State<(AppState, Arc<AtomicBool>)>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        format!(
            "{}# HELP aftercare_event_stream_cut_off_total Subscribers cut off for reading slower than events arrived.\n\
             # TYPE aftercare_event_stream_cut_off_total counter\n\
             aftercare_event_stream_cut_off_total {}\n",
            state.metrics.render(),
            aftercare_events::slow_consumers_cut_off()
        ),
    )
}

/// The database answers and the outbox dispatcher runs.
async fn healthz(State((state, dispatcher_alive)): State<(AppState, Arc<AtomicBool>)>) -> (StatusCode, &'static str) {
    if !dispatcher_alive.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "outbox dispatcher is down\n");
    }
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}
