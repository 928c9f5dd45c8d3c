//! The server's health beyond each call: a probe of the database (every
//! service NOT_SERVING while it cannot be reached) and the outbox
//! dispatcher's supervisor (NOT_SERVING for good if it dies).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub(crate) async fn set_all(health: &HealthReporter, services: &[&str], status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in services {
        health.set_service_status(*name, status).await;
    }
}

/// Checks the database every `interval`: while it cannot be reached every
/// service reports NOT_SERVING (calls answer UNAVAILABLE meanwhile), and
/// SERVING again once it answers — unless the dispatcher died, which only a
/// restart mends.
pub async fn probe_database(
    pool: PgPool,
    health: HealthReporter,
    dispatcher_alive: Arc<AtomicBool>,
    services: Vec<&'static str>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut serving = true;
    loop {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let answer = tokio::time::timeout(
            interval.max(Duration::from_secs(1)),
            sqlx::query("SELECT 1").execute(&pool),
        );
        let reachable = matches!(answer.await, Ok(Ok(_)));
        let healthy = reachable && dispatcher_alive.load(Ordering::SeqCst);
        if healthy != serving && !*stop.borrow() {
            if reachable {
                tracing::info!("the database answers again");
            } else {
                tracing::error!("the database cannot be reached; not serving");
            }
            let status = if healthy {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_all(&health, &services, status).await;
            serving = healthy;
        }
    }
}

/// Waits for the dispatcher; if it ends before shutdown (a crash, a dead
/// consumer loop), every service reports NOT_SERVING and the admin port's
/// `/healthz` fails, so load balancers take this replica out and a liveness
/// probe restarts it instead of letting events pile up.
pub async fn supervise_dispatcher(
    dispatcher: JoinHandle<Result<(), String>>,
    health: HealthReporter,
    alive: Arc<AtomicBool>,
    services: Vec<&'static str>,
    stop: watch::Receiver<bool>,
) {
    let outcome = dispatcher.await;
    if *stop.borrow() {
        return;
    }
    let why = match outcome {
        Ok(Ok(())) => "the outbox dispatcher stopped".to_owned(),
        Ok(Err(e)) => e,
        Err(e) => format!("the outbox dispatcher died: {e}"),
    };
    tracing::error!(%why, "no longer serving");
    alive.store(false, Ordering::SeqCst);
    set_all(&health, &services, ServingStatus::NotServing).await;
}

#[cfg(test)]
mod tests {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_server::Health;
    use tonic_health::server::HealthService;

    use super::*;

    async fn status(health: &HealthReporter, service: &str) -> i32 {
        let checker = HealthService::from_health_reporter(health.clone());
        let request = tonic::Request::new(HealthCheckRequest {
            service: service.into(),
        });
        checker.check(request).await.unwrap().into_inner().status
    }

    #[tokio::test]
    async fn a_dead_dispatcher_turns_health_not_serving() {
        let health = HealthReporter::new();
        health.set_service_status("svc.A", ServingStatus::Serving).await;
        let (_stop_tx, stop_rx) = watch::channel(false);
        let crashed = tokio::spawn(async { panic!("dispatcher bug") });
        let alive = Arc::new(AtomicBool::new(true));
        supervise_dispatcher(crashed, health.clone(), alive.clone(), vec!["svc.A"], stop_rx).await;
        assert_eq!(status(&health, "svc.A").await, ServingStatus::NotServing as i32);
        assert_eq!(status(&health, "").await, ServingStatus::NotServing as i32);
        assert!(!alive.load(Ordering::SeqCst), "/healthz fails too");
    }

    #[tokio::test]
    async fn a_dispatcher_stopping_for_shutdown_changes_nothing() {
        let health = HealthReporter::new();
        health.set_service_status("svc.A", ServingStatus::Serving).await;
        let (stop_tx, stop_rx) = watch::channel(false);
        stop_tx.send(true).unwrap();
        let finished = tokio::spawn(async { Ok(()) });
        let alive = Arc::new(AtomicBool::new(true));
        supervise_dispatcher(finished, health.clone(), alive.clone(), vec!["svc.A"], stop_rx).await;
        assert_eq!(status(&health, "svc.A").await, ServingStatus::Serving as i32);
        assert!(alive.load(Ordering::SeqCst));
    }
}
