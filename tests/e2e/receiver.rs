//! A webhook receiver on loopback: records what it is posted and answers
//! as scripted (the store's notification provider, a webhook endpoint).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::sync::mpsc;

/// A request the receiver got.
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
}

/// What the receiver answers: the scripted statuses first, then `otherwise`.
pub struct Script {
    next: VecDeque<StatusCode>,
    otherwise: StatusCode,
}

/// The store's notification provider, on loopback.
pub struct Receiver {
    pub url: String,
    got: mpsc::UnboundedReceiver<Received>,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, got) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(Script {
            next: VecDeque::new(),
            otherwise: StatusCode::OK,
        }));
        let answers = script.clone();
        let app = Router::new().route(
            "/hooks",
            post(move |headers: HeaderMap, body: Bytes| {
                let (tx, answers) = (tx.clone(), answers.clone());
                async move {
                    let _ = tx.send(Received { headers, body });
                    let mut s = answers.lock().unwrap();
                    s.next.pop_front().unwrap_or(s.otherwise)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got, script }
    }

    pub fn answer(&self, first: &[StatusCode], otherwise: StatusCode) {
        let mut s = self.script.lock().unwrap();
        s.next = first.iter().copied().collect();
        s.otherwise = otherwise;
    }

    /// The next `n` requests, waiting for each (bounded).
    pub async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let r = tokio::time::timeout(Duration::from_secs(20), self.got.recv())
                .await
                .expect("posted in time")
                .expect("the receiver runs");
            out.push(r);
        }
        out
    }

    /// Nothing more was posted (call once the sender has settled).
    pub fn nothing_more(&mut self) {
        assert!(self.got.try_recv().is_err(), "no further message");
    }
}
