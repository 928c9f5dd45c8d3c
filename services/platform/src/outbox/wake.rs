//! Wake-ups after a commit. A commit that wrote events wakes one loop of
//! each consumer subscribed to one of their topics, and no other: a woken
//! loop asks Postgres for work, so waking consumers the events do not
//! concern costs Postgres a transaction each for every write that emits
//! (with ten consumers, most of them idle under any one write load, that
//! was a third of the write throughput). Consumers not woken still poll.

use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

/// Shared by the writers (every [`crate::context::ServiceContext`]) and
/// the dispatcher, whose consumers subscribe when it starts.
#[derive(Clone, Default)]
pub struct Waker {
    subscribers: Arc<RwLock<Vec<Subscriber>>>,
}

struct Subscriber {
    /// Empty: every topic.
    topics: Vec<String>,
    notify: Arc<Notify>,
}

impl Subscriber {
    fn wants(&self, topic: &str) -> bool {
        self.topics.is_empty() || self.topics.iter().any(|t| t == topic)
    }
}

impl Waker {
    /// Wakes the consumers of any of `topics` (events just committed).
    pub fn wake<'a>(&self, topics: impl IntoIterator<Item = &'a str> + Clone) {
        for s in self.read().iter() {
            if topics.clone().into_iter().any(|t| s.wants(t)) {
                s.notify.notify_one();
            }
        }
    }

    /// Wakes every consumer (a job that wrote events of several kinds).
    pub fn wake_all(&self) {
        self.read().iter().for_each(|s| s.notify.notify_one());
    }

    /// Woken after every commit that wrote events, for a reader outside
    /// the dispatcher (the event stream). Call once per reader: the list
    /// of those woken only grows.
    pub fn listen(&self) -> Arc<Notify> {
        self.subscribe(Vec::new())
    }

    /// Subscribes a consumer to `topics` (empty: all); it waits on the
    /// returned handle. One wake-up wakes one waiter, so one loop.
    pub(crate) fn subscribe(&self, topics: Vec<String>) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.subscribers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Subscriber {
                topics,
                notify: notify.clone(),
            });
        notify
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Subscriber>> {
        // The list is only ever pushed to: a panic elsewhere cannot leave
        // it half-written.
        self.subscribers.read().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn woken(n: &Notify) -> bool {
        tokio::time::timeout(Duration::ZERO, n.notified()).await.is_ok()
    }

    #[tokio::test]
    async fn a_commit_wakes_the_consumers_of_its_topics_only() {
        let waker = Waker::default();
        let orders = waker.subscribe(vec!["a.OrderRecorded".into(), "a.OrderDelivered".into()]);
        let refunds = waker.subscribe(vec!["a.RefundSucceeded".into()]);
        let all = waker.subscribe(vec![]);
        waker.wake(["a.OrderDelivered"]);
        assert!(woken(&orders).await);
        assert!(!woken(&refunds).await, "not subscribed to the topic");
        assert!(woken(&all).await, "an empty subscription is every topic");
        waker.wake_all();
        assert!(woken(&orders).await && woken(&refunds).await && woken(&all).await);
    }
}
