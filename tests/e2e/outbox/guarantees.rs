//! The dispatcher's guarantees: order per aggregate across retries, dead
//! letters held, replayed and discarded, caught panics, handler timeouts,
//! and consumers that cannot stall one another.

use super::*;

async fn handled_now(handled: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    handled.lock().unwrap().clone()
}

#[tokio::test]
async fn a_retried_event_is_not_overtaken_by_a_later_one_of_its_aggregate() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options());
    let recorder = Recorder::scripted("ordered", handled.clone(), |label, n| {
        if label == "x1" && n == 1 {
            Act::Fail
        } else {
            Act::Succeed
        }
    });
    dispatcher.register(recorder).await.unwrap();
    emit_about(&pool, "x", "x1", manual.now()).await;
    emit_about(&pool, "y", "y1", manual.now()).await;
    emit_about(&pool, "x", "x2", manual.now()).await;

    // x1 fails; y1 (another aggregate) goes ahead; x2 waits behind x1.
    assert_eq!(dispatcher.run_once().await.unwrap(), 2);
    assert_eq!(handled_now(&handled).await, ["y1"]);
    assert_eq!(
        dispatcher.run_once().await.unwrap(),
        0,
        "x2 is held back while x1 backs off"
    );
    manual.advance(chrono::Duration::seconds(1));
    while dispatcher.run_once().await.unwrap() > 0 {}
    assert_eq!(handled_now(&handled).await, ["y1", "x1", "x2"]);
}

#[tokio::test]
async fn dead_letters_hold_back_their_aggregate_until_replayed() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let options = DispatchOptions {
        max_attempts: 2,
        ..options()
    };
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options);
    let broken = Arc::new(AtomicBool::new(true));
    let fixed = broken.clone();
    let recorder = Recorder::scripted("fragile", handled.clone(), move |label, _| {
        if label == "x1" && fixed.load(Ordering::SeqCst) {
            Act::Fail
        } else {
            Act::Succeed
        }
    });
    dispatcher.register(recorder).await.unwrap();
    emit_about(&pool, "x", "x1", manual.now()).await;
    emit_about(&pool, "x", "x2", manual.now()).await;

    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    manual.advance(chrono::Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1, "the last attempt");
    let dead = dead_letters(&pool, Some("fragile"), None).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].aggregate_id.as_str(),
            dead[0].attempts,
            dead[0].last_error.as_deref()
        ),
        ("x", 2, Some("attempt 2 fails"))
    );
    assert!(
        dead_letters(&pool, Some("someone-else"), None)
            .await
            .unwrap()
            .is_empty()
    );

    // Hours later nothing has moved: no more attempts, and x2 stays behind x1.
    manual.advance(chrono::Duration::hours(5));
    assert_eq!(dispatcher.run_once().await.unwrap(), 0);
    assert!(handled_now(&handled).await.is_empty());

    broken.store(false, Ordering::SeqCst);
    assert_eq!(replay(&pool, Some("fragile"), None, manual.now()).await.unwrap(), 1);
    assert_eq!(
        replay(&pool, Some("fragile"), None, manual.now()).await.unwrap(),
        0,
        "nothing left dead"
    );
    while dispatcher.run_once().await.unwrap() > 0 {}
    assert_eq!(handled_now(&handled).await, ["x1", "x2"]);
    assert!(dead_letters(&pool, None, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_panicking_handler_is_caught_and_retried() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options());
    let recorder = Recorder::scripted("panicky", handled.clone(), |_, n| {
        if n == 1 { Act::Panic } else { Act::Succeed }
    });
    dispatcher.register(recorder).await.unwrap();
    emit(&pool, "test.Happened", "e1", manual.now()).await;

    assert_eq!(
        dispatcher.run_once().await.unwrap(),
        1,
        "the panic is an attempt, not a crash"
    );
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM platform.outbox_deliveries")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert_eq!(error.as_deref(), Some("handler panicked: handler bug on e1"));
    manual.advance(chrono::Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    assert_eq!(handled_now(&handled).await, ["e1"]);
}

/// Runs `dispatcher` until the returned sender says stop.
pub(super) fn running(
    dispatcher: Dispatcher,
) -> (
    tokio::sync::watch::Sender<bool>,
    tokio::task::JoinHandle<Result<(), String>>,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    (stop_tx, tokio::spawn(dispatcher.run(stop_rx)))
}

/// Waits (bounded) until `done` holds.
pub(super) async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_consumer_does_not_stall_the_others_and_a_commit_wakes_them_all() {
    let db = TestDb::create().await;
    let pool = db.pool(10).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    // No polling and no timeout to speak of: only a wake-up can deliver, and
    // only a loop of its own can deliver past the consumer that hangs.
    let options = DispatchOptions {
        poll_interval: Duration::from_secs(3600),
        handler_timeout: Duration::from_secs(3600),
        ..options()
    };
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options);
    dispatcher
        .register(Recorder::scripted("hangs", handled.clone(), |_, _| Act::Hang))
        .await
        .unwrap();
    dispatcher
        .register(Recorder::new("quick-1", 0, handled.clone()))
        .await
        .unwrap();
    dispatcher
        .register(Recorder::new("quick-2", 0, handled.clone()))
        .await
        .unwrap();
    let waker = dispatcher.waker();
    // e0 is there from the start: the first pass of every loop finds it, and
    // the hanging consumer hangs on it for good.
    emit(&pool, "test.Happened", "e0", manual.now()).await;
    let (stop, task) = running(dispatcher);
    until("both quick consumers got e0", async || {
        handled_now(&handled).await.len() == 2
    })
    .await;
    // The quick loops are idle now, for an hour unless woken; one commit
    // must wake both.
    emit(&pool, "test.Happened", "e1", manual.now()).await;
    waker.wake(["test.Happened"]);
    until("both quick consumers got e1", async || {
        handled_now(&handled).await.len() == 4
    })
    .await;
    assert_eq!(handled_now(&handled).await, ["e0", "e0", "e1", "e1"]);
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), Ok(()), "a clean stop, the hanging call aborted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_its_timeout_is_cut_off_and_retried() {
    let db = TestDb::create().await;
    let pool = db.pool(10).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let options = DispatchOptions {
        handler_timeout: Duration::from_millis(200),
        ..options()
    };
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options);
    let slow_once = Recorder::scripted("slow-once", handled.clone(), |_, n| {
        if n == 1 { Act::Hang } else { Act::Succeed }
    });
    dispatcher.register(slow_once).await.unwrap();
    emit(&pool, "test.Happened", "e1", manual.now()).await;
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM platform.outbox_deliveries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(error.as_deref(), Some("handler timed out after 200ms"));
    assert!(handled_now(&handled).await.is_empty());
    manual.advance(chrono::Duration::seconds(1));
    assert_eq!(dispatcher.run_once().await.unwrap(), 1);
    assert_eq!(handled_now(&handled).await, ["e1"]);
}

