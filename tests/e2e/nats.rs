//! The NATS JetStream relay against a real `nats-server -js` started here:
//! every event arrives once, in stream order, with `Nats-Msg-Id` its id,
//! across a relay that died after publishing (JetStream drops the repeats)
//! and a NATS server that went away and came back.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use aftercare_events::relay::{Relay, STREAM, subject};
use aftercare_platform::jobs::Job;
use async_nats::jetstream;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::fixtures::order;
use crate::support::TestApp;

/// `nats-server -js` on a free loopback port, its store in a directory of
/// its own (kept across a restart).
struct Nats {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Nats {
    async fn start(port: Option<u16>, dir: Option<std::path::PathBuf>) -> Nats {
        let port = port.unwrap_or_else(|| {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        });
        let dir = dir.unwrap_or_else(|| std::env::temp_dir().join(format!("aftercare-nats-{}", uuid::Uuid::now_v7())));
        let mut child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server is installed (apt-get install nats-server)");
        // Ready when it says so.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let ready = async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("Server is ready") {
                    return;
                }
            }
            panic!("nats-server exited before it was ready");
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("nats-server started");
        // Drain its log so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Nats { child, port, dir }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    async fn kill(mut self) -> (u16, std::path::PathBuf) {
        self.child.kill().await.unwrap();
        (self.port, self.dir.clone())
    }
}

/// Every message of the relay's stream: (Nats-Msg-Id, subject, cursor).
async fn relayed(url: &str) -> Vec<(String, String, i64)> {
    let js = jetstream::new(async_nats::connect(url).await.unwrap());
    let mut stream = js.get_stream(STREAM).await.unwrap();
    let count = stream.info().await.unwrap().state.messages;
    let mut out = Vec::new();
    for seq in 1..=count {
        let m = stream.get_raw_message(seq).await.unwrap();
        let header = |name: &str| m.headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
        out.push((
            header("Nats-Msg-Id"),
            m.subject.to_string(),
            header("Aftercare-Cursor").parse().unwrap(),
        ));
    }
    out
}

async fn relay_all(relay: &Relay) {
    while relay.run_once().await.expect("relayed") {}
}

async fn outbox(app: &TestApp) -> Vec<(String, String, i64)> {
    sqlx::query_as::<_, (uuid::Uuid, String, i64)>(
        "SELECT id, topic, position FROM platform.outbox_events WHERE position IS NOT NULL ORDER BY position",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(id, topic, position)| (id.to_string(), subject(&topic), position))
    .collect()
}

#[tokio::test]
async fn every_event_reaches_jetstream_once_across_a_relay_crash_and_a_nats_restart() {
    let app = TestApp::spawn().await;
    let nats = Nats::start(None, None).await;
    for i in 0..30 {
        app.storefront()
            .record_order(order(&format!("O-{i:02}"), "c-1"))
            .await
            .unwrap();
    }
    let relay = Relay::new(app.pool.clone(), nats.url());
    relay_all(&relay).await;
    // The relay died after JetStream acknowledged the batch and before it
    // recorded its cursor: the next run publishes the batch again.
    sqlx::query("UPDATE events.relay_cursors SET after_position = 0")
        .execute(&app.pool)
        .await
        .unwrap();
    relay_all(&relay).await;
    assert_eq!(
        relayed(&nats.url()).await,
        outbox(&app).await,
        "each event once, in stream order"
    );

    // NATS goes away: the relay fails (and retries) without losing its
    // place; back on the same store, the rest arrives.
    let (port, dir) = nats.kill().await;
    for i in 30..40 {
        app.storefront()
            .record_order(order(&format!("O-{i:02}"), "c-1"))
            .await
            .unwrap();
    }
    assert!(relay.run_once().await.is_err(), "no NATS, no progress");
    let nats = Nats::start(Some(port), Some(dir)).await;
    relay_all(&relay).await;
    let all = relayed(&nats.url()).await;
    assert_eq!(all, outbox(&app).await);
    let ids: HashSet<&String> = all.iter().map(|(id, ..)| id).collect();
    assert_eq!(ids.len(), all.len(), "no event twice");
    let orders = all
        .iter()
        .filter(|(_, subject, _)| subject == "aftercare.orders.OrderRecorded")
        .count();
    assert_eq!(orders, 40);
    let _ = std::fs::remove_dir_all(&nats.dir);
}
