//! A unit of work's commit wakes the consumers of the topics it wrote, and
//! no other: the dispatcher's poll is an hour here, so a consumer that
//! gets an event at once was woken for it.

use aftercare_platform::context::ServiceContext;
use aftercare_platform::outbox::topic;
use aftercare_proto::order_events::{OrderCanceled, OrderDelivered};

use super::guarantees::{running, until};
use super::*;

/// Records "consumer:aggregate" for each event of its one topic.
struct Of {
    name: &'static str,
    topic: String,
    handled: Arc<Mutex<Vec<String>>>,
}

impl EventHandler for Of {
    fn name(&self) -> &str {
        self.name
    }

    fn topics(&self) -> Vec<String> {
        vec![self.topic.clone()]
    }

    fn handle<'a>(&'a self, _tx: &'a mut sqlx::PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(async move {
            let seen = format!("{}:{}", self.name, event.aggregate_id);
            self.handled.lock().unwrap().push(seen);
            Ok(())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_wakes_the_consumers_of_its_topics_and_no_other() {
    let db = TestDb::create().await;
    let pool = db.pool(10).await;
    let (manual, clock) = clock();
    let handled: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = |what: &str| handled.lock().unwrap().iter().any(|h| h == what);
    // One loop per consumer, so that "idle" is one loop's state.
    let options = DispatchOptions {
        poll_interval: Duration::from_secs(3600),
        workers_per_consumer: 1,
        ..options()
    };
    let mut dispatcher = Dispatcher::new(pool.clone(), clock.clone(), options);
    for (name, topic) in [
        ("canceled", topic::<OrderCanceled>()),
        ("delivered", topic::<OrderDelivered>()),
    ] {
        let consumer = Of {
            name,
            topic,
            handled: handled.clone(),
        };
        dispatcher.register(Arc::new(consumer)).await.unwrap();
    }
    let waker = dispatcher.waker();
    let ctx = ServiceContext {
        pool: pool.clone(),
        clock,
        outbox_wake: waker.clone(),
        notifier: None,
        nats_url: None,
        stopping: tokio::sync::watch::channel(false).1,
    };
    let commit = async |aggregate: &str, delivered: bool| {
        let mut uow = ctx.begin().await.unwrap();
        if delivered {
            uow.emit(aggregate, &OrderDelivered::default()).await.unwrap();
        } else {
            uow.emit(aggregate, &OrderCanceled::default()).await.unwrap();
        }
        uow.commit().await.unwrap();
    };
    // Both consumers' first look finds their first event.
    emit(&pool, &topic::<OrderCanceled>(), "c-0", manual.now()).await;
    emit(&pool, &topic::<OrderDelivered>(), "d-0", manual.now()).await;
    let mut idle = dispatcher.idle_loops();
    let (stop, task) = running(dispatcher);
    until("both first events handled", async || {
        seen("canceled:c-0") && seen("delivered:d-0")
    })
    .await;
    // Both idle now, for an hour unless woken. A committed unit of work
    // with a canceled order wakes the canceled consumer.
    commit("c-1", false).await;
    until("the canceled consumer woken", async || seen("canceled:c-1")).await;
    // Both loops waiting again (the delivered one's last look for work,
    // after d-0, is over), so only a wake-up could make it look again.
    tokio::time::timeout(Duration::from_secs(20), idle.wait_for(|n| *n == 2))
        .await
        .expect("both consumer loops went idle")
        .unwrap();
    // A delivered event written without a wake, due only from a minute on
    // (so that no pass the delivered loop made before it went idle can
    // have taken it), then another canceled commit: the delivered
    // consumer is not woken by it.
    let later = manual.now() + chrono::Duration::minutes(1);
    emit(&pool, &topic::<OrderDelivered>(), "d-1", later).await;
    manual.set(later);
    commit("c-2", false).await;
    until("the canceled consumer woken again", async || seen("canceled:c-2")).await;
    assert!(!seen("delivered:d-1"), "a commit of another topic woke it");
    // A delivered commit wakes it, and it takes both.
    commit("d-2", true).await;
    until("the delivered consumer woken", async || {
        seen("delivered:d-1") && seen("delivered:d-2")
    })
    .await;
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), Ok(()));
}