#[tokio::test]
async fn a_poison_event_can_be_discarded_to_release_its_aggregate() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let options = DispatchOptions {
        max_attempts: 1,
        ..options()
    };
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options);
    let recorder = Recorder::scripted("strict", handled.clone(), |label, _| {
        if label == "poison" { Act::Fail } else { Act::Succeed }
    });
    dispatcher.register(recorder).await.unwrap();
    emit_about(&pool, "x", "poison", manual.now()).await;
    emit_about(&pool, "x", "x2", manual.now()).await;
    while dispatcher.run_once().await.unwrap() > 0 {}
    assert!(
        handled_now(&handled).await.is_empty(),
        "x2 waits behind the dead letter"
    );
    assert_eq!(discard(&pool, Some("strict"), None, manual.now()).await.unwrap(), 1);
    while dispatcher.run_once().await.unwrap() > 0 {}
    assert_eq!(
        handled_now(&handled).await,
        ["x2"],
        "the poison is skipped, never handled"
    );
    assert!(dead_letters(&pool, None, None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catching_up_waits_for_a_delivery_in_flight_instead_of_reading_without_it() {
    let db = TestDb::create().await;
    let pool = db.pool(5).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let recorder: Arc<dyn EventHandler> = Recorder::new("reader", 0, handled.clone());
    let mut dispatcher = Dispatcher::new(pool.clone(), clock.clone(), options());
    dispatcher.register(recorder.clone()).await.unwrap();
    emit_about(&pool, "o-1", "delivered", manual.now()).await;

    // Another worker has claimed the delivery and is still handling it.
    let mut in_flight = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM platform.outbox_deliveries WHERE aggregate_id = 'o-1' FOR UPDATE")
        .execute(&mut *in_flight)
        .await
        .unwrap();
    let catching_up = tokio::spawn({
        let pool = pool.clone();
        async move { aftercare_platform::outbox::catch_up(&pool, &clock, &recorder, "o-1").await }
    });
    crate::support::until_finished_or_waiting_on_a_lock(&pool, &catching_up).await;
    assert!(
        !catching_up.is_finished(),
        "catching up skipped the delivery in flight: a read after it would miss the event"
    );
    // The other worker gives up; the catch-up delivers the event itself.
    in_flight.rollback().await.unwrap();
    catching_up.await.unwrap();
    assert_eq!(handled_now(&handled).await, ["delivered"]);
}

/// Records what it handles; an event labelled "a1" first waits for a permit.
struct Gated {
    handled: Arc<Mutex<Vec<String>>>,
    gate: Arc<tokio::sync::Semaphore>,
}

impl EventHandler for Gated {
    fn name(&self) -> &str {
        "gated"
    }

    fn topics(&self) -> Vec<String> {
        vec!["test.Happened".into()]
    }

    fn handle<'a>(&'a self, _tx: &'a mut sqlx::PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let label = String::from_utf8(event.payload.clone()).unwrap();
            if label == "a1" {
                self.gate.acquire().await.unwrap().forget();
            }
            self.handled.lock().unwrap().push(label);
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_loops_of_one_consumer_keep_each_aggregates_order() {
    let db = TestDb::create().await;
    let pool = db.pool(20).await;
    let (manual, clock) = clock();
    let handled = Arc::new(Mutex::new(Vec::new()));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let options = DispatchOptions {
        workers_per_consumer: 4,
        ..options()
    };
    let mut dispatcher = Dispatcher::new(pool.clone(), clock, options);
    let handler = Gated {
        handled: handled.clone(),
        gate: gate.clone(),
    };
    dispatcher.register(Arc::new(handler)).await.unwrap();
    emit_about(&pool, "a", "a1", manual.now()).await;
    emit_about(&pool, "a", "a2", manual.now()).await;
    emit_about(&pool, "b", "b1", manual.now()).await;
    let (stop, run) = running(dispatcher);

    // a1 is held in its handler: b moves on, a2 waits behind a1 although
    // other loops are free.
    until("b1 is delivered", async || {
        handled_now(&handled).await.contains(&"b1".to_owned())
    })
    .await;
    assert!(
        !handled_now(&handled).await.contains(&"a2".to_owned()),
        "a2 overtook a1"
    );
    gate.add_permits(1);
    until("all are delivered", async || handled_now(&handled).await.len() == 3).await;
    let order = handled_now(&handled).await;
    let at = |label: &str| order.iter().position(|l| l == label).unwrap();
    assert!(at("a1") < at("a2"), "{order:?}");
    stop.send(true).unwrap();
    run.await.unwrap().unwrap();
}

/// How a [`Writer`]'s first attempt ends, after it wrote.
#[derive(Clone, Copy, Debug)]
enum FirstAttempt {
    Fails,
    Panics,
    /// Stuck in a statement past the handler timeout.
    HangsInSql,
}

/// Writes a row per event in the delivery's transaction; its first attempt
/// then goes wrong as told.
struct Writer {
    first: FirstAttempt,
    attempts: Mutex<u32>,
}

impl EventHandler for Writer {
    fn name(&self) -> &str {
        "writer"
    }

    fn topics(&self) -> Vec<String> {
        vec!["test.Happened".into()]
    }

    fn handle<'a>(&'a self, tx: &'a mut sqlx::PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            sqlx::query("INSERT INTO effects (label) VALUES ($1)")
                .bind(String::from_utf8(event.payload.clone()).unwrap())
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            let first = {
                let mut attempts = self.attempts.lock().unwrap();
                *attempts += 1;
                *attempts == 1
            };
            if !first {
                return Ok(());
            }
            match self.first {
                FirstAttempt::Fails => Err("failed after writing".into()),
                FirstAttempt::Panics => panic!("handler bug after writing"),
                FirstAttempt::HangsInSql => {
                    sqlx::query("SELECT pg_sleep(3600)")
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(())
                }
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handlers_effect_commits_with_its_delivery_or_not_at_all() {
    for first in [FirstAttempt::Fails, FirstAttempt::Panics, FirstAttempt::HangsInSql] {
        let db = TestDb::create().await;
        // Two connections: a stuck statement must not keep one for good.
        let pool = db.pool(2).await;
        sqlx::query("CREATE TABLE effects (label text NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let (manual, clock) = clock();
        let options = DispatchOptions {
            handler_timeout: Duration::from_millis(500),
            ..options()
        };
        let mut dispatcher = Dispatcher::new(pool.clone(), clock, options);
        let writer = Writer {
            first,
            attempts: Mutex::new(0),
        };
        dispatcher.register(Arc::new(writer)).await.unwrap();
        emit_about(&pool, "x", "x1", manual.now()).await;
        let state = || async {
            sqlx::query_as::<_, (i64, i32, Option<String>)>(
                "SELECT (SELECT count(*) FROM effects), attempts, last_error
                 FROM platform.outbox_deliveries WHERE consumer = 'writer'",
            )
            .fetch_one(&pool)
            .await
            .unwrap()
        };

        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        let (effects, attempts, error) = state().await;
        assert_eq!(
            (effects, attempts),
            (0, 1),
            "{first:?}: the failed attempt's write is rolled back, counted once"
        );
        assert!(error.is_some(), "{first:?}");
        assert_eq!(
            dispatcher.run_once().await.unwrap(),
            0,
            "{first:?}: not before its backoff"
        );
        manual.advance(chrono::Duration::seconds(1));
        assert_eq!(dispatcher.run_once().await.unwrap(), 1);
        assert_eq!(
            state().await,
            (1, 2, None),
            "{first:?}: the delivered attempt's write committed with it"
        );
        assert_eq!(dispatcher.run_once().await.unwrap(), 0, "{first:?}: delivered once");
    }
}
