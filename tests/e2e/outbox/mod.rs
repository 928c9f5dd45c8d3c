//! The outbox against a real Postgres: per-consumer delivery, retries with
//! backoff, several dispatchers sharing work, late-committing writers, order
//! per aggregate across retries, dead letters and replay, handler timeouts
//! and caught panics; commits waking the consumers of their topics only.

mod guarantees;
mod wakeups;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aftercare_platform::clock::{Clock, ManualClock, SharedClock};
use aftercare_platform::outbox::{
    DispatchOptions, Dispatcher, Event, EventHandler, HandlerFuture, dead_letters, discard, enqueue_raw, replay,
};
use sqlx::PgPool;

use crate::support::{TestDb, start_time};

/// What a scripted handler does with an attempt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Succeed,
    Fail,
    Panic,
    Hang,
}

type Script = Box<dyn Fn(&str, u32) -> Act + Send + Sync>;

/// Records the labels (payloads) it handles; `script` decides each attempt
/// from the label and the attempt number.
struct Recorder {
    name: String,
    script: Script,
    attempts: Mutex<HashMap<String, u32>>,
    handled: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    /// Fails each event's first `fail_first` attempts.
    fn new(name: &str, fail_first: u32, handled: Arc<Mutex<Vec<String>>>) -> Arc<Recorder> {
        Recorder::scripted(
            name,
            handled,
            move |_, n| if n <= fail_first { Act::Fail } else { Act::Succeed },
        )
    }

    fn scripted(
        name: &str,
        handled: Arc<Mutex<Vec<String>>>,
        script: impl Fn(&str, u32) -> Act + Send + Sync + 'static,
    ) -> Arc<Recorder> {
        Arc::new(Recorder {
            name: name.into(),
            script: Box::new(script),
            attempts: Mutex::default(),
            handled,
        })
    }
}

impl EventHandler for Recorder {
    fn name(&self) -> &str {
        &self.name
    }

    fn topics(&self) -> Vec<String> {
        vec!["test.Happened".into()]
    }

    fn handle<'a>(&'a self, _tx: &'a mut sqlx::PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let label = String::from_utf8(event.payload.clone()).unwrap();
            let n = {
                let mut attempts = self.attempts.lock().unwrap();
                let n = attempts.entry(label.clone()).or_default();
                *n += 1;
                *n
            };
            match (self.script)(&label, n) {
                Act::Succeed => {
                    self.handled.lock().unwrap().push(label);
                    Ok(())
                }
                Act::Fail => Err(format!("attempt {n} fails")),
                Act::Panic => panic!("handler bug on {label}"),
                Act::Hang => std::future::pending().await,
            }
        })
    }
}

/// An event about `aggregate` whose payload is `label`.
async fn emit_about(pool: &PgPool, aggregate: &str, label: &str, now: chrono::DateTime<chrono::Utc>) {
    let mut tx = pool.begin().await.unwrap();
    enqueue_raw(&mut tx, "test.Happened", aggregate, label.as_bytes(), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// An event about `id` labelled `id`.
async fn emit(pool: &PgPool, topic: &str, id: &str, now: chrono::DateTime<chrono::Utc>) {
    let mut tx = pool.begin().await.unwrap();
    enqueue_raw(&mut tx, topic, id, id.as_bytes(), now).await.unwrap();
    tx.commit().await.unwrap();
}

fn clock() -> (Arc<ManualClock>, SharedClock) {
    let c = Arc::new(ManualClock::new(start_time()));
    (c.clone(), c)
}

fn options() -> DispatchOptions {
    DispatchOptions {
        poll_interval: Duration::from_millis(50),
        ..DispatchOptions::default()
    }
}

#[tokio::test]
async fn consumers_get_their_topics_from_registration_on() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    emit(&pool, "test.Happened", "before-registration", manual.now()).await;

    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options());
    dispatcher
        .register(Recorder::new("recorder", 0, handled.clone()))
        .await
        .unwrap();
    emit(&pool, "test.Happened", "e1", manual.now()).await;
    emit(&pool, "test.Other", "other-topic", manual.now()).await;
    emit(&pool, "test.Happened", "e2", manual.now()).await;

    assert_eq!(dispatcher.run_once().await.unwrap(), 2);
    assert_eq!(*handled.lock().unwrap(), ["e1", "e2"]);
    // Delivered once: nothing left to do.
    assert_eq!(dispatcher.run_once().await.unwrap(), 0);
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.outbox_deliveries WHERE delivered_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options());
    dispatcher
        .register(Recorder::new("flaky", 2, handled.clone()))
        .await
        .unwrap();
    emit(&pool, "test.Happened", "e1", manual.now()).await;

    assert_eq!(dispatcher.run_once().await.unwrap(), 1); // attempt 1 fails: retry in 1 s
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM platform.outbox_deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((attempts, error.as_deref()), (1, Some("attempt 1 fails")));
    assert_eq!(dispatcher.run_once().await.unwrap(), 0, "not due before the backoff");

    manual.advance(chrono::Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1); // attempt 2 fails: retry in 2 s
    manual.advance(chrono::Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), 0, "backoff doubled");
    manual.advance(chrono::Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1); // attempt 3 succeeds
    assert_eq!(*handled.lock().unwrap(), ["e1"]);
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platform.outbox_deliveries WHERE delivered_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(delivered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_dispatchers_deliver_each_event_once() {
    let db = TestDb::create().await;
    let pool = db.pool(10).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let mut d = Dispatcher::new(pool.clone(), clock.clone(), options());
        d.register(Recorder::new("shared", 0, handled.clone())).await.unwrap();
        replicas.push(Arc::new(d));
    }
    for i in 0..300 {
        emit(&pool, "test.Happened", &format!("e{i}"), manual.now()).await;
    }
    let runs: Vec<_> = replicas
        .iter()
        .map(|d| {
            let d = d.clone();
            tokio::spawn(async move {
                let mut total = 0;
                loop {
                    let n = d.run_once().await.unwrap();
                    if n == 0 {
                        return total;
                    }
                    total += n;
                }
            })
        })
        .collect();
    let mut total = 0;
    for r in runs {
        total += r.await.unwrap();
    }
    let mut handled = handled.lock().unwrap().clone();
    assert_eq!(total, 300);
    assert_eq!(handled.len(), 300, "no event handled twice");
    handled.sort();
    handled.dedup();
    assert_eq!(handled.len(), 300, "every event handled");
}

#[tokio::test]
async fn an_event_committed_late_is_still_delivered() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options());
    dispatcher
        .register(Recorder::new("recorder", 0, handled.clone()))
        .await
        .unwrap();

    // The slow writer starts first (its event is older) but commits last.
    let mut slow = pool.begin().await.unwrap();
    enqueue_raw(&mut slow, "test.Happened", "slow", b"slow", manual.now())
        .await
        .unwrap();
    manual.advance(chrono::Duration::milliseconds(10));
    emit(&pool, "test.Happened", "fast", manual.now()).await;
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    slow.commit().await.unwrap();
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    assert_eq!(*handled.lock().unwrap(), ["fast", "slow"]);
}
